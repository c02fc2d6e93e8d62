"""RTL regression of whole networks: random CNV-style models with every kind of folding.

Adding a model (the trained main-job model, a CNV-size net) is one line: ``run_rtl(model, x, workdir)``
returns its scores and measured latency / interval, which must equal the bit-exact simulator and the
cycle model.
"""

from __future__ import annotations

import numpy as np
import pytest

from sbnn.arch import folding
from sbnn.hw.rtl.design import GenOptions, generate
from sbnn.hw.rtlsim import verilator as rtlsim
from sbnn.hw.rtlsim.api import run_rtl
from sbnn.hw.stream import pack_input
from sbnn.ir.synthetic import random_input, random_model
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
    return out


@pytest.fixture(scope="module")
def model_runs(hwt, tmp_path_factory):
    hwt.need_verilator()
    designs, cases = [], []
    for name, model, opts, impls in _models():
        designs.append(generate(model, opts, name=f"n_{name}", impls=impls))
        cases.append((name, model, random_input(np.random.default_rng(5), model.input, FRAMES)))
    bld = rtlsim.build(designs, tmp_path_factory.mktemp("nets"))
    results = rtlsim.run(bld, [pack_input(d.stream, c[2]) for d, c in zip(designs, cases)])
    return {c[0]: (d, r, c[1], c[2]) for d, c, r in zip(designs, cases, results)}


NAMES = ["cnv_s90_auto", "cnv2_xnor", "u8_first_conv", "mlp_unrolled", "mlp_s99_ppb7", "cnv_auto_gather"]


def test_names_match():
    assert [n for n, *_ in _models()] == NAMES


def test_auto_gather_network_uses_distributed_ram():
    name, model, opts, impls = _models()[-1]
    assert name == "cnv_auto_gather" and "lutram" in {(i.gather or "")[:6] for i in impls.values()}


@pytest.mark.parametrize("name", NAMES)
def test_network_bit_and_cycle_exact(model_runs, hwt, name):
    design, res, model, x = model_runs[name]
    hwt.check(design, res, model, None, x)


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
