"""Straight-through estimators for the sign.

The forward pass is always the sbnn sign (``x >= 0`` -> +1, see :func:`formulas.sign_bits`), or the
weight bit ``[w > 0]`` of the learned {alpha, beta} domain. Only the backward pass differs:

* ``identity``: gradient passes unchanged (ReActNet weights, the official CIFAR-100 code);
* ``clipped``: zero outside ``|x| <= 1`` (the classic BNN STE, hardtanh derivative);
* ``ede``: IR-Net's error decay estimator ``k * t * (1 - tanh(t x)^2)`` with an annealed ``t``;
* ``approxsign``: Bi-Real's piecewise-quadratic derivative ``2 - 2|x|`` on ``|x| < 1``.
"""

from __future__ import annotations

import torch

STE_MODES = ("identity", "clipped", "ede", "approxsign")


def ste_grad(x: torch.Tensor, mode: str, k: float = 1.0, t: float = 1.0) -> torch.Tensor:
    """d sign(x) / dx as estimated by ``mode`` (elementwise)."""
    if mode == "identity":
        return torch.ones_like(x)
    if mode == "clipped":
        return (x.abs() <= 1).to(x.dtype)
    if mode == "ede":
        return k * t * (1 - torch.tanh(t * x) ** 2)
    if mode == "approxsign":
        return torch.clamp(2 - 2 * x.abs(), min=0)
    raise ValueError(f"unknown STE mode {mode!r}; choose one of {', '.join(STE_MODES)}")


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, mode, k, t, strict):
        ctx.save_for_backward(x)
        ctx.cfg = (mode, k, t)
        positive = x > 0 if strict else x >= 0
        return torch.where(positive, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        mode, k, t = ctx.cfg
        if mode == "identity":
            return grad, None, None, None, None
        return grad * ste_grad(x, mode, k, t), None, None, None, None


def sign_ste(x: torch.Tensor, mode: str = "clipped", k: float = 1.0, t: float = 1.0, strict: bool = False) -> torch.Tensor:
    """+-1 with the chosen backward; ``strict`` maps 0 to -1 (the ``[w > 0]`` weight convention)."""
    return _SignSTE.apply(x, mode, k, t, strict)


class StePolicy(torch.nn.Module):
    """Holds an STE mode and the EDE (k, t) pair, which the trainer anneals once per epoch."""

    def __init__(self, mode: str = "clipped"):
        super().__init__()
        if mode not in STE_MODES:
            raise ValueError(f"unknown STE mode {mode!r}; choose one of {', '.join(STE_MODES)}")
        self.mode = mode
        self.k = 1.0
        self.t = 1.0

    def set_ede(self, k: float, t: float) -> None:
        self.k, self.t = float(k), float(t)

    def sign(self, x: torch.Tensor, strict: bool = False) -> torch.Tensor:
        return sign_ste(x, self.mode, self.k, self.t, strict)

    def extra_repr(self) -> str:
        return f"mode={self.mode}"
