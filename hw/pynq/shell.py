"""The PYNQ shell: the Verilog top level that Vivado packages as the IP between the AXI DMA channels.

Why a shell around the generated core (``<name>_top``):

* AXI DMA streams are 8..1024 bits in powers of two; the core's ``tdata`` is whole bytes. The shell
  zero-pads both sides to :func:`sbnn.hw.pynq.driver.dma_width` and drives ``m_axis_tkeep`` all ones.
* An S2MM transfer in direct register mode ends at the first ``tlast``; the core marks the end of every
  frame. The shell remembers which input frame carried (or followed) the MM2S ``tlast`` - the end of a
  batch - and asserts ``m_axis_tlast`` only on that frame's last output beat, so one S2MM transfer
  receives a whole batch. Up to four batch ends may be in flight; a fifth waits (``s_axis_tready`` low).

:func:`sim_design` adds a simulation-only top that takes the MM2S ``tlast`` in an extra byte of
``tdata``, so the existing Verilator harness (:mod:`sbnn.hw.rtlsim.verilator`) can drive the real shell.
"""

from __future__ import annotations

import dataclasses

from sbnn.hw.pynq.driver import DmaFormat
from sbnn.hw.rtl.design import Design
from sbnn.hw.rtl.verilog import Module, clog2, lint_off, lint_on, lit
from sbnn.hw.stream import StreamFormat

#: batch ends that may be in flight inside the shell
QUEUE_DEPTH = 4


def shell_name(prefix: str) -> str:
    """Module name of the packaged IP's top level."""
    return f"{prefix}_pynq"


def shell_verilog(prefix: str, core_top: str, fmt: StreamFormat) -> str:
    """Verilog of ``<prefix>_pynq``: DMA-width AXI4-Stream ports around ``core_top``."""
    dfmt = DmaFormat.of(fmt)
    ci, co, ib, ob = fmt.in_width, fmt.out_width, dfmt.in_bus, dfmt.out_bus
    m = Module(shell_name(prefix), f"PYNQ shell of {core_top}: AXI DMA stream widths ({ib} b in, {ob} b out) and a tlast "
                                   "per batch\n(the frame during which the MM2S tlast arrived). Reset: ap_rst_n low >= 2 clocks.")
    m.port("input  wire ap_clk")
    m.port("input  wire ap_rst_n")
    if ib > ci:
        m.port(f"{lint_off('UNUSEDSIGNAL', 'tdata padding up to the DMA width')}\n    input  wire [{ib - 1}:0] s_axis_tdata "
               f"{lint_on('UNUSEDSIGNAL')}")
    else:
        m.port(f"input  wire [{ib - 1}:0] s_axis_tdata")
    m.port("input  wire s_axis_tlast")
    m.port("input  wire s_axis_tvalid")
    m.port("output wire s_axis_tready")
    m.port(f"output wire [{ob - 1}:0] m_axis_tdata")
    m.port(f"output wire [{ob // 8 - 1}:0] m_axis_tkeep")
    m.port("output wire m_axis_tlast")
    m.port("output wire m_axis_tvalid")
    m.port("input  wire m_axis_tready")
    qb = clog2(QUEUE_DEPTH)
    m.line("wire q_full;")
    m.line("wire c_tready, c_tvalid, c_tlast;")
    m.line(f"wire [{co - 1}:0] c_tdata;")
    m.line(f"{core_top} u_core (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .s_axis_tdata(s_axis_tdata[{ci - 1}:0]), "
           ".s_axis_tlast(1'b0), .s_axis_tvalid(s_axis_tvalid && !q_full), .s_axis_tready(c_tready), "
           ".m_axis_tdata(c_tdata), .m_axis_tvalid(c_tvalid), .m_axis_tready(m_axis_tready), .m_axis_tlast(c_tlast));")
    m.line("assign s_axis_tready = c_tready && !q_full;")
    m.line(f"assign m_axis_tdata = {{{ob - co}'d0, c_tdata}};" if ob > co else "assign m_axis_tdata = c_tdata;")
    m.line(f"assign m_axis_tkeep = {{{ob // 8}{{1'b1}}}};")
    m.line("assign m_axis_tvalid = c_tvalid;")
    m.line("wire in_fire = s_axis_tvalid && s_axis_tready;")
    m.line("wire out_fire = c_tvalid && m_axis_tready;")
    nb = fmt.in_beats
    if nb > 1:
        w = clog2(nb)
        m.line(f"reg [{w - 1}:0] ibeat;  // beat of the current input frame")
        m.line(f"wire in_end = (ibeat == {lit(nb - 1, w)});")
        m.line("always @(posedge ap_clk) begin")
        m.line(f"    if (!ap_rst_n) ibeat <= {w}'d0;")
        m.line(f"    else if (in_fire) ibeat <= in_end ? {w}'d0 : ibeat + {lit(1, w)};")
        m.line("end")
    else:
        m.line("wire in_end = 1'b1;")
    m.line("reg seen_last;  // an MM2S tlast arrived inside the current input frame")
    m.line("wire mark = in_fire && in_end && (seen_last || s_axis_tlast);")
    m.line("reg [31:0] fin, fout;  // input frames accepted, output frames delivered")
    m.line(f"reg [31:0] q [0:{QUEUE_DEPTH - 1}];  // numbers of the frames that end a batch")
    m.line(f"reg [{qb - 1}:0] qh, qt;")
    m.line(f"reg [{qb}:0] qn;")
    m.line(f"assign q_full = (qn == {lit(QUEUE_DEPTH, qb + 1)});")
    m.line(f"wire at_end = (qn != {qb + 1}'d0) && (q[qh] == fout);")
    m.line("assign m_axis_tlast = c_tlast && at_end;")
    m.line("wire pop = out_fire && c_tlast && at_end;")
    m.line("always @(posedge ap_clk) begin")
    m.line("    if (!ap_rst_n) begin")
    m.line(f"        seen_last <= 1'b0; fin <= 32'd0; fout <= 32'd0; qh <= {qb}'d0; qt <= {qb}'d0; qn <= {qb + 1}'d0;")
    m.line("    end else begin")
    m.line("        if (in_fire) seen_last <= !in_end && (seen_last || s_axis_tlast);")
    m.line("        if (in_fire && in_end) fin <= fin + 32'd1;")
    m.line("        if (out_fire && c_tlast) fout <= fout + 32'd1;")
    m.line(f"        if (mark) qt <= qt + {lit(1, qb)};")
    m.line(f"        if (pop) qh <= qh + {lit(1, qb)};")
    m.line(f"        qn <= qn + {{{qb}'d0, mark}} - {{{qb}'d0, pop}};")
    m.line("    end")
    m.line("end")
    m.line("always @(posedge ap_clk) if (mark) q[qt] <= fin;")
    return m.text()


def sim_top_verilog(prefix: str, fmt: StreamFormat) -> str:
    """Simulation-only top: tdata's extra top byte carries the MM2S tlast (bit ``in_bus``)."""
    dfmt = DmaFormat.of(fmt)
    ib, ob = dfmt.in_bus, dfmt.out_bus
    m = Module(f"{prefix}_pynq_sim", "Simulation top of the PYNQ shell: tdata bit "
                                     f"{ib} is the MM2S tlast (the Verilator harness drives tdata only).")
    m.port("input  wire ap_clk")
    m.port("input  wire ap_rst_n")
    m.port(f"{lint_off('UNUSEDSIGNAL', 'bits above the tlast bit, and the harness tlast')}\n    "
           f"input  wire [{ib + 7}:0] s_axis_tdata")
    m.port(f"input  wire s_axis_tlast {lint_on('UNUSEDSIGNAL')}")
    m.port("input  wire s_axis_tvalid")
    m.port("output wire s_axis_tready")
    m.port(f"output wire [{ob - 1}:0] m_axis_tdata")
    m.port("output wire m_axis_tvalid")
    m.port("input  wire m_axis_tready")
    m.port("output wire m_axis_tlast")
    m.line(f"{lint_off('PINCONNECTEMPTY', 'tkeep is constant')}")
    m.line(f"{shell_name(prefix)} u_shell (.ap_clk(ap_clk), .ap_rst_n(ap_rst_n), .s_axis_tdata(s_axis_tdata[{ib - 1}:0]), "
           f".s_axis_tlast(s_axis_tdata[{ib}]), .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready), "
           ".m_axis_tdata(m_axis_tdata), .m_axis_tkeep(), .m_axis_tlast(m_axis_tlast), .m_axis_tvalid(m_axis_tvalid), "
           ".m_axis_tready(m_axis_tready));")
    m.line(f"{lint_on('PINCONNECTEMPTY')}")
    return m.text()


def with_shell(design: Design) -> dict[str, str]:
    """The design's Verilog files plus the shell (the shell last: it is the IP's top level)."""
    files = dict(design.files)
    files[f"{shell_name(design.name)}.v"] = shell_verilog(design.name, design.top, design.stream)
    return files


def sim_design(design: Design) -> Design:
    """``design`` wrapped in the shell and the simulation top, as a Design that :mod:`sbnn.hw.rtlsim.verilator` runs.

    Its stream format is the DMA format with one more input byte (the tlast flag)."""
    dfmt = DmaFormat.of(design.stream)
    files = with_shell(design)
    top = f"{design.name}_pynq_sim"
    files[f"{top}.v"] = sim_top_verilog(design.name, design.stream)
    fmt = dataclasses.replace(dfmt, in_bus=dfmt.in_bus + 8)
    return dataclasses.replace(design, top=top, files=files, stream=fmt)
