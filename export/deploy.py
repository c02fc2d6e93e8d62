"""Fold a trained PyTorch network into the integer hardware IR.

This is where training-time reals become hardware integers, for sbnn's own models:

* weights: the quantizer's bits ``b`` and levels (alpha, beta) become integer levels ``w0, w1`` with
  ``w1 - w0 = 2**F`` and a real scale (:func:`sbnn.ir.levels.integer_levels`); the levels were snapped to
  that grid during training, so nothing is approximated;
* BatchNorm, the static activation shift and the layer scale compose into one affine map per channel,
  folded into an integer threshold and a direction (:func:`sbnn.ir.fold.fold_threshold`);
* the input quantizer becomes a ``threshold`` layer (binary input) or an integer input type;
* the score head (TensorNorm or BatchNorm1d) becomes the host-side float head.

Refused with a clear message: residual networks and dynamic (input-dependent) activation shifts.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from sbnn.errors import ExportError
from sbnn.export import layout
from sbnn.ir import BIPOLAR, MVU, UP, Head, InputSpec, IRModel, MaxPool, Threshold, ValueType
from sbnn.ir.fold import batchnorm_affine, compose_affine, fold_threshold
from sbnn.ir.levels import integer_levels
from sbnn.ir.model import default_pad_value
from sbnn.training.layers import BinaryBlock, DynamicShift, StaticShift, TensorNorm
from sbnn.training.models import PlainNet, weight_quant_of


def input_bits(pixel_max: int) -> int:
    return max(1, math.ceil(math.log2(pixel_max + 1)))


def check_hardware_ready(model: nn.Module) -> None:
    """Refuse models the integer dataflow cannot express, naming the module and the reason."""
    if not getattr(model, "hardware_ready", False) or not isinstance(model, PlainNet):
        raise ExportError(f"{type(model).__name__} has real-valued residual additions: sbnn lowers plain "
                          "feed-forward networks only (tfc, sfc, lfc, mlp, cnv, vgg-small); residual nets are for "
                          "accuracy reference")
    for name, m in model.named_modules():
        if isinstance(m, DynamicShift):
            raise ExportError(f"module '{name}' is a dynamic (input-dependent) activation shift (SD-BNN ASD): it "
                              "cannot fold into integer thresholds; train with --set quant.asd=static")


def block_levels(block: BinaryBlock) -> tuple[np.ndarray, int, int, float]:
    """(bits [M, K_torch], w0, w1, scale) of a trained block's weights."""
    layer = block.layer
    q = weight_quant_of(layer)
    with torch.no_grad():
        w = layer.weight.detach()
        bits = q.bits(w)
        alpha, beta = (float(v) for v in q.levels(w))
    b = bits.reshape(bits.shape[0], -1).numpy().astype(bool)
    if b.all():  # only the beta level is used
        return b, 0, 1, beta
    if not b.any():  # only the alpha level is used
        return b, 1, 2, alpha
    try:
        w0, w1, scale = integer_levels(alpha, beta, q.level_bits)
    except ValueError as exc:
        raise ExportError(f"layer {type(layer).__name__}: {exc}") from None
    return b, w0, w1, scale  # scale < 0 when beta < alpha: the bits (the skipped work) stay as trained


def _affine_after(block: BinaryBlock, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """BatchNorm followed by the static shift, as one (a, b) per channel on the real pre-activation."""
    bn = block.bn
    a, b = batchnorm_affine(bn.weight.detach().numpy(), bn.bias.detach().numpy(), bn.running_mean.numpy(),
                            bn.running_var.numpy(), bn.eps)
    if isinstance(block.shift, StaticShift):
        b = b + block.shift.shift().detach().numpy().astype(np.float64)
    return np.broadcast_to(a, (channels,)).copy(), np.broadcast_to(b, (channels,)).copy()


def ir_from_trained(model: PlainNet, meta: dict, name: str = "sbnn") -> IRModel:
    """The integer IR equivalent of a trained hardware-ready network (eval mode)."""
    check_hardware_ready(model)
    c, h, w = meta["in_shape"]
    pixel_max = int(meta["pixel_max"])
    spec = InputSpec((h, w, c), ValueType(input_bits(pixel_max), False))
    layers: list = []
    shape = (h, w, c)
    vtype = spec.type
    x_scale = 1.0  # real value of one unit of the current stream (pixels: 1 / pixel_max)
    if model.input_quant.mode == "binary":
        thr = np.full(c, int(model.input_quant.threshold), dtype=np.int64)
        layers.append(Threshold("input", shape, thr, np.full(c, UP, dtype=np.int8)))
        vtype = BIPOLAR
    else:
        x_scale = 1.0 / pixel_max
    blocks = list(model.blocks())
    index = 0
    head = None
    for block in blocks:
        bits, w0, w1, scale = block_levels(block)
        layer = block.layer
        if block.kind == "conv":
            k = int(layer.kernel_size[0])
            pad = int(block.pad.padding[0]) if block.pad is not None else 0
            pad_value = int(block.pad.value) if block.pad is not None else default_pad_value(vtype)
            ir_bits = layout.conv_to_ir(bits.reshape(bits.shape[0], shape[2], k, k))
            mvu = MVU(f"mvu{index}", "conv", shape, int(layer.out_channels), vtype, ir_bits, w0, w1,
                      kernel=k, pad=pad, pad_value=pad_value)
        else:
            mvu = MVU(f"mvu{index}", "dense", shape, int(layer.out_features), vtype, layout.dense_to_ir(bits, shape),
                      w0, w1, pad_value=default_pad_value(vtype))
        mvu.scale = scale * x_scale
        mvu.structure = getattr(weight_quant_of(layer), "structure", "none")  # validate() checks the bits keep it
        index += 1
        m_out = mvu.out_channels
        if block.output:
            head = _head(model.head, mvu.scale, m_out)
        else:
            a, b = compose_affine(_affine_after(block, m_out), (np.full(m_out, mvu.scale), np.zeros(m_out)))
            mvu.thresholds, mvu.directions = fold_threshold(a, b, mvu.acc_bound())
        layers.append(mvu)
        shape, vtype, x_scale = mvu.out_shape, BIPOLAR, 1.0
        if block.pool is not None:
            layers.append(MaxPool(f"pool{sum(isinstance(x, MaxPool) for x in layers)}", shape, 2))
            shape = layers[-1].out_shape
    provenance = {"source": "sbnn checkpoint", "dataset": meta["dataset"], "input": meta.get("input"),
                  "pixel_max": pixel_max}
    return IRModel(name, spec, layers, head, list(meta["classes"]), provenance).validate()


def _head(head: nn.Module, scale: float, classes: int) -> Head:
    if isinstance(head, TensorNorm):
        gain, bias = head.affine()
        return Head(np.full(classes, gain * scale), np.full(classes, bias))
    if isinstance(head, nn.BatchNorm1d):
        a, b = batchnorm_affine(head.weight.detach().numpy(), head.bias.detach().numpy(), head.running_mean.numpy(),
                                head.running_var.numpy(), head.eps)
        return Head(a * scale, b)
    raise ExportError(f"unsupported score head {type(head).__name__}")
