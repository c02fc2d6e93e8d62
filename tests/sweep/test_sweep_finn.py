"""FINN baseline: report parsing and the topology handed to the worker (always), and the real
estimate-only FINN flow in the isolated venv (marker ``finn``; skipped when that venv is absent)."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest

from sbnn.errors import ConfigError
from sbnn.runs import RunDir
from sbnn.sweep import finn

#: the three files FINN's step_generate_estimate_reports writes, in its format (finn-plus 1.6.1)
RESOURCES = {"Thresholding_rtl_0": {"BRAM_18K": 0, "BRAM_efficiency": 1, "LUT": 3.0, "URAM": 0, "DSP": 0},
             "MVAU_hls_0": {"BRAM_18K": 1, "BRAM_efficiency": 0.22, "LUT": 516, "URAM": 0, "DSP": 0},
             "MVAU_hls_1": {"BRAM_18K": 2, "BRAM_efficiency": 0.03, "LUT": 331, "URAM": 0, "DSP": 0},
             "total": {"BRAM_18K": 3.0, "LUT": 850.0, "URAM": 0.0, "DSP": 0.0}}
CYCLES = {"Thresholding_rtl_0": 64, "MVAU_hls_0": 128, "MVAU_hls_1": 160}
PERF = {"critical_path_cycles": 352, "max_cycles": 160, "max_cycles_node_name": "MVAU_hls_1",
        "estimated_throughput_fps": 625000.0, "estimated_latency_ns": 3520.0}


def test_parse_reports(tmp_path):
    for name, data in (("estimate_layer_resources", RESOURCES), ("estimate_layer_cycles", CYCLES),
                       ("estimate_network_performance", PERF)):
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
    rep = finn.parse_reports(tmp_path)
    assert [n["node"] for n in rep["nodes"]] == ["Thresholding_rtl_0", "MVAU_hls_0", "MVAU_hls_1"]
    assert [n["cycles"] for n in rep["nodes"]] == [64, 128, 160]
    assert rep["total"]["LUT"] == 850 == rep["total"]["finn_total"]["LUT"]
    assert rep["total"]["BRAM18"] == 3
    assert (rep["max_cycles"], rep["frames_per_second"], rep["critical_path_cycles"]) == (160, 625000, 352)


def test_topology_of_a_dense_point(tiny_sweep):
    from sbnn.ir import load

    root, _ = tiny_sweep
    run = RunDir(root / "tiny-bnn")
    topo = finn.topology(run)
    ir = load(root / "tiny-bnn" / "export" / "ir.json")
    assert [layer["kind"] for layer in topo["layers"]] == ["threshold", "dense", "dense"]
    assert topo["input_shape"] == [8, 8, 1] and topo["input_bits"] == ir.input.type.bits
    for layer in ir.mvus:
        assert np.array_equal(np.array(topo["weights"][layer.name], dtype=bool), layer.weight_bits)
    assert "sbnn.sweep.finn_worker" not in sys.modules  # runs in FINN's venv only


def test_topology_refuses_sparse_levels(tiny_sweep):
    root, _ = tiny_sweep
    with pytest.raises(ConfigError, match="dense BNN points only"):
        finn.topology(RunDir(root / "tiny-ab-closed-0.9"))


def test_missing_venv_is_a_clear_error(tmp_path, capsys):
    assert finn.main(["run", "--venv", str(tmp_path / "none"), "--root", str(tmp_path)]) == 2
    assert "no FINN environment" in capsys.readouterr().err


@pytest.mark.finn
def test_finn_estimates_next_to_ours(tiny_sweep, tmp_path):
    venv = finn.default_venv()
    if not finn.is_ready(venv):
        pytest.skip(f"no FINN environment at {venv} (make finn-baseline, or set SBNN_FINN_VENV)")
    root, _ = tiny_sweep
    sweep = tmp_path / "sweep"
    shutil.copytree(root / "tiny-bnn", sweep / "tiny-bnn", symlinks=True)
    (rec,) = finn.run_baseline(sweep, venv, log=lambda m: None)
    assert rec["ok"], rec.get("error")
    assert rec["target_fps"] == 2_000_000
    assert rec["total"]["LUT"] == sum(n["LUT"] for n in rec["nodes"]) > 0
    assert any(n["node"].startswith("MVAU") for n in rec["nodes"])
    from sbnn.report.build import build_report

    out = build_report(sweep, log=lambda m: None)
    md = (out / "report.md").read_text()
    assert "FINN baseline: FINN's estimate-only flow ran on 1 of 1 dense points." in md
    line = next(ln for ln in md.splitlines() if ln.startswith("| tiny-bnn | 2,000,000 |"))
    assert f"| {rec['total']['LUT']:,} |" in line
    again = finn.run_baseline(sweep, venv, log=lambda m: None)  # up to date: not rebuilt
    assert again == [json.loads((sweep / "tiny-bnn" / "finn" / "baseline.json").read_text())]
