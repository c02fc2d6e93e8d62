"""``sbnn report``: tables (Markdown, CSV), figures (PNG, SVG) and one HTML page from run directories."""

from __future__ import annotations

import argparse
from pathlib import Path

from sbnn.cliutil import DEFAULT_RUN, console


def add_parser(sub, name: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text, description=help_text + ". --run takes one run directory or a "
                       "sweep root (a folder of sweep points); writes <run>/report/{index.html,report.md,"
                       "report.csv,*.png,*.svg}.")
    p.add_argument("--run", default=DEFAULT_RUN, metavar="DIR", help=f"run directory or sweep root "
                   f"(default: {DEFAULT_RUN}, or $SBNN_RUN)")
    p.add_argument("--out", metavar="DIR", help="write the report here instead of <run>/report")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sbnn.report.build import build_report

    out = build_report(Path(args.run), Path(args.out) if args.out else None, log=console.print)
    console.print((out / "report.md").read_text(), markup=False, soft_wrap=True)
    console.print(f"report: {out / 'index.html'}")
    return 0
