"""The decomposition of an MVU's accumulator that every datapath computes: one fact, shared by the RTL's
exact arithmetic (:mod:`sbnn.arch.arith`) and the cost model (:mod:`sbnn.arch.cost`).

``acc_c = w0 * S(x) + 2**F * P_c(x)`` is computed as ``y_c = gmul * S' + (A_c << sh)`` and
``acc_c = y_c - off_c``: zero-skipping datapaths sum only the ``b = 1`` inputs (``A_c`` = count of +1
inputs, or sum of the integer inputs), the dense XNOR datapath pops all K (``gmul = 0`` for {-1, +1}
weights: no ``S'`` at all, as in FINN).
"""

from __future__ import annotations

import numpy as np

from sbnn.ir.model import MVU


def decomposition(layer: MVU, skip_zeros: bool) -> tuple[int, int, np.ndarray]:
    """``(gmul, sh, off)`` of ``layer``: ``off`` is int64 [M]."""
    k = layer.in_features
    f = layer.weight_shift
    w0 = int(layer.w0)
    nnz = layer.nnz.astype(np.int64)
    if layer.in_type.bipolar and skip_zeros:
        return 2 * w0, f + 1, w0 * k + (1 << f) * nnz
    if layer.in_type.bipolar:
        return 2 * w0 + (1 << f), f, np.full(nnz.shape, (w0 + (1 << f)) * k, np.int64)
    return w0, f, np.zeros(nnz.shape, np.int64)


def sum_range(layer: MVU) -> tuple[int, int]:
    """Range of ``S'`` (bipolar: the count of +1 inputs; integer: the sum of the inputs, pads included)."""
    k = layer.in_features
    if layer.in_type.bipolar:
        return 0, k
    lo, hi = layer.in_type.value_range()
    if layer.kind == "conv" and layer.pad:
        lo, hi = min(lo, layer.pad_value), max(hi, layer.pad_value)
    return k * lo, k * hi


#: adder inputs the consumer must save before S' moves to its producer: both sides keep an accumulator of
#: S' bits (Yosys, the main job's distributed-RAM loads: moving their 5-input serial adders to a 1-bit
#: producer count cost ~10 LUTs per layer)
SUM_MIN_SAVING = 16


def sum_bits(layer: MVU) -> int:
    """Bits of ``S'`` (two's complement when it can be negative)."""
    lo, hi = sum_range(layer)
    if lo >= 0:
        return max(1, int(hi).bit_length())
    return max(int(hi).bit_length(), int(-lo - 1).bit_length()) + 1
