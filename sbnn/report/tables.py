"""Rows -> CSV (every column, full precision) and Markdown / HTML tables (the columns people read).

The CSV is the machine-readable record (values exactly as in the run directories); the Markdown and HTML
tables format the same values for reading (:mod:`sbnn.fmt`: thousands separators, three significant
digits, percentages). A sweep's readable table is split in two (accuracy and verification; hardware) so
that neither needs sixteen columns.
"""

from __future__ import annotations

import csv
import html
import io
import re
from typing import Any, Callable

from sbnn import fmt
from sbnn.report.collect import COLUMNS


def to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in COLUMNS})
    return buf.getvalue()


def _zero_bits(v: Any) -> str:
    return fmt.MISSING if v is None else f"{float(v):.3f}"


def _rtl(r: dict) -> str:
    if r.get("rtl_equal") is None:
        return "not run"
    return f"{'==' if r['rtl_equal'] else 'DIFFERS'} ({fmt.count(r['rtl_samples'])})"


def _verified(r: dict) -> str:
    v = r.get("export_verified")
    return "not run" if v is None else ("==" if v else "FAILED")


def _point(r: dict) -> str:
    """A point's name, marked when some of its values come from stages that are not current."""
    return r["name"] + (" [STALE]" if r.get("stale") else "")


#: (header, formatter) of the sweep's accuracy table
ACCURACY: list[tuple[str, Callable[[dict], str]]] = [
    ("point", _point),
    ("method", lambda r: r["method"] or fmt.MISSING),
    ("mask structure", lambda r: r.get("structure") or fmt.MISSING),
    ("target zero bits", lambda r: _zero_bits(r["target_sparsity"])),
    ("zero bits", lambda r: _zero_bits(r["weight_sparsity"])),
    ("float acc.", lambda r: fmt.pct(r["float_test_acc"])),
    ("bit-exact acc.", lambda r: fmt.pct(r["test_acc"])),
    ("torch == QONNX == sim", _verified),
    ("sim == RTL (inputs)", _rtl),
]
#: (header, formatter) of the sweep's hardware table: at the IR's folding and at the common target frames/s
HARDWARE: list[tuple[str, Callable[[dict], str]]] = [
    ("point", _point),
    ("LUT", lambda r: fmt.count(r["LUT"])),
    ("FF", lambda r: fmt.count(r["FF"])),
    ("BRAM36", lambda r: fmt.count(r["BRAM36"])),
    ("frames/s", lambda r: fmt.sig(r["fps"])),
    ("LUT @ target", lambda r: fmt.count(r["eq_LUT"])),
    ("of which FIFO LUT", lambda r: fmt.count(r["eq_FIFO_LUT"])),
    ("FF @ target", lambda r: fmt.count(r["eq_FF"])),
    ("BRAM36 @ target", lambda r: fmt.count(r["eq_BRAM36"])),
    ("frames/s @ target", lambda r: fmt.sig(r["eq_fps"])),
    ("MVUs @ target", lambda r: r["eq_mvus"] or fmt.MISSING),
]
#: FINN folds for the same target frames/s as our '@ target' design: that is the comparison
FINN: list[tuple[str, Callable[[dict], str]]] = [
    ("point", _point),
    ("target frames/s", lambda r: fmt.sig(r["eq_target_fps"])),
    ("our LUT @ target", lambda r: fmt.count(r["eq_LUT"])),
    ("FINN LUT (estimate)", lambda r: fmt.count(r["finn_LUT"])),
    ("our BRAM36 @ target", lambda r: fmt.count(r["eq_BRAM36"])),
    ("FINN BRAM18 (estimate)", lambda r: fmt.count(r["finn_BRAM18"])),
    ("our cycles/frame @ target", lambda r: fmt.count(r["eq_cycles_per_frame"])),
    ("FINN cycles/frame (estimate)", lambda r: fmt.count(r["finn_cycles_per_frame"])),
    ("our LUT, IR folding", lambda r: fmt.count(r["LUT"])),
]


def cells(rows: list[dict], spec: list[tuple[str, Callable[[dict], str]]]) -> tuple[list[str], list[list[str]]]:
    return [h for h, _ in spec], [[f(r) for _, f in spec] for r in rows]


def _number(cell: str) -> bool:
    """A cell that reads as a number ("1,234", "90.0 %", "0.848x", "== (4)" is not), or a missing value."""
    c = re.sub(r"<[^>]+>", "", cell).strip()
    return c in ("", "-") or bool(re.fullmatch(r"[-+]?[\d,]*\.?\d+(e[-+]?\d+)?( ?(%|x|us|s|pt))?( \*)?", c))


def right_aligned(body: list[list[str]], ncols: int, left: int = 1) -> list[bool]:
    """Numbers right, text left: a column (from the ``left``-th on) is right-aligned when all its cells are numbers."""
    return [i >= left and any(r[i] not in ("", "-") for r in body) and all(_number(r[i]) for r in body)
            for i in range(ncols)]


def markdown(header: list[str], body: list[list[str]], left: int = 1) -> str:
    """A Markdown table; the first ``left`` columns and every text column are left-aligned, numbers right."""
    if any(not h.strip() for h in header):
        raise ValueError(f"every column needs a header: {header}")
    align = ["---:" if r else "---" for r in right_aligned(body, len(header), left)]
    esc = [[c.replace("|", "\\|") for c in row] for row in body]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in esc]
    return "\n".join(lines) + "\n"


def html_table(header: list[str], body: list[list[str]], left: int = 1, raw: set[int] | None = None) -> str:
    """An HTML table; columns in ``raw`` hold HTML already (e.g. a utilisation bar), the rest is escaped."""
    if any(not h.strip() for h in header):
        raise ValueError(f"every column needs a header: {header}")
    raw = raw or set()
    cls = ["r" if r else "l" for r in right_aligned(body, len(header), left)]
    head = "".join(f"<th class='{c}'>{html.escape(h)}</th>" for h, c in zip(header, cls))
    rows = "".join("<tr>" + "".join(f"<td class='{c}'>{v if i in raw else html.escape(v)}</td>"
                                    for i, (v, c) in enumerate(zip(row, cls))) + "</tr>" for row in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
