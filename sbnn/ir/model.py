"""The hardware IR: a short chain of integer layers that export writes and sim and hw read.

The IR is deliberately small. A model is an input description and an ordered list of layers:

* ``threshold``: integer input -> bipolar bits, ``bit_c = [x_c >= thr_c]`` (or ``<=``), per channel.
* ``dense`` / ``conv``: a matrix-vector unit (MVU). ``conv`` is a k x k, stride-1 sliding window with
  ``pad`` rows/columns of ``pad_value`` around the map; windows are flattened in (ky, kx, c) order.
  Weights are one bit per position, ``b``; the integer weight is ``w0 + (w1 - w0) * b`` with
  ``w1 - w0 = 2**F``, in lowest terms (``w0`` odd unless ``F = 0``), so every network has one IR.
  The accumulator is ``acc_c = sum_i w_int[c, i] * x_i`` and is computed as

      acc_c = w0 * S(x) + (w1 - w0) * P_c(x),   S(x) = sum_i x_i,   P_c(x) = sum_{i: b_ci = 1} x_i

  so the weights with ``b = 0`` cost nothing per output channel (zero-weight skipping): ``S`` is
  computed once per input vector and shared by all channels. Bipolar inputs are carried as bits
  (bit 1 -> +1, bit 0 -> -1), so ``S = 2 popcount(x) - K`` and ``P_c = 2 popcount(x & b_c) - nnz_c``.
  A layer either thresholds its accumulators into bits (``thresholds``/``directions`` set) or, as the
  last layer, outputs them as integer class scores.
* ``maxpool``: k x k, stride k, on bipolar bits (a logical OR).

Activations are channels-last (H, W, C). A dense layer after a 2-D map reads it flattened in
(h, w, c) order. Class scores are integers; the host turns them into logits with the float ``head``
(``logits = gain * scores + bias``), which for sbnn-trained models is argmax-preserving.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Union

import numpy as np

from sbnn.errors import IRError
from sbnn.ir import structure as mask_structure
from sbnn.ir.fold import DOWN, UP

IR_FORMAT = "sbnn-ir"
#: version 2 added the per-MVU mask ``structure``; version-1 files still load (structure "none")
IR_VERSION = 2
IR_VERSIONS_READ = (1, 2)


@dataclass(frozen=True)
class ValueType:
    """Type of an activation stream: bipolar bits (``bits == 1``) or ``bits``-wide integers."""

    bits: int
    signed: bool = False

    @property
    def bipolar(self) -> bool:
        return self.bits == 1

    def value_range(self) -> tuple[int, int]:
        """Smallest and largest value an element can take (bipolar: -1 and +1)."""
        if self.bits == 1:
            return -1, 1
        if self.signed:
            return -(1 << (self.bits - 1)), (1 << (self.bits - 1)) - 1
        return 0, (1 << self.bits) - 1


BIPOLAR = ValueType(1)


def default_pad_value(vtype: ValueType) -> int:
    """The canonical pad value: -1 (bit 0) for bipolar maps, 0 for integer maps."""
    return -1 if vtype.bipolar else 0


@dataclass
class InputSpec:
    """The accelerator's input: an integer image, channels last.

    ``order``: when set, the host sends the image's (h, w, c)-flattened elements in this order (element ``j``
    of the stream is element ``order[j]`` of the image) and the first layer's weights are laid out for it.
    Why: an interleaved N:M first layer (:mod:`sbnn.arch.regroup`) then reads contiguous groups, so the
    accelerator needs no band memories; the host's packing gathers once per frame what the hardware would.
    Only a dense first layer reading the input as a flat vector may have it (:func:`reads_flat_input`)."""

    shape: tuple[int, int, int]  # (H, W, C)
    type: ValueType
    order: np.ndarray | None = None  # int64 [H*W*C], a permutation

    def arrange(self, x: np.ndarray) -> np.ndarray:
        """Images (N, H, W, C) in the order the accelerator reads them (``x`` itself without an order)."""
        if self.order is None:
            return x
        return x.reshape(x.shape[0], -1)[:, self.order].reshape(x.shape)


@dataclass
class Threshold:
    """Standalone per-channel thresholding of an integer stream into bits (input binarization)."""

    name: str
    shape: tuple[int, int, int]
    thresholds: np.ndarray  # int64 [C]
    directions: np.ndarray  # int8 [C], +1: x >= thr, -1: x <= thr
    kind: Literal["threshold"] = "threshold"


@dataclass
class MVU:
    """A dense or convolutional matrix-vector unit with 1-bit weights and optional thresholds."""

    name: str
    kind: Literal["dense", "conv"]
    in_shape: tuple[int, int, int]  # (H, W, C); a dense layer reads H*W*C inputs
    out_channels: int
    in_type: ValueType
    weight_bits: np.ndarray  # bool [M, K]
    w0: int
    w1: int
    thresholds: np.ndarray | None = None  # int64 [M]; None for the score layer
    directions: np.ndarray | None = None  # int8 [M]
    kernel: int = 1
    pad: int = 0
    pad_value: int = -1
    pe: int = 1
    simd: int = 1
    scale: float = 1.0  # real pre-activation per accumulator unit (informational)
    #: where the 1 bits may lie (sbnn.ir.structure): none, row, N:M or block:B; checked by validate()
    structure: str = "none"

    @property
    def in_features(self) -> int:
        """K: inputs per output value (window size for conv)."""
        h, w, c = self.in_shape
        return self.kernel * self.kernel * c if self.kind == "conv" else h * w * c

    @property
    def out_shape(self) -> tuple[int, int, int]:
        h, w, _ = self.in_shape
        if self.kind == "dense":
            return (1, 1, self.out_channels)
        return (h + 2 * self.pad - self.kernel + 1, w + 2 * self.pad - self.kernel + 1, self.out_channels)

    @property
    def out_pixels(self) -> int:
        oh, ow, _ = self.out_shape
        return oh * ow

    @property
    def weight_shift(self) -> int:
        """F with ``w1 - w0 = 2**F``."""
        return int(self.w1 - self.w0).bit_length() - 1

    @property
    def is_output(self) -> bool:
        return self.thresholds is None

    @property
    def out_type(self) -> ValueType:
        if self.is_output:
            return ValueType(max(2, int(self.acc_bound()).bit_length() + 1), signed=True)
        return BIPOLAR

    @property
    def nnz(self) -> np.ndarray:
        """Non-skipped weights (b = 1) per output channel."""
        return self.weight_bits.sum(axis=1)

    @property
    def sparsity(self) -> float:
        """Fraction of weight bits equal to 0: the work that the hardware skips."""
        return 1.0 - float(self.weight_bits.mean()) if self.weight_bits.size else 0.0

    @property
    def folded(self) -> bool:
        return not (self.pe == self.out_channels and self.simd == self.in_features)

    def w_int(self) -> np.ndarray:
        """Integer weight matrix [M, K] (reference only; hardware never builds it)."""
        return np.where(self.weight_bits, self.w1, self.w0).astype(np.int64)

    def acc_bound(self) -> int:
        """An upper bound of |acc| over all inputs of the layer's type."""
        lo, hi = self.in_type.value_range()
        xmax = max(abs(lo), abs(hi), abs(self.pad_value) if self.kind == "conv" else 0)
        return int(self.in_features * max(abs(self.w0), abs(self.w1)) * xmax)


@dataclass
class MaxPool:
    """Non-overlapping k x k max-pool on bipolar bits."""

    name: str
    in_shape: tuple[int, int, int]
    kernel: int
    kind: Literal["maxpool"] = "maxpool"

    @property
    def out_shape(self) -> tuple[int, int, int]:
        h, w, c = self.in_shape
        return (h // self.kernel, w // self.kernel, c)


Layer = Union[Threshold, MVU, MaxPool]


@dataclass
class Head:
    """Host-side float map from integer scores to logits (``gain * scores + bias``)."""

    gain: np.ndarray  # float64 [classes]
    bias: np.ndarray  # float64 [classes]

    def logits(self, scores: np.ndarray) -> np.ndarray:
        return scores.astype(np.float64) * self.gain + self.bias

    @property
    def argmax_preserving(self) -> bool:
        """True when argmax(scores) == argmax(logits) for every input (equal positive gains)."""
        return bool(np.all(self.gain == self.gain[0]) and self.gain[0] > 0 and np.all(self.bias == self.bias[0]))


@dataclass
class IRModel:
    """A whole accelerator: input, layer chain, score head."""

    name: str
    input: InputSpec
    layers: list[Layer]
    head: Head
    classes: list[str] = field(default_factory=list)
    provenance: dict = field(default_factory=dict)

    @property
    def mvus(self) -> list[MVU]:
        return [layer for layer in self.layers if isinstance(layer, MVU)]

    @property
    def num_classes(self) -> int:
        return self.layers[-1].out_channels  # type: ignore[union-attr]

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)

    def validate(self) -> "IRModel":
        """Check every invariant the simulator and the generators rely on; raise IRError otherwise."""
        validate_model(self)
        return self


def _fail(where: str, why: str) -> None:
    raise IRError(f"invalid IR at {where}: {why}")


def _check_thresholds(where: str, thr, dirs, n: int, bound: int) -> None:
    if not isinstance(thr, np.ndarray) or thr.shape != (n,) or thr.dtype != np.int64:
        _fail(where, f"thresholds must be int64 of shape ({n},)")
    if not isinstance(dirs, np.ndarray) or dirs.shape != (n,) or dirs.dtype != np.int8:
        _fail(where, f"directions must be int8 of shape ({n},)")
    if not np.all((dirs == UP) | (dirs == DOWN)):
        _fail(where, "directions must be +1 (>=) or -1 (<=)")
    if thr.size and (thr.min() < -bound - 1 or thr.max() > bound + 1):
        _fail(where, f"thresholds outside the reachable accumulator range [-{bound + 1}, {bound + 1}]")


def reads_flat_input(layers: list[Layer]) -> bool:
    """True when the first MVU is dense and sees the input elements as one flat vector, unchanged or
    through one input threshold that is the same for every channel: any order of the elements then
    computes the same (what :attr:`InputSpec.order` needs)."""
    i = 0
    if layers and isinstance(layers[0], Threshold):
        t = layers[0]
        if np.unique(t.thresholds).size > 1 or np.unique(t.directions).size > 1:
            return False
        i = 1
    return len(layers) > i and isinstance(layers[i], MVU) and layers[i].kind == "dense"


def validate_model(model: IRModel) -> None:
    """Shape chain, types, weight levels, folding factors and threshold ranges."""
    if not model.layers:
        _fail("model", "no layers")
    names = [layer.name for layer in model.layers]
    if len(set(names)) != len(names):
        _fail("model", "layer names are not unique")
    shape = tuple(int(v) for v in model.input.shape)
    if len(shape) != 3 or min(shape) < 1:
        _fail("input", f"shape must be (H, W, C) with positive sizes, got {model.input.shape}")
    vtype = model.input.type
    if vtype.bits < 1 or vtype.bits > 32:
        _fail("input", f"unsupported input width {vtype.bits} bits")
    order = model.input.order
    if order is not None:
        n = shape[0] * shape[1] * shape[2]
        if (not isinstance(order, np.ndarray) or order.dtype != np.int64 or order.shape != (n,)
                or not np.array_equal(np.sort(order), np.arange(n))):
            _fail("input", f"order must be an int64 permutation of the {n} input elements")
        if not reads_flat_input(model.layers):
            _fail("input", "an input order needs a dense first layer that reads the input directly (or after an "
                  "input threshold equal for every channel)")
    for i, layer in enumerate(model.layers):
        where = f"layer {i} ({layer.name!r})"
        if isinstance(layer, Threshold):
            if tuple(layer.shape) != shape:
                _fail(where, f"input shape {tuple(layer.shape)} does not match the stream {shape}")
            if vtype.bipolar:
                _fail(where, "thresholding needs an integer input stream, got bipolar bits")
            lo, hi = vtype.value_range()
            _check_thresholds(where, layer.thresholds, layer.directions, shape[2], max(abs(lo), abs(hi)))
            vtype = BIPOLAR
        elif isinstance(layer, MaxPool):
            if not vtype.bipolar:
                _fail(where, "max-pool is defined on bipolar bits only")
            if tuple(layer.in_shape) != shape:
                _fail(where, f"input shape {tuple(layer.in_shape)} does not match the stream {shape}")
            if layer.kernel < 1 or shape[0] % layer.kernel or shape[1] % layer.kernel:
                _fail(where, f"pool kernel {layer.kernel} does not divide the map {shape[0]}x{shape[1]}")
            shape = layer.out_shape
        elif isinstance(layer, MVU):
            if layer.kind not in ("dense", "conv"):
                _fail(where, f"unknown MVU kind {layer.kind!r}")
            if tuple(layer.in_shape) != shape:
                _fail(where, f"input shape {tuple(layer.in_shape)} does not match the stream {shape}")
            if layer.in_type != vtype:
                _fail(where, f"input type {layer.in_type} does not match the stream type {vtype}")
            if layer.kind == "conv":
                if layer.kernel < 1 or layer.pad < 0:
                    _fail(where, "kernel must be >= 1 and pad >= 0")
                oh, ow, _ = layer.out_shape
                if oh < 1 or ow < 1:
                    _fail(where, f"a {layer.kernel}x{layer.kernel} window does not fit the {shape[0]}x{shape[1]} map")
                if vtype.bipolar and layer.pad and layer.pad_value != -1:
                    _fail(where, "bipolar maps are padded with -1 (bit 0); other pad values are three-valued")
            k, m = layer.in_features, layer.out_channels
            wb = layer.weight_bits
            if not isinstance(wb, np.ndarray) or wb.dtype != np.bool_ or wb.shape != (m, k):
                _fail(where, f"weight_bits must be a bool array of shape ({m}, {k})")
            d = int(layer.w1) - int(layer.w0)
            if d <= 0 or d & (d - 1):
                _fail(where, f"weight levels w0={layer.w0}, w1={layer.w1}: w1 - w0 must be a positive power of two")
            if d > 1 and int(layer.w0) % 2 == 0:
                _fail(where, f"weight levels w0={layer.w0}, w1={layer.w1} are not in lowest terms (divide both by 2)")
            try:
                why = mask_structure.violation(wb, layer.structure)
            except ValueError as exc:
                _fail(where, str(exc))
            if why is not None:
                _fail(where, f"weight bits break the recorded mask structure {layer.structure}: {why}")
            if layer.pe < 1 or m % layer.pe:
                _fail(where, f"PE={layer.pe} does not divide the {m} output channels")
            if layer.simd < 1 or k % layer.simd:
                _fail(where, f"SIMD={layer.simd} does not divide the {k} inputs per output")
            last = i == len(model.layers) - 1
            if layer.is_output:
                if not last:
                    _fail(where, "only the last layer may output integer scores (no thresholds)")
            else:
                _check_thresholds(where, layer.thresholds, layer.directions, m, layer.acc_bound())
            if not np.isfinite(layer.scale):
                _fail(where, "scale must be finite")
            shape = layer.out_shape
            vtype = BIPOLAR if not layer.is_output else layer.out_type
        else:
            _fail(where, f"unknown layer type {type(layer).__name__}")
    last = model.layers[-1]
    if not isinstance(last, MVU) or not last.is_output:
        _fail("model", "the last layer must be a dense/conv layer that outputs integer scores")
    n = last.out_channels * last.out_pixels
    for part in ("gain", "bias"):
        arr = getattr(model.head, part)
        if not isinstance(arr, np.ndarray) or arr.shape != (n,) or not np.all(np.isfinite(arr)):
            _fail("head", f"{part} must be a finite float array of shape ({n},)")
    if model.classes and len(model.classes) != n:
        _fail("model", f"{len(model.classes)} class names for {n} scores")
