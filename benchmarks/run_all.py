"""Run every committed benchmark (``make bench``), or a subset, each as its own process from the repository root.

    python benchmarks/run_all.py                      # all of them, full size (hours: see each script)
    python benchmarks/run_all.py hw_sparsity rtl_digests
    python benchmarks/run_all.py --quick              # each in its quick mode (minutes); the figures go to
                                                      # build/bench-quick/, not benchmarks/results/
    python benchmarks/run_all.py --list

A benchmark whose inputs are missing here (the Fashion-MNIST files) is skipped with the reason; any other
failure makes the exit status non-zero after the others have run. After a full run the README's generated
blocks are refreshed from benchmarks/results/ and its quoted figures checked (benchmarks/readme_sync.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
DATA_DIR = os.environ.get("SBNN_DATA_DIR", "../shared/data")
#: quick runs train into their own root: 1-epoch runs must never replace the full benchmark's run directories
QUICK_STRUCTURE_RUNS = "build/bench-quick/runs-structure"

#: name -> (arguments, quick-mode arguments); every script in benchmarks/ that writes results is here (a
#: test checks it)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "rtl_digests": ([], []),
    "main_job": ([], ["--quick"]),
    "sim_throughput": ([], ["--quick"]),
    "hw_sparsity": ([], ["--quick"]),
    "hw_fixed_cost": ([], ["--quick"]),
    "hw_word_buffer": ([], ["--quick"]),
    "hw_line_ram": ([], ["--quick"]),
    "hw_cost_model": (["--fit"], ["--no-synth"]),
    "hw_structure": ([], ["--no-synth"]),
    "hw_finn_compare": ([], ["--models", "TFC", "--rom", "finn"]),
    "hw_timing": ([], ["--no-synth"]),
    # quick: own run root, so that 1-epoch runs never replace the full benchmark's run directories
    "train_fashion": (["--data-dir", DATA_DIR], ["--data-dir", DATA_DIR, "--only", "mlp", "--epochs-mlp", "1",
                                                 "--root", "build/bench-quick/runs-fashion"]),
    # quick: table and figures from the finished runs only
    "learned_ab": (["--data-dir", DATA_DIR], ["--data-dir", DATA_DIR, "--plots-only"]),
    "train_structure": (["--data-dir", DATA_DIR, "--export"],
                        ["--data-dir", DATA_DIR, "--only", "mlp", "--epochs-mlp", "1", "--points", "bnn,1:8",
                         "--seeds", "0", "--export", "--root", QUICK_STRUCTURE_RUNS]),
    # after train_structure: it builds that benchmark's exported networks (quick: the quick ones)
    "hw_network_structure": ([], ["--nets", "mlp-bnn", "mlp-1of8", "--samples", "200", "--runs", QUICK_STRUCTURE_RUNS]),
    # the CNV table (train_structure's CNV points; the quick mode trains none, so it is skipped there)
    "hw_network_structure_cnv": (["--arch", "cnv"], ["--arch", "cnv", "--samples", "200", "--runs", QUICK_STRUCTURE_RUNS]),
}
#: benchmarks run by another benchmark's script (with their own arguments above)
SCRIPTS = {"hw_network_structure_cnv": "hw_network_structure"}
#: helpers imported by the benchmarks (not benchmarks themselves)
HELPERS = {"common", "hw_common", "finn_model", "network_tables", "run_all", "readme_sync"}


def missing_input(name: str, quick: bool = False) -> str | None:
    """Why a benchmark cannot run on this machine (None: it can)."""
    if name in ("train_fashion", "train_structure", "learned_ab") and not (Path(DATA_DIR) / "fashion-mnist").is_dir():
        return f"no Fashion-MNIST in {DATA_DIR}/fashion-mnist (set SBNN_DATA_DIR)"
    runs = QUICK_STRUCTURE_RUNS if quick else "runs/bench-structure"
    if name.startswith("hw_network_structure"):
        baseline = "cnv-bnn" if name.endswith("_cnv") else "mlp-bnn"
        if not (ROOT / runs / baseline / "export").is_dir():
            return f"no exported {baseline} in {runs} (run train_structure{' --quick' if quick else ''} first)"
    return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default all: {', '.join(BENCHMARKS)})")
    ap.add_argument("--quick", action="store_true", help="each benchmark's quick mode; results into build/bench-quick/")
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = ap.parse_args(argv)
    if args.list:
        for name, (full, quick) in BENCHMARKS.items():
            script = SCRIPTS.get(name, name)
            print(f"{name:16s} benchmarks/{script}.py {' '.join(full)}  (quick: {' '.join(quick) or 'the same'})")
        return 0
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)} (see --list)")
    env = dict(os.environ)
    if args.quick:
        env.setdefault("SBNN_BENCH_RESULTS", str(ROOT / "build" / "bench-quick"))
    status = {}
    for name in args.names or list(BENCHMARKS):
        why = missing_input(name, args.quick)
        if why:
            print(f"=== {name}: skipped ({why})", flush=True)
            status[name] = "skipped"
            continue
        cmd = [sys.executable, str(HERE / f"{SCRIPTS.get(name, name)}.py"), *BENCHMARKS[name][1 if args.quick else 0]]
        print(f"=== {name}: {' '.join(cmd[1:])}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, cwd=ROOT, env=env).returncode
        status[name] = "ok" if rc == 0 else f"FAILED (exit {rc})"
        print(f"=== {name}: {status[name]} in {time.perf_counter() - t0:.0f} s", flush=True)
    print("benchmarks: " + ", ".join(f"{n} {s}" for n, s in status.items()))
    ok = all(s in ("ok", "skipped") for s in status.values())
    if not args.quick:  # the README quotes benchmarks/results/: refresh its generated blocks, check its quotes
        ok = subprocess.run([sys.executable, str(HERE / "readme_sync.py"), "--write"], cwd=ROOT).returncode == 0 and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
