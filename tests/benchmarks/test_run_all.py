"""``make bench`` runs every committed benchmark: benchmarks/run_all.py knows each script, selects subsets,
and keeps quick runs out of the committed results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import run_all

BENCHMARKS = Path(run_all.__file__).resolve().parent


def test_every_benchmark_script_is_run():
    scripts = {p.stem for p in BENCHMARKS.glob("*.py")} - run_all.HELPERS
    assert scripts == {run_all.SCRIPTS.get(n, n) for n in run_all.BENCHMARKS}, \
        "add the new benchmark to benchmarks/run_all.py (or to HELPERS)"


def test_list_and_unknown_names(capsys):
    assert run_all.main(["--list"]) == 0
    assert set(line.split()[0] for line in capsys.readouterr().out.splitlines()) == set(run_all.BENCHMARKS)
    with pytest.raises(SystemExit):
        run_all.main(["no_such_benchmark"])


def _opt(args: list[str], flag: str) -> str | None:
    return args[args.index(flag) + 1] if flag in args else None


@pytest.mark.parametrize("name", ["train_fashion", "train_structure"])
def test_quick_trainings_keep_out_of_the_full_benchmarks_run_folders(name):
    """A quick (1-epoch) training in the full benchmark's run folder would be a config change there, and
    the trainer retrains such a run in place: the full run would be lost. Quick runs get their own root, and
    the quick whole-network benchmark builds the quick networks."""
    full, quick = run_all.BENCHMARKS[name]
    root = _opt(quick, "--root")
    assert root and root.startswith("build/bench-quick/") and _opt(full, "--root") != root
    if name == "train_structure":
        assert _opt(run_all.BENCHMARKS["hw_network_structure"][1], "--runs") == root
        assert "--export" in quick  # hw_network_structure builds the exported networks
        assert root in run_all.missing_input("hw_network_structure", quick=True) or \
            (run_all.ROOT / root / "mlp-bnn" / "export").is_dir()
        # the quick training has no CNV point: the CNV table is skipped there with the reason
        assert "--only" in quick and _opt(quick, "--only") == "mlp"
        assert "no exported cnv-bnn" in run_all.missing_input("hw_network_structure_cnv", quick=True)


def test_cycle_model_part_writes_outside_the_committed_results(tmp_path):
    """hw_sparsity without synthesis (seconds) writes to $SBNN_BENCH_RESULTS, never over the committed figures."""
    committed = (BENCHMARKS / "results" / "hw_sparsity.json").read_bytes()
    env = {**os.environ, "SBNN_BENCH_RESULTS": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "hw_sparsity.py"), "--no-synth"], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = json.loads((tmp_path / "hw_sparsity.json").read_text())
    assert [r["sparsity"] for r in out["memory_sweep"]][:4] == [0.5, 0.75, 0.9, 0.95] and not out["equal_throughput"]
    assert (BENCHMARKS / "results" / "hw_sparsity.json").read_bytes() == committed


@pytest.mark.slow
def test_quick_subset_runs_and_writes_outside_the_committed_results(tmp_path):
    """The quick hw_sparsity (a few Yosys runs) through run_all, as `make bench BENCH=hw_sparsity QUICK=1`."""
    committed = (BENCHMARKS / "results" / "hw_sparsity.json").read_bytes()
    env = {**os.environ, "SBNN_BENCH_RESULTS": str(tmp_path)}
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "run_all.py"), "hw_sparsity", "--quick"], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "hw_sparsity ok" in proc.stdout and (tmp_path / "hw_sparsity.json").exists()
    assert (BENCHMARKS / "results" / "hw_sparsity.json").read_bytes() == committed
