"""benchmarks/hw_structure.py: re-measuring the trained layers alone never drops a measured table."""

from __future__ import annotations

import shutil
from pathlib import Path

import hw_structure as hs


def test_trained_only_without_the_exported_runs_is_one_clear_error_and_writes_nothing(tmp_path, monkeypatch, capsys):
    results = tmp_path / "results"
    results.mkdir()
    committed = Path(hs.__file__).parent / "results" / "hw_structure.json"  # not $SBNN_BENCH_RESULTS'
    shutil.copy(committed, results / "hw_structure.json")
    before = (results / "hw_structure.json").read_bytes()
    monkeypatch.setattr(hs, "RESULTS", results)
    monkeypatch.setattr(hs, "TRAINED_RUNS", tmp_path / "runs")  # no exported networks here
    assert hs.main(["--trained-only"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no exported mlp-1of8, mlp-1of16" in err and "nothing written" in err
    assert (results / "hw_structure.json").read_bytes() == before
    assert not (results / "hw_structure.md").exists()
