"""Verilog of the N:M MVU (``style="nm"``): a folded MVU for layers whose mask has exactly N ones in every
group of G consecutive inputs (:mod:`sbnn.ir.structure`).

Why: an unstructured mask makes every kept weight read an arbitrary input (a (K+1):1 gather); an N:M mask
lets each kept weight read only its own group. The lanes read the dense XNOR datapath's input slice ``xs``
(SIMD inputs = SIMD / G whole groups per clock, shared by all lanes; no gather RAM, no loader) and every
slot picks one input of its group with a G:1 multiplexer driven by a ceil(log2 G)-bit code from the weight
memory (bipolar inputs: on the slice's hard multiplexers where G >= 8, :func:`~sbnn.hw.rtl.prims.wide_mux`).
``A_c`` is the popcount (bipolar) or sum (integer inputs) of the N * SIMD / G picked inputs per clock,
``G = gmul * S'`` is summed over the slices of the first fold as in the dense MVU, and the clocks are the dense
ones, ``(M/PE) * (K/SIMD)``, while the lane work and the weight memory shrink to N/G of the
dense ones (times the code bits). A word holds whole groups (the schedule, :mod:`sbnn.arch.schedule`,
demands SIMD a multiple of G, or SIMD = K); a short tail group (G not dividing K) is padded with constant
zeros, which its empty slots read. An interleaved N:M layer (``N:Mi``) reads the same way from ``xperm``, the
input vector's elements in group order (:func:`sbnn.ir.structure.group_order`): wires, no logic.
"""

from __future__ import annotations

import numpy as np

from sbnn.arch.arith import Arith
from sbnn.arch.pipeline import Stage
from sbnn.arch.schedule import MVUPlan, layer_structure
from sbnn.errors import HardwareError
from sbnn.hw.rtl.folded import mvu_folded
from sbnn.hw.rtl.lanes import input_slice, lane_sum
from sbnn.hw.rtl.prims import wide_mux
from sbnn.hw.rtl.verilog import Module, Op, clog2, lint_off, lint_on, lit
from sbnn.ir.model import MVU
from sbnn.ir.structure import group_order


def nm_codes(row: np.ndarray, lo: int, hi: int, n: int, span: int) -> list[int]:
    """The N codes of one group (inputs ``lo..hi-1`` of ``row``): the positions of its ones, then empty
    slots pointing at the first zero-padding position (a short tail group only)."""
    ones = [int(i) for i in np.flatnonzero(row[lo:hi])]
    if len(ones) > n or (len(ones) < n and hi - lo >= span):
        raise HardwareError(f"schedule/ROM mismatch: inputs {lo}..{hi - 1} hold {len(ones)} ones, the N:M word "
                            f"has {n} slots")
    return ones + [hi - lo] * (n - len(ones))


def nm_words(layer: MVU, plan: MVUPlan) -> list[int]:
    """Weight memory of an N:M MVU: per fold and slice, PE x (groups per word) x N codes."""
    st = layer_structure(layer)
    g, n, cb, simd = st.size, st.n, plan.code_bits, plan.simd
    k, bits = layer.in_features, layer.weight_bits
    order = group_order(k, st)
    if order is not None:  # the groups side by side, as the lanes read them (xperm)
        bits = bits[:, order]
    gpw = plan.slots // n
    words = []
    for f in range(plan.folds.shape[0]):
        for sf in range(k // simd):
            w = 0
            for p, c in enumerate(plan.folds[f]):
                for gi in range(gpw):
                    lo = sf * simd + gi * g
                    hi = min(lo + g, (sf + 1) * simd)
                    for j, code in enumerate(nm_codes(bits[c], lo, hi, n, 1 << cb)):
                        w |= code << ((p * plan.slots + gi * n + j) * cb)
            words.append(w)
    return words


def lanes_nm(m: Module, layer: MVU, plan: MVUPlan, ar: Arith, eb: int, sum_regs: int = 0,
             word_fed: int = 0, hold: int = 0, keep_slice: int = 0) -> list[Op]:
    """Every lane: N picks per group of the slice through G:1 multiplexers, summed and accumulated;
    ``word_fed``: the input port carries the slice, in group order (:mod:`sbnn.arch.buffer`); ``hold``: the
    lanes read the MVU's copy of the vector, ``in_hold`` (:attr:`~sbnn.arch.pipeline.Stage.holds`);
    ``keep_slice``: the picks are the slice's only readers (S' comes with the vector) and there are enough
    slices (:data:`~sbnn.hw.rtl.folded.KEEP_SLICES`), so the slice multiplexer is kept whole
    (:func:`~sbnn.hw.rtl.lanes.input_slice`; where the MVU also sums S' over the slice, Yosys builds it once
    anyway and the kept wires cost it a few LUTs: the 1:8 CNV's third convolution, 331 instead of 304)."""
    st = layer_structure(layer)
    g, n, cb = st.size, st.n, plan.code_bits
    k, simd = layer.in_features, plan.simd
    order = None if word_fed else group_order(k, st)
    vec = src = "in_hold" if hold else "in_data"
    if order is not None:  # interleaved groups: the vector's elements in group order (wires only)
        parts = [f"{vec}[{i * eb + eb - 1}:{i * eb}]" if eb > 1 else f"{vec}[{i}]" for i in reversed(order)]
        src = m.wire("xperm", k * eb, "{" + ", ".join(parts) + "}")
    input_slice(m, simd if word_fed else k, simd, eb, src, keep=bool(keep_slice))
    span = 1 << cb
    groups, real = [], []
    for gi in range(plan.slots // n):  # group gi of the slice, padded with zeros to 2**cb elements
        lo = gi * g
        t = min(g, simd - lo)
        real.append(t)
        parts = ([f"{(span - t) * eb}'d0"] if span > t else []) + [f"xs[{(lo + t) * eb - 1}:{lo * eb}]"]
        groups.append(m.wire(f"xg{gi}", span * eb, "{" + ", ".join(parts) + "}"))
    iw = clog2(span * eb)
    out = []
    for p in range(plan.pe):
        vals = []
        for s in range(plan.slots):
            lo = (p * plan.slots + s) * cb
            if s % n >= real[s // n]:  # a short tail group's slots past its inputs always read the padding
                m.line(lint_off("UNUSEDSIGNAL", "a short tail group's empty slot: its code points at the padding"))
                m.wire(f"cd_empty{p}_{s}", cb, f"rd[{lo + cb - 1}:{lo}]")
                m.line(lint_on("UNUSEDSIGNAL"))
                continue
            grp = groups[s // n]
            code = m.wire(f"cd{p}_{s}", cb, f"rd[{lo + cb - 1}:{lo}]")
            if eb == 1:  # a G:1 multiplexer, on the slice's hard multiplexers where it is 8:1 or wider
                vals.append(Op(wide_mux(m, f"v{p}_{s}", grp, span, code), 1, 0, 1))
                continue
            idx = m.wire(f"vi{p}_{s}", iw, f"{{{iw - cb}'d0, {code}}} * {lit(eb, iw)}")
            vals.append(Op(m.wire(f"v{p}_{s}", eb, f"{grp}[{idx} +: {eb}]"), eb, ar.elo, ar.ehi))
        out.append(lane_sum(m, p, vals, ar, sum_regs > 0))
    return out


def mvu_nm(name: str, st: Stage, layer: MVU, load: Stage | None = None) -> str:
    """The folded N:M MVU: :func:`~sbnn.hw.rtl.folded.mvu_folded` with N:M lanes and code words."""
    return mvu_folded(name, st, layer, load, lanes=lanes_nm, words=nm_words)
