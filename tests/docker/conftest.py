"""Fixtures for the Docker tests: the repository, the parsed Dockerfile, the helper scripts in docker/.

Helpers reach the tests through fixtures (not imports), as in tests/hw, so the tests work under any
pytest import mode.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: keyword (upper case), its arguments (continuations joined), line."""

    keyword: str
    args: str
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON (exec) form of CMD/ENTRYPOINT/RUN, or None for the shell form."""
        try:
            value = json.loads(self.args)
        except ValueError:
            return None
        return value if isinstance(value, list) else None


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions in order; comment lines dropped, backslash continuations joined (as Docker does)."""
    result: list[Instruction] = []
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):  # comment lines inside a continuation are skipped
            continue
        if not buf:
            start = n
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        buf += stripped
        keyword, _, args = buf.partition(" ")
        result.append(Instruction(keyword.upper(), re.sub(r"\s+", " ", args).strip(), start))
        buf = ""
    assert not buf, "the Dockerfile ends inside a line continuation"
    return result


def load_script(name: str) -> ModuleType:
    """Import docker/<name>.py by path (the folder is not a package)."""
    path = REPO / "docker" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"sbnn_docker_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def dk():
    return SimpleNamespace(repo=REPO, parse=parse_dockerfile, load_script=load_script,
                           dockerfile_text=(REPO / "Dockerfile").read_text(encoding="utf-8"),
                           instructions=parse_dockerfile((REPO / "Dockerfile").read_text(encoding="utf-8")))
