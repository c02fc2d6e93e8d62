"""Logic depth and an Fmax *estimate* per stage, from the netlist Yosys maps to 7-series primitives.

Why: every frames/s figure rests on a clock; Yosys has no placement or routing, so it cannot time the
design, but its mapped netlist (``write_json`` after ``synth_xilinx``) fixes the logic on every
register-to-register path. This module flattens that netlist (the instances of the generated modules,
each primitive tagged with the top-level instance - the pipeline stage - it belongs to), finds the
longest path into every timing endpoint (flip-flop and RAM inputs, top-level outputs) and reports per
stage the LUT levels on it, the CARRY4s on it, and its delay under a simple per-primitive model:

* a path starts at a flip-flop / SRL / BRAM output (clock-to-out) or a top-level input (taken as
  registered outside the core: clock-to-out of a flip-flop);
* every LUT, LUT-RAM read port and MUXF7/8 is one *level* (``levels``) and adds its cell delay;
  a CARRY4 adds its entry delay (from S / DI) or its carry bypass (CI -> CO / O);
* every connection adds an average net delay, except the dedicated ones inside a slice (LUT -> MUXF7/8,
  LUT -> CARRY4 S / DI, CARRY4 CO3 -> CI of the next CARRY4); Yosys' INV cells are free (absorbed
  into LUTs by Vivado);
* a path ends with the endpoint's setup time.

The delays (:data:`sbnn.arch.depth.DELAYS_NS`, the one place of the model) are approximate figures for the
-1 speed grade of the xc7z020 (Zynq-7000 data sheet DS187 / typical Vivado timing reports), and the net
delay is a flat average. So the Fmax here is an **estimate** (no placement, no routing, no clock skew),
good for comparing stages and for checking the generator's pipelining; Vivado's timing report is the real
figure.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sbnn.arch import depth
from sbnn.arch.depth import DELAYS_NS

#: the timing model's identity (this file): cached reports are re-timed from their netlist when it changes
TIMING_VERSION = hashlib.sha256(Path(__file__).read_bytes() + Path(depth.__file__).read_bytes()).hexdigest()[:12]

_FF = ("FDRE", "FDSE", "FDCE", "FDPE", "FDRE_1", "FDSE_1", "FDCE_1", "FDPE_1", "LDCE", "LDPE")
_SRL = ("SRL16E", "SRLC16E", "SRLC32E")
_BRAM = ("RAMB18E1", "RAMB36E1")
_FREE = ("INV", "BUF")
_IGNORED = ("BUFG", "GND", "VCC", "IBUF", "OBUF")


@dataclass
class StageTiming:
    """The longest register-to-register path that ends in one stage (instance)."""

    instance: str
    levels: int  # LUT / LUT-RAM / MUXF levels on the path
    carry4: int  # CARRY4 cells on the path
    delay_ns: float  # estimated path delay (DELAYS_NS)
    start: str  # the cell (or top-level port) the path starts at
    end: str  # the endpoint cell
    path: str = ""  # the primitives on the path

    @property
    def fmax_mhz(self) -> float:
        return 1000.0 / self.delay_ns if self.delay_ns > 0 else float("inf")

    def to_json(self) -> dict:
        return {"levels": self.levels, "carry4": self.carry4, "delay_ns": round(self.delay_ns, 3),
                "fmax_mhz_estimate": round(self.fmax_mhz, 1), "start": self.start, "end": self.end, "path": self.path}


def _lutram_arcs(cell_type: str, dirs: dict[str, str]) -> list[tuple[str, str]]:
    """(input port prefix, output port prefix) read arcs of a distributed-RAM primitive."""
    outs = [p for p, d in dirs.items() if d == "output"]
    if cell_type.startswith(("RAM32M", "RAM64M")):  # ADDRA -> DOA ...: one read port per letter
        return [(f"ADDR{o[2]}", o) for o in outs]
    arcs = []
    for o in outs:  # SPO / O from A*, DPO from DPRA*
        arcs.append(("DPRA" if o == "DPO" else "A", o))
    return arcs


class _Netlist:
    """The design's primitives, flattened, with the stage instance each belongs to."""

    def __init__(self, data: dict, top: str, modules: set[str]):
        self.mods = {k.lstrip("\\"): v for k, v in data["modules"].items()}
        self.cells: list[tuple[str, str, str, dict, dict]] = []  # (owner, name, type, dirs, conns)
        self.top_ports = self.mods[top].get("ports", {})
        self._n = 1 << 40  # fresh net ids for flattened child nets
        self.names: dict = {}  # net -> readable name (a register's name on its Q net)
        self.design_mods = modules
        self._expand(top, {}, "", None)

    def label(self, idx: int) -> str:
        """A readable name of a cell: the net on its register output, else the cell's name."""
        _, name, ctype, _, conns = self.cells[idx]
        for port in ("Q", "DO", "DOA", "SPO", "O"):
            bits = conns.get(port, [])
            if bits and bits[0] in self.names:
                return self.names[bits[0]][1]
        return name

    def _fresh(self) -> int:
        self._n += 1
        return self._n

    def _expand(self, mod: str, bitmap: dict, prefix: str, owner: str | None) -> None:
        m = self.mods[mod]

        def net(b):
            if isinstance(b, str):
                return b  # constant
            if b not in bitmap:
                bitmap[b] = self._fresh() if prefix else b
            return bitmap[b]

        for nname, info in m.get("netnames", {}).items():
            for i, b in enumerate(info.get("bits", [])):
                if isinstance(b, str):
                    continue
                key = net(b)
                if key not in self.names or (not info.get("hide_name") and self.names[key][0]):
                    bit = f"[{i}]" if len(info["bits"]) > 1 else ""
                    self.names[key] = (info.get("hide_name", 0), f"{prefix}{nname.lstrip(chr(92))}{bit}")
        for cname, c in m.get("cells", {}).items():
            ctype = c["type"].lstrip("\\")
            conns = {p: [net(b) for b in bits] for p, bits in c.get("connections", {}).items()}
            if ctype in self.design_mods and ctype in self.mods:
                child_ports = self.mods[ctype].get("ports", {})
                child_map: dict = {}
                for pname, p in child_ports.items():
                    for cb, pb in zip(p["bits"], conns.get(pname, [])):
                        if not isinstance(cb, str):
                            child_map[cb] = pb
                self._expand(ctype, child_map, f"{prefix}{cname}.", owner or cname.lstrip("\\"))
                continue
            self.cells.append((owner or "(top)", prefix + cname.lstrip("\\"), ctype, c.get("port_directions", {}), conns))


def analyze(data: dict, top: str, modules: set[str]) -> dict[str, StageTiming]:
    """Longest path ending in each top-level instance (and ``(top)``) of a ``write_json`` netlist whose
    own (non-primitive) modules are ``modules``."""
    nl = _Netlist(data, top, modules)
    d = DELAYS_NS
    drivers: dict = {}  # net -> (cell index, port)
    for idx, (_, _, ctype, dirs, conns) in enumerate(nl.cells):
        for p, bits in conns.items():
            if dirs.get(p) == "output":
                for b in bits:
                    drivers[b] = (idx, p)
    # arrival of every net: (time, levels, carry4, start)
    arrival: dict = {}
    for pname, p in nl.top_ports.items():
        if p["direction"] == "input":
            for b in p["bits"]:
                arrival[b] = (d["ff_clk_to_q"], 0, 0, f"port {pname}", None)
    comb: dict[int, list[tuple[str, str]]] = {}  # cell -> arcs (input port, output port)
    for idx, (_, name, ctype, dirs, conns) in enumerate(nl.cells):
        outs = [p for p, dr in dirs.items() if dr == "output"]
        if ctype in _FF:
            for b in conns.get("Q", []):
                arrival[b] = (d["ff_clk_to_q"], 0, 0, nl.label(idx), None)
        elif ctype in _SRL:
            for p in outs:
                for b in conns.get(p, []):
                    arrival[b] = (d["srl_clk_to_q"], 0, 0, nl.label(idx), None)
            comb[idx] = [("A", "Q")]
        elif ctype in _BRAM or ctype.startswith("DSP48"):
            for p in outs:
                for b in conns.get(p, []):
                    arrival[b] = (d["bram_clk_to_q"] if ctype in _BRAM else d["ff_clk_to_q"] + 1.5, 0, 0, nl.label(idx), None)
        elif ctype.startswith("RAM"):
            comb[idx] = _lutram_arcs(ctype, dirs)
        elif ctype.startswith(("LUT", "MUXF", "CARRY4")) or ctype in _FREE:
            ins = [p for p, dr in dirs.items() if dr == "input"]
            comb[idx] = [(i, o) for i in ins for o in outs]
    # topological order of the combinational cells (Kahn over cell -> cell edges)
    sinks: dict = defaultdict(list)  # net -> [(cell, port)]
    for idx, (_, _, ctype, dirs, conns) in enumerate(nl.cells):
        for p, bits in conns.items():
            if dirs.get(p) == "input":
                for b in bits:
                    sinks[b].append((idx, p))
    in_ports = {idx: {p for p, dr in nl.cells[idx][3].items() if dr == "input" and any(p.startswith(i) for i, _ in arcs)}
                for idx, arcs in comb.items()}
    out_ports = {idx: {p for p, dr in nl.cells[idx][3].items() if dr == "output" and any(p.startswith(o) for _, o in arcs)}
                 for idx, arcs in comb.items()}
    indeg = dict.fromkeys(comb, 0)
    for idx in comb:
        conns = nl.cells[idx][4]
        for p in in_ports[idx]:
            for b in conns.get(p, []):
                if b in drivers and drivers[b][0] in comb:
                    indeg[idx] += 1
    order = [idx for idx, n in indeg.items() if n == 0]
    seen = 0
    while seen < len(order):
        idx = order[seen]
        seen += 1
        conns = nl.cells[idx][4]
        for p in out_ports[idx]:
            for b in conns.get(p, []):
                for j, sp in sinks.get(b, []):
                    if j in comb and sp in in_ports[j]:
                        indeg[j] -= 1
                        if indeg[j] == 0:
                            order.append(j)
    if len(order) < len(comb):
        raise ValueError(f"{len(comb) - len(order)} cells on combinational loops")
    for idx in order:
        owner, name, ctype, dirs, conns = nl.cells[idx]
        for iport, oport in comb[idx]:
            best = None
            for p, bits in conns.items():
                if not p.startswith(iport) or dirs.get(p) != "input":
                    continue
                for b in bits:
                    if b not in arrival:
                        continue
                    t, lv, cy, st, _ = arrival[b]
                    t += _net(nl, drivers.get(b), ctype, p)
                    cand = (t, lv, cy, st, b)
                    if best is None or cand[0] > best[0]:
                        best = cand
            if best is None:
                continue
            t, lv, cy, st, src = best
            if ctype in _FREE:
                pass
            elif ctype == "CARRY4":
                t += d["carry_bypass"] if iport in ("CI", "CYINIT") else d["carry_in"]
                cy += 1
            else:
                t += d["muxf"] if ctype.startswith("MUXF") else d["lut"]
                lv += 1
            for p, bits in conns.items():
                if p.startswith(oport) and dirs.get(p) == "output":
                    for b in bits:
                        if b not in arrival or arrival[b][0] < t:
                            arrival[b] = (t, lv, cy, st, (idx, src))
    # endpoints
    worst: dict[str, StageTiming] = {}

    def end(owner: str, label: str, b, setup: float, ctype: str, port: str) -> None:
        if b not in arrival:
            return
        t, lv, cy, st, _ = arrival[b]
        t += _net(nl, drivers.get(b), ctype, port) + setup
        cur = worst.get(owner)
        if cur is None or t > cur.delay_ns:
            worst[owner] = StageTiming(owner, lv, cy, t, st, label, _trace(nl, arrival, b))

    for idx, (owner, name, ctype, dirs, conns) in enumerate(nl.cells):
        if ctype in _IGNORED or ctype in _FREE or ctype.startswith(("LUT", "MUXF", "CARRY4")):
            continue
        setup = d["bram_setup"] if ctype in _BRAM else d["setup"]
        for p, bits in conns.items():
            if dirs.get(p) == "input" and p not in ("C", "CLK", "WCLK", "CLKARDCLK", "CLKBWRCLK"):
                for b in bits:
                    end(owner, nl.label(idx), b, setup, ctype, p)
    for pname, p in nl.top_ports.items():
        if p["direction"] == "output":
            for b in p["bits"]:
                end("(top)", f"port {pname}", b, d["setup"], "", "")
    return worst


def _trace(nl: _Netlist, arrival: dict, b) -> str:
    """The primitives on the path into net ``b``, from its start (``LUT6 > CARRY4 > ...``)."""
    kinds = []
    while b in arrival and arrival[b][4] is not None:
        idx, b = arrival[b][4]
        ctype = nl.cells[idx][2]
        if ctype not in _FREE:
            kinds.append(ctype)
    return " > ".join(reversed(kinds))


def _net(nl: _Netlist, drv, sink_type: str, sink_port: str) -> float:
    """Net delay of one connection: none for the dedicated ones inside a slice."""
    if drv is None:
        return DELAYS_NS["net"]
    dtype = nl.cells[drv[0]][2]
    if dtype in _FREE or sink_type in _FREE:
        return 0.0
    if sink_type.startswith("MUXF") and sink_port in ("I0", "I1") and dtype.startswith(("LUT", "MUXF")):
        return 0.0
    if sink_type == "CARRY4" and sink_port in ("CI",) and dtype == "CARRY4":
        return 0.0
    if sink_type == "CARRY4" and sink_port.startswith(("S", "DI")) and dtype.startswith("LUT"):
        return 0.0
    return DELAYS_NS["net"]
