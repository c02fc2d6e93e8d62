"""The ``sbnn`` command: one subcommand per pipeline stage.

Each stage module exposes ``add_parser(subparsers)`` which registers its subcommand and sets
``func`` (called with the parsed arguments, returns an exit code). Stage modules are imported only
when their subcommand runs, so ``sbnn synth`` never pays for importing torch. Errors the user can
cause are :class:`sbnn.errors.SbnnError`: they print one line and exit non-zero, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from sbnn import __version__
from sbnn.errors import SbnnError

#: (subcommand, module that implements it, one-line help); the order is the pipeline order
COMMANDS: list[tuple[str, str, str]] = [
    ("data", "sbnn.data.cli", "download or inspect data sets"),
    ("train", "sbnn.training.cli", "train a sparse binary network (Brevitas QAT)"),
    ("export", "sbnn.export.cli", "export to QONNX and lower to the hardware IR, with verification"),
    ("sim", "sbnn.sim_cli", "run the bit-exact simulator (and the RTL) on real inputs"),
    ("synth", "sbnn.hw.cli", "generate the dataflow RTL and synthesize it for the xc7z020"),
    ("deploy", "sbnn.hw.pynq.cli", "package the accelerator for a PYNQ-Z2: Vivado project, bitstream, driver"),
    ("report", "sbnn.report_cli", "summarise a run (or a sweep) as tables and plots"),
    ("sweep", "sbnn.sweep.cli", "train/export/synth/sim over a grid of methods and sparsities"),
]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``sbnn train: error: ...``), exit code 2, no usage dump."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _stage_parser(sub, name: str, module: str, help_text: str) -> None:
    """Register a stage; a stage that this version does not have yet says so clearly when run."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or not module.startswith(exc.name):
            raise
        p = sub.add_parser(name, help=f"{help_text} [not available in this version]")
        p.set_defaults(func=lambda args, _n=name: _missing(_n))
        p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
        return
    mod.add_parser(sub, name, help_text)


def _missing(name: str) -> int:
    raise SbnnError(f"the '{name}' stage is not implemented in sbnn {__version__} yet")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="sbnn",
        description="Sparse binary neural networks: Brevitas training -> QONNX -> IR -> verified zero-skipping RTL.",
    )
    parser.add_argument("--version", action="version", version=f"sbnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module, help_text in COMMANDS:
        if only is None or only == name:
            _stage_parser(sub, name, module, help_text)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # import only the requested stage (keeps 'sbnn synth' free of torch); help lists them all
    first = next((a for a in argv if not a.startswith("-")), None)
    known = {name for name, _, _ in COMMANDS}
    parser = build_parser(first if first in known else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except SbnnError as exc:
        print(f"sbnn {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"sbnn {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
