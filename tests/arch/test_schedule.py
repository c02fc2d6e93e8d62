"""Zero-skip schedules: slot codes, folds, clocks that scale with the non-zeros, the automatic coding.

The RTL regressions (tests/hw) check the schedules against Verilator; these tests pin their formulas.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sbnn.arch.schedule import channel_slots, index_bits, plan_mvu
from sbnn.errors import HardwareError
from sbnn.hw.rtl.weights import channel_codes
from sbnn.ir.synthetic import random_mvu


def _decode(codes: list[int], plan, k: int) -> list[int]:
    """Software decoder of a channel's slot codes (the hardware's gather addresses)."""
    if plan.coding == "index":
        return [c - 1 for c in codes if c]
    e = (1 << plan.code_bits) - 1
    q, out = 0, []
    for c in codes:
        if c == e:
            q += e - 1
        elif c:
            q += c
            out.append(q - 1)
    return out


@given(k=st.integers(1, 300), density=st.floats(0, 1), g=st.integers(2, 9), seed=st.integers(0, 10**6))
def test_codes_decode_to_the_nonzeros_and_count_slots(k, density, g, seed):
    row = np.random.default_rng(seed).random(k) < density
    layer = random_mvu(np.random.default_rng(seed), "l", "dense", (1, 1, k), 2, sparsity=0.5)
    layer.weight_bits = np.stack([row, row])  # two channels, PE = SIMD = 1: always a folded plan
    for coding in ("index", "delta"):
        bits = index_bits(k) if coding == "index" else min(g, index_bits(k))
        if coding == "delta" and bits < 2:
            continue
        plan = plan_mvu(layer, coding=coding, delta_bits=bits if coding == "delta" else None)
        codes = channel_codes(row, plan)
        assert _decode(codes, plan, k) == list(np.flatnonzero(row))
        assert len(codes) == channel_slots(row, coding, plan.code_bits)
        assert all(0 < c < (1 << plan.code_bits) for c in codes)


def test_segmented_words_are_the_busiest_residue_class():
    from sbnn.hw.rtl.weights import slot_codes

    rng = np.random.default_rng(9)
    layer = random_mvu(rng, "l", "dense", (1, 1, 96), 8, sparsity=0.8, pe=2, simd=4)
    for coding in ("index", "delta"):
        p = plan_mvu(layer, coding=coding, gather="segmented")
        assert p.gather == "segmented" and p.code_bits <= index_bits(96 // 4)
        for f in range(p.folds.shape[0]):
            for c in p.folds[f]:
                row = layer.weight_bits[c]
                grid = slot_codes(row, p, int(p.words[f]))
                for j in range(4):  # slot j decodes exactly the non-zeros of residue class j
                    got = [4 * i + j for i in _decode([w[j] for w in grid], p, 24)]
                    assert got == [i for i in np.flatnonzero(row) if i % 4 == j]
    full, seg = plan_mvu(layer, coding="index"), plan_mvu(layer, coding="index", gather="segmented")
    assert seg.T >= full.T  # the cheaper multiplexers cost clocks, never save them


@pytest.mark.parametrize("style", ["sparse", "dense"])
def test_plan_folds_cover_every_channel_once(style):
    rng = np.random.default_rng(0)
    layer = random_mvu(rng, "l", "dense", (1, 1, 64), 24, sparsity=0.9, pe=4, simd=8, zero_rows=3)
    p = plan_mvu(layer, style)
    assert sorted(p.folds.ravel()) == list(range(24)) and p.folds.shape == (6, 4)
    if style == "dense":
        assert p.T == (24 // 4) * (64 // 8) and p.memory_bits == 24 * 64  # FINN's exp_cycles, M*K bits
    else:
        need = -(-layer.nnz // 8)  # index coding: ceil(nnz / SIMD) words per channel
        if p.coding == "index":
            assert all(p.words[f] == max(1, need[p.folds[f]].max()) for f in range(6))
        assert p.T <= (24 // 4) * (64 // 8)


def test_unrolled_and_zero_layers():
    rng = np.random.default_rng(1)
    layer = random_mvu(rng, "l", "dense", (1, 1, 16), 8, sparsity=1.0, pe=8, simd=16)
    assert plan_mvu(layer).style == "unrolled" and plan_mvu(layer).T == 1
    layer.pe, layer.simd = 2, 4
    p = plan_mvu(layer)
    assert p.T == 4 and list(p.words) == [1, 1, 1, 1]  # an all-zero fold still takes one clock
    layer.simd = 3
    with pytest.raises(HardwareError, match="do not divide"):
        plan_mvu(layer)


def test_sparse_clocks_scale_with_nonzeros():
    rng = np.random.default_rng(2)
    t = {}
    for s in (0.0, 0.5, 0.9, 0.99):
        layer = random_mvu(rng, "l", "dense", (1, 1, 256), 64, sparsity=s, pe=8, simd=8)
        t[s] = plan_mvu(layer, coding="index").T
    dense = (64 // 8) * (256 // 8)
    assert t[0.0] == dense and t[0.5] < 0.7 * dense and t[0.9] < 0.2 * dense and t[0.99] <= 0.05 * dense


def test_auto_coding_is_the_smallest_memory_within_the_cycle_budget():
    rng = np.random.default_rng(3)
    layer = random_mvu(rng, "l", "dense", (1, 1, 256), 32, sparsity=0.95, pe=4, simd=4)
    best = plan_mvu(layer, coding="auto")
    idx = plan_mvu(layer, coding="index")
    assert best.T <= idx.T * 1.10 + 1e-9
    for g in range(2, index_bits(256) + 1):
        p = plan_mvu(layer, coding="delta", delta_bits=g)
        if p.T <= idx.T * 1.10:
            assert best.memory_bits <= p.memory_bits
    assert best.memory_bits <= idx.memory_bits
