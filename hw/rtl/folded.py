"""Verilog of a folded MVU (zero-skipping or dense XNOR): weight ROM -> gather / accumulate (the lanes of
the layer's style, :mod:`sbnn.hw.rtl.lanes`) -> compare, with the fold and slice counters and the output
register (see :mod:`sbnn.hw.rtl.mvu` for the arithmetic)."""

from __future__ import annotations

from sbnn.arch.arith import arith
from sbnn.arch.cost import threshold_layout
from sbnn.arch.depth import PIPE_PARTS
from sbnn.arch.options import LUTRAM_BUFFERS
from sbnn.arch.pipeline import Stage
from sbnn.errors import HardwareError
from sbnn.hw.rtl.datapath import compare_stored, elements, score_bits, shared_g, y_sum
from sbnn.hw.rtl.lanes import LANES, LanesFn, serial_g
from sbnn.hw.rtl.lutram import lutram_loader
from sbnn.hw.rtl.thresholds import compare_adjusted, ride_words, threshold_shift
from sbnn.hw.rtl.units import counter_decl, counter_step, is_last, unit_ports
from sbnn.hw.rtl.verilog import Module, Op, clog2, const_mul, ext, lint_off, lint_on, lit, rom_init, tree_sum
from sbnn.hw.rtl.weights import WordsFn, adjusted_threshold_words, threshold_words, weight_words
from sbnn.ir.model import MVU

#: slices from which an N:M MVU keeps its slice multiplexer whole (where its picks alone read the slice): with two,
#: Yosys folds the 2:1 multiplexer into the 8:1 picks for less (the Fashion SFC's 1:8 layers at PE 1 x SIMD 128:
#: 184 LUT each, 248 kept); with 4, 6 and 12 the kept one is smaller (the 1:8 CNV's convolutions at PE 1 x SIMD 96
#: and PE 2 x SIMD 48: 303 instead of 351 and 334 instead of 493 LUT; its interleaved FC layer at PE 1 x SIMD 256:
#: 424 instead of 570)
KEEP_SLICES = 4


def mvu_folded(name: str, st: Stage, layer: MVU, load: Stage | None = None, *, lanes: LanesFn | None = None,
               words: WordsFn | None = None) -> str:
    """Folded MVU: ROM stage -> gather/accumulate stage -> compare stage (see module docstring). A style
    outside :data:`~sbnn.hw.rtl.lanes.LANES` passes its own ``lanes`` and weight-memory ``words``."""
    plan = st.plan
    ar = arith(layer, plan)
    k, mch, eb = layer.in_features, layer.out_channels, st.in_bits
    pe, simd, t = plan.pe, plan.simd, plan.T
    nf = plan.folds.shape[0]
    sparse = plan.style == "sparse"
    m = Module(name, f"Folded MVU {layer.name}: {mch} x {k}, PE={pe}, SIMD={simd}, {plan.style}"
               f"{' (' + plan.coding + f', {plan.code_bits} b/slot, {plan.gather} gather)' if sparse else ''}, "
               f"{t} clocks/vector.")
    lut = sparse and plan.gather in LUTRAM_BUFFERS
    direct = lut and load is not None and load.direct
    # word-fed (sbnn.arch.buffer): the collector before it holds the vector in distributed RAM and returns the
    # slice that the slice counter addresses (out port in_sf), so no slice multiplexer here
    word_fed = st.word_buffer is not None
    # holds (sbnn.sim.cycles.size_links): the vector is copied into in_hold (and popped) as soon as in_hold is
    # free, at the previous vector's last word or when idle; every word reads in_hold
    hold = st.holds
    if hold and not st.holdable:
        raise HardwareError(f"{name}: only a sliced MVU reading whole vectors over >= 2 slices can hold them")
    # out_words: the PE output bits of every fold go to the word buffer of the MVU after it (no output register)
    out_words = st.info.get("out_words") is not None
    unit_ports(m, (1 if direct else simd if word_fed else k) * eb, (pe if out_words else mch) * ar.out_bits,
               in_sum=st.in_sum, out_sum=st.out_sum)
    if word_fed:
        if plan.fold_flag or k // simd < 2:
            raise HardwareError(f"{name}: a word-fed MVU reads K / SIMD > 1 slices by its slice counter")
        m.port(f"output wire [{clog2(k // simd) - 1}:0] in_sf")
    # S' formed by the producer (in_sum), else: the sliced MVUs (dense, N:M) read the vector slice by slice
    # during their first fold and sum S' as they go, a distributed-RAM gather during the load, the others over
    # all K at once
    serial_s = plan.sliced and bool(ar.gmul) and k // simd > 1 and not st.in_sum
    piped = bool(st.info.get("sum_regs"))
    g, s_parts = None, None  # s_parts (piped): partial sums of S' that travel with the word, G formed after
    if st.in_sum:  # held: S' is copied with its vector
        if hold:
            m.line(f"reg [{st.in_sum - 1}:0] in_hold_sum;")
        g = const_mul(m, Op("in_hold_sum" if hold else "in_sum", st.in_sum, ar.s_lo, ar.s_hi), ar.gmul, "g")
    elif ar.gmul and not lut and not serial_s:
        elems = [elements(m, layer, eb, ar)(i) for i in range(k)]
        if piped:  # half the K-input tree before the pipeline register, the rest and gmul * S' after it
            n = -(-k // PIPE_PARTS)
            s_parts = [tree_sum(m, elems[i : i + n], "sx") for i in range(0, k, n)]
        else:
            g = shared_g(m, elems, ar)
    # ---- handshake / control (declared first, used by the stages below)
    m.line("reg c_valid;")
    m.line("wire c_last;")
    m.line("wire c_fire = c_valid && (!c_last || out_ready);")
    # sum_regs: a pipeline register between the gather and the adder trees (sbnn.arch.depth); a word moves on
    # unless it ends a fold and the compare stage is still held (then the gather waits too)
    if piped:
        m.line("reg a_valid, a_fend;")
        m.line("wire adv = !(a_valid && a_fend && c_valid && !c_fire);")
    go = "adv" if piped else "(!c_valid || c_fire)"
    if lut:  # the gather reads the vector from distributed RAM, filled by the loader
        m.line("wire b_pop;")
        g = lutram_loader(m, layer, plan, eb, ar, direct)
        m.line(f"wire g_fire = ap_rst_n && b_valid && {go};")
    elif hold:
        m.line("reg h_valid;")
        m.line(f"wire g_fire = ap_rst_n && h_valid && {go};")
    else:
        m.line(f"wire g_fire = ap_rst_n && in_valid && {go};")
    m.line(f"assign out_push = c_fire{'' if out_words else ' && c_last'};")
    # ---- weight memory (with the thresholds' pieces in its spare width when they ride along: sbnn.arch.cost)
    wb = plan.word_bits
    words = (words or weight_words)(layer, plan)
    fw = clog2(nf)
    lane_w, twords = threshold_words(ar, plan)
    tw = pe * lane_w
    # riding in the weight memory, adjusted by G on the way in where G is known while the fold's words stream by
    # (sbnn.arch.cost.threshold_layout, sbnn.hw.rtl.thresholds)
    pc, adjusted = threshold_layout(layer, plan, st.impl.weight_rom if st.impl else "auto", g_ready=not serial_s)
    ride, per = pc > 0, int(plan.words[0])  # words per fold (all equal where the thresholds ride)
    field = 0
    if adjusted:
        field = pc * (per // pe)
        twords = adjusted_threshold_words(ar, plan, field)
    if ride:
        words = ride_words(words, twords, per, pc, wb)
        wb += pc
    # decode: rd holds a word `dec` steps ahead and the lanes decode it into registers over `dec` stages; the
    # memory's output (rm) is one word further ahead, so the decode starts from a flip-flop (a prefetch)
    dec = int(st.info.get("decode", 0)) if sparse and t > 1 else 0  # decode stages
    if t > 1:
        aw = clog2(t)
        rom_init(m, "wrom", wb, words, st.impl.weight_rom if st.impl else "auto")
        # the memory output holds word a0 after reset; addr is the address of the word after it, so the
        # memory's address comes from a register (the gather's handshake only enables the read)
        a0 = (1 + dec) % t if dec else 0
        rm = "rm" if dec else "rd"
        m.line(f"reg [{aw - 1}:0] addr;")
        m.line("always @(posedge ap_clk) begin")
        m.line(f"    if (!ap_rst_n) addr <= {lit((a0 + 1) % t, aw)};")
        m.line(f"    else if (g_fire) addr <= (addr == {lit(t - 1, aw)}) ? {aw}'d0 : addr + {lit(1, aw)};")
        m.line("end")
        m.line(f"reg [{wb - 1}:0] {rm};")
        m.line(f"always @(posedge ap_clk) if (g_fire || !ap_rst_n) {rm} <= wrom[ap_rst_n ? addr : {lit(a0, aw)}];")
        if dec:
            m.line(f"reg [{wb - 1}:0] rd;")
            m.line(f"always @(posedge ap_clk) if (!ap_rst_n) rd <= {lit(words[dec % t], wb)}; else if (g_fire) rd <= rm;")
    else:
        m.wire("rd", wb, lit(words[0], wb))
    sf_n = int(plan.words[0])  # words per fold when they are all equal (no fold flag): K / SIMD when sliced
    if plan.fold_flag and dec:  # the current word's fold-end flag (rd holds a word dec steps ahead)
        src = "rd[0]"
        for j in range(dec):
            r = "fend" if j == dec - 1 else f"fend_d{j}"
            m.line(f"reg {r};")
            m.line(f"always @(posedge ap_clk) if (!ap_rst_n) {r} <= 1'b{words[(dec - 1 - j) % t] & 1}; "
                   f"else if (g_fire) {r} <= {src};")
            src = r
    elif plan.fold_flag:
        m.line("wire fend = rd[0];")
    else:
        counter_decl(m, "sf", sf_n)
        m.line(f"wire fend = {is_last('sf', sf_n)};")
        counter_step(m, "sf", sf_n, "g_fire")
        if word_fed:
            m.line("assign in_sf = sf;")
    counter_decl(m, "fold", nf)
    counter_step(m, "fold", nf, "g_fire && fend")
    if hold:
        m.line(f"wire v_end = g_fire && fend && {is_last('fold', nf)};")
        m.line("wire h_load = ap_rst_n && in_valid && (!h_valid || v_end);")
        m.line("assign in_pop = h_load;")
        m.line(f"reg [{k * eb - 1}:0] in_hold;")
        m.line("always @(posedge ap_clk) if (h_load) in_hold <= in_data;")
        if st.in_sum:
            m.line("always @(posedge ap_clk) if (h_load) in_hold_sum <= in_sum;")
        m.line("always @(posedge ap_clk) begin")
        m.line("    if (!ap_rst_n) h_valid <= 1'b0;")
        m.line("    else if (h_load) h_valid <= 1'b1;")
        m.line("    else if (v_end) h_valid <= 1'b0;")
        m.line("end")
    else:
        m.line(f"assign {'b_pop' if lut else 'in_pop'} = g_fire && fend && {is_last('fold', nf)};")
    if piped:
        m.line("wire s_fire = ap_rst_n && a_valid && adv;")
        m.line("always @(posedge ap_clk) if (!ap_rst_n) a_valid <= 1'b0; else if (adv) a_valid <= g_fire;")
        if nf > 1:
            m.line(f"reg [{clog2(nf) - 1}:0] a_fold;")
        m.line(f"always @(posedge ap_clk) if (g_fire) begin a_fend <= fend;{' a_fold <= fold;' if nf > 1 else ''} end")
    # ---- lanes: gather + sum + accumulate
    extra = (({"decode": [words[i % t] for i in range(dec)]} if dec else {}) | ({"sum_regs": 1} if piped else {})
             | ({"word_fed": 1} if word_fed else {}) | ({"hold": 1} if hold else {})
             | ({"keep_slice": 1} if plan.style == "nm" and not serial_s and k // simd >= KEEP_SLICES else {}))
    accs = (lanes or LANES[plan.style])(m, layer, plan, ar, eb, **extra)
    if serial_s:  # piped: S' runs on after the pipeline register, G is formed there
        g = serial_g(m, layer, plan, ar, eb, piped)
    if s_parts is not None:  # S' (in parts) travels with its word; G = gmul * S' is formed after the register
        regs = [Op(f"a_s{i}", op.width, op.lo, op.hi) for i, op in enumerate(s_parts)]
        for r in regs:
            m.line(f"reg [{r.width - 1}:0] {r.name};")
        loads = " ".join(f"{r.name} <= {op.name};" for r, op in zip(regs, s_parts))
        m.line(f"always @(posedge ap_clk) if (g_fire) begin {loads} end")
        g = const_mul(m, tree_sum(m, regs, "sy"), ar.gmul, "g")
    elif piped and g is not None and not serial_s:  # G (a distributed-RAM load's, or in_sum's) travels with its word
        m.line(f"reg [{g.width - 1}:0] a_g;")
        m.line(f"always @(posedge ap_clk) if (g_fire) a_g <= {g.name};")
        g = Op("a_g", g.width, g.lo, g.hi)
    # ---- compare stage registers
    if field:  # lane fields of the adjusted thresholds
        tw = pe * field
    if ride:  # the fold's pieces, shifted in with its words (adjusted by G on the way in where field > 0)
        if per * pc > tw:
            m.line(lint_off("UNUSEDSIGNAL", "the last piece's padding above the threshold word"))
        threshold_shift(m, per, pc, wb, piped, g, field)
        if per * pc > tw:
            m.line(lint_on("UNUSEDSIGNAL"))
    if nf > 1:
        m.line(f"reg [{tw - 1}:0] c_thr;")
        if not ride:
            rom_init(m, "trom", tw, twords)
        m.line(f"reg [{fw - 1}:0] c_fold;")
        m.line(f"assign c_last = (c_fold == {lit(nf - 1, fw)});")
    else:
        m.wire("c_thr", tw, lit(twords[0], tw))
        m.line("assign c_last = 1'b1;")
    for p, acc in enumerate(accs):
        m.line(f"reg [{acc.width - 1}:0] c_acc{p};")
    if g is not None and not field:
        m.line(f"reg [{g.width - 1}:0] c_g;")
    load_c, fold_src = ("s_fire && a_fend", "a_fold") if piped else ("g_fire && fend", "fold")
    m.line("always @(posedge ap_clk) begin")
    m.line("    if (!ap_rst_n) c_valid <= 1'b0;")
    m.line(f"    else if ({load_c}) c_valid <= 1'b1;")
    m.line("    else if (c_fire) c_valid <= 1'b0;")
    m.line("end")
    m.line("always @(posedge ap_clk) begin")
    m.line(f"    if ({load_c}) begin")
    for p, acc in enumerate(accs):
        m.line(f"        c_acc{p} <= {acc.name};")
    if g is not None and not field:
        m.line(f"        c_g <= {g.name};")
    if nf > 1:
        m.line(f"        c_fold <= {fold_src};")
        m.line(f"        c_thr <= {f'thr_all[{tw - 1}:0]' if ride else f'trom[{fold_src}]'};")
    m.line("    end")
    m.line("end")
    cg = Op("c_g", g.width, g.lo, g.hi) if g is not None and not field else None
    lanes_out = []
    for p, acc in enumerate(accs):
        if field:
            fld = f"c_thr[{(p + 1) * field - 1}:{p * field}]"
            lanes_out.append(compare_adjusted(m, Op(f"c_acc{p}", acc.width, acc.lo, acc.hi), fld, field, ar.sh, f"{p}"))
            continue
        y = y_sum(m, cg, Op(f"c_acc{p}", acc.width, acc.lo, acc.hi), ar, f"{p}")
        base = p * lane_w
        if ar.theta is None:
            sc = m.wire(f"sc{p}", ar.yw, f"{y} - c_thr[{base + ar.yw - 1}:{base}]")
            lanes_out.append(score_bits(m, sc, ar, p))
        else:
            lanes_out.append(m.wire(f"bit{p}", 1, compare_stored(y, f"c_thr[{base + ar.yw - 1}:{base}]",
                                                                 f"c_thr[{base + ar.yw}]")))
    # ---- output vector: earlier folds are shifted into osr (fold f ends in slot f: a common clock enable,
    # no per-fold decoder), the last fold comes straight from the lanes
    ob = ar.out_bits
    fields = [""] * mch
    fold_w = pe * ob
    if out_words:
        m.line(f"assign out_data = {{{', '.join(reversed(lanes_out))}}};")
    elif nf > 1:
        m.line(f"reg [{(nf - 1) * fold_w - 1}:0] osr;")
        lanes_vec = "{" + ", ".join(reversed(lanes_out)) + "}"
        shifted = lanes_vec if nf == 2 else f"{{{lanes_vec}, osr[{(nf - 1) * fold_w - 1}:{fold_w}]}}"
        m.line(f"always @(posedge ap_clk) if (c_fire && !c_last) osr <= {shifted};")
    for f in range(nf if not out_words else 0):
        for p, c in enumerate(plan.folds[f]):
            lo = (f * pe + p) * ob
            fields[c] = lanes_out[p] if f == nf - 1 else (f"osr[{lo}]" if ob == 1 else f"osr[{lo + ob - 1}:{lo}]")
    if not out_words:
        m.line(f"assign out_data = {{{', '.join(reversed(fields))}}};")
    if st.out_sum:  # S' of the output vector for the next MVU: the PE bits of each fold added up
        pc = tree_sum(m, [Op(b, 1, 0, 1) for b in lanes_out], "os")
        sw = st.out_sum
        if nf > 1:
            m.line(f"reg [{sw - 1}:0] osum;")
            m.wire("osum_nx", sw, f"((c_fold == {fw}'d0) ? {sw}'d0 : osum) + {ext(pc, sw)}")
            m.line("always @(posedge ap_clk) if (c_fire && !c_last) osum <= osum_nx;")
            m.line("assign out_sum = osum_nx;")
        else:
            m.line(f"assign out_sum = {ext(pc, sw)};")
    return m.text()
