"""Vivado: Tcl generation, hierarchical report parsing, clear message when absent, real run when present."""

from __future__ import annotations

import numpy as np
import pytest

from sbnn.errors import ToolNotFound
from sbnn.hw.rtl.design import GenOptions, generate
from sbnn.hw.synth.vivado import parse_hierarchical, report_from_vivado, run_vivado, tcl_script
from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel
from sbnn.ir.synthetic import random_model, random_mvu
from sbnn.tools import find_tool, has_tool

SAMPLE = """Copyright 1986-2022 Xilinx, Inc. All Rights Reserved.
1. Utilization by Hierarchy
---------------------------

+--------------------+---------------------+------------+------------+---------+------+------+--------+--------+--------------+
|      Instance      |        Module       | Total LUTs | Logic LUTs | LUTRAMs | SRLs |  FFs | RAMB36 | RAMB18 | DSP48 Blocks |
+--------------------+---------------------+------------+------------+---------+------+------+--------+--------+--------------+
| {top}              |               (top) |        130 |        100 |      20 |   10 |  200 |      1 |      2 |            0 |
|   u_L0_input       |   {name}_L0_input   |         14 |         14 |       0 |    0 |    7 |      0 |      0 |            0 |
|   u_fifo0          |    {name}_fifo0     |          6 |          2 |       4 |    0 |    4 |      0 |      0 |            0 |
|   u_L1_mvu0        |   {name}_L1_mvu0    |        100 |         74 |      16 |   10 |  180 |      1 |      2 |            0 |
+--------------------+---------------------+------------+------------+---------+------+------+--------+--------+--------------+
"""


def _design():
    m = random_model(np.random.default_rng(0), input_shape=(4, 4, 1), convs=(), pool=False, dense=(8,), name="viv")
    return generate(m)


def test_tcl_script_keeps_hierarchy():
    d = _design()
    tcl = tcl_script(d)
    assert "synth_design -top viv_top -part xc7z020clg400-1" in tcl and "-flatten_hierarchy none" in tcl
    assert "report_utilization -hierarchical" in tcl and all(f in tcl for f in d.files)


def test_tcl_script_leaves_out_the_primitive_models():
    """An N:M design instantiates MUXF7 and carries its simulation model: Vivado reads the design, not the model."""
    fc = random_mvu(np.random.default_rng(1), "fc", "dense", (1, 1, 64), 4, pe=2, simd=32, structure="1:8",
                    output=True)
    d = generate(IRModel("vnm", InputSpec((1, 1, 64), BIPOLAR), [fc], Head(np.ones(4), np.zeros(4))).validate(),
                 GenOptions(style="nm"))
    read = tcl_script(d).splitlines()[2]
    assert "MUXF7.v" in d.files and "MUXF7.v" not in read
    assert all(f in read for f in d.files if f != "MUXF7.v")


def test_parse_hierarchical_report():
    d = _design()
    text = SAMPLE.format(top=d.top, name=d.name)
    rows = parse_hierarchical(text)
    assert rows["u_L1_mvu0"]["LUT"] == 100 and rows["u_L1_mvu0"]["BRAM18"] == 2 and rows[d.top]["FF"] == 200
    rep = report_from_vivado(d, text)
    assert rep.total["LUT"] == 130 and rep.instances["(top)"]["LUT"] == 10
    assert sum(r["LUT"] for r in rep.layers) == 130


def test_absent_vivado_is_a_clear_error_and_the_script_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("SBNN_VIVADO", raising=False)
    find_tool.cache_clear()
    try:
        with pytest.raises(ToolNotFound, match="Vivado is not installed.*synth.tcl"):
            run_vivado(_design(), tmp_path)
    finally:
        find_tool.cache_clear()
    assert (tmp_path / "synth.tcl").exists()


@pytest.mark.vivado
def test_real_vivado_synthesis(tmp_path):
    if not has_tool("vivado"):
        pytest.skip("Vivado is not installed")
    d = _design()
    d.write(tmp_path)
    rep = run_vivado(d, tmp_path)
    assert rep.total["LUT"] > 0 and rep.fits
