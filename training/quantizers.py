"""Brevitas quantizers for the sparse-binary methods.

Each method is a Brevitas ``tensor_quant`` module (returning ``(value, scale, zero_point, bit_width)``)
wrapped in an injector, so it plugs into ``brevitas.nn.QuantLinear`` / ``QuantConv2d`` like any
built-in quantizer. The arithmetic comes from :mod:`sbnn.training.formulas`; this module only wires it
into Brevitas and chooses the straight-through estimator. Every weight quantizer also exposes
``bits(w)`` and ``levels(w)``, which export uses to read the trained weights back exactly.

Methods:

* ``bnn``: ``sign(w)`` in {-1, +1}, no scaling (the dense baseline).
* ``ab-closed``: the {alpha, beta} domain with the closed form for a target sparsity: exactly
  ``round(s N)`` zero bits, levels by L2 or moment matching (or alpha = 0), recomputed every step.
* ``ab-learned``: the official code's learned domain ``tau * (2b - 1) + phi`` with ``b = [w > 0]``;
  sparsity comes from the EC penalty in the training loop (:mod:`sbnn.training.learned`).
* ``ab-learned-tuned``: the same quantizer with sbnn's training options (start at the target, closed-form
  level ratio, a final epoch on the closed form's exact-count mask); docs/learned-ab.md.
* ``sd-bnn``: SD-BNN's weight self-distribution (per-channel learnable shift before the sign).

All {alpha, beta} levels are snapped so that ``alpha / (beta - alpha)`` is on a ``2**-level_bits``
grid (:func:`formulas.snap_ratio`): the trained layer is then exactly an integer-weight layer.
"""

from __future__ import annotations

import torch
from brevitas.inject import ExtendedInjector
from brevitas.quant.solver import ActQuantSolver, WeightQuantSolver
from torch import nn

from sbnn.ir import structure as mask_structure
from sbnn.training import formulas
from sbnn.training.ste import StePolicy, sign_ste, ste_grad


def _meta(scale: torch.Tensor, zero_point: torch.Tensor):
    one = torch.ones((), dtype=scale.dtype, device=scale.device)
    return scale.detach().reshape(()), zero_point.detach().reshape(()), one


class _ValueSTE(torch.autograd.Function):
    """Returns the precomputed quantized value; the gradient reaches the latent weight via the STE."""

    @staticmethod
    def forward(ctx, w, q, policy):
        ctx.save_for_backward(w)
        ctx.policy = policy
        return q

    @staticmethod
    def backward(ctx, grad):
        (w,) = ctx.saved_tensors
        p = ctx.policy
        return grad * ste_grad(w, p.mode, p.k, p.t), None, None


class _PerStepCache:
    """Holds what a quantizer derived from the latent weights until those weights change.

    The key is the weight tensor's storage and its autograd version counter, which every in-place update
    bumps (the optimizer step, the trainer's clamp, ``load_state_dict``): in training the value is computed
    once per optimizer step (the one forward of the step), in evaluation once for all batches, instead of
    sorting the weights on every forward. The cache keeps a reference to the tensor it was computed from,
    so its storage cannot be freed and reused by another tensor at the same address. Updates through
    ``w.data`` bypass the counter; sbnn makes none.
    """

    def __init__(self):
        self.ref: torch.Tensor | None = None
        self.key = None
        self.value = None

    def __deepcopy__(self, memo):  # a copied module starts empty (its weights are other tensors)
        return _PerStepCache()

    def __getstate__(self):  # pickled modules (torch.save of a whole model) carry no cache
        return {"ref": None, "key": None, "value": None}

    def get(self, w: torch.Tensor, compute):
        key = (w.data_ptr(), w._version, w.shape, w.stride(), w.dtype, w.device)
        if self.ref is None or key != self.key:
            self.value = compute()
            self.ref, self.key = w, key
        return self.value


class BipolarWeightQuant(nn.Module):
    """Plain BNN weights: sign(w) in {-1, +1}."""

    level_bits = 1

    def __init__(self, ste_mode: str):
        super().__init__()
        self.ste = StePolicy(ste_mode)

    def bits(self, w: torch.Tensor) -> torch.Tensor:
        return formulas.sign_bits(w)

    def levels(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        one = torch.ones((), dtype=w.dtype, device=w.device)
        return -one, one

    def forward(self, w: torch.Tensor):
        y = self.ste.sign(w)
        one = torch.ones((), dtype=w.dtype, device=w.device)
        return (y, *_meta(one, torch.zeros_like(one)))


class WSDWeightQuant(BipolarWeightQuant):
    """SD-BNN: sign(w + sigmoid(alpha_c) * 0.01 * mean_c(w)); alpha_c learnable, initialised to 0."""

    def __init__(self, ste_mode: str, out_channels: int):
        super().__init__(ste_mode)
        self.wsd_alpha = nn.Parameter(torch.zeros(int(out_channels)))

    def shifted(self, w: torch.Tensor) -> torch.Tensor:
        return formulas.wsd_shift(w, self.wsd_alpha)

    def bits(self, w: torch.Tensor) -> torch.Tensor:
        return formulas.sign_bits(self.shifted(w))

    def forward(self, w: torch.Tensor):
        y = self.ste.sign(self.shifted(w))
        one = torch.ones((), dtype=w.dtype, device=w.device)
        return (y, *_meta(one, torch.zeros_like(one)))


class ClosedFormWeightQuant(nn.Module):
    """{alpha, beta} with exactly round(s N) zero bits and closed-form levels (methods.md 1.3)."""

    def __init__(self, ste_mode: str, sparsity: float, levels: str, level_bits: int, structure: str = "none",
                 in_map: tuple[int, int, int] | None = None):
        super().__init__()
        if levels not in formulas.LEVELS:
            raise ValueError(f"unknown levels {levels!r}; choose one of {', '.join(formulas.LEVELS)}")
        self.ste = StePolicy(ste_mode)
        self.sparsity = float(sparsity)
        self.level_rule = levels
        self.level_bits = int(level_bits)
        self._cache = _PerStepCache()
        #: this layer's mask structure (sbnn.ir.structure; N:M already has this layer's N)
        self.structure = mask_structure.layer_structure(structure, self.sparsity)
        #: (C, H, W) of the map a dense layer reads, to order its inputs as the IR does; None = flat input
        self.in_map = tuple(int(v) for v in in_map) if in_map is not None else None

    def ir_index(self, w: torch.Tensor) -> torch.Tensor | None:
        """Columns of ``w.reshape(M, -1)`` in the IR's input order ((ky, kx, c) / (h, w, c)); None = as is."""
        if w.dim() == 4:
            c, kh, kw = w.shape[1:]
            idx = mask_structure.channels_first_index(kh, kw, c)
        elif self.in_map is not None and self.in_map[0] > 1:
            c, h, wd = self.in_map
            idx = mask_structure.channels_first_index(h, wd, c)
        else:
            return None
        return torch.from_numpy(idx).to(w.device)

    def bits(self, w: torch.Tensor) -> torch.Tensor:
        if self.structure == "none":
            return formulas.exact_count_bits(w, self.sparsity)
        w2 = w.detach().reshape(w.shape[0], -1)
        idx = self.ir_index(w)
        ir_bits = formulas.structured_bits(w2 if idx is None else w2[:, idx], self.sparsity, self.structure)
        if idx is None:
            return ir_bits.reshape(w.shape)
        out = torch.empty_like(ir_bits)
        out[:, idx] = ir_bits
        return out.reshape(w.shape)

    def levels(self, w: torch.Tensor, bits: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        bits = self.bits(w) if bits is None else bits
        alpha, beta = formulas.LEVELS[self.level_rule](w, bits)  # float64: snapped alike in every process
        if self.level_rule != "zero":  # {0, beta}: ratio 0 is on every grid
            alpha, beta = formulas.snap_levels(alpha, beta, self.level_bits)
        return alpha.to(w.dtype), beta.to(w.dtype)

    def _quantized(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            bits = self.bits(w)
            alpha, beta = self.levels(w, bits)
            return torch.where(bits, beta, alpha).to(w.dtype), alpha, beta

    def forward(self, w: torch.Tensor):
        q, alpha, beta = self._cache.get(w, lambda: self._quantized(w))
        y = _ValueSTE.apply(w, q, self.ste)
        d = beta - alpha
        d_safe = torch.where(d == 0, torch.ones_like(d), d)
        return (y, *_meta(d_safe, -alpha / d_safe))


class LearnedWeightQuant(nn.Module):
    """The official code's learned domain: W_q = tau * (2b - 1) + phi, b = [w > 0], tau/phi learned.

    With ``exact`` set (the trainer's final projection phase, ``quant.project_epochs``) the bits are the
    closed form's mask instead, exactly ``round(s N)`` zeros at the smallest latent weights; the levels
    stay learned.
    """

    def __init__(self, ste_mode: str, sparsity: float, level_bits: int):
        super().__init__()
        self.ste = StePolicy(ste_mode)
        self.level_bits = int(level_bits)
        #: the layer's target fraction of zero bits (its share of the EC target; used to initialise w)
        self.sparsity = float(sparsity)
        self.tau = nn.Parameter(torch.tensor(1.0))
        self.phi = nn.Parameter(torch.tensor(0.0))
        #: bits by exact count (the projection phase) instead of [w > 0]
        self.exact = False
        self._cache = _PerStepCache()

    def bits(self, w: torch.Tensor) -> torch.Tensor:
        if self.exact:
            return formulas.exact_count_bits(w, self.sparsity)
        return formulas.positive_bits(w)

    def _ratio(self) -> tuple[torch.Tensor, torch.Tensor]:
        d = 2 * self.tau
        d = torch.where(d.abs() < 1e-8, torch.full_like(d, 1e-8), d)
        return d, formulas.snap_ratio((self.phi - self.tau) / d, self.level_bits)

    def levels(self, w: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        d, r = self._ratio()
        return r * d, (r + 1) * d

    def ones(self, w: torch.Tensor) -> torch.Tensor:
        """Number of b = 1 weights with an identity STE: the quantity the EC penalty constrains."""
        return 0.5 * (self.ste_count(w) + 1).sum()

    @staticmethod
    def ste_count(w: torch.Tensor) -> torch.Tensor:
        return sign_ste(w, "identity", strict=True)

    def forward(self, w: torch.Tensor):
        if self.exact:
            signs = self._cache.get(w, lambda: self.bits(w).to(w.dtype) * 2 - 1)
            s = _ValueSTE.apply(w, signs, self.ste)
        else:
            s = self.ste.sign(w, strict=True)
        d, r = self._ratio()
        y = d * ((s + 1) / 2 + r)
        return (y, *_meta(d, -r))


class SignActQuant(nn.Module):
    """Binary activations in {-1, +1} (``x >= 0`` -> +1) with a selectable STE; scale 1."""

    def __init__(self, ste_mode: str):
        super().__init__()
        self.ste = StePolicy(ste_mode)

    def forward(self, x: torch.Tensor):
        y = self.ste.sign(x)
        one = torch.ones((), dtype=x.dtype, device=x.device)
        return (y, *_meta(one, torch.zeros_like(one)))


class _Binary(ExtendedInjector):
    bit_width = 1
    narrow_range = False
    ste_mode = "clipped"
    level_bits = 6


class BipolarWeight(_Binary, WeightQuantSolver):
    tensor_quant = BipolarWeightQuant
    signed = True


class WSDWeight(_Binary, WeightQuantSolver):
    tensor_quant = WSDWeightQuant
    signed = True


class ClosedFormWeight(_Binary, WeightQuantSolver):
    tensor_quant = ClosedFormWeightQuant
    signed = False
    sparsity = 0.9
    levels = "l2"
    structure = "none"
    in_map = None


class LearnedWeight(_Binary, WeightQuantSolver):
    tensor_quant = LearnedWeightQuant
    signed = False
    sparsity = 0.9


class SignAct(_Binary, ActQuantSolver):
    tensor_quant = SignActQuant
    signed = True
    min_val = -1.0
    max_val = 1.0


WEIGHT_QUANTS = {"bnn": BipolarWeight, "sd-bnn": WSDWeight, "ab-closed": ClosedFormWeight, "ab-learned": LearnedWeight,
                 "ab-learned-tuned": LearnedWeight}
