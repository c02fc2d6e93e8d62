"""The Brevitas quantizers inside real QuantLinear/QuantConv2d layers."""

import brevitas.nn as qnn
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from sbnn.training import formulas as F
from sbnn.training.config import QuantConfig
from sbnn.training.layers import DynamicShift, StaticShift, weight_quant_kwargs
from sbnn.training.models import weight_quant_of


def layer(method, sparsity=0.8, kind="linear", **q):
    cfg = QuantConfig(method=method, sparsity=sparsity, **q)
    kw = weight_quant_kwargs(cfg, sparsity)
    torch.manual_seed(0)
    if kind == "linear":
        return qnn.QuantLinear(48, 12, bias=False, **kw)
    return qnn.QuantConv2d(3, 8, 3, bias=False, **kw)


@given(s=st.sampled_from([0.0, 0.3, 0.5, 0.75, 0.9, 0.99]), levels=st.sampled_from(["l2", "moment", "zero"]),
       kind=st.sampled_from(["linear", "conv"]))
def test_closed_form_layer_has_two_levels_and_exact_zero_count(s, levels, kind):
    m = layer("ab-closed", s, kind, levels=levels)
    wq = m.quant_weight().value.detach()
    q = weight_quant_of(m)
    bits = q.bits(m.weight)
    assert int((~bits).sum()) == round(s * m.weight.numel())
    alpha, beta = q.levels(m.weight)
    assert torch.equal(wq, torch.where(bits, beta, alpha))
    if levels == "zero":
        assert float(alpha) == 0.0
    elif float(beta - alpha) != 0:
        r = float(alpha / (beta - alpha)) * 2**q.level_bits
        assert abs(r - round(r)) < 1e-4  # snapped to the hardware grid


def test_closed_form_gradient_reaches_latent_weights_through_the_ste():
    m = layer("ab-closed", 0.5, weight_ste="identity")
    m(torch.randn(4, 48)).sum().backward()
    assert m.weight.grad is not None and m.weight.grad.abs().sum() > 0


def test_learned_domain_levels_tau_phi_and_their_gradients():
    m = layer("ab-learned", level_bits=8)
    q = weight_quant_of(m)
    with torch.no_grad():
        q.tau.fill_(0.25)
        q.phi.fill_(0.125)  # alpha = -0.125, beta = 0.375: ratio -1/4 is on the grid
    wq = m.quant_weight().value.detach()
    bits = q.bits(m.weight)
    assert torch.equal(bits, m.weight > 0)
    assert torch.allclose(wq, torch.where(bits, torch.tensor(0.375), torch.tensor(-0.125)))
    m(torch.randn(4, 48)).sum().backward()
    assert q.tau.grad is not None and q.phi.grad is not None and float(q.tau.grad.abs()) > 0


def test_bnn_and_sd_bnn_weights_are_plus_minus_one():
    for method in ("bnn", "sd-bnn"):
        m = layer(method, kind="conv")
        wq = m.quant_weight().value.detach()
        assert set(wq.unique().tolist()) <= {-1.0, 1.0}
    q = weight_quant_of(layer("sd-bnn", kind="conv"))
    assert q.wsd_alpha.shape == (8,)  # one WSD parameter per output channel (methods.md fact 16)


def test_sd_bnn_bits_equal_the_offline_wsd_fold():
    m = layer("sd-bnn", kind="conv")
    q = weight_quant_of(m)
    with torch.no_grad():
        q.wsd_alpha.normal_()
    offline = F.sign_bits(F.wsd_shift(m.weight.detach(), q.wsd_alpha.detach()))
    assert torch.equal(q.bits(m.weight), offline)
    assert torch.equal(m.quant_weight().value.detach() > 0, offline)


def test_static_and_dynamic_activation_shifts():
    x = torch.randn(2, 16, 5, 5)
    s = StaticShift(16)
    assert torch.allclose(s(x) - x, torch.full((1, 16, 1, 1), 0.5))
    d = DynamicShift(16, 4)
    assert sum(p.numel() for p in d.parameters()) == 2 * 16 * 16 // 4  # 2 C^2 / r (fact 16)
    shift = d(x) - x
    assert (shift > 0).all() and (shift < 1).all()
    assert not torch.allclose(shift[0], shift[1])  # input dependent
    z = torch.linspace(-3, 3, 601)
    for v in (0.2, 0.7):
        assert torch.equal(F.sign_bits(torch.nn.functional.hardtanh(z) + v), F.sign_bits(z + v))


def test_unknown_levels_rule_is_refused():
    with pytest.raises(Exception):
        layer("ab-closed", levels="median")


@given(s=st.sampled_from([0.5, 0.75, 0.9, 0.95]), kind=st.sampled_from(["linear", "conv"]))
def test_learned_exact_mode_has_the_closed_form_mask_and_the_learned_levels(s, kind):
    m = layer("ab-learned", s, kind, level_bits=8)
    q = weight_quant_of(m)
    with torch.no_grad():
        q.tau.fill_(0.25)
        q.phi.fill_(0.125)
    q.exact = True
    bits = q.bits(m.weight)
    assert torch.equal(bits, F.exact_count_bits(m.weight, s))
    assert torch.allclose(m.quant_weight().value.detach(), torch.where(bits, torch.tensor(0.375), torch.tensor(-0.125)))
    m(torch.randn(4, 48) if kind == "linear" else torch.randn(2, 3, 6, 6)).sum().backward()
    assert m.weight.grad.abs().sum() > 0 and float(q.tau.grad.abs()) > 0


@pytest.mark.parametrize("method", ["ab-closed", "ab-learned"])
def test_cached_quantized_weights_follow_every_in_place_update(method):
    """The per-step cache must never serve weights older than the latent ones: compare with a fresh layer."""
    import copy

    m = layer(method, 0.9)
    q = weight_quant_of(m)
    q.exact = method == "ab-learned"
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    x = torch.randn(16, 48)
    for _ in range(3):
        m.eval()
        with torch.no_grad():
            a, b = m(x), m(x)  # second call is served from the cache
        fresh = copy.deepcopy(m)  # a copy starts with an empty cache
        with torch.no_grad():
            assert torch.equal(a, b) and torch.equal(a, fresh(x))
        m.train()
        opt.zero_grad()
        m(x).pow(2).sum().backward()
        opt.step()  # in-place update: the next forward recomputes
        with torch.no_grad():
            m.weight.clamp_(-0.02, 0.02)
    ref = layer(method, 0.9).eval()
    weight_quant_of(ref).exact = q.exact
    m.load_state_dict(ref.state_dict())  # copies the weight in place (Brevitas re-creates the quantizer)
    weight_quant_of(m).exact = q.exact
    m.eval()
    with torch.no_grad():
        assert torch.equal(m(x), ref(x))
