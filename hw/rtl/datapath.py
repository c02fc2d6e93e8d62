"""Pieces shared by every MVU datapath: input elements, the shared term ``G = gmul * S'``, ``y``, the
threshold compare and score outputs (the arithmetic: :mod:`sbnn.arch.arith`)."""

from __future__ import annotations

from sbnn.arch.arith import Arith
from sbnn.hw.rtl.verilog import Module, Op, const_mul, ext, lint_off, lint_on, shl, tree_sum
from sbnn.ir.model import MVU


def elements(m: Module, layer: MVU, eb: int, ar: Arith):
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


def shared_g(m: Module, elems: list[Op], ar: Arith) -> Op | None:
    """G = gmul * S', once per input vector."""
    if ar.gmul == 0:
        return None
    s = tree_sum(m, elems, "sx")
    return const_mul(m, s, ar.gmul, "g")


def y_sum(m: Module, g: Op | None, a: Op, ar: Arith, tag: str) -> str:
    a_sh = shl(m, a, ar.sh, f"ash{tag}_")
    if g is None:
        return m.wire(f"y{tag}", ar.yw, ext(a_sh, ar.yw))
    return m.wire(f"y{tag}", ar.yw, f"{ext(g, ar.yw)} + {ext(a_sh, ar.yw)}")


def compare(y: str, theta: str, down: str) -> str:
    """A channel bit with constant theta and direction: ``y >= theta`` (up) or ``y <= theta`` (down)."""
    return f"({down} ? ($signed({y}) <= $signed({theta})) : ($signed({y}) >= $signed({theta})))"


def compare_stored(y: str, t: str, down: str) -> str:
    """A channel bit from a threshold memory, which holds ``t = theta + down``: ``y <= theta`` is
    ``!(y >= theta + 1)``, so one comparator and an XOR serve both directions (two comparators and a
    multiplexer per lane before; :func:`sbnn.hw.rtl.weights.threshold_words`)."""
    return f"(($signed({y}) >= $signed({t})) ^ {down})"


def score_bits(m: Module, sc: str, ar: Arith, c: int) -> str:
    """The low out_bits of a score (the value fits: |score| <= acc_bound)."""
    if ar.out_bits >= ar.yw:
        return sc if ar.out_bits == ar.yw else f"{{{{{ar.out_bits - ar.yw}{{{sc}[{ar.yw - 1}]}}}}, {sc}}}"
    m.line(lint_off("UNUSEDSIGNAL", "scores fit in the output width; the upper bits are sign copies"))
    name = m.wire(f"so{c}", ar.out_bits, f"{sc}[{ar.out_bits - 1}:0]")
    m.line(f"wire [{ar.yw - ar.out_bits - 1}:0] unused_sc{c} = {sc}[{ar.yw - 1}:{ar.out_bits}];")
    m.line(lint_on("UNUSEDSIGNAL"))
    return name
