"""Fast bit-exact execution of the IR on packed bits.

Bipolar activations travel as bits. An MVU packs each input vector (a conv window or a flattened map)
into 64-bit words and evaluates the zero-skipping decomposition of :mod:`sbnn.ir.model`:

    S   = 2 * popcount(x) - K                  once per input vector, shared by all channels
    P_c = 2 * popcount(x & b_c) - nnz_c        only the b = 1 weights contribute
    acc = w0 * S + (w1 - w0) * P_c

Integer (multi-bit) inputs, i.e. a first layer fed with pixels, use the same decomposition with
``S = sum(x)`` and ``P = x @ b`` in float64 (exact below 2**53). The popcount loop is in
:mod:`sbnn.sim.kernels` (numba, numpy fallback); there is no per-element Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sbnn.ir.fold import apply_threshold
from sbnn.ir.model import MVU, IRModel, MaxPool, Threshold
from sbnn.sim.kernels import popcount_matmul
from sbnn.sim.reference import windows

def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack the last axis of a bool array into little-endian uint64 words (zero-padded)."""
    k = bits.shape[-1]
    nbytes = (k + 63) // 64 * 8
    packed = np.packbits(bits, axis=-1, bitorder="little")
    if packed.shape[-1] != nbytes:
        pad = [(0, 0)] * (packed.ndim - 1) + [(0, nbytes - packed.shape[-1])]
        packed = np.pad(packed, pad)
    return np.ascontiguousarray(packed).view(np.uint64)


@dataclass
class PackedMVU:
    """Per-layer constants prepared once: packed weight rows and per-row non-zero counts."""

    layer: MVU
    packed: np.ndarray  # (M, words) uint64
    nnz: np.ndarray  # (M,) int64
    bits_f: np.ndarray  # (K, M) float64, for integer inputs

    @classmethod
    def prepare(cls, layer: MVU) -> "PackedMVU":
        bits = layer.weight_bits
        return cls(layer, pack_bits(bits), bits.sum(axis=1).astype(np.int64), bits.T.astype(np.float64))

    def accumulators(self, x: np.ndarray) -> np.ndarray:
        """(N, H, W, C) bool (bipolar) or integer input -> (N, OH, OW, M) int64 accumulators."""
        layer = self.layer
        bipolar = layer.in_type.bipolar
        if layer.kind == "conv":
            pad_value = False if bipolar else layer.pad_value
            cols = windows(x, layer.kernel, layer.pad, pad_value)
        else:
            cols = x.reshape(x.shape[0], 1, 1, -1)
        n, oh, ow, k = cols.shape
        flat = cols.reshape(-1, k)
        d = layer.w1 - layer.w0
        if bipolar:
            xp = pack_bits(flat)
            s = 2 * np.bitwise_count(xp).sum(axis=1, dtype=np.int64) - k
            p = 2 * popcount_matmul(xp, self.packed) - self.nnz[None, :]
        else:
            xf = flat.astype(np.float64)
            s = xf.sum(axis=1).astype(np.int64)
            p = (xf @ self.bits_f).astype(np.int64)
        acc = layer.w0 * s[:, None] + d * p
        return acc.reshape(n, oh, ow, -1)


@dataclass
class SimResult:
    """Integer scores, host-side logits and (optionally) every layer's output."""

    scores: np.ndarray  # int64 (N, outputs)
    logits: np.ndarray  # float64 (N, outputs)
    trace: dict[str, np.ndarray] | None = None

    @property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.logits, axis=1)


class Simulator:
    """Bit-exact simulator of one IR model; prepares packed weights once, then runs batches."""

    def __init__(self, model: IRModel):
        self.model = model.validate()
        self._packed = {layer.name: PackedMVU.prepare(layer) for layer in model.mvus}

    def run(self, x: np.ndarray, *, trace: bool = False, batch_size: int = 256) -> SimResult:
        """Run integer images ``x`` (N, H, W, C) through the model (bits 0/1 for a bipolar input)."""
        x = np.asarray(x)
        expected = tuple(self.model.input.shape)
        if x.ndim != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"input must have shape (N, {', '.join(map(str, expected))}), got {x.shape}")
        scores, traces = [], []
        for start in range(0, x.shape[0], batch_size):
            s, t = self._run_batch(x[start : start + batch_size], trace)
            scores.append(s)
            traces.append(t)
        scores_arr = np.concatenate(scores) if scores else np.zeros((0, self.model.num_classes), np.int64)
        merged = None
        if trace:
            merged = {k: np.concatenate([t[k] for t in traces]) for k in traces[0]} if traces else {}
        return SimResult(scores_arr, self.model.head.logits(scores_arr), merged)

    def _run_batch(self, x: np.ndarray, trace: bool):
        values = x.astype(np.int64) if not self.model.input.type.bipolar else x.astype(bool)
        outputs: dict[str, np.ndarray] = {}
        for layer in self.model.layers:
            if isinstance(layer, Threshold):
                values = apply_threshold(values, layer.thresholds, layer.directions)
            elif isinstance(layer, MaxPool):
                k = layer.kernel
                n, h, w, c = values.shape
                values = values.reshape(n, h // k, k, w // k, k, c).any(axis=(2, 4))
            else:
                acc = self._packed[layer.name].accumulators(values)
                values = acc if layer.is_output else apply_threshold(acc, layer.thresholds, layer.directions)
            if trace:
                outputs[layer.name] = values
        return values.reshape(values.shape[0], -1), outputs


def simulate(model: IRModel, x: np.ndarray, *, trace: bool = False, batch_size: int = 256) -> SimResult:
    """One-shot convenience wrapper around :class:`Simulator`."""
    return Simulator(model).run(x, trace=trace, batch_size=batch_size)
