"""The cycle model: per-stage clocks and exact closed forms of small pipelines (schedules: tests/arch).

The RTL regressions (tests/hw) check the model against Verilator edge for edge; these tests pin its
formulas on their own, without a simulator.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sbnn.arch.folding import resolve_impls
from sbnn.arch.pipeline import build_pipeline
from sbnn.arch.schedule import plan_mvu, vector_clocks
from sbnn.errors import HardwareError
from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel
from sbnn.ir.synthetic import random_model, random_mvu
from sbnn.sim.cycles import _ram_bits, performance, simulate, size_fifos, size_links


def _single(layer) -> IRModel:
    n = layer.out_channels * layer.out_pixels
    return IRModel("s", InputSpec(tuple(layer.in_shape), layer.in_type), [layer], Head(np.ones(n), np.zeros(n)))


def test_closed_forms_of_one_stage():
    """A folded MVU fed from the AXI slave: T clocks per vector, result pushed one clock after the last
    word, transferred one clock later: latency T + 1, interval T."""
    rng = np.random.default_rng(4)
    layer = random_mvu(rng, "l", "dense", (1, 1, 32), 8, sparsity=0.0, pe=2, simd=4, output=True)
    stages = build_pipeline(_single(layer), clock_mhz=50)
    assert [s.kind for s in stages] == ["mvu"] and stages[0].info["sum_regs"] == 0
    perf = performance(stages, [2])
    t = (8 // 2) * (32 // 4)
    assert (perf.latency, perf.interval, perf.bottleneck) == (t + 1, t, t)
    layer.pe, layer.simd = 8, 32  # unrolled: one clock, pushed at the accepting edge
    perf = performance(build_pipeline(_single(layer), clock_mhz=50), [2])
    assert (perf.latency, perf.interval) == (1, 1)
    st = build_pipeline(_single(layer), clock_mhz=400)  # channel sums registered: one clock more
    assert st[0].info["out_reg"] and (performance(st, [2]).latency, performance(st, [2]).interval) == (2, 1)


@pytest.mark.parametrize("style", ["sparse", "dense"])
def test_pipelining_follows_the_clock_and_costs_one_clock_of_latency(style):
    """A faster clock pipelines a folded MVU (decoded next word, then a register before the adder trees):
    the register adds one clock of latency and no interval; a slower clock undoes it."""
    rng = np.random.default_rng(6)
    layer = random_mvu(rng, "l", "dense", (1, 1, 256), 16, sparsity=0.9, pe=2, simd=16, output=True)
    slow, fast = (build_pipeline(_single(layer), style=style, clock_mhz=c)[-1] for c in (20, 400))
    assert slow.info["sum_regs"] == 0 and not slow.info["decode"] and fast.info["sum_regs"] == 1
    assert bool(fast.info["decode"]) == (style == "sparse")
    t = slow.plan.T
    p_slow, p_fast = performance([slow], [2]), performance([fast], [2])
    assert (p_slow.latency, p_slow.interval) == (t + 1, t) and (p_fast.latency, p_fast.interval) == (t + 2, t)


def test_pipelined_fold_end_waits_for_the_compare_stage():
    """With a register before the adder trees, only the end of a vector's first fold can wait (for the
    compare stage to push the previous vector into a full FIFO), and the gather waits with it: behind a
    slow consumer the gather pops every vector on the same edge as without the register, and every
    result is pushed one clock later."""
    rng = np.random.default_rng(9)
    layer = random_mvu(rng, "c", "conv", (4, 4, 8), 8, sparsity=0.7, kernel=1, pad=0, pe=2, simd=4)
    slow = random_mvu(rng, "d", "conv", (4, 4, 8), 4, sparsity=0.0, kernel=1, pad=0, pe=1, simd=1, output=True)
    model = IRModel("p", InputSpec((4, 4, 8), BIPOLAR), [layer, slow], Head(np.ones(64), np.zeros(64))).validate()
    (a, b), (fa, fb) = (build_pipeline(model, clock_mhz=c) for c in (20, 400))
    assert (a.info["sum_regs"], b.info["sum_regs"], fa.info["sum_regs"], fb.info["sum_regs"]) == (0, 0, 1, 1)
    tl, ft = simulate([a, b], [2, 2], 3), simulate([fa, fb], [2, 2], 3)
    assert np.all(np.diff(tl.writes[0][3:]) == b.plan.T)  # the consumer's pace: the first MVU is held
    assert np.array_equal(ft.reads[0], tl.reads[0]) and np.array_equal(ft.writes[0], tl.writes[0] + 1)
    assert np.array_equal(ft.sink, tl.sink + 2)


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


def _dense_cnv(rng: np.random.Generator) -> list:
    """The stages of a CNV-style chain built with sliced (XNOR) MVUs at a random folding, whose convolutions read
    whole windows over several slices."""
    m = random_model(rng, input_shape=(8, 8, 1), convs=(8, 8), dense=(16,), sparsity=0.5)
    for layer in m.mvus:
        k, c = layer.in_features, layer.out_channels
        layer.pe = int(rng.choice([d for d in range(1, c + 1) if c % d == 0]))
        layer.simd = int(rng.choice([d for d in range(1, k + 1) if k % d == 0 and k // d >= 2] or [k]))
    return build_pipeline(m, style="dense")


def test_held_windows_make_their_fifos_registers():
    """The CNV-style chain at FINN-like folding: the convolutions hold their windows (copied and popped as soon as
    their register is free), the window FIFOs in front of them become one-deep registers, the interval stays and
    the latency grows by at most a clock per held window."""
    rng = np.random.default_rng(12)
    m = random_model(rng, input_shape=(10, 10, 1), convs=(16, 16), dense=(16,), sparsity=0.5)
    for layer, (pe, simd) in zip(m.mvus, [(4, 3), (2, 48), (1, 16), (1, 8)]):
        layer.pe, layer.simd = pe, simd
    stages = build_pipeline(m, style="dense")
    plain = size_fifos(stages)
    before = performance(stages, plain)
    depths = size_links(stages)
    after = performance(stages, depths)
    held = [i for i, s in enumerate(stages) if s.holds]
    assert held and all(stages[i - 1].kind == "swu" and plain[i - 1] >= 2 and depths[i - 1] == 1 for i in held)
    assert after.interval <= before.interval and after.latency <= before.latency + len(held)
    assert _ram_bits(stages, depths) < _ram_bits(stages, plain)


@settings(max_examples=30)  # each example sizes the FIFOs two to five times
@given(seed=st.integers(0, 10**6))
def test_held_vectors_never_cost_time_or_ram(seed):
    """Whatever the folding: the links size_links holds are one deep, the interval stays within the bound
    size_fifos reaches, the latency grows by at most a clock per held link, fewer FIFO bits sit in RAM, and a design
    in which no MVU holds is sized exactly as size_fifos sizes it."""
    stages = _dense_cnv(np.random.default_rng(seed))
    plain = size_fifos(stages)
    before = performance(stages, plain)
    depths = size_links(stages)
    after = performance(stages, depths)
    held = [i for i, s in enumerate(stages) if s.holds]
    assert all(stages[i].holdable and depths[i - 1] == 1 for i in held)
    if held:
        assert after.interval <= before.interval and after.latency <= before.latency + len(held)
        assert _ram_bits(stages, depths) < _ram_bits(stages, plain)
    else:
        assert depths == plain


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
        # loaded, computed (+ the register before the adder trees, if pipelined), pushed, transferred
        assert perf.latency == n + t + 1 + mvu.info["sum_regs"]


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


def _backpressured_chain() -> list:
    """A CNV-style chain whose second convolution is a one-slice 1:8 N:M MVU (PE 1 x SIMD 72): with one-deep FIFOs
    its back-pressure settles about one beat per pass of :func:`simulate`."""
    rng = np.random.default_rng(3)
    m = random_model(rng, input_shape=(12, 12, 1), convs=(8, 16), dense=(16,), sparsity=0.5)
    i = next(j for j, layer in enumerate(m.layers) if layer.name == "mvu1")
    old = m.layers[i]
    m.layers[i] = random_mvu(rng, "mvu1", "conv", old.in_shape, old.out_channels, in_type=BIPOLAR, structure="1:8")
    m = IRModel(m.name, m.input, m.layers, m.head).validate()
    spec = {"mvu0": {"PE": 2, "SIMD": 3, "style": "dense"}, "mvu1": {"PE": 1, "SIMD": 72, "style": "nm"},
            "mvu2": {"PE": 1, "SIMD": 16, "style": "dense"}, "mvu3": {"PE": 1, "SIMD": 2, "style": "dense"}}
    return build_pipeline(m, resolve_impls(m, spec))


def test_backpressure_settles_within_the_default_bound():
    """The default bound on passes grows with the beats of a frame: 200 passes (the old fixed bound) do not settle
    this chain with one-deep FIFOs, the default does, and what it settles on is a timeline that keeps every
    FIFO's one slot: a beat is read after it is written, and written only once the beat before it was read."""
    stages = _backpressured_chain()
    depths = [1] * len(stages)
    with pytest.raises(HardwareError, match="did not converge"):
        simulate(stages, depths, 4, max_passes=200)
    tl = simulate(stages, depths, 4)
    for i in range(len(stages) - 1):
        w, r = tl.writes[i], tl.reads[i + 1]
        assert w.size == r.size and np.all(np.diff(w) > 0) and np.all(np.diff(r) > 0)
        assert np.all(r >= w)
        assert np.all(w[1:] >= r[:-1])
    assert np.all(tl.sink >= tl.writes[-1])
