"""``sbnn sim``: run the bit-exact simulator (and optionally the generated RTL) on the run's samples."""

from __future__ import annotations

import argparse
import time

import numpy as np

from sbnn.cliutil import add_run_args, console, table
from sbnn.errors import ConfigError
from sbnn.runs import RunDir, write_json


def add_parser(sub, name: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text, description=help_text + ". Reads <run>/export/{ir.json,samples.npz}; "
                       "writes <run>/sim/report.json (and rtl.json with --rtl, trace.npz with --trace).")
    add_run_args(p, config=False)
    p.add_argument("--samples", type=int, help="use only the first N samples")
    p.add_argument("--trace", action="store_true", help="save every layer's output to <run>/sim/trace.npz")
    p.add_argument("--rtl", action="store_true", help="also run the generated RTL in Verilator and compare")
    p.set_defaults(func=run)


def _load(run: RunDir, n: int | None):
    from sbnn.ir import load

    ir_path = run.require("export", "ir.json", "sbnn export")
    samples_path = run.require("export", "samples.npz", "sbnn export")
    ir = load(ir_path)
    with np.load(samples_path) as s:
        x, y, is_test = s["x"], s["y"], s["is_test"]
    if n is not None:
        if n < 1:
            raise ConfigError("--samples must be at least 1")
        x, y, is_test = x[:n], y[:n], is_test[:n]
    return ir, x.astype(np.int64), y, is_test


def run(args: argparse.Namespace) -> int:
    from sbnn.sim.bitexact import Simulator

    run_dir = RunDir(args.run)
    ir, x, y, is_test = _load(run_dir, args.samples)
    sim = Simulator(ir)
    t0 = time.perf_counter()
    result = sim.run(x, trace=args.trace)
    seconds = time.perf_counter() - t0
    pred = result.predictions
    report = {
        "samples": int(len(x)),
        "test_samples": int(is_test.sum()),
        "test_accuracy": float((pred[is_test] == y[is_test]).mean()) if is_test.any() else None,
        "accuracy_all_samples": float((pred == y).mean()),
        "seconds": seconds,
        "frames_per_second": len(x) / seconds if seconds > 0 else None,
        "layer_sparsity": {m.name: m.sparsity for m in ir.mvus},
        "scores_sha256": __import__("hashlib").sha256(result.scores.tobytes()).hexdigest(),
    }
    out = run_dir.stage("sim")
    if args.trace:
        np.savez_compressed(out / "trace.npz", **result.trace)
    rows = [["samples", len(x)], ["test accuracy (bit-exact)", f"{report['test_accuracy']:.4f}"
                                  if report["test_accuracy"] is not None else "-"],
            ["simulator throughput", f"{report['frames_per_second']:.0f} frames/s"]]
    if args.rtl:
        report["rtl"] = _rtl(run_dir, ir, x, result.scores)
        r = report["rtl"]
        rows += [["RTL scores == simulator", "yes" if r["equal"] else "NO"],
                 ["RTL latency / interval (cycles)", f"{r['latency']} / {r['interval']}"],
                 ["== cycle model", "yes" if r["timing_equals_cycle_model"] else "NO"]]
    write_json(out / "report.json", report)
    console.print(table(f"sbnn sim {run_dir.path}", ["metric", "value"], rows))
    if args.rtl and not (report["rtl"]["equal"] and report["rtl"]["timing_equals_cycle_model"]):
        raise ConfigError(f"the RTL differs from the bit-exact simulator ({report['rtl']['mismatches']} samples) or "
                          f"from the cycle model (see {out / 'report.json'})")
    return 0


def _same_rtl(ir, options, rtl_dir) -> None:
    """The design regenerated from config.yaml + folding.json must be the RTL 'sbnn synth' wrote."""
    from sbnn.hw.design import generate

    design = generate(ir, options)
    written = {f.name: f.read_text() for f in rtl_dir.glob("*.v")} if rtl_dir.is_dir() else {}
    if written != design.files:
        raise ConfigError(f"the RTL in {rtl_dir} is not what {rtl_dir.parent}/config.yaml and folding.json generate "
                          "(edited by hand, or written by another sbnn version): run 'sbnn synth' again")


def _rtl(run_dir: RunDir, ir, x: np.ndarray, scores: np.ndarray) -> dict:
    try:
        from sbnn.hw.api import run_rtl
    except ImportError as exc:
        raise ConfigError(f"RTL simulation is not available in this installation ({exc})") from None
    # simulate the design 'sbnn synth' generated: its folding and generator options, when present
    options, source = None, "the IR's folding (run 'sbnn synth' first to simulate its design)"
    hw_dir = run_dir.path / "hw"
    if (hw_dir / "folding.json").exists() and (hw_dir / "config.yaml").exists():
        from sbnn.hw import folding as fold
        from sbnn.hw.config import HwConfig
        from sbnn.hw.stage import design_options

        spec = fold.load(hw_dir / "folding.json")
        ir = fold.apply(ir, spec)
        options = design_options(ir, spec, HwConfig.load(hw_dir / "config.yaml"))
        source = str(hw_dir / "folding.json")
        _same_rtl(ir, options, hw_dir / "rtl")
    res = run_rtl(ir, x, run_dir.stage("sim") / "rtl_build", options)
    equal_rows = np.all(np.asarray(res.scores) == scores, axis=1)
    return {"samples": int(len(x)), "equal": bool(equal_rows.all()), "mismatches": int((~equal_rows).sum()),
            "latency": int(res.latency), "interval": int(res.interval), "model_latency": int(res.model_latency),
            "model_interval": int(res.model_interval), "timing_equals_cycle_model": bool(res.timing_exact),
            "design": source}
