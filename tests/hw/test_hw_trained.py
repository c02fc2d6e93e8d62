"""RTL regression on networks that went through the whole flow: trained on digits, exported, lowered.

The main job's architecture (SFC on 8x8 digits, multi-bit input, {alpha, beta} at 90 % zero bits) and
a small CNV-style net are trained for a few seconds, exported (QONNX round trip included), folded for a
target throughput, generated and simulated in Verilator on >= 1,000 real images: scores == bit-exact
simulator, latency and interval == cycle model. A FINN CNV-size net (Brevitas bnn_pynq CNV_1W1A,
lowered from its standard QONNX export) runs under the slow marker.
"""

import warnings

import numpy as np
import pytest
import torch

from sbnn.arch import folding as fold
from sbnn.export.config import ExportConfig
from sbnn.export.pipeline import export
from sbnn.hw.rtlsim.api import run_rtl
from sbnn.ir import load
from sbnn.runs import RunDir
from sbnn.sim.bitexact import Simulator
from sbnn.training.config import TrainConfig
from sbnn.training.trainer import train

pytestmark = pytest.mark.rtl

NETS = {
    "main-job-sfc": {"model.arch": "sfc", "data.input": "multibit", "quant.method": "ab-closed",
                     "quant.sparsity": 0.9, "optim.epochs": 3},
    "cnv-small-learned": {"model.arch": "cnv", "model.conv_channels": "[8,8]", "model.pool_after": "[1]",
                          "model.fc": "[32]", "quant.method": "ab-learned", "quant.sparsity": 0.75,
                          "optim.epochs": 2, "data.train_subset": 400},
}


def _trained_run(path, overrides: list[str], samples: int) -> RunDir:
    """A run trained (a few seconds) and exported with ``samples`` real inputs."""
    run = RunDir(path)
    train(TrainConfig.resolve(overrides=overrides), run, log=lambda m: None)
    export(run, ExportConfig(samples=samples), log=lambda m: None)
    return run


@pytest.mark.parametrize("net", list(NETS))
def test_trained_network_rtl_equals_sim_and_cycle_model(tmp_path, hwt, net):
    hwt.need_verilator()
    run = _trained_run(tmp_path / net, [f"{k}={v}" for k, v in NETS[net].items()], 1200)
    ir = load(run.path / "export" / "ir")
    ir = fold.apply(ir, fold.auto(ir, 200_000, 100.0).folding)
    x = np.load(run.path / "export" / "samples.npz")["x"].astype(np.int64)
    assert len(x) >= 1000
    res = run_rtl(ir, x, tmp_path / "rtl")
    want = Simulator(ir).run(x).scores
    assert np.array_equal(res.scores, want)
    assert res.latency == res.model_latency and res.interval == res.model_interval


@pytest.mark.slow
def test_finn_cnv_size_network_rtl(tmp_path, hwt):
    hwt.need_verilator()
    from brevitas.export import export_qonnx
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    from sbnn.export.lower import lower

    torch.manual_seed(0)
    model, _ = model_with_cfg("cnv_1w1a", pretrained=False)
    model.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        export_qonnx(model, input_t=torch.rand(1, 3, 32, 32), export_path=str(tmp_path / "cnv.onnx"), dynamo=False)
    ir = lower(tmp_path / "cnv.onnx").model
    ir = fold.apply(ir, fold.auto(ir, 3000, 100.0).folding)
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, (1000, *ir.input.shape)).astype(np.int64)
    res = run_rtl(ir, x, tmp_path / "rtl")
    assert np.array_equal(res.scores, Simulator(ir).run(x).scores)
    assert res.latency == res.model_latency and res.interval == res.model_interval


def test_sim_rtl_runs_the_synthesized_design_at_its_target(tmp_path, hwt, capsys):
    """`sbnn synth --target-fps` then `sbnn sim --rtl`: the regenerated design is the synthesized RTL (an
    edited file is refused), it meets the target exactly (gap codes may not spend clocks the target does
    not leave), and the Verilator run equals the simulator and the cycle model."""
    import json

    from sbnn.cli import main

    hwt.need_verilator()
    run = _trained_run(tmp_path / "r", [f"{k}={v}" for k, v in NETS["main-job-sfc"].items()]
                       + ["optim.epochs=1", "data.train_subset=300"], 200)
    assert main(["synth", "--run", str(run.path), "--no-synth", "--target-fps", "200000"]) == 0
    cyc = json.loads((run.path / "hw" / "cycles.json").read_text())
    assert cyc["interval_cycles"] <= 500 and "NOT reached" not in cyc["folding_source"]
    gathers = {f.get("gather") for f in json.loads((run.path / "hw" / "folding.json").read_text()).values()}
    assert gathers & {"lutram", "lutram1"}
    assert main(["sim", "--run", str(run.path), "--rtl"]) == 0
    rep = json.loads((run.path / "sim" / "report.json").read_text())["rtl"]
    assert rep["equal"] and rep["timing_equals_cycle_model"] and rep["interval"] == cyc["interval_cycles"]
    capsys.readouterr()
    top = next((run.path / "hw" / "rtl").glob("*_top.v"))
    top.write_text(top.read_text() + "// edited\n")
    assert main(["sim", "--run", str(run.path), "--rtl"]) == 2
    err = capsys.readouterr().err.strip()  # refused by hw/'s manifest first
    assert "hw/rtl/" in err and "changed after 'sbnn synth' wrote it" in err and len(err.splitlines()) == 1
    (run.path / "hw" / "manifest.json").unlink()  # taken as it is: the regenerated design must still match
    assert main(["sim", "--run", str(run.path), "--rtl"]) == 2
    err = capsys.readouterr().err.strip()
    assert "is not what" in err and "run 'sbnn synth' again" in err and len(err.splitlines()) == 1


def test_sim_rtl_of_an_interleaved_network_checks_the_regrouped_design(tmp_path, hwt, capsys):
    """The main job's interleaved 2:16i mask through `sbnn synth` and `sbnn sim --rtl`: the design is built from
    the regrouped model (sbnn.arch.regroup: contiguous groups, the pixels sent in group order), and its
    Verilator scores equal the simulator's of the exported, interleaved IR."""
    import json

    from sbnn.cli import main

    hwt.need_verilator()
    run = _trained_run(tmp_path / "r", ["data.input=multibit", "quant.method=ab-closed", "quant.structure=2:16i",
                                        "quant.sparsity=0.875", "optim.epochs=1", "data.train_subset=300"], 1000)
    assert {m.structure for m in load(run.path / "export" / "ir").mvus} >= {"2:16i"}
    capsys.readouterr()
    assert main(["synth", "--run", str(run.path), "--no-synth", "--target-fps", "200000"]) == 0
    assert "read contiguous groups: the host sends mvu0's input in group order" in capsys.readouterr().out
    assert json.loads((run.path / "hw" / "cycles.json").read_text())["regrouped"] == ["mvu0", "mvu1", "mvu2", "mvu3"]
    stream = json.loads((run.path / "hw" / "stream.json").read_text())
    assert sorted(stream["in_order"]) == list(range(64)) and stream["in_order"] != list(range(64))
    assert main(["sim", "--run", str(run.path), "--rtl"]) == 0
    rep = json.loads((run.path / "sim" / "report.json").read_text())["rtl"]
    assert rep["equal"] and rep["samples"] == 1000 and rep["timing_equals_cycle_model"]
