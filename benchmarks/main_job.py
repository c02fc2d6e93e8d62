"""The main job as a user runs it: ``make all`` (train -> export -> synth on the embedded digits) from an empty run
directory, then what the README says about it: the RTL check (``sbnn sim --rtl``), the dense XNOR baseline at
the same frames/s (``sbnn report --baseline dense``), and the same network folded for 200,000 frames/s with its
own dense baseline. Writes ``benchmarks/results/main_job.{json,md}``; the README quotes the Markdown.

    python benchmarks/main_job.py                   # ~5 min on 2 idle cores, ~25 min on a loaded machine
    python benchmarks/main_job.py --reuse           # keep runs/bench-main: only what is missing is redone
    python benchmarks/main_job.py --quick           # 2 epochs, no RTL run, no baselines (build/bench-quick/)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_results

from sbnn import fmt
from sbnn.hw.baseline import link_export
from sbnn.runs import DENSE_BASELINE_DIR, RunDir

ROOT = Path(__file__).resolve().parents[1]
SBNN = [sys.executable, "-m", "sbnn.cli"]
TARGET_FPS = 200_000


def _run(cmd: list[str], env: dict | None = None) -> float:
    """Run a command from the repository root, its output passed through; returns its wall time."""
    print("$", " ".join(str(c) for c in cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True, env=env)
    return time.perf_counter() - t0


def _j(path: Path) -> dict:
    return json.loads(path.read_text())


def design(run: Path) -> dict:
    """The resources and timing of the design in ``run`` (hw/ + synth/), as the stages wrote them."""
    syn, cyc, fold = _j(run / "synth" / "report.json"), _j(run / "hw" / "cycles.json"), _j(run / "hw" / "folding.json")
    return {"LUT": syn["total"]["LUT"], "FF": syn["total"]["FF"], "BRAM36": syn["bram36_equivalent"],
            "DSP": syn["total"]["DSP"], "utilization_percent": syn["utilization_percent"],
            "latency_cycles": cyc["latency_cycles"], "interval_cycles": cyc["interval_cycles"],
            "frames_per_second": cyc["frames_per_second"], "clock_mhz": cyc["clock_mhz"],
            "folding_source": cyc["folding_source"], "synth_seconds": syn["elapsed_s"],
            "mvus": {name: {k: v for k, v in e.items() if k in ("PE", "SIMD", "style", "gather", "coding")}
                     for name, e in fold.items()}}


def _datapaths(d: dict) -> str:
    kinds = {}
    for e in d["mvus"].values():
        label = e["style"] + (f" {e['gather']}" if e.get("gather") else "")
        kinds[label] = kinds.get(label, 0) + 1
    return ", ".join(f"{k} x{n}" for k, n in kinds.items())


def markdown(res: dict) -> str:
    acc, ver, rtl = res["accuracy"], res["verification"], res.get("rtl")
    lines = ["# The main job (`make all`): digits, SFC 64-256-256-256-10, {α,β} closed form, 90 % zero bits", "",
             f"`make all` from an empty run directory: {fmt.duration(res['seconds']['make_all'])} on this machine "
             f"({res['machine']['cpus']} cores, shared; Yosys {fmt.duration(res['main']['synth_seconds'])}). "
             f"Test accuracy: float model {fmt.pct(acc['float'])}, bit-exact simulator {fmt.pct(acc['bit_exact'])} "
             f"on {acc['bit_exact_samples']} test images. Verification on {fmt.count(ver['samples'])} inputs: integer "
             f"PyTorch == QONNX == simulator {'holds' if ver['equal'] else 'FAILS'}, the float model's class equals "
             f"the simulator's on every input but {ver['ties']} exact ties."
             + (f" `sbnn sim --rtl`: the Verilator run equals the simulator on {fmt.count(rtl['samples'])} inputs "
                f"({'==' if rtl['equal'] else 'DIFFERS'}), latency {fmt.count(rtl['latency'])} and interval "
                f"{fmt.count(rtl['interval'])} cycles {'equal' if rtl['timing_equals_cycle_model'] else 'DIFFER FROM'} "
                "the cycle model." if rtl else ""), "",
             "| design (Yosys, xc7z020) | MVU datapaths | LUT | FF | BRAM36 | DSP | interval (cycles) | frames/s "
             "| latency (cycles) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for key, label in (("main", "main job, IR folding (PE = SIMD = 1), --style auto"),
                       ("main_dense", "dense XNOR baseline at the same frames/s"),
                       ("fps200k", f"--target-fps {TARGET_FPS} (--style auto)"),
                       ("fps200k_sparse", f"--target-fps {TARGET_FPS} --style sparse"),
                       ("fps200k_dense", f"dense XNOR baseline at {fmt.count(TARGET_FPS)} frames/s")):
        d = res.get(key)
        if d:
            lines.append(f"| {label} | {_datapaths(d)} | {fmt.count(d['LUT'])} ({d['utilization_percent']['LUT']:.1f} %) | "
                         f"{fmt.count(d['FF'])} | {fmt.count(d['BRAM36'])} | {d['DSP']} | {fmt.count(d['interval_cycles'])} "
                         f"| {fmt.count(round(d['frames_per_second']))} | {fmt.count(d['latency_cycles'])} |")
    lines.append("")
    for ours, dense, what in (("main", "main_dense", "the main job"), ("fps200k", "fps200k_dense", "at 200,000 frames/s"),
                              ("fps200k_sparse", "fps200k_dense", "at 200,000 frames/s, --style sparse")):
        if res.get(ours) and res.get(dense):
            a, b = res[ours], res[dense]
            lines.append(f"- {what}: this design / the dense XNOR baseline: LUT {a['LUT'] / b['LUT']:.2f}x, "
                         f"FF {a['FF'] / b['FF']:.2f}x, BRAM36 "
                         + (f"{a['BRAM36'] / b['BRAM36']:.2f}x" if b["BRAM36"] else f"{fmt.count(a['BRAM36'])} vs 0"))
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default="runs/bench-main", help="run directory (emptied first unless --reuse)")
    ap.add_argument("--reuse", action="store_true", help="keep the run directory: finished stages are not redone")
    ap.add_argument("--quick", action="store_true", help="2 epochs, no RTL run, no baselines, no 200k design")
    ap.add_argument("--markdown-only", action="store_true", help="rewrite main_job.md from main_job.json")
    args = ap.parse_args(argv)
    if args.markdown_only:
        from common import RESULTS

        res = json.loads((RESULTS / "main_job.json").read_text())
        write_results("main_job", res, markdown(res))
        return 0
    run = ROOT / args.run
    if run.exists() and not args.reuse:
        shutil.rmtree(run)
    env = {**os.environ, "SBNN_PROGRESS": "0"}
    seconds = {}
    if args.quick:
        seconds["make_all"] = _run(SBNN + ["train", "--run", run, "--config", "configs/default.yaml", "--set",
                                           "optim.epochs=2"], env)
        seconds["make_all"] += _run(SBNN + ["export", "--run", run], env) + _run(SBNN + ["synth", "--run", run], env)
    else:
        # as on a fresh clone: no synthesis result in sbnn's cache (the later steps use the normal cache)
        fresh = run / ".fresh-cache"
        seconds["make_all"] = _run(["make", "all", f"RUN={run}"], {**env, "SBNN_CACHE": str(fresh)})
        shutil.rmtree(fresh, ignore_errors=True)
        seconds["sim_rtl"] = _run(SBNN + ["sim", "--run", run, "--rtl"], env)
        seconds["baseline"] = _run(SBNN + ["report", "--run", run, "--baseline", "dense"], env)
        sub = run / "fps200k"
        link_export(RunDir(sub))
        seconds["fps200k"] = _run(SBNN + ["synth", "--run", sub, "--target-fps", TARGET_FPS], env)
        sparse = run / "fps200k-sparse"  # what --style auto chose against: every MVU zero-skipping
        link_export(RunDir(sparse))
        seconds["fps200k_sparse"] = _run(SBNN + ["synth", "--run", sparse, "--target-fps", TARGET_FPS, "--style",
                                                 "sparse"], env)
        seconds["fps200k_baseline"] = _run(SBNN + ["report", "--run", sub, "--baseline", "dense"], env)
    metrics, ver = _j(run / "train" / "metrics.json"), _j(run / "export" / "verify.json")
    v = ver["verification"]
    res = {"machine": machine(), "run": args.run, "quick": args.quick, "seconds": {k: round(s, 1) for k, s in seconds.items()},
           "accuracy": {"float": metrics["final"]["test_acc"], "bit_exact": ver["accuracy"]["sim_test_accuracy"],
                        "bit_exact_samples": ver["accuracy"]["test_samples"]},
           "verification": {"samples": v["qonnx_equals_sim"]["samples"], "ties": v["float_model_vs_sim"]["ties"],
                            "equal": v["qonnx_equals_sim"]["equal"] and v["torch_int_equals_qonnx"]["equal"]
                            and v["lowered_ir_equals_folded_ir"]["equal"] and v["float_model_vs_sim"]["ok"]},
           "main": design(run)}
    if not args.quick:
        res["rtl"] = _j(run / "sim" / "report.json")["rtl"]
        res["main_dense"] = design(run / DENSE_BASELINE_DIR)
        res["fps200k"] = design(run / "fps200k")
        res["fps200k_dense"] = design(run / "fps200k" / DENSE_BASELINE_DIR)
        res["fps200k_sparse"] = design(run / "fps200k-sparse")
    write_results("main_job", res, markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
