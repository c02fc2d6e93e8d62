"""Folding real-valued affine maps followed by a sign into integer thresholds.

Every binarized activation in sbnn is ``bit = [a * acc + b >= 0]`` for an integer accumulator ``acc``
and per-channel reals ``a, b`` (BatchNorm, static activation shifts, biases and the layer's weight
scale all compose into one such affine map). Hardware cannot evaluate reals, so the map is folded into
one integer threshold and a compare direction per channel. This module is the single place where that
folding happens: the PyTorch deploy model, the QONNX lowering and the tests all call it.

Semantics: the folded comparison equals ``a * acc + b >= 0`` evaluated in float64 for every integer
``acc`` in ``[-bound, bound]``. The float32 training model can differ only where ``a * acc + b`` lies
within float32 rounding of zero; those inputs are reported as ties by the verification steps.
"""

from __future__ import annotations

import numpy as np

from sbnn.errors import IRError

#: direction codes stored in the IR
UP = 1  # bit = [acc >= thr]
DOWN = -1  # bit = [acc <= thr]


def batchnorm_affine(
    gamma: np.ndarray, beta: np.ndarray, mean: np.ndarray, var: np.ndarray, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """BatchNorm in inference mode as ``z = a * y + b`` (float64)."""
    gamma, beta, mean, var = (np.asarray(v, dtype=np.float64) for v in (gamma, beta, mean, var))
    sd = np.sqrt(var + float(eps))
    a = gamma / sd
    return a, beta - a * mean


def compose_affine(
    outer: tuple[np.ndarray, np.ndarray], inner: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """``outer(inner(y))`` for affine maps given as ``(a, b)`` pairs (broadcasting, float64)."""
    a2, b2 = (np.asarray(v, dtype=np.float64) for v in outer)
    a1, b1 = (np.asarray(v, dtype=np.float64) for v in inner)
    return a2 * a1, a2 * b1 + b2


def fold_threshold(a: np.ndarray, b: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer thresholds and directions equivalent to ``[a * acc + b >= 0]`` on ``|acc| <= bound``.

    Constant channels (``a == 0``, or a threshold outside the reachable range) are canonicalised to
    ``UP`` with ``thr = -bound`` (always 1) or ``thr = bound + 1`` (always 0), so the stored thresholds
    never need more bits than the accumulator itself.
    """
    a = np.atleast_1d(np.asarray(a, dtype=np.float64))
    b = np.atleast_1d(np.asarray(b, dtype=np.float64))
    a, b = np.broadcast_arrays(a, b)
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise IRError("cannot fold a threshold: the affine map has non-finite coefficients (NaN/inf in BatchNorm or scales)")
    bound = int(bound)
    thr = np.empty(a.shape, dtype=np.int64)
    direction = np.full(a.shape, UP, dtype=np.int8)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(a != 0, -b / np.where(a != 0, a, 1.0), 0.0)
    ratio = np.clip(ratio, -bound - 2.0, bound + 2.0)

    pos = a > 0
    if np.any(pos):
        # smallest integer t with a*t + b >= 0, checked exactly around the rounded ratio
        t = np.ceil(ratio[pos]).astype(np.int64)
        t = np.where(a[pos] * (t - 1) + b[pos] >= 0, t - 1, t)
        t = np.where(a[pos] * t + b[pos] >= 0, t, t + 1)
        thr[pos] = np.clip(t, -bound, bound + 1)
    neg = a < 0
    if np.any(neg):
        # largest integer t with a*t + b >= 0 (a < 0: the set is acc <= t)
        t = np.floor(ratio[neg]).astype(np.int64)
        t = np.where(a[neg] * (t + 1) + b[neg] >= 0, t + 1, t)
        t = np.where(a[neg] * t + b[neg] >= 0, t, t - 1)
        tn = np.clip(t, -bound - 1, bound)
        always = tn >= bound
        never = tn < -bound
        d = np.full(tn.shape, DOWN, dtype=np.int8)
        d[always | never] = UP
        tn = np.where(always, -bound, np.where(never, bound + 1, tn))
        thr[neg] = tn
        direction[neg] = d
    zero = a == 0
    if np.any(zero):
        thr[zero] = np.where(b[zero] >= 0, -bound, bound + 1)
    return thr, direction


def apply_threshold(acc: np.ndarray, thr: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Reference evaluation of folded thresholds on integer accumulators (channels last)."""
    return np.where(direction > 0, acc >= thr, acc <= thr)
