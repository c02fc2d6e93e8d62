"""The threshold path of a folded MVU whose thresholds ride in the weight memory (:func:`sbnn.arch.cost.
threshold_layout`): every word of a fold carries one piece of the fold's threshold word, a shift register
assembles it while the fold accumulates.

Where ``G = gmul * S'`` is known while the fold's words stream by (formed by the producer, or over the
whole input vector) and each lane's field spans whole pieces (words per fold >= PE), the pieces are also
*adjusted* on the way in: one piece-wide subtractor shared by all lanes turns each lane's stored
``t - 1`` (``t = theta + down``) into ``u = t - 1 - G``. Why: the compare ``G + (A << sh) >= t`` then
becomes ``A > (u >>> sh)`` (``A << sh`` is a multiple of ``2**sh``, so ``A * 2**sh > u`` iff
``A > floor(u / 2**sh)``), which drops every lane's ``y`` adder and narrows its comparator from the width
of ``y`` to that of ``A``: PE adders of ``y``'s width become one of a piece's.
"""

from __future__ import annotations

from sbnn.hw.rtl.verilog import Module, Op, clog2, ext, lint_off, lint_on, lit, width_for


def ride_words(words: list[int], twords: list[int], per: int, pc: int, wb: int) -> list[int]:
    """The weight words with word ``j`` of fold ``f`` carrying bits ``j*pc ..`` of fold f's threshold word
    above bit ``wb``."""
    return [w | (((twords[i // per] >> ((i % per) * pc)) & ((1 << pc) - 1)) << wb) for i, w in enumerate(words)]


def threshold_shift(m: Module, per: int, pc: int, wb: int, piped: bool, g: Op | None = None,
                    field: int = 0) -> str:
    """The shift register of a fold's threshold pieces (the top ``pc`` bits of the ``wb``-bit word ``rd``);
    returns the name of the assembled word (``per * pc`` bits, piece 0 lowest), valid when the fold's
    last word is taken (``g_fire && fend``; piped: ``s_fire && a_fend``). ``field`` > 0: the pieces are
    adjusted by ``G`` (``g``; None: no G) in lane fields of ``field`` bits, ``field / pc`` pieces each."""
    piece = f"rd[{wb - 1}:{wb - pc}]"
    if not field:  # as stored: shifted in as the words are taken
        _shift_in(m, per if piped else per - 1, pc, piece, "g_fire")
        return m.wire("thr_all", per * pc, "tsr" if piped else f"{{{piece}, tsr}}")
    fire, fend = ("s_fire", "a_fend") if piped else ("g_fire", "fend")
    if piped:  # the piece travels with its word through the pipeline register, to meet that word's G
        m.line(f"reg [{pc - 1}:0] a_tp;")
        m.line(f"always @(posedge ap_clk) if (g_fire) a_tp <= {piece};")
        piece = "a_tp"
    r = field // pc
    res = piece
    if g is not None:
        # G << 1 (the down bit, bit 0, passes) modulo 2**field: u fits in field - 1 bits, G may be wider
        gw = field - 1
        if g.width > gw:
            m.line(lint_off("UNUSEDSIGNAL", "G's bits above the field: the subtraction runs modulo 2**field"))
        gop = m.wire("t_gop", field, f"{{{ext(g, gw) if g.width <= gw else f'{g.name}[{gw - 1}:0]'}, 1'b0}}")
        if g.width > gw:
            m.line(lint_on("UNUSEDSIGNAL"))
        if r > 1:
            qw = clog2(r)
            m.line(f"reg [{qw - 1}:0] t_q;")  # the piece's index within its lane field
            m.line(f"always @(posedge ap_clk) if (!ap_rst_n) t_q <= {qw}'d0; else if ({fire}) "
                   f"t_q <= ({fend} || t_q == {lit(r - 1, qw)}) ? {qw}'d0 : t_q + {lit(1, qw)};")
            m.line("reg t_b;")  # the borrow out of the lane field's previous piece
            opnd = m.wire("t_op", pc, f"{gop}[t_q * {pc} +: {pc}]")
            borrow = f"((t_q != {qw}'d0) & t_b)"
        else:
            opnd, borrow = gop, "1'b0"
        diff = m.wire("t_diff", pc + 1, f"{{1'b0, {piece}}} - {{1'b0, {opnd}}} - {{{pc}'d0, {borrow}}}")
        if r > 1:
            m.line(f"always @(posedge ap_clk) if ({fire}) t_b <= {diff}[{pc}];")
        else:
            m.line(lint_off("UNUSEDSIGNAL", "a lane field of one piece: no borrow to keep"))
            m.line(f"wire unused_t_b = {diff}[{pc}];")
            m.line(lint_on("UNUSEDSIGNAL"))
        res = m.wire("t_res", pc, f"{diff}[{pc - 1}:0]")
    _shift_in(m, per - 1, pc, res, fire)
    return m.wire("thr_all", per * pc, f"{{{res}, tsr}}")


def _shift_in(m: Module, held: int, pc: int, value: str, fire: str) -> None:
    """``tsr``: the last ``held`` pieces of ``pc`` bits, ``value`` shifted in at the top on ``fire``."""
    m.line(f"reg [{held * pc - 1}:0] tsr;")
    shifted = value if held == 1 else f"{{{value}, tsr[{held * pc - 1}:{pc}]}}"
    m.line(f"always @(posedge ap_clk) if ({fire}) tsr <= {shifted};")


def compare_adjusted(m: Module, acc: Op, fld: str, field: int, sh: int, tag: str) -> str:
    """A lane's channel bit from its accumulator ``acc`` (A) and its adjusted field ``fld`` (``field`` bits,
    ``{u, down}``): ``(A > (u >>> sh)) ^ down``."""
    low = min(1 + sh, field - 1)  # u >>> sh: u's bits from sh on (only its sign where u is narrower than sh)
    uw = field - low
    if sh:
        m.line(lint_off("UNUSEDSIGNAL", "the low bits of u: A << sh is a multiple of 2**sh"))
    u = m.wire(f"tu{tag}", field, fld)
    if sh:
        m.line(lint_on("UNUSEDSIGNAL"))
    uh = Op(m.wire(f"tv{tag}", uw, f"{u}[{field - 1}:{low}]"), uw, -1, 0)  # signed
    aw = acc.width
    if acc.lo >= 0 and uw - 1 > aw:  # v = u >>> sh is wider than A, which is never negative nor >= 2**aw:
        # A > v is 1 for v < 0 (its sign), 0 for v >= 2**aw (a bit above A's), else A > v's low bits
        # (unsigned, A's width): a comparator as narrow as the lane's count, not as its threshold
        return m.wire(f"bit{tag}", 1, f"({uh.name}[{uw - 1}] | (~|{uh.name}[{uw - 2}:{aw}] & ({acc.name} > "
                                       f"{uh.name}[{aw - 1}:0]))) ^ {u}[0]")
    cw = max(aw, width_for(acc.lo, acc.hi), uw) + 1  # room for a sign beside both
    return m.wire(f"bit{tag}", 1, f"($signed({ext(acc, cw)}) > $signed({ext(uh, cw)})) ^ {u}[0]")
