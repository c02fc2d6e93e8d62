"""Verilog for the matrix-vector units: zero-skipping folded, FINN-like dense XNOR, and unrolled.

Arithmetic (see :mod:`sbnn.ir.model`): ``acc_c = w0 * S(x) + 2**F * P_c(x)``. The hardware computes
``y_c = G + (A_c << sh)`` with ``G = gmul * S'`` formed once per input vector (shift-add constant
multiply, no DSP) and shared by every channel, and a per-channel constant ``off_c`` such that
``acc_c = y_c - off_c``. Thresholds are pre-offset (``theta_c = thr_c + off_c``) so that a channel bit is
``y >= theta`` (direction +1) or ``y <= theta`` (direction -1). Per style:

* zero-skipping (sparse and unrolled): ``A_c`` = number of +1 inputs (bipolar) or sum of the inputs
  (integer) *where b = 1 only*; bipolar: ``S' = popcount(x)``, ``gmul = 2 w0``, ``sh = F + 1``,
  ``off_c = w0 K + 2**F nnz_c``; integer: ``S' = sum(x)``, ``gmul = w0``, ``sh = F``, ``off_c = 0``.
* dense XNOR baseline: ``A_c = popcount(XNOR(b_c, x))`` over all K; ``gmul = 2 w0 + 2**F``, ``sh = F``,
  ``off_c = (w0 + 2**F) K`` (for {-1, +1} weights ``gmul = 0``: no S at all, as in FINN).

Folded weight memory: one word per clock. Sparse words hold, per lane, SIMD codes (absolute index + 1,
or delta codes: 0 = empty, 1..E-1 = advance and take, E = 2**g - 1 = advance E - 1 without taking) and a
fold-end flag in bit 0. Dense words hold PE x SIMD weight bits.
"""

from __future__ import annotations

import numpy as np

from sbnn.errors import HardwareError
from sbnn.hw.arith import Arith, arith
from sbnn.hw.rtl_units import counter_decl, counter_step, is_first, is_last, unit_ports
from sbnn.hw.verilog import Module, Op, clog2, const_mul, ext, lint_off, lint_on, lit, rom_init, shl, tree_sum, width_for
from sbnn.ir.model import MVU
from sbnn.hw.rtl_lutram import lutram_loader, lutram_take
from sbnn.sim.cycles import LUTRAM_BUFFERS, MVUPlan, Stage


def _elements(m: Module, layer: MVU, eb: int, ar: Arith):
    """Returns get(i) -> Op of input element i (a wire is declared on first use only)."""
    cache: dict[int, Op] = {}

    def get(i: int) -> Op:
        if i not in cache:
            if eb == 1:
                cache[i] = Op(f"in_data[{i}]", 1, 0, 1)
            else:
                cache[i] = Op(m.wire(f"x{i}", eb, f"in_data[{i * eb + eb - 1}:{i * eb}]"), eb, ar.elo, ar.ehi)
        return cache[i]

    return get


def _shared_g(m: Module, elems: list[Op], ar: Arith) -> Op | None:
    """G = gmul * S', once per input vector."""
    if ar.gmul == 0:
        return None
    s = tree_sum(m, elems, "sx")
    return const_mul(m, s, ar.gmul, "g")


def _y(m: Module, g: Op | None, a: Op, ar: Arith, tag: str) -> str:
    a_sh = shl(m, a, ar.sh, f"ash{tag}_")
    if g is None:
        return m.wire(f"y{tag}", ar.yw, ext(a_sh, ar.yw))
    return m.wire(f"y{tag}", ar.yw, f"{ext(g, ar.yw)} + {ext(a_sh, ar.yw)}")


def _compare(y: str, theta: str, down: str) -> str:
    return f"({down} ? ($signed({y}) <= $signed({theta})) : ($signed({y}) >= $signed({theta})))"


# --------------------------------------------------------------------------------------------------
# unrolled
# --------------------------------------------------------------------------------------------------
def mvu_unrolled(name: str, st: Stage, layer: MVU) -> str:
    """PE = M, SIMD = K: constant weights; with zero skipping each channel sums only its b = 1 inputs."""
    plan = st.plan
    ar = arith(layer, plan)
    k, mch, eb = layer.in_features, layer.out_channels, st.in_bits
    bits = layer.weight_bits
    used = np.ones(k, bool) if (ar.gmul or not plan.skip_zeros) else bits.any(axis=0)
    m = Module(name, f"Unrolled MVU {layer.name}: {mch} x {k}, {'zero-skipping' if plan.skip_zeros else 'dense XNOR'}.")
    unit_ports(m, k * eb, mch * ar.out_bits, None if used.all() else "inputs whose weight column is all zero are skipped",
               clocked=False)
    elem = _elements(m, layer, eb, ar)
    g = _shared_g(m, [elem(i) for i in range(k)], ar) if ar.gmul else None
    m.line("wire fire = ap_rst_n && in_valid && out_ready;")
    m.line("assign in_pop = fire;")
    m.line("assign out_push = fire;")
    inv: dict[int, Op] = {}
    outs = []
    for c in range(mch):
        if plan.skip_zeros or eb > 1:
            terms = [elem(int(i)) for i in np.flatnonzero(bits[c])]
        else:
            terms = []
            for i in range(k):
                if bits[c, i]:
                    terms.append(elem(i))
                else:
                    if i not in inv:
                        inv[i] = Op(m.wire(f"nx{i}", 1, f"~in_data[{i}]"), 1, 0, 1)
                    terms.append(inv[i])
        a = tree_sum(m, terms, f"a{c}_")
        y = _y(m, g, a, ar, f"{c}")
        if ar.theta is None:
            sc = m.wire(f"sc{c}", ar.yw, f"{y} - {lit(int(ar.off[c]), ar.yw)}")
            outs.append(_score_bits(m, sc, ar, c))
        else:
            outs.append(_compare(y, lit(int(ar.theta[c]), ar.yw), "1'b1" if ar.down[c] else "1'b0"))
    m.line(f"assign out_data = {{{', '.join(reversed(outs))}}};")
    return m.text()


def _score_bits(m: Module, sc: str, ar: Arith, c: int) -> str:
    """The low out_bits of a score (the value fits: |score| <= acc_bound)."""
    if ar.out_bits >= ar.yw:
        return sc if ar.out_bits == ar.yw else f"{{{{{ar.out_bits - ar.yw}{{{sc}[{ar.yw - 1}]}}}}, {sc}}}"
    m.line(lint_off("UNUSEDSIGNAL", "scores fit in the output width; the upper bits are sign copies"))
    name = m.wire(f"so{c}", ar.out_bits, f"{sc}[{ar.out_bits - 1}:0]")
    m.line(f"wire [{ar.yw - ar.out_bits - 1}:0] unused_sc{c} = {sc}[{ar.yw - 1}:{ar.out_bits}];")
    m.line(lint_on("UNUSEDSIGNAL"))
    return name


# --------------------------------------------------------------------------------------------------
# folded (sparse or dense)
# --------------------------------------------------------------------------------------------------
def channel_codes(row: np.ndarray, plan: MVUPlan) -> list[int]:
    """The slot codes of one channel under the plan's coding (no padding)."""
    nz = np.flatnonzero(row)
    if plan.coding == "index":
        return [int(i) + 1 for i in nz]
    if plan.coding != "delta" or plan.code_bits < 2:
        raise HardwareError(f"no slot codes for a {plan.style} plan")
    e = (1 << plan.code_bits) - 1
    codes, prev = [], -1
    for i in nz:
        d = int(i) - prev
        while d > e - 1:
            codes.append(e)
            d -= e - 1
        codes.append(d)
        prev = int(i)
    return codes


def weight_words(layer: MVU, plan: MVUPlan) -> list[int]:
    """Contents of the weight memory, one int per word (bit 0 of a sparse word: fold end)."""
    bits = layer.weight_bits
    simd = plan.simd
    words: list[int] = []
    if plan.style == "dense":
        sf = layer.in_features // simd
        for f in range(plan.folds.shape[0]):
            for s in range(sf):
                w = 0
                for p, c in enumerate(plan.folds[f]):
                    for j in range(simd):
                        if bits[c, s * simd + j]:
                            w |= 1 << (p * simd + j)
                words.append(w)
        return words
    cb = plan.code_bits
    for f in range(plan.folds.shape[0]):
        nw = int(plan.words[f])
        lanes = [slot_codes(bits[c], plan, nw) for c in plan.folds[f]]
        for t in range(nw):
            w = 1 if t == nw - 1 else 0
            for p, grid in enumerate(lanes):
                for j in range(simd):
                    w |= grid[t][j] << (1 + (p * simd + j) * cb)
            words.append(w)
    return words


def slot_codes(row: np.ndarray, plan: MVUPlan, nw: int) -> list[list[int]]:
    """A channel's codes laid out as ``nw`` words x SIMD slots (0 = empty slot).

    Full gather: the channel's code sequence fills the words slot by slot. Segmented gather: slot s
    carries the codes of residue class s (inputs i = s mod SIMD, addressed by i // SIMD)."""
    simd = plan.simd
    grid = [[0] * simd for _ in range(nw)]
    if plan.gather != "segmented":
        codes = channel_codes(row, plan)
        if len(codes) > nw * simd:
            raise HardwareError("schedule/ROM mismatch: a channel has more codes than its fold's slots")
        for n, code in enumerate(codes):
            grid[n // simd][n % simd] = code
        return grid
    for j in range(simd):
        codes = channel_codes(row[j::simd], plan)
        if len(codes) > nw:
            raise HardwareError("schedule/ROM mismatch: a residue class has more codes than its fold's words")
        for t, code in enumerate(codes):
            grid[t][j] = code
    return grid


def threshold_words(ar: Arith, plan: MVUPlan) -> tuple[int, list[int]]:
    """Per-fold constants: lane p holds {down, theta} (thresholded) or off (scores)."""
    yw = ar.yw
    lane_w = yw if ar.theta is None else yw + 1
    words = []
    for f in range(plan.folds.shape[0]):
        w = 0
        for p, c in enumerate(plan.folds[f]):
            if ar.theta is None:
                v = int(ar.off[c]) % (1 << yw)
            else:
                v = (int(ar.theta[c]) % (1 << yw)) | (int(ar.down[c]) << yw)
            w |= v << (p * lane_w)
        words.append(w)
    return lane_w, words


def mvu_folded(name: str, st: Stage, layer: MVU, rom_style: str = "auto", load: Stage | None = None) -> str:
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
    g = (_shared_g(m, [_elements(m, layer, eb, ar)(i) for i in range(k)], ar)
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
        rom_init(m, "wrom", wb, words, rom_style)
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
    if sparse:
        m.line("wire fend = rd[0];")
    else:
        counter_decl(m, "sf", sf_n)
        m.line(f"wire fend = {is_last('sf', sf_n)};")
        counter_step(m, "sf", sf_n, "g_fire")
    counter_decl(m, "fold", nf)
    counter_step(m, "fold", nf, "g_fire && fend")
    m.line(f"assign {'b_pop' if lut else 'in_pop'} = g_fire && fend && {is_last('fold', nf)};")
    # ---- lanes: gather + sum + accumulate
    accs = _lanes_sparse(m, layer, plan, ar, eb) if sparse else _lanes_dense(m, layer, plan, ar, eb)
    if serial_s:
        g = _serial_g(m, layer, plan, ar, eb)
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
        y = _y(m, cg, Op(f"c_acc{p}", acc.width, acc.lo, acc.hi), ar, f"{p}")
        base = p * lane_w
        if ar.theta is None:
            sc = m.wire(f"sc{p}", ar.yw, f"{y} - c_thr[{base + ar.yw - 1}:{base}]")
            lanes_out.append(_score_bits(m, sc, ar, p))
        else:
            lanes_out.append(m.wire(f"bit{p}", 1, _compare(y, f"c_thr[{base + ar.yw - 1}:{base}]", f"c_thr[{base + ar.yw}]")))
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


def _gather(m: Module, vec: str, n: int, eb: int, ar: Arith) -> callable:
    """Returns f(pos_name, tag) -> Op for vec[pos], a vector of n + 1 elements whose element 0 is 0."""
    pw = clog2(n + 1)
    bi = clog2((n + 1) * eb)

    def take(pos: str, tag: str) -> Op:
        if eb == 1:
            return Op(m.wire(f"v{tag}", 1, f"{vec}[{pos}]"), 1, 0, 1)
        idx = m.wire(f"bi{tag}", bi, f"{{{bi - pw}'d0, {pos}}} * {lit(eb, bi)}")
        return Op(m.wire(f"v{tag}", eb, f"{vec}[{idx} +: {eb}]"), eb, ar.elo, ar.ehi)

    return take


def _accumulate(m: Module, p: int, s: Op, ar: Arith) -> Op:
    lo, hi = ar.a_lo, ar.a_hi
    w = ar.acc_w
    if s.width > w:
        raise HardwareError(f"internal: lane sum of {s.width} bits exceeds the {w}-bit accumulator")
    m.line(f"reg [{w - 1}:0] acc{p};")
    nx = m.wire(f"acc_nx{p}", w, f"acc{p} + {ext(s, w)}")
    m.line(f"always @(posedge ap_clk) if (g_fire) acc{p} <= fend ? {w}'d0 : {nx};")
    return Op(nx, w, lo, hi)


def _lanes_sparse(m: Module, layer: MVU, plan: MVUPlan, ar: Arith, eb: int) -> list[Op]:
    k, pe, simd, cb = layer.in_features, plan.pe, plan.simd, plan.code_bits
    seg = plan.gather == "segmented"
    n = k // simd if seg else k
    if seg:  # slot s of every lane reads residue class s: {x[(n-1)*SIMD + s], ..., x[s], 0}
        takes = []
        for j in range(simd):
            parts = [f"in_data[{(i * simd + j) * eb + eb - 1}:{(i * simd + j) * eb}]" for i in reversed(range(n))]
            m.wire(f"xseg{j}", (n + 1) * eb, "{" + ", ".join(parts + [f"{eb}'d0"]) + "}")
            t = _gather(m, f"xseg{j}", n, eb, ar)
            takes.append(lambda pos, tag, slot, t=t: t(pos, tag))
    elif plan.gather in LUTRAM_BUFFERS:
        takes = [lutram_take(m, layer, plan, eb, ar)] * simd
    else:
        m.wire("xext", (k + 1) * eb, f"{{in_data, {eb}'d0}}")
        t = _gather(m, "xext", k, eb, ar)
        takes = [lambda pos, tag, slot: t(pos, tag)] * simd
    pw = clog2(n + 1)
    e = (1 << cb) - 1
    out = []
    for p in range(pe):
        vals = []
        prev = f"q{p}"
        if plan.coding == "delta" and not seg:
            m.line(f"reg [{pw - 1}:0] q{p};")
        for s in range(simd):
            lo = 1 + (p * simd + s) * cb
            code = m.wire(f"cd{p}_{s}", cb, f"rd[{lo + cb - 1}:{lo}]")
            if plan.coding == "index":
                pos = code
            else:
                if seg:  # one pointer per slot
                    prev = f"q{p}_{s}"
                    m.line(f"reg [{pw - 1}:0] {prev};")
                adv = f"(({code} == {lit(e, cb)}) ? {lit(e - 1, cb)} : {code})"
                qs = m.wire(f"qs{p}_{s}", pw, f"{prev} + {ext(Op(adv, cb, 0, e), pw) if cb < pw else adv}")
                take_it = f"({code} != {cb}'d0) && ({code} != {lit(e, cb)})"
                pos = m.wire(f"pos{p}_{s}", pw, f"({take_it}) ? {qs} : {pw}'d0")
                if seg:
                    m.line(f"always @(posedge ap_clk) if (g_fire) {prev} <= fend ? {pw}'d0 : {qs};")
                prev = qs
            vals.append(takes[s](pos, f"{p}_{s}", p * simd + s))
        if plan.coding == "delta" and not seg:
            m.line(f"always @(posedge ap_clk) if (g_fire) q{p} <= fend ? {pw}'d0 : {prev};")
        out.append(_accumulate(m, p, tree_sum(m, vals, f"ls{p}_"), ar))
    return out


def _serial_g(m: Module, layer: MVU, plan: MVUPlan, ar: Arith, eb: int) -> Op:
    """G = gmul * S' of a dense folded MVU, S' summed over the SIMD-wide slices ``xs`` of the first fold
    (a SIMD-input adder and an accumulator instead of a K-input tree). At the first fold's last word the
    running sum is complete (``s_nx``); later folds use the stored total."""
    k, simd = layer.in_features, plan.simd
    nf, sf_n = plan.folds.shape[0], k // simd
    elems = ([Op(f"xs[{j}]", 1, 0, 1) for j in range(simd)] if eb == 1 else
             [Op(m.wire(f"xse{j}", eb, f"xs[{j * eb + eb - 1}:{j * eb}]"), eb, ar.elo, ar.ehi) for j in range(simd)])
    step = tree_sum(m, elems, "ss")
    lo, hi = k * min(elems[0].lo, 0), k * max(elems[0].hi, 0)
    sw = width_for(lo, hi)
    first_fold = f"(fold == {clog2(nf)}'d0)" if nf > 1 else "1'b1"
    m.line(f"reg [{sw - 1}:0] s_acc;")
    m.wire("s_nx", sw, f"({is_first('sf', sf_n)} ? {sw}'d0 : s_acc) + {ext(step, sw)}")
    m.line(f"always @(posedge ap_clk) if (g_fire && {first_fold}) s_acc <= s_nx;")
    src = m.wire("s_src", sw, f"{first_fold} ? s_nx : s_acc") if nf > 1 else "s_nx"
    return const_mul(m, Op(src, sw, lo, hi), ar.gmul, "g")


def _lanes_dense(m: Module, layer: MVU, plan: MVUPlan, ar: Arith, eb: int) -> list[Op]:
    k, pe, simd = layer.in_features, plan.pe, plan.simd
    sf_n = k // simd
    if sf_n > 1:
        bw = clog2(k * eb)
        base = m.wire("sbase", bw, f"{{{bw - clog2(sf_n)}'d0, sf}} * {lit(simd * eb, bw)}" if bw > clog2(sf_n) else f"sf * {lit(simd * eb, bw)}")
        m.wire("xs", simd * eb, f"in_data[{base} +: {simd * eb}]")
    else:
        m.wire("xs", simd * eb, "in_data")
    out = []
    for p in range(pe):
        vals = []
        for s in range(simd):
            wbit = f"rd[{p * simd + s}]"
            if eb == 1:
                vals.append(Op(m.wire(f"t{p}_{s}", 1, f"~({wbit} ^ xs[{s}])"), 1, 0, 1))
            else:
                vals.append(Op(m.wire(f"t{p}_{s}", eb, f"{wbit} ? xs[{s * eb + eb - 1}:{s * eb}] : {eb}'d0"), eb, ar.elo, ar.ehi))
        out.append(_accumulate(m, p, tree_sum(m, vals, f"ls{p}_"), ar))
    return out


def mvu(name: str, st: Stage, layer: MVU, rom_style: str = "auto", load: Stage | None = None) -> str:
    """The MVU stage's module; ``load`` is the load stage before it (a distributed-RAM gather)."""
    if st.plan is None:
        raise HardwareError(f"{layer.name}: no schedule")
    if st.plan.style == "unrolled":
        return mvu_unrolled(name, st, layer)
    return mvu_folded(name, st, layer, rom_style, load)
