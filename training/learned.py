"""The training-side pieces of the learned {alpha, beta} domain (methods ab-learned and ab-learned-tuned).

The quantizer (:class:`quantizers.LearnedWeightQuant`) holds tau, phi and the bit rule; this module holds
what the training loop does around it: where latent weights and levels start, the "expected connections"
(EC) penalty that steers the ones-rate, the optimizer group of tau/phi, and the final projection onto the
closed form's exact-count mask. Every option is a QuantConfig field resolved with ``QuantConfig.learned``;
the arithmetic is in :mod:`formulas`. docs/learned-ab.md measures what each option does.
"""

from __future__ import annotations

import torch
from torch import nn

from sbnn.training import formulas
from sbnn.training.config import LEARNED_METHODS, TrainConfig
from sbnn.training.models import binary_layers, weight_quant_of
from sbnn.training.quantizers import LearnedWeightQuant


def learned_layers(model: nn.Module) -> list[tuple[nn.Module, LearnedWeightQuant]]:
    """(Brevitas layer, its learned quantizer) for every learned {alpha, beta} layer, in forward order."""
    out = []
    for layer in binary_layers(model):
        q = weight_quant_of(layer)
        if isinstance(q, LearnedWeightQuant):
            out.append((layer, q))
    return out


def start_at_target_sparsity(model: nn.Module) -> None:
    """Shift every learned layer's latent weights so that its target fraction of bits is 0
    (``formulas.quantile_shift``)."""
    with torch.no_grad():
        for layer, q in learned_layers(model):
            layer.weight.sub_(formulas.quantile_shift(layer.weight, q.sparsity))


def levels_from_closed_form(model: nn.Module) -> None:
    """Set each layer's phi so that its level ratio alpha / (beta - alpha) is the closed form's L2 ratio
    for the layer's current bits and its latent weights centred on their mean; tau stays 1.

    Why: the official start (tau 1, phi 0) is the symmetric BNN, ratio -1/2. With 90 % of the bits at
    alpha that adds ``-(beta - alpha) / 2 * sum(x)`` to every output, a common term four times the useful
    part: the first epoch trains at chance (docs/learned-ab.md). Centred, because the learned domain's
    threshold is 0 wherever the latent weights sit (after the quantile start their mean is far below 0),
    while the closed form's levels are means of weights spread around 0: the centred ratio is the closed
    form's on the unshifted start, ~ -(1 - s) for a uniform init. Only the ratio matters (a BatchNorm or
    the score norm follows every layer); tau = 1 keeps the optimizer's relative step on the levels as
    official.
    """
    with torch.no_grad():
        for layer, q in learned_layers(model):
            w = layer.weight
            bits = q.bits(w)
            alpha, beta = formulas.l2_levels(w - w.mean(), bits)
            if float(beta - alpha) == 0.0:
                continue
            ratio = (alpha / (beta - alpha)).clamp(-formulas.MAX_LEVEL_RATIO, formulas.MAX_LEVEL_RATIO)
            q.tau.fill_(1.0)
            q.phi.copy_(formulas.phi_for_ratio(q.tau, ratio))


def init_learned(model: nn.Module, cfg: TrainConfig) -> None:
    """The start of a fresh learned run (a resumed run continues its own weights)."""
    if cfg.quant.method not in LEARNED_METHODS:
        return
    if cfg.quant.learned("learned_init") == "quantile":
        start_at_target_sparsity(model)
    if cfg.quant.learned("level_init") == "closed":
        levels_from_closed_form(model)


def param_groups(model: nn.Module, cfg: TrainConfig) -> list[dict]:
    """Optimizer parameter groups: tau/phi of learned layers in their own group (lr x level_lr, no weight
    decay, which would pull the levels towards 0), everything else with optim.lr and optim.weight_decay."""
    levels = [p for _, q in learned_layers(model) for p in (q.tau, q.phi)]
    if not levels:
        return [{"params": list(model.parameters())}]
    ids = {id(p) for p in levels}
    rest = [p for p in model.parameters() if id(p) not in ids]
    return [{"params": rest},
            {"params": levels, "lr": cfg.optim.lr * cfg.quant.learned("level_lr"), "weight_decay": 0.0}]


def projecting(cfg: TrainConfig, epoch: int) -> bool:
    """Whether epoch ``epoch`` (0-based; ``epochs`` = the finished model) uses the exact-count mask."""
    if cfg.quant.method not in LEARNED_METHODS:
        return False
    n = cfg.quant.learned("project_epochs")
    return n > 0 and epoch >= cfg.optim.epochs - n


def set_mask_schedule(model: nn.Module, cfg: TrainConfig, epoch: int) -> None:
    """Switch the learned layers to the closed form's exact-count mask for the last project_epochs."""
    exact = projecting(cfg, epoch)
    for _, q in learned_layers(model):
        q.exact = exact


def projection_counts(model: nn.Module, cfg: TrainConfig) -> list[int]:
    """The zero-bit count of every learned layer for the projection, decided once when it starts.

    "layer": ``round(s_l N_l)``, the closed form's counts. "learned": the layers' current counts of
    ``w <= 0``, moved by :func:`formulas.allocate_zeros` until they sum to the same total (no layer
    entirely 0, which has no exact-count mask).
    """
    layers = learned_layers(model)
    targets = [round(q.sparsity * layer.weight.numel()) for layer, q in layers]
    if cfg.quant.learned("project_counts") == "layer":
        return targets
    with torch.no_grad():
        current = [int((~formulas.positive_bits(layer.weight)).sum()) for layer, _ in layers]
    return formulas.allocate_zeros(current, [layer.weight.numel() - 1 for layer, _ in layers], sum(targets))


def apply_projection_counts(model: nn.Module, counts: list[int] | None) -> None:
    """Give every learned layer its projection count (as its sparsity ``k / N``); None: leave the targets."""
    if counts is None:
        return
    layers = learned_layers(model)
    if len(counts) != len(layers):
        raise ValueError(f"{len(counts)} projection counts for {len(layers)} learned layers")
    for (layer, q), k in zip(layers, counts):
        q.sparsity = k / layer.weight.numel()


class ECPenalty:
    """The EC penalty of one run: per-layer weight counts and targets, the ramp, global or per-layer scope.

    The pooled (global) target is the count-weighted mean of the layers' targets, so a net whose first
    and last layers stay denser (quant.first_last_sparsity) is asked for the same number of ones as the
    closed form keeps.
    """

    def __init__(self, model: nn.Module, cfg: TrainConfig):
        q = cfg.quant
        self.layers = learned_layers(model)
        self.totals = [layer.weight.numel() for layer, _ in self.layers]
        self.targets = [1.0 - quant.sparsity for _, quant in self.layers]
        n = sum(self.totals)
        # rounded so that an all-0.5 net keeps the official "EC 0.5: no penalty" exactly
        self.global_target = round(sum(t * e for t, e in zip(self.totals, self.targets)) / max(1, n), 12)
        self.gamma = q.learned("ec_gamma")
        self.ramp = q.learned("ec_ramp_epochs")
        self.scope = q.learned("ec_scope")

    def target(self, progress: float) -> float:
        """The pooled EC target after ``progress`` epochs."""
        return formulas.ec_ramp(progress, 0.5, self.global_target, self.ramp)

    def __call__(self, loss: torch.Tensor, progress: float) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(penalty, per-layer STE ones counts) for this step's loss."""
        ones = [q.ones(layer.weight) for layer, q in self.layers]
        if self.scope == "layer":
            ecs = [formulas.ec_ramp(progress, 0.5, e, self.ramp) for e in self.targets]
            return formulas.layer_ec_penalty(ones, self.totals, ecs, self.gamma, loss), ones
        total = torch.stack(ones).sum()
        return formulas.ec_penalty(total, sum(self.totals), self.target(progress), self.gamma, loss), ones
