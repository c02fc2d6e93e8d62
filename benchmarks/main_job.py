"""The main job as a user runs it: ``make all`` (train -> export -> synth on the embedded digits, folded for
``make``'s default 200,000 frames/s) from an empty run directory, then what the README says about it: the RTL
check (``sbnn sim --rtl``), the dense XNOR design of the same weights at the same frames/s (``sbnn report
--baseline dense``), the dense BNN and the unstructured 90 % network trained by the same recipe and folded for the
same rate, and the main job's network at the IR's own folding (``make synth FPS=``) with its dense baseline.
Writes ``benchmarks/results/main_job.{json,md}``; the README quotes the Markdown.

    python benchmarks/main_job.py                   # ~5 min on 2 idle cores, ~25 min on a loaded machine
    python benchmarks/main_job.py --reuse           # keep runs/bench-main: only what is missing is redone
    python benchmarks/main_job.py --quick           # 2 epochs, the main design only (build/bench-quick/)
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
#: the Makefile's default FPS (``make synth`` folds for it)
TARGET_FPS = 200_000
#: networks trained by the main job's recipe with one change each, folded for TARGET_FPS: name -> (label, --set)
RIVALS = {"bnn": ("dense BNN ({-1,+1} weights, same recipe)",
                  ["quant.method=bnn", "quant.structure=none", "quant.sparsity=0"]),
          "unstructured": ("unstructured 90 % mask (same recipe, `quant.structure=none`)",
                           ["quant.structure=none", "quant.sparsity=0.9"])}
#: more training seeds of the main job's network and of the rivals (359 test images: one image is 0.28 points)
SEEDS = (1, 2, 3)


def _run(cmd: list, env: dict | None = None) -> float:
    """Run a command from the repository root, its output passed through; returns its wall time."""
    print("$", " ".join(str(c) for c in cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run([str(c) for c in cmd], cwd=ROOT, check=True, env=env)
    return time.perf_counter() - t0


def _j(path: Path) -> dict:
    return json.loads(path.read_text())


def design(run: Path, rtl: bool = False) -> dict:
    """The resources and timing of the design in ``run`` (hw/ + synth/), as the stages wrote them; ``rtl``: with
    the Verilator check of ``sbnn sim --rtl``."""
    syn, cyc, fold = _j(run / "synth" / "report.json"), _j(run / "hw" / "cycles.json"), _j(run / "hw" / "folding.json")
    out = {"LUT": syn["total"]["LUT"], "FF": syn["total"]["FF"], "BRAM36": syn["bram36_equivalent"],
           "DSP": syn["total"]["DSP"], "utilization_percent": syn["utilization_percent"],
           "latency_cycles": cyc["latency_cycles"], "interval_cycles": cyc["interval_cycles"],
           "frames_per_second": cyc["frames_per_second"], "clock_mhz": cyc["clock_mhz"],
           "folding_source": cyc["folding_source"], "synth_seconds": syn["elapsed_s"],
           "mvus": {name: {k: v for k, v in e.items() if k in ("PE", "SIMD", "style", "gather", "coding")}
                    for name, e in fold.items()}}
    if rtl:
        out["rtl"] = _j(run / "sim" / "report.json")["rtl"]
    return out


def accuracy(run: Path) -> dict:
    metrics, ver = _j(run / "train" / "metrics.json"), _j(run / "export" / "verify.json")
    return {"float": metrics["final"]["test_acc"], "bit_exact": ver["accuracy"]["sim_test_accuracy"],
            "bit_exact_samples": ver["accuracy"]["test_samples"], "zero_bits": metrics["final"]["sparsity"]}


def _datapaths(d: dict) -> str:
    kinds = {}
    for e in d["mvus"].values():
        label = e["style"] + (f" {e['gather']}" if e.get("gather") else "")
        kinds[label] = kinds.get(label, 0) + 1
    return ", ".join(f"{k} x{n}" for k, n in kinds.items())


def _rtl_cell(d: dict) -> str:
    r = d.get("rtl")
    if not r:
        return "-"
    ok = r["equal"] and r["timing_equals_cycle_model"]
    return f"== on {fmt.count(r['samples'])}, cycles == model" if ok else "**DIFFERS**"


#: table rows: result key, label, the key of the trained network whose accuracy the row shows
ROWS = (("main", f"**main job** (`make all`: 2:16i mask, `--target-fps {TARGET_FPS}`, `--style auto`)", "main"),
        ("main_dense", "dense XNOR design of the same weights at the same frames/s", "main"),
        ("bnn", f"{RIVALS['bnn'][0]}, `--target-fps {TARGET_FPS}`", "bnn"),
        ("unstructured", f"{RIVALS['unstructured'][0]}, `--target-fps {TARGET_FPS}`", "unstructured"),
        ("ir", "main job's network at the IR's folding (PE = SIMD = 1, `make synth FPS=`)", "main"),
        ("ir_dense", "dense XNOR design of the same weights at that frames/s", "main"))
#: the measured folding search (``sbnn synth --search``) of the three networks, each side searched as hard
SEARCH = 3
SEARCHED = ("main", *RIVALS)
ROWS += (("main_search", f"main job, `--target-fps {TARGET_FPS} --search {SEARCH}`", "main"),
         ("bnn_search", f"dense BNN, `--target-fps {TARGET_FPS} --search {SEARCH}`", "bnn"),
         ("unstructured_search", f"unstructured 90 % mask, `--target-fps {TARGET_FPS} --search {SEARCH}`", "unstructured"))
#: ratio lines: ours, theirs, what
RATIOS = (("main", "main_dense", "the main job / the dense XNOR design of its weights"),
          ("main", "bnn", "the main job / the dense BNN"),
          ("unstructured", "bnn", "the unstructured 90 % network / the dense BNN"),
          ("ir", "ir_dense", "at the IR's folding: the main job's network / its dense XNOR design"),
          ("main_search", "bnn_search", f"both searched by synthesis (`--search {SEARCH}`): the main job / the dense BNN"),
          ("unstructured_search", "bnn_search",
           f"both searched by synthesis (`--search {SEARCH}`): the unstructured 90 % network / the dense BNN"))


def _candidate(t: dict) -> str:
    """One synthesized candidate of a ``--search``: where it came from, its LUTs and Fmax estimate."""
    return (f"{t['origin']} {fmt.count(t['LUT'])} LUT / {t['fmax_mhz_estimate']:.0f} MHz"
            + ("" if t["meets_clock"] else " (misses the clock)") + (" (kept)" if t["selected"] else ""))


def markdown(res: dict) -> str:
    acc, ver, rtl = res["accuracy"], res["verification"], res["main"].get("rtl")
    lines = ["# The main job (`make all`): digits, SFC 64-256-256-256-10, {α,β} closed form, 2:16i mask (87.5 % zero "
             f"bits), {fmt.count(TARGET_FPS)} frames/s", "",
             f"`make all` from an empty run directory: {fmt.duration(res['seconds']['make_all'])} on this machine "
             f"({res['machine']['cpus']} cores, shared; Yosys {fmt.duration(res['main']['synth_seconds'])}). "
             f"Test accuracy: float model {fmt.pct(acc['main']['float'])}, bit-exact simulator "
             f"{fmt.pct(acc['main']['bit_exact'])} on {acc['main']['bit_exact_samples']} test images. Verification on "
             f"{fmt.count(ver['samples'])} inputs: integer PyTorch == QONNX == simulator {'holds' if ver['equal'] else 'FAILS'}, "
             f"the float model's class equals the simulator's on every input but {ver['ties']} exact ties."
             + (f" `sbnn sim --rtl`: the Verilator run equals the simulator on {fmt.count(rtl['samples'])} inputs "
                f"({'==' if rtl['equal'] else 'DIFFERS'}), latency {fmt.count(rtl['latency'])} and interval "
                f"{fmt.count(rtl['interval'])} cycles {'equal' if rtl['timing_equals_cycle_model'] else 'DIFFER FROM'} "
                "the cycle model." if rtl else ""), "",
             "| design (Yosys, xc7z020) | test acc. (bit-exact) | MVU datapaths | LUT | FF | BRAM36 | interval (cycles) "
             "| frames/s | latency (cycles) | RTL == sim |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---|"]
    for key, label, net in ROWS:
        d = res.get(key)
        if d:
            a = acc.get(net)
            lines.append(f"| {label} | {fmt.pct(a['bit_exact']) if a else '-'} | {_datapaths(d)} | "
                         f"{fmt.count(d['LUT'])} ({d['utilization_percent']['LUT']:.1f} %) | {fmt.count(d['FF'])} | "
                         f"{fmt.count(d['BRAM36'])} | {fmt.count(d['interval_cycles'])} "
                         f"| {fmt.count(round(d['frames_per_second']))} | {fmt.count(d['latency_cycles'])} | {_rtl_cell(d)} |")
    lines.append("")
    if not res["quick"] and any(res.get(key) and not res[key].get("rtl") for key, _, _ in ROWS):
        lines += ["RTL == sim '-': a design of these results that was not run in Verilator (main_job.py runs the dense "
                  "XNOR designs too since 2026-12-05; these results are older).", ""]
    seeds = res.get("seeds")
    if seeds:
        lines.append("Test accuracy (float model) over seeds 0, " + ", ".join(str(x) for x in SEEDS) + ": "
                     + "; ".join(f"{label} {fmt.pct(sum(v) / len(v))} ({', '.join(fmt.pct(x) for x in v)})"
                                 for label, v in (("main job", seeds["main"]), ("dense BNN", seeds["bnn"]),
                                                  ("unstructured 90 %", seeds["unstructured"]))) + ".")
        lines.append("")
    searched = [(k, res[f"{k}_search"]["search"]) for k in SEARCHED if res.get(f"{k}_search")]
    if searched:
        lines.append(f"`--search {SEARCH}` synthesizes the estimate's {SEARCH} best foldings and their per-layer best mix "
                     "and keeps the fewest LUTs among those that meet the clock by Yosys' timing estimate (estimate rank "
                     "1 is the folding `--target-fps` alone builds): "
                     + "; ".join(f"{k}: " + ", ".join(_candidate(t) for t in tried) for k, tried in searched) + ".")
        lines.append("")
    for ours, theirs, what in RATIOS:
        if res.get(ours) and res.get(theirs):
            a, b = res[ours], res[theirs]
            lines.append(f"- {what}: LUT {a['LUT'] / b['LUT']:.2f}x, FF {a['FF'] / b['FF']:.2f}x, BRAM36 "
                         + (f"{a['BRAM36'] / b['BRAM36']:.2f}x" if b["BRAM36"] else f"{fmt.count(a['BRAM36'])} vs 0"))
    return "\n".join(lines).rstrip() + "\n"


def _net(run: Path, name: str) -> Path:
    """The run directory of a network of the benchmark: the main job is the run itself, a rival its sub-run."""
    return run if name == "main" else run / name


def _trained(run: Path, sets: list[str], env: dict) -> float:
    """Train, export and fold for TARGET_FPS one network of the main job's recipe with ``sets`` applied, and check
    its RTL; returns the wall time."""
    cmd = SBNN + ["train", "--run", run, "--config", "configs/default.yaml"]
    for s in sets:
        cmd += ["--set", s]
    return (_run(cmd, env) + _run(SBNN + ["export", "--run", run], env)
            + _run(SBNN + ["synth", "--run", run, "--target-fps", TARGET_FPS], env)
            + _run(SBNN + ["sim", "--run", run, "--rtl"], env))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", default="runs/bench-main", help="run directory (emptied first unless --reuse)")
    ap.add_argument("--reuse", action="store_true", help="keep the run directory: finished stages are not redone")
    ap.add_argument("--quick", action="store_true", help="2 epochs, the main design only: no RTL run, no rivals")
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
        seconds["make_all"] += (_run(SBNN + ["export", "--run", run], env)
                                + _run(SBNN + ["synth", "--run", run, "--target-fps", TARGET_FPS], env))
    else:
        # as on a fresh clone: no synthesis result in sbnn's cache (the later steps use the normal cache)
        fresh = run / ".fresh-cache"
        seconds["make_all"] = _run(["make", "all", f"RUN={run}"], {**env, "SBNN_CACHE": str(fresh)})
        shutil.rmtree(fresh, ignore_errors=True)
        seconds["sim_rtl"] = _run(SBNN + ["sim", "--run", run, "--rtl"], env)
        seconds["baseline"] = (_run(SBNN + ["report", "--run", run, "--baseline", "dense"], env)
                               + _run(SBNN + ["sim", "--run", run / DENSE_BASELINE_DIR, "--rtl"], env))
        for name, (_, sets) in RIVALS.items():
            seconds[name] = _trained(run / name, sets, env)
        for seed in SEEDS:
            for name, sets in (("main", []), *((n, v[1]) for n, v in RIVALS.items())):
                _run(SBNN + ["train", "--run", run / "seeds" / f"{name}-{seed}", "--config", "configs/default.yaml",
                             "--set", f"optim.seed={seed}"] + [x for v in sets for x in ("--set", v)], env)
        for name in SEARCHED:  # the measured folding search, on every network alike
            sub = _net(run, name) / "search"
            link_export(RunDir(sub))
            seconds[f"{name}_search"] = (
                _run(SBNN + ["synth", "--run", sub, "--target-fps", TARGET_FPS, "--search", str(SEARCH)], env)
                + _run(SBNN + ["sim", "--run", sub, "--rtl"], env))
        sub = run / "ir-folding"
        link_export(RunDir(sub))
        seconds["ir"] = (_run(SBNN + ["synth", "--run", sub], env) + _run(SBNN + ["sim", "--run", sub, "--rtl"], env)
                         + _run(SBNN + ["report", "--run", sub, "--baseline", "dense"], env)
                         + _run(SBNN + ["sim", "--run", sub / DENSE_BASELINE_DIR, "--rtl"], env))
    ver = _j(run / "export" / "verify.json")
    v = ver["verification"]
    res = {"machine": machine(), "run": args.run, "quick": args.quick, "target_fps": TARGET_FPS,
           "seconds": {k: round(s, 1) for k, s in seconds.items()},
           "accuracy": {"main": accuracy(run)},
           "verification": {"samples": v["qonnx_equals_sim"]["samples"], "ties": v["float_model_vs_sim"]["ties"],
                            "equal": v["qonnx_equals_sim"]["equal"] and v["torch_int_equals_qonnx"]["equal"]
                            and v["lowered_ir_equals_folded_ir"]["equal"] and v["float_model_vs_sim"]["ok"]},
           "main": design(run, rtl=not args.quick)}
    if not args.quick:
        res["main_dense"] = design(run / DENSE_BASELINE_DIR, rtl=True)
        for name in RIVALS:
            res[name] = design(run / name, rtl=True)
            res["accuracy"][name] = accuracy(run / name)
        res["seeds"] = {name: [_j(r / "train" / "metrics.json")["final"]["test_acc"]
                               for r in [_net(run, name)]
                               + [run / "seeds" / f"{name}-{seed}" for seed in SEEDS]] for name in ("main", *RIVALS)}
        for name in SEARCHED:
            sub = _net(run, name) / "search"
            tried = _j(sub / "hw" / "cycles.json")["folding_search"]
            res[f"{name}_search"] = {**design(sub, rtl=True), "search": [
                {k: t[k] for k in ("origin", "LUT", "BRAM36", "fmax_mhz_estimate", "meets_clock", "selected")}
                for t in tried]}
        res["ir"] = design(run / "ir-folding", rtl=True)
        res["ir_dense"] = design(run / "ir-folding" / DENSE_BASELINE_DIR, rtl=True)
    write_results("main_job", res, markdown(res))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
