"""The package layout: every package folder and data file is installed, and imports run one way along the
pipeline (the IR and the simulator never import torch, ``sim/`` never imports ``hw/``, the hardware plan
``sbnn.arch`` imports neither, the report reads run-directory files and imports no stage).

Imports are checked twice: statically, over every source file (``import`` / ``from ... import`` anywhere in
a module, and ``importlib.import_module("...")`` / ``__import__("...")`` with a constant name), and by
importing the package's modules in a fresh interpreter and looking at ``sys.modules``.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10: the copy pip vendors
    from pip._vendor import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]

#: package -> module prefixes it must never import (statically or at run time)
FORBIDDEN = {
    "sbnn.ir": ("torch", "sbnn.training", "sbnn.export", "sbnn.arch", "sbnn.sim", "sbnn.hw"),
    "sbnn.arch": ("torch", "sbnn.training", "sbnn.export", "sbnn.sim", "sbnn.hw", "sbnn.sweep", "sbnn.report"),
    "sbnn.sim": ("torch", "sbnn.training", "sbnn.export", "sbnn.hw", "sbnn.sweep", "sbnn.report"),
    "sbnn.report": ("torch", "sbnn.training", "sbnn.export", "sbnn.arch", "sbnn.sim", "sbnn.hw", "sbnn.sweep"),
}


def package_folder(package: str) -> Path:
    """The source folder of a package, through pyproject's package-dir mapping."""
    dirs = SETUPTOOLS["package-dir"]
    parts = package.split(".")
    for n in range(len(parts), 0, -1):
        head = ".".join(parts[:n])
        if head in dirs:
            return ROOT / dirs[head] / Path(*parts[n:])
    raise KeyError(package)


def imported_modules(source: str, module: str) -> set[str]:
    """Every module a source file imports, wherever in the file (relative imports resolved against ``module``)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".")[: -node.level]
                base = ".".join(pkg + ([base] if base else []))
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            if name in ("import_module", "__import__"):
                out.add(node.args[0].value)
    return out


def _hits(imports: set[str], forbidden: tuple[str, ...]) -> set[str]:
    return {m for m in imports for f in forbidden if m == f or m.startswith(f + ".")}


def package_modules(package: str) -> dict[str, Path]:
    """Module name -> source file of every module in the package and its subpackages."""
    folder = package_folder(package)
    out = {}
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder).with_suffix("")
        if "templates" in rel.parts:
            continue
        parts = [p for p in rel.parts if p != "__init__"]
        out[".".join([package, *parts])] = path
    return out


def test_every_package_folder_is_listed():
    listed = set(SETUPTOOLS["packages"])
    found = set()
    for package, folder in SETUPTOOLS["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *rel.parts]))
    assert not found - listed, f"package folders missing from pyproject's packages: {sorted(found - listed)}"
    assert listed <= found, f"listed packages without a folder: {sorted(listed - found)}"


def test_package_data_covers_every_data_file():
    """Templates and READMEs inside package folders are installed (a file the code reads at run time)."""
    data = SETUPTOOLS["package-data"]
    for package in SETUPTOOLS["packages"]:
        folder = package_folder(package)
        for path in folder.iterdir():
            files = [path] if path.is_file() else (list(path.iterdir()) if path.name == "templates" else [])
            for f in files:
                if (f.suffix == ".py" and f.parent == folder) or f.name.startswith(".") or f.suffix == ".pyc":
                    continue
                rel = str(f.relative_to(folder))
                assert any(fnmatch.fnmatch(rel, pat) for pat in data.get(package, [])), \
                    f"{package}: {rel} is not in pyproject's package-data"


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_run_one_way_statically(package):
    bad = {}
    for module, path in package_modules(package).items():
        hits = _hits(imported_modules(path.read_text(), module), FORBIDDEN[package])
        if hits:
            bad[str(path.relative_to(ROOT))] = sorted(hits)
    assert not bad, f"{package} must not import {FORBIDDEN[package]}: {bad}"


def test_imports_run_one_way_at_run_time():
    """Import every module of each package in a fresh interpreter: none of the forbidden ones is loaded."""
    code = ("import importlib, json, sys\n"
            "mods, forbidden = json.loads(sys.argv[1]), json.loads(sys.argv[2])\n"
            "for m in mods: importlib.import_module(m)\n"
            "print(json.dumps(sorted(k for k in sys.modules for f in forbidden if k == f or k.startswith(f + '.'))))\n")
    for package, forbidden in FORBIDDEN.items():
        mods = list(package_modules(package))
        proc = subprocess.run([sys.executable, "-c", code, json.dumps(mods), json.dumps(forbidden)],
                              capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert json.loads(proc.stdout.splitlines()[-1]) == [], f"importing {package} loads forbidden modules"


@pytest.mark.parametrize("source, module, expect", [
    ("import sbnn.hw.rtl.design", "sbnn.sim.x", {"sbnn.hw.rtl.design"}),
    ("from sbnn.hw import stage", "sbnn.sim.x", {"sbnn.hw", "sbnn.hw.stage"}),
    ("def f():\n    from sbnn.hw.rtlsim import api\n", "sbnn.sim.x", {"sbnn.hw.rtlsim", "sbnn.hw.rtlsim.api"}),
    ("import importlib\nimportlib.import_module('sbnn.hw.stage')", "sbnn.sim.x", {"sbnn.hw.stage"}),
    ("from ..hw import stage", "sbnn.sim.x", {"sbnn.hw", "sbnn.hw.stage"}),
    ("import torch.nn", "sbnn.ir.x", {"torch.nn"}),
    ("from sbnn.sweep import point", "sbnn.report.x", {"sbnn.sweep", "sbnn.sweep.point"}),
    ("from sbnn.simulate import x\nimport sbnn.sim", "sbnn.report.x", {"sbnn.sim"}),
    ("from sbnn.runs import FPS_DIR\nimport numpy", "sbnn.report.x", set()),
])
def test_the_import_check_catches_every_form(source, module, expect):
    package = ".".join(module.split(".")[:2])
    assert _hits(imported_modules(source, module), FORBIDDEN[package]) == expect
