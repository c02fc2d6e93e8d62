"""Per-instance and per-layer resources of a synthesized design, their totals and the device utilisation,
and (Yosys) every stage's logic depth with an Fmax estimate (:mod:`sbnn.hw.synth.timing`).

LUT-RAM and SRL primitives are converted to the LUTs they occupy (as Vivado's "Slice LUTs" does), so the
Yosys and the Vivado paths report the same columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sbnn.arch.depth import CLOCK_MARGIN_NS, DELAYS_NS, meets
from sbnn.arch.device import DEVICE
from sbnn.hw.rtl.design import Design

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


def add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
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
    timing: dict[str, dict] = field(default_factory=dict)  # instance -> its longest path (timing.StageTiming)

    @property
    def fmax_mhz(self) -> float | None:
        """The design's Fmax estimate: its slowest stage's (None without a timing analysis)."""
        return min((t["fmax_mhz_estimate"] for t in self.timing.values()), default=None)

    def critical(self) -> tuple[str, dict] | None:
        """The instance with the longest path, and that path."""
        return max(self.timing.items(), key=lambda kv: kv[1]["delay_ns"], default=None)

    def meets_clock(self, clock_mhz: float) -> bool | None:
        """Whether the slowest stage meets ``clock_mhz`` by the estimate (:func:`sbnn.arch.depth.meets`, its
        margin included); None without a timing analysis."""
        crit = self.critical()
        return meets(crit[1]["delay_ns"], clock_mhz) if crit else None

    def timing_json(self) -> dict:
        crit = self.critical()
        return {"estimate": True, "fmax_mhz_estimate": self.fmax_mhz, "critical_instance": crit[0] if crit else None,
                "model_ns": DELAYS_NS, "clock_margin_ns": CLOCK_MARGIN_NS,
                "note": "LUT levels and delays of the longest register-to-register path ending in each instance, "
                        "from Yosys' mapped netlist with average cell and net delays of the xc7z020 -1 (no "
                        "placement or routing): an estimate, not a timing sign-off",
                "instances": self.timing}

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
                "fits": self.fits, "over": self.over(), "elapsed_s": round(self.elapsed_s, 2), "cached": self.cached,
                **({"timing": self.timing_json()} if self.timing else {})}

    def markdown(self) -> str:
        cols = ["LUT", "LUTRAM", "SRL", "FF", "CARRY4", "BRAM18", "BRAM36", "DSP"]
        tcols = ["levels", "Fmax est. (MHz)"] if self.timing else []
        lines = [f"# Synthesis ({self.tool}, {DEVICE['part']}) of `{self.top}`", "",
                 "| layer | units | " + " | ".join(cols + tcols) + " |", "|---|---|" + "---:|" * len(cols + tcols)]
        for row in self.layers:
            tv = [str(row.get("levels", "-")), f"{row['fmax_mhz_estimate']:.0f}" if "fmax_mhz_estimate" in row else "-"]
            lines.append(f"| {row['layer']} | {', '.join(row['units'])} | " + " | ".join(
                [str(row[c]) for c in cols] + (tv if self.timing else [])) + " |")
        fm = self.fmax_mhz
        lines.append("| **total** | | " + " | ".join([f"**{self.total[c]}**" for c in cols] + (
            ["", f"**{fm:.0f}**"] if self.timing else [])) + " |")
        u = self.utilization()
        lines += ["", f"Utilisation of the {DEVICE['name']}: LUT {u['LUT']:.1f}% of {DEVICE['LUT']:,} (LUT-RAM+SRL "
                  f"{u['LUTRAM']:.1f}% of {DEVICE['LUTRAM']:,}), FF {u['FF']:.1f}% of {DEVICE['FF']:,}, "
                  f"BRAM {bram36(self.total):g} BRAM36-eq. = {u['BRAM36']:.1f}% of {DEVICE['BRAM36']}, "
                  f"DSP {u['DSP']:.1f}% of {DEVICE['DSP']}.", ""]
        lines.append("**Fits the device.**" if self.fits else f"**Does NOT fit the device: {', '.join(self.over())}.**")
        crit = self.critical()
        if crit:
            inst, t = crit
            lines += ["", f"Timing (an **estimate**): the longest register-to-register path ends in `{inst}`: "
                      f"{t['levels']} LUT levels and {t['carry4']} CARRY4, ~{t['delay_ns']:.2f} ns "
                      f"(`{t['start']}` -> `{t['end']}`), so about {fm:.0f} MHz. Levels and delays come from "
                      "Yosys' mapped netlist with average xc7z020 -1 cell and net delays (LUT "
                      f"{DELAYS_NS['lut']} ns + net {DELAYS_NS['net']} ns per level, flip-flop clock-to-out "
                      f"{DELAYS_NS['ff_clk_to_q']} ns; no placement or routing): Vivado's timing report is the "
                      "real figure."]
        return "\n".join(lines) + "\n"


def bram36(t: dict[str, int]) -> float:
    return t["BRAM36"] + t["BRAM18"] / 2


def group_layers(design: Design, instances: dict[str, dict[str, int]], timing: dict[str, dict] | None = None) -> list[dict]:
    """Instances -> one row per IR layer (its stages and their output FIFOs) plus the top-level glue;
    with ``timing``, each row also gets its deepest path (``levels``, ``fmax_mhz_estimate``)."""
    timing = timing or {}
    rows = []

    def worst(insts: list[str]) -> dict:
        ts = [timing[i] for i in insts if i in timing]
        if not ts:
            return {}
        t = max(ts, key=lambda v: v["delay_ns"])
        return {"levels": t["levels"], "carry4_on_path": t["carry4"], "delay_ns": t["delay_ns"],
                "fmax_mhz_estimate": t["fmax_mhz_estimate"]}

    for idx, layer in enumerate(design.model.layers):
        units, tot, insts = [], dict.fromkeys(RESOURCES, 0), []
        for i, st in enumerate(design.stages):
            if st.layer != idx:
                continue
            for inst in (f"u_{st.name}", f"u_fifo{i}", f"u_wbuf{i}"):
                if inst in instances:
                    units.append(inst[2:])
                    insts.append(inst)
                    tot = add(tot, instances[inst])
        rows.append({"layer": layer.name, "units": units, **tot, **worst(insts)})
    glue = instances.get("(top)", dict.fromkeys(RESOURCES, 0))
    rows.append({"layer": "(top: AXI glue)", "units": ["top"], **glue, **worst(["(top)"])})
    return rows
