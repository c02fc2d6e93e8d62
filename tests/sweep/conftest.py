"""The sweep every sweep and report test reads: ``tiny.yaml`` run once per session (2 good, 2 failing points)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sbnn.cli import main

TINY = Path(__file__).with_name("tiny.yaml")


def run_tiny(root: Path, *extra: str) -> int:
    """``sbnn sweep`` on the tiny grid; the report is written too. Returns the exit code."""
    return main(["sweep", "--root", str(root), "--config", str(TINY), "--workers", "2", *extra])


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory) -> tuple[Path, int]:
    root = tmp_path_factory.getbasetemp() / "tiny-sweep"
    return root, run_tiny(root)
