"""Helpers shared by the benchmark scripts: machine facts, timing, result files."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Callable

#: where the figures go: benchmarks/results/ (committed), or $SBNN_BENCH_RESULTS (run_all.py --quick: a trial run
#: must not overwrite the committed figures)
RESULTS = Path(os.environ.get("SBNN_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")


def run_name(arch: str, point: str, seed: int = 0) -> str:
    """The run folder of a train_structure.py point (1:8 -> 1of8, block:8 -> block8 as the sweep names them, 1:8/row ->
    1of8-flrow, 1:8/last-row -> 1of8-lastrow; seed s > 0 adds -s{s}); the network tables name their networks so."""
    safe = point.replace("block:", "block").replace(":", "of").replace("/last-", "-last").replace("/", "-fl")
    return f"{arch}-{safe}" + (f"-s{seed}" if seed else "")


def cpu_mhz() -> float:
    """Nominal clock of this machine (max of /proc/cpuinfo 'cpu MHz'), for the popcount limit."""
    try:
        mhz = [float(line.split(":")[1]) for line in open("/proc/cpuinfo") if line.startswith("cpu MHz")]
        return max(mhz) if mhz else float("nan")
    except OSError:
        return float("nan")


def machine() -> dict:
    return {"cpus": os.cpu_count(), "cpu_mhz": cpu_mhz(), "platform": platform.platform(),
            "python": platform.python_version(), "date": time.strftime("%Y-%m-%d %H:%M")}


def best_time(fn: Callable[[], object], repeat: int = 3, min_seconds: float = 0.0) -> float:
    """Best wall time of ``repeat`` calls (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        if min_seconds and best > min_seconds:
            break
    return best


def write_results(name: str, data: dict, markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown.rstrip() + "\n")
    print(markdown)
    print(f"\nwritten: {RESULTS / (name + '.json')}, {RESULTS / (name + '.md')}")
