"""Threshold folding against brute force over every reachable accumulator (methods.md fact 11)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sbnn.ir.fold import DOWN, UP, apply_threshold, batchnorm_affine, compose_affine, fold_threshold

reals = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


@given(a=st.lists(reals, min_size=1, max_size=16), b=st.lists(reals, min_size=1, max_size=16),
       bound=st.integers(1, 300), zero=st.booleans())
def test_folded_threshold_equals_the_affine_sign_on_every_integer(a, b, bound, zero):
    n = min(len(a), len(b))
    a, b = np.array(a[:n]), np.array(b[:n])
    if zero:
        a[0] = 0.0
    thr, direction = fold_threshold(a, b, bound)
    acc = np.arange(-bound, bound + 1)[:, None]
    assert np.array_equal(apply_threshold(acc, thr, direction), a * acc + b >= 0)
    assert set(np.unique(direction)) <= {UP, DOWN}
    assert thr.min() >= -bound - 1 and thr.max() <= bound + 1


def test_batchnorm_fold_all_three_gamma_signs_with_a_shift():
    """g > 0 -> ceil(T), g < 0 -> floor(T) with <=, g = 0 -> constant; shift moves T by -s sd / g."""
    gamma = np.array([0.7, -1.3, 0.0, 0.0])
    beta = np.array([0.2, -0.4, 0.5, -0.5])
    mean = np.array([3.3, -2.1, 1.0, 1.0])
    var = np.array([4.0, 2.5, 1.0, 1.0])
    for shift in (0.0, 0.42):
        a, b = batchnorm_affine(gamma, beta, mean, var, 1e-5)
        b = b + shift
        thr, direction = fold_threshold(a, b, 64)
        y = np.arange(-64, 65)[:, None]
        z = gamma * (y - mean) / np.sqrt(var + 1e-5) + beta + shift
        assert np.array_equal(apply_threshold(y, thr, direction), z >= 0)
        assert direction[0] == UP and direction[1] == DOWN
        sd = np.sqrt(var + 1e-5)
        assert thr[0] == np.ceil(mean[0] - (beta[0] + shift) * sd[0] / gamma[0])
        assert thr[1] == np.floor(mean[1] - (beta[1] + shift) * sd[1] / gamma[1])


def test_compose_affine():
    a, b = compose_affine((np.array([2.0]), np.array([1.0])), (np.array([3.0]), np.array([-1.0])))
    assert a[0] == 6.0 and b[0] == -1.0


def test_exact_ties_fire_at_equality():
    thr, direction = fold_threshold(np.array([0.5, -0.5]), np.array([-2.0, 2.0]), 10)
    assert thr.tolist() == [4, 4] and direction.tolist() == [UP, DOWN]
