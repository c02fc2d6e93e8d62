"""hls4ml backend: g++ C simulation of the generated project == the bit-exact simulator, with ==.

Synthetic IR models cover every lowering case (input thresholds in both directions, hidden "<="
thresholds, {0,1} / {-1,+1} / {alpha,beta} levels, integer and bipolar convs with padding, max-pool),
layer by layer through hls4ml's trace; trained networks (the main job's SFC, a dense BNN MLP, a small
CNV) go through ``sbnn synth --backend hls4ml`` on >= 1,000 inputs. Each ``compile()`` is 5-10 s of g++.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil

import numpy as np
import pytest

from sbnn.errors import ConfigError, HardwareError, ToolNotFound
from sbnn.hw.config import HwConfig
from sbnn.hw.hls4ml import project as hp
from sbnn.hw.hls4ml.lower import lower
from sbnn.ir.fold import DOWN, UP
from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel, MaxPool, Threshold, ValueType
from sbnn.ir.synthetic import random_input, random_mvu
from sbnn.runs import RunDir
from sbnn.sim.bitexact import simulate

# Skip marks, not a module-level skip: a module skipped at collection shows up in a JUnit report even
# when a marker expression (``-m rtl``) deselects all of its tests, so a run without hls4ml (the Docker
# image installs no ``hls`` extra) would report a test id that a native run does not.
pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("hls4ml") is None,
                       reason="hls4ml is not installed (pip install -e '.[hls]')"),
    pytest.mark.skipif(shutil.which("g++") is None, reason="hls4ml's C simulation needs g++"),
]


#: the main job's net and the benchmark kinds (dense BNN MLP, small CNV), trained for seconds on digits
NETS = {
    "main-job-sfc": {"model.arch": "sfc", "data.input": "multibit", "quant.method": "ab-closed",
                     "quant.sparsity": 0.9, "optim.epochs": 3},
    "bnn-tfc": {"model.arch": "tfc", "quant.method": "bnn", "optim.epochs": 2, "data.train_subset": 400},
    "cnv-small": {"model.arch": "cnv", "model.conv_channels": "[8,8]", "model.pool_after": "[1]",
                  "model.fc": "[32]", "quant.method": "ab-learned", "quant.sparsity": 0.75, "optim.epochs": 2,
                  "data.train_subset": 400},
}


@pytest.fixture(scope="module")
def trained_hls_runs(tmp_path_factory) -> dict[str, RunDir]:
    from sbnn.export.config import ExportConfig
    from sbnn.export.pipeline import export
    from sbnn.training.config import TrainConfig
    from sbnn.training.trainer import train

    runs = {}
    for name, values in NETS.items():
        run = RunDir(tmp_path_factory.mktemp(name))
        train(TrainConfig.resolve(overrides=[f"{k}={v}" for k, v in values.items()]), run, log=lambda m: None)
        export(run, ExportConfig(samples=1200), log=lambda m: None)
        runs[name] = run
    return runs


def _model(rng, layers, spec, name) -> IRModel:
    n = layers[-1].out_channels * layers[-1].out_pixels
    return IRModel(name, spec, layers, Head(np.ones(n), np.zeros(n))).validate()


def mlp_both_directions(rng) -> IRModel:
    """Integer input -> threshold (mixed <= / >=) -> {alpha,beta} dense ("<=" rows) -> {0,1} dense -> scores."""
    spec = InputSpec((4, 4, 2), ValueType(4, signed=True))
    thr = rng.integers(-8, 8, size=2).astype(np.int64)
    layers = [Threshold("input", spec.shape, thr, np.array([DOWN, UP], np.int8))]
    layers.append(random_mvu(rng, "mvu0", "dense", spec.shape, 24, sparsity=0.8, in_type=BIPOLAR, levels=(-3, 5)))
    layers.append(random_mvu(rng, "mvu1", "dense", (1, 1, 24), 16, sparsity=0.7, in_type=BIPOLAR, levels=(0, 1)))
    layers.append(random_mvu(rng, "mvu2", "dense", (1, 1, 16), 5, sparsity=0.5, in_type=BIPOLAR, levels=(-1, 1),
                             output=True))
    assert (layers[1].directions == DOWN).any()
    return _model(rng, layers, spec, "mlp_dirs")


def cnv(rng) -> IRModel:
    """Integer conv (zero pad) -> bipolar conv (pad -1) -> max-pool -> dense -> conv-free scores."""
    spec = InputSpec((6, 6, 2), ValueType(3))
    c0 = random_mvu(rng, "mvu0", "conv", spec.shape, 6, sparsity=0.6, in_type=spec.type, kernel=3, pad=1,
                    levels=(1, 3))
    c1 = random_mvu(rng, "mvu1", "conv", c0.out_shape, 8, sparsity=0.75, in_type=BIPOLAR, kernel=3, pad=1,
                    levels=(-7, 9))
    pool = MaxPool("pool0", c1.out_shape, 2)
    d0 = random_mvu(rng, "mvu2", "dense", pool.out_shape, 12, sparsity=0.7, in_type=BIPOLAR, levels=(0, 1))
    out = random_mvu(rng, "mvu3", "dense", d0.out_shape, 4, sparsity=0.5, in_type=BIPOLAR, levels=(-1, 1),
                     output=True)
    return _model(rng, [c0, c1, pool, d0, out], spec, "cnv_small")


def conv_scores(rng) -> IRModel:
    """Bipolar input, valid conv straight into per-pixel scores (flattened (h, w, c), as the simulator)."""
    spec = InputSpec((5, 5, 3), BIPOLAR)
    c0 = random_mvu(rng, "mvu0", "conv", spec.shape, 4, sparsity=0.5, in_type=BIPOLAR, kernel=2, pad=0,
                    levels=(-3, 1), output=True)
    return _model(rng, [c0], spec, "conv_scores")


@pytest.mark.parametrize("make", [mlp_both_directions, cnv, conv_scores])
def test_csim_equals_sim_layer_by_layer(tmp_path, make):
    rng = np.random.default_rng(7)
    model = make(rng)
    x = random_input(rng, model.input, 300)
    hm, low = hp.convert(model, tmp_path / "prj", trace=True)
    res = hp.csim_check(hm, model, x)
    assert res.exact and res.n == 300, res.to_json()
    got = hp.trace_outputs(hm, model, low, x[:60])
    want = simulate(model, x[:60], trace=True).trace
    for layer in model.layers:
        ref = np.asarray(want[layer.name]).reshape(60, -1).astype(np.int64)
        assert np.array_equal(got[layer.name], ref), layer.name
    assert set(got) == {layer.name for layer in model.layers}


def test_zero_weights_are_constant_zeros_with_latency_rf1(tmp_path):
    """Zero-weight skipping: every b = 0 weight is a literal 0 in a fully unrolled (RF 1) Latency layer,
    which hls4ml itself counts (n_zeros) and HLS removes; the S(x) row is the only dense row."""
    rng = np.random.default_rng(3)
    model = mlp_both_directions(rng)
    hm, low = hp.convert(model, tmp_path / "prj")
    hm.write()
    params = (tmp_path / "prj" / "firmware" / "parameters.h").read_text()
    stats = {row["layer"]: row for row in hp.weight_stats(low)}
    zeros = [int(v) for v in re.findall(r"n_zeros = (\d+);", params)]
    assert sorted(zeros) == sorted(s["weights"] - s["nonzero"] for s in stats.values())
    assert re.findall(r"reuse_factor = (\d+);", params) and set(re.findall(r"reuse_factor = (\d+);", params)) == {"1"}
    assert "strategy = nnet::latency" in params
    mvu0 = model.layer("mvu0")
    # d*b rows skip exactly the b = 0 weights; the shared S(x) row has K weights
    assert stats["mvu0_p"]["nonzero"] == int(mvu0.weight_bits.sum()) + mvu0.in_features


def test_trained_main_job_and_benchmarks_via_cli(tmp_path, trained_hls_runs):
    """`sbnn synth --backend hls4ml` on trained, exported nets: csim == sim on >= 1,000 inputs each."""
    from sbnn.cli import main

    for name, run in trained_hls_runs.items():
        assert main(["synth", "--run", str(run.path), "--backend", "hls4ml"]) == 0, name
        csim = json.loads((run.path / "hls4ml" / "csim.json").read_text())
        assert csim["exact"] and csim["inputs"] >= 1000 and csim["equal"] == csim["inputs"], (name, csim)
        low = json.loads((run.path / "hls4ml" / "lowering.json").read_text())
        assert low["part"] == "xc7z020clg400-1" and low["io_type"] == "io_stream"
        assert (run.path / "hls4ml" / "project" / "build_prj.tcl").exists()
        assert (run.path / "hls4ml" / "project" / "BUILD.txt").exists()


@pytest.mark.parametrize("backend", ["Vivado", "VivadoAccelerator"])
def test_other_backends_are_exact(tmp_path, backend):
    rng = np.random.default_rng(11)
    model = cnv(rng)
    x = random_input(rng, model.input, 200)
    hm, _ = hp.convert(model, tmp_path / backend, backend=backend)
    assert hp.csim_check(hm, model, x).exact
    if backend == "VivadoAccelerator":  # the pynq-z2 block design and PYNQ driver come with the project
        assert (tmp_path / backend / "design.tcl").exists()
        assert (tmp_path / backend / "axi_stream_driver.py").exists()


# ------------------------------------------------------------------------------------------- bad input
def test_unknown_board_and_backend(tmp_path):
    model = conv_scores(np.random.default_rng(0))
    with pytest.raises(ConfigError, match="unknown board 'pynq-z3'.*pynq-z2"):
        hp.convert(model, tmp_path / "a", board="pynq-z3")
    with pytest.raises(ConfigError, match="unknown hls4ml backend"):
        hp.convert(model, tmp_path / "b", backend="Quartus")


def test_unsupported_models_are_refused(tmp_path):
    rng = np.random.default_rng(1)
    spec = InputSpec((4, 4, 1), ValueType(4))
    conv = random_mvu(rng, "mvu0", "conv", spec.shape, 2, in_type=spec.type, kernel=3, pad=1, output=True)
    conv.pad_value = 3
    with pytest.raises(HardwareError, match="pads its integer input with 3"):
        lower(_model(rng, [conv], spec, "badpad"))
    thr = Threshold("input", spec.shape, np.array([5], np.int64), np.array([DOWN], np.int8))
    pool = MaxPool("pool0", spec.shape, 2)
    tail = random_mvu(rng, "mvu0", "dense", pool.out_shape, 2, in_type=BIPOLAR, output=True)
    with pytest.raises(HardwareError, match="max-pool 'pool0' after '<=' input thresholds"):
        lower(_model(rng, [thr, pool, tail], spec, "downpool"))


def test_missing_hls4ml_is_one_clear_message(tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "hls4ml.model.graph", None)  # import -> ImportError
    with pytest.raises(ToolNotFound, match=r"hls4ml is not installed: pip install 'sbnn\[hls\]'"):
        hp.convert(conv_scores(np.random.default_rng(0)), tmp_path / "prj")


def test_missing_vendor_tool_names_the_project(tmp_path, monkeypatch):
    monkeypatch.setattr(hp, "find_tool", lambda name: None)
    with pytest.raises(ToolNotFound, match=f"vitis-run not found.*{tmp_path}"):
        hp.build(tmp_path, "Vitis")
    with pytest.raises(ToolNotFound, match="vivado_hls not found"):
        hp.build(tmp_path, "VivadoAccelerator")


def test_cli_unknown_board_is_one_line(tmp_path, trained_hls_runs, capsys):
    from sbnn.cli import main

    run = next(iter(trained_hls_runs.values()))
    code = main(["synth", "--run", str(run.path), "--backend", "hls4ml", "--board", "zedboard-x"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and "unknown board 'zedboard-x'" in err and len(err.splitlines()) == 1


# ------------------------------------------------------------------------------------ vendor reports
CSYNTH = """<?xml version="1.0"?><profile><AreaEstimates><Resources>
<BRAM_18K>{b}</BRAM_18K><DSP>{d}</DSP><FF>{f}</FF><LUT>{lut}</LUT><URAM>0</URAM>
</Resources></AreaEstimates></profile>"""


def test_hls_report_reads_into_synth_report(tmp_path):
    rep = tmp_path / f"{hp.PROJECT}_prj" / "solution1" / "syn" / "report"
    rep.mkdir(parents=True)
    (rep / f"{hp.PROJECT}_csynth.xml").write_text(CSYNTH.format(b=4, d=2, f=900, lut=1500))
    (rep / "dense_latency_1_csynth.xml").write_text(CSYNTH.format(b=0, d=0, f=100, lut=300))
    out = hp.read_report(tmp_path, tool="hls4ml-Vitis")
    assert out.total["LUT"] == 1500 and out.total["FF"] == 900 and out.total["BRAM18"] == 4 and out.total["DSP"] == 2
    assert out.instances["dense_latency_1"]["LUT"] == 300 and out.fits
    assert "| **total** |" in out.markdown()
    with pytest.raises(HardwareError, match="no HLS synthesis report"):
        hp.read_report(tmp_path / "nothing")


@pytest.mark.vivado
@pytest.mark.parametrize("backend", ["Vitis", "Vivado"])
def test_vendor_hls_build(tmp_path, backend):
    exe = hp.build_commands(backend)[0][0]
    if hp.find_tool(exe) is None:
        pytest.skip(f"{exe} is not installed")
    model = cnv(np.random.default_rng(2))
    hm, _ = hp.convert(model, tmp_path / "prj", backend=backend)
    hm.write()
    rep = hp.build(tmp_path / "prj", backend)
    assert rep.total["LUT"] > 0


def test_stage_config_defaults():
    cfg = HwConfig()
    assert cfg.backend == "rtl" and cfg.hls4ml_backend == "Vitis" and cfg.hls4ml_board == "pynq-z2"
    assert cfg.hls4ml_csim_inputs >= 1000


@pytest.mark.slow
def test_qonnx_ingest_drops_the_weight_zero_point(tmp_path, trained_hls_runs):
    """Why the project is built from the IR: hls4ml 1.3's own QONNX ingest of an {alpha,beta} layer keeps
    the weights d*b and drops the zero-point term, so its first pre-activation is off by exactly -w0*S(x)."""
    import contextlib
    import io

    import hls4ml
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.channels_last import ConvertToChannelsLastAndClean
    from qonnx.transformation.gemm_to_matmul import GemmToMatMul
    from qonnx.util.cleanup import cleanup_model

    from sbnn.ir import load

    run = trained_hls_runs["main-job-sfc"]
    m = cleanup_model(ModelWrapper(str(run.path / "export" / "model.onnx")))
    m = cleanup_model(m.transform(ConvertToChannelsLastAndClean()).transform(GemmToMatMul()))
    cfg = hls4ml.utils.config.config_from_onnx_model(m, granularity="name", backend="Vitis",
                                                     default_precision="fixed<32,20>")
    for layer_cfg in cfg["LayerName"].values():
        layer_cfg["Trace"] = True
    with contextlib.redirect_stdout(io.StringIO()):
        hm = hls4ml.converters.convert_from_onnx_model(m, output_dir=str(tmp_path / "q"), io_type="io_stream",
                                                       backend="Vitis", hls_config=cfg)
        x = np.load(run.path / "export" / "samples.npz")["x"][:100].astype(np.int64)
        _, tr = hm.trace(np.ascontiguousarray(x.reshape(100, -1).astype(np.float64)))
    ir = load(run.path / "export" / "ir")
    first = ir.layers[0]
    assert first.w0 != 0 and (first.directions == UP).all()
    want = x.reshape(100, -1) @ first.w_int().T - first.thresholds[None, :]  # thresholds sit in the bias
    s = x.reshape(100, -1).sum(axis=1)
    got = np.asarray(tr["Dense_MatMul_0"]).reshape(100, -1)
    assert np.array_equal(got - want, np.repeat((-first.w0 * s)[:, None], first.out_channels, axis=1))
