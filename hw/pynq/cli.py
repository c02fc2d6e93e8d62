"""``sbnn deploy``: package a run's accelerator for a PYNQ board (Vivado project, bitstream, driver bundle)."""

from __future__ import annotations

import argparse

from sbnn.cliutil import add_run_args, console
from sbnn.runs import RunDir


def add_parser(subparsers, name: str, help_text: str) -> None:
    p = subparsers.add_parser(name, help=help_text, description=(
        "Read <run>/hw (from 'sbnn synth') and write <run>/deploy/: vivado/ (RTL + PYNQ shell, build.tcl: IP, "
        "block design with Zynq PS7 and AXI DMA, bitstream + .hwh) and pynq/ (driver, sbnn.json, samples, "
        "example.py, README). Vivado builds the bitstream when it is installed."))
    add_run_args(p, config=False)
    p.add_argument("--board", default="pynq-z2", help="target board (default pynq-z2)")
    build = p.add_mutually_exclusive_group()
    build.add_argument("--build", dest="build", action="store_const", const=True, default=None,
                       help="require the bitstream (fails when Vivado is missing); default: build when installed")
    build.add_argument("--no-build", dest="build", action="store_const", const=False,
                       help="write the project and the bundle only")
    p.add_argument("--timeout", type=float, metavar="S", help="limit for the Vivado run in seconds")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from sbnn.hw.pynq.deploy import deploy

    res = deploy(RunDir(args.run), args.board, build=args.build, timeout=args.timeout)
    console.print(f"Vivado project: {res.tcl}", soft_wrap=True)
    console.print(f"board bundle:   {res.driver.parent}", soft_wrap=True)
    console.print(res.note, soft_wrap=True)
    return 0
