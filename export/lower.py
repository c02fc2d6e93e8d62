"""Lowering a QONNX graph to the integer hardware IR.

One walker serves sbnn's own exports and foreign binary Brevitas models (FINN-style TFC/SFC/LFC/CNV:
BipolarQuant weights and activations, BatchNormalization, MaxPool). It follows the activation path in
topological order, tracking what each tensor is in integer terms:

* ``Int``: the integer input stream, real value ``scale * x`` (graph input or a multi-bit input Quant);
* ``Bits``: +-1 activations (a ``BipolarQuant`` output), real value ``scale * x``;
* ``Acc``: the accumulator of the MVU just emitted, real value ``a_c * acc + b_c``;
* an elementwise affine of ``Int`` before the input binarization.

Per-channel Mul/Add/Sub/Div and BatchNormalization update the affine; a ``BipolarQuant`` (or a
single-threshold ``MultiThreshold``) on an affine is folded into integer thresholds with
:func:`sbnn.ir.fold.fold_threshold`; Conv/MatMul/Gemm with 1-bit quantized weights become MVUs whose
two weight levels are turned into integers ``w0, w1 = w0 + 2**F``. Anything the integer dataflow
cannot express is refused with the node's name and the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.general.intquant import resolve_rounding_mode

from sbnn.errors import ExportError
from sbnn.export import layout
from sbnn.export.lower_values import Acc, Bits, Int, _attr, _channel_vector, _fail
from sbnn.export.qonnx_read import load_qonnx, read_metadata
from sbnn.ir import BIPOLAR, MVU, Head, InputSpec, IRModel, MaxPool, Threshold, ValueType
from sbnn.ir.fold import batchnorm_affine, fold_threshold
from sbnn.ir.levels import integer_levels
from sbnn.ir.model import default_pad_value
from sbnn.ir.structure import detect as detect_structure

PASS_THROUGH = {"Identity", "Dropout"}
SHAPE_OPS = {"Reshape", "Flatten"}
AFFINE_OPS = {"Mul", "Add", "Sub", "Div"}


@dataclass
class Lowered:
    """The IR plus what a caller needs to feed it real inputs and to trace it back to the graph."""

    model: IRModel
    input_tensor: str  # graph tensor whose value / input_scale is the IR input (NCHW)
    input_scale: float
    nodes: dict[str, list[str]] = field(default_factory=dict)  # IR layer -> QONNX node names


class Lowering:
    """Walks one cleaned-up QONNX model; see the module docstring."""

    def __init__(self, model: ModelWrapper, input_bits: int, input_signed: bool, input_scale: float):
        self.m = model
        self.input_bits, self.input_signed, self.input_scale = input_bits, input_signed, input_scale
        self.state: dict[str, object] = {}
        self.layers: list = []
        self.nodes: dict[str, list[str]] = {}
        self.spec: InputSpec | None = None
        self.input_tensor = model.graph.input[0].name
        self.ir_input_scale = input_scale
        self.n_mvu = 0
        self.pending: list[str] = []

    # --- helpers -------------------------------------------------------------------------------
    def const(self, name: str) -> np.ndarray | None:
        return self.m.get_initializer(name)

    def _note(self, node) -> None:
        self.pending.append(node.name or node.op_type)

    def _emit(self, layer) -> None:
        self.layers.append(layer)
        self.nodes[layer.name] = self.pending
        self.pending = []

    def _weights(self, name: str, node) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(bits b, real level of b=0, real level of b=1) of a weight tensor; the levels are per
        output channel (axis 0) and come from the quantizer's parameters, not from the values used."""
        prod = self.m.find_producer(name)
        raw = self.const(name)
        if prod is None and raw is not None:
            values = np.unique(raw.astype(np.float64))
            if values.size > 2:
                _fail(node, f"its weights take {values.size} distinct values; sbnn needs binary weights")
            hi = float(values.max())
            lo = float(values.min()) if values.size == 2 else (0.0 if hi != 0 else -1.0)
            return raw == hi, self._per_channel(lo, raw), self._per_channel(hi, raw)
        if prod is None or prod.op_type not in ("BipolarQuant", "Quant") or self.const(prod.input[0]) is None:
            _fail(node, "its weights are not a constant or a quantizer applied to a constant")
        w = self.const(prod.input[0]).astype(np.float64)
        scale = self._per_channel(self.const(prod.input[1]).astype(np.float64), w, node)
        if prod.op_type == "BipolarQuant":
            return w >= 0, -scale, scale
        zp, bw = self.const(prod.input[2]).astype(np.float64), self.const(prod.input[3]).astype(np.float64)
        if float(np.asarray(bw).reshape(-1)[0]) != 1:
            _fail(node, f"its weights are {float(np.asarray(bw).reshape(-1)[0]):g}-bit ('{prod.name}'); "
                        "sbnn needs 1-bit weights")
        zp = self._per_channel(zp, w, node)
        signed, narrow = int(_attr(prod, "signed", 1)), int(_attr(prod, "narrow", 0))
        rounding = _attr(prod, "rounding_mode", "ROUND")
        rounding = rounding.decode() if isinstance(rounding, bytes) else rounding
        code = w / scale.reshape((-1,) + (1,) * (w.ndim - 1)) + zp.reshape((-1,) + (1,) * (w.ndim - 1))
        if signed:  # qonnx evaluates a signed 1-bit Quant as bipolar (>= 0): codes -1 / +1
            return code >= 0, (-1 - zp) * scale, (1 - zp) * scale
        if narrow:
            _fail(node, "an unsigned narrow-range 1-bit quantizer has a single level")
        bits = np.clip(resolve_rounding_mode(rounding)(code), 0, 1) == 1
        return bits, -zp * scale, (1 - zp) * scale

    def _weights_transposed(self, name: str, node):
        """_weights for a (K, M) matrix whose per-channel parameters are per column."""
        prod = self.m.find_producer(name)
        tensors = [name] + (list(prod.input) if prod is not None else [])
        saved = {t: self.const(t) for t in tensors if self.const(t) is not None}
        try:
            for t, v in saved.items():  # transpose the weights and any (1, M) / (K, M) parameter
                if v.ndim == 2:
                    self.m.set_initializer(t, np.ascontiguousarray(v.T))
            return self._weights(name, node)
        finally:
            for t, v in saved.items():
                self.m.set_initializer(t, v)

    @staticmethod
    def _per_channel(value, w: np.ndarray, node=None) -> np.ndarray:
        """A per-tensor or per-output-channel (axis 0) quantizer parameter as a (M,) vector."""
        v = np.asarray(value, dtype=np.float64)
        m = w.shape[0]
        if v.size == 1:
            return np.full(m, float(v.reshape(-1)[0]))
        if v.size == m and v.shape[0] == m:
            return v.reshape(-1)
        _fail(node, f"quantizer parameter of shape {v.shape} is neither per-tensor nor per-output-channel")

    # --- walk ----------------------------------------------------------------------------------
    def run(self) -> Lowered:
        g = self.m.graph
        if len(g.input) != 1 or len(g.output) != 1:
            raise ExportError("the QONNX model must have exactly one input and one output")
        shape = self.m.get_tensor_shape(g.input[0].name)
        if shape is None or len(shape) not in (2, 4):
            raise ExportError(f"unsupported input shape {shape}: expected (N, C, H, W) or (N, F)")
        hwc = (shape[2], shape[3], shape[1]) if len(shape) == 4 else (1, 1, shape[1])
        self.state[g.input[0].name] = Int(self.input_scale, ValueType(self.input_bits, self.input_signed), hwc,
                                          flat=len(shape) == 2)
        self.spec = InputSpec(hwc, ValueType(self.input_bits, self.input_signed))
        for node in g.node:
            act = [i for i in node.input if i in self.state]
            if not act:
                continue  # weight-side nodes (quantizers on initializers) are read by their consumer
            if len(act) > 1:
                _fail(node, "it combines two activation tensors (a residual or branch); sbnn lowers plain "
                            "feed-forward graphs only")
            self._node(node, self.state[act[0]])
        out = self.state.get(g.output[0].name)
        if not isinstance(out, Acc):
            raise ExportError("the graph output is not the accumulator of a binary layer (class scores)")
        last = out.layer
        head = Head(np.broadcast_to(out.a, (last.out_channels,)).astype(np.float64).copy(),
                    np.broadcast_to(out.b, (last.out_channels,)).astype(np.float64).copy())
        if last not in self.layers:
            self._emit(last)
        model = IRModel("qonnx", self.spec, self.layers, head, [], {"source": "qonnx"})
        return Lowered(model.validate(), self.input_tensor, self.ir_input_scale, self.nodes)

    def _node(self, node, st) -> None:
        op = node.op_type
        out = node.output[0]
        self._note(node)
        if op in PASS_THROUGH:
            self.state[out] = st
        elif op in SHAPE_OPS:
            if isinstance(st, Acc):
                _fail(node, "reshaping an accumulator before its threshold is not supported")
            st = type(st)(**{**st.__dict__, "flat": True})
            self.state[out] = st
        elif op in AFFINE_OPS or op == "BatchNormalization":
            self.state[out] = self._affine(node, st)
        elif op == "BipolarQuant":
            scale = self.const(node.input[1])
            if scale is None or np.asarray(scale).size != 1:
                _fail(node, "activation BipolarQuant needs a constant per-tensor scale")
            self.state[out] = self._binarize(node, st, float(np.asarray(scale).reshape(-1)[0]))
        elif op == "MultiThreshold":
            thr = self.const(node.input[1])
            out_scale, out_bias = float(_attr(node, "out_scale", 1.0)), float(_attr(node, "out_bias", 0.0))
            if thr is None or thr.ndim != 2 or thr.shape[1] != 1 or out_bias != -out_scale / 2:
                _fail(node, "only single-threshold MultiThresholds with a bipolar output are supported")
            t = _channel_vector(thr[:, 0], self._channels(st), node)
            self.state[out] = self._binarize(node, st, out_scale / 2, shift_by=t)
        elif op == "Quant":
            self.state[out] = self._input_quant(node, st)
        elif op == "Pad":
            self.state[out] = self._pad(node, st)
        elif op in ("Conv", "MatMul", "Gemm"):
            self.state[out] = self._mvu(node, st)
        elif op == "MaxPool":
            self.state[out] = self._maxpool(node, st)
        elif op in ("GlobalAveragePool", "ReduceMean", "Sigmoid"):
            _fail(node, "an input-dependent activation shift (SD-BNN dynamic ASD / squeeze-excitation) cannot fold "
                        "into integer thresholds; retrain with --set quant.asd=static")
        else:
            _fail(node, "unsupported operation for the sbnn hardware IR")

    def _channels(self, st) -> int:
        return st.layer.out_channels if isinstance(st, Acc) else st.shape[2]

    def _affine(self, node, st):
        if isinstance(st, Bits):
            _fail(node, "an affine map of binary activations must be followed by a sign (use a BipolarQuant)")
        c = self._channels(st)
        if node.op_type == "BatchNormalization":
            vals = [self.const(n) for n in node.input[1:5]]
            if any(v is None for v in vals):
                _fail(node, "BatchNormalization parameters must be constants")
            a2, b2 = batchnorm_affine(*vals, _attr(node, "epsilon", 1e-5))
        else:
            k = next((self.const(n) for n in node.input if self.const(n) is not None), None)
            if k is None:
                _fail(node, "needs one constant operand")
            v = _channel_vector(k, c, node)
            if node.op_type == "Mul":
                a2, b2 = v, np.zeros(c)
            elif node.op_type == "Div":
                a2, b2 = 1.0 / v, np.zeros(c)
            elif node.op_type == "Add":
                a2, b2 = np.ones(c), v
            else:  # Sub: x - k, or k - x when the constant is the first operand
                first_const = self.const(node.input[0]) is not None
                a2, b2 = (-np.ones(c), v) if first_const else (np.ones(c), -v)
        if isinstance(st, Acc):
            return Acc(st.layer, a2 * st.a, a2 * st.b + b2)
        a1 = st.a if st.a is not None else np.full(c, st.scale)
        b1 = st.b if st.b is not None else np.zeros(c)
        return Int(st.scale, st.vtype, st.shape, st.flat, a2 * a1, a2 * b1 + b2)

    def _binarize(self, node, st, out_scale: float, shift_by: np.ndarray | None = None):
        """Sign of (affine - shift_by) >= 0: thresholds of the pending MVU, or input binarization."""
        if isinstance(st, Bits):
            return Bits(out_scale * 1.0, st.shape, st.flat)
        c = self._channels(st)
        if isinstance(st, Acc):
            a, b = st.a, st.b - (shift_by if shift_by is not None else 0.0)
            st.layer.thresholds, st.layer.directions = fold_threshold(a, b, st.layer.acc_bound())
            self._emit(st.layer)
            return Bits(out_scale, st.layer.out_shape, False)
        if self.layers:
            _fail(node, "binarizes an integer stream in the middle of the network")
        a = st.a if st.a is not None else np.full(c, st.scale)
        b = (st.b if st.b is not None else np.zeros(c)) - (shift_by if shift_by is not None else 0.0)
        lo, hi = st.vtype.value_range()
        thr, dirs = fold_threshold(a, b, max(abs(lo), abs(hi)))
        self._emit(Threshold("input", st.shape, thr, dirs))
        return Bits(out_scale, st.shape, st.flat)

    def _input_quant(self, node, st):
        if not isinstance(st, Int) or self.layers:
            _fail(node, "multi-bit activations between layers are not supported (sbnn networks are W1A1 with a "
                        "multi-bit first-layer input)")
        scale, zp, bw = (self.const(n) for n in node.input[1:4])
        if scale is None or zp is None or bw is None or np.asarray(scale).size != 1 or float(np.asarray(zp).reshape(-1)[0]) != 0:
            _fail(node, "the input quantizer needs a constant per-tensor scale and zero point 0")
        bw = int(bw)
        if bw == 1:
            _fail(node, "1-bit unsigned activations are not supported: sbnn activations are bipolar")
        signed = bool(_attr(node, "signed", 1))
        # the integer output of this quantizer becomes the accelerator's input (computed on the host)
        self.input_tensor, self.ir_input_scale = node.output[0], float(scale)
        self.spec = InputSpec(st.shape, ValueType(bw, signed))
        self.pending = []
        return Int(float(scale), ValueType(bw, signed), st.shape, st.flat)

    def _pad(self, node, st):
        pads = self.const(node.input[1]) if len(node.input) > 1 else _attr(node, "pads")
        value = self.const(node.input[2]) if len(node.input) > 2 and node.input[2] else np.array(0.0)
        pads = [int(p) for p in np.asarray(pads).reshape(-1)]
        if len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or len(set(pads[2:4] + pads[6:8])) != 1:
            _fail(node, f"only equal spatial padding of NCHW maps is supported, got pads={pads}")
        if _attr(node, "mode", b"constant") not in (b"constant", "constant"):
            _fail(node, "only constant padding is supported")
        return ("pad", pads[2], float(np.asarray(value).reshape(-1)[0]), st)

    def _mvu(self, node, st):
        pad, pad_real = 0, 0.0
        if isinstance(st, tuple) and st[0] == "pad":
            _, pad, pad_real, st = st
        if isinstance(st, Acc):
            _fail(node, "two linear layers without a threshold in between")
        bipolar = isinstance(st, Bits)
        vtype = BIPOLAR if bipolar else st.vtype
        if isinstance(st, Int) and st.a is not None:
            _fail(node, "an affine map on the integer input must be folded into a quantizer first")
        op = node.op_type
        if op == "Conv":
            if node.input[1] is None:
                _fail(node, "missing weights")
            group, strides = _attr(node, "group", 1), _attr(node, "strides", [1, 1])
            dil, pads = _attr(node, "dilations", [1, 1]), _attr(node, "pads", [0, 0, 0, 0])
            if group != 1 or list(strides) != [1, 1] or list(dil) != [1, 1]:
                _fail(node, "only stride-1, undilated, ungrouped convolutions are supported")
            if any(pads):
                if len(set(pads)) != 1 or pad:
                    _fail(node, f"unsupported padding {list(pads)}")
                pad, pad_real = int(pads[0]), 0.0
            bits, lv0, lv1 = self._weights(node.input[1], node)
            m, _, k, k2 = bits.shape
            if k != k2:
                _fail(node, "only square kernels are supported")
            b2 = layout.conv_to_ir(bits)
            kind = "conv"
        else:
            trans_b = op == "Gemm" and _attr(node, "transB", 0)
            if op == "Gemm" and (_attr(node, "transA", 0) or _attr(node, "alpha", 1.0) != 1.0):
                _fail(node, "Gemm with transA or alpha != 1 is not supported")
            w_name = node.input[1]
            if not trans_b:  # MatMul / Gemm weights are (K, M): quantizer parameters run along axis 1
                bits, lv0, lv1 = self._weights_transposed(w_name, node)
            else:
                bits, lv0, lv1 = self._weights(w_name, node)
            b2 = layout.dense_to_ir(bits, st.shape) if st.shape[:2] != (1, 1) else bits
            kind, k = "dense", 1
            if st.shape[0] * st.shape[1] * st.shape[2] != b2.shape[1]:
                _fail(node, f"weights expect {b2.shape[1]} inputs, the stream has {int(np.prod(st.shape))}")
        try:
            w0, w1, wscale = integer_levels(lv0, lv1)
        except ValueError as exc:
            _fail(node, str(exc))
        pad_value = default_pad_value(vtype)
        if pad:
            if bipolar:
                if pad_real != -st.scale:
                    _fail(node, f"pads a bipolar map with {pad_real:g}; sbnn pads bipolar maps with -1 (bit 0) - "
                                "zero padding would make border windows three-valued")
                pad_value = -1
            else:
                iv = pad_real / st.scale
                if abs(iv - round(iv)) > 1e-9:
                    _fail(node, f"pad value {pad_real:g} is not an integer input value")
                pad_value = int(round(iv))
        name = f"mvu{self.n_mvu}"
        self.n_mvu += 1
        layer = MVU(name, kind, st.shape, int(b2.shape[0]), vtype, b2.astype(bool), w0, w1, kernel=int(k), pad=pad,
                    pad_value=pad_value, structure=str(detect_structure(b2)))
        layer.scale = float(np.median(wscale)) * st.scale
        b = np.zeros(layer.out_channels)
        if op in ("Conv", "Gemm") and len(node.input) > 2 and node.input[2]:
            bias = self.const(node.input[2])
            if bias is None:
                _fail(node, "bias must be a constant")
            b = _channel_vector(bias, layer.out_channels, node)
        return Acc(layer, wscale * st.scale, b)

    def _maxpool(self, node, st):
        if isinstance(st, Acc):
            _fail(node, "max-pool between a layer and its threshold: sbnn pools binary activations (after the sign)")
        if not isinstance(st, Bits):
            _fail(node, "max-pool of the integer input is not supported")
        k, s = _attr(node, "kernel_shape"), _attr(node, "strides", None)
        pads = _attr(node, "pads", [0, 0, 0, 0])
        if len(set(k)) != 1 or (s is not None and list(s) != list(k)) or any(pads):
            _fail(node, "only square, non-overlapping, unpadded max-pools are supported")
        layer = MaxPool(f"pool{sum(isinstance(x, MaxPool) for x in self.layers)}", st.shape, int(k[0]))
        if st.shape[0] % layer.kernel or st.shape[1] % layer.kernel:
            _fail(node, f"pool {k[0]}x{k[0]} does not divide the {st.shape[0]}x{st.shape[1]} map")
        self._emit(layer)
        return Bits(st.scale, layer.out_shape)


def lower(model: ModelWrapper | str | Path, *, input_bits: int | None = None, input_signed: bool | None = None,
          input_scale: float | None = None, name: str | None = None) -> Lowered:
    """Lower a QONNX model. Input facts come from sbnn metadata when present, else from the arguments
    (defaults: 8-bit unsigned pixels with real value ``pixel * input_scale``, input_scale 1/255)."""
    mw = model if isinstance(model, ModelWrapper) else load_qonnx(model)
    meta = read_metadata(mw.model)
    bits = input_bits if input_bits is not None else int(meta.get("sbnn.input_bits", 8))
    signed = input_signed if input_signed is not None else meta.get("sbnn.input_signed", "0") == "1"
    scale = input_scale if input_scale is not None else float(meta.get("sbnn.input_scale", 1 / 255))
    lowered = Lowering(mw, bits, signed, scale).run()
    ir = lowered.model
    if "sbnn.head_gain" in meta:  # sbnn exports output raw scores; the float head travels as metadata
        gain, bias = np.array(json.loads(meta["sbnn.head_gain"])), np.array(json.loads(meta["sbnn.head_bias"]))
        ir.head = Head(ir.head.gain * gain, ir.head.bias * gain + bias)
    ir.classes = json.loads(meta.get("sbnn.classes", "[]"))
    ir.name = name or meta.get("sbnn.name", "qonnx")
    ir.provenance = json.loads(meta.get("sbnn.provenance", '{"source": "foreign qonnx"}'))
    return Lowered(ir.validate(), lowered.input_tensor, lowered.input_scale, lowered.nodes)
