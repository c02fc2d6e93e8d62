"""Emission helpers: exact widths, canonical signed digits, sized literals; a unit's layout rule (the sliding
window's delay lines)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sbnn.hw.rtl import units
from sbnn.hw.rtl.verilog import Module, Op, const_mul, csd, lit, tree_sum, width_for


@given(lo=st.integers(-10**6, 10**6), span=st.integers(0, 10**6))
def test_width_for_holds_the_range_and_is_minimal(lo, span):
    hi = lo + span
    w = width_for(lo, hi)
    if min(lo, 0) < 0:
        assert -(1 << (w - 1)) <= min(lo, 0) and max(hi, 0) < (1 << (w - 1))
        assert w == 1 or not (-(1 << (w - 2)) <= min(lo, 0) and max(hi, 0) < (1 << (w - 2)))
    else:
        assert hi < (1 << w) and (w == 1 or hi >= (1 << (w - 1)))


@given(c=st.integers(-10**5, 10**5))
def test_csd_is_exact_and_sparse(c):
    digits = csd(c)
    assert sum(d << k for k, d in digits) == c
    ks = [k for k, _ in digits]
    assert all(b - a >= 2 for a, b in zip(ks, ks[1:]))  # no two adjacent non-zero digits


def test_literals_wrap_negative_values():
    assert lit(-1, 4) == "4'hf" and lit(5, 8) == "8'h5"


def test_const_mul_and_tree_ranges():
    m = Module("t")
    x = Op("x", 5, 0, 20)
    g = const_mul(m, x, -6)
    assert (g.lo, g.hi) == (-120, 0) and g.width >= width_for(-120, 0)
    s = tree_sum(m, [Op(f"b{i}", 1, 0, 1) for i in range(7)])
    assert (s.lo, s.hi, s.width) == (0, 7, 3)
    assert tree_sum(m, []).name == "1'b0"
    assert "module t" in m.text() and "endmodule" in m.text()


@pytest.mark.parametrize("depth, width, ram", [
    (7, 142, True),  # the 1:8 CNV's fourth window (64-bit pixels with 7-bit counts, 2 lines): benchmarks/hw_line_ram.py
    (23, 76, True), (9, 64, True),  # its second and third windows
    (25, 16, False),  # the 8-bit first window's 2 x 8 bits: the pointer costs more than the RAM saves
    (1, 512, False), (65, 512, False),  # one step is a register; beyond 64 steps the SRLs are kept
])
def test_window_delay_lines_in_ram_where_smaller(depth, width, ram):
    assert units.line_ram(depth, width) is ram
