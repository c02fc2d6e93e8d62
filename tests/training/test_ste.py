"""Straight-through estimators: forward sign convention and each backward's analytic form."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from sbnn.training.ste import STE_MODES, StePolicy, sign_ste, ste_grad

values = st.lists(st.floats(-3, 3, allow_nan=False), min_size=1, max_size=50)


@pytest.mark.parametrize("mode", STE_MODES)
def test_forward_is_the_sbnn_sign(mode):
    x = torch.tensor([-2.0, -0.0, 0.0, 1e-9, 3.0])
    assert sign_ste(x, mode).tolist() == [-1, 1, 1, 1, 1]
    assert sign_ste(x, mode, strict=True).tolist() == [-1, -1, -1, 1, 1]


@given(xs=values, k=st.floats(1, 10), t=st.floats(0.1, 10))
def test_backward_matches_the_analytic_derivative(xs, k, t):
    x0 = torch.tensor(xs, dtype=torch.float64)
    expected = {
        "identity": torch.ones_like(x0),
        "clipped": (x0.abs() <= 1).double(),
        "ede": k * t * (1 - torch.tanh(t * x0) ** 2),
        "approxsign": torch.clamp(2 - 2 * x0.abs(), min=0),
    }
    for mode in STE_MODES:
        x = x0.clone().requires_grad_(True)
        sign_ste(x, mode, k, t).sum().backward()
        assert torch.allclose(x.grad, expected[mode])
        assert torch.allclose(ste_grad(x0, mode, k, t), expected[mode])


def test_policy_anneals_and_rejects_unknown_modes():
    p = StePolicy("ede")
    p.set_ede(2.0, 0.5)
    x = torch.tensor([0.3], requires_grad=True)
    p.sign(x).sum().backward()
    assert torch.allclose(x.grad, 2.0 * 0.5 * (1 - torch.tanh(torch.tensor([0.15])) ** 2))
    with pytest.raises(ValueError):
        StePolicy("nope")
