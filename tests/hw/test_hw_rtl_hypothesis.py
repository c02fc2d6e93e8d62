"""Hypothesis-generated small designs (random shapes, folding, masks - unstructured or structured: row, N:M,
block:B -, thresholds, styles) in Verilator.

Each example is a batch of three random designs sharing one build, run once as they are and once with a
reset in the middle of a frame at every unit that holds state. A few examples run by default; the
``slow`` variant runs many more (``make test-slow`` / nightly).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sbnn.hw.rtl.design import GenOptions, generate
from sbnn.hw.rtlsim import verilator as rtlsim
from sbnn.hw.rtlsim.resets import reset_points, reset_schedule
from sbnn.hw.stream import pack_input

pytestmark = pytest.mark.rtl

FRAMES = 300


@st.composite
def layer_case(draw):
    kind = draw(st.sampled_from(["dense", "dense", "conv", "maxpool", "threshold"]))
    seed = draw(st.integers(0, 2**31 - 1))
    in_bits = draw(st.sampled_from([1, 1, 8, 3])) if kind in ("dense", "conv") else (1 if kind == "maxpool" else 8)
    if kind == "maxpool":
        k = draw(st.integers(1, 3))
        shape = (k * draw(st.integers(1, 3)), k * draw(st.integers(1, 3)), draw(st.integers(1, 5)))
        return kind, seed, dict(shape=shape, kernel=k, in_bits=1), {}
    if kind == "threshold":
        shape = (draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        return kind, seed, dict(shape=shape, in_bits=draw(st.integers(2, 8)), signed=draw(st.booleans())), {}
    if kind == "conv":
        k = draw(st.integers(1, 3))
        pad = draw(st.integers(0, k - 1))
        shape = (draw(st.integers(k, 6)), draw(st.integers(k, 6)), draw(st.integers(1, 4)))
        kk = k * k * shape[2]
    else:
        k, pad = 1, 0
        shape = draw(st.sampled_from([(1, 1, draw(st.integers(1, 48))), (2, 2, draw(st.integers(1, 6))),
                                      (1, 1, draw(st.integers(60, 150)))]))  # > 64 inputs: several RAM banks
        kk = shape[0] * shape[1] * shape[2]
    m = draw(st.integers(1, 12))
    divs = lambda n: [d for d in range(1, n + 1) if n % d == 0]  # noqa: E731
    # a structured mask (N:M, block:B, row) in one case of two; N:M / block styles read it, or the others
    structure = draw(st.sampled_from(["none", "none", "row", "nm", "nm", "block"]))
    size = draw(st.sampled_from([2, 3, 4, 8, 16])) if structure in ("nm", "block") else 1
    if structure == "nm":  # interleaved groups (N:Mi) where M divides K, in one case of two
        structure = f"{draw(st.integers(1, size - 1))}:{size}" + ("i" if kk % size == 0 and draw(st.booleans()) else "")
    elif structure == "block":
        structure = f"block:{size}"
    styles = ["sparse", "sparse", "dense"] + (["nm", "nm", "nm"] if ":" in structure and "block" not in structure
                                              else ["block", "block", "block"] if "block" in structure else [])
    style = draw(st.sampled_from(styles))
    simds = [d for d in divs(kk) if d % size == 0 or d == kk] if style in ("nm", "block") else divs(kk)
    plain = structure == "none"
    kwargs = dict(shape=shape, m=m, in_bits=in_bits, signed=in_bits == 3, kernel=k, pad=pad,
                  sparsity=draw(st.sampled_from([0.0, 0.3, 0.5, 0.9, 0.99, 1.0])), pe=draw(st.sampled_from(divs(m))),
                  simd=draw(st.sampled_from(simds)), output=draw(st.booleans()),
                  zero_rows=draw(st.integers(0, 2)) if plain else 0, zero_cols=draw(st.integers(0, 3)) if plain else 0,
                  structure=structure)
    opts = dict(style=style, coding=draw(st.sampled_from(["auto", "index", "delta"])),
                gather=draw(st.sampled_from(["full", "segmented", "lutram", "lutram1"])),
                clock_mhz=draw(st.sampled_from([100.0, 100.0, 400.0])))  # 400: every folded MVU pipelined
    return kind, seed, kwargs, opts


def _run_batch(hwt, tmp_path, cases):
    hwt.need_verilator()
    designs, runs = [], []
    for i, (kind, seed, kwargs, opts) in enumerate(cases):
        rng = np.random.default_rng(seed)
        model, upto = hwt.layer_model(rng, kind, name=f"h{i}", **kwargs)
        designs.append(generate(model, GenOptions(**opts), upto=upto, name=f"h{i}"))
        runs.append((model, upto, hwt.random_input(rng, model.input, FRAMES)))
    bld = rtlsim.build(designs, tmp_path)
    results = rtlsim.run(bld, [pack_input(d.stream, r[2]) for d, r in zip(designs, runs)])
    for d, (model, upto, x), res in zip(designs, runs, results):
        hwt.check(d, res, model, upto, x)
    plans, xs = [], []
    for i, (d, (model, _, _)) in enumerate(zip(designs, runs)):
        plan, n = reset_schedule(d, reset_points(d), 10)
        plans.append(plan)
        xs.append(hwt.random_input(np.random.default_rng(i), model.input, n))
    results = rtlsim.run(bld, [pack_input(d.stream, x) for d, x in zip(designs, xs)], resets=[p.resets for p in plans])
    for d, (model, upto, _), res, plan, x in zip(designs, runs, results, plans, xs):
        hwt.check_epochs(d, res, model, upto, x, plan)


@settings(max_examples=2, deadline=None)
@given(cases=st.lists(layer_case(), min_size=3, max_size=3))
def test_random_designs(hwt, tmp_path_factory, cases):
    _run_batch(hwt, tmp_path_factory.mktemp("hyp"), cases)


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(cases=st.lists(layer_case(), min_size=3, max_size=3))
def test_random_designs_many(hwt, tmp_path_factory, cases):
    _run_batch(hwt, tmp_path_factory.mktemp("hyps"), cases)
