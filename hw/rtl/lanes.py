"""The lanes of a folded MVU, one function per style: gather (or slice) the inputs of every slot, sum
them and accumulate over a fold's words. :data:`LANES` is the style dispatch of :mod:`sbnn.hw.rtl.folded`.
"""

from __future__ import annotations

from typing import Callable

from sbnn.arch.arith import Arith
from sbnn.arch.depth import part_inputs
from sbnn.arch.options import LUTRAM_BUFFERS
from sbnn.arch.schedule import MVUPlan
from sbnn.errors import HardwareError
from sbnn.hw.rtl.lutram import lutram_take
from sbnn.hw.rtl.units import is_first
from sbnn.hw.rtl.verilog import Module, Op, bit_counts, clog2, const_mul, ext, lit, tree_sum, width_for
from sbnn.ir.model import MVU


def gather_vector(m: Module, vec: str, n: int, eb: int, ar: Arith) -> callable:
    """Returns f(pos_name, tag) -> Op for vec[pos], a vector of n + 1 elements whose element 0 is 0."""
    pw = clog2(n + 1)
    bi = clog2((n + 1) * eb)

    def take(pos: str, tag: str) -> Op:
        if eb == 1:
            return Op(m.wire(f"v{tag}", 1, f"{vec}[{pos}]"), 1, 0, 1)
        idx = m.wire(f"bi{tag}", bi, f"{{{bi - pw}'d0, {pos}}} * {lit(eb, bi)}")
        return Op(m.wire(f"v{tag}", eb, f"{vec}[{idx} +: {eb}]"), eb, ar.elo, ar.ehi)

    return take


def accumulate(m: Module, p: int, s: Op, ar: Arith, piped: bool = False) -> Op:
    """Lane ``p``'s accumulator over a fold's words (cleared after the fold end); ``piped``: the words come
    from the pipeline register (``s_fire`` / ``a_fend``) instead of the gather (``g_fire`` / ``fend``)."""
    lo, hi = ar.a_lo, ar.a_hi
    w = ar.acc_w
    fire, fend = ("s_fire", "a_fend") if piped else ("g_fire", "fend")
    if s.width > w:
        raise HardwareError(f"internal: lane sum of {s.width} bits exceeds the {w}-bit accumulator")
    m.line(f"reg [{w - 1}:0] acc{p};")
    nx = m.wire(f"acc_nx{p}", w, f"acc{p} + {ext(s, w)}")
    m.line(f"always @(posedge ap_clk) if (!ap_rst_n) acc{p} <= {w}'d0; else if ({fire}) acc{p} <= {fend} ? {w}'d0 : {nx};")
    return Op(nx, w, lo, hi)


def lane_sum(m: Module, p: int, vals: list[Op], ar: Arith, piped: bool = False, counted: bool = False) -> Op:
    """Adder tree + accumulator of lane ``p``; ``piped``: the gathered values are registered first (the
    pipeline register between gather and adder tree, see :mod:`sbnn.arch.depth`). ``counted`` (the XNOR
    lanes, whose selection is short): more than six bits are counted in 6-input groups in front of the
    register, so it holds 3 bits per 6 inputs and the adder tree behind it starts one LUT level later."""
    if piped and counted and len(vals) > 6 and all(v.width == 1 and v.lo == 0 for v in vals):
        vals = bit_counts(m, vals, f"ls{p}_")
    if piped and vals:
        regs = [Op(f"pv{p}_{s}", v.width, v.lo, v.hi) for s, v in enumerate(vals)]
        for r in regs:
            m.line(f"reg [{r.width - 1}:0] {r.name};")
        m.line(f"always @(posedge ap_clk) if (g_fire) begin {' '.join(f'{r.name} <= {v.name};' for r, v in zip(regs, vals))} end")
        vals = regs
    return accumulate(m, p, tree_sum(m, vals, f"ls{p}_"), ar, piped)


def lanes_sparse(m: Module, layer: MVU, plan: MVUPlan, ar: Arith, eb: int, decode: list[int] | None = None,
                 sum_regs: int = 0) -> list[Op]:
    """Zero-skipping lanes. ``decode`` (the weight memory's first words, one per decode stage): ``rd`` holds
    a word that many steps ahead, whose slot positions are decoded into registers (indices as they are; gap
    codes summed by a parallel prefix), so the gather starts from flip-flops (see :mod:`sbnn.arch.depth`).
    ``sum_regs``: the gathered values are registered before the adder trees (:func:`lane_sum`)."""
    k, pe, simd, cb = layer.in_features, plan.pe, plan.simd, plan.code_bits
    seg = plan.gather == "segmented"
    n = k // simd if seg else k
    if seg:  # slot s of every lane reads residue class s: {x[(n-1)*SIMD + s], ..., x[s], 0}
        takes = []
        for j in range(simd):
            parts = [f"in_data[{(i * simd + j) * eb + eb - 1}:{(i * simd + j) * eb}]" for i in reversed(range(n))]
            m.wire(f"xseg{j}", (n + 1) * eb, "{" + ", ".join(parts + [f"{eb}'d0"]) + "}")
            t = gather_vector(m, f"xseg{j}", n, eb, ar)
            takes.append(lambda pos, tag, slot, t=t: t(pos, tag))
    elif plan.gather in LUTRAM_BUFFERS:
        takes = [lutram_take(m, layer, plan, eb, ar)] * simd
    else:
        m.wire("xext", (k + 1) * eb, f"{{in_data, {eb}'d0}}")
        t = gather_vector(m, "xext", k, eb, ar)
        takes = [lambda pos, tag, slot: t(pos, tag)] * simd
    pw = clog2(n + 1)
    e = (1 << cb) - 1
    out = []
    for p in range(pe):
        if decode is not None:
            vals = [takes[s](pos, f"{p}_{s}", p * simd + s) for s, pos in enumerate(_decoded(m, plan, p, pw, decode))]
            out.append(lane_sum(m, p, vals, ar, sum_regs > 0))
            continue
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
                    m.line(f"always @(posedge ap_clk) if (!ap_rst_n) {prev} <= {pw}'d0; "
                           f"else if (g_fire) {prev} <= fend ? {pw}'d0 : {qs};")
                prev = qs
            vals.append(takes[s](pos, f"{p}_{s}", p * simd + s))
        if plan.coding == "delta" and not seg:
            m.line(f"always @(posedge ap_clk) if (!ap_rst_n) q{p} <= {pw}'d0; else if (g_fire) q{p} <= fend ? {pw}'d0 : {prev};")
        out.append(lane_sum(m, p, vals, ar, sum_regs > 0))
    return out


def _sklansky(vals: list, levels: range, add) -> list:
    """Levels ``levels`` of a Sklansky parallel prefix sum over ``vals`` (level l adds, to every item in the
    upper half of a block of 2**(l+1), the last item of the lower half); ``add`` builds one sum."""
    vals = list(vals)
    for lv in levels:
        d = 1 << lv
        vals = [add(vals[i], vals[(i // d) * d - 1]) if (i // d) % 2 else vals[i] for i in range(len(vals))]
    return vals


def _decoded(m: Module, plan: MVUPlan, p: int, pw: int, words: list[int]) -> list[str]:
    """Lane ``p``'s slot positions from registers holding the current word's decoded codes. ``words``: the
    weight memory's first words, one per decode stage (``rd`` holds the word that many steps ahead; the
    stage registers reset to those words' values). Index codes are registered as they are; gap codes as
    their running sums within the word (a Sklansky parallel prefix over the slots, modulo 2**pw: a lane
    never passes K; with two stages, half its levels in each) and take flags, so the gather step only
    adds the lane pointer ``q`` (full gather) or the slot's pointer (segmented)."""
    simd, cb = plan.simd, plan.code_bits
    e = (1 << cb) - 1
    seg = plan.gather == "segmented"
    stages = len(words)
    lo = [1 + (p * simd + s) * cb for s in range(simd)]
    index = plan.coding == "index"
    width = cb if index else pw
    n_lv = 0 if index or seg else (simd - 1).bit_length()
    cut = -(-n_lv // 2) if stages > 1 else n_lv  # prefix levels before the last stage
    mod = 1 << pw

    def first(word: int) -> tuple[list[int], int]:  # decoded values of a word (Python), up to the cut
        codes = [(word >> b) & e for b in lo]
        take = sum(int(c not in (0, e)) << s for s, c in enumerate(codes))
        if index:
            return codes, take
        return _sklansky([e - 1 if c == e else c for c in codes], range(cut), lambda x, y: (x + y) % mod), take

    # stage 1 from rd: codes / advances (+ the first prefix levels) and take flags
    if index:
        cur = [f"rd[{b + cb - 1}:{b}]" for b in lo]
        take = None
    else:
        adv = []
        for s, b in enumerate(lo):
            c = f"rd[{b + cb - 1}:{b}]"
            a = m.wire(f"da{p}_{s}", cb, f"({c} == {lit(e, cb)}) ? {lit(e - 1, cb)} : {c}")
            adv.append(m.wire(f"dx{p}_{s}", pw, ext(Op(a, cb, 0, e), pw)) if cb < pw else a)
        take = m.wire(f"dt{p}", simd, "{" + ", ".join(f"({f'rd[{b + cb - 1}:{b}]'} != {cb}'d0) && "
                                                      f"({f'rd[{b + cb - 1}:{b}]'} != {lit(e, cb)})"
                                                      for b in reversed(lo)) + "}")
        cur = _sklansky(adv, range(cut), lambda x, y: m.wire(m.fresh(f"dp{p}_"), pw, f"{x} + {y}"))
    for j in range(stages):  # stage j's registers hold the word stages - 1 - j steps ahead
        vals0, take0 = first(words[stages - 1 - j])
        if j == stages - 1 and n_lv > cut:  # the last stage completes the prefix
            vals0 = _sklansky(vals0, range(cut, n_lv), lambda x, y: (x + y) % mod)
            cur = _sklansky(cur, range(cut, n_lv), lambda x, y: m.wire(m.fresh(f"dp{p}_"), pw, f"{x} + {y}"))
        tag = "" if j == stages - 1 else f"{j}_"
        regs = [f"{'dc' if index else 'ds'}{p}_{tag}{s}" for s in range(simd)]
        for r in regs:
            m.line(f"reg [{width - 1}:0] {r};")
        rst = " ".join(f"{r} <= {lit(v, width)};" for r, v in zip(regs, vals0))
        nxt = " ".join(f"{r} <= {v};" for r, v in zip(regs, cur))
        if take is not None:
            m.line(f"reg [{simd - 1}:0] dtake{p}{tag.rstrip('_')};")
            rst += f" dtake{p}{tag.rstrip('_')} <= {lit(take0, simd)};"
            nxt += f" dtake{p}{tag.rstrip('_')} <= {take};"
            take = f"dtake{p}{tag.rstrip('_')}"
        m.line("always @(posedge ap_clk) begin")
        m.line(f"    if (!ap_rst_n) begin {rst} end")
        m.line(f"    else if (g_fire) begin {nxt} end")
        m.line("end")
        cur = regs
    if index:
        return cur
    pos = []
    if seg:
        for s in range(simd):
            m.line(f"reg [{pw - 1}:0] q{p}_{s};")
            qs = m.wire(f"qs{p}_{s}", pw, f"q{p}_{s} + ds{p}_{s}")
            m.line(f"always @(posedge ap_clk) if (!ap_rst_n) q{p}_{s} <= {pw}'d0; "
                   f"else if (g_fire) q{p}_{s} <= fend ? {pw}'d0 : {qs};")
            pos.append(m.wire(f"pos{p}_{s}", pw, f"dtake{p}[{s}] ? {qs} : {pw}'d0"))
        return pos
    m.line(f"reg [{pw - 1}:0] q{p};")
    for s in range(simd):
        qs = m.wire(f"qs{p}_{s}", pw, f"q{p} + ds{p}_{s}")
        pos.append(m.wire(f"pos{p}_{s}", pw, f"dtake{p}[{s}] ? {qs} : {pw}'d0"))
    m.line(f"always @(posedge ap_clk) if (!ap_rst_n) q{p} <= {pw}'d0; "
           f"else if (g_fire) q{p} <= fend ? {pw}'d0 : qs{p}_{simd - 1};")
    return pos


def input_slice(m: Module, k: int, simd: int, eb: int, src: str = "in_data", keep: bool = False) -> str:
    """``xs``: the SIMD inputs of slice ``sf`` (the word counter of a sliced datapath) of the vector ``src``,
    shared by all lanes. ``keep``: the slice multiplexer's outputs are kept as wires, so that Yosys builds it
    once instead of merging it into every lane's reader (the N:M picks: the 1:8 CNV's fourth convolution,
    12 slices of 48 inputs, 334 instead of 493 LUT where nothing else reads the slice)."""
    sf_n = k // simd
    if sf_n > 1:
        bw = clog2(k * eb)
        base = m.wire("sbase", bw, f"{{{bw - clog2(sf_n)}'d0, sf}} * {lit(simd * eb, bw)}" if bw > clog2(sf_n)
                      else f"sf * {lit(simd * eb, bw)}")
        if keep:
            m.line(f"(* keep *) wire [{simd * eb - 1}:0] xs = {src}[{base} +: {simd * eb}];")
            return "xs"
        return m.wire("xs", simd * eb, f"{src}[{base} +: {simd * eb}]")
    return m.wire("xs", simd * eb, src)


def lanes_dense(m: Module, layer: MVU, plan: MVUPlan, ar: Arith, eb: int, sum_regs: int = 0,
                word_fed: int = 0, hold: int = 0) -> list[Op]:
    """FINN-like XNOR lanes: the SIMD-wide slice selected by the slice counter, XNOR (bits) or masked
    elements, popcount / sum, accumulate; ``sum_regs``: registered before the adder trees; ``word_fed``: the
    input port carries the slice itself (:mod:`sbnn.arch.buffer`); ``hold``: the lanes read the MVU's copy of
    the vector, ``in_hold`` (:attr:`~sbnn.arch.pipeline.Stage.holds`)."""
    k, pe, simd = layer.in_features, plan.pe, plan.simd
    input_slice(m, simd if word_fed else k, simd, eb, "in_hold" if hold else "in_data")
    out = []
    for p in range(pe):
        vals = []
        for s in range(simd):
            wbit = f"rd[{p * simd + s}]"
            if eb == 1:
                vals.append(Op(m.wire(f"t{p}_{s}", 1, f"~({wbit} ^ xs[{s}])"), 1, 0, 1))
            else:
                vals.append(Op(m.wire(f"t{p}_{s}", eb, f"{wbit} ? xs[{s * eb + eb - 1}:{s * eb}] : {eb}'d0"), eb, ar.elo, ar.ehi))
        out.append(lane_sum(m, p, vals, ar, sum_regs > 0, counted=True))
    return out


def serial_g(m: Module, layer: MVU, plan: MVUPlan, ar: Arith, eb: int, piped: bool = False) -> Op:
    """G = gmul * S' of a sliced folded MVU, S' summed over the SIMD-wide slices ``xs`` of the first fold
    (a SIMD-input adder and an accumulator instead of a K-input tree). At the first fold's last word the
    running sum is complete (``s_nx``); later folds use the stored total. ``piped`` (the pipeline register
    before the adder trees): the slice is summed in parts (:func:`~sbnn.arch.depth.part_inputs`) in front
    of the register (``a_ss*``, with the first-slice flag), their sum, the running sum and ``gmul * S'``
    behind it, beside the lanes' adder trees: the path from the input FIFO through the slice multiplexer
    then ends after one part's counters."""
    k, simd = layer.in_features, plan.simd
    nf, sf_n = plan.folds.shape[0], k // simd
    elems = ([Op(f"xs[{j}]", 1, 0, 1) for j in range(simd)] if eb == 1 else
             [Op(m.wire(f"xse{j}", eb, f"xs[{j * eb + eb - 1}:{j * eb}]"), eb, ar.elo, ar.ehi) for j in range(simd)])
    first, fire, fold = is_first("sf", sf_n), "g_fire", "fold"
    if piped:  # partial sums of the slice before the register, their sum after it
        n = part_inputs(simd, eb)
        if eb == 1:  # bits: whole 6-input counters in each part
            counts, per = bit_counts(m, elems, "ss"), n // 6
            parts = [tree_sum(m, counts[i : i + per], "ss") for i in range(0, len(counts), per)]
        else:
            parts = [tree_sum(m, elems[i : i + n], "ss") for i in range(0, simd, n)]
        regs = [Op(f"a_ss{i}", op.width, op.lo, op.hi) for i, op in enumerate(parts)]
        for r in regs:
            m.line(f"reg [{r.width - 1}:0] {r.name};")
        m.line("reg a_sf0;")
        loads = " ".join(f"{r.name} <= {op.name};" for r, op in zip(regs, parts))
        m.line(f"always @(posedge ap_clk) if (g_fire) begin {loads} a_sf0 <= {first}; end")
        step = tree_sum(m, regs, "sp")
        first, fire, fold = "a_sf0", "s_fire", "a_fold"
    else:
        step = tree_sum(m, elems, "ss")
    lo, hi = k * min(elems[0].lo, 0), k * max(elems[0].hi, 0)
    sw = width_for(lo, hi)
    first_fold = f"({fold} == {clog2(nf)}'d0)" if nf > 1 else "1'b1"
    m.line(f"reg [{sw - 1}:0] s_acc;")
    m.wire("s_nx", sw, f"({first} ? {sw}'d0 : s_acc) + {ext(step, sw)}")
    m.line(f"always @(posedge ap_clk) if ({fire} && {first_fold}) s_acc <= s_nx;")
    src = m.wire("s_src", sw, f"{first_fold} ? s_nx : s_acc") if nf > 1 else "s_nx"
    return const_mul(m, Op(src, sw, lo, hi), ar.gmul, "g")


#: a lanes emitter: (module, layer, plan, arithmetic, element bits) -> every lane's accumulator
LanesFn = Callable[[Module, MVU, MVUPlan, Arith, int], list[Op]]
#: the lanes of the built-in folded styles (a new style: its own module with lanes and words, passed to
#: :func:`sbnn.hw.rtl.folded.mvu_folded` by its emitter, and one schedule in sbnn.arch.schedule)
LANES: dict[str, LanesFn] = {"sparse": lanes_sparse, "dense": lanes_dense}
