"""Logic delay of the generated datapaths: the delay model (one place for its figures) and the generator's
estimate of a folded MVU's longest path, from which it decides where to insert pipeline registers.

Why: every frames/s figure rests on the clock (100 MHz by default), so no register-to-register path may be
longer than a clock period. The figures of :data:`DELAYS_NS` are approximate -1 speed-grade delays of the
xc7z020 (Zynq-7000 data sheet DS187 / typical Vivado timing reports) with a flat average net delay; the
synthesis report times Yosys' mapped netlist with them (:mod:`sbnn.hw.synth.timing`), and the generator
estimates its structures with them before any synthesis (:func:`mvu_timing`). Both are *estimates*
(no placement, no routing); Vivado's timing report is the real figure.

A folded zero-skipping MVU's gather step (one weight word per clock) is: the word, read from the weight
memory (a BRAM's clock-to-out is ~2.5 ns) -> slot positions (absolute indices, or running sums of gap codes:
a chain of SIMD adders) -> gather multiplexers (or LUT-RAM reads + bank multiplexers) -> lane adder tree ->
accumulator. When that is too long for the clock, the generator registers the decoded slot positions of
the *next* word (``decode``: the word sequence does not depend on data, so this is a prefetch that costs no
clock; the memory's output runs one more word ahead into a register, so the decode starts from a flip-flop,
and gap codes are summed by a parallel prefix there) and, if still too long, registers the gathered values
before the adder tree (``sum_regs``: one more pipeline stage, one clock of latency, which the cycle model
:mod:`sbnn.sim.cycles` times).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sbnn.arch.arith import csd

#: delay model (ns), xc7z020 -1: approximate cell delays + a flat average net delay
DELAYS_NS = {
    "ff_clk_to_q": 0.46,  # FDRE C -> Q
    "srl_clk_to_q": 1.45,  # SRL16E / SRLC32E C -> Q
    "bram_clk_to_q": 2.45,  # RAMB18/36 CLK -> DO without the output register
    "setup": 0.10,  # flip-flop / RAM input setup
    "bram_setup": 0.55,
    "lut": 0.12,  # LUT1..6 (and a LUT-RAM read port) input -> O
    "muxf": 0.30,  # MUXF7 / MUXF8 input -> O
    "carry_in": 0.55,  # CARRY4 S / DI -> CO / O
    "carry_bypass": 0.12,  # CARRY4 CI -> CO / O
    "net": 0.60,  # one routed connection (average)
}
#: clock period lost to clock skew, jitter and uncertainty (ns): a path meets the clock when its delay plus
#: this margin fits in the period
CLOCK_MARGIN_NS = 0.5
#: slack (ns) the generator keeps below the budget: its structural estimate is rougher than the timing of
#: the synthesized netlist (:mod:`sbnn.hw.synth.timing`)
ESTIMATE_SLACK_NS = 0.5
#: with the register before the adder trees, the shared sum S' of a K-input vector is cut into this many
#: partial sums before the register (the rest of its tree and gmul * S' after it)
PIPE_PARTS = 8


def part_inputs(simd: int, eb: int) -> int:
    """Inputs per partial sum when a sliced MVU's slice is summed for S' in front of its pipeline register:
    SIMD / PIPE_PARTS, for bits rounded up to whole 6-input counters (the adder tree's first level), so the
    register cuts the tree between two of its levels."""
    n = math.ceil(simd / PIPE_PARTS)
    return 6 * math.ceil(n / 6) if eb == 1 else n


#: the clock every frames/s figure assumes unless ``clock_mhz`` says otherwise
DEFAULT_CLOCK_MHZ = 100.0

_D = DELAYS_NS
_LEVEL = _D["lut"] + _D["net"]


def budget_ns(clock_mhz: float) -> float:
    """The longest register-to-register path (ns, setup included) that meets ``clock_mhz``."""
    return 1000.0 / clock_mhz - CLOCK_MARGIN_NS


def meets(delay_ns: float, clock_mhz: float) -> bool:
    """Whether a path of ``delay_ns`` (setup included) meets ``clock_mhz`` with :data:`CLOCK_MARGIN_NS`."""
    return delay_ns <= budget_ns(clock_mhz) + 1e-9


def adder_ns(width: int) -> float:
    """A ``width``-bit adder (LUTs + a CARRY4 chain) from its inputs to its top sum bit, with its output net."""
    return _D["lut"] + _D["carry_in"] + _D["carry_bypass"] * max(0, math.ceil(width / 4) - 1) + _D["net"]


def chain_ns(n: int, width: int) -> float:
    """``n`` adders in series (running sums): the carries ripple diagonally, so each adder adds one LUT and
    one carry entry, the width's carry chain is paid once."""
    if n < 1:
        return 0.0
    return n * (_D["lut"] + _D["carry_in"] + _D["net"]) + _D["carry_bypass"] * max(0, math.ceil(width / 4) - 1)


def mux_ns(n: int) -> float:
    """An n:1 multiplexer of bits (a LUT6 is a 4:1 multiplexer)."""
    return _LEVEL * max(1, math.ceil(math.log(max(n, 2), 4)))


def tree_ns(n: int, width: int) -> float:
    """A lane's adder tree over ``n`` values of ``width`` bits (bits: 6:3 counters first)."""
    if n <= 1:
        return 0.0
    if width == 1:
        groups = math.ceil(n / 6)
        return _LEVEL + (chain_ns(math.ceil(math.log2(groups)), 3 + math.ceil(math.log2(groups))) if groups > 1 else 0.0)
    levels = math.ceil(math.log2(n))
    return chain_ns(levels, width + levels)


@dataclass(frozen=True)
class MVUTiming:
    """Estimated longest paths of a folded MVU's gather step (ns) and its pipelining."""

    decode: int  # stages decoding the next words' slot positions into registers (prefetch, no clock cost)
    sum_regs: int  # registers between the gather and the lane adder tree (0 or 1: one clock of latency)
    gather_ns: float  # the gather step as built
    decode_ns: float  # the decode step (0 without ``decode``)
    sum_ns: float  # the adder tree + accumulator step (0 without ``sum_regs``)

    @property
    def worst_ns(self) -> float:
        return max(self.gather_ns, self.decode_ns, self.sum_ns)


def csd_terms(c: int) -> int:
    """Non-zero canonical signed digits of ``c`` (the terms of a shift-and-add constant multiply)."""
    return len(csd(abs(int(c))))


def mvu_timing(*, k: int, pe: int, simd: int, eb: int, style: str, gather: str | None, coding: str,
               code_bits: int, acc_bits: int, words: int, rom_in_bram: bool, banks: int, gmul: int = 0,
               clock_mhz: float = DEFAULT_CLOCK_MHZ) -> MVUTiming:
    """How a folded MVU is pipelined at ``clock_mhz``: the cheapest of (nothing, one or two ``decode``
    stages, with or without ``sum_regs``) whose estimated paths all fit the clock (the last one when none
    does). Besides the gather
    step, the shared term ``G = gmul * S'`` counts: a K-input tree over the vector at the FIFO head
    (S' summed serially over the slices by the sliced MVUs, dense and N:M; the distributed-RAM gathers sum it during the
    load, not estimated here), then the constant multiply."""
    budget = budget_ns(clock_mhz) - ESTIMATE_SLACK_NS
    word = _D["bram_clk_to_q"] if rom_in_bram else _D["ff_clk_to_q"]
    ff = _D["ff_clk_to_q"] + _D["net"]
    fifo = ff + _LEVEL  # the vector at the FIFO head (its read multiplexer)
    pw = max(1, int(k).bit_length())
    seg = gather == "segmented"
    lut = gather in ("lutram", "lutram1") and style != "dense"
    delta = coding == "delta" and style != "dense"
    # slot positions from the word: indices as they are; gap codes summed slot by slot (a chain of SIMD
    # adders), one adder per slot when segmented (one pointer per slot); the take / empty select
    chain = (_LEVEL + chain_ns(1 if seg else simd, pw) + _LEVEL) if delta else 0.0  # escape decode, sums, take
    if style == "dense":
        select = mux_ns(k // simd) + _LEVEL  # the vector's slice, XNOR / AND with the weight bit
    elif lut:
        select = _LEVEL + mux_ns(banks) if banks > 1 else _LEVEL  # LUT-RAM read port, bank multiplexer
    else:
        select = mux_ns((k // simd if seg else k) + 1)
    sum_ = tree_ns(simd, eb) + adder_ns(acc_bits) + _LEVEL  # tree, accumulator and its fold-end clear
    # the XNOR lanes count their bits in 6-input groups in front of the pipeline register (its first level)
    cnt = _LEVEL if style == "dense" and eb == 1 and simd > 6 else 0.0
    setup = _D["setup"]
    # G = gmul * S': before / after the pipeline register (with it, S' travels in PIPE_PARTS partial sums)
    sw = max(1, k * max(1, (1 << eb) - 1)).bit_length() + 1
    cmul = chain_ns(max(0, csd_terms(gmul) - 1), sw + 2)
    if not gmul or lut:
        g_plain = g_pre = g_post = 0.0
    elif style in ("dense", "nm") and k // simd > 1:  # serial: slice, partial sums | their sum, running sum, gmul * S'
        g_plain = fifo + mux_ns(k // simd) + tree_ns(simd, eb) + adder_ns(sw) + _LEVEL + cmul + setup
        n = part_inputs(simd, eb)
        g_pre = fifo + mux_ns(k // simd) + tree_ns(n, eb) + setup
        g_post = ff + tree_ns(math.ceil(simd / n), (max(1, (1 << eb) - 1) * n).bit_length()) + adder_ns(sw) + _LEVEL \
            + cmul + setup
    else:
        g_plain = fifo + tree_ns(k, eb) + cmul + setup
        g_pre = fifo + tree_ns(math.ceil(k / PIPE_PARTS), eb) + setup
        g_post = ff + tree_ns(PIPE_PARTS, sw) + cmul + setup
    plain = max(word + chain + select + sum_ + setup, g_plain)  # as built without pipelining
    if plain <= budget:
        return MVUTiming(0, 0, plain, 0.0, 0.0)
    n_lv = math.ceil(math.log2(simd)) if delta and not seg and simd > 1 else 0
    # decode stages exist for the zero-skipping gathers only; the sliced (dense, N:M) and block lanes take the
    # pipeline register before their adder trees
    options = [(1, 0), (2, 0), (1, 1), (2, 1)] if style == "sparse" and words > 1 else [(0, 1)]
    options = [o for o in options if o[0] < 2 or n_lv > 1]  # a second decode stage splits a prefix
    pos = ff + ((adder_ns(pw) + _LEVEL) if delta else 0.0)
    best = None
    for dec, regs in options:
        # decode stages from the registered next word: gap codes' escape decode, prefix levels (an adder and a
        # LUT around it each), split over the stages
        cut = -(-n_lv // 2) if dec > 1 else n_lv
        dec_ns = 0.0
        if dec:
            first = ff + (_LEVEL + chain_ns(cut, pw) + cut * _LEVEL if delta else 0.0) + setup
            second = ff + chain_ns(n_lv - cut, pw) + (n_lv - cut) * _LEVEL + setup if dec > 1 else 0.0
            dec_ns = max(first, second)
        start = pos if dec else word + chain
        if regs:
            gat, post = max(start + select + cnt + setup, g_pre), max(ff + sum_ - cnt + setup, g_post)
        else:
            gat, post = max(start + select + sum_ + setup, g_plain), 0.0
        est = MVUTiming(dec, regs, gat, dec_ns, post)
        if est.worst_ns <= budget:
            return est
        if best is None or est.worst_ns < best.worst_ns - 1e-9:
            best = est
    return best  # none fits: the shortest


def unrolled_timing(*, k: int, span: int, eb: int, gmul: int, acc_bits: int,
                    clock_mhz: float = DEFAULT_CLOCK_MHZ) -> tuple[bool, float]:
    """(register the channel sums, estimated longest path) of an unrolled MVU: from the vector at the FIFO
    head through each channel's adder tree over its ``span`` inputs (and the K-input tree of ``G``), ``y``
    and the threshold compare into the output FIFO. With the register the path ends after the trees."""
    ff = _D["ff_clk_to_q"] + _D["net"]
    sw = max(1, k * max(1, (1 << eb) - 1)).bit_length() + 1
    trees = max(tree_ns(span, eb), (tree_ns(k, eb) + chain_ns(max(0, csd_terms(gmul) - 1), sw + 2)) if gmul else 0.0)
    after = adder_ns(acc_bits + 2) + adder_ns(acc_bits + 2) + _D["setup"]  # y = G + A << sh, compare
    plain = ff + _LEVEL + trees + after
    if plain <= budget_ns(clock_mhz) - ESTIMATE_SLACK_NS:
        return False, plain
    return True, max(ff + _LEVEL + trees + _D["setup"], ff + after)
