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

Unrolled MVUs are here; folded ones in :mod:`sbnn.hw.rtl.folded` (weight memory: :mod:`sbnn.hw.rtl.weights`).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from sbnn.arch.arith import arith
from sbnn.arch.pipeline import Stage
from sbnn.errors import HardwareError
from sbnn.hw.rtl.block import mvu_block
from sbnn.hw.rtl.datapath import compare, elements, score_bits, shared_g, y_sum
from sbnn.hw.rtl.folded import mvu_folded
from sbnn.hw.rtl.nm import mvu_nm
from sbnn.hw.rtl.units import unit_ports
from sbnn.hw.rtl.verilog import Module, Op, const_mul, lit, tree_sum
from sbnn.ir.model import MVU


def mvu_unrolled(name: str, st: Stage, layer: MVU, load: Stage | None = None) -> str:
    """PE = M, SIMD = K: constant weights; with zero skipping each channel sums only its b = 1 inputs."""
    plan = st.plan
    ar = arith(layer, plan)
    k, mch, eb = layer.in_features, layer.out_channels, st.in_bits
    bits = layer.weight_bits
    used = np.ones(k, bool) if (ar.gmul or not plan.skip_zeros) else bits.any(axis=0)
    m = Module(name, f"Unrolled MVU {layer.name}: {mch} x {k}, {'zero-skipping' if plan.skip_zeros else 'dense XNOR'}.")
    reg = bool(st.info.get("out_reg"))  # the channel sums are registered (sbnn.arch.depth.unrolled_timing)
    unit_ports(m, k * eb, mch * ar.out_bits, None if used.all() else "inputs whose weight column is all zero are skipped",
               clocked=reg, in_sum=st.in_sum)
    elem = elements(m, layer, eb, ar)
    if st.in_sum:  # S' formed by the producer
        g = const_mul(m, Op("in_sum", st.in_sum, ar.s_lo, ar.s_hi), ar.gmul, "g")
    else:
        g = shared_g(m, [elem(i) for i in range(k)], ar) if ar.gmul else None
    if reg:  # one vector in the register: it is taken when empty or leaving
        m.line("reg v;")
        m.line("wire fire = ap_rst_n && in_valid && (!v || out_ready);")
        m.line("assign in_pop = fire;")
        m.line("assign out_push = ap_rst_n && v && out_ready;")
        m.line("always @(posedge ap_clk) if (!ap_rst_n) v <= 1'b0; else if (fire) v <= 1'b1; else if (out_ready) v <= 1'b0;")
        if g is not None:
            m.line(f"reg [{g.width - 1}:0] rg;")
            m.line(f"always @(posedge ap_clk) if (fire) rg <= {g.name};")
            g = Op("rg", g.width, g.lo, g.hi)
    else:
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
        if reg and a.name[0] not in "0123456789":  # a constant sum (no inputs) needs no register
            m.line(f"reg [{a.width - 1}:0] ra{c};")
            m.line(f"always @(posedge ap_clk) if (fire) ra{c} <= {a.name};")
            a = Op(f"ra{c}", a.width, a.lo, a.hi)
        y = y_sum(m, g, a, ar, f"{c}")
        if ar.theta is None:
            sc = m.wire(f"sc{c}", ar.yw, f"{y} - {lit(int(ar.off[c]), ar.yw)}")
            outs.append(score_bits(m, sc, ar, c))
        else:
            outs.append(compare(y, lit(int(ar.theta[c]), ar.yw), "1'b1" if ar.down[c] else "1'b0"))
    m.line(f"assign out_data = {{{', '.join(reversed(outs))}}};")
    return m.text()


#: the Verilog emitter of each plan style (a new MVU style: one emitter here, one schedule in
#: :data:`sbnn.arch.schedule.SCHEDULES`, one ``Literal`` value in :mod:`sbnn.arch.options`; a folded style may
#: reuse :func:`~sbnn.hw.rtl.folded.mvu_folded` with its own lanes and word format)
EMITTERS: dict[str, Callable[[str, Stage, MVU, Stage | None], str]] = {
    "unrolled": mvu_unrolled, "sparse": mvu_folded, "dense": mvu_folded, "nm": mvu_nm, "block": mvu_block}


def mvu(name: str, st: Stage, layer: MVU, load: Stage | None = None) -> str:
    """The MVU stage's module (its weight memory placed as ``st.impl.weight_rom`` says); ``load`` is the load
    stage before it (a distributed-RAM gather)."""
    if st.plan is None:
        raise HardwareError(f"{layer.name}: no schedule")
    return EMITTERS[st.plan.style](name, st, layer, load)
