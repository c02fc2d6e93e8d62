"""The lanes of a folded MVU, one function per style: gather (or slice) the inputs of every slot, sum
them and accumulate over a fold's words. :data:`LANES` is the style dispatch of :mod:`sbnn.hw.rtl.folded`.
"""

from __future__ import annotations

from typing import Callable

from sbnn.arch.options import LUTRAM_BUFFERS
from sbnn.arch.schedule import MVUPlan
from sbnn.errors import HardwareError
from sbnn.hw.rtl.arith import Arith
from sbnn.hw.rtl.lutram import lutram_take
from sbnn.hw.rtl.units import is_first
from sbnn.hw.rtl.verilog import Module, Op, clog2, const_mul, ext, lit, tree_sum, width_for
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


def accumulate(m: Module, p: int, s: Op, ar: Arith) -> Op:
    lo, hi = ar.a_lo, ar.a_hi
    w = ar.acc_w
    if s.width > w:
        raise HardwareError(f"internal: lane sum of {s.width} bits exceeds the {w}-bit accumulator")
    m.line(f"reg [{w - 1}:0] acc{p};")
    nx = m.wire(f"acc_nx{p}", w, f"acc{p} + {ext(s, w)}")
    m.line(f"always @(posedge ap_clk) if (g_fire) acc{p} <= fend ? {w}'d0 : {nx};")
    return Op(nx, w, lo, hi)


def lanes_sparse(m: Module, layer: MVU, plan: MVUPlan, ar: Arith, eb: int) -> list[Op]:
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
        out.append(accumulate(m, p, tree_sum(m, vals, f"ls{p}_"), ar))
    return out


def lanes_dense(m: Module, layer: MVU, plan: MVUPlan, ar: Arith, eb: int) -> list[Op]:
    k, pe, simd = layer.in_features, plan.pe, plan.simd
    sf_n = k // simd
    if sf_n > 1:
        bw = clog2(k * eb)
        base = m.wire("sbase", bw, f"{{{bw - clog2(sf_n)}'d0, sf}} * {lit(simd * eb, bw)}" if bw > clog2(sf_n)
                      else f"sf * {lit(simd * eb, bw)}")
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
        out.append(accumulate(m, p, tree_sum(m, vals, f"ls{p}_"), ar))
    return out


def serial_g(m: Module, layer: MVU, plan: MVUPlan, ar: Arith, eb: int) -> Op:
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


#: the lanes of each folded style (a new style: one function here, one schedule in sbnn.arch.schedule)
LANES: dict[str, Callable[[Module, MVU, MVUPlan, Arith, int], list[Op]]] = {"sparse": lanes_sparse,
                                                                          "dense": lanes_dense}
