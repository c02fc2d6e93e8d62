"""Verilog for the streaming units around the MVUs: FIFO, threshold, sliding window, max-pool, collector.

Every unit has the same handshake: ``in_valid``/``in_pop`` towards the FIFO (or AXI slave) before it and
``out_ready``/``out_push`` towards the FIFO after it. A unit fires at most one *step* per clock, when
its input beat is present (if the step consumes one) and the output FIFO has room (if the step produces
one); ``in_pop``/``out_push`` are asserted exactly on firing steps. These are the rules that
:mod:`sbnn.sim.cycles` models; the step patterns (which steps consume/produce) come from the
:class:`~sbnn.arch.pipeline.Stage` objects of the hardware plan.
"""

from __future__ import annotations

import numpy as np

from sbnn.arch.options import WindowLines
from sbnn.arch.pipeline import Stage
from sbnn.errors import HardwareError
from sbnn.hw.rtl.verilog import Module, Op, clog2, ext, lint_off, lint_on, lit, tree_sum

ONE = "1'b1"


def unit_ports(mod: Module, in_w: int, out_w: int, unused_in: str | None = None, clocked: bool = True,
               in_sum: int = 0, out_sum: int = 0) -> None:
    """The unit interface; ``in_sum`` / ``out_sum``: bits of S' arriving with each input vector / formed
    for each output vector (:attr:`sbnn.arch.pipeline.Stage.in_sum`)."""
    if clocked:
        mod.port("input  wire ap_clk")
    else:
        why = "combinational unit; the clock port keeps the unit interface uniform"
        mod.port(f"{lint_off('UNUSEDSIGNAL', why)}\n    input  wire ap_clk {lint_on('UNUSEDSIGNAL')}")
    mod.port("input  wire ap_rst_n")
    if unused_in:
        mod.port(f"{lint_off('UNUSEDSIGNAL', unused_in)}\n    input  wire [{in_w - 1}:0] in_data {lint_on('UNUSEDSIGNAL')}")
    else:
        mod.port(f"input  wire [{in_w - 1}:0] in_data")
    if in_sum:
        mod.port(f"input  wire [{in_sum - 1}:0] in_sum")
    mod.port("input  wire in_valid")
    mod.port("output wire in_pop")
    mod.port(f"output wire [{out_w - 1}:0] out_data")
    if out_sum:
        mod.port(f"output wire [{out_sum - 1}:0] out_sum")
    mod.port("input  wire out_ready")
    mod.port("output wire out_push")


def counter_decl(mod: Module, name: str, n: int) -> None:
    """Declare a wrap-around counter 0..n-1 (nothing for n == 1)."""
    if n > 1:
        mod.line(f"reg [{clog2(n) - 1}:0] {name};")


def counter_step(mod: Module, name: str, n: int, step: str) -> None:
    """Advance a counter declared by :func:`counter_decl` when ``step`` is true."""
    if n <= 1:
        return
    w = clog2(n)
    mod.line("always @(posedge ap_clk) begin")
    mod.line(f"    if (!ap_rst_n) {name} <= {w}'d0;")
    mod.line(f"    else if ({step}) {name} <= ({name} == {lit(n - 1, w)}) ? {w}'d0 : {name} + {lit(1, w)};")
    mod.line("end")


def is_last(name: str, n: int) -> str:
    return "1'b1" if n <= 1 else f"({name} == {lit(n - 1, clog2(n))})"


def is_first(name: str, n: int) -> str:
    return "1'b1" if n <= 1 else f"({name} == {clog2(n)}'d0)"


def fifo(name: str, width: int, depth: int) -> str:
    """A FIFO with registered flags (``count`` based), asynchronous read of the head entry.

    Push and pop may happen on the same clock; a pushed entry is visible one clock later. The flags
    depend on registers only, so ready/valid never form combinational paths between units. Depth 1 is a
    plain register with a full flag (no read multiplexer, no RAM: ``width`` flip-flops instead of the
    ~0.7 LUT per bit of a distributed-RAM FIFO); the FIFO sizing uses it wherever a deeper FIFO would
    change neither latency nor interval (:func:`sbnn.sim.cycles.size_fifos`)."""
    if depth < 1:
        raise HardwareError(f"FIFO {name}: depth must be >= 1, got {depth}")
    if depth == 1:
        return _register_fifo(name, width)
    aw, cw = clog2(depth), (depth).bit_length()
    m = Module(name, f"FIFO {width} bits x {depth} (registered flags, head read asynchronously).")
    _fifo_ports(m, width)
    m.line(f"reg [{width - 1}:0] mem [0:{depth - 1}];")
    m.line(f"reg [{aw - 1}:0] wptr;")
    m.line(f"reg [{aw - 1}:0] rptr;")
    m.line(f"reg [{cw - 1}:0] count;")
    m.line(f"assign ready = (count != {lit(depth, cw)});")
    m.line(f"assign valid = (count != {cw}'d0);")
    m.line("assign rdata = mem[rptr];")
    m.line("always @(posedge ap_clk) if (push) mem[wptr] <= wdata;")
    m.line("always @(posedge ap_clk) begin")
    m.line("    if (!ap_rst_n) begin")
    m.line(f"        wptr <= {aw}'d0; rptr <= {aw}'d0; count <= {cw}'d0;")
    m.line("    end else begin")
    m.line(f"        if (push) wptr <= (wptr == {lit(depth - 1, aw)}) ? {aw}'d0 : wptr + {lit(1, aw)};")
    m.line(f"        if (pop) rptr <= (rptr == {lit(depth - 1, aw)}) ? {aw}'d0 : rptr + {lit(1, aw)};")
    m.line(f"        if (push && !pop) count <= count + {lit(1, cw)};")
    m.line(f"        else if (pop && !push) count <= count - {lit(1, cw)};")
    m.line("    end")
    m.line("end")
    return m.text()


def _fifo_ports(m: Module, width: int) -> None:
    """The ports every stream FIFO has, whatever its depth."""
    m.port("input  wire ap_clk")
    m.port("input  wire ap_rst_n")
    m.port(f"input  wire [{width - 1}:0] wdata")
    m.port("input  wire push")
    m.port("output wire ready")
    m.port(f"output wire [{width - 1}:0] rdata")
    m.port("output wire valid")
    m.port("input  wire pop")


def _register_fifo(name: str, width: int) -> str:
    """Depth 1: the entry is a register written by a push into an empty FIFO (a push needs ``ready`` = not
    full, a pop needs ``valid`` = full, so the two never meet); its data path has no reset."""
    m = Module(name, f"FIFO {width} bits x 1 (a register with a registered full flag).")
    _fifo_ports(m, width)
    m.line(f"reg [{width - 1}:0] data;")
    m.line("reg full;")
    m.line("assign ready = !full;")
    m.line("assign valid = full;")
    m.line("assign rdata = data;")
    m.line("always @(posedge ap_clk) if (push) data <= wdata;")
    m.line("always @(posedge ap_clk) begin")
    m.line("    if (!ap_rst_n) full <= 1'b0;")
    m.line("    else if (push) full <= 1'b1;")
    m.line("    else if (pop) full <= 1'b0;")
    m.line("end")
    return m.text()


def threshold(name: str, st: Stage, thresholds: np.ndarray, directions: np.ndarray) -> str:
    """Per-element compare of integer pixels with per-channel constants (input binarization)."""
    eb, n = st.in_bits, st.in_elems
    c = thresholds.size
    lo, hi = (-(1 << (eb - 1)), (1 << (eb - 1)) - 1) if st.in_signed else (0, (1 << eb) - 1)
    exprs, const = [], False
    for e in range(n):
        t, d = int(thresholds[e % c]), int(directions[e % c])
        x = f"in_data[{e * eb + eb - 1}:{e * eb}]" if eb > 1 else f"in_data[{e}]"
        if d > 0:
            always, never = t <= lo, t > hi
            op = ">="
        else:
            always, never = t >= hi, t < lo
            op = "<="
        if always or never:
            exprs.append("1'b1" if always else "1'b0")
            const = True
        elif st.in_signed:
            exprs.append(f"($signed({x}) {op} $signed({lit(t, eb)}))")
        else:
            exprs.append(f"({x} {op} {lit(t, eb)})")
    m = Module(name, f"Threshold unit: {st.pixels_per_beat} pixel(s) x {c} channels of {eb}-bit integers -> bits.")
    unit_ports(m, n * eb, n, "channels with a constant threshold ignore their input" if const else None, clocked=False)
    m.line("wire fire = ap_rst_n && in_valid && out_ready;")
    m.line("assign in_pop = fire;")
    m.line("assign out_push = fire;")
    m.line(f"assign out_data = {{{', '.join(reversed(exprs))}}};")
    return m.text()


def pad_pixel(st: Stage, pad_value: int) -> str:
    eb, c = st.in_bits, st.in_elems
    if eb == 1:
        return f"{c}'d0"
    lo, hi = (-(1 << (eb - 1)), (1 << (eb - 1)) - 1) if st.in_signed else (0, (1 << eb) - 1)
    if not lo <= pad_value <= hi:
        raise HardwareError(f"{st.name}: pad value {pad_value} is not representable in the {eb}-bit input elements")
    word = 0
    for i in range(c):
        word |= (pad_value % (1 << eb)) << (i * eb)
    return lit(word, c * eb)


def swu(name: str, st: Stage, h: int, w: int, pad_value: int, lines: WindowLines = "auto") -> str:
    """Sliding-window unit: the padded map is shifted through k window rows joined by delay lines.

    Step s of a frame shifts in padded pixel s (a real input pixel, or the pad value without waiting for
    input); steps whose window lies inside the padded map also write that window to the output FIFO.
    Delay lines carry no reset so that synthesis maps them to SRLs, or, where :func:`line_ram` finds it smaller,
    they are one distributed RAM with a circular pointer (the k - 1 lines side by side in its word; ``lines``
    "srl" / "ram" force either: sbnn.arch.options.WindowLines). With
    ``in_sum`` (the producer's count of +1
    bits of each pixel, :func:`sbnn.arch.pipeline._link_window_sums`) every pixel carries its count above its
    bits; the window's S' (``out_sum``) is the sum of the entering column's counts and the column sums of the
    k - 1 columns before it, kept in registers as they shift (pad pixels count 0)."""
    k, p = st.info["kernel"], st.info["pad"]
    hp, wp = h + 2 * p, w + 2 * p
    pe_w = st.in_elems * st.in_bits  # a pixel's elements
    cb = st.in_sum  # its count above them
    if cb and (st.in_bits != 1 or not st.out_sum):
        raise HardwareError(f"{name}: a window sums the counts of bipolar pixels only, into out_sum")
    pw = pe_w + cb
    dl = wp - k
    m = Module(name, f"Sliding window {k}x{k}, pad {p}, on a {h}x{w} map of {pe_w}-bit pixels"
                     f"{f' with their {cb}-bit counts' if cb else ''}.")
    unit_ports(m, pe_w, k * k * pe_w, in_sum=cb, out_sum=st.out_sum)
    xw, yw = clog2(wp), clog2(hp)
    m.line(f"reg [{xw - 1}:0] px;")
    m.line(f"reg [{yw - 1}:0] py;")
    conds = []
    if p:
        conds += [f"(py >= {lit(p, yw)})", f"(py < {lit(h + p, yw)})", f"(px >= {lit(p, xw)})", f"(px < {lit(w + p, xw)})"]
    m.line(f"wire real_px = {' && '.join(conds) if conds else ONE};")
    emit = []
    if k > 1:
        emit = [f"(py >= {lit(k - 1, yw)})", f"(px >= {lit(k - 1, xw)})"]
    m.line(f"wire emit = {' && '.join(emit) if emit else ONE};")
    m.line("wire fire = ap_rst_n && (!real_px || in_valid) && (!emit || out_ready);")
    m.line("assign in_pop = fire && real_px;")
    m.line("assign out_push = fire && emit;")
    pad = pad_pixel(st, pad_value) if not cb else f"{{{cb}'d0, {pad_pixel(st, pad_value)}}}"
    m.line(f"wire [{pw - 1}:0] pin = real_px ? {'{in_sum, in_data}' if cb else 'in_data'} : {pad};")
    m.line("always @(posedge ap_clk) begin")
    m.line(f"    if (!ap_rst_n) begin px <= {xw}'d0; py <= {yw}'d0; end")
    m.line("    else if (fire) begin")
    m.line(f"        px <= (px == {lit(wp - 1, xw)}) ? {xw}'d0 : px + {lit(1, xw)};")
    m.line(f"        if (px == {lit(wp - 1, xw)}) py <= (py == {lit(hp - 1, yw)}) ? {yw}'d0 : py + {lit(1, yw)};")
    m.line("    end")
    m.line("end")
    regs = [(ky, kx) for ky in range(k) for kx in range(k) if (ky, kx) != (0, 0)]  # w0_0 would only be shifted out
    # with counts, the top window row keeps none: its pixels leave the window without entering another row
    row_w = [pe_w if cb and ky == 0 else pw for ky in range(k)]
    for ky, kx in regs:
        m.line(f"reg [{row_w[ky] - 1}:0] w{ky}_{kx};")
    ram = dl > 1 and (line_ram(dl, (k - 1) * pw) if lines == "auto" else lines == "ram")  # one step: a register
    for ky in range(k - 1):
        if dl > 0 and not ram:
            m.line(f"reg [{pw - 1}:0] dl{ky} [0:{dl - 1}];")
    if ram:  # line ky is the word's field ky; the word at the pointer was written dl steps ago
        aw = clog2(dl)
        m.line(f"reg [{(k - 1) * pw - 1}:0] dlm [0:{dl - 1}];")
        m.line(f"reg [{aw - 1}:0] dlp;")
        m.line(f"wire [{(k - 1) * pw - 1}:0] dlw = dlm[dlp];")
        for ky in range(k - 1):
            m.line(f"wire [{pw - 1}:0] dlo{ky} = dlw[{(ky + 1) * pw - 1}:{ky * pw}];")
    nxt = {}
    for ky in range(k):
        for kx in range(k):
            if kx < k - 1:
                nxt[ky, kx] = f"w{ky}_{kx + 1}"
            elif ky == k - 1:
                nxt[ky, kx] = "pin"
            else:
                nxt[ky, kx] = (f"dlo{ky}" if ram else f"dl{ky}[{dl - 1}]") if dl > 0 else f"w{ky + 1}_0"
    m.line("always @(posedge ap_clk) begin")
    m.line("    if (fire) begin")
    for ky, kx in regs:
        src = nxt[ky, kx] if kx < k - 1 or row_w[ky] == pw else f"{nxt[ky, kx]}[{row_w[ky] - 1}:0]"
        m.line(f"        w{ky}_{kx} <= {src};")
    m.line("    end")
    m.line("end")
    if ram:
        m.line("always @(posedge ap_clk) begin")
        m.line(f"    if (!ap_rst_n) dlp <= {aw}'d0;")
        m.line(f"    else if (fire) dlp <= (dlp == {lit(dl - 1, aw)}) ? {aw}'d0 : dlp + {lit(1, aw)};")
        m.line("end")
        word = ", ".join(f"w{ky + 1}_0" for ky in reversed(range(k - 1)))
        m.line(f"always @(posedge ap_clk) if (fire) dlm[dlp] <= {{{word}}};")
    for ky in range(k - 1):
        if dl > 0 and not ram:
            m.line("always @(posedge ap_clk) begin")
            m.line("    if (fire) begin")
            m.line(f"        dl{ky}[0] <= w{ky + 1}_0;")
            for i in range(1, dl):
                m.line(f"        dl{ky}[{i}] <= dl{ky}[{i - 1}];")
            m.line("    end")
            m.line("end")
    order = [nxt[ky, kx] for ky in range(k) for kx in range(k)]
    if cb:
        _window_sum(m, st, k, [nxt[ky, k - 1] for ky in range(k)], pe_w, cb)
        # the top row's registers hold no count (all but its entering pixel): every other value is cut to its bits
        order = [nxt[ky, kx] if ky == 0 and kx < k - 1 else f"{nxt[ky, kx]}[{pe_w - 1}:0]"
                 for ky in range(k) for kx in range(k)]
    m.line(f"assign out_data = {{{', '.join(reversed(order))}}};")
    return m.text()


def _window_sum(m: Module, st: Stage, k: int, entering: list[str], pe_w: int, cb: int) -> None:
    """``out_sum`` of a sliding window: the counts of the column that enters with this step plus the column
    sums of the k - 1 columns before it, which registers keep as the window shifts (the same clock enable as
    the window's pixels; no reset: a column's sum is written with its pixels, and every emitted window holds
    k columns written in this frame)."""
    c = st.in_elems  # a count is at most the pixel's channels
    col = tree_sum(m, [Op(f"{v}[{pe_w + cb - 1}:{pe_w}]", cb, 0, c) for v in entering], "wc")
    regs = [f"wcs{kx}" for kx in range(1, k)]  # the column sums of window columns 1 .. k-1
    for r in regs:
        m.line(f"reg [{col.width - 1}:0] {r};")
    m.line("always @(posedge ap_clk) begin")
    m.line("    if (fire) begin")
    for a, b in zip(regs, regs[1:]):
        m.line(f"        {a} <= {b};")
    m.line(f"        {regs[-1]} <= {col.name};")
    m.line("    end")
    m.line("end")
    total = tree_sum(m, [Op(r, col.width, col.lo, col.hi) for r in regs] + [col], "ws")
    m.line(f"assign out_sum = {ext(total, st.out_sum)};")


def line_ram(depth: int, width: int) -> bool:
    """Whether a sliding window's delay lines (``width`` bits side by side, ``depth`` steps) cost fewer LUTs as one
    distributed RAM with a pointer than as shift registers: an SRL is one LUT per bit and 32 steps, a RAM32M /
    RAM64M 4 LUTs per 6 / 3 bits, the pointer a few more. Measured by benchmarks/hw_line_ram.py, each window built
    both ways (results/hw_line_ram.md: the 1:8 CNV's fourth window, 142 bits x 7 steps, 96 LUTs of RAM against 142
    SRLs)."""
    if depth < 2 or depth > 64:
        return False
    srl = width * -(-depth // 32)
    ram = 4 * -(-width // (6 if depth <= 32 else 3)) + LINE_POINTER_LUT
    return ram < srl


#: LUTs of a distributed-RAM delay line's circular pointer (Yosys: 4-8 for depths 7-27)
LINE_POINTER_LUT = 8


def maxpool(name: str, st: Stage, h: int, w: int) -> str:
    """k x k / stride k max-pool on bits (OR), one input pixel per step, partial rows kept per pool column."""
    k = st.info["kernel"]
    c = st.in_elems
    cols = w // k
    m = Module(name, f"Max-pool {k}x{k} (OR of bits) on a {h}x{w} map of {c} channels.")
    unit_ports(m, c, c)
    for n_, cnt in (("cx", k), ("col", cols), ("cy", k)):
        counter_decl(m, n_, cnt)
    m.line(f"wire emit = {is_last('cy', k)} && {is_last('cx', k)};")
    m.line("wire fire = ap_rst_n && in_valid && (!emit || out_ready);")
    m.line("assign in_pop = fire;")
    m.line("assign out_push = fire && emit;")
    if k == 1:
        m.line("assign out_data = in_data;")
        return m.text()
    counter_step(m, "cx", k, "fire")
    if cols > 1:
        counter_step(m, "col", cols, f"fire && {is_last('cx', k)}")
    counter_step(m, "cy", k, f"fire && {is_last('cx', k)} && {is_last('col', cols)}")
    idx = "col" if cols > 1 else "0"
    m.line(f"reg [{c - 1}:0] acc;")
    m.line(f"reg [{c - 1}:0] rowbuf [0:{cols - 1}];")
    m.line(f"wire [{c - 1}:0] base = {is_first('cx', k)} ? ({is_first('cy', k)} ? {c}'d0 : rowbuf[{idx}]) : acc;")
    m.line(f"wire [{c - 1}:0] val = base | in_data;")
    m.line("always @(posedge ap_clk) begin")
    m.line("    if (fire) begin")
    m.line(f"        if (!{is_last('cx', k)}) acc <= val;")
    m.line(f"        else if (!{is_last('cy', k)}) rowbuf[{idx}] <= val;")
    m.line("    end")
    m.line("end")
    m.line("assign out_data = val;")
    return m.text()


def collector(name: str, st: Stage) -> str:
    """Collects the beats of a flattened map into one input vector for a dense layer. The beats before
    the last are shifted into one register (beat b ends in slot b): one clock enable for all of them,
    no per-beat decoder (a 784-beat collector would need ~1,000 LUTs of comparators)."""
    nb = st.in_beats
    bw = st.in_elems * st.in_bits
    with_sum = " and the sum of its elements" if st.out_sum else ""
    m = Module(name, f"Collector: {nb} beats of {bw} bits -> one {nb * bw}-bit vector{with_sum}.")
    unit_ports(m, bw, nb * bw, out_sum=st.out_sum)
    counter_decl(m, "beat", nb)
    m.line(f"wire last = {is_last('beat', nb)};")
    m.line("wire fire = ap_rst_n && in_valid && (!last || out_ready);")
    counter_step(m, "beat", nb, "fire")
    m.line("assign in_pop = fire;")
    m.line("assign out_push = fire && last;")
    if nb == 1:
        m.line("assign out_data = in_data;")
        return m.text()
    w = (nb - 1) * bw
    m.line(f"reg [{w - 1}:0] csr;")
    m.line(f"always @(posedge ap_clk) if (fire && !last) csr <= {'in_data' if nb == 2 else f'{{in_data, csr[{w - 1}:{bw}]}}'};")
    m.line("assign out_data = {in_data, csr};")
    if st.out_sum:
        collector_sum(m, st)
    return m.text()


def collector_sum(m: Module, st: Stage, assign: bool = True) -> None:
    """S' of the collected vector, summed beat by beat (a beat-wide adder and an accumulator): ``csum_nx``
    holds the whole vector's at its last beat (``assign``: that is ``out_sum``)."""
    eb, n, sw = st.in_bits, st.in_elems, st.out_sum
    lo, hi = (0, 1) if eb == 1 else ((-(1 << (eb - 1)), (1 << (eb - 1)) - 1) if st.in_signed else (0, (1 << eb) - 1))
    elems = [Op(f"in_data[{e}]", 1, 0, 1) if eb == 1 else
             Op(m.wire(f"xe{e}", eb, f"in_data[{e * eb + eb - 1}:{e * eb}]"), eb, lo, hi) for e in range(n)]
    step = tree_sum(m, elems, "bs")
    m.line(f"reg [{sw - 1}:0] csum;")
    m.wire("csum_nx", sw, f"({is_first('beat', st.in_beats)} ? {sw}'d0 : csum) + {ext(step, sw)}")
    m.line("always @(posedge ap_clk) if (fire && !last) csum <= csum_nx;")
    if assign:
        m.line("assign out_sum = csum_nx;")
