"""The IR as a Brevitas network with integer weights: what ``sbnn export`` turns into QONNX.

Every tensor of this network holds small integers (stored as float32), so PyTorch, onnxruntime and
QONNX all compute it exactly:

* weights are the integer levels ``w0 + (w1 - w0) b``; a symmetric pair is a Brevitas binary weight
  (exported as ``BipolarQuant``), any other pair a 1-bit unsigned quantizer with zero point
  ``-w0 / (w1 - w0)`` and scale ``w1 - w0`` (exported as ``Quant`` under the export patch);
* a threshold is ``dir * acc - dir * thr`` (Mul, Add) followed by a binary activation
  (``BipolarQuant``): ``>= 0`` exactly when ``acc >= thr`` (or ``<=`` for dir = -1);
* padding is an explicit ``Pad`` with the IR's pad value, max-pool a ``MaxPool``;
* the output is the integer score tensor; the float head travels as model metadata.

Layouts: the network takes NCHW pixels (ONNX convention); weights are permuted from the IR's
(ky, kx, c) / (h, w, c) orders into PyTorch's.
"""

from __future__ import annotations

import brevitas.nn as qnn
import numpy as np
import torch
from brevitas.inject import ExtendedInjector
from brevitas.quant import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst
from brevitas.quant.solver import WeightQuantSolver
from torch import nn

from sbnn.errors import ExportError
from sbnn.export import layout
from sbnn.ir import MVU, IRModel, MaxPool, Threshold

#: integers up to this magnitude are exact in float32
FLOAT32_EXACT = 1 << 24


class FixedLevelsQuant(nn.Module):
    """Returns the (already integer) weights unchanged, declaring scale and zero point for export."""

    def __init__(self, level_w0: float, level_w1: float):
        super().__init__()
        self.register_buffer("scale", torch.tensor(float(level_w1 - level_w0)))
        self.register_buffer("zero_point", torch.tensor(-float(level_w0) / float(level_w1 - level_w0)))

    def forward(self, w: torch.Tensor):
        return w, self.scale, self.zero_point, torch.tensor(1.0)


class FixedLevels(ExtendedInjector):
    tensor_quant = FixedLevelsQuant
    bit_width = 1
    signed = False
    narrow_range = False
    level_w0 = 0.0
    level_w1 = 1.0


class FixedLevelsWeight(FixedLevels, WeightQuantSolver):
    pass


class BipolarIntWeight(SignedBinaryWeightPerTensorConst):
    scaling_const = 1.0


class IntThreshold(nn.Module):
    """``dir * x - dir * thr`` per channel: non-negative exactly where the folded threshold fires."""

    def __init__(self, thresholds: np.ndarray, directions: np.ndarray, conv: bool):
        super().__init__()
        shape = (1, -1, 1, 1) if conv else (1, -1)
        d = torch.tensor(directions.astype(np.float32)).reshape(shape)
        self.register_buffer("mul", d)
        self.register_buffer("add", (-d * torch.tensor(thresholds.astype(np.float32)).reshape(shape)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.mul + self.add


def _bipolar_act() -> qnn.QuantIdentity:
    return qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=False)


def torch_weights(layer: MVU) -> torch.Tensor:
    """The layer's integer weights in PyTorch layout (conv: M, C, k, k; dense: M, K in c-h-w order)."""
    w = layer.w_int().astype(np.float32)
    if layer.kind == "conv":
        return torch.from_numpy(layout.conv_from_ir(w, layer.in_shape[2], layer.kernel))
    return torch.from_numpy(layout.dense_from_ir(w, layer.in_shape))


def _mvu_module(layer: MVU) -> nn.Module:
    if layer.acc_bound() >= FLOAT32_EXACT:
        raise ExportError(f"layer {layer.name}: accumulators up to {layer.acc_bound()} are not exact in float32; "
                          "lower quant.level_bits or the input width")
    if layer.w0 == -layer.w1:
        kw = {"weight_quant": BipolarIntWeight, "weight_scaling_const": float(layer.w1)}
    else:
        kw = {"weight_quant": FixedLevelsWeight, "weight_level_w0": float(layer.w0), "weight_level_w1": float(layer.w1)}
    h, w, c = layer.in_shape
    if layer.kind == "conv":
        mod = qnn.QuantConv2d(c, layer.out_channels, layer.kernel, padding=0, bias=False, **kw)
    else:
        mod = qnn.QuantLinear(h * w * c, layer.out_channels, bias=False, **kw)
    with torch.no_grad():
        mod.weight.copy_(torch_weights(layer))
    return mod


class IRNet(nn.Module):
    """Sequential integer network equivalent to an IR model (NCHW pixels in, integer scores out)."""

    def __init__(self, model: IRModel):
        super().__init__()
        if model.input.order is not None:  # a regrouped model (sbnn.arch.regroup) is the hardware's, not the export's
            raise ExportError(f"IR {model.name!r} reads its input permuted (a regrouped hardware model): build the "
                              "PyTorch network from the exported IR")
        self.ir_name = model.name
        steps: list[nn.Module] = []
        for layer in model.layers:
            if isinstance(layer, Threshold):
                steps += [IntThreshold(layer.thresholds, layer.directions, conv=True), _bipolar_act()]
            elif isinstance(layer, MaxPool):
                steps.append(nn.MaxPool2d(layer.kernel))
            else:
                if layer.kind == "conv" and layer.pad:
                    steps.append(nn.ConstantPad2d(layer.pad, float(layer.pad_value)))
                if layer.kind == "dense":
                    steps.append(nn.Flatten(1))
                steps.append(_mvu_module(layer))
                if not layer.is_output:
                    steps += [IntThreshold(layer.thresholds, layer.directions, conv=layer.kind == "conv"),
                              _bipolar_act()]
                elif layer.kind == "conv":  # score map: flatten in the IR's (h, w, c) order
                    steps += [_ChannelsLast(), nn.Flatten(1)]
        self.steps = nn.Sequential(*steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.steps(x)


class _ChannelsLast(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, 2, 3, 1)
