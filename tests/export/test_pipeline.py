"""`sbnn export` end to end on tiny trained runs: artefacts, verification, refusals, CLI errors."""

import json
import subprocess
import sys

import numpy as np
import pytest

from sbnn.cli import main
from sbnn.data.idx import write_idx
from sbnn.errors import ExportError
from sbnn.export.config import ExportConfig
from sbnn.export.pipeline import export
from sbnn.ir import load
from sbnn.runs import RunDir
from sbnn.sim.bitexact import simulate
from sbnn.training.models import layer_sparsity
from sbnn.training.trainer import load_trained

CASES = {
    "tfc-closed-binary": {"quant.method": "ab-closed", "quant.sparsity": 0.9},
    "tfc-closed-moment-multibit": {"quant.method": "ab-closed", "quant.levels": "moment", "data.input": "multibit"},
    "tfc-zero-alpha": {"quant.method": "ab-closed", "quant.levels": "zero", "quant.sparsity": 0.8},
    "tfc-learned": {"quant.method": "ab-learned", "quant.sparsity": 0.9},
    "tfc-learned-tuned": {"quant.method": "ab-learned-tuned", "quant.sparsity": 0.9},  # exact-count projection
    "tfc-bnn-bn-head": {"quant.method": "bnn", "model.head": "bn"},
    "tfc-sdbnn-static": {"quant.method": "sd-bnn"},
    "cnv-closed-multibit": {"model.arch": "cnv", "model.width": 0.125, "quant.method": "ab-closed",
                            "data.input": "multibit", "quant.sparsity": 0.75},
    "cnv-bnn-valid": {"model.arch": "cnv", "model.width": 0.125, "quant.method": "bnn", "model.conv_channels": "[8,8]",
                      "model.pool_after": "[]", "model.fc": "[16]", "model.padding": "valid"},
}


@pytest.mark.parametrize("case", list(CASES))
def test_export_verifies_every_method_and_architecture(tmp_path, trained_run, case):
    run = trained_run(tmp_path / case, **CASES[case])
    report = export(run, ExportConfig(), log=lambda m: None)
    v = report["verification"]
    assert v["passed"] and v["lowered_ir_equals_folded_ir"]["equal"]
    assert v["qonnx_equals_sim"]["equal"] and v["qonnx_equals_sim"]["samples"] >= 1000
    assert v["torch_int_equals_qonnx"]["equal"]
    f = v["float_model_vs_sim"]
    assert f["ok"] and f["disagree_non_tie"] == 0 and f["samples"] >= 1000
    out = run.path / "export"
    for name in ("model.onnx", "ir.json", "ir.npz", "samples.npz", "verify.json", "config.yaml"):
        assert (out / name).exists(), name
    ir = load(out / "ir")
    model, cfg, _ = load_trained(run)
    trained = [v for k, v in layer_sparsity(model).items() if k != "global"]
    assert [m.sparsity for m in ir.mvus] == pytest.approx(trained, abs=1e-9)
    samples = np.load(out / "samples.npz")
    sim = simulate(ir, samples["x"])
    test = samples["is_test"]
    assert abs((sim.predictions[test] == samples["y"][test]).mean() - report["accuracy"]["sim_test_accuracy"]) < 1e-12


def test_export_is_idempotent_and_redone_when_the_checkpoint_changes(tmp_path, trained_run):
    run = trained_run(tmp_path / "r")
    export(run, ExportConfig(samples=200), log=lambda m: None)
    msgs = []
    export(run, ExportConfig(samples=200), log=msgs.append)
    assert "up to date" in msgs[0]
    msgs.clear()
    export(run, ExportConfig(samples=300), log=msgs.append)  # a different config redoes it
    assert not any("up to date" in m for m in msgs)


@pytest.mark.parametrize("overrides,message", [
    ({"model.arch": "resnet20", "model.width": 0.25}, "residual"),
    ({"quant.method": "sd-bnn", "quant.asd": "dynamic"}, "asd=static"),
])
def test_unsupported_models_are_refused_and_leave_no_export(tmp_path, trained_run, overrides, message):
    run = trained_run(tmp_path / "r", **{"optim.epochs": 1, "data.train_subset": 64, **overrides})
    (run.path / "export").mkdir()
    (run.path / "export" / "ir.json").write_text("{}")  # what was there before a failed export stays as it was
    with pytest.raises(ExportError, match=message):
        export(run, ExportConfig(samples=50), log=lambda m: None)
    assert [p.name for p in (run.path / "export").iterdir()] == ["ir.json"]
    assert (run.path / "export" / "ir.json").read_text() == "{}"
    assert not (run.path / ".export.tmp").exists()


def test_foreign_qonnx_is_lowered_with_real_inputs(tmp_path, bnn_pynq):
    data = tmp_path / "data" / "mnist"
    data.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 40), ("t10k", 30)):
        write_idx(data / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(data / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n, dtype=np.uint8))
    run = RunDir(tmp_path / "foreign")
    cfg = ExportConfig(qonnx=str(bnn_pynq("tfc_1w1a")), dataset="mnist", data_dir=str(tmp_path / "data"), samples=70,
                       input_prescale=1 / 255)
    report = export(run, cfg, log=lambda m: None)
    v = report["verification"]
    assert v["passed"] and v["qonnx_argmax_equals_sim"]["agree"] >= 68 and v["qonnx_vs_sim_logits_max_abs"] < 1e-3
    a = v["qonnx_vs_sim"]
    assert a["ok"] and a["samples"] == 70 and a["bits_differ_non_tie"] == a["beyond_tolerance"] == 0
    assert load(run.path / "export" / "ir").layers[0].kind == "threshold"
    assert (run.path / "export" / "manifest.json").exists()


@pytest.mark.parametrize("damage", ["threshold", "head"])
def test_foreign_verification_fails_when_the_ir_computes_something_else(tmp_path, trained_run, monkeypatch, damage):
    """A lowering that got one threshold (or the score scale) wrong is caught: non-zero exit, the previous
    export untouched, the evidence in .export.failed."""
    from sbnn.export import lower as lower_mod
    from sbnn.export import pipeline

    run = trained_run(tmp_path / "r")
    export(run, ExportConfig(samples=200), log=lambda m: None)
    foreign = tmp_path / "foreign.onnx"
    import onnx

    m = onnx.load(str(run.path / "export" / "model.onnx"))
    del m.metadata_props[:]
    onnx.save(m, str(foreign))
    before = {p.name: p.read_bytes() for p in (run.path / "export").iterdir()}
    real = lower_mod.lower

    def wrong(*args, **kw):
        lowered = real(*args, **kw)
        mvu = lowered.model.mvus[1]
        if damage == "threshold":
            mvu.thresholds = mvu.thresholds.copy()
            mvu.thresholds[0] += 3
        else:
            lowered.model.head.gain = lowered.model.head.gain * 1.5
        return lowered

    monkeypatch.setattr(lower_mod, "lower", wrong)
    cfg = ExportConfig(qonnx=str(foreign), dataset="digits", samples=200, input_bits=5, input_scale=1.0)
    with pytest.raises(ExportError, match="verification failed: .*(differs from QONNX|logits differ from QONNX.s by more than)"):
        pipeline.export(run, cfg, log=lambda m: None)
    assert {p.name: p.read_bytes() for p in (run.path / "export").iterdir()} == before
    rep = json.loads((run.path / ".export.failed" / "verify.json").read_text())["verification"]
    assert not rep["passed"] and not rep["qonnx_vs_sim"]["ok"]
    monkeypatch.setattr(lower_mod, "lower", real)
    assert pipeline.export(run, cfg, log=lambda m: None)["verification"]["qonnx_vs_sim"]["ok"]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "sbnn.cli", *args], capture_output=True, text=True)


@pytest.mark.parametrize("args,message", [
    (["export", "--run", "{tmp}/none"], "no checkpoint"),
    (["export", "--run", "{tmp}/r", "--qonnx", "{tmp}/junk.onnx", "--dataset", "digits"], "not a readable ONNX"),
    (["export", "--run", "{tmp}/r", "--set", "samples=0"], "samples"),
    (["sim", "--run", "{tmp}/none"], "export"),
])
def test_cli_bad_input_is_one_line_and_non_zero(tmp_path, args, message):
    (tmp_path / "junk.onnx").write_bytes(b"\x08\x01garbage" * 50)
    proc = cli(*[a.format(tmp=tmp_path) for a in args])
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    err = [line for line in proc.stderr.splitlines() if line.strip() and "Warning" not in line and "warn" not in line]
    assert len(err) == 1 and message in err[0], proc.stderr


def test_corrupted_checkpoint_via_cli(tmp_path, trained_run):
    run = trained_run(tmp_path / "r", **{"optim.epochs": 1, "data.train_subset": 64})
    ckpt = run.path / "train" / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[: len(ckpt.read_bytes()) // 2])
    assert main(["export", "--run", str(run.path)]) == 2
    assert json.dumps({}) == "{}"
