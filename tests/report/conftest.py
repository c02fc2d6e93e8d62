"""The report tests read the same tiny sweep as tests/sweep (same session folder: a second call skips
the finished points, so the grid is trained and synthesized once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sbnn.cli import main

TINY = Path(__file__).parents[1] / "sweep" / "tiny.yaml"


@pytest.fixture(scope="session")
def tiny_sweep(tmp_path_factory) -> tuple[Path, int]:
    root = tmp_path_factory.getbasetemp() / "tiny-sweep"
    return root, main(["sweep", "--root", str(root), "--config", str(TINY), "--workers", "2"])
