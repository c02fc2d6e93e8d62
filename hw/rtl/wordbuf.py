"""Verilog of a word buffer (:mod:`sbnn.arch.buffer`): a collector and the vector FIFO after it in one unit,
the vectors kept in distributed RAM in the order its sliced MVU reads them.

Handshake: the collector's (``in_valid`` / ``in_pop``; the last beat of a vector waits while ``depth``
vectors are held) and the FIFO's towards the MVU (``out_valid`` while a vector is held, ``out_pop`` releases
it), so pushes and pops fall on the clocks of the collector and FIFO it replaces. The MVU addresses its slice
with its slice counter (``out_sf``) and gets it from ``out_data`` in the same clock (asynchronous read).
"""

from __future__ import annotations

from sbnn.arch.pipeline import Stage
from sbnn.errors import HardwareError
from sbnn.hw.rtl.units import collector_sum, counter_decl, counter_step, is_last
from sbnn.hw.rtl.verilog import Module, clog2, lit


def collector_buffer(name: str, st: Stage, depth: int) -> str:
    """The word buffer of collector stage ``st`` holding ``depth`` vectors for its MVU (and one collecting)."""
    wb = st.word_buffer
    if wb is None or depth < 1:
        raise HardwareError(f"{st.name}: no word buffer (depth {depth})")
    nb, eb = st.in_beats, st.in_bits
    bw = st.in_elems * eb
    word = wb.chunk * eb  # bits per memory word
    simd_bits = wb.rows * word // wb.slices  # bits of one MVU slice
    sf_n = st.out_elems * eb // simd_bits
    banks = depth + 1
    iw, bkw, cw = clog2(wb.entries), clog2(banks), depth.bit_length()
    m = Module(name, f"Word buffer: {nb} beats of {bw} bits -> {banks} vectors of {sf_n} slices of {simd_bits} bits in "
                     f"{wb.rows} distributed RAM{'s' if wb.rows > 1 else ''} of {word}-bit words (a collector and a "
                     f"{depth}-vector FIFO).")
    m.port("input  wire ap_clk")
    m.port("input  wire ap_rst_n")
    m.port(f"input  wire [{bw - 1}:0] in_data")
    m.port("input  wire in_valid")
    m.port("output wire in_pop")
    m.port(f"output wire [{simd_bits - 1}:0] out_data")
    if st.out_sum:
        m.port(f"output wire [{st.out_sum - 1}:0] out_sum")
    m.port("output wire out_valid")
    m.port("input  wire out_pop")
    m.port(f"input  wire [{clog2(sf_n) - 1}:0] out_sf")
    # ---- control: the collector's beat counter and the FIFO's vector count, banks as ring pointers
    counter_decl(m, "beat", nb)
    m.line(f"wire last = {is_last('beat', nb)};")
    m.line(f"reg [{cw - 1}:0] count;")
    m.line(f"wire fire = ap_rst_n && in_valid && (!last || count != {lit(depth, cw)});")
    m.line("wire push = fire && last;")
    counter_step(m, "beat", nb, "fire")
    m.line("assign in_pop = fire;")
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
    if st.out_sum:  # S' of each vector, kept per bank
        collector_sum(m, st, assign=False)
        m.line(f"reg [{st.out_sum - 1}:0] vsum [0:{banks - 1}];")
        m.line("always @(posedge ap_clk) if (push) vsum[wbank] <= csum_nx;")
        m.line("assign out_sum = vsum[rbank];")
    return m.text()
