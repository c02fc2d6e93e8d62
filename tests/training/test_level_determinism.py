"""The closed form's levels do not depend on the summation order: training, export and every process snap the
level ratio to the same grid point (a float32 sum's rounding depends on the thread count; a ratio near the middle
of two grid points then snapped differently in the training and the export process, which exported another
network)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sbnn.training import formulas


@pytest.mark.parametrize("rule", ["l2", "moment", "zero"])
def test_levels_are_float64_statistics_unchanged_by_a_permutation(rule):
    g = torch.Generator().manual_seed(3)
    w = torch.randn(64, 784, generator=g) * 0.05
    bits = formulas.n_of_m_bits(w, 1, 8)
    perm = torch.randperm(784, generator=g)
    a1, b1 = formulas.LEVELS[rule](w, bits)
    a2, b2 = formulas.LEVELS[rule](w[:, perm], bits[:, perm])
    assert a1.dtype == torch.float64 and b1.dtype == torch.float64
    assert abs(float(a1) - float(a2)) <= 1e-15 and abs(float(b1) - float(b2)) <= 1e-15
    if rule == "l2":  # the exact means (math.fsum: correctly rounded, order-free) to float64 precision
        wn, bn = w.double().numpy(), bits.numpy()
        assert float(b1) == pytest.approx(math.fsum(wn[bn]) / bn.sum(), rel=1e-13)
        assert float(a1) == pytest.approx(math.fsum(wn[~bn]) / (~bn).sum(), rel=1e-13)


def test_the_quantizer_snaps_alike_under_any_summation_order():
    from sbnn.training.quantizers import ClosedFormWeightQuant

    q = ClosedFormWeightQuant("clipped", 0.875, "l2", 6, structure="1:8")
    rng = np.random.default_rng(0)
    w = torch.from_numpy(rng.normal(0, 0.05, (32, 256)).astype(np.float32))
    levels = {tuple(float(v) for v in q.levels(w))}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        levels.add(tuple(float(v) for v in q.levels(w.clone())))
    assert len(levels) == 1
    alpha, beta = next(iter(levels))
    ratio = alpha / (beta - alpha)
    assert abs(ratio * 64 - round(ratio * 64)) < 1e-5  # on the 2^-6 grid
