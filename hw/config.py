"""``HwConfig``: every knob of the hardware stage (``sbnn synth``), saved as ``<run>/hw/config.yaml``."""

from __future__ import annotations

from typing import Optional

from pydantic import Field

from sbnn.arch.folding import target_cycles
from sbnn.arch.options import CodingChoice, GatherChoice, StyleChoice, WeightRom
from sbnn.config import StageConfig
from sbnn.hw.options import AbcScript, Backend, Hls4mlBackend, Tool
from sbnn.hw.rtl.design import GenOptions


class HwConfig(StageConfig):
    """Generation and synthesis options. Folding comes from (highest priority first) ``unrolled``,
    ``folding`` (a FINN-style JSON file), ``target_fps`` (automatic), else the IR's own PE/SIMD."""

    #: folding JSON: FINN-style {"<layer>": {"PE": 4, "SIMD": 8}, ...}, or a folding.json that sbnn synth wrote
    #: (its other per-layer choices - style, gather, coding, ... - win over the ones below)
    folding: Optional[str] = None
    #: choose the folding automatically for this many frames/s at ``clock_mhz``
    target_fps: Optional[float] = Field(default=None, gt=0)
    #: with ``target_fps``: synthesize the estimate's ``search`` best foldings (and their per-layer best
    #: combination) and keep the one with the fewest Yosys LUTs (:mod:`sbnn.hw.search`); 1: the estimate's best
    search: int = Field(default=1, ge=1, le=16)
    #: PE = M and SIMD = K for every layer (weights become wiring)
    unrolled: bool = False
    #: target clock (MHz) for frames/s, latency and automatic folding; folded MVUs are pipelined so that
    #: their estimated longest paths fit it (sbnn.arch.depth)
    clock_mhz: float = Field(default=100.0, gt=0)
    #: "sparse": zero-weight skipping; "dense": FINN-like XNOR baseline without skipping
    #: "auto" (default): per layer the cheaper of the two by the logic estimate (at a given folding: among
    #: those within ``max_cycle_overhead`` of the fastest; with ``target_fps``: among those meeting it)
    style: StyleChoice = "auto"
    #: weight-memory coding of sparse folded layers
    coding: CodingChoice = "auto"
    #: sparse folded MVUs: "full" (a slot reads any input of the vector held in flip-flops: a (K+1):1
    #: multiplexer per slot), "segmented" (slot s reads inputs i = s mod SIMD: SIMD times smaller
    #: multiplexers, more clocks), "lutram" / "lutram1" (the vector is copied into distributed RAM, 64
    #: entries per LUT, in 64 clocks: two buffers overlap the copy with the compute, one buffer does not),
    #: "auto" (per layer, the cheapest by the logic estimate that costs at most ``max_cycle_overhead``
    #: more clocks; with ``target_fps``, the cheapest that meets the target). A folding file's per-layer
    #: "gather" wins.
    gather: GatherChoice = "auto"
    #: weight memories of folded MVUs: "auto" (synthesis decides), "block" (BRAM) or "distributed" (LUTs)
    weight_rom: WeightRom = "auto"
    #: gap-code width for coding "delta" (None: the smallest memory)
    delta_bits: Optional[int] = Field(default=None, ge=2, le=16)
    #: coding "auto" accepts a gap code if it costs at most this fraction of extra clocks
    max_cycle_overhead: float = Field(default=0.10, ge=0)
    #: input pixels per AXI beat (None: automatic)
    pixels_per_beat: Optional[int] = Field(default=None, ge=1)
    #: widest automatic AXI input beat (bits)
    max_input_bits: int = Field(default=1024, ge=8)
    #: fixed depth of every FIFO (None: sized by the cycle model so the bottleneck sets the interval; with
    #: target_fps a FIFO may be trimmed while the interval stays within the target's clocks per frame)
    fifo_depth: Optional[int] = Field(default=None, ge=2)
    #: synthesizer
    tool: Tool = "yosys"
    #: run synthesis after generating the RTL
    synth: bool = True
    #: extra options appended to Yosys' synth_xilinx (e.g. "-nowidelut")
    yosys_options: str = ""
    #: ABC9 script: "default" (Yosys' own), "fast" (no AIG rewriting / don't-care optimisation: much
    #: faster on large unrolled layers, ~10-30 % more LUTs) or "auto" (fast where the default takes minutes:
    #: :func:`sbnn.hw.synth.yosys.choose_abc`)
    yosys_abc: AbcScript = "auto"
    #: seconds before synthesis is abandoned (None: no limit)
    synth_timeout: Optional[float] = Field(default=None, gt=0)
    #: report a design that does not fit the device without failing
    report_only: bool = False
    #: "rtl": sbnn's own zero-skipping Verilog; "hls4ml": an hls4ml project (see docs/hls4ml.md)
    backend: Backend = "rtl"
    #: hls4ml backend for ``backend: hls4ml`` (VivadoAccelerator adds the board's block design)
    hls4ml_backend: Hls4mlBackend = "Vitis"
    #: board (part and block design) for ``backend: hls4ml``, one of hls4ml's supported boards
    hls4ml_board: str = "pynq-z2"
    #: inputs on which the hls4ml C simulation must equal the bit-exact simulator
    hls4ml_csim_inputs: int = Field(default=1000, ge=1)

    def gen_options(self) -> GenOptions:
        """The design-wide generator knobs (every MVU's implementation is resolved by the folding step,
        :func:`sbnn.hw.stage.resolve_folding`, and passed to the generator whole)."""
        budget = target_cycles(self.target_fps, self.clock_mhz) if self.target_fps else None
        return GenOptions(pixels_per_beat=self.pixels_per_beat, max_input_bits=self.max_input_bits,
                          fifo_depth=self.fifo_depth, max_interval=budget, clock_mhz=self.clock_mhz)
