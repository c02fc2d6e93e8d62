"""``HwConfig``: every knob of the hardware stage (``sbnn synth``), saved as ``<run>/hw/config.yaml``."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from sbnn.config import StageConfig
from sbnn.hw.design import GenOptions


class HwConfig(StageConfig):
    """Generation and synthesis options. Folding comes from (highest priority first) ``unrolled``,
    ``folding`` (a FINN-style JSON file), ``target_fps`` (automatic), else the IR's own PE/SIMD."""

    #: FINN-style folding JSON: {"<layer>": {"PE": 4, "SIMD": 8}, ...}
    folding: Optional[str] = None
    #: choose the folding automatically for this many frames/s at ``clock_mhz``
    target_fps: Optional[float] = Field(default=None, gt=0)
    #: PE = M and SIMD = K for every layer (weights become wiring)
    unrolled: bool = False
    #: target clock (MHz) for frames/s, latency and automatic folding
    clock_mhz: float = Field(default=100.0, gt=0)
    #: "sparse": zero-weight skipping; "dense": FINN-like XNOR baseline without skipping
    #: "auto": per layer the cheaper of the two by the logic estimate (at a given folding: among those
    #: within ``max_cycle_overhead`` of the fastest; with ``target_fps``: among those meeting it)
    style: Literal["sparse", "dense", "auto"] = "sparse"
    #: weight-memory coding of sparse folded layers
    coding: Literal["auto", "index", "delta"] = "auto"
    #: sparse folded MVUs: "full" (a slot reads any input of the vector held in flip-flops: a (K+1):1
    #: multiplexer per slot), "segmented" (slot s reads inputs i = s mod SIMD: SIMD times smaller
    #: multiplexers, more clocks), "lutram" / "lutram1" (the vector is copied into distributed RAM, 64
    #: entries per LUT, in 64 clocks: two buffers overlap the copy with the compute, one buffer does not),
    #: "auto" (per layer, the cheapest by the logic estimate that costs at most ``max_cycle_overhead``
    #: more clocks; with ``target_fps``, the cheapest that meets the target). A folding file's per-layer
    #: "gather" wins.
    gather: Literal["auto", "full", "segmented", "lutram", "lutram1"] = "auto"
    #: weight memories of folded MVUs: "auto" (synthesis decides), "block" (BRAM) or "distributed" (LUTs)
    weight_rom: Literal["auto", "block", "distributed"] = "auto"
    #: gap-code width for coding "delta" (None: the smallest memory)
    delta_bits: Optional[int] = Field(default=None, ge=2, le=16)
    #: coding "auto" accepts a gap code if it costs at most this fraction of extra clocks
    max_cycle_overhead: float = Field(default=0.10, ge=0)
    #: input pixels per AXI beat (None: automatic)
    pixels_per_beat: Optional[int] = Field(default=None, ge=1)
    #: widest automatic AXI input beat (bits)
    max_input_bits: int = Field(default=1024, ge=8)
    #: fixed depth of every FIFO (None: sized by the cycle model so the bottleneck sets the interval)
    fifo_depth: Optional[int] = Field(default=None, ge=2)
    #: synthesizer
    tool: Literal["yosys", "vivado"] = "yosys"
    #: run synthesis after generating the RTL
    synth: bool = True
    #: extra options appended to Yosys' synth_xilinx (e.g. "-nowidelut")
    yosys_options: str = ""
    #: ABC9 script: "default" (Yosys' own) or "fast" (no AIG rewriting / don't-care optimisation: much
    #: faster on large unrolled layers, ~10-30 % more LUTs)
    yosys_abc: Literal["default", "fast"] = "default"
    #: seconds before synthesis is abandoned (None: no limit)
    synth_timeout: Optional[float] = Field(default=None, gt=0)
    #: report a design that does not fit the device without failing
    report_only: bool = False
    #: "rtl": sbnn's own zero-skipping Verilog; "hls4ml": an hls4ml project (see docs/hls4ml.md)
    backend: Literal["rtl", "hls4ml"] = "rtl"
    #: hls4ml backend for ``backend: hls4ml`` (VivadoAccelerator adds the board's block design)
    hls4ml_backend: Literal["Vitis", "Vivado", "VivadoAccelerator"] = "Vitis"
    #: board (part and block design) for ``backend: hls4ml``, one of hls4ml's supported boards
    hls4ml_board: str = "pynq-z2"
    #: inputs on which the hls4ml C simulation must equal the bit-exact simulator
    hls4ml_csim_inputs: int = Field(default=1000, ge=1)

    def gen_options(self, styles: dict[str, str] | None = None, gathers: dict[str, str] | None = None,
                    overheads: dict[str, float] | None = None) -> GenOptions:
        """The generator options; ``styles`` / ``gathers`` (layer -> choice, as resolved per layer by
        :func:`sbnn.hw.stage.resolve_folding`) replace the single ``style`` / ``gather``, ``overheads``
        (layer -> cycle overhead the automatic weight coding may spend, as limited by a target frame
        rate) the single ``max_cycle_overhead``."""
        if (gathers is None and self.gather == "auto") or (styles is None and self.style == "auto"):
            raise ValueError("style/gather 'auto' must be resolved per layer first (sbnn.hw.stage.resolve_folding)")
        return GenOptions(style=self.style if styles is None else styles, coding=self.coding, delta_bits=self.delta_bits,
                          max_cycle_overhead=self.max_cycle_overhead if overheads is None else overheads,
                          pixels_per_beat=self.pixels_per_beat,
                          max_input_bits=self.max_input_bits, fifo_depth=self.fifo_depth,
                          gather=self.gather if gathers is None else gathers, weight_rom=self.weight_rom)
