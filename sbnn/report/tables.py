"""Rows -> CSV (every column, full precision) and Markdown / HTML tables (the columns people read).

The CSV is the machine-readable record (values exactly as in the run directories); the Markdown and HTML
tables format the same values for reading (accuracy in %, resources as integers, frames/s rounded).
"""

from __future__ import annotations

import csv
import html
import io
from typing import Any, Callable

from sbnn.report.collect import COLUMNS


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in COLUMNS})
    return buf.getvalue()


def _pct(v: Any) -> str:
    return "-" if v is None else f"{100 * v:.2f} %"


def _int(v: Any) -> str:
    return "-" if v is None else f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


def _num(v: Any) -> str:
    return "-" if v is None else f"{v:,.0f}"


def _sp(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


def _rtl(r: dict) -> str:
    if r.get("rtl_equal") is None:
        return "-"
    return f"{'==' if r['rtl_equal'] else 'DIFFERS'} ({r['rtl_samples']})"


#: (header, formatter) of the readable main table
MAIN: list[tuple[str, Callable[[dict], str]]] = [
    ("point", lambda r: r["name"]),
    ("method", lambda r: r["method"] or "-"),
    ("target zero bits", lambda r: _sp(r["target_sparsity"])),
    ("zero bits", lambda r: _sp(r["weight_sparsity"])),
    ("test acc. (bit-exact)", lambda r: _pct(r["test_acc"])),
    ("LUT", lambda r: _int(r["LUT"])),
    ("FF", lambda r: _int(r["FF"])),
    ("BRAM36", lambda r: _int(r["BRAM36"])),
    ("cycles/frame", lambda r: _int(r["cycles_per_frame"])),
    ("frames/s", lambda r: _num(r["fps"])),
    ("LUT @ target", lambda r: _int(r["eq_LUT"])),
    ("of which FIFO LUT", lambda r: _int(r["eq_FIFO_LUT"])),
    ("FF @ target", lambda r: _int(r["eq_FF"])),
    ("BRAM36 @ target", lambda r: _int(r["eq_BRAM36"])),
    ("frames/s @ target", lambda r: _num(r["eq_fps"])),
    ("MVUs @ target", lambda r: r["eq_mvus"] or "-"),
    ("RTL == sim (inputs)", _rtl),
]
#: FINN folds for the same target frames/s as our '@ target' design: that is the comparison
FINN: list[tuple[str, Callable[[dict], str]]] = [
    ("point", lambda r: r["name"]),
    ("target frames/s", lambda r: _num(r["eq_target_fps"])),
    ("our LUT @ target", lambda r: _int(r["eq_LUT"])),
    ("FINN LUT (estimate)", lambda r: _int(r["finn_LUT"])),
    ("our BRAM36 @ target", lambda r: _int(r["eq_BRAM36"])),
    ("FINN BRAM18 (estimate)", lambda r: _int(r["finn_BRAM18"])),
    ("our cycles/frame @ target", lambda r: _int(r["eq_cycles_per_frame"])),
    ("FINN cycles/frame (estimate)", lambda r: _int(r["finn_cycles_per_frame"])),
    ("our LUT, IR folding", lambda r: _int(r["LUT"])),
]


def cells(rows: list[dict], spec: list[tuple[str, Callable[[dict], str]]]) -> tuple[list[str], list[list[str]]]:
    return [h for h, _ in spec], [[f(r) for _, f in spec] for r in rows]


def markdown(header: list[str], body: list[list[str]]) -> str:
    align = ["---" if i < 2 else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines) + "\n"


def html_table(header: list[str], body: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
