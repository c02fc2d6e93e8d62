"""Verilog of the distributed-RAM gather of a folded zero-skipping MVU (``gather`` lutram / lutram1).

Why: a slot of the flip-flop gather is a (K+1):1 multiplexer (~0.5 LUT per input in Yosys), while a LUT
used as RAM is a 64:1 multiplexer by itself. The loader copies the vector at the MVU's input FIFO head
into banks of 64-entry LUT-RAM and every slot reads its position through a RAM read port; the timing
(load stage, one or two buffers) is :mod:`sbnn.arch.pipeline`'s, the rest of the MVU is :mod:`sbnn.hw.rtl.folded`.
"""

from __future__ import annotations

from sbnn.arch.arith import Arith
from sbnn.arch.options import LUTRAM_BUFFERS, LUTRAM_DEPTH
from sbnn.arch.schedule import MVUPlan, lutram_banks, lutram_load_clocks
from sbnn.hw.rtl.verilog import Module, Op, clog2, const_mul, ext, lit, tree_sum, width_for
from sbnn.ir.model import MVU

#: read ports served by one copy of a distributed-RAM bank (RAM64M: three read-only ports)
LUTRAM_READ_PORTS = 3


def lutram_loader(m: Module, layer: MVU, plan: MVUPlan, eb: int, ar: Arith, direct: bool = False) -> Op | None:
    """Loader and distributed-RAM banks of a ``lutram``/``lutram1`` gather (see :mod:`sbnn.arch.schedule`).

    The vector at the input FIFO head is written into every bank in parallel, one entry per clock, for
    ``lutram_load_clocks(K)`` clocks (position 0, read by empty slots, is written with 0); the last write
    pops the FIFO and hands the buffer over (``bcount``, a registered count, as in a FIFO). With two
    buffers the next vector loads while the MVU computes on the other one. Each bank is replicated once per
    three read ports (RAM64M). ``S'`` is summed serially from the entries as they are written (an
    ``nb``-input adder instead of a K-input tree), and ``G = gmul * S'`` is kept per buffer.
    A *direct* load (``direct``: the MVU's input is one element per beat) writes each beat into its bank
    as it arrives and pops it at once (position 0 is 0 from the memory's initial value).
    Declares ``b_valid`` and ``lram<bank>_<copy>``; returns the G of the buffer being computed."""
    if direct:
        return _direct_loader(m, layer, plan, eb, ar)
    k = layer.in_features
    nbuf, nb, n_load = LUTRAM_BUFFERS[plan.gather], lutram_banks(k), lutram_load_clocks(k)
    ab = clog2(n_load)
    m.line(f"wire [{(k + 1) * eb - 1}:0] xpos = {{in_data, {eb}'d0}};  // position p = input p - 1; position 0 = 0")
    m.line(f"reg [{ab - 1}:0] la;")
    _buffer_control(m, nbuf, f"(la == {ab}'d0)", f"(la == {lit(n_load - 1, ab)})", pop_each=False)
    m.line("always @(posedge ap_clk) begin")
    m.line(f"    if (!ap_rst_n) la <= {ab}'d0;")
    m.line(f"    else if (l_fire) la <= l_last ? {ab}'d0 : la + {lit(1, ab)};")
    m.line("end")
    waddr = "{wb, la}" if nbuf == 2 else "la"
    depth = nbuf << ab
    copies = -(-plan.pe * plan.simd // LUTRAM_READ_PORTS)
    entries = []
    for j in range(nb):
        lo = j * LUTRAM_DEPTH
        n = min(k + 1 - lo, n_load)
        pad = (1 << ab) - n
        parts = ([f"{pad * eb}'d0"] if pad else []) + [f"xpos[{(lo + n) * eb - 1}:{lo * eb}]"]
        xb = m.wire(f"xb{j}", (1 << ab) * eb, "{" + ", ".join(parts) + "}")
        if eb == 1:
            d = m.wire(f"ld{j}", 1, f"{xb}[la]")
        else:
            iw = clog2((1 << ab) * eb)
            idx = m.wire(f"ldi{j}", iw, f"{{{iw - ab}'d0, la}} * {lit(eb, iw)}" if iw > ab else f"la * {lit(eb, iw)}")
            d = m.wire(f"ld{j}", eb, f"{xb}[{idx} +: {eb}]")
        entries.append(Op(d, eb, ar.elo, ar.ehi) if eb > 1 else Op(d, 1, 0, 1))
        for c in range(copies):
            m.line(f"reg [{eb - 1}:0] lram{j}_{c} [0:{depth - 1}];")
            m.line(f"always @(posedge ap_clk) if (l_fire) lram{j}_{c}[{waddr}] <= {d};")
    if not ar.gmul:
        return None
    return _buffered_g(m, k, entries, f"(la == {ab}'d0)", ar, nbuf)


def _buffer_control(m: Module, nbuf: int, first: str, last: str, pop_each: bool) -> None:
    """Loader handshake: a vector's first write waits for a free buffer (registered count, as a FIFO),
    its last write hands the buffer over; ``pop_each``: every write pops a beat (direct load)."""
    bw = 2 if nbuf == 2 else 1
    m.line(f"reg [{bw - 1}:0] bcount;")
    m.line(f"wire l_fire = ap_rst_n && in_valid && (!{first} || (bcount != {lit(nbuf, bw)}));")
    m.line(f"wire l_last = {last};")
    m.line("wire b_push = l_fire && l_last;")
    m.line(f"assign in_pop = {'l_fire' if pop_each else 'b_push'};")
    m.line(f"wire b_valid = (bcount != {bw}'d0);")
    m.line("always @(posedge ap_clk) begin")
    m.line(f"    if (!ap_rst_n) bcount <= {bw}'d0;")
    m.line(f"    else if (b_push && !b_pop) bcount <= bcount + {lit(1, bw)};")
    m.line(f"    else if (!b_push && b_pop) bcount <= bcount - {lit(1, bw)};")
    m.line("end")
    if nbuf == 2:
        m.line("reg wb, rb;")
        m.line("always @(posedge ap_clk) begin")
        m.line("    if (!ap_rst_n) begin wb <= 1'b0; rb <= 1'b0; end")
        m.line("    else begin if (b_push) wb <= ~wb; if (b_pop) rb <= ~rb; end")
        m.line("end")


def _direct_loader(m: Module, layer: MVU, plan: MVUPlan, eb: int, ar: Arith) -> Op | None:
    k = layer.in_features
    nbuf, nb = LUTRAM_BUFFERS[plan.gather], lutram_banks(k)
    ab, pw = clog2(lutram_load_clocks(k)), clog2(k + 1)
    m.line(f"reg [{pw - 1}:0] wp;  // position written by this beat: 1..K (position 0 stays 0)")
    _buffer_control(m, nbuf, f"(wp == {lit(1, pw)})", f"(wp == {lit(k, pw)})", pop_each=True)
    m.line("always @(posedge ap_clk) begin")
    m.line(f"    if (!ap_rst_n) wp <= {lit(1, pw)};")
    m.line(f"    else if (l_fire) wp <= l_last ? {lit(1, pw)} : wp + {lit(1, pw)};")
    m.line("end")
    depth = nbuf << ab
    copies = -(-plan.pe * plan.simd // LUTRAM_READ_PORTS)
    waddr = f"{{wb, wp[{ab - 1}:0]}}" if nbuf == 2 else f"wp[{ab - 1}:0]"
    for j in range(nb):
        sel = "l_fire" if nb == 1 else f"l_fire && (wp[{pw - 1}:{ab}] == {lit(j, pw - ab)})"
        for c in range(copies):
            m.line(f"reg [{eb - 1}:0] lram{j}_{c} [0:{depth - 1}];")
            m.line(f"always @(posedge ap_clk) if ({sel}) lram{j}_{c}[{waddr}] <= in_data;")
            if j == 0:
                m.line("initial begin")
                for b in range(nbuf):
                    m.line(f"    lram0_{c}[{b << ab}] = {eb}'d0;")
                m.line("end")
    if not ar.gmul:
        return None
    elem = Op("in_data", eb, ar.elo, ar.ehi) if eb > 1 else Op("in_data", 1, 0, 1)
    return _buffered_g(m, k, [elem], f"(wp == {lit(1, pw)})", ar, nbuf)


def _buffered_g(m: Module, k: int, entries: list[Op], first: str, ar: Arith, nbuf: int) -> Op:
    """S' summed over the entries written by each load step, G = gmul * S' kept per buffer."""
    step = tree_sum(m, entries, "ss")
    lo, hi = k * min(entries[0].lo, 0), k * max(entries[0].hi, 0)
    sw = width_for(lo, hi)
    m.line(f"reg [{sw - 1}:0] s_acc;")
    m.wire("s_nx", sw, f"({first} ? {sw}'d0 : s_acc) + {ext(step, sw)}")
    m.line("always @(posedge ap_clk) if (l_fire) s_acc <= s_nx;")
    g = const_mul(m, Op("s_nx", sw, lo, hi), ar.gmul, "g")
    if nbuf == 2:
        m.line(f"reg [{g.width - 1}:0] gbuf0, gbuf1;")
        m.line(f"always @(posedge ap_clk) if (b_push) begin if (wb) gbuf1 <= {g.name}; else gbuf0 <= {g.name}; end")
        return Op(m.wire("gcur", g.width, "rb ? gbuf1 : gbuf0"), g.width, g.lo, g.hi)
    m.line(f"reg [{g.width - 1}:0] gbuf;")
    m.line(f"always @(posedge ap_clk) if (b_push) gbuf <= {g.name};")
    return Op("gbuf", g.width, g.lo, g.hi)


def lutram_take(m: Module, layer: MVU, plan: MVUPlan, eb: int, ar: Arith) -> callable:
    """Returns f(pos_name, tag, slot) -> Op: position ``pos`` read from the copy serving ``slot``."""
    k = layer.in_features
    nbuf, nb = LUTRAM_BUFFERS[plan.gather], lutram_banks(k)
    ab, pw = clog2(lutram_load_clocks(k)), clog2(k + 1)
    sel_w = pw - ab
    lo, hi = (ar.elo, ar.ehi) if eb > 1 else (0, 1)

    def take(pos: str, tag: str, slot: int) -> Op:
        c = slot // LUTRAM_READ_PORTS
        addr = f"{pos}[{ab - 1}:0]"
        raddr = f"{{rb, {addr}}}" if nbuf == 2 else addr
        if nb == 1:
            return Op(m.wire(f"v{tag}", eb, f"lram0_{c}[{raddr}]"), eb, lo, hi)
        n_sel = 1 << sel_w
        parts = [f"lram{j}_{c}[{raddr}]" for j in reversed(range(nb))]
        if n_sel > nb:
            parts.insert(0, f"{(n_sel - nb) * eb}'d0")
        rv = m.wire(f"rv{tag}", n_sel * eb, "{" + ", ".join(parts) + "}")
        bank = f"{pos}[{pw - 1}:{ab}]"
        if eb == 1:
            return Op(m.wire(f"v{tag}", 1, f"{rv}[{bank}]"), 1, lo, hi)
        iw = clog2(n_sel * eb)
        idx = m.wire(f"rvi{tag}", iw, f"{{{iw - sel_w}'d0, {bank}}} * {lit(eb, iw)}" if iw > sel_w else f"{bank} * {lit(eb, iw)}")
        return Op(m.wire(f"v{tag}", eb, f"{rv}[{idx} +: {eb}]"), eb, lo, hi)

    return take
