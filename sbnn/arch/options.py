"""The names of the per-layer hardware choices, defined once: the config, the CLI, the folding files and
the generator all take them from here.

A choice of the user may be ``"auto"`` (resolved per layer by :mod:`sbnn.arch.folding`); a
:class:`~sbnn.arch.impl.LayerImpl` holds only resolved values.
"""

from __future__ import annotations

from typing import Literal, get_args

#: an MVU's datapath: zero-weight skipping, the FINN-like dense XNOR baseline, or a zero-skipping datapath that
#: reads a structured mask cheaply: "nm" (N:M masks: an M:1 multiplexer per kept weight over the dense
#: input slice) and "block" (block:B masks: a block-index multiplexer per kept block of B inputs)
Style = Literal["sparse", "dense", "nm", "block"]
StyleChoice = Literal["sparse", "dense", "nm", "block", "auto"]
#: how the slots of a folded zero-skipping MVU read the input vector: from flip-flops through a (K+1):1
#: multiplexer ("full"), only their residue class i = s (mod SIMD) ("segmented"), or from distributed RAM
#: with two / one vector buffers ("lutram" / "lutram1")
Gather = Literal["full", "segmented", "lutram", "lutram1"]
GatherChoice = Literal["auto", "full", "segmented", "lutram", "lutram1"]
#: slot codes of a folded zero-skipping MVU's weight memory: absolute indices or gaps
Coding = Literal["index", "delta"]
CodingChoice = Literal["auto", "index", "delta"]
#: where a folded MVU's weight memory goes: synthesis decides, BRAM, or LUTs; "block-wide": BRAM with a word
#: widened where the fold's thresholds need more than its spare width to ride along (sbnn.arch.cost.threshold_layout),
#: trading block RAM for the threshold memory and wide compares that would otherwise be logic
WeightRom = Literal["auto", "block", "distributed", "block-wide"]
#: a sliding window's delay lines: the layout rule decides (sbnn.hw.rtl.units.line_ram), or shift registers / one
#: distributed RAM everywhere (benchmarks/hw_line_ram.py builds both to measure that rule)
WindowLines = Literal["auto", "srl", "ram"]

STYLES: tuple[str, ...] = get_args(Style)
STYLE_CHOICES: tuple[str, ...] = get_args(StyleChoice)
GATHERS: tuple[str, ...] = get_args(Gather)
GATHER_CHOICES: tuple[str, ...] = get_args(GatherChoice)
CODINGS: tuple[str, ...] = get_args(CodingChoice)
WEIGHT_ROMS: tuple[str, ...] = get_args(WeightRom)
WINDOW_LINES: tuple[str, ...] = get_args(WindowLines)
#: the placements that put the weight memory in block RAM whatever its size
BLOCK_ROMS = ("block", "block-wide")
#: styles that need a mask structure recorded in the IR (sbnn.ir.structure kind)
STRUCTURED_STYLES = {"nm": "nm", "block": "block"}
#: the gathers ``gather="auto"`` chooses from (segmented stays opt-in: it trades clocks for multiplexers)
AUTO_GATHERS: tuple[str, ...] = ("full", "lutram", "lutram1")
#: gathers that read the input vector from distributed RAM (name -> vectors held: 2 = ping-pong)
LUTRAM_BUFFERS = {"lutram": 2, "lutram1": 1}
#: entries of one distributed-RAM bank (a RAM64M LUT-RAM primitive: 64 x 1 bit, 3 read ports)
LUTRAM_DEPTH = 64
