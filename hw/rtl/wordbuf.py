"""Verilog of a word buffer (:mod:`sbnn.arch.buffer`): a collector and the vector FIFO after it in one unit,
the vectors kept in distributed RAM in the order its sliced MVU reads them.

Handshake: the collector's (``in_valid`` / ``in_pop``; the last beat of a vector waits while ``depth``
vectors are held) and the FIFO's towards the MVU (``out_valid`` while a vector is held, ``out_pop`` releases
it), so pushes and pops fall on the clocks of the collector and FIFO it replaces. The MVU addresses its slice
with its slice counter (``out_sf``) and gets it from ``out_data`` in the same clock (asynchronous read).
"""

from __future__ import annotations

from sbnn.arch.buffer import WordBuffer
from sbnn.arch.pipeline import Stage
from sbnn.errors import HardwareError
from sbnn.hw.rtl.units import collector_sum, counter_decl, counter_step, is_last
from sbnn.hw.rtl.verilog import Module, clog2, lit


def collector_buffer(name: str, st: Stage, depth: int) -> str:
    """The word buffer of collector stage ``st`` holding ``depth`` vectors for its MVU (and one collecting)."""
    wb = st.word_buffer
    if wb is None or depth < 1:
        raise HardwareError(f"{st.name}: no word buffer (depth {depth})")
    eb = st.in_bits
    m, cw = _module(name, wb, st.in_beats, st.in_elems * eb, eb, st.out_elems, depth, st.out_sum,
                    f"a collector and a {depth}-vector FIFO")
    m.port("input  wire in_valid")
    m.port("output wire in_pop")
    counter_decl(m, "beat", st.in_beats)
    m.line(f"wire last = {is_last('beat', st.in_beats)};")
    m.line(f"reg [{cw - 1}:0] count;")
    m.line(f"wire fire = ap_rst_n && in_valid && (!last || count != {lit(depth, cw)});")
    m.line("assign in_pop = fire;")
    _core(m, wb, st.in_beats, st.in_elems * eb, eb, st.out_elems, depth)
    if st.out_sum:  # S' of each vector, summed beat by beat, kept per bank
        collector_sum(m, st, assign=False)
        _sums(m, st.out_sum, depth, "csum_nx")
    return m.text()


def link_buffer(name: str, src: Stage, dst: Stage, depth: int) -> str:
    """The word buffer between a folded MVU ``src`` that writes its PE output bits fold by fold (``out_push``
    every fold, ``out_ready`` looked at only by the last) and the sliced MVU ``dst`` that reads it: the link's
    FIFO of ``depth`` vectors and the producer's output shift register in one distributed RAM."""
    wb = src.info["out_words"]
    if wb is None or depth < 1:
        raise HardwareError(f"{src.name}: no word buffer (depth {depth})")
    nf, pe = src.plan.folds.shape
    m, cw = _module(name, wb, nf, pe * src.out_bits, src.out_bits, dst.in_elems, depth, src.out_sum,
                    f"the {depth}-vector FIFO after {src.name} and its output register")
    if src.out_sum:
        m.port(f"input  wire [{src.out_sum - 1}:0] in_sum")
    m.port("input  wire in_push")
    m.port("output wire in_ready")
    counter_decl(m, "beat", nf)
    m.line(f"wire last = {is_last('beat', nf)};")
    m.line(f"reg [{cw - 1}:0] count;")
    m.line("wire fire = in_push;")
    m.line(f"assign in_ready = (count != {lit(depth, cw)});")
    _core(m, wb, nf, pe * src.out_bits, src.out_bits, dst.in_elems, depth)
    if src.out_sum:
        _sums(m, src.out_sum, depth, "in_sum")
    return m.text()


def _module(name: str, wb: WordBuffer, nb: int, bw: int, eb: int, k: int, depth: int, sum_bits: int,
            what: str) -> tuple[Module, int]:
    """The module with the ports both front ends share; returns it and the width of the vector count."""
    word, simd_bits, sf_n = wb.chunk * eb, wb.slice_elems * eb, k // wb.slice_elems
    m = Module(name, f"Word buffer: {nb} beats of {bw} bits -> {depth + 1} vectors of {sf_n} slices of {simd_bits} "
                     f"bits in {wb.rows} distributed RAM{'s' if wb.rows > 1 else ''} of {word}-bit words ({what}).")
    m.port("input  wire ap_clk")
    m.port("input  wire ap_rst_n")
    m.port(f"input  wire [{bw - 1}:0] in_data")
    m.port(f"output wire [{simd_bits - 1}:0] out_data")
    if sum_bits:
        m.port(f"output wire [{sum_bits - 1}:0] out_sum")
    m.port("output wire out_valid")
    m.port("input  wire out_pop")
    m.port(f"input  wire [{clog2(sf_n) - 1}:0] out_sf")
    return m, depth.bit_length()


def _sums(m: Module, sw: int, depth: int, src: str) -> None:
    """S' of each vector (``src`` at the vector's last beat), kept per bank."""
    m.line(f"reg [{sw - 1}:0] vsum [0:{depth}];")
    m.line(f"always @(posedge ap_clk) if (push) vsum[wbank] <= {src};")
    m.line("assign out_sum = vsum[rbank];")


def _core(m: Module, wb: WordBuffer, nb: int, bw: int, eb: int, k: int, depth: int) -> None:
    """Banks, vector count, writes and reads, given ``fire`` (a beat is taken), ``last`` and ``count``."""
    word, simd_bits, sf_n = wb.chunk * eb, wb.slice_elems * eb, k // wb.slice_elems  # memory word, MVU slice
    banks = depth + 1
    iw, bkw, cw = wb.index_bits, clog2(banks), depth.bit_length()
    # ---- control: the beat counter and the FIFO's vector count, banks as ring pointers
    m.line("wire push = fire && last;")
    counter_step(m, "beat", nb, "fire")
    m.line(f"assign out_valid = (count != {cw}'d0);")
    m.line(f"reg [{bkw - 1}:0] wbank, rbank;")
    m.line("always @(posedge ap_clk) begin")
    m.line(f"    if (!ap_rst_n) begin count <= {cw}'d0; wbank <= {bkw}'d0; rbank <= {bkw}'d0; end")
    m.line("    else begin")
    m.line(f"        if (push) wbank <= (wbank == {lit(banks - 1, bkw)}) ? {bkw}'d0 : wbank + {lit(1, bkw)};")
    m.line(f"        if (out_pop) rbank <= (rbank == {lit(banks - 1, bkw)}) ? {bkw}'d0 : rbank + {lit(1, bkw)};")
    m.line(f"        if (push && !out_pop) count <= count + {lit(1, cw)};")
    m.line(f"        else if (out_pop && !push) count <= count - {lit(1, cw)};")
    m.line("    end")
    m.line("end")
    # ---- write: `beats` beats make a word (the earlier ones wait in a shift register); words fill
    # memory 0's entries, then memory 1's ...
    r = wb.beats
    if r > 1:
        counter_decl(m, "rb", r)
        counter_step(m, "rb", r, "fire")
        sw = (r - 1) * bw
        m.line(f"reg [{sw - 1}:0] wsr;")
        m.line(f"always @(posedge ap_clk) if (fire && !{is_last('rb', r)}) wsr <= "
               f"{'in_data' if r == 2 else f'{{in_data, wsr[{sw - 1}:{bw}]}}'};")
        m.wire("wdata", word, "{in_data, wsr}")
        m.line(f"wire wen = fire && {is_last('rb', r)};")
    else:
        m.wire("wdata", word, "in_data")
        m.line("wire wen = fire;")
    counter_decl(m, "wc", wb.entries)
    counter_step(m, "wc", wb.entries, "wen")
    if wb.rows > 1:
        counter_decl(m, "wt", wb.rows)
        counter_step(m, "wt", wb.rows, f"wen && {is_last('wc', wb.entries)}")
    n_addr = banks << iw
    lq = (wb.slices - 1).bit_length()
    sfw = clog2(sf_n)
    m.wire("raddr", bkw + iw, f"{{rbank, out_sf[{sfw - 1}:{lq}]}}" if lq else "{rbank, out_sf}")
    words = []
    for t in range(wb.rows):
        m.line(f"reg [{word - 1}:0] mem{t} [0:{n_addr - 1}];")
        sel = f"wen && wt == {lit(t, clog2(wb.rows))}" if wb.rows > 1 else "wen"
        m.line(f"always @(posedge ap_clk) if ({sel}) mem{t}[{{wbank, wc}}] <= wdata;")
        words.append(m.wire(f"rw{t}", word, f"mem{t}[raddr]"))
    # ---- read: the slice is the rows' words interleaved element by element, or one slice of the word
    if wb.rows > 1:
        parts = [f"{words[t]}[{u * eb + eb - 1}:{u * eb}]" if eb > 1 else f"{words[t]}[{u}]"
                 for u in range(wb.chunk) for t in range(wb.rows)]
        m.line(f"assign out_data = {{{', '.join(reversed(parts))}}};")
    elif lq:
        ow = clog2(word)
        sub = f"{{{ow - lq}'d0, out_sf[{lq - 1}:0]}}" if ow > lq else f"out_sf[{lq - 1}:0]"
        m.line(f"assign out_data = {words[0]}[{sub} * {lit(simd_bits, ow)} +: {simd_bits}];")
    else:
        m.line(f"assign out_data = {words[0]};")
