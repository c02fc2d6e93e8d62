"""The quantizer formulas, one function each.

Training (the Brevitas quantizers), export (folding the trained latent weights into bits) and the tests
all call these functions, so a formula exists in exactly one place. Notation follows
../shared/methods.md: latent weights ``w``, weight bit ``b`` (b = 0 is the alpha level, the weight the
hardware skips), levels ``alpha`` (b = 0) and ``beta`` (b = 1), ``W_q = alpha + (beta - alpha) * b``.
Sparsity ``s`` is the fraction of bits equal to 0.
"""

from __future__ import annotations

import math

import torch

from sbnn.ir import structure as mask_structure

# The inverse of snap_levels (integer levels w0, w1 = w0 + 2**F and the scale of the snapped alpha, beta):
# one torch-free function, shared with the QONNX lowering.
from sbnn.ir.levels import integer_levels as integer_levels

#: |alpha / (beta - alpha)| is clamped here so that integer weight levels stay small in hardware
MAX_LEVEL_RATIO = 4.0


def sign_bits(x: torch.Tensor) -> torch.Tensor:
    """The sbnn sign convention for activations and bipolar weights: ``x >= 0`` is +1 (bit 1).

    It matches QONNX BipolarQuant and MultiThreshold (``>=``); note that ``torch.sign(0) == 0``.
    """
    return x >= 0


def positive_bits(w: torch.Tensor) -> torch.Tensor:
    """Weight bits of the learned {alpha, beta} domain: ``b = [w > 0]`` (w = 0 is the alpha level)."""
    return w > 0


def exact_count_bits(w: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Exactly ``round(sparsity * N)`` zeros: the smallest latent weights, ties broken by flat index.

    A stable sort makes the tie-break deterministic: of equal values, the one with the lower flat
    index gets the 0 bit.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    flat = w.detach().reshape(-1)
    zeros = int(round(sparsity * flat.numel()))
    bits = torch.ones(flat.numel(), dtype=torch.bool, device=w.device)
    if zeros:
        order = torch.sort(flat, stable=True).indices
        bits[order[:zeros]] = False
    return bits.reshape(w.shape)


def quantile_shift(w: torch.Tensor, sparsity: float) -> torch.Tensor:
    """The shift ``t`` after which ``w - t`` has exactly ``round(sparsity * N)`` entries <= 0 (for distinct
    values): midway between the two latent weights around the target quantile.

    Why: the learned {alpha, beta} domain sets ``b = [w > 0]``; PyTorch's symmetric initialisation starts it
    at ~50 % ones, and the EC penalty then has to pull every weight down for epochs, which costs accuracy
    in short trainings. Shifted once at initialisation, each layer starts at its target sparsity and the
    penalty only has to hold it.
    """
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    v = torch.sort(w.detach().reshape(-1)).values
    k = int(round(sparsity * v.numel()))
    if k == 0:
        return v[0] - 1.0
    if k == v.numel():
        return v[-1]
    return (v[k - 1] + v[k]) / 2


# --- structured exact-count masks (sbnn.ir.structure defines and checks them) -----------------------------
# Each works on a [M, K] matrix whose columns are in the IR's K order (the input order the hardware
# streams; the quantizer permutes conv/dense weights into it). Within each row or group the ones are the
# largest latent weights; of equal values the lower index gets the 0 bit, as in exact_count_bits.


def _ranks(x: torch.Tensor) -> torch.Tensor:
    """Rank of each entry along the last dim (0 = smallest; ties: lower index first)."""
    order = torch.sort(x, dim=-1, stable=True).indices
    ranks = torch.empty_like(order)
    ranks.scatter_(-1, order, torch.arange(x.shape[-1], device=x.device).expand_as(order).contiguous())
    return ranks


def _check_2d(w: torch.Tensor, sparsity: float | None = None) -> torch.Tensor:
    if w.dim() != 2:
        raise ValueError(f"structured masks take an [M, K] matrix in the IR's input order, got shape {tuple(w.shape)}")
    if sparsity is not None and not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    return w.detach()


def row_count_bits(w: torch.Tensor, sparsity: float) -> torch.Tensor:
    """``row``: every row of ``w`` [M, K] gets exactly ``round(sparsity * K)`` zeros, at its smallest weights."""
    w = _check_2d(w, sparsity)
    zeros = int(round(sparsity * w.shape[1]))
    return _ranks(w) >= zeros


def n_of_m_bits(w: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """``N:M``: in every group of ``m`` consecutive inputs of a row, the ``n`` largest weights are ones.

    A last group of ``t = K mod m`` inputs keeps ``min(n, t)`` ones (sbnn.ir.structure's tail rule): the
    row is padded with -inf, which always ranks lowest, so "rank >= m - n" is the rule for every group.
    """
    w = _check_2d(w)
    if m < 2 or not 1 <= n <= m:
        raise ValueError(f"N:M needs m >= 2 and 1 <= n <= m, got {n}:{m}")
    rows, k = w.shape
    groups = -(-k // m)
    padded = torch.full((rows, groups * m), float("-inf"), dtype=w.dtype, device=w.device)
    padded[:, :k] = w
    bits = _ranks(padded.reshape(rows, groups, m)) >= m - n
    return bits.reshape(rows, groups * m)[:, :k]


def block_bits(w: torch.Tensor, sparsity: float, block: int) -> torch.Tensor:
    """``block:B``: each row keeps its ``G - round(sparsity * G)`` blocks of ``block`` consecutive inputs with
    the largest mean weight (G = ceil(K / block); the last block may be shorter) and zeroes the others."""
    w = _check_2d(w, sparsity)
    if block < 1:
        raise ValueError(f"block size must be >= 1, got {block}")
    rows, k = w.shape
    groups = -(-k // block)
    padded = torch.zeros((rows, groups * block), dtype=w.dtype, device=w.device)
    padded[:, :k] = w
    lengths = torch.full((groups,), float(block), dtype=w.dtype, device=w.device)
    lengths[-1] = k - (groups - 1) * block
    means = padded.reshape(rows, groups, block).sum(dim=2) / lengths
    kept = _ranks(means) >= int(round(sparsity * groups))
    return kept.repeat_interleave(block, dim=1)[:, :k]


def structured_bits(w: torch.Tensor, sparsity: float, structure: str) -> torch.Tensor:
    """The mask of ``structure`` (``row``, ``N:M``, ``block:B``) for ``w`` [M, K] in the IR's input order.

    ``sparsity`` sets the count for row and block; an N:M mask's count is N per group (the caller checks
    that N:M and the layer's sparsity agree: sbnn.ir.structure.layer_structure).
    """
    st = mask_structure.parse(structure)
    if st.kind == "row":
        return row_count_bits(w, sparsity)
    if st.kind == "nm":
        order = mask_structure.group_order(w.shape[1], st)
        if order is None:
            return n_of_m_bits(w, st.n, st.size)
        idx = torch.from_numpy(order).to(w.device)
        out = torch.empty(w.shape, dtype=torch.bool, device=w.device)
        out[:, idx] = n_of_m_bits(w[:, idx], st.n, st.size)
        return out
    if st.kind == "block":
        return block_bits(w, sparsity, st.size)
    raise ValueError("structure 'none' has no per-row mask: use exact_count_bits")


def _masked_mean(w: torch.Tensor, mask: torch.Tensor, fallback: torch.Tensor) -> torch.Tensor:
    n = mask.sum()
    total = torch.where(mask, w, torch.zeros_like(w)).sum()
    return torch.where(n > 0, total / n.clamp(min=1), fallback)


def _exact_input(w: torch.Tensor) -> torch.Tensor:
    """The weights as float64 for the level statistics. Why: the levels' ratio is rounded to the hardware grid
    (:func:`snap_ratio`), and a float32 sum's rounding depends on the summation order, which depends on the
    number of threads: a ratio near the middle of two grid points then snaps one way in training and the
    other way in the export process, which exports a different network (seen: a Fashion-MNIST SFC layer at
    -7/64 in training, -8/64 after export, 84.4 % vs 77.5 %). In float64 the order changes the sum by
    ~1e-16 of its size, so the snapped ratio is the same in every process."""
    return w.detach().to(torch.float64)


def l2_levels(w: torch.Tensor, bits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """L2-optimal levels for a fixed assignment: alpha = mean(w | b=0), beta = mean(w | b=1).

    An empty level takes the other level's value (the layer is then constant). Computed in float64
    (:func:`_exact_input`).
    """
    w = _exact_input(w)
    mean = w.mean()
    alpha = _masked_mean(w, ~bits, mean)
    beta = _masked_mean(w, bits, mean)
    alpha = torch.where((~bits).any(), alpha, beta)
    beta = torch.where(bits.any(), beta, alpha)
    return alpha, beta


def moment_levels(w: torch.Tensor, bits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Levels that keep the mean and (population) std of ``w`` for the ones-rate ``p`` of ``bits``.

    ``alpha = mu - sigma * sqrt(p / (1 - p))``, ``beta = mu + sigma * sqrt((1 - p) / p)``; at p = 0.5
    this is the symmetric ``mu -+ sigma``. With p in {0, 1} both levels are ``mu``. Computed in float64.
    """
    w = _exact_input(w)
    mu = w.mean()
    sigma = w.std(unbiased=False)
    p = bits.to(w.dtype).mean()
    if p <= 0 or p >= 1:
        return mu, mu
    return mu - sigma * torch.sqrt(p / (1 - p)), mu + sigma * torch.sqrt((1 - p) / p)


def zero_alpha_levels(w: torch.Tensor, bits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The {0, beta} domain of the predecessor paper: alpha = 0, beta L2-optimal given alpha = 0 (float64)."""
    w = _exact_input(w)
    beta = _masked_mean(w, bits, torch.zeros((), dtype=w.dtype, device=w.device))
    return torch.zeros_like(beta), beta


LEVELS = {"l2": l2_levels, "moment": moment_levels, "zero": zero_alpha_levels}


def snap_ratio(ratio: torch.Tensor, level_bits: int) -> torch.Tensor:
    """Round ``alpha / (beta - alpha)`` to the grid ``2**-level_bits`` (clamped to +-MAX_LEVEL_RATIO).

    With the ratio on that grid, ``W_q = (beta - alpha) / 2**F * (R + 2**F * b)`` for an integer R:
    the layer is exactly an integer-weight layer with levels {R, R + 2**F}, which is what the
    hardware evaluates (``acc = R * S + 2**F * P``). The gradient passes straight through.
    """
    q = 2.0**level_bits
    r = ratio.clamp(-MAX_LEVEL_RATIO, MAX_LEVEL_RATIO)
    return r + (torch.round(r * q) / q - r).detach()


def snap_levels(alpha: torch.Tensor, beta: torch.Tensor, level_bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Move both levels by the same amount so that their ratio lies on the hardware grid.

    ``beta - alpha`` is kept; each level moves by at most ``(beta - alpha) / 2**(F + 1)`` (unless the
    ratio clamp applies). Equal levels (a constant layer) are returned unchanged.
    """
    d = beta - alpha
    if float(d) == 0.0:
        return alpha, beta
    r = snap_ratio(alpha / d, level_bits)
    return r * d, (r + 1) * d


def ec_penalty(ones: torch.Tensor, total: int, ec: float, gamma: float, loss: torch.Tensor) -> torch.Tensor:
    """The soft "expected connections" penalty of the official SBNN code (methods.md 1.4).

    ``h = relu(ones / total - ec)`` (0 when ``ec == 0.5``); ``lam = gamma * L / (h * (1 - gamma))`` under
    no_grad when ``h > 1e-4``; the penalty is ``lam * h``: its value is ``gamma / (1 - gamma) * L`` and
    its gradient reaches every latent weight equally (``lam * 0.5 / total`` through the STE count).
    """
    if ec == 0.5:
        return torch.zeros((), dtype=loss.dtype, device=loss.device)
    h = torch.relu(ones / total - ec)
    with torch.no_grad():
        lam = gamma * loss.detach() / (h.detach() * (1 - gamma)) if float(h.detach()) > 1e-4 else torch.zeros_like(loss)
    return lam * h


#: the official CIFAR-10 (EC, gamma) grid (READme.txt, methods.md 1.4), ordered by EC
OFFICIAL_EC_GAMMA = ((0.01, 0.10), (0.02, 0.08), (0.03, 0.08), (0.04, 0.07), (0.05, 0.07), (0.10, 0.04),
                     (0.25, 0.02), (0.50, 0.0))


def official_ec_gamma(ec: float) -> float:
    """The penalty strength the official code pairs with a target ones-rate ``ec``: its CIFAR-10 grid,
    linear in between, the end values outside (EC >= 0.5 has no penalty at all)."""
    xs, ys = zip(*OFFICIAL_EC_GAMMA)
    if ec <= xs[0]:
        return ys[0]
    if ec >= xs[-1]:
        return ys[-1]
    exact = dict(OFFICIAL_EC_GAMMA).get(ec)
    if exact is not None:
        return exact
    for (x0, y0), (x1, y1) in zip(OFFICIAL_EC_GAMMA, OFFICIAL_EC_GAMMA[1:]):
        if x0 < ec < x1:
            return y0 + (y1 - y0) * (ec - x0) / (x1 - x0)
    raise AssertionError("unreachable")


def ec_ramp(progress: float, start: float, target: float, ramp: float) -> float:
    """The EC target after ``progress`` epochs: linear from ``start`` to ``target`` over ``ramp`` epochs.

    Why: imposing a 10 % ones-rate at once on a network that starts at ~50 % makes the penalty push every
    latent weight down in the first few hundred steps, faster than the loss can choose which bits to keep;
    a ramp lets the loss gradient rank the weights while the count comes down (ramp 0: the target at once).
    """
    if ramp <= 0 or progress >= ramp:
        return target
    return start + (target - start) * max(0.0, progress) / ramp


def layer_ec_penalty(ones: list[torch.Tensor], totals: list[int], ecs: list[float], gamma: float,
                     loss: torch.Tensor) -> torch.Tensor:
    """The EC penalty per layer: each layer's ones-rate against its own target, weighted by its share of
    the weights, ``sum_l N_l / N * ec_penalty(ones_l, N_l, ec_l)``.

    Why: the official penalty constrains the ones-rate pooled over all layers, so the loss is free to keep
    one layer dense and empty another; per-layer targets (the closed form's per-layer counts) forbid that.
    """
    n = sum(totals)
    terms = [ec_penalty(o, t, e, gamma, loss) * (t / n) for o, t, e in zip(ones, totals, ecs)]
    return torch.stack(terms).sum()


def phi_for_ratio(tau: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    """The phi of the learned domain whose levels ``phi -+ tau`` have ``alpha / (beta - alpha) = ratio``.

    ``alpha = phi - tau`` and ``beta - alpha = 2 tau`` give ``phi = tau (1 + 2 ratio)``; ratio -1/2 is the
    symmetric BNN (phi = 0).
    """
    return tau * (1 + 2 * ratio)


def allocate_zeros(zeros: list[int], sizes: list[int], total: int) -> list[int]:
    """Per-layer zero counts summing to ``total``, each as close to the layer's ``zeros`` as the total allows.

    The difference ``total - sum(zeros)`` is spread over the layers in proportion to their sizes (largest
    remainder rounding), every count kept within ``[0, size]``. Why: the learned domain decides how
    sparse each layer becomes under a pooled target; the final projection makes the network's count exact
    without undoing that allocation.
    """
    if not 0 <= total <= sum(sizes):
        raise ValueError(f"total {total} outside [0, {sum(sizes)}]")
    counts = [min(max(int(z), 0), n) for z, n in zip(zeros, sizes)]
    while (diff := total - sum(counts)) != 0:
        free = [i for i, (c, n) in enumerate(zip(counts, sizes)) if (c < n if diff > 0 else c > 0)]
        room = sum(sizes[i] for i in free)
        share = [diff * sizes[i] / room for i in free]
        step = [int(math.floor(x)) if diff > 0 else int(math.ceil(x)) for x in share]
        left = diff - sum(step)
        order = sorted(range(len(free)), key=lambda j: -abs(share[j] - step[j]))
        for j in order[: abs(left)]:
            step[j] += 1 if left > 0 else -1
        for i, d in zip(free, step):
            counts[i] = min(max(counts[i] + d, 0), sizes[i])
    return counts


def ede_schedule(epoch: int, epochs: int, t_min: float, t_max: float) -> tuple[float, float]:
    """IR-Net's annealed EDE: ``t`` grows log-linearly from t_min to t_max; ``k = max(1 / t, 1)``."""
    frac = epoch / max(1, epochs)
    t = 10 ** (math.log10(t_min) + (math.log10(t_max) - math.log10(t_min)) * frac)
    return max(1.0 / t, 1.0), t


def wsd_shift(w: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """SD-BNN weight self-distribution: ``w + sigmoid(alpha_c) * 0.01 * mean_c(w)`` (mean detached).

    ``alpha`` has one entry per output channel (dim 0 of ``w``); the shift moves each channel's sign
    threshold by at most 1 % of its mean.
    """
    dims = tuple(range(1, w.dim()))
    m = 0.01 * w.detach().mean(dim=dims, keepdim=True)
    shape = (-1,) + (1,) * (w.dim() - 1)
    return w + torch.sigmoid(alpha).reshape(shape) * m
