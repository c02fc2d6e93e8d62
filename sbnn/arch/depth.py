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
clock; gap codes are summed by a parallel prefix there) and, if still too long, registers the gathered
values before the adder tree (``sum_regs``: one more pipeline stage, one clock of latency, which the cycle
model :mod:`sbnn.sim.cycles` times).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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

    decode: bool  # the next word's slot positions are decoded into registers (prefetch, no clock cost)
    sum_regs: int  # registers between the gather and the lane adder tree (0 or 1: one clock of latency)
    gather_ns: float  # the gather step as built
    decode_ns: float  # the decode step (0 without ``decode``)
    sum_ns: float  # the adder tree + accumulator step (0 without ``sum_regs``)

    @property
    def worst_ns(self) -> float:
        return max(self.gather_ns, self.decode_ns, self.sum_ns)


def mvu_timing(*, k: int, pe: int, simd: int, eb: int, style: str, gather: str | None, coding: str,
               code_bits: int, acc_bits: int, words: int, rom_in_bram: bool, banks: int,
               clock_mhz: float = DEFAULT_CLOCK_MHZ) -> MVUTiming:
    """How a folded MVU is pipelined at ``clock_mhz``: the cheapest of (nothing, ``decode``, ``decode`` +
    ``sum_regs``) whose estimated paths all fit the clock (the last one when none does)."""
    budget = budget_ns(clock_mhz) - ESTIMATE_SLACK_NS
    word = _D["bram_clk_to_q"] if rom_in_bram else _D["ff_clk_to_q"]
    pw = max(1, int(k).bit_length())
    seg = gather == "segmented"
    delta = coding == "delta" and style != "dense"
    # slot positions from the word: indices as they are; gap codes summed slot by slot (a chain of SIMD
    # adders), one adder per slot when segmented (one pointer per slot); the take / empty select
    chain = (_LEVEL + chain_ns(1 if seg else simd, pw) + _LEVEL) if delta else 0.0  # escape decode, sums, take
    if style == "dense":
        select = mux_ns(k // simd) + _LEVEL  # the vector's slice, XNOR / AND with the weight bit
    elif gather in ("lutram", "lutram1"):
        select = _LEVEL + mux_ns(banks) if banks > 1 else _LEVEL  # LUT-RAM read port, bank multiplexer
    else:
        select = mux_ns((k // simd if seg else k) + 1)
    sum_ = tree_ns(simd, eb) + adder_ns(acc_bits) + _LEVEL  # tree, accumulator and its fold-end clear
    setup = _D["setup"]
    plain = word + chain + select + sum_ + setup  # as built without pipelining
    if plain <= budget:
        return MVUTiming(False, 0, plain, 0.0, 0.0)
    if style != "dense" and words > 1:  # decode the next word into registers (gap codes: parallel prefix)
        prefix = chain_ns(math.ceil(math.log2(simd)), pw) if delta and not seg and simd > 1 else 0.0
        dec = word + (_LEVEL + prefix if delta else 0.0) + setup
        pos = _D["ff_clk_to_q"] + _D["net"] + ((adder_ns(pw) + _LEVEL) if delta else 0.0)
        gat = pos + select + sum_ + setup
        if max(gat, dec) <= budget:
            return MVUTiming(True, 0, gat, dec, 0.0)
        return MVUTiming(True, 1, pos + select + setup, dec, _D["ff_clk_to_q"] + _D["net"] + sum_ + setup)
    return MVUTiming(False, 1, word + select + setup, 0.0, _D["ff_clk_to_q"] + _D["net"] + sum_ + setup)
