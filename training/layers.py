"""Building blocks of the hardware-ready networks.

A binary block is ``[pad] -> binary conv/linear -> BatchNorm -> [activation shift] -> sign -> [max-pool]``.
Everything after the accumulator up to the sign (BatchNorm, the static shift) folds into one integer
threshold per channel; the max-pool sits after the sign, where it is a logical OR of bits and commutes
with any threshold direction. Binary maps are padded with -1 (bit 0) instead of PyTorch's 0, so that
every window of the hardware sees only +-1 values (methods.md 3.4).
"""

from __future__ import annotations

import brevitas.nn as qnn
import torch
from torch import nn

from sbnn.training.config import LEARNED_METHODS, QuantConfig
from sbnn.training.quantizers import WEIGHT_QUANTS, SignAct


def weight_quant_kwargs(q: QuantConfig, sparsity: float, in_map: tuple[int, int, int] | None = None,
                        structure: str | None = None) -> dict:
    """Brevitas keyword arguments selecting the method's weight quantizer for one layer.

    ``structure`` is the layer's mask structure (None = ``q.structure``); ``in_map`` is the (C, H, W) map a
    dense layer reads: a structured mask follows the IR's (h, w, c) order.
    """
    kw = {"weight_quant": WEIGHT_QUANTS[q.method], "weight_ste_mode": q.weight_ste, "weight_level_bits": q.level_bits}
    structure = q.structure if structure is None else structure
    if q.method == "ab-closed":
        kw.update(weight_sparsity=sparsity, weight_levels=q.levels)
        if structure != "none":
            kw.update(weight_structure=structure, weight_in_map=in_map)
    elif q.method in LEARNED_METHODS:
        kw.update(weight_sparsity=sparsity)
    return kw


def sign_act(q: QuantConfig) -> qnn.QuantIdentity:
    return qnn.QuantIdentity(act_quant=SignAct, act_ste_mode=q.act_ste, return_quant_tensor=False)


class StaticShift(nn.Module):
    """Per-channel learnable shift before the sign (SD-BNN's static ASD: sigmoid(beta_c) in (0, 1))."""

    def __init__(self, channels: int):
        super().__init__()
        self.beta = nn.Parameter(torch.zeros(channels))

    def shift(self) -> torch.Tensor:
        return torch.sigmoid(self.beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return x + self.shift().reshape(shape)


class DynamicShift(nn.Module):
    """SD-BNN's activation self-distribution: an input-dependent shift from a squeeze-excitation branch.

    ``s = sigmoid(FC2(ReLU(FC1(GAP(x)))))`` per sample and channel. It cannot fold into hardware
    thresholds (it needs the whole map first), so export refuses it and suggests the static variant.
    """

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden, bias=False)
        self.fc2 = nn.Linear(hidden, channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = x.mean(dim=tuple(range(2, x.dim()))) if x.dim() > 2 else x
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(z))))
        return x + s.reshape(s.shape + (1,) * (x.dim() - 2))


def make_shift(q: QuantConfig, channels: int) -> nn.Module | None:
    mode = q.resolved_asd
    if mode == "static":
        return StaticShift(channels)
    if mode == "dynamic":
        return DynamicShift(channels, q.asd_reduction)
    return None


class BinaryBlock(nn.Module):
    """One binary layer; ``output=True`` makes it the score layer (accumulator only, no BN/sign)."""

    def __init__(self, kind: str, in_ch: int, out_ch: int, q: QuantConfig, sparsity: float, *, kernel: int = 3,
                 pad: int = 0, pad_value: float = -1.0, pool: bool = False, output: bool = False,
                 in_map: tuple[int, int, int] | None = None, structure: str | None = None):
        super().__init__()
        self.kind = kind
        self.pad = nn.ConstantPad2d(pad, pad_value) if pad else None
        kw = weight_quant_kwargs(q, sparsity, in_map, structure)
        if kind == "conv":
            self.layer = qnn.QuantConv2d(in_ch, out_ch, kernel, padding=0, bias=False, **kw)
        else:
            self.layer = qnn.QuantLinear(in_ch, out_ch, bias=False, **kw)
        self.output = output
        if output:
            self.bn = self.shift = self.act = None
        else:
            self.bn = nn.BatchNorm2d(out_ch) if kind == "conv" else nn.BatchNorm1d(out_ch)
            self.shift = make_shift(q, out_ch)
            self.act = sign_act(q)
        self.pool = nn.MaxPool2d(2) if pool else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pad is not None:
            x = self.pad(x)
        x = self.layer(x)
        if self.output:
            return x
        x = self.bn(x)
        if self.shift is not None:
            x = self.shift(x)
        x = self.act(x)
        if self.pool is not None:
            x = self.pool(x)
        return x


class InputQuant(nn.Module):
    """Integer pixels -> first-layer input: +-1 bits (``pixel >= threshold``) or pixels / pixel_max.

    The threshold sits half a pixel below the integer ``threshold`` so that no pixel lands on it.
    """

    def __init__(self, mode: str, threshold: int, pixel_max: int):
        super().__init__()
        self.mode = mode
        self.threshold = int(threshold)
        self.pixel_max = int(pixel_max)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "binary":
            return torch.where(x >= self.threshold - 0.5, 1.0, -1.0).to(x.dtype)
        return x / self.pixel_max

    def extra_repr(self) -> str:
        return f"mode={self.mode}, threshold={self.threshold}, pixel_max={self.pixel_max}"


class TensorNorm(nn.Module):
    """Scalar batch norm on the scores (as Brevitas' bnn_pynq TensorNorm): one mean/var/gain/bias.

    Being the same affine map for every class, it preserves the argmax, so the accelerator's integer
    scores already give the class.
    """

    def __init__(self, eps: float = 1e-4, momentum: float = 0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(()))
        self.bias = nn.Parameter(torch.zeros(()))
        self.register_buffer("running_mean", torch.zeros(()))
        self.register_buffer("running_var", torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean, var = x.mean(), x.var(unbiased=False)
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var)
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias

    def affine(self) -> tuple[float, float]:
        """(gain, bias) of the inference-mode map ``gain * x + bias``."""
        sd = float(torch.sqrt(self.running_var + self.eps))
        gain = float(self.weight.detach()) / sd
        return gain, float(self.bias.detach()) - gain * float(self.running_mean)
