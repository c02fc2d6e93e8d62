"""Synthesis for the Zynq-7020 with Yosys (``synth_xilinx -family xc7``), per layer, with utilisation.

The hierarchy is kept (one module instance per pipeline stage and FIFO), and Yosys' JSON ``stat`` is read
per module, so every layer gets its own LUT / FF / CARRY4 / LUTRAM / SRL / BRAM / DSP counts. LUT-RAM and
SRL primitives are converted to the LUTs they occupy (as Vivado's "Slice LUTs" does). Results are cached
by the hash of the Verilog and the script, because the WebAssembly Yosys is slow-ish.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from sbnn.errors import HardwareError
from sbnn.hw.design import Design
from sbnn.hw.rtlsim import cache_dir
from sbnn.runs import write_atomic, write_json
from sbnn.tools import ToolError, require_tool

#: xc7z020clg400-1 (PYNQ-Z1/Z2) totals
DEVICE = {"part": "xc7z020clg400-1", "LUT": 53200, "LUTRAM": 17400, "FF": 106400, "BRAM36": 140, "DSP": 220}
RESOURCES = ("LUT", "LUT_logic", "LUTRAM", "SRL", "FF", "CARRY4", "MUXF", "BRAM18", "BRAM36", "DSP")

#: LUTs occupied by each distributed-RAM / shift-register primitive
_LUTRAM = {"RAM32X1S": 1, "RAM32X1D": 2, "RAM64X1S": 1, "RAM64X1D": 2, "RAM128X1S": 2, "RAM128X1D": 4,
           "RAM256X1S": 4, "RAM256X1D": 8, "RAM512X1S": 8, "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8}
_SRL = {"SRL16E": 1, "SRLC16E": 1, "SRLC32E": 1}
_FF = ("FDRE", "FDSE", "FDCE", "FDPE", "FDRE_1", "FDSE_1", "FDCE_1", "FDPE_1", "LDCE", "LDPE")
_IGNORED = ("BUFG", "IBUF", "OBUF", "GND", "VCC", "INV")


def classify(cells: dict[str, int]) -> dict[str, int]:
    """Primitive counts of one module -> resource counts (submodule cells are ignored here)."""
    out = dict.fromkeys(RESOURCES, 0)
    for cell, n in cells.items():
        if cell.startswith("LUT") and cell[3:].isdigit():
            out["LUT_logic"] += n
        elif cell in _LUTRAM:
            out["LUTRAM"] += n * _LUTRAM[cell]
        elif cell in _SRL:
            out["SRL"] += n
        elif cell in _FF:
            out["FF"] += n
        elif cell == "CARRY4":
            out["CARRY4"] += n
        elif cell in ("MUXF7", "MUXF8"):
            out["MUXF"] += n
        elif cell == "RAMB18E1":
            out["BRAM18"] += n
        elif cell == "RAMB36E1":
            out["BRAM36"] += n
        elif cell.startswith("DSP48"):
            out["DSP"] += n
    out["LUT"] = out["LUT_logic"] + out["LUTRAM"] + out["SRL"]
    return out


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    return {k: a.get(k, 0) + b.get(k, 0) for k in RESOURCES}


@dataclass
class SynthReport:
    """Per-instance and total resources of one synthesized design."""

    tool: str
    top: str
    instances: dict[str, dict[str, int]]  # instance -> resources (own module, no children)
    total: dict[str, int]
    layers: list[dict] = field(default_factory=list)  # grouped by IR layer
    elapsed_s: float = 0.0
    cached: bool = False
    log: str = ""

    def utilization(self) -> dict[str, float]:
        t = self.total
        return {"LUT": 100 * t["LUT"] / DEVICE["LUT"], "LUTRAM": 100 * (t["LUTRAM"] + t["SRL"]) / DEVICE["LUTRAM"],
                "FF": 100 * t["FF"] / DEVICE["FF"], "BRAM36": 100 * bram36(t) / DEVICE["BRAM36"],
                "DSP": 100 * t["DSP"] / DEVICE["DSP"]}

    def over(self) -> list[str]:
        """Resources beyond the device's capacity (empty list: it fits)."""
        return [f"{k} {v:.1f}%" for k, v in self.utilization().items() if v > 100.0]

    @property
    def fits(self) -> bool:
        return not self.over()

    def to_json(self) -> dict:
        return {"tool": self.tool, "device": DEVICE, "top": self.top, "layers": self.layers, "instances": self.instances,
                "total": self.total, "bram36_equivalent": bram36(self.total),
                "utilization_percent": {k: round(v, 2) for k, v in self.utilization().items()},
                "fits": self.fits, "over": self.over(), "elapsed_s": round(self.elapsed_s, 2), "cached": self.cached}

    def markdown(self) -> str:
        cols = ["LUT", "LUTRAM", "SRL", "FF", "CARRY4", "BRAM18", "BRAM36", "DSP"]
        lines = [f"# Synthesis ({self.tool}, {DEVICE['part']}) of `{self.top}`", "",
                 "| layer | units | " + " | ".join(cols) + " |", "|---|---|" + "---:|" * len(cols)]
        for row in self.layers:
            lines.append(f"| {row['layer']} | {', '.join(row['units'])} | " + " | ".join(str(row[c]) for c in cols) + " |")
        lines.append("| **total** | | " + " | ".join(f"**{self.total[c]}**" for c in cols) + " |")
        u = self.utilization()
        lines += ["", f"Utilisation of the xc7z020: LUT {u['LUT']:.1f}% of {DEVICE['LUT']:,} (LUT-RAM+SRL "
                  f"{u['LUTRAM']:.1f}% of {DEVICE['LUTRAM']:,}), FF {u['FF']:.1f}% of {DEVICE['FF']:,}, "
                  f"BRAM {bram36(self.total):g} BRAM36-eq. = {u['BRAM36']:.1f}% of {DEVICE['BRAM36']}, "
                  f"DSP {u['DSP']:.1f}% of {DEVICE['DSP']}.", ""]
        lines.append("**Fits the device.**" if self.fits else f"**Does NOT fit the device: {', '.join(self.over())}.**")
        return "\n".join(lines) + "\n"


def bram36(t: dict[str, int]) -> float:
    return t["BRAM36"] + t["BRAM18"] / 2


#: ABC9 scripts. "fast" skips ABC's AIG rewriting and don't-care optimisation (&dc2, &dch, &mfs): on big
#: unrolled popcounts (all channels sharing the same inputs) it is 20-40x faster for ~10-30 % more LUTs.
ABC_SCRIPTS = {"default": None, "fast": "+&st;&if,-W,300,-v"}


def yosys_script(design: Design, files: list[str], stat_json: str, options: str = "", abc: str = "default") -> str:
    if abc not in ABC_SCRIPTS:
        raise HardwareError(f"unknown ABC script {abc!r} (use one of {', '.join(ABC_SCRIPTS)})")
    reads = "\n".join(f"read_verilog {f}" for f in files)
    pad = f'scratchpad -set abc9.script "{ABC_SCRIPTS[abc]}"\n' if ABC_SCRIPTS[abc] else ""
    return (f"{reads}\n{pad}hierarchy -check -top {design.top}\n"
            f"synth_xilinx -family xc7 -top {design.top} -noiopad {options}\n"
            f"tee -q -o {stat_json} stat -json\n")


def group_layers(design: Design, instances: dict[str, dict[str, int]]) -> list[dict]:
    """Instances -> one row per IR layer (its stages and their output FIFOs) plus the top-level glue."""
    rows = []
    for idx, layer in enumerate(design.model.layers):
        units, tot = [], dict.fromkeys(RESOURCES, 0)
        for i, st in enumerate(design.stages):
            if st.layer != idx:
                continue
            for inst in (f"u_{st.name}", f"u_fifo{i}"):
                if inst in instances:
                    units.append(inst[2:])
                    tot = _add(tot, instances[inst])
        rows.append({"layer": layer.name, "units": units, **tot})
    glue = instances.get("(top)", dict.fromkeys(RESOURCES, 0))
    rows.append({"layer": "(top: AXI glue)", "units": ["top"], **glue})
    return rows


def run_yosys(design: Design, rtl_dir: str | Path, options: str = "", timeout: float | None = None,
              use_cache: bool = True, abc: str = "default") -> SynthReport:
    """Synthesize ``design`` (its Verilog already written in ``rtl_dir``) and read the per-module stats."""
    rtl_dir = Path(rtl_dir)
    files = list(design.files)
    script = yosys_script(design, files, "stat.json", options, abc)
    yosys = require_tool("yosys", "synthesize the generated RTL")
    key = hashlib.sha256((design.digest + script + yosys.origin).encode()).hexdigest()[:20]
    cpath = cache_dir() / "synth" / f"{key}.json"
    if use_cache and cpath.exists():
        try:
            data = json.loads(cpath.read_text())
            rep = _report(design, data["stat"], "yosys", data.get("elapsed_s", 0.0))
            rep.cached = True
            return rep
        except (ValueError, KeyError):
            pass
    write_atomic(rtl_dir / "synth.ys", script)
    t0 = time.time()
    try:
        yosys.run(["-q", "-l", "yosys.log", "-s", "synth.ys"], cwd=rtl_dir, timeout=timeout)
    except ToolError as exc:
        raise HardwareError(f"Yosys synthesis failed: {exc}") from None
    except subprocess.TimeoutExpired:
        raise HardwareError(f"Yosys synthesis took longer than {timeout} s") from None
    elapsed = time.time() - t0
    stat = json.loads((rtl_dir / "stat.json").read_text())
    if use_cache:
        try:
            write_json(cpath, {"stat": stat, "elapsed_s": elapsed})
        except OSError:
            pass
    return _report(design, stat, "yosys", elapsed)


def _report(design: Design, stat: dict, tool: str, elapsed: float) -> SynthReport:
    mods = {name.lstrip("\\"): m for name, m in stat["modules"].items()}
    own = {name: classify(m.get("num_cells_by_type", {})) for name, m in mods.items()}
    top = design.top
    if top not in mods:
        raise HardwareError(f"synthesis report has no module {top!r}")
    instances = {"(top)": own[top]}
    total = dict(own[top])
    for sub, n in mods[top].get("num_cells_by_type", {}).items():
        if sub in mods:
            # every generated module is instantiated once; its instance is u_<module minus the design prefix>
            inst = "u_" + sub[len(design.name) + 1 :]
            instances[inst] = own[sub]
            for _ in range(n):
                total = _add(total, _subtree(sub, mods, own))
    return SynthReport(tool, top, instances, total, group_layers(design, instances), elapsed)


def _subtree(name: str, mods: dict, own: dict) -> dict[str, int]:
    tot = dict(own[name])
    for sub, n in mods[name].get("num_cells_by_type", {}).items():
        if sub in mods:
            for _ in range(n):
                tot = _add(tot, _subtree(sub, mods, own))
    return tot
