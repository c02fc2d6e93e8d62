"""Contents of a folded MVU's memories: the weight words (slot codes or weight bits) and the per-fold
threshold words, laid out as the schedule (:mod:`sbnn.arch.schedule`) says.

Sparse words hold, per lane, SIMD codes (absolute index + 1, or delta codes: 0 = empty, 1..E-1 = advance
and take, E = 2**g - 1 = advance E - 1 without taking) and a fold-end flag in bit 0. Dense words hold
PE x SIMD weight bits.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from sbnn.arch.arith import Arith
from sbnn.arch.schedule import MVUPlan
from sbnn.errors import HardwareError
from sbnn.ir.model import MVU


def channel_codes(row: np.ndarray, plan: MVUPlan) -> list[int]:
    """The slot codes of one channel under the plan's coding (no padding)."""
    nz = np.flatnonzero(row)
    if plan.coding == "index":
        return [int(i) + 1 for i in nz]
    if plan.coding != "delta" or plan.code_bits < 2:
        raise HardwareError(f"no slot codes for a {plan.style} plan")
    e = (1 << plan.code_bits) - 1
    codes, prev = [], -1
    for i in nz:
        d = int(i) - prev
        while d > e - 1:
            codes.append(e)
            d -= e - 1
        codes.append(d)
        prev = int(i)
    return codes


def weight_words(layer: MVU, plan: MVUPlan) -> list[int]:
    """Contents of the weight memory, one int per word, in the format of the plan's style."""
    return WORDS[plan.style](layer, plan)


def _dense_words(layer: MVU, plan: MVUPlan) -> list[int]:
    """PE x SIMD weight bits per word, slice by slice."""
    bits, simd = layer.weight_bits, plan.simd
    words: list[int] = []
    sf = layer.in_features // simd
    for f in range(plan.folds.shape[0]):
        for s in range(sf):
            w = 0
            for p, c in enumerate(plan.folds[f]):
                for j in range(simd):
                    if bits[c, s * simd + j]:
                        w |= 1 << (p * simd + j)
            words.append(w)
    return words


def _sparse_words(layer: MVU, plan: MVUPlan) -> list[int]:
    """PE x SIMD slot codes per word; bit 0 ends the fold."""
    bits, simd = layer.weight_bits, plan.simd
    words: list[int] = []
    cb = plan.code_bits
    for f in range(plan.folds.shape[0]):
        nw = int(plan.words[f])
        lanes = [slot_codes(bits[c], plan, nw) for c in plan.folds[f]]
        for t in range(nw):
            w = 1 if t == nw - 1 else 0
            for p, grid in enumerate(lanes):
                for j in range(simd):
                    w |= grid[t][j] << (1 + (p * simd + j) * cb)
            words.append(w)
    return words


#: a weight-memory format: (layer, plan) -> the memory's words
WordsFn = Callable[[MVU, MVUPlan], list[int]]
#: the weight-memory format of the built-in folded styles (a new style passes its own to mvu_folded)
WORDS: dict[str, WordsFn] = {"sparse": _sparse_words, "dense": _dense_words}


def slot_codes(row: np.ndarray, plan: MVUPlan, nw: int) -> list[list[int]]:
    """A channel's codes laid out as ``nw`` words x SIMD slots (0 = empty slot).

    Full gather: the channel's code sequence fills the words slot by slot. Segmented gather: slot s
    carries the codes of residue class s (inputs i = s mod SIMD, addressed by i // SIMD)."""
    simd = plan.simd
    grid = [[0] * simd for _ in range(nw)]
    if plan.gather != "segmented":
        codes = channel_codes(row, plan)
        if len(codes) > nw * simd:
            raise HardwareError("schedule/ROM mismatch: a channel has more codes than its fold's slots")
        for n, code in enumerate(codes):
            grid[n // simd][n % simd] = code
        return grid
    for j in range(simd):
        codes = channel_codes(row[j::simd], plan)
        if len(codes) > nw:
            raise HardwareError("schedule/ROM mismatch: a residue class has more codes than its fold's words")
        for t, code in enumerate(codes):
            grid[t][j] = code
    return grid


def threshold_words(ar: Arith, plan: MVUPlan) -> tuple[int, list[int]]:
    """Per-fold constants: lane p holds {down, theta + down} (thresholded; the compare is
    :func:`~sbnn.hw.rtl.datapath.compare_stored`) or off (scores)."""
    yw = ar.yw
    lane_w = yw if ar.theta is None else yw + 1
    words = []
    for f in range(plan.folds.shape[0]):
        w = 0
        for p, c in enumerate(plan.folds[f]):
            if ar.theta is None:
                v = int(ar.off[c]) % (1 << yw)
            else:
                v = ((int(ar.theta[c]) + int(ar.down[c])) % (1 << yw)) | (int(ar.down[c]) << yw)
            w |= v << (p * lane_w)
        words.append(w)
    return lane_w, words


def adjusted_threshold_words(ar: Arith, plan: MVUPlan, field: int) -> list[int]:
    """Per-fold threshold words whose lane fields (``field`` bits from bit ``p * field``) hold
    ``{theta + down - 1, down}``: the MVU subtracts ``G << 1`` from each field while its pieces arrive
    (:func:`sbnn.hw.rtl.thresholds.threshold_shift`) and compares ``A > (field >>> (1 + sh))``
    (:func:`sbnn.hw.rtl.thresholds.compare_adjusted`)."""
    words = []
    for f in range(plan.folds.shape[0]):
        w = 0
        for p, c in enumerate(plan.folds[f]):
            down = int(ar.down[c])
            v = (((int(ar.theta[c]) + down - 1) % (1 << (field - 1))) << 1) | down
            w |= v << (p * field)
        words.append(w)
    return words
