"""Synthesis reports: primitive classification, per-layer grouping, device fit, and real Yosys runs."""

from __future__ import annotations

import json

import numpy as np

from sbnn.arch import folding
from sbnn.arch.depth import DELAYS_NS, budget_ns, meets
from sbnn.arch.device import DEVICE
from sbnn.hw.rtl.design import GenOptions, generate
from sbnn.hw.synth.report import SynthReport, classify
from sbnn.hw.synth.timing import analyze
from sbnn.hw.synth.yosys import _report, run_yosys
from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel
from sbnn.ir.synthetic import random_model, random_mvu


def test_classify_counts_luts_as_vivado_does():
    r = classify({"LUT1": 2, "LUT6": 5, "FDRE": 7, "FDSE": 1, "CARRY4": 3, "RAM64X1D": 2, "RAM32M": 1,
                  "SRLC32E": 4, "RAMB18E1": 1, "RAMB36E1": 2, "DSP48E1": 1, "MUXF7": 2, "mysub": 1})
    assert (r["LUT_logic"], r["LUTRAM"], r["SRL"], r["LUT"]) == (7, 8, 4, 19)
    assert (r["FF"], r["CARRY4"], r["BRAM18"], r["BRAM36"], r["DSP"], r["MUXF"]) == (8, 3, 1, 2, 1, 2)


def _design():
    m = random_model(np.random.default_rng(0), input_shape=(6, 6, 1), convs=(4,), dense=(8,), sparsity=0.8)
    return generate(m)


def test_report_grouping_fit_and_markdown():
    d = _design()
    mods = {f"\\{name[:-2]}": {"num_cells_by_type": {"LUT6": 10, "FDRE": 5}} for name in d.files}
    mods[f"\\{d.top}"]["num_cells_by_type"].update({name[:-2]: 1 for name in d.files if name[:-2] != d.top})
    rep = _report(d, {"modules": mods}, "yosys", 1.0)
    n_mod = len(d.files)
    assert rep.total["LUT"] == 10 * n_mod and rep.total["FF"] == 5 * n_mod
    assert sum(row["LUT"] for row in rep.layers) == rep.total["LUT"]
    assert [row["layer"] for row in rep.layers][:-1] == [layer.name for layer in d.model.layers]
    assert rep.fits and "Fits the device" in rep.markdown()
    big = SynthReport("yosys", "t", {}, {**rep.total, "LUT": 60000, "BRAM36": 150})
    assert not big.fits and big.over() == ["LUT 112.8%", "BRAM36 107.1%"] and "Does NOT fit" in big.markdown()
    assert json.loads(json.dumps(big.to_json()))["fits"] is False and DEVICE["LUT"] == 53200


def _cell(ctype, conns, dirs):
    return {"type": ctype, "port_directions": dirs, "connections": conns}


def _netlist():
    """top: in -> u_a (FF -> 4 x LUT6 -> CARRY4 -> CARRY4 -> FF; a BRAM -> LUT -> FF) -> out."""
    lut = {"I0": "input", "I1": "input", "O": "output"}
    ff = {"C": "input", "D": "input", "Q": "output"}
    c4 = {"CI": "input", "S": "input", "CO": "output", "O": "output"}
    a = {"ports": {"x": {"direction": "input", "bits": [2]}, "y": {"direction": "output", "bits": [9]}},
         "cells": {"f0": _cell("FDRE", {"C": [1], "D": [2], "Q": [3]}, ff),
                   "l1": _cell("LUT6", {"I0": [3], "I1": [3], "O": [4]}, lut),
                   "l2": _cell("LUT6", {"I0": [4], "I1": [2], "O": [13]}, lut),
                   "l4": _cell("LUT6", {"I0": [13], "I1": [2], "O": [14]}, lut),
                   "l5": _cell("LUT6", {"I0": [14], "I1": [14], "O": [5]}, lut),
                   "c1": _cell("CARRY4", {"CI": ["0"], "S": [5], "CO": [6], "O": [20]}, c4),
                   "c2": _cell("CARRY4", {"CI": [6], "S": ["0"], "CO": [21], "O": [7]}, c4),
                   "f1": _cell("FDRE", {"C": [1], "D": [7], "Q": [9]}, ff),
                   "b": _cell("RAMB18E1", {"CLKARDCLK": [1], "DOADO": [10]}, {"CLKARDCLK": "input", "DOADO": "output"}),
                   "l3": _cell("LUT6", {"I0": [10], "I1": [10], "O": [11]}, lut),
                   "f2": _cell("FDRE", {"C": [1], "D": [11], "Q": [12]}, ff)},
         "netnames": {"acc": {"hide_name": 0, "bits": [9]}, "rd": {"hide_name": 0, "bits": [3]}}}
    top = {"ports": {"clk": {"direction": "input", "bits": [1]}, "in": {"direction": "input", "bits": [2]},
                     "out": {"direction": "output", "bits": [3]}},
           "cells": {"u_a": {"type": "a", "connections": {"x": [2], "y": [3]}}}}
    return {"modules": {"top": top, "a": a}}


def test_timing_walks_the_netlist_with_the_delay_model():
    """Levels, carries and delay of the longest path into each stage instance, under DELAYS_NS."""
    t = analyze(_netlist(), "top", {"top", "a"})
    d = DELAYS_NS
    a = t["u_a"]
    # FF -> 4 x (net, LUT) -> (dedicated) CARRY4 -> (dedicated) CARRY4 -> net -> FF setup
    want = d["ff_clk_to_q"] + 4 * (d["net"] + d["lut"]) + d["carry_in"] + d["carry_bypass"] + d["net"] + d["setup"]
    assert (a.levels, a.carry4) == (4, 2) and abs(a.delay_ns - want) < 1e-9
    assert a.start == "u_a.rd" and a.end == "u_a.acc" and a.path == "LUT6 > LUT6 > LUT6 > LUT6 > CARRY4 > CARRY4"
    assert a.delay_ns > d["bram_clk_to_q"] + d["net"] + d["lut"] + d["net"] + d["setup"]  # the BRAM path is shorter
    assert "(top)" in t and t["(top)"].start.startswith("u_a")  # the FF output reaches the top-level port
    assert meets(budget_ns(100), 100) and not meets(budget_ns(100) + 0.01, 100)


def test_yosys_accepts_every_unit_and_reports_per_layer(hwt, tmp_path):
    """All unit kinds (threshold, window, pool, collector, folded sparse, unrolled) through synth_xilinx."""
    hwt.need_yosys()
    m = random_model(np.random.default_rng(2), input_shape=(6, 6, 1), convs=(4,), dense=(8,), sparsity=0.8, name="ys")
    last = m.mvus[-1]
    m = folding.apply(m, {last.name: {"PE": last.out_channels, "SIMD": last.in_features}})
    d = generate(m)
    d.write(tmp_path)
    rep = run_yosys(d, tmp_path, use_cache=False)
    assert rep.total["LUT"] > 0 and rep.total["FF"] > 0 and rep.total["DSP"] == 0 and rep.fits
    by = {row["layer"]: row for row in rep.layers}
    assert all(by[layer.name]["LUT"] > 0 for layer in m.layers)
    # every stage's logic depth and Fmax estimate, in the report and its files (a path is reported in the
    # instance it ends in: through a combinational unit - threshold, unrolled MVU - into its output FIFO)
    assert {f"u_fifo{i}" for i in range(len(d.stages))} <= set(rep.timing)
    assert all(by[layer.name]["levels"] >= 1 and by[layer.name]["fmax_mhz_estimate"] > 0 for layer in m.layers)
    crit = rep.critical()
    assert rep.fmax_mhz == min(t["fmax_mhz_estimate"] for t in rep.timing.values()) == crit[1]["fmax_mhz_estimate"]
    data = json.loads(json.dumps(rep.to_json()))
    assert data["timing"]["estimate"] is True and data["timing"]["critical_instance"] == crit[0]
    assert "Fmax est. (MHz)" in rep.markdown() and "an **estimate**" in rep.markdown()
    again = run_yosys(d, tmp_path)  # cached: same Verilog, same report
    assert again.total == rep.total and again.timing == rep.timing


def test_yosys_dense_baseline(hwt, tmp_path):
    hwt.need_yosys()
    m = random_model(np.random.default_rng(3), input_shape=(4, 4, 1), convs=(), pool=False, dense=(16,), sparsity=0.5,
                     name="ysd")
    d = generate(folding.apply(m, {m.mvus[0].name: {"PE": 4, "SIMD": 8}}), GenOptions(style="dense"))
    d.write(tmp_path)
    rep = run_yosys(d, tmp_path, use_cache=False)
    assert rep.total["LUT"] > 0 and rep.fits


def test_weight_rom_placement(hwt, tmp_path):
    """weight_rom per layer: "block" puts a folded layer's weights in BRAM, "distributed" in LUTs."""
    hwt.need_yosys()
    m = random_model(np.random.default_rng(4), input_shape=(1, 1, 64), convs=(), pool=False, dense=(64,),
                     sparsity=0.5, name="rom")
    a, b = (layer.name for layer in m.mvus)
    m = folding.apply(m, {a: {"PE": 8, "SIMD": 8}, b: {"PE": 2, "SIMD": 8}})
    impls = folding.resolve_impls(m, {a: {"weight_rom": "block"}, b: {"weight_rom": "distributed"}}, style="dense")
    d = generate(m, GenOptions(style="dense"), impls=impls)
    d.write(tmp_path)
    rep = run_yosys(d, tmp_path, use_cache=False)
    by = {row["layer"]: row for row in rep.layers}
    assert by[a]["BRAM18"] + by[a]["BRAM36"] > 0
    assert by[b]["BRAM18"] + by[b]["BRAM36"] == 0


def test_nm_picks_use_the_slice_muxes(hwt, tmp_path):
    """N:M picks of 8 and 16 inputs are two / four 4:1 LUTs joined by MUXF7 (and MUXF8), as instantiated: Yosys
    keeps the primitives (its hierarchy check knows them) and the design carries their simulation models."""
    hwt.need_yosys()
    for structure, f7, f8 in (("1:8", 1, 0), ("1:16", 2, 1)):
        rng = np.random.default_rng(5)
        fc = random_mvu(rng, "fc", "dense", (1, 1, 64), 8, pe=2, simd=32, in_type=BIPOLAR, structure=structure)
        tail = random_mvu(rng, "tail", "dense", (1, 1, 8), 2, output=True)
        m = IRModel("mx", InputSpec((1, 1, 64), BIPOLAR), [fc, tail], Head(np.ones(2), np.zeros(2))).validate()
        d = generate(m, GenOptions(style="nm"), upto="fc", name=f"mx{structure.replace(':', 'of')}")
        assert {f"MUXF{k}.v" for k, n in ((7, f7), (8, f8)) if n} == {f for f in d.files if f.startswith("MUXF")}
        d.write(tmp_path / structure.replace(":", "of"))
        rep = run_yosys(d, tmp_path / structure.replace(":", "of"), use_cache=False)
        picks = 2 * 32 // int(structure.split(":")[1])  # PE x groups per word, one pick each
        assert rep.total["MUXF"] == picks * (f7 + f8)
