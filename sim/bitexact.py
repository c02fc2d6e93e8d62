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
from numpy.lib.stride_tricks import sliding_window_view

from sbnn.errors import IRError
from sbnn.ir.fold import apply_threshold
from sbnn.ir.model import MVU, IRModel, MaxPool, Threshold, ValueType
from sbnn.sim import kernels
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
    """Per-layer constants prepared once.

    Bits are packed pixel-aligned: every pixel's C channel bits start a new 64-bit word (zero-padded),
    so a conv window or a flattened map is a plain concatenation of pixel words. Windows are then cut
    from the packed map without unpacking, and zero padding of a bipolar map (value -1, bit 0) is a
    zero word.
    """

    layer: MVU
    packed: np.ndarray  # (M, words) uint64, pixel-aligned
    nnz: np.ndarray  # (M,) int64
    bits_f: np.ndarray  # (K, M) float, for integer inputs

    aligned: bool  # pixel-aligned packing (wide conv inputs) or one contiguous bit vector

    @classmethod
    def prepare(cls, layer: MVU) -> "PackedMVU":
        bits = layer.weight_bits
        m, c = layer.out_channels, layer.in_shape[2]
        # pixel alignment lets conv windows be cut from packed words; it pays when little is padded
        aligned = layer.kind == "conv" and -(-c // 64) * 64 <= 1.25 * c
        packed = pack_bits(bits.reshape(m, -1, c)).reshape(m, -1) if aligned else pack_bits(bits)
        lo, hi = layer.in_type.value_range()
        exact32 = layer.in_features * max(abs(lo), abs(hi)) < (1 << 24)
        dtype = np.float32 if exact32 else np.float64
        return cls(layer, packed, bits.sum(axis=1).astype(np.int64), bits.T.astype(dtype), aligned)

    def _windows_packed(self, x: np.ndarray) -> np.ndarray:
        """(N, H, W, C) bool -> (vectors, words) packed input vectors in the weights' packing."""
        layer = self.layer
        n = x.shape[0]
        if layer.kind == "dense":
            return pack_bits(x.reshape(n, -1))
        if not self.aligned:
            cols = windows(x, layer.kernel, layer.pad, False)
            return pack_bits(cols.reshape(-1, cols.shape[-1]))
        words = pack_bits(x)  # (N, H, W, Cw)
        if layer.pad:
            p = layer.pad
            words = np.pad(words, ((0, 0), (p, p), (p, p), (0, 0)))  # bit 0 = value -1
        k = layer.kernel
        v = sliding_window_view(words, (k, k), axis=(1, 2))  # (N, OH, OW, Cw, k, k)
        return np.ascontiguousarray(v.transpose(0, 1, 2, 4, 5, 3)).reshape(-1, k * k * words.shape[-1])

    def run(self, x: np.ndarray) -> np.ndarray:
        """(N, H, W, C) bool (bipolar) or integer input -> (N, OH, OW, M) bits, or int64 scores."""
        layer = self.layer
        n = x.shape[0]
        oh, ow, m = layer.out_shape
        d = layer.w1 - layer.w0
        if layer.in_type.bipolar:
            xp = self._windows_packed(x)
            if layer.is_output:
                out = kernels.accumulate(xp, self.packed, self.nnz, layer.w0, d, layer.in_features)
            else:
                out = kernels.threshold(xp, self.packed, self.nnz, layer.w0, d, layer.in_features,
                                        layer.thresholds, layer.directions)
            return out.reshape(n, oh, ow, m)
        cols = windows(x, layer.kernel, layer.pad, layer.pad_value) if layer.kind == "conv" else x.reshape(n, 1, 1, -1)
        flat = cols.reshape(-1, cols.shape[-1]).astype(self.bits_f.dtype)
        s = flat.sum(axis=1, dtype=np.float64).astype(np.int64)
        acc = (layer.w0 * s[:, None] + d * (flat @ self.bits_f).astype(np.int64)).reshape(n, oh, ow, m)
        return acc if layer.is_output else apply_threshold(acc, layer.thresholds, layer.directions)


@dataclass
class SimResult:
    """Integer scores, host-side logits and (optionally) every layer's output."""

    scores: np.ndarray  # int64 (N, outputs)
    logits: np.ndarray  # float64 (N, outputs)
    trace: dict[str, np.ndarray] | None = None

    @property
    def predictions(self) -> np.ndarray:
        return np.argmax(self.logits, axis=1)


class InputError(IRError, ValueError):
    """Inputs that the IR's input stream cannot carry (wrong shape, values out of its range)."""


def check_range(vtype: ValueType, x: np.ndarray) -> None:
    """Refuse inputs the input type cannot hold: the hardware would silently wrap them (bipolar inputs are
    bits, 0/1)."""
    if x.size == 0:
        return
    if x.dtype.kind == "f" and not np.array_equal(x, np.rint(x)):
        raise InputError("inputs must be integers in the IR's input units")
    lo, hi = (0, 1) if vtype.bipolar else vtype.value_range()
    mn, mx = int(x.min()), int(x.max())
    if mn < lo or mx > hi:
        what = "bipolar (bits)" if vtype.bipolar else f"{vtype.bits}-bit {'signed' if vtype.signed else 'unsigned'}"
        raise InputError(f"input values {mn}..{mx} are outside the IR's {what} input range {lo}..{hi}")


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
            raise InputError(f"input must have shape (N, {', '.join(map(str, expected))}), got {x.shape}")
        check_range(self.model.input.type, x)
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
        x = self.model.input.arrange(x)
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
                values = self._packed[layer.name].run(values)
            if trace:
                outputs[layer.name] = values
        return values.reshape(values.shape[0], -1), outputs


def simulate(model: IRModel, x: np.ndarray, *, trace: bool = False, batch_size: int = 256) -> SimResult:
    """One-shot convenience wrapper around :class:`Simulator`."""
    return Simulator(model).run(x, trace=trace, batch_size=batch_size)
