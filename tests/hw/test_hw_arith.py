"""The MVU datapath algebra (without a simulator): y - off == acc and the folded thresholds agree,
for every style, input type and weight-level pair, within the derived bit widths."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sbnn.arch.arith import arith
from sbnn.arch.schedule import plan_mvu
from sbnn.ir.model import InputSpec, ValueType
from sbnn.ir.synthetic import random_input, random_mvu
from sbnn.sim.reference import mvu_accumulators, windows


@pytest.mark.parametrize("style", ["sparse", "dense"])
@pytest.mark.parametrize("bits", [1, 8, 5])
@pytest.mark.parametrize("levels", [(-1, 1), (0, 1), (-3, 5), (2, 4)])
def test_decomposition_matches_the_reference(style, bits, levels):
    rng = np.random.default_rng(bits * 7 + levels[0])
    vt = ValueType(bits, bits == 5) if bits > 1 else ValueType(1)
    layer = random_mvu(rng, "l", "conv", (5, 5, 3), 6, sparsity=0.7, in_type=vt, levels=levels, pe=2, simd=3,
                       zero_rows=1)
    if bits > 1:
        layer.pad_value = -16 if vt.signed else 7
    ar = arith(layer, plan_mvu(layer, style))
    x = random_input(rng, InputSpec((5, 5, 3), vt), 20)
    vals = np.where(x > 0, 1, -1) if vt.bipolar else x
    acc = mvu_accumulators(layer, vals).reshape(-1, 6)
    raw = windows(x if vt.bipolar else x, 3, 1, 0 if vt.bipolar else layer.pad_value).reshape(-1, 27)
    b = layer.weight_bits
    if vt.bipolar and style == "dense":
        a = (raw[:, None, :] == b[None, :, :]).sum(axis=2)  # XNOR popcount over all K
    else:
        a = raw @ b.T.astype(np.int64)  # sum (or popcount) of the b = 1 inputs only
    y = ar.gmul * raw.sum(axis=1)[:, None] + (a << ar.sh)
    assert np.array_equal(y - ar.off[None, :], acc)
    lim = 1 << (ar.yw - 1)
    assert np.all((y >= -lim) & (y < lim)) and np.all((ar.theta >= -lim) & (ar.theta < lim))
    assert a.min() >= ar.a_lo and a.max() <= ar.a_hi and a.max() < (1 << ar.acc_w)
    up = layer.directions > 0
    want = np.where(up, acc >= layer.thresholds, acc <= layer.thresholds)
    got = np.where(ar.down, y <= ar.theta, y >= ar.theta)
    assert np.array_equal(want, got)


@given(a=st.integers(-300, 300), sh=st.integers(0, 8), g=st.integers(-5000, 5000), t=st.integers(-9000, 9000),
       down=st.booleans())
def test_the_adjusted_compare_is_the_compare(a, sh, g, t, down):
    """sbnn.hw.rtl.thresholds: ``G + (A << sh) >= t`` is ``A > ((t - 1 - G) >> sh)`` (arithmetic shift), for
    every sign of A, G and t; the stored field {t - 1, down} minus {G, 0} keeps the down bit."""
    assert (g + (a << sh) >= t) == (a > ((t - 1 - g) >> sh))
    field = ((t - 1) << 1) | down
    assert (field - (g << 1)) & 1 == down and (field - (g << 1)) >> 1 == t - 1 - g


@given(w=st.integers(1, 20), sh=st.integers(0, 24), data=st.data())
def test_the_adjusted_field_slice_is_u_shifted(w, sh, data):
    """compare_adjusted's slice of the field ``{u, down}`` (u of w bits): bits ``min(1 + sh, w) ..`` read as a
    signed number are ``u >> sh``, also where u is narrower than the shift (then only its sign is left)."""
    u = data.draw(st.integers(-(1 << (w - 1)), (1 << (w - 1)) - 1))
    field = w + 1
    bits = ((u << 1) | 1) % (1 << field)
    low = min(1 + sh, field - 1)
    raw, uw = bits >> low, field - low
    assert raw - ((raw >> (uw - 1)) << uw) == u >> sh


@given(aw=st.integers(1, 12), extra=st.integers(2, 10), data=st.data())
def test_the_narrow_adjusted_compare_is_the_compare(aw, extra, data):
    """compare_adjusted where v = u >>> sh (uw bits, signed) is wider than the never-negative accumulator A
    (aw bits): ``A > v`` is v's sign, else 0 when a bit of v above A's width is set, else ``A > v[aw-1:0]``."""
    uw = aw + extra
    a = data.draw(st.integers(0, (1 << aw) - 1))
    v = data.draw(st.integers(-(1 << (uw - 1)), (1 << (uw - 1)) - 1))
    raw = v % (1 << uw)  # the wire's bits
    sign, high, low = raw >> (uw - 1), (raw >> aw) & ((1 << (uw - 1 - aw)) - 1), raw & ((1 << aw) - 1)
    assert bool(sign or (not high and a > low)) == (a > v)
