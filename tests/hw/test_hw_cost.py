"""The cost model (sbnn.arch.cost) against Yosys: where Yosys puts a ROM, and the stored coefficients are
the ones the cost-model benchmark fitted (benchmarks/results/hw_cost_model.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sbnn.arch.cost import COEFFS, rom_in_bram
from sbnn.hw.rtl.verilog import Module, rom_init
from sbnn.tools import require_tool

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "hw_cost_model.json"

#: ROM shapes on both sides of Yosys' block-RAM decision (depth, width)
ROMS = [(1024, 8), (1024, 9), (256, 48), (256, 36)]


@pytest.mark.rtl
def test_rom_placement_rule_matches_yosys(hwt, tmp_path):
    hwt.need_yosys()
    rng = np.random.default_rng(0)
    files = []
    for d, w in ROMS:
        m = Module(f"rom_{d}_{w}")
        aw = max(1, (d - 1).bit_length())
        m.port("input wire clk")
        m.port("input wire en")
        m.port(f"input wire [{aw - 1}:0] a")
        m.port(f"output reg [{w - 1}:0] q")
        rom_init(m, "mem", w, [int.from_bytes(rng.bytes(-(-w // 8)), "little") % (1 << w) for _ in range(d)])
        m.line("always @(posedge clk) if (en) q <= mem[a];")
        path = tmp_path / f"{m.name}.v"
        path.write_text(m.text())
        files.append(path.name)
    top = Module("roms")
    top.port("input wire clk")
    top.port("input wire [10:0] a")
    outs = []
    for d, w in ROMS:
        aw = max(1, (d - 1).bit_length())
        top.line(f"wire [{w - 1}:0] q_{d}_{w};")
        top.line(f"rom_{d}_{w} u_{d}_{w} (.clk(clk), .en(a[10]), .a(a[{aw - 1}:0]), .q(q_{d}_{w}));")
        outs.append(f"^q_{d}_{w}")
    top.port("output wire y")
    top.line(f"assign y = {' ^ '.join(outs)};")
    (tmp_path / "roms.v").write_text(top.text())
    script = ("".join(f"read_verilog {f}\n" for f in [*files, "roms.v"])
              + "synth_xilinx -family xc7 -top roms -noiopad\ntee -q -o stat.json stat -json\n")
    (tmp_path / "s.ys").write_text(script)
    require_tool("yosys").run(["-q", "-s", "s.ys"], cwd=tmp_path)
    stat = json.loads((tmp_path / "stat.json").read_text())["modules"]
    for d, w in ROMS:
        cells = {name.lstrip("\\"): mod for name, mod in stat.items()}[f"rom_{d}_{w}"]["num_cells_by_type"]
        bram = any(c.startswith("RAMB") for c in cells)
        assert bram == rom_in_bram(d, w), f"{d} x {w}: Yosys {'BRAM' if bram else 'logic'}, rule disagrees"


def test_stored_coefficients_are_the_benchmark_fit():
    """cost.py holds the coefficients the committed cost-model benchmark fitted, and the committed run
    shows their error against Yosys (so the tables and the model cannot drift apart)."""
    if not RESULTS.exists():
        pytest.skip("benchmarks/results/hw_cost_model.json not recorded")
    data = json.loads(RESULTS.read_text())
    assert data["coeffs"] == COEFFS, "sbnn/arch/cost.py differs from the coefficients the benchmark recorded"
    rows = [r for r in data["designs"] if "lut" in r]
    assert len(rows) >= 40 and len({r["style"] for r in rows}) == 4
    for r in rows:  # the recorded estimate is the stored model applied to the recorded features
        assert r["estimate"] == pytest.approx(sum(COEFFS[k] * v for k, v in r["features"].items()), abs=0.1)
    err = np.abs([r["estimate"] / r["lut"] - 1 for r in rows])
    assert np.median(err) < 0.25, f"median error of the stored model {np.median(err):.0%}"
