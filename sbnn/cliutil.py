"""Small shared pieces of the stage subcommands: run-directory options, console output."""

from __future__ import annotations

import argparse
import os
import sys

from rich.console import Console
from rich.table import Table

DEFAULT_RUN = os.environ.get("SBNN_RUN", "runs/default")

console = Console(stderr=False, highlight=False)


def add_run_args(parser: argparse.ArgumentParser, config: bool = True) -> None:
    """--run, and (for configurable stages) --config / --set."""
    parser.add_argument("--run", default=DEFAULT_RUN, metavar="DIR",
                        help=f"run directory shared by the stages (default: {DEFAULT_RUN}, or $SBNN_RUN)")
    if config:
        parser.add_argument("--config", metavar="YAML", help="stage configuration file (YAML)")
        parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                            help="override one configuration value, e.g. --set optim.epochs=5 (repeatable)")


def show_progress() -> bool:
    """Progress bars only on an interactive terminal unless SBNN_PROGRESS=1 forces them."""
    flag = os.environ.get("SBNN_PROGRESS")
    if flag is not None:
        return flag not in ("0", "", "false", "no")
    return sys.stderr.isatty()


def table(title: str, columns: list[str], rows: list[list]) -> Table:
    t = Table(title=title, title_justify="left")
    for c in columns:
        t.add_column(c, justify="right" if c not in (columns[0],) else "left")
    for r in rows:
        t.add_row(*[str(v) for v in r])
    return t
