"""Each quantizer formula against its defining property (methods.md section 4)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from sbnn.training import formulas as F

shapes = st.sampled_from([(7,), (3, 5), (4, 3, 3, 3), (16, 64), (2, 2, 1, 1)])
sparsities = st.floats(min_value=0.0, max_value=0.99, allow_nan=False)


def latent(shape, seed, ties=False):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(shape, generator=g) * 0.05
    if ties:  # few distinct values -> many ties
        w = torch.round(w * 40) / 40
    return w


@given(shape=shapes, s=sparsities, seed=st.integers(0, 10_000), ties=st.booleans())
def test_exact_count_gives_round_sN_zeros_at_the_smallest_weights(shape, s, seed, ties):
    w = latent(shape, seed, ties)
    bits = F.exact_count_bits(w, s)
    n = w.numel()
    assert int((~bits).sum()) == round(s * n)
    if bits.any() and (~bits).any():
        assert float(w[~bits].max()) <= float(w[bits].min())


@given(s=sparsities, seed=st.integers(0, 1000))
def test_exact_count_tie_break_is_by_flat_index(s, seed):
    w = torch.zeros(6, 5)  # all tied
    bits = F.exact_count_bits(w, s).reshape(-1)
    zeros = round(s * 30)
    assert (~bits[:zeros]).all() and bits[zeros:].all()
    assert torch.equal(F.exact_count_bits(latent((6, 5), seed), s), F.exact_count_bits(latent((6, 5), seed), s))


@pytest.mark.parametrize("s", [-0.1, 1.0, 1.5])
def test_exact_count_rejects_sparsity_outside_unit_interval(s):
    with pytest.raises(ValueError):
        F.exact_count_bits(torch.randn(10), s)


@given(shape=shapes, s=st.floats(0.05, 0.95), seed=st.integers(0, 10_000))
def test_l2_levels_are_the_least_squares_optimum(shape, s, seed):
    w = latent(shape, seed).double()
    bits = F.exact_count_bits(w, s)
    if bits.all() or not bits.any():
        return
    a, b = F.l2_levels(w, bits)
    assert torch.isclose(a, w[~bits].mean()) and torch.isclose(b, w[bits].mean())

    def err(a_, b_):
        return float(((w - torch.where(bits, b_, a_)) ** 2).sum())

    best = err(a, b)
    for da, db in [(0.01, 0), (-0.01, 0), (0, 0.01), (0, -0.01)]:
        assert err(a + da, b + db) > best


@given(shape=shapes, s=st.floats(0.05, 0.95), seed=st.integers(0, 10_000))
def test_moment_levels_keep_mean_and_population_std(shape, s, seed):
    w = latent(shape, seed).double()
    bits = F.exact_count_bits(w, s)
    if bits.all() or not bits.any():
        return
    a, b = F.moment_levels(w, bits)
    wq = torch.where(bits, b, a)
    assert torch.isclose(wq.mean(), w.mean(), atol=1e-12)
    assert torch.isclose(wq.std(unbiased=False), w.std(unbiased=False), rtol=1e-9)


def test_moment_levels_at_half_are_mean_plus_minus_std():
    w = latent((64, 64), 3).double()
    bits = F.exact_count_bits(w, 0.5)
    a, b = F.moment_levels(w, bits)
    mu, sd = w.mean(), w.std(unbiased=False)
    assert torch.isclose(a, mu - sd) and torch.isclose(b, mu + sd)


def test_zero_alpha_levels_are_zero_and_the_conditional_mean():
    w = latent((32, 32), 4)
    bits = F.exact_count_bits(w, 0.8)
    a, b = F.zero_alpha_levels(w, bits)
    assert float(a) == 0.0 and torch.isclose(b, w[bits].double().mean())  # float64 statistics


def test_degenerate_assignments_give_a_constant_layer():
    w = latent((10,), 1)
    ones = torch.ones(10, dtype=torch.bool)
    for rule in (F.l2_levels, F.moment_levels):
        a, b = rule(w, ones)
        assert torch.isclose(a, b)


@given(a=st.floats(-1, 1), d=st.floats(0.001, 2), bits=st.integers(1, 8))
def test_snap_levels_puts_the_ratio_on_the_grid_and_keeps_the_gap(a, d, bits):
    alpha, beta = torch.tensor(a, dtype=torch.float64), torch.tensor(a + d, dtype=torch.float64)
    a2, b2 = F.snap_levels(alpha, beta, bits)
    assert torch.isclose(b2 - a2, beta - alpha)
    r = float(a2 / (b2 - a2)) * 2**bits
    assert abs(r - round(r)) < 1e-6
    if abs(a / d) <= F.MAX_LEVEL_RATIO:
        assert abs(float(a2) - a) <= d / 2 ** (bits + 1) + 1e-12
    w0, w1, scale = F.integer_levels(float(a2), float(b2), bits)
    assert w1 - w0 in [2**i for i in range(bits + 1)]
    assert math.isclose(w0 * scale, float(a2), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(w1 * scale, float(b2), rel_tol=1e-9, abs_tol=1e-12)


def test_integer_levels_refuses_unsnapped_levels():
    with pytest.raises(ValueError):
        F.integer_levels(0.1234567, 0.5, 4)


def test_ec_penalty_value_and_uniform_gradient():
    torch.manual_seed(0)
    w = torch.randn(50, 40, requires_grad=True)
    loss = torch.tensor(0.7)
    ones = 0.5 * (torch.where(w > 0, 1.0, -1.0) + (w - w.detach()) + 1).sum()  # identity-STE count
    n = w.numel()
    ec, gamma = 0.1, 0.3
    pen = F.ec_penalty(ones, n, ec, gamma, loss)
    h = float(ones.detach()) / n - ec
    assert h > 1e-4
    assert math.isclose(float(pen.detach()), gamma / (1 - gamma) * 0.7, rel_tol=1e-5)
    pen.backward()
    lam = gamma * 0.7 / (h * (1 - gamma))
    assert torch.allclose(w.grad, torch.full_like(w, lam * 0.5 / n), rtol=1e-4)


def test_ec_penalty_is_zero_at_or_below_the_target_and_at_half():
    w = torch.randn(100)
    ones = torch.tensor(5.0)
    assert float(F.ec_penalty(ones, 100, 0.1, 0.5, torch.tensor(1.0))) == 0.0
    assert float(F.ec_penalty(torch.tensor(90.0), 100, 0.5, 0.5, torch.tensor(1.0))) == 0.0
    assert w.numel() == 100


def test_ede_schedule_anneals_t_log_linearly_with_k_max_inv_t():
    k0, t0 = F.ede_schedule(0, 100, 0.1, 10)
    k1, t1 = F.ede_schedule(100, 100, 0.1, 10)
    km, tm = F.ede_schedule(50, 100, 0.1, 10)
    assert math.isclose(t0, 0.1) and math.isclose(k0, 10)
    assert math.isclose(t1, 10) and k1 == 1.0
    assert math.isclose(tm, 1.0) and km == 1.0


@given(c=st.integers(1, 8), k=st.integers(1, 20), seed=st.integers(0, 1000))
def test_wsd_shift_is_per_channel_and_bounded_by_one_percent_of_the_mean(c, k, seed):
    w = latent((c, k), seed).double()
    alpha = torch.zeros(c, dtype=torch.float64)
    shifted = F.wsd_shift(w, alpha)
    assert torch.allclose(shifted - w, 0.005 * w.mean(dim=1, keepdim=True), rtol=1e-9, atol=1e-15)
    big = F.wsd_shift(w, torch.full((c,), 50.0, dtype=torch.float64))
    assert torch.allclose(big - w, 0.01 * w.mean(dim=1, keepdim=True), rtol=1e-9, atol=1e-15)


def test_sign_convention_at_zero():
    x = torch.tensor([-1.0, 0.0, 1.0])
    assert F.sign_bits(x).tolist() == [False, True, True]
    assert F.positive_bits(x).tolist() == [False, False, True]
    assert torch.sign(torch.tensor(0.0)) == 0  # why sbnn never uses torch.sign


def test_formulas_match_numpy_reference_on_a_large_layer():
    rng = np.random.default_rng(0)
    w = rng.normal(0, 0.05, size=(256, 784))
    bits = F.exact_count_bits(torch.from_numpy(w), 0.9).numpy()
    thr = np.sort(w.reshape(-1))[round(0.9 * w.size) - 1]
    assert (bits == (w > thr)).all()


@given(shape=shapes, s=st.floats(0.0, 0.99), seed=st.integers(0, 10_000))
def test_quantile_shift_leaves_round_sN_weights_at_or_below_zero(shape, s, seed):
    w = latent(shape, seed).double()  # continuous values: no ties
    t = F.quantile_shift(w, s)
    assert int((~F.positive_bits(w - t)).sum()) == round(s * w.numel())


def test_official_ec_gamma_is_the_grid_and_linear_between():
    for ec, gamma in F.OFFICIAL_EC_GAMMA:
        assert F.official_ec_gamma(ec) == gamma
    assert math.isclose(F.official_ec_gamma(0.175), 0.03)  # midway between (0.10, 0.04) and (0.25, 0.02)
    assert F.official_ec_gamma(0.005) == 0.10 and F.official_ec_gamma(0.8) == 0.0


@given(start=st.floats(0.1, 0.9), target=st.floats(0.01, 0.9), ramp=st.floats(0.5, 10), p=st.floats(0, 20))
def test_ec_ramp_is_linear_from_start_to_target(start, target, ramp, p):
    e = F.ec_ramp(p, start, target, ramp)
    assert F.ec_ramp(0.0, start, target, ramp) == start and F.ec_ramp(ramp, start, target, ramp) == target
    assert min(start, target) - 1e-12 <= e <= max(start, target) + 1e-12
    if p < ramp:
        assert math.isclose(e, start + (target - start) * p / ramp, rel_tol=1e-9, abs_tol=1e-12)
    assert F.ec_ramp(p, start, target, 0.0) == target


def test_layer_ec_penalty_is_the_count_weighted_sum_and_reaches_each_layer():
    torch.manual_seed(1)
    ws = [torch.randn(n, requires_grad=True) for n in (300, 100)]
    ones = [0.5 * (torch.where(w > 0, 1.0, -1.0) + (w - w.detach()) + 1).sum() for w in ws]
    loss, gamma = torch.tensor(0.9), 0.2
    pen = F.layer_ec_penalty(ones, [300, 100], [0.1, 0.6], gamma, loss)
    # only the first layer is above its target (~50 % ones > 10 %); its share of the weights is 3/4
    assert math.isclose(float(pen.detach()), gamma / (1 - gamma) * 0.9 * 0.75, rel_tol=1e-5)
    pen.backward()
    assert float(ws[0].grad.abs().min()) > 0
    assert ws[1].grad is None or float(ws[1].grad.abs().max()) == 0.0


@given(tau=st.floats(0.01, 3), ratio=st.floats(-4, 4))
def test_phi_for_ratio_gives_the_level_ratio(tau, ratio):
    t = torch.tensor(tau, dtype=torch.float64)
    phi = F.phi_for_ratio(t, torch.tensor(ratio, dtype=torch.float64))
    alpha, beta = phi - t, phi + t
    assert math.isclose(float(alpha / (beta - alpha)), ratio, rel_tol=1e-9, abs_tol=1e-9)


@given(sizes=st.lists(st.integers(1, 500), min_size=1, max_size=6), data=st.data())
def test_allocate_zeros_hits_the_total_within_bounds_and_moves_little(sizes, data):
    zeros = [data.draw(st.integers(0, n)) for n in sizes]
    total = data.draw(st.integers(0, sum(sizes)))
    counts = F.allocate_zeros(zeros, sizes, total)
    assert sum(counts) == total and all(0 <= c <= n for c, n in zip(counts, sizes))
    diff = total - sum(zeros)
    for c, z in zip(counts, zeros):  # every layer moves in the direction of the total, never against it
        assert (c - z) * diff >= 0
    if diff == 0:
        assert counts == zeros
