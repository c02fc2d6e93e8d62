"""Exact arithmetic of the MVU datapath: the decomposition constants and the value range (hence the width) of
every wire, one place for the hardware plan (:mod:`sbnn.arch.cost`: how wide a threshold word is) and the RTL
(:mod:`sbnn.hw.rtl`: every register and adder).

``acc_c = y_c - off_c`` with ``y_c = gmul * S' + (A_c << sh)`` (:mod:`sbnn.arch.decompose`); the ranges
computed here (with unbounded Python integers) size every register and adder, so no overflow is possible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sbnn.arch.decompose import decomposition, sum_range
from sbnn.arch.schedule import MVUPlan
from sbnn.ir.model import MVU


def width_for(lo: int, hi: int) -> int:
    """Bits of a two's-complement (lo < 0) or unsigned (lo >= 0) number holding every value in [lo, hi]."""
    lo, hi = int(min(lo, 0)), int(max(hi, 0))
    if lo >= 0:
        return max(1, hi.bit_length())
    return max(hi.bit_length(), (-lo - 1).bit_length()) + 1


def csd(c: int) -> list[tuple[int, int]]:
    """Canonical signed digits of ``c`` as (shift, +1/-1) pairs: the fewest adders for ``x * c``."""
    digits, k = [], 0
    while c:
        if c & 1:
            d = 2 - (c & 3)  # +1 or -1
            digits.append((k, d))
            c -= d
        c >>= 1
        k += 1
    return digits


def mul_width(width: int, lo: int, hi: int, c: int) -> int:
    """Bits of ``x * c`` built from ``x`` (``width`` bits, values in [lo, hi]) by the canonical-signed-digit
    shifts and adds of :func:`csd`: the product and every partial sum fit."""
    plo, phi = sorted((lo * c, hi * c))
    return max([width_for(plo, phi)] + [width + k + (1 if d < 0 else 0) for k, d in csd(c)])


@dataclass
class Arith:
    """Per-layer constants and exact value ranges of the MVU datapath."""

    elo: int  # element value range (bits: 0..1)
    ehi: int
    gmul: int
    sh: int
    off: np.ndarray  # int64 [M]
    theta: np.ndarray | None  # int64 [M] (None: score layer)
    down: np.ndarray | None  # bool [M]: direction -1 (y <= theta)
    s_lo: int  # range of S'
    s_hi: int
    a_lo: int  # range of A_c over all channels
    a_hi: int
    acc_w: int  # width of a folded lane's accumulator
    yw: int  # width of y, theta, off and scores
    out_bits: int


def arith(layer: MVU, plan: MVUPlan) -> Arith:
    """The constants and exact widths of ``layer``'s datapath built as ``plan``."""
    k = layer.in_features
    bip = layer.in_type.bipolar
    if bip:
        elo, ehi = 0, 1
    else:
        elo, ehi = layer.in_type.value_range()
        if layer.kind == "conv" and layer.pad:
            elo, ehi = min(elo, layer.pad_value), max(ehi, layer.pad_value)
    nnz = layer.nnz.astype(np.int64)
    span = k if not plan.skip_zeros else int(nnz.max(initial=0))
    gmul, sh, off = decomposition(layer, plan.skip_zeros)
    s_lo, s_hi = sum_range(layer)
    a_lo, a_hi = (0, span) if bip else (span * min(elo, 0), span * max(ehi, 0))
    g_lo, g_hi = sorted((gmul * s_lo, gmul * s_hi))
    y_lo, y_hi = g_lo + (a_lo << sh), g_hi + (a_hi << sh)
    bound = layer.acc_bound()
    theta = down = None
    vals = [y_lo, y_hi, -bound - 1, bound + 1, int(off.min(initial=0)), int(off.max(initial=0))]
    if not layer.is_output:
        theta = layer.thresholds.astype(np.int64) + off
        down = layer.directions < 0
        vals += [int(theta.min()), int(theta.max()), int((theta + down).max())]  # theta + 1: a stored down threshold
    # accumulator: the lane sum of one word (SIMD values) must fit as well as the channel total
    per = plan.simd if plan.style != "unrolled" else 0
    acc_w = max(width_for(a_lo, a_hi), width_for(per * min(elo, 0), per * max(ehi, 0)))
    g_w = mul_width(width_for(s_lo, s_hi), s_lo, s_hi, gmul) if gmul else 1
    yw = max(width_for(min(vals), max(vals)), g_w, acc_w + sh)
    out_bits = layer.out_type.bits if layer.is_output else 1
    return Arith(elo, ehi, gmul, sh, off, theta, down, s_lo, s_hi, a_lo, a_hi, acc_w, yw, out_bits)


def adjusted_field_bits(ar: Arith) -> int:
    """Bits of a lane's adjusted threshold field ``{u, down}`` (:mod:`sbnn.hw.rtl.thresholds`): ``u = t - 1 - G``
    over every channel's ``t = theta + down`` and every ``G`` of the layer, plus the direction bit. The
    subtraction runs modulo ``2**(field - 1)``, which is exact once ``u`` fits: ``t`` and ``G`` may be wider."""
    t = ar.theta + ar.down
    g_lo, g_hi = sorted((ar.gmul * ar.s_lo, ar.gmul * ar.s_hi))
    return width_for(min(int(t.min()) - 1 - g_hi, -1), int(t.max()) - 1 - g_lo) + 1  # u is read as signed
