"""The cycle model: per-stage clocks and exact closed forms of small pipelines (schedules: tests/arch).

The RTL regressions (tests/hw) check the model against Verilator edge for edge; these tests pin its
formulas on their own, without a simulator.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sbnn.arch.folding import resolve_impls
from sbnn.arch.pipeline import build_pipeline
from sbnn.arch.schedule import plan_mvu, vector_clocks
from sbnn.errors import HardwareError
from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel
from sbnn.ir.synthetic import random_model, random_mvu
from sbnn.sim.cycles import performance, simulate, size_fifos


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
    gathers = {layer.name: {"gather": "lutram" if i % 2 else "lutram1"} for i, layer in enumerate(m.mvus)}
    stages = build_pipeline(m, resolve_impls(m, gathers))
    assert sum(s.kind == "load" for s in stages) == len(m.mvus)
    perf = performance(stages, size_fifos(stages))
    assert perf.interval == perf.bottleneck
