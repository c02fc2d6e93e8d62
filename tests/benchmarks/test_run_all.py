"""``make bench`` runs every committed benchmark: benchmarks/run_all.py knows each script, selects subsets,
and keeps quick runs out of the committed results."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import run_all

BENCHMARKS = Path(run_all.__file__).resolve().parent


def test_every_benchmark_script_is_run():
    scripts = {p.stem for p in BENCHMARKS.glob("*.py")} - run_all.HELPERS
    assert scripts == set(run_all.BENCHMARKS), "add the new benchmark to benchmarks/run_all.py (or to HELPERS)"


def test_list_and_unknown_names(capsys):
    assert run_all.main(["--list"]) == 0
    assert set(line.split()[0] for line in capsys.readouterr().out.splitlines()) == set(run_all.BENCHMARKS)
    with pytest.raises(SystemExit):
        run_all.main(["no_such_benchmark"])


def test_quick_subset_runs_and_writes_outside_the_committed_results(tmp_path):
    """The quick hw_sparsity (cycle model only) through run_all, as `make bench BENCH=hw_sparsity QUICK=1`."""
    committed = (BENCHMARKS / "results" / "hw_sparsity.json").read_bytes()
    env = {**os.environ, "SBNN_BENCH_RESULTS": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "run_all.py"), "hw_sparsity", "--quick"], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "hw_sparsity ok" in proc.stdout and (tmp_path / "hw_sparsity.json").exists()
    assert (BENCHMARKS / "results" / "hw_sparsity.json").read_bytes() == committed
