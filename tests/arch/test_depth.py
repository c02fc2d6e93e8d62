"""The generator's delay estimate and pipelining decisions (sbnn.arch.depth); the Yosys netlist timing that
checks them is in tests/hw/test_hw_synth.py and benchmarks/hw_timing.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sbnn.arch import folding
from sbnn.arch.depth import (
    ESTIMATE_SLACK_NS,
    budget_ns,
    chain_ns,
    csd_terms,
    meets,
    mux_ns,
    mvu_timing,
    part_inputs,
    tree_ns,
    unrolled_timing,
)
from sbnn.arch.pipeline import build_pipeline
from sbnn.ir import io as ir_io
from sbnn.ir.synthetic import random_model

MAIN_IR = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "rtl_digests" / "ir"


@pytest.mark.parametrize("simd, eb, n", [(4, 1, 6), (48, 1, 6), (96, 1, 12), (128, 1, 18), (3, 8, 1), (32, 8, 4)])
def test_s_partial_sums_take_whole_counters(simd, eb, n):
    """S' of a piped slice is cut into about 8 partial sums; bits in whole 6-input counters (no LUT added)."""
    assert part_inputs(simd, eb) == n


def test_delay_pieces_grow_with_their_size():
    assert mux_ns(4) < mux_ns(17) < mux_ns(257) and chain_ns(16, 9) > 4 * chain_ns(2, 9)
    assert tree_ns(1, 1) == 0 and tree_ns(6, 1) < tree_ns(64, 1) < tree_ns(64, 8)
    assert budget_ns(100) == pytest.approx(9.5) and meets(9.5, 100) and not meets(9.6, 100)


@pytest.mark.parametrize("gather, coding", [("full", "delta"), ("full", "index"), ("segmented", "delta"),
                                            ("lutram", "delta"), ("lutram1", "index")])
def test_a_faster_clock_never_pipelines_less(gather, coding):
    """Pipelining grows with the clock: none, then decoded words, then the register before the adder trees;
    each step shortens the estimated gather path."""
    kw = dict(k=256, pe=4, simd=16, eb=1, style="sparse", gather=gather, coding=coding, code_bits=5, acc_bits=9,
              words=100, rom_in_bram=True, banks=5)
    steps = [mvu_timing(**kw, clock_mhz=c) for c in (10, 50, 100, 150, 200, 300, 500)]
    keys = [(t.decode, t.sum_regs) for t in steps]
    assert keys == sorted(keys, key=lambda k: (k[1], k[0])) and keys[0] == (0, 0) and keys[-1][1] == 1
    assert steps[-1].gather_ns < steps[0].gather_ns
    for t, c in zip(steps, (10, 50, 100, 150, 200, 300, 500)):
        if not t.sum_regs:  # with every register the estimate may still be too slow for an absurd clock
            assert t.worst_ns <= budget_ns(c) - ESTIMATE_SLACK_NS


def test_unrolled_channel_sums_are_registered_when_the_trees_are_deep():
    assert csd_terms(0) == 0 and csd_terms(7) == 2 and csd_terms(-6) == 2
    small = unrolled_timing(k=32, span=4, eb=1, gmul=0, acc_bits=3)
    big = unrolled_timing(k=784, span=400, eb=1, gmul=-2, acc_bits=10)
    fast = unrolled_timing(k=32, span=4, eb=1, gmul=0, acc_bits=3, clock_mhz=600)
    assert small[0] is False and big[0] is True and fast[0] is True


def _designs(clock: float):
    """The main job's IR at its own folding and at the automatic foldings of the digest runs, every gather."""
    m = ir_io.load(MAIN_IR)
    for fps in (None, 100_000, 200_000):
        for gather in ("full", "segmented", "lutram", "lutram1"):
            model = m if fps is None else folding.apply(m, folding.auto(m, fps, gather="full").folding)
            yield build_pipeline(model, gather=gather, clock_mhz=clock)
    rng = np.random.default_rng(3)
    cnv = random_model(rng, input_shape=(8, 8, 2), convs=(16, 16), pool=True, dense=(64,), sparsity=0.9)
    yield build_pipeline(folding.apply(cnv, folding.auto(cnv, 20000).folding), clock_mhz=clock)
    yield build_pipeline(folding.apply(cnv, folding.auto(cnv, 20000, style="dense").folding), style="dense",
                         clock_mhz=clock)


def test_every_folded_mvu_of_the_main_job_fits_100_mhz():
    """At 100 MHz (the clock every frames/s figure assumes) the generator pipelines every folded MVU of these
    designs until its estimate fits."""
    n = 0
    for stages in _designs(100.0):
        for st in stages:
            if st.folded:
                n += 1
                assert st.info["path_ns"] <= budget_ns(100) - ESTIMATE_SLACK_NS, (st.name, st.plan, st.info)
    assert n > 30


def test_clock_mhz_tightens_the_bound():
    """A faster --clock-mhz pipelines at least as much, stage by stage; a stage whose estimate still does not
    fit has both registers (the gather multiplexer itself is then the limit: a wide full gather)."""
    tighter = 0
    for slow, fast in zip(_designs(100.0), _designs(150.0)):
        for a, b in zip(slow, fast):
            if not a.folded:
                continue
            ka, kb = (a.info["decode"], a.info["sum_regs"]), (b.info["decode"], b.info["sum_regs"])
            assert kb >= ka, (a.name, ka, kb)
            tighter += kb > ka
            if b.info["path_ns"] > budget_ns(150) - ESTIMATE_SLACK_NS:
                assert b.info["sum_regs"] == 1 and (b.info["decode"] or b.plan.style == "dense")
    assert tighter > 0
