"""Lower the integer IR into an hls4ml layer list whose C simulation is bit-exact and skips zero weights.

Why not ingest ``export/model.onnx`` directly: hls4ml's ONNX front end turns every QONNX ``Quant`` into a
fixed-point type plus float ``ApplyAlpha`` rescales, and its bipolar activations into ``binary_tanh``
whose values are then multiplied as 0/1 by integer weights; the scores come out wrong (see
``docs/hls4ml.md``). The IR is proven equal to the QONNX graph by ``sbnn export``'s verification, so we
build the hls4ml graph from the IR, in integers only, with hls4ml's own layer classes:

* an MVU with levels ``{w0, w1}`` (``w1 - w0 = d = 2**F``) becomes the IR's zero-skipping identity
  ``acc_c = w0 * S(x) + d * P_c(x)``: a Dense/Conv2D ``<name>_p`` with ``M + 1`` outputs whose weights
  are ``d * b`` (zero where ``b = 0``) plus one all-``w0`` row for the shared ``S(x)``, followed by a
  0/+-1 combiner ``<name>_c`` (``acc_c = y_c + y_M``, a Dense or a 1x1 Conv2D). With ``w0 = 0`` the
  combiner is left out. Weights are constants, Latency strategy, ReuseFactor 1, so the HLS tool removes
  every multiplication by 0: the ``b = 0`` weights cost nothing per channel.
* thresholds become hls4ml's ``BatchNormalization(scale 1, bias -thr) + binary_tanh`` pair, which its
  ``merge_batch_norm_quantized_tanh`` pass turns into ``normalize_binary_tanh`` (``bit = acc >= thr``,
  1-bit ``XnorPrecisionType`` output). A "<=" channel is turned into ">=" by negating its combiner row.
* bipolar activations stay 1-bit ``XnorPrecisionType``, so hls4ml's ``data_binary`` product reads bit 0
  as -1 and bit 1 as +1; zero padding of a bipolar map (bit 0) is the IR's pad value -1.
* max-pool on bits is hls4ml's MaxPooling2D (max of bits = OR).

Every type is an integer ``ap_int``/``ap_uint`` sized from the layer's bound, so nothing overflows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sbnn.errors import HardwareError
from sbnn.ir.fold import DOWN
from sbnn.ir.model import MVU, IRModel, MaxPool, Threshold, ValueType


def int_type(bound: int, signed: bool = True) -> str:
    """The narrowest ap type that holds every integer in [-bound, bound] (or [0, bound] unsigned)."""
    bound = max(int(bound), 1)
    return f"ap_int<{bound.bit_length() + 1}>" if signed else f"ap_uint<{bound.bit_length()}>"


def value_type(vtype: ValueType) -> str:
    return f"ap_int<{vtype.bits}>" if vtype.signed else f"ap_uint<{vtype.bits}>"


@dataclass
class Lowered:
    """An hls4ml layer list, its per-layer precisions, and what was done (for the doc and the report)."""

    layers: list[dict]
    precisions: dict[str, dict[str, str]]
    input_type: str
    output_name: str
    notes: list[str] = field(default_factory=list)
    #: hls4ml layer names per IR layer name, last one = the IR layer's output (for trace comparison)
    ir_map: dict[str, list[str]] = field(default_factory=dict)
    #: IR layer name -> channels whose bits hls4ml stores inverted ("<=" input thresholds)
    inverted: dict[str, list[int]] = field(default_factory=dict)


class _Builder:
    def __init__(self, model: IRModel):
        self.model = model
        self.layers: list[dict] = []
        self.prec: dict[str, dict[str, str]] = {}
        self.prev = "x_in"
        self.shape = list(model.input.shape)  # (H, W, C)
        self.ir_map: dict[str, list[str]] = {}
        self.notes: list[str] = []
        self.inverted: dict[str, list[int]] = {}
        #: +-1 per channel of the current bipolar stream: -1 where the bit is stored inverted
        self.flip: np.ndarray | None = None

    def add(self, layer: dict, owner: str, **prec: str) -> str:
        layer.setdefault("inputs", [self.prev])
        self.layers.append(layer)
        if prec:
            self.prec[layer["name"]] = prec
        self.ir_map.setdefault(owner, []).append(layer["name"])
        self.prev = layer["name"]
        return layer["name"]

    # ------------------------------------------------------------------ layers
    def flatten(self, owner: str) -> None:
        if len(self.shape) == 3 and (self.shape[0] > 1 or self.shape[1] > 1):
            n = int(np.prod(self.shape))
            self.add({"class_name": "Reshape", "name": f"{owner}_flat", "target_shape": [n]}, owner)
            self.shape = [n]
        elif len(self.shape) == 3:
            self.add({"class_name": "Reshape", "name": f"{owner}_flat", "target_shape": [self.shape[2]]}, owner)
            self.shape = [self.shape[2]]

    def threshold(self, name: str, owner: str, thr: np.ndarray, n: int) -> None:
        """``bit = value >= thr`` through BatchNormalization + binary_tanh (merged by hls4ml)."""
        thr = thr.astype(np.float64)
        self.add({"class_name": "BatchNormalization", "name": f"{name}_bn", "n_in": n, "n_filt": self.shape[-1]
                  if len(self.shape) == 3 else -1, "epsilon": 0.0, "use_gamma": True, "use_beta": True,
                  "gamma_data": np.ones_like(thr), "beta_data": -thr, "mean_data": np.zeros_like(thr),
                  "variance_data": np.ones_like(thr), "data_format": "channels_last"}, owner)
        self.add({"class_name": "Activation", "name": f"{name}_sign", "activation": "binary_tanh"}, owner)

    def input_threshold(self, layer: Threshold) -> None:
        # x <= t  <=>  not (x >= t + 1): store those bits inverted and fold the inversion into the next MVU
        up = layer.directions != DOWN
        thr = np.where(up, layer.thresholds, layer.thresholds + 1)
        self.threshold(layer.name, layer.name, thr, int(np.prod(self.shape)))
        self.flip = np.where(up, 1, -1).astype(np.int64)
        if not up.all():
            self.inverted[layer.name] = [int(c) for c in np.flatnonzero(~up)]
            self.notes.append(f"{layer.name}: {int((~up).sum())} '<=' input channels stored inverted; the next "
                              "layer's weight columns are negated")

    def maxpool(self, layer: MaxPool) -> None:
        if self.flip is not None and (self.flip < 0).any():
            raise HardwareError(f"hls4ml backend: max-pool {layer.name!r} after '<=' input thresholds is not "
                                "supported (max of inverted bits is a min)")
        h, w, c = self.shape
        k = layer.kernel
        self.add({"class_name": "MaxPooling2D", "name": layer.name, "data_format": "channels_last",
                  "in_height": h, "in_width": w, "n_filt": c, "pool_height": k, "pool_width": k,
                  "stride_height": k, "stride_width": k, "padding": "valid", "out_height": h // k,
                  "out_width": w // k, "pad_top": 0, "pad_bottom": 0, "pad_left": 0, "pad_right": 0}, layer.name)
        self.shape = [h // k, w // k, c]

    def mvu(self, layer: MVU) -> None:
        m, k = layer.out_channels, layer.in_features
        d, w0 = int(layer.w1 - layer.w0), int(layer.w0)
        flip = self._input_signs(layer)
        if layer.kind == "conv" and layer.pad:
            if layer.in_type.bipolar and (flip < 0).any():
                raise HardwareError(f"hls4ml backend: padded conv {layer.name!r} after '<=' input thresholds is "
                                    "not supported (hls4ml pads bit 0, the inverted channels need bit 1)")
            if not layer.in_type.bipolar and layer.pad_value != 0:
                raise HardwareError(f"hls4ml backend: conv {layer.name!r} pads its integer input with "
                                    f"{layer.pad_value}; hls4ml pads with 0 only")
        sign = np.ones(m, np.int64) if layer.is_output else np.where(layer.directions == DOWN, -1, 1)
        split = w0 != 0
        # rows of the zero-skipping layer: d*b per channel (+ one w0 row for S(x)); inputs with flip -1 negated
        w_p = layer.weight_bits.astype(np.int64) * d
        if not split:
            w_p = w_p * sign[:, None]
        if split:
            w_p = np.vstack([w_p, np.full((1, k), w0, np.int64)])
        w_p = w_p * flip[None, :]
        lo, hi = layer.in_type.value_range()
        xmax = max(abs(lo), abs(hi), abs(layer.pad_value) if layer.kind == "conv" else 0)
        acc_bound = layer.acc_bound()
        p_bound = int(np.abs(w_p).sum(axis=1).max()) * xmax
        wt = int_type(int(np.abs(w_p).max()))
        if layer.in_type.bipolar:  # hls4ml's data_binary product computes -w in the weight type
            wt = int_type(int(np.abs(w_p).max()) + 1)
        out_bound = acc_bound if layer.is_output else max(acc_bound, int(np.abs(layer.thresholds).max()) + 1)
        p_name = f"{layer.name}_p" if split else layer.name
        p_out = m + 1 if split else m
        final_t = int_type(out_bound)
        p_t = int_type(p_bound) if split else final_t
        self._matmul(layer, p_name, w_p, p_out, wt, p_t)
        if split:
            comb = np.zeros((m, m + 1), np.int64)
            comb[np.arange(m), np.arange(m)] = sign
            comb[:, m] = sign
            self._pointwise(layer, f"{layer.name}_c", comb, "ap_int<2>", final_t)
        if not layer.is_output:
            n = int(np.prod(self.shape))
            self.threshold(layer.name, layer.name, sign * layer.thresholds, n)
            self.flip = np.ones(m, np.int64)
        if split:
            self.notes.append(f"{layer.name}: levels {{{w0}, {layer.w1}}} lowered to {d}*b ({layer.sparsity:.0%} "
                              f"zero) + shared {w0}*S(x) row + combiner")

    def _input_signs(self, layer: MVU) -> np.ndarray:
        """+-1 per input position of one output (window in (ky, kx, c) order, or the flattened map)."""
        c = layer.in_shape[2]
        flip = self.flip if (self.flip is not None and layer.in_type.bipolar) else np.ones(c, np.int64)
        return np.tile(flip, layer.in_features // c)

    def _matmul(self, layer: MVU, name: str, w: np.ndarray, n_out: int, wt: str, rt: str) -> None:
        """Dense (w: [n_out, K]) or Conv2D (window in (ky, kx, c) order) with zero bias."""
        prec = {"weight": wt, "bias": "ap_int<2>", "accum": rt, "result": rt}
        if layer.kind == "dense":
            self.flatten(layer.name)
            self.add({"class_name": "Dense", "name": name, "n_in": layer.in_features, "n_out": n_out,
                      "weight_data": w.T.astype(np.float64), "bias_data": np.zeros(n_out), "use_bias": True},
                     layer.name, **prec)
            self.shape = [n_out]
            return
        h, wd, c = self.shape
        kk, p = layer.kernel, layer.pad
        oh, ow = h + 2 * p - kk + 1, wd + 2 * p - kk + 1
        self.add({"class_name": "Conv2D", "name": name, "data_format": "channels_last",
                  "weight_data": w.reshape(n_out, kk, kk, c).transpose(1, 2, 3, 0).astype(np.float64),
                  "bias_data": np.zeros(n_out), "in_height": h, "in_width": wd, "n_chan": c, "n_filt": n_out,
                  "filt_height": kk, "filt_width": kk, "stride_height": 1, "stride_width": 1, "dilation": 1,
                  "padding": "same" if p else "valid", "pad_top": p, "pad_bottom": p, "pad_left": p, "pad_right": p,
                  "out_height": oh, "out_width": ow}, layer.name, **prec)
        self.shape = [oh, ow, n_out]

    def _pointwise(self, layer: MVU, name: str, w: np.ndarray, wt: str, rt: str) -> None:
        m = w.shape[0]
        prec = {"weight": wt, "bias": "ap_int<2>", "accum": rt, "result": rt}
        if len(self.shape) == 1:
            self.add({"class_name": "Dense", "name": name, "n_in": w.shape[1], "n_out": m,
                      "weight_data": w.T.astype(np.float64), "bias_data": np.zeros(m), "use_bias": True},
                     layer.name, **prec)
            self.shape = [m]
            return
        h, wd, c = self.shape
        self.add({"class_name": "Conv2D", "name": name, "data_format": "channels_last",
                  "weight_data": w.T.reshape(1, 1, c, m).astype(np.float64), "bias_data": np.zeros(m),
                  "in_height": h, "in_width": wd, "n_chan": c, "n_filt": m, "filt_height": 1, "filt_width": 1,
                  "stride_height": 1, "stride_width": 1, "dilation": 1, "padding": "valid", "pad_top": 0,
                  "pad_bottom": 0, "pad_left": 0, "pad_right": 0, "out_height": h, "out_width": wd},
                 layer.name, **prec)
        self.shape = [h, wd, m]


def lower(model: IRModel) -> Lowered:
    """IR -> hls4ml layer list (channels-last, integer types)."""
    model.validate()
    if model.input.order is not None:  # a regrouped model (sbnn.arch.regroup): hls4ml would read the image unpermuted
        raise HardwareError(f"IR {model.name!r} reads its input permuted (a regrouped hardware model): lower the "
                            "exported IR to hls4ml")
    b = _Builder(model)
    has_thr = any(isinstance(layer, Threshold) for layer in model.layers)
    # an input threshold may compare against lo - 1 or hi + 1: widen the input type by one signed bit
    in_t = value_type(model.input.type)
    if has_thr:
        lo, hi = model.input.type.value_range()
        in_t = int_type(max(abs(lo), abs(hi)) + 1)
    b.layers.append({"class_name": "InputLayer", "name": "x_in", "input_shape": list(model.input.shape)})
    b.prec["x_in"] = {"result": in_t}
    for layer in model.layers:
        if isinstance(layer, Threshold):
            if layer is not model.layers[0]:
                raise HardwareError(f"hls4ml backend: threshold layer {layer.name!r} must come first")
            b.input_threshold(layer)
        elif isinstance(layer, MaxPool):
            b.maxpool(layer)
        elif isinstance(layer, MVU):
            b.mvu(layer)
        else:  # pragma: no cover - validate() rejects unknown layers
            raise HardwareError(f"hls4ml backend: unsupported layer {type(layer).__name__}")
    if len(b.shape) == 3 and (b.shape[0] > 1 or b.shape[1] > 1):
        b.flatten("scores")
    return Lowered(b.layers, b.prec, in_t, b.prev, b.notes, b.ir_map, b.inverted)
