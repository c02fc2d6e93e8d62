"""Small shared pieces of the stage subcommands: run-directory options, console output.

Console output must read well at any width and when stdout is not a terminal (CI logs, ``| tee``, IDE
consoles: rich then assumes ``$COLUMNS`` or 80 columns). :func:`print_table` never cuts a cell: headers wrap
at spaces, and a table wider than the console is folded into several tables that repeat the first column.
:func:`step` shows a long step's elapsed time: a live spinner on a terminal, otherwise a start line, a
"still running" line every minute and the time it took.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import threading
import time
from typing import Iterator, Sequence

from rich import box
from rich.console import Console
from rich.table import Table

from sbnn.fmt import duration

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


def _table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]], keep: Sequence[int]) -> Table:
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for i in keep:
        cells = [r[i] for r in rows]
        # a column is at least as wide as its widest cell (never cut) and its longest header word (wraps)
        width = max([len(c) for c in cells] + [len(w) for w in columns[i].split()] + [1])
        t.add_column(columns[i], justify="left" if i == 0 else "right", width=width, overflow="fold")
    for r in rows:
        t.add_row(*[r[i] for i in keep])
    return t


def _min_width(t: Table) -> int:
    """The width ``t`` takes: its columns have fixed widths, so render it without a limit (and without its
    title, which wraps at any width) and measure."""
    title, t.title = t.title, None
    buf = io.StringIO()
    Console(file=buf, width=2000, highlight=False).print(t)
    t.title = title
    return max((len(line.rstrip()) for line in buf.getvalue().splitlines()), default=0)


def fit_tables(title: str, columns: Sequence[str], rows: Sequence[Sequence], width: int | None = None) -> list[Table]:
    """The table, or several that fit ``width`` (the console's by default): the first column is repeated in
    every part, the others keep their order. Cells are never cut."""
    width = width or console.width
    rows = [[str(v) for v in r] for r in rows]
    parts: list[list[int]] = [[0]]
    for i in range(1, len(columns)):
        trial = parts[-1] + [i]
        if len(parts[-1]) > 1 and _min_width(_table(None, columns, rows, trial)) > width:
            parts.append([0, i])
        else:
            parts[-1] = trial
    return [_table(title if k == 0 else "(continued)", columns, rows, keep) for k, keep in enumerate(parts)]


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Print a table that fits the console (see :func:`fit_tables`); a part wider than the console even with
    one data column (a very long cell) is printed as plain "column: value" lines instead, never cut."""
    for t in fit_tables(title, columns, rows):
        if _min_width(t) <= console.width:
            console.print(t)
            continue
        keep = [c.header for c in t.columns]
        if t.title:
            console.print(str(t.title), soft_wrap=True)
        for cells in zip(*[list(c.cells) for c in t.columns]):
            console.print("  " + ", ".join(f"{h}: {v}" for h, v in zip(keep, cells)), soft_wrap=True, markup=False)


#: seconds between the "still running" lines of a long step when stderr is not a terminal
HEARTBEAT_S = 60.0


@contextlib.contextmanager
def step(message: str, *, heartbeat_s: float | None = None, quiet_below_s: float = 0.0) -> Iterator[None]:
    """Run a long step with its elapsed time on show: on a terminal a spinner with a clock; otherwise
    "<message> ..." now, "... still <message> (3 min 00 s)" every ``heartbeat_s`` and "<message>: done in
    12.3 s" at the end (failures say how long they ran too)."""
    heartbeat_s = HEARTBEAT_S if heartbeat_s is None else heartbeat_s
    t0 = time.perf_counter()
    if show_progress() and console.is_terminal:
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                      transient=True) as prog:
            prog.add_task(message, total=None)
            yield
        took = time.perf_counter() - t0
        if took >= quiet_below_s:
            console.print(f"{message}: done in {duration(took)}", soft_wrap=True, markup=False)
        return
    console.print(f"{message} ...", soft_wrap=True, markup=False)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(heartbeat_s):
            console.print(f"... still {message} ({duration(time.perf_counter() - t0)})", soft_wrap=True, markup=False)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    ok = False
    try:
        yield
        ok = True
    finally:
        stop.set()
        thread.join()
        took = duration(time.perf_counter() - t0)
        console.print(f"{message}: {'done' if ok else 'stopped'} after {took}" if not ok else
                      f"{message}: done in {took}", soft_wrap=True, markup=False)
