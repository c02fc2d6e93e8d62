"""A deliberately plain integer model of the IR: the oracle for the fast simulator and the RTL.

It builds the full integer weight matrix and multiplies it with +/-1 (or integer) inputs, exactly as
the IR's definition reads, with no bit packing and no zero-skipping decomposition, so that a bug in
those optimisations cannot hide in the oracle too.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sbnn.ir.fold import apply_threshold
from sbnn.ir.model import MVU, IRModel, MaxPool, Threshold


def windows(x: np.ndarray, kernel: int, pad: int, pad_value: int) -> np.ndarray:
    """(N, H, W, C) -> (N, OH, OW, k*k*C) windows in (ky, kx, c) order, padded with ``pad_value``."""
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=pad_value)
    v = sliding_window_view(x, (kernel, kernel), axis=(1, 2))  # (N, OH, OW, C, k, k)
    v = v.transpose(0, 1, 2, 4, 5, 3)
    n, oh, ow = v.shape[:3]
    return v.reshape(n, oh, ow, -1)


def mvu_accumulators(layer: MVU, x: np.ndarray) -> np.ndarray:
    """Integer accumulators (N, OH, OW, M) of an MVU for values ``x`` (N, H, W, C)."""
    x = x.astype(np.int64)
    if layer.kind == "conv":
        cols = windows(x, layer.kernel, layer.pad, layer.pad_value)
    else:
        cols = x.reshape(x.shape[0], 1, 1, -1)
    return cols @ layer.w_int().T


def run_reference(model: IRModel, x: np.ndarray, trace: bool = False):
    """Integer class scores (N, outputs) for integer images ``x`` (N, H, W, C).

    Bipolar activations are carried as -1/+1 integers; a bipolar model input is given as bits (1 = +1).
    With ``trace`` also returns every layer's output (bipolar maps as bool, True = +1; scores as
    int64), keyed by layer name.
    """
    values = model.input.arrange(np.asarray(x)).astype(np.int64)
    if model.input.type.bipolar:
        values = np.where(values > 0, 1, -1)
    outputs = {}
    for layer in model.layers:
        if isinstance(layer, Threshold):
            bits = apply_threshold(values, layer.thresholds, layer.directions)
            values = np.where(bits, 1, -1)
        elif isinstance(layer, MaxPool):
            k = layer.kernel
            n, h, w, c = values.shape
            values = values.reshape(n, h // k, k, w // k, k, c).max(axis=(2, 4))
        else:
            acc = mvu_accumulators(layer, values)
            if layer.is_output:
                values = acc
            else:
                values = np.where(apply_threshold(acc, layer.thresholds, layer.directions), 1, -1)
        outputs[layer.name] = values > 0 if not (isinstance(layer, MVU) and layer.is_output) else values
    scores = values.reshape(values.shape[0], -1)
    return (scores, outputs) if trace else scores
