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
import functools
import io
import os
import sys
import textwrap
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


def _words(text: str) -> list[str]:
    return text.split() or [""]


def _wrap(text: str, width: int) -> str:
    """``text`` on lines of at most ``width`` characters, broken at spaces only (a number is never split)."""
    glued = text.replace(" %", "\0%")  # "4.28 %" stays on one line
    lines = textwrap.wrap(glued, width, break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines).replace("\0", " ") or text


def _render(table: Table) -> str:
    buf = io.StringIO()
    Console(file=buf, width=4000, highlight=False).print(table)
    return buf.getvalue()


def _table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[str]], keep: Sequence[int],
           widths: dict[int, int]) -> Table:
    """A table of the columns ``keep`` with fixed ``widths``; text cells are pre-wrapped at spaces to fit them."""
    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
              collapse_padding=True)
    for i in keep:
        t.add_column(columns[i], justify="left" if i == 0 or not _numeric(rows, i) else "right", width=widths[i],
                     overflow="fold")
    for r in rows:
        t.add_row(*[_wrap(r[i], widths[i]) for i in keep])
    return t


def _numeric(rows: Sequence[Sequence[str]], i: int) -> bool:
    """Right-align a column of numbers ("1,234", "90.0 %", "6,864 *", "-"), left-align text."""
    cells = [r[i] for r in rows if r[i] not in ("", "-")]
    return bool(cells) and all(c[:1].isdigit() or c[:2].lstrip("-")[:1].isdigit() for c in cells)


@functools.lru_cache(maxsize=None)
def _overhead(n: int) -> int:
    """Characters a table of ``n`` columns adds to the sum of their widths (padding, separators)."""
    cols = [str(i) for i in range(n)]
    rendered = _render(_table(None, cols, [["x"] * n], range(n), dict.fromkeys(range(n), 1)))
    return max(len(line.rstrip()) for line in rendered.splitlines()) - n


def plan_tables(columns: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> list[tuple[list[int], dict]]:
    """Which columns go into which part and how wide each is. A column is at least as wide as its longest word
    (header or cell: text wraps at spaces, numbers stay whole) and at most as wide as its longest cell; the
    first column is repeated in every part; a part takes columns while their minimum widths fit ``width``, then
    the room left widens its columns towards their natural width, narrowest need first."""
    lo = {i: max(len(w) for c in [columns[i], *(r[i].replace(" %", "_%") for r in rows)] for w in _words(c))
          for i in range(len(columns))}
    hi = {i: max([len(r[i]) for r in rows] + [len(columns[i])]) for i in range(len(columns))}
    parts: list[list[int]] = [[0]]
    for i in range(1, len(columns)):
        trial = parts[-1] + [i]
        if len(parts[-1]) > 1 and sum(lo[j] for j in trial) + _overhead(len(trial)) > width:
            parts.append([0, i])
        else:
            parts[-1] = trial
    out = []
    for keep in parts:
        widths = {i: lo[i] for i in keep}
        room = width - sum(widths.values()) - _overhead(len(keep))
        for i in sorted(keep, key=lambda j: hi[j] - lo[j]):
            add = max(0, min(room, hi[i] - widths[i]))
            widths[i] += add
            room -= add
        out.append((keep, widths))
    return out


def fit_tables(title: str, columns: Sequence[str], rows: Sequence[Sequence], width: int | None = None) -> list[Table]:
    """The table, or several that fit ``width`` (the console's by default), none of whose cells is cut: text
    wraps at spaces, and columns that do not fit go into further parts that repeat the first column."""
    width = width or console.width
    rows = [[str(v) for v in r] for r in rows]
    return [_table(title if k == 0 else "(continued)", columns, rows, keep, widths)
            for k, (keep, widths) in enumerate(plan_tables(columns, rows, width))]


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Print a table that fits the console (see :func:`fit_tables`); a part that cannot fit even so (a single
    word wider than the console) is printed as "first cell: column value, ..." lines instead, never cut."""
    for t in fit_tables(title, columns, rows):
        if max(len(line.rstrip()) for line in _render(t).splitlines()) <= console.width:
            console.print(t)
            continue
        heads = [str(c.header) for c in t.columns]
        if t.title:
            console.print(str(t.title), soft_wrap=True, markup=False)
        for cells in zip(*[[" ".join(str(v).split()) for v in c.cells] for c in t.columns]):
            rest = ", ".join(f"{h}: {v}" for h, v in zip(heads[1:], cells[1:]))
            console.print(f"  {cells[0]}: {rest}" if len(heads) > 2 else f"  {cells[0]}: {cells[1]}", soft_wrap=True,
                          markup=False)


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
