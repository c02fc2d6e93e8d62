"""The cycle model: zero-skip schedules, per-stage clocks, and exact closed forms of small pipelines.

The RTL regressions (tests/hw) check the model against Verilator edge for edge; these tests pin its
formulas on their own, without a simulator.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sbnn.errors import HardwareError
from sbnn.hw.rtl_mvu import channel_codes
from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel
from sbnn.ir.synthetic import random_model, random_mvu
from sbnn.sim.cycles import (build_pipeline, channel_slots, index_bits, performance, plan_mvu, simulate,
                             size_fifos, vector_clocks)


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
    from sbnn.hw.rtl_mvu import slot_codes

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


def _single(layer) -> IRModel:
    n = layer.out_channels * layer.out_pixels
    return IRModel("s", InputSpec(tuple(layer.in_shape), layer.in_type), [layer], Head(np.ones(n), np.zeros(n)))


def test_closed_forms_of_one_stage():
    """A folded MVU fed from the AXI slave: T clocks per vector, result pushed one clock after the last
    word, transferred one clock later: latency T + 1, interval T."""
    rng = np.random.default_rng(4)
    layer = random_mvu(rng, "l", "dense", (1, 1, 32), 8, sparsity=0.0, pe=2, simd=4, output=True)
    stages = build_pipeline(_single(layer))
    assert [s.kind for s in stages] == ["mvu"]
    perf = performance(stages, [2])
    t = (8 // 2) * (32 // 4)
    assert (perf.latency, perf.interval, perf.bottleneck) == (t + 1, t, t)
    layer.pe, layer.simd = 8, 32  # unrolled: one clock, pushed at the accepting edge
    perf = performance(build_pipeline(_single(layer)), [2])
    assert (perf.latency, perf.interval) == (1, 1)


def test_swu_steps_and_backpressure():
    rng = np.random.default_rng(5)
    layer = random_mvu(rng, "c", "conv", (5, 6, 2), 4, sparsity=0.5, kernel=3, pad=1, pe=4, simd=18, output=True)
    stages = build_pipeline(_single(layer))
    swu, mvu = stages
    assert swu.kind == "swu" and swu.cycles == 7 * 8 and swu.out_beats == 5 * 6 and swu.consume.sum() == 30
    tl = simulate(stages, [2, 2], 3)
    assert np.all(np.diff(tl.sink) >= 1) and np.all(np.diff(tl.reads[0]) >= 1)
    # a slow consumer: a folded MVU with T clocks per window bounds the interval
    layer.pe, layer.simd = 1, 1
    stages = build_pipeline(_single(layer))
    depths = size_fifos(stages)
    perf = performance(stages, depths)
    assert perf.interval == perf.bottleneck == 30 * stages[1].plan.T


@given(seed=st.integers(0, 10**6))
def test_fifo_sizing_reaches_the_bottleneck(seed):
    rng = np.random.default_rng(seed)
    m = random_model(rng, input_shape=(6, 6, 1), convs=(4,), dense=(8,), sparsity=float(rng.choice([0, 0.5, 0.9])))
    for layer in m.mvus:
        layer.pe = int(rng.choice([d for d in range(1, layer.out_channels + 1) if layer.out_channels % d == 0]))
    stages = build_pipeline(m)
    perf = performance(stages, size_fifos(stages))
    assert perf.interval == perf.bottleneck
    assert perf.latency >= sum(1 for _ in stages)


def test_pixels_per_beat_rules():
    rng = np.random.default_rng(6)
    m = random_model(rng, input_shape=(7, 7, 1), convs=(), pool=False, dense=(8,))
    st_ = build_pipeline(m, pixels_per_beat=7)
    assert st_[0].kind == "threshold" and st_[0].in_beats == 7 and st_[1].kind == "collector"
    with pytest.raises(HardwareError, match="do not divide"):
        build_pipeline(m, pixels_per_beat=5)
    m2 = random_model(rng, input_shape=(6, 6, 1), convs=(4,))
    with pytest.raises(HardwareError, match="1 pixel"):
        build_pipeline(m2, pixels_per_beat=2)


def test_cnv_size_model_is_fast_to_evaluate():
    """FINN's CNV shapes (32x32x3, 6 convs, 3 dense): schedules and steady state in seconds."""
    import time

    rng = np.random.default_rng(7)
    t0 = time.time()
    m = random_model(rng, input_shape=(32, 32, 3), convs=(64, 64), pool=True, dense=(512, 512), sparsity=0.9)
    for layer in m.mvus:
        layer.pe = 2 if layer.out_channels % 2 == 0 else 1
        layer.simd = 16 if layer.in_features % 16 == 0 else 1
    stages = build_pipeline(m)
    perf = performance(stages, size_fifos(stages))
    assert perf.interval >= perf.bottleneck and time.time() - t0 < 60
    assert BIPOLAR.bits == 1


@pytest.mark.parametrize("k", [10, 63, 64, 200])
@pytest.mark.parametrize("gather, buffers", [("lutram", 2), ("lutram1", 1)])
def test_closed_forms_of_a_distributed_ram_gather(k, gather, buffers):
    """Load L = min(K + 1, 64) clocks, then the MVU's T: one buffer gives an interval of L + T, two
    buffers max(L, T); the link load -> MVU keeps its depth (the RAM's buffers) through FIFO sizing."""
    rng = np.random.default_rng(k)
    for pe, simd in ((1, 1), (4, k // 2 if k % 2 == 0 else k)):
        layer = random_mvu(rng, "l", "dense", (1, 1, k), 8, sparsity=0.8, pe=pe, simd=simd, output=True)
        stages = build_pipeline(_single(layer), coding="index", gather=gather)
        assert [s.kind for s in stages] == ["load", "mvu"]
        load, mvu = stages
        n = min(k + 1, 64)
        assert (load.load_clocks, load.buffers, load.info["banks"]) == (n, buffers, -(-(k + 1) // 64))
        t = mvu.plan.T
        assert mvu.plan.T == plan_mvu(layer, coding="index").T  # the full gather's schedule
        depths = size_fifos(stages)
        assert depths[0] == buffers
        perf = performance(stages, depths)
        want = n + t if buffers == 1 else max(n, t)
        assert perf.interval == want == vector_clocks(mvu.plan, k)
        assert perf.latency == n + t + 1  # loaded, computed, pushed, transferred


def test_load_waits_for_a_free_buffer_and_blocks_upstream():
    """Back-to-back vectors of a conv layer: a single buffer holds the window FIFO (the sliding window
    stalls) until the MVU finished the previous window; every load starts after a pop of vector v - b."""
    rng = np.random.default_rng(8)
    layer = random_mvu(rng, "c", "conv", (5, 5, 8), 6, sparsity=0.9, kernel=3, pad=1, pe=2, simd=3, output=True)
    for gather in ("lutram", "lutram1"):
        stages = build_pipeline(_single(layer), gather=gather)
        assert [s.kind for s in stages] == ["swu", "load", "mvu"]
        depths = size_fifos(stages)
        tl = simulate(stages, depths, 3)
        load_end, mvu_pop = tl.reads[1], tl.reads[2]
        b, n = stages[1].buffers, stages[1].load_clocks
        start = load_end - (n - 1)
        assert np.all(np.diff(start) >= n)
        assert np.all(start[b:] >= mvu_pop[:-b] + 1)  # a buffer is free only after the MVU popped it
        assert np.all(mvu_pop - (stages[2].plan.T - 1) >= load_end + 1)  # computed only once loaded


def test_cnv_size_model_with_distributed_ram_gathers():
    rng = np.random.default_rng(7)
    m = random_model(rng, input_shape=(16, 16, 3), convs=(32, 32), pool=True, dense=(128,), sparsity=0.9)
    for layer in m.mvus:
        layer.pe = 2 if layer.out_channels % 2 == 0 else 1
    stages = build_pipeline(m, gather={layer.name: ("lutram" if i % 2 else "lutram1") for i, layer in enumerate(m.mvus)})
    assert sum(s.kind == "load" for s in stages) == len(m.mvus)
    perf = performance(stages, size_fifos(stages))
    assert perf.interval == perf.bottleneck
