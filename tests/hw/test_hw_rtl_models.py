"""RTL regression of whole networks: random CNV-style models with every kind of folding.

Adding a model (the trained main-job model, a CNV-size net) is one line: ``run_rtl(model, x, workdir)``
returns its scores and measured latency / interval, which must equal the bit-exact simulator and the
cycle model. The same builds run again with a reset in the middle of a frame at every unit that holds
state (each later frame exact and on the cycle model's edges), and with random input gaps and output
stalls.
"""

from __future__ import annotations

import numpy as np
import pytest

from sbnn.arch import folding
from sbnn.arch.regroup import regroup
from sbnn.errors import HardwareError
from sbnn.hw.rtl.design import GenOptions, generate
from sbnn.hw.rtlsim import verilator as rtlsim
from sbnn.hw.rtlsim.api import run_rtl
from sbnn.hw.rtlsim.resets import reset_points, reset_schedule
from sbnn.hw.stream import pack_input
from sbnn.ir.fold import UP
from sbnn.ir.model import Head, InputSpec, IRModel, Threshold, ValueType
from sbnn.ir.synthetic import random_input, random_model, random_mvu
from sbnn.sim.bitexact import Simulator

pytestmark = pytest.mark.rtl

FRAMES = 1000


def _models():
    """(name, model, generator options, MVU implementations or None: the IR's folding), all valid IR."""
    out = []
    rng = np.random.default_rng(7)
    m = random_model(rng, input_shape=(8, 8, 1), convs=(8,), dense=(16,), sparsity=0.9, name="cnv_s90")
    out.append(("cnv_s90_auto", folding.apply(m, folding.auto(m, 20000).folding), GenOptions(), None))
    rng = np.random.default_rng(8)
    m = random_model(rng, input_shape=(6, 6, 2), convs=(4, 6), pool=True, dense=(12,), sparsity=0.5, name="cnv2")
    c0, c1 = (layer.name for layer in m.mvus[:2])
    out.append(("cnv2_xnor", folding.apply(m, {c0: {"PE": 2, "SIMD": 9}, c1: {"PE": 3, "SIMD": 4}}),
                GenOptions(style="dense"), None))
    rng = np.random.default_rng(9)
    m = random_model(rng, input_shape=(4, 4, 3), input_bits=8, binarize_input=False, convs=(6,), pool=True,
                     dense=(10,), sparsity=0.75, name="u8conv")
    out.append(("u8_first_conv", m, GenOptions(coding="delta"), None))
    rng = np.random.default_rng(10)
    m = random_model(rng, input_shape=(7, 7, 1), convs=(), pool=False, dense=(32, 16), sparsity=0.95, name="mlp")
    out.append(("mlp_unrolled", folding.apply(m, folding.unrolled(m)), GenOptions(), None))
    rng = np.random.default_rng(11)
    m = random_model(rng, input_shape=(7, 7, 1), convs=(), pool=False, dense=(24,), sparsity=0.99, name="mlp99")
    out.append(("mlp_s99_ppb7", m, GenOptions(pixels_per_beat=7), None))
    # automatic folding *and* gather (distributed RAM where it is cheaper), as `sbnn synth --target-fps`
    rng = np.random.default_rng(12)
    m = random_model(rng, input_shape=(8, 8, 2), convs=(8, 16), pool=True, dense=(96, 24), sparsity=0.9, name="cnvg")
    res = folding.auto(m, 20000, gather="auto")
    folded = folding.apply(m, res.folding)
    out.append(("cnv_auto_gather", folded, GenOptions(), folding.resolve_impls(folded, res.folding)))
    out.append(("mlp_sums", *_sum_mlp()))
    out.append(("mlp_word_links", *_link_mlp()))
    out.append(("mlp_regrouped", *_regrouped_mlp()))
    out.append(("cnv_window_sums", *_window_sum_cnv()))
    model, _, impls = _window_sum_cnv()  # every delay line in distributed RAM, down to two steps
    out.append(("cnv_lines_ram", model, GenOptions(window_lines="ram"), impls))
    return out


def _window_sum_cnv():
    """{alpha, beta} convolutions whose windows get S' from the sliding window (Stage.in_sum): a dense XNOR
    conv (PE 4) writes 16-channel pixels with their counts into a padded 3 x 3 window read by a 1:8 N:M conv
    at SIMD 48 (3 slices, held), whose pixels feed an unpadded window read by a full-gather zero-skip conv
    (K = 72 at once); a last conv at SIMD 8 forms S' itself (too narrow to pay)."""
    rng = np.random.default_rng(15)
    spec = InputSpec((7, 7, 1), ValueType(8, False))
    thr = Threshold("input", (7, 7, 1), np.array([128]), np.array([UP], dtype=np.int8))
    l0 = random_mvu(rng, "mvu0", "conv", (7, 7, 1), 16, sparsity=0.5, levels=(-3, 5), pe=4, simd=9)
    l1 = random_mvu(rng, "mvu1", "conv", (7, 7, 16), 8, structure="1:8", levels=(-1, 7), pe=2, simd=48)
    l2 = random_mvu(rng, "mvu2", "conv", (7, 7, 8), 8, sparsity=0.8, pad=0, levels=(-7, 1), pe=2, simd=4)
    l3 = random_mvu(rng, "mvu3", "conv", (5, 5, 8), 4, sparsity=0.5, pad=0, levels=(-1, 3), pe=1, simd=8)
    l4 = random_mvu(rng, "mvu4", "dense", (3, 3, 4), 5, sparsity=0.5, levels=(-1, 3), output=True, pe=1, simd=4)
    model = IRModel("wsums", spec, [thr, l0, l1, l2, l3, l4], Head(np.ones(5), np.zeros(5))).validate()
    impls = folding.resolve_impls(model, {"mvu0": {"style": "dense"}, "mvu1": {"style": "nm"},
                                          "mvu2": {"gather": "full", "coding": "index"}, "mvu3": {"style": "dense"},
                                          "mvu4": {"style": "dense"}})
    return model, GenOptions(), impls


def _link_mlp():
    """Word buffers between folded MVUs (sbnn.arch.buffer): {alpha, beta} levels, so S' rides along; 2 pixels
    per beat into interleaved 1:8i N:M at SIMD 16 (8 band memories), PE 2 -> 1:8i at SIMD 32 (8 band memories
    written two folds a word; S' from the producer), PE 8 -> XNOR at SIMD 2 (4 slices per fold word), PE 2 ->
    XNOR scores at SIMD 4 (words of 2 folds); a 2-vector FIFO depth everywhere (3 banks)."""
    rng = np.random.default_rng(14)
    spec = InputSpec((8, 8, 1), ValueType(8, False))
    thr = Threshold("input", (8, 8, 1), np.array([128]), np.array([UP], dtype=np.int8))
    l0 = random_mvu(rng, "mvu0", "dense", (8, 8, 1), 256, structure="1:8i", levels=(-1, 7), pe=2, simd=16)
    l1 = random_mvu(rng, "mvu1", "dense", (1, 1, 256), 64, structure="1:8i", levels=(-3, 5), pe=8, simd=32)
    l2 = random_mvu(rng, "mvu2", "dense", (1, 1, 64), 64, sparsity=0.5, levels=(-7, 1), pe=2, simd=2)
    l3 = random_mvu(rng, "mvu3", "dense", (1, 1, 64), 4, sparsity=0.5, levels=(-1, 3), output=True, pe=1, simd=4)
    model = IRModel("links", spec, [thr, l0, l1, l2, l3], Head(np.ones(4), np.zeros(4))).validate()
    impls = folding.resolve_impls(model, {"mvu0": {"style": "nm"}, "mvu1": {"style": "nm"}, "mvu2": {"style": "dense"},
                                          "mvu3": {"style": "dense"}})
    return model, GenOptions(pixels_per_beat=2, fifo_depth=2), impls


def _regrouped_mlp():
    """The word-link MLP after the regroup pass (sbnn.arch.regroup): the host sends the pixels in group order
    (the stream's ``in_order``) and mvu0 emits its outputs in mvu1's group order, so both 1:8i layers read
    contiguous groups through one-memory word buffers."""
    model, opts, _ = _link_mlp()
    model = regroup(model)
    impls = folding.resolve_impls(model, {"mvu0": {"style": "nm"}, "mvu1": {"style": "nm"}, "mvu2": {"style": "dense"},
                                          "mvu3": {"style": "dense"}})
    return model, opts, impls


def _sum_mlp():
    """{alpha, beta} MLP whose consumers get S' from their producers (Stage.in_sum): a collector of 1-pixel
    beats feeds a dense XNOR layer (SIMD 32), that layer (PE 4) a full-gather zero-skip layer, that one
    (PE 2) an unrolled score layer."""
    rng = np.random.default_rng(13)
    spec = InputSpec((8, 8, 1), ValueType(8, False))
    thr = Threshold("input", (8, 8, 1), np.array([128]), np.array([UP], dtype=np.int8))
    l0 = random_mvu(rng, "mvu0", "dense", (8, 8, 1), 40, sparsity=0.6, levels=(-3, 5), pe=4, simd=32)
    l1 = random_mvu(rng, "mvu1", "dense", (1, 1, 40), 36, sparsity=0.8, levels=(-7, 1), pe=2, simd=4)
    l2 = random_mvu(rng, "mvu2", "dense", (1, 1, 36), 10, sparsity=0.7, levels=(-1, 3), output=True, pe=10, simd=36)
    model = IRModel("sums", spec, [thr, l0, l1, l2], Head(np.ones(10), np.zeros(10))).validate()
    impls = folding.resolve_impls(model, {"mvu0": {"style": "dense"}, "mvu1": {"gather": "full", "coding": "index"}})
    return model, GenOptions(pixels_per_beat=1), impls


@pytest.fixture(scope="module")
def model_runs(hwt, tmp_path_factory):
    hwt.need_verilator()
    designs, cases = [], []
    for name, model, opts, impls in _models():
        designs.append(generate(model, opts, name=f"n_{name}", impls=impls))
        cases.append((name, model, random_input(np.random.default_rng(5), model.input, FRAMES)))
    bld = rtlsim.build(designs, tmp_path_factory.mktemp("nets"))
    results = rtlsim.run(bld, [pack_input(d.stream, c[2]) for d, c in zip(designs, cases)])
    runs = {c[0]: (d, r, c[1], c[2]) for d, c, r in zip(designs, cases, results)}
    for mode, final, p in (("reset", 20, 1.0), ("stress", 100, 0.5)):
        plans, xs = [], []
        for d, (name, model, _) in zip(designs, cases):
            plan, n = reset_schedule(d, reset_points(d), final)
            plans.append(plan)
            xs.append(random_input(np.random.default_rng(6), model.input, n))
        out = rtlsim.run(bld, [pack_input(d.stream, x) for d, x in zip(designs, xs)], p_in=min(1.0, p + 0.2), p_out=p,
                         seed=23, resets=[pl.resets for pl in plans])
        for d, (name, model, _), res, plan, x in zip(designs, cases, out, plans, xs):
            runs[mode, name] = (d, res, model, x, plan)
    return runs


NAMES = ["cnv_s90_auto", "cnv2_xnor", "u8_first_conv", "mlp_unrolled", "mlp_s99_ppb7", "cnv_auto_gather", "mlp_sums",
         "mlp_word_links", "mlp_regrouped", "cnv_window_sums", "cnv_lines_ram"]


def _model(name: str):
    return next(m for m in _models() if m[0] == name)


def test_sums_formed_by_producers():
    """S' moves to the producer where that saves the consumer's adder (and the producer has a vector)."""
    _, model, opts, impls = _model("mlp_sums")
    d = generate(model, opts, name="n_sums", impls=impls)
    sums = {st.name: (st.in_sum, st.out_sum) for st in d.stages}
    assert sums == {"L0_input": (0, 0), "L1_mvu0_col": (0, 7), "L1_mvu0": (7, 6), "L2_mvu1": (6, 6), "L3_mvu2": (6, 0)}


def test_window_sums_formed_by_sliding_windows():
    """A convolution after a folded MVU gets its windows' S' from the sliding window (the producer counts each
    pixel's bits) where its own adder would read at least 32 inputs per clock; the narrow one keeps its own."""
    _, model, opts, impls = _model("cnv_window_sums")
    d = generate(model, opts, name="n_wsums", impls=impls)
    sums = {st.name: (st.in_sum, st.out_sum) for st in d.stages if st.in_sum or st.out_sum}
    assert sums == {"L1_mvu0": (0, 5), "L2_mvu1_swu": (5, 8), "L2_mvu1": (8, 4), "L3_mvu2_swu": (4, 7),
                    "L3_mvu2": (7, 0)}
    assert "L4_mvu3_swu" in {st.name for st in d.stages}


@pytest.mark.parametrize("lines, rams", [("auto", {"L2_mvu1_swu"}), ("ram", {"L1_mvu0_swu", "L2_mvu1_swu", "L3_mvu2_swu",
                                                                             "L4_mvu3_swu"}),
                                         ("srl", set())])
def test_window_delay_lines_as_asked(lines, rams):
    """``window_lines``: the rule's choice per window (only the 42-bit, 6-step lines pay as RAM), or every window one
    way (the 8-bit first window's lines, the 4- and 2-step ones too); anything else is refused."""
    _, model, _, impls = _model("cnv_window_sums")
    d = generate(model, GenOptions(window_lines=lines), name="n_lines", impls=impls)
    assert {f.split("n_lines_")[1][:-2] for f, v in d.files.items() if "dlm" in v} == rams
    with pytest.raises(HardwareError, match="delay lines 'bram'"):
        generate(model, GenOptions(window_lines="bram"), name="n_lines", impls=impls)


def test_word_links_between_mvus():
    """Every link of the word-link MLP is a word buffer (the collector's too), one with S' beside the vectors."""
    _, model, opts, impls = _model("mlp_word_links")
    d = generate(model, opts, name="n_links", impls=impls)
    by = {st.name: st for st in d.stages}
    assert by["L1_mvu0_col"].word_buffer.rows == 8 and by["L1_mvu0"].word_buffer.rows == 8
    assert by["L1_mvu0"].info["out_words"] == by["L2_mvu1"].word_buffer and by["L2_mvu1"].word_buffer.rows == 8
    assert by["L2_mvu1"].info["out_words"].slices == 4 and by["L3_mvu2"].info["out_words"].beats == 2
    assert by["L1_mvu0"].out_sum and by["L2_mvu1"].in_sum and set(d.depths[:-1]) == {2}
    assert sum(name.startswith("n_links_wbuf") for name in d.files) == 3 and "n_links_fifo2.v" not in d.files


def test_regrouped_links_read_one_memory():
    """After the regroup pass the 1:8i layers' word buffers keep one memory each (8 band memories before),
    the stream carries the host's pixel order, and the scores are the original model's."""
    _, original, opts, _ = _model("mlp_word_links")
    _, model, _, impls = _model("mlp_regrouped")
    d = generate(model, opts, name="n_regrouped", impls=impls)
    by = {st.name: st for st in d.stages}
    assert by["L1_mvu0_col"].word_buffer.rows == 1 and by["L2_mvu1"].word_buffer.rows == 1
    assert d.stream.in_order == tuple(int(v) for v in model.input.order) and [m.structure for m in model.mvus][:2] == \
        ["1:8", "1:8"]
    x = random_input(np.random.default_rng(1), model.input, 200)
    assert np.array_equal(Simulator(model).run(x).scores, Simulator(original).run(x).scores)


def test_names_match():
    assert [n for n, *_ in _models()] == NAMES


def test_auto_gather_network_uses_distributed_ram():
    name, model, opts, impls = _model("cnv_auto_gather")
    assert name == "cnv_auto_gather" and "lutram" in {(i.gather or "")[:6] for i in impls.values()}


@pytest.mark.parametrize("name", NAMES)
def test_network_bit_and_cycle_exact(model_runs, hwt, name):
    design, res, model, x = model_runs[name]
    hwt.check(design, res, model, None, x)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mode", ["reset", "stress"])
def test_network_reset_mid_frame_and_stalls(model_runs, hwt, name, mode):
    """Mid-frame resets at every stateful unit (input always valid: timing checked too) and, separately,
    random input gaps and output stalls with the same resets: every frame is exact."""
    design, res, model, x, plan = model_runs[mode, name]
    hwt.check_epochs(design, res, model, None, x, plan, timing=mode == "reset")


def test_run_rtl_one_liner_with_backpressure(hwt, tmp_path):
    """run_rtl on any valid IR; random input bubbles and output back-pressure never change the scores."""
    hwt.need_verilator()
    model = random_model(np.random.default_rng(3), input_shape=(6, 6, 1), convs=(4,), dense=(8,), sparsity=0.8,
                         name="api")
    x = random_input(np.random.default_rng(4), model.input, 300)
    want = Simulator(model).run(x).scores
    exact = run_rtl(model, x, tmp_path)
    assert np.array_equal(exact.scores, want)
    assert exact.timing_exact and exact.latency == exact.model_latency and exact.interval == exact.model_interval
    stressed = run_rtl(model, x, tmp_path, p_in=0.6, p_out=0.4, seed=11)
    assert np.array_equal(stressed.scores, want)
    assert stressed.interval > exact.interval  # back-pressure really happened


def test_run_rtl_relative_workdir(hwt, tmp_path, monkeypatch):
    """A relative run directory (``sbnn sim --rtl --run runs/x``) builds too: Verilator runs in the build folder."""
    hwt.need_verilator()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SBNN_NO_CACHE", "1")  # force a real Verilator build, not a copy from the cache
    model = random_model(np.random.default_rng(5), input_shape=(1, 1, 16), convs=(), dense=(6,), sparsity=0.5,
                         name="relwd")
    x = random_input(np.random.default_rng(6), model.input, 50)
    res = run_rtl(model, x, "runs/rel/sim")
    assert np.array_equal(res.scores, Simulator(model).run(x).scores)
    assert any((tmp_path / "runs/rel/sim").rglob("obj/sim"))


@pytest.mark.slow
def test_cnv_like_network(hwt, tmp_path):
    """A small CNV-like chain (2 x (conv, conv, pool), 2 dense) at 90 % sparsity, automatic folding."""
    hwt.need_verilator()
    rng = np.random.default_rng(21)
    m = random_model(rng, input_shape=(12, 12, 3), convs=(16, 16), pool=True, dense=(64, 32), sparsity=0.9,
                     name="cnvlike")
    m = folding.apply(m, folding.auto(m, 5000).folding)
    x = random_input(rng, m.input, FRAMES)
    res = run_rtl(m, x, tmp_path)
    assert np.array_equal(res.scores, Simulator(m).run(x).scores)
    assert res.timing_exact
