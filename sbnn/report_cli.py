"""``sbnn report``: tables (Markdown, CSV), figures (PNG, SVG) and one HTML page from run directories.

The command sits above the report (which only reads run-directory files) and the hardware stage: with
``--baseline dense`` it first has the hardware stage build the run's dense baseline (:mod:`sbnn.hw.baseline`)
into a sub-run, which the report then reads like any other design.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sbnn import fmt
from sbnn.cliutil import DEFAULT_RUN, console, print_table, step
from sbnn.errors import ConfigError
from sbnn.runs import DENSE_BASELINE_DIR, RunDir


def add_parser(sub, name: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text, description=help_text + ". --run takes one run directory or a "
                       "sweep root (a folder of sweep points); writes <run>/report/{index.html,report.md,"
                       "report.csv,*.png,*.svg}.")
    p.add_argument("--run", default=DEFAULT_RUN, metavar="DIR", help=f"run directory or sweep root "
                   f"(default: {DEFAULT_RUN}, or $SBNN_RUN)")
    p.add_argument("--out", metavar="DIR", help="write the report here instead of <run>/report")
    p.add_argument("--baseline", choices=["dense"], help="first synthesize the run's dense XNOR baseline at the "
                   f"run's frames/s into <run>/{DENSE_BASELINE_DIR}/ (skipped when it is up to date), to show "
                   "side by side")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sbnn.report.build import build_report, is_sweep, rows_of

    root = Path(args.run)
    if args.baseline:
        if not root.is_dir() or is_sweep(root):
            raise ConfigError(f"--baseline needs one run directory with a synthesized design, not {root}")
        from sbnn.hw.baseline import dense_baseline

        res = dense_baseline(RunDir(root), step, log=lambda msg: console.print(msg, soft_wrap=True, markup=False))
        t = res.synth.total if res.synth else {}
        console.print(f"dense baseline in {root / DENSE_BASELINE_DIR}: LUT {fmt.count(t.get('LUT'))}, FF "
                      f"{fmt.count(t.get('FF'))}, {fmt.per_s(res.cycles['frames_per_second'])}", soft_wrap=True,
                      markup=False)
    with step("writing the report"):
        out = build_report(root, Path(args.out) if args.out else None, log=lambda m: None)
    if is_sweep(root):
        rows = rows_of(root)
        done = [r for r in rows if r["status"] == "done"]
        summary = [["points", f"{len(done)} of {len(rows)} done"]]
        summary += [[r["name"], f"{fmt.pct(r['test_acc'])} bit-exact, {fmt.count(r['eq_LUT'])} LUT @ target"]
                    for r in done]
    else:
        from sbnn.report.details import read_run
        from sbnn.report.runpage import glance_rows

        summary = glance_rows(read_run(root))
    print_table(f"sbnn report {root}", ["what", "value"], summary)
    console.print(f"report: {out / 'index.html'} (Markdown: {out / 'report.md'})", soft_wrap=True, markup=False)
    return 0
