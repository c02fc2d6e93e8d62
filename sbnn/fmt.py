"""Numbers for people: one formatter per kind of quantity, used by the terminal tables and the reports.

Counts (LUTs, cycles, samples) are exact integers with thousands separators; measured or derived reals
(frames/s, accuracy, microseconds) keep three significant digits but never lose an integer digit
(14,530.66 -> "14,531", 0.8999973 -> "0.900"); fractions become percentages; missing values are "-".
The machine-readable records (JSON, CSV) keep full precision; only what people read goes through here.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "-"


def _bad(v: Any) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def count(v: Any) -> str:
    """An integer count: ``2319`` -> "2,319"; a half BRAM keeps its ".5" (``3.5`` -> "3.5")."""
    if _bad(v):
        return MISSING
    f = float(v)
    return f"{int(f):,}" if f.is_integer() else f"{f:,.1f}"


def sig(v: Any, digits: int = 3) -> str:
    """Three significant digits, but every integer digit: 14530.66 -> "14,531", 97.22 -> "97.2", 0.8999 -> "0.900";
    below 0.001 (or beyond 1e15) in scientific notation."""
    if _bad(v):
        return MISSING
    f = float(v)
    if f == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(f)))
    if magnitude < -3 or magnitude > 15:
        return f"{f:.{digits - 1}e}"
    decimals = max(0, digits - 1 - magnitude)
    out = f"{f:,.{decimals}f}"
    return "0" if out in ("-0", "-0.0") else out


def pct(fraction: Any, digits: int = 3) -> str:
    """A fraction as a percentage with three significant digits: 0.9 -> "90.0 %", 0.052 -> "5.20 %"."""
    return MISSING if _bad(fraction) else f"{sig(100 * float(fraction), digits)} %"


def per_s(v: Any, unit: str = "frames/s") -> str:
    return MISSING if _bad(v) else f"{sig(v)} {unit}"


def duration(seconds: Any) -> str:
    """Elapsed time: "0.4 s", "12.3 s", "1 min 49 s", "2 h 05 min"."""
    if _bad(seconds):
        return MISSING
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s" if s < 10 else f"{s:.0f} s"
    m, sec = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m} min {sec:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


def micro(seconds_or_us: Any, unit: str = "us") -> str:
    return MISSING if _bad(seconds_or_us) else f"{sig(seconds_or_us)} {unit}"


def ratio(v: Any) -> str:
    """A ratio of two measurements: 0.6123 -> "0.612x"."""
    return MISSING if _bad(v) else f"{sig(v)}x"


def yes_no(ok: Any, yes: str = "yes", no: str = "NO") -> str:
    return MISSING if ok is None else (yes if ok else no)
