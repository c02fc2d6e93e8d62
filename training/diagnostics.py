"""Per-epoch training diagnostics written to ``train/metrics.json`` beside the accuracy.

They answer "what did the quantizer do this epoch" without re-running anything: per binary layer the
weight bits that flipped, the levels (alpha, beta, their ratio; tau/phi of the learned domain) and the
optimizer's gradient scale (Adam's root-mean-square second moment); for the learned domain also the EC
penalty's share of the objective, how often it was active, its per-weight gradient against the loss's own
gradient, and the EC target of the ramp. All of it costs one pass over the weights per epoch, plus, for
the learned methods, one over their gradients per step.
"""

from __future__ import annotations

import torch
from torch import nn

from sbnn.training.models import binary_layers, weight_quant_of
from sbnn.training.quantizers import LearnedWeightQuant


def _names(model: nn.Module) -> list[tuple[str, nn.Module]]:
    names = {id(m): n for n, m in model.named_modules()}
    return [(names[id(layer)], layer) for layer in binary_layers(model)]


@torch.no_grad()
def weight_bits(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: weight_quant_of(layer).bits(layer.weight).clone() for name, layer in _names(model)}


class EpochDiagnostics:
    """Accumulates one epoch; :meth:`finish` returns the JSON-ready record."""

    def __init__(self, model: nn.Module):
        self.model = model
        self.start_bits = weight_bits(model)
        self.steps = 0
        self.pen_sum = self.objective_sum = 0.0
        self.active = 0
        self.pen_grad: list[float] = []
        self.ce_grad: dict[str, float] = {}

    @staticmethod
    def penalty_grads(pen: torch.Tensor, ones: list[torch.Tensor]) -> list[float]:
        """d penalty / d w per learned layer (call before backward): the penalty's gradient reaches every
        latent weight of a layer as the same constant (identity STE on the count), half its gradient on
        the layer's count."""
        if not pen.requires_grad or float(pen.detach()) == 0.0:
            return [0.0] * len(ones)
        grads = torch.autograd.grad(pen, ones, retain_graph=True, allow_unused=True)
        return [0.0 if g is None else 0.5 * float(g) for g in grads]

    def step(self, loss: torch.Tensor, pen: torch.Tensor | None, consts: list[float],
             learned: list[tuple[str, nn.Module]]) -> None:
        """Record one optimizer step (call after backward, before the optimizer step); the loss's own
        gradient on a weight is its gradient minus the layer's penalty constant ``consts``."""
        self.steps += 1
        if pen is None:
            return
        p, l_ = float(pen.detach()), float(loss.detach())
        self.pen_sum += p
        self.objective_sum += p + l_
        self.active += p > 0
        self.pen_grad.append(max(consts, default=0.0))
        for (name, layer), c in zip(learned, consts):
            g = layer.weight.grad
            if g is not None:
                self.ce_grad[name] = self.ce_grad.get(name, 0.0) + float((g - c).abs().mean())

    @torch.no_grad()
    def finish(self, optimizer: torch.optim.Optimizer | None = None, ec_target: float | None = None) -> dict:
        layers = {}
        for name, layer in _names(self.model):
            q = weight_quant_of(layer)
            bits = q.bits(layer.weight)
            alpha, beta = (float(v) for v in q.levels(layer.weight))
            rec = {"flipped": int((bits != self.start_bits[name]).sum()) / bits.numel(),
                   "alpha": alpha, "beta": beta,
                   "ratio": alpha / (beta - alpha) if beta != alpha else None}
            if isinstance(q, LearnedWeightQuant):
                rec.update(tau=float(q.tau), phi=float(q.phi))
            if optimizer is not None:
                state = optimizer.state.get(layer.weight, {})
                if "exp_avg_sq" in state:
                    rec["adam_rms"] = float(state["exp_avg_sq"].mean().sqrt())
            if name in self.ce_grad:
                rec["ce_grad"] = self.ce_grad[name] / max(1, self.steps)
            layers[name] = rec
        out: dict = {"layers": layers}
        if self.pen_grad:
            out["ec"] = {"share": self.pen_sum / self.objective_sum if self.objective_sum else 0.0,
                         "active_steps": self.active / max(1, self.steps),
                         "grad_per_weight_mean": sum(self.pen_grad) / len(self.pen_grad),
                         "grad_per_weight_max": max(self.pen_grad),
                         "target": ec_target}
        return out
