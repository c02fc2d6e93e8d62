"""Verilog of a folded MVU (zero-skipping or dense XNOR): weight ROM -> gather / accumulate (the lanes of
the layer's style, :mod:`sbnn.hw.rtl.lanes`) -> compare, with the fold and slice counters and the output
register (see :mod:`sbnn.hw.rtl.mvu` for the arithmetic)."""

from __future__ import annotations

from sbnn.arch.options import LUTRAM_BUFFERS
from sbnn.arch.pipeline import Stage
from sbnn.hw.rtl.arith import arith
from sbnn.hw.rtl.datapath import compare, elements, score_bits, shared_g, y_sum
from sbnn.hw.rtl.lanes import LANES, serial_g
from sbnn.hw.rtl.lutram import lutram_loader
from sbnn.hw.rtl.units import counter_decl, counter_step, is_last, unit_ports
from sbnn.hw.rtl.verilog import Module, Op, clog2, lit, rom_init
from sbnn.hw.rtl.weights import threshold_words, weight_words
from sbnn.ir.model import MVU


def mvu_folded(name: str, st: Stage, layer: MVU, load: Stage | None = None) -> str:
    """Folded MVU: ROM stage -> gather/accumulate stage -> compare stage (see module docstring)."""
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
    unit_ports(m, (1 if direct else k) * eb, mch * ar.out_bits)
    # the dense MVU reads the vector slice by slice during its first fold: S' is summed as it goes
    serial_s = not sparse and bool(ar.gmul) and k // simd > 1
    g = (shared_g(m, [elements(m, layer, eb, ar)(i) for i in range(k)], ar)
         if ar.gmul and not lut and not serial_s else None)
    # ---- handshake / control (declared first, used by the stages below)
    m.line("reg c_valid;")
    m.line("wire c_last;")
    m.line("wire c_fire = c_valid && (!c_last || out_ready);")
    if lut:  # the gather reads the vector from distributed RAM, filled by the loader
        m.line("wire b_pop;")
        g = lutram_loader(m, layer, plan, eb, ar, direct)
        m.line("wire g_fire = ap_rst_n && b_valid && (!c_valid || c_fire);")
    else:
        m.line("wire g_fire = ap_rst_n && in_valid && (!c_valid || c_fire);")
    m.line("assign out_push = c_fire && c_last;")
    # ---- weight memory
    wb = plan.word_bits
    words = weight_words(layer, plan)
    if t > 1:
        aw = clog2(t)
        rom_init(m, "wrom", wb, words, st.impl.weight_rom if st.impl else "auto")
        m.line(f"reg [{aw - 1}:0] addr;")
        m.line(f"wire [{aw - 1}:0] addr_nx = (addr == {lit(t - 1, aw)}) ? {aw}'d0 : addr + {lit(1, aw)};")
        m.line("always @(posedge ap_clk) begin")
        m.line(f"    if (!ap_rst_n) addr <= {aw}'d0;")
        m.line("    else if (g_fire) addr <= addr_nx;")
        m.line("end")
        m.line(f"reg [{wb - 1}:0] rd;")
        m.line("always @(posedge ap_clk) rd <= wrom[g_fire ? addr_nx : addr];")
    else:
        m.wire("rd", wb, lit(words[0], wb))
    sf_n = k // simd
    if plan.fold_flag:
        m.line("wire fend = rd[0];")
    else:
        counter_decl(m, "sf", sf_n)
        m.line(f"wire fend = {is_last('sf', sf_n)};")
        counter_step(m, "sf", sf_n, "g_fire")
    counter_decl(m, "fold", nf)
    counter_step(m, "fold", nf, "g_fire && fend")
    m.line(f"assign {'b_pop' if lut else 'in_pop'} = g_fire && fend && {is_last('fold', nf)};")
    # ---- lanes: gather + sum + accumulate
    accs = LANES[plan.style](m, layer, plan, ar, eb)
    if serial_s:
        g = serial_g(m, layer, plan, ar, eb)
    # ---- compare stage registers
    fw = clog2(nf)
    lane_w, twords = threshold_words(ar, plan)
    tw = pe * lane_w
    if nf > 1:
        m.line(f"reg [{tw - 1}:0] c_thr;")
        rom_init(m, "trom", tw, twords)
        m.line(f"reg [{fw - 1}:0] c_fold;")
        m.line(f"assign c_last = (c_fold == {lit(nf - 1, fw)});")
    else:
        m.wire("c_thr", tw, lit(twords[0], tw))
        m.line("assign c_last = 1'b1;")
    for p, acc in enumerate(accs):
        m.line(f"reg [{acc.width - 1}:0] c_acc{p};")
    if g is not None:
        m.line(f"reg [{g.width - 1}:0] c_g;")
    m.line("always @(posedge ap_clk) begin")
    m.line("    if (!ap_rst_n) c_valid <= 1'b0;")
    m.line("    else if (g_fire && fend) c_valid <= 1'b1;")
    m.line("    else if (c_fire) c_valid <= 1'b0;")
    m.line("end")
    m.line("always @(posedge ap_clk) begin")
    m.line("    if (g_fire && fend) begin")
    for p, acc in enumerate(accs):
        m.line(f"        c_acc{p} <= {acc.name};")
    if g is not None:
        m.line(f"        c_g <= {g.name};")
    if nf > 1:
        m.line("        c_fold <= fold;")
        m.line("        c_thr <= trom[fold];")
    m.line("    end")
    m.line("end")
    cg = Op("c_g", g.width, g.lo, g.hi) if g is not None else None
    lanes_out = []
    for p, acc in enumerate(accs):
        y = y_sum(m, cg, Op(f"c_acc{p}", acc.width, acc.lo, acc.hi), ar, f"{p}")
        base = p * lane_w
        if ar.theta is None:
            sc = m.wire(f"sc{p}", ar.yw, f"{y} - c_thr[{base + ar.yw - 1}:{base}]")
            lanes_out.append(score_bits(m, sc, ar, p))
        else:
            lanes_out.append(m.wire(f"bit{p}", 1, compare(y, f"c_thr[{base + ar.yw - 1}:{base}]", f"c_thr[{base + ar.yw}]")))
    # ---- output vector: earlier folds are shifted into osr (fold f ends in slot f: a common clock enable,
    # no per-fold decoder), the last fold comes straight from the lanes
    ob = ar.out_bits
    fields = [""] * mch
    fold_w = pe * ob
    if nf > 1:
        m.line(f"reg [{(nf - 1) * fold_w - 1}:0] osr;")
        lanes_vec = "{" + ", ".join(reversed(lanes_out)) + "}"
        shifted = lanes_vec if nf == 2 else f"{{{lanes_vec}, osr[{(nf - 1) * fold_w - 1}:{fold_w}]}}"
        m.line(f"always @(posedge ap_clk) if (c_fire && !c_last) osr <= {shifted};")
    for f in range(nf):
        for p, c in enumerate(plan.folds[f]):
            lo = (f * pe + p) * ob
            fields[c] = lanes_out[p] if f == nf - 1 else (f"osr[{lo}]" if ob == 1 else f"osr[{lo + ob - 1}:{lo}]")
    m.line(f"assign out_data = {{{', '.join(reversed(fields))}}};")
    return m.text()
