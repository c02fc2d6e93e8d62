"""From an IR model to a complete generated design: stages, FIFO depths, Verilog files, stream format.

``generate(model, options, impls=...)`` is the generator's entry point. Every MVU is built as its
:class:`~sbnn.arch.impl.LayerImpl` says (resolved once by the folding step, :mod:`sbnn.arch.folding`);
the stage chain is :mod:`sbnn.arch.pipeline`'s and every timing fact :mod:`sbnn.sim.cycles`'. This module
only emits Verilog for it and wires the stages with FIFOs into an AXI4-Stream top level (``ap_clk``,
``ap_rst_n``, ``s_axis_*``, ``m_axis_*``), one module instance per stage so that synthesis can report
every layer separately.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sbnn.arch.depth import DEFAULT_CLOCK_MHZ
from sbnn.arch.folding import resolve_impls
from sbnn.arch.impl import LayerImpl
from sbnn.arch.options import WINDOW_LINES, CodingChoice, Gather, Style, WeightRom, WindowLines
from sbnn.arch.pipeline import Stage, build_pipeline, ident
from sbnn.errors import HardwareError
from sbnn.hw.rtl import mvu, prims, units, wordbuf
from sbnn.hw.rtl.verilog import Module, clog2, lint_off, lint_on, lit
from sbnn.hw.stream import StreamFormat, field_bits
from sbnn.ir.model import MVU, IRModel, MaxPool, Threshold
from sbnn.runs import write_atomic
from sbnn.sim.cycles import Performance, fixed_depths, performance, size_links


@dataclass(frozen=True)
class GenOptions:
    """Design-wide generator knobs. How each MVU is built is its :class:`~sbnn.arch.impl.LayerImpl`
    (``generate(..., impls=)``); an MVU without one gets the IR's PE / SIMD and the single ``style``,
    ``gather``, ``coding``, ``delta_bits``, ``max_cycle_overhead`` and ``weight_rom`` below."""

    style: Style = "sparse"  # zero-skipping, or the FINN-like XNOR baseline
    coding: CodingChoice = "auto"  # weight-memory coding of zero-skipping folded MVUs
    delta_bits: int | None = None
    max_cycle_overhead: float = 0.10  # the automatic coding may cost this fraction of extra clocks
    pixels_per_beat: int | None = None  # None: automatic
    max_input_bits: int = 1024
    fifo_depth: int | None = None  # None: sized by the cycle model
    max_interval: int | None = None  # clocks per frame the FIFO sizing may spend (a target rate's); None: the bottleneck's
    fifo_max_bits: int = 36864
    gather: Gather = "full"  # how zero-skipping folded MVUs read their input vector
    weight_rom: WeightRom = "auto"  # weight memories: synthesis decides, BRAM or LUTs
    clock_mhz: float = DEFAULT_CLOCK_MHZ  # folded MVUs are pipelined for this clock (sbnn.arch.depth)
    word_buffers: bool = True  # sliced MVUs after a collector read a word buffer (sbnn.arch.buffer)
    window_lines: WindowLines = "auto"  # the sliding windows' delay lines (sbnn.arch.options.WindowLines)

    def impls(self, model: IRModel, given: Mapping[str, LayerImpl] | None = None) -> dict[str, LayerImpl]:
        """Every MVU's implementation: ``given`` ones as they are, the others from these defaults."""
        return resolve_impls(model, given, style=self.style, gather=self.gather, coding=self.coding,
                             delta_bits=self.delta_bits, max_cycle_overhead=self.max_cycle_overhead,
                             weight_rom=self.weight_rom)


@dataclass
class Design:
    """A generated accelerator: its stages, FIFOs, Verilog and host-side stream format."""

    name: str
    top: str
    model: IRModel
    stages: list[Stage]
    depths: list[int]
    files: dict[str, str]
    stream: StreamFormat
    perf: Performance
    options: GenOptions = field(default_factory=GenOptions)
    impls: dict[str, LayerImpl] = field(default_factory=dict)  # how every MVU is built

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for name in sorted(self.files):
            h.update(name.encode() + b"\0" + self.files[name].encode() + b"\0")
        return h.hexdigest()[:16]

    def write(self, folder: str | Path) -> list[Path]:
        """Write the Verilog files and ``filelist.f`` (top last); returns the Verilog paths in order."""
        folder = Path(folder)
        paths = [write_atomic(folder / n, t) for n, t in self.files.items()]
        write_atomic(folder / "filelist.f", "\n".join(p.name for p in paths) + "\n")
        return paths


def truncate(model: IRModel, upto: str | None) -> IRModel:
    """The model cut after layer ``upto`` (a probe design); the model itself when None."""
    if upto is None:
        return model
    names = [layer.name for layer in model.layers]
    if upto not in names:
        raise HardwareError(f"no layer named {upto!r} (layers: {', '.join(names)})")
    cut = copy.copy(model)
    cut.layers = model.layers[: names.index(upto) + 1]
    return cut


def _layer_shape(model: IRModel, index: int) -> tuple[int, int, int]:
    shape = tuple(model.input.shape)
    for layer in model.layers[:index]:
        shape = layer.shape if isinstance(layer, Threshold) else layer.out_shape
    return shape


def _stage_module(model: IRModel, st: Stage, modname: str, load: Stage | None = None, depth: int = 1,
                  lines: WindowLines = "auto") -> str:
    layer = model.layers[st.layer]
    h, w, _ = _layer_shape(model, st.layer)
    if st.kind == "threshold":
        return units.threshold(modname, st, layer.thresholds, layer.directions)
    if st.kind == "swu":
        return units.swu(modname, st, h, w, int(layer.pad_value), lines)
    if st.kind == "maxpool":
        return units.maxpool(modname, st, h, w)
    if st.kind == "collector":
        return wordbuf.collector_buffer(modname, st, depth) if st.word_buffer else units.collector(modname, st)
    return mvu.mvu(modname, st, layer, load)


def stream_format(model: IRModel, stages: list[Stage]) -> StreamFormat:
    first, last = stages[0], stages[-1]
    layer = model.layers[last.layer]
    scores = isinstance(layer, MVU) and layer.is_output and last.kind == "mvu"
    out_field = field_bits(last.out_bits) if scores else 1
    return StreamFormat(tuple(int(v) for v in model.input.shape), first.in_bits, first.in_signed,
                        first.pixels_per_beat,
                        last.out_elems, out_field, scores, last.out_beats,
                        in_order=None if model.input.order is None else tuple(int(v) for v in model.input.order))


def generate(model: IRModel, options: GenOptions | None = None, upto: str | None = None,
             name: str | None = None, impls: Mapping[str, LayerImpl] | None = None) -> Design:
    """Generate the accelerator for ``model`` (optionally only up to layer ``upto``), every MVU built as
    ``impls`` says (see :class:`GenOptions` for the others)."""
    options = options or GenOptions()
    if options.window_lines not in WINDOW_LINES:
        raise HardwareError(f"delay lines {options.window_lines!r}: use {', '.join(WINDOW_LINES)}")
    model = truncate(model, upto)
    if not model.layers:
        raise HardwareError("the model has no layers")
    if isinstance(model.layers[0], MaxPool) and model.input.type.bits != 1:
        raise HardwareError("max-pool needs bipolar bits; threshold the input first")
    impls = options.impls(model, impls)
    stages = build_pipeline(model, impls, options.pixels_per_beat, options.max_input_bits, options.clock_mhz,
                            options.word_buffers)
    depths = (fixed_depths(stages, options.fifo_depth) if options.fifo_depth
              else size_links(stages, max_bits=options.fifo_max_bits, max_interval=options.max_interval))
    prefix = ident(name or model.name)
    files: dict[str, str] = {}
    for i, st in enumerate(stages):
        if st.kind == "load":  # part of the next stage's module (its distributed RAM is the link)
            continue
        load = stages[i - 1] if i and stages[i - 1].kind == "load" else None
        files[f"{prefix}_{st.name}.v"] = _stage_module(model, st, f"{prefix}_{st.name}", load, depths[i],
                                                        options.window_lines)
        if st.word_buffer and st.kind == "collector":  # the buffer holds the FIFO's vectors
            continue
        if st.info.get("out_words"):  # the FIFO to the next MVU is a word buffer
            files[f"{prefix}_wbuf{i}.v"] = wordbuf.link_buffer(f"{prefix}_wbuf{i}", st, stages[i + 1], depths[i])
            continue
        width = st.out_width if i + 1 < len(stages) else stream_format(model, stages).out_width
        files[f"{prefix}_fifo{i}.v"] = units.fifo(f"{prefix}_fifo{i}", width, depths[i])
    for prim in prims.used(list(files.values())):  # a simulation model of every primitive instantiated
        files[f"{prim}.v"] = prims.model_file(prim)
    fmt = stream_format(model, stages)
    top = f"{prefix}_top"
    files[f"{top}.v"] = _top(top, prefix, stages, fmt)
    return Design(prefix, top, model, stages, depths, files, fmt, performance(stages, depths), options, impls)


def _top(top: str, prefix: str, stages: list[Stage], fmt: StreamFormat) -> str:
    m = Module(top, f"sbnn accelerator {prefix}: AXI4-Stream in ({fmt.in_width} b) -> scores out ({fmt.out_width} b).\n"
                    "Reset (ap_rst_n low) must last at least two clocks.")
    m.port("input  wire ap_clk")
    m.port("input  wire ap_rst_n")
    pad = fmt.in_width - fmt.in_payload
    why = "tlast is not needed (the core counts beats)" + ("; tdata byte padding is unused" if pad else "")
    m.port(f"{lint_off('UNUSEDSIGNAL', why)}\n    input  wire [{fmt.in_width - 1}:0] s_axis_tdata")
    m.port(f"input  wire s_axis_tlast {lint_on('UNUSEDSIGNAL')}")
    m.port("input  wire s_axis_tvalid")
    m.port("output wire s_axis_tready")
    m.port(f"output wire [{fmt.out_width - 1}:0] m_axis_tdata")
    m.port("output wire m_axis_tvalid")
    m.port("input  wire m_axis_tready")
    m.port("output wire m_axis_tlast")
    n = len(stages)
    # a load stage has no instance: the MVU after it reads the load stage's input FIFO (in/v/pop i)
    loads = {i for i, st in enumerate(stages) if st.kind == "load"}
    src = {i: i - 1 if i - 1 in loads else i for i in range(n) if i not in loads}
    # a word buffer (collector kind) has no FIFO after it: it drives its MVU's input bus and takes the MVU's
    # slice address (sf<i>)
    bufs = {i for i, st in enumerate(stages) if st.kind == "collector" and st.word_buffer}
    fed = {i for i, st in enumerate(stages) if st.kind == "mvu" and st.word_buffer}  # MVUs reading a word buffer
    links = {i for i, st in enumerate(stages) if st.info.get("out_words")}  # MVUs writing one fold by fold
    out_vw = {i: stages[i].plan.pe * stages[i].out_bits for i in links}
    for i, st in enumerate(stages):
        iw, ow = st.in_width, st.out_width
        if i in links:
            ow = out_vw[i] + st.out_sum
        if i in fed:
            iw = st.plan.simd * st.in_bits + st.in_sum
            m.line(f"wire [{clog2(st.in_elems // st.plan.simd) - 1}:0] sf{i};")
        if i - 1 not in loads:
            m.line(f"wire [{iw - 1}:0] in{i};")
            m.line(f"wire v{i}, pop{i};")
        if i not in loads and i not in bufs:
            m.line(f"wire [{ow - 1}:0] out{i};")
            m.line(f"wire rdy{i}, push{i};")
    m.line(f"assign in0 = s_axis_tdata[{fmt.in_payload - 1}:0];")
    m.line("assign v0 = s_axis_tvalid;")
    m.line("assign s_axis_tready = pop0;")
    for i, st in enumerate(stages):
        if i in loads:
            continue
        j = src[i]
        vw = st.plan.simd * st.in_bits if i in fed else None
        head = f"{prefix}_{st.name} u_{st.name} (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .in_data({_vec(f'in{j}', st, 'in', vw)}), "
        if i in bufs:
            nxt = stages[i + 1]
            bus = _vec(f"in{i + 1}", nxt, "in", nxt.plan.simd * nxt.in_bits).replace(".in_sum(", ".out_sum(")
            m.line(f"{head}.in_valid(v{j}), .in_pop(pop{j}), .out_data({bus}), .out_valid(v{i + 1}), "
                   f".out_pop(pop{i + 1}), .out_sf(sf{i + 1}));")
            continue
        sf = f", .in_sf(sf{i})" if i in fed else ""
        m.line(f"{head}.in_valid(v{j}), .in_pop(pop{j}), .out_data({_vec(f'out{i}', st, 'out', out_vw.get(i))}), "
               f".out_ready(rdy{i}), .out_push(push{i}){sf});")
    for i in range(n - 1):
        if i in loads or i in bufs:
            continue
        if i in links:
            nxt = stages[i + 1]
            wr = _vec(f"out{i}", stages[i], "out", out_vw[i]).replace(".out_sum(", ".in_sum(")
            rd = _vec(f"in{i + 1}", nxt, "in", nxt.plan.simd * nxt.in_bits).replace(".in_sum(", ".out_sum(")
            m.line(f"{prefix}_wbuf{i} u_wbuf{i} (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .in_data({wr}), "
                   f".in_push(push{i}), .in_ready(rdy{i}), .out_data({rd}), .out_valid(v{i + 1}), "
                   f".out_pop(pop{i + 1}), .out_sf(sf{i + 1}));")
            continue
        m.line(f"{prefix}_fifo{i} u_fifo{i} (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .wdata(out{i}), .push(push{i}), "
               f".ready(rdy{i}), .rdata(in{i + 1}), .valid(v{i + 1}), .pop(pop{i + 1}));")
    last = stages[-1]
    packed = _pack_out(m, f"out{n - 1}", last, fmt)
    m.line("wire ovalid;")
    m.line(f"{prefix}_fifo{n - 1} u_fifo{n - 1} (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .wdata({packed}), .push(push{n - 1}), "
           f".ready(rdy{n - 1}), .rdata(m_axis_tdata), .valid(ovalid), .pop(ovalid && m_axis_tready));")
    m.line("assign m_axis_tvalid = ovalid;")
    nb = fmt.out_beats
    if nb > 1:
        w = clog2(nb)
        m.line(f"reg [{w - 1}:0] obeat;")
        m.line("always @(posedge ap_clk) begin")
        m.line(f"    if (!ap_rst_n) obeat <= {w}'d0;")
        m.line(f"    else if (ovalid && m_axis_tready) obeat <= (obeat == {lit(nb - 1, w)}) ? {w}'d0 : obeat + {lit(1, w)};")
        m.line("end")
        m.line(f"assign m_axis_tlast = (obeat == {lit(nb - 1, w)});")
    else:
        m.line("assign m_axis_tlast = 1'b1;")
    return m.text()


def _vec(bus: str, st: Stage, side: str, vw: int | None = None) -> str:
    """A stage's data port on its FIFO bus: the whole bus, or its elements (``vw`` bits: all of them unless
    given) and (``.in_sum`` / ``.out_sum`` port) the S' bits above them."""
    sw = st.in_sum if side == "in" else st.out_sum
    if not sw:
        return bus
    if vw is None:
        vw = st.in_elems * st.in_bits if side == "in" else st.out_elems * st.out_bits
    return f"{bus}[{vw - 1}:0]), .{side}_sum({bus}[{vw + sw - 1}:{vw}]"


def _pack_out(m: Module, src: str, st: Stage, fmt: StreamFormat) -> str:
    """The last stage's output as the m_axis payload: scores sign-extended to byte-aligned fields."""
    eb, f = st.out_bits, fmt.out_field
    parts = []
    if fmt.out_width > fmt.out_payload:
        parts.append(f"{fmt.out_width - fmt.out_payload}'d0")
    for j in reversed(range(st.out_elems)):
        if f == 1:
            parts.append(f"{src}[{j}]")
            continue
        hi = j * eb + eb - 1
        sel = f"{src}[{hi}:{j * eb}]"
        parts.append(f"{{{{{f - eb}{{{src}[{hi}]}}}}, {sel}}}" if f > eb else sel)
    m.wire("opacked", fmt.out_width, "{" + ", ".join(parts) + "}")
    return "opacked"
