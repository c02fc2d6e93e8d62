"""``sbnn sim``: the bit-exact simulator on the run's samples and, with ``--rtl``, the generated RTL.

The command sits above both stages it runs: the simulator (:mod:`sbnn.sim.stage`) and the RTL check of
the hardware stage (:mod:`sbnn.hw.rtlsim.check`), so that :mod:`sbnn.sim` never imports :mod:`sbnn.hw`.
"""

from __future__ import annotations

import argparse

from sbnn import fmt, runs
from sbnn.cliutil import add_run_args, print_table, step
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


def run(args: argparse.Namespace) -> int:
    from sbnn.sim.stage import simulate_run

    run_dir = RunDir(args.run)
    res = simulate_run(run_dir, args.samples, args.trace)
    report = res.report
    out = run_dir.stage("sim")
    rows = [["samples", fmt.count(report["samples"])], ["test accuracy (bit-exact)", fmt.pct(report["test_accuracy"])],
            ["simulator throughput", fmt.per_s(report["frames_per_second"])]]
    if args.rtl:
        try:
            from sbnn.hw.rtlsim.check import check_rtl
        except ImportError as exc:
            raise ConfigError(f"RTL simulation is not available in this installation ({exc})") from None
        with step(f"building the RTL with Verilator and running {fmt.count(len(res.x))} samples"):
            report["rtl"] = r = check_rtl(run_dir, res.ir, res.x, res.scores)
        rows += [["RTL scores == simulator", f"{fmt.yes_no(r['equal'])} ({fmt.count(r['samples'])} samples)"],
                 ["RTL latency (model)", f"{fmt.count(r['latency'])} ({fmt.count(r['model_latency'])}) cycles"],
                 ["RTL interval (model)", f"{fmt.count(r['interval'])} ({fmt.count(r['model_interval'])}) cycles"],
                 ["timing == cycle model", fmt.yes_no(r["timing_equals_cycle_model"])]]
    write_json(out / runs.REPORT, report)
    print_table(f"sbnn sim {run_dir.path}", ["metric", "value"], rows)
    if args.rtl and not (report["rtl"]["equal"] and report["rtl"]["timing_equals_cycle_model"]):
        raise ConfigError(f"the RTL differs from the bit-exact simulator ({report['rtl']['mismatches']} samples) or "
                          f"from the cycle model (see {out / runs.REPORT})")
    return 0
