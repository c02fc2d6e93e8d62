"""Mask structures through export: sbnn's own structured models export, verify and record their structure in the
IR; lowering a foreign QONNX graph records the structure its bits happen to have."""

import json

import numpy as np
import pytest

from sbnn.export.config import ExportConfig
from sbnn.export.lower import lower
from sbnn.export.pipeline import export
from sbnn.export.qonnx_io import export_ir_qonnx
from sbnn.ir import load
from sbnn.ir import structure as S
from sbnn.ir.synthetic import random_model, random_structured_bits

SMALL_CNV = {"model.arch": "cnv", "model.conv_channels": "[16,16]", "model.pool_after": "[1]", "model.fc": "[32]",
             "model.padding": "valid", "data.input": "multibit", "quant.method": "ab-closed",
             "quant.first_last_sparsity": 0.5}


@pytest.mark.parametrize("structure,sparsity,want", [
    ("1:8", None, ["4:8", "1:8", "1:8", "4:8"]),
    ("block:4", 0.75, ["block:4"] * 4),
    ("row", 0.875, ["row"] * 4),
])
def test_a_structured_model_exports_verifies_and_records_its_structure(tmp_path, trained_run, structure, sparsity,
                                                                       want):
    extra = {"quant.structure": structure} | ({"quant.sparsity": sparsity} if sparsity is not None else {})
    run = trained_run(tmp_path / "r", **SMALL_CNV, **extra)
    report = export(run, ExportConfig(samples=300), log=lambda m: None)
    assert report["verification"]["passed"]
    assert report["ir"]["structure"] == dict(zip(["mvu0", "mvu1", "mvu2", "mvu3"], want))
    for name, rec in report["structure"].items():  # what detection sees is at least the recorded promise
        assert rec["configured"] == report["ir"]["structure"][name] and rec["detected"] is not None
    ir = load(run.path / "export" / "ir")  # load() checks every recorded structure against the bits
    assert [m.structure for m in ir.mvus] == want
    meta = json.loads((run.path / "export" / "ir.json").read_text())
    assert meta["version"] == 2
    dense = ir.mvus[2]  # reads the 2x2x16 map in (h, w, c) order: the groups follow that order
    assert dense.in_shape[2] == 16 and S.holds(dense.weight_bits, want[2])


def test_lowering_detects_the_structure_of_foreign_bits(tmp_path):
    rng = np.random.default_rng(7)
    ir = random_model(rng, input_shape=(6, 6, 8), convs=(16,), dense=(24,), classes=8)
    made = ["1:8", "block:8", "none"]
    for layer, structure in zip(ir.mvus, made):
        m, k = layer.weight_bits.shape
        layer.weight_bits = random_structured_bits(rng, m, k, structure, 0.6)
    ir.mvus[2].weight_bits[0, :] = True  # an unbalanced score layer: no structure at all
    path = tmp_path / "m.onnx"
    export_ir_qonnx(ir.validate(), path)  # QONNX holds conv weights channels first; lowering undoes that
    lowered = lower(path).model
    assert [m.structure for m in lowered.mvus] == ["1:8", "block:8", "none"]
    assert [m.structure for m in lowered.mvus] == [str(S.detect(m.weight_bits)) for m in lowered.mvus]


def test_finn_reference_weights_have_no_structure(bnn_pynq):
    lowered = lower(bnn_pynq("tfc_1w1a")).model
    assert [m.structure for m in lowered.mvus] == ["none"] * 4
