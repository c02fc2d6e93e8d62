"""Verilog of the block MVU (``style="block"``): a folded MVU for layers whose rows keep or skip whole
blocks of B consecutive inputs, every row the same number of blocks (:mod:`sbnn.ir.structure`).

Why: one code per kept *block* instead of one per kept weight, and a slot reads B inputs at once. Each
slot reads block ``code - 1`` of the input vector (held at the head of the input FIFO) as one B-input word
through a block multiplexer (code 0 = empty slot reads zeros; a short tail block is padded with zeros) and
the lane pops / sums its B inputs. The block multiplexer is a flip-flop (K/B + 1):1 word multiplexer, not
a distributed-RAM copy: a RAM would need the loader of the ``lutram`` gathers (about 23 LUTs per 64
positions and per bit, and 64 extra clocks or a second buffer), while K/B positions are few. ``S'`` is one
adder tree over all K inputs (the words do not walk through the vector in order). Every fold takes
``ceil(kept / slots)`` words, counted by the fold counter (no fold-end flag in the words).
"""

from __future__ import annotations

import numpy as np

from sbnn.arch.arith import Arith
from sbnn.arch.pipeline import Stage
from sbnn.arch.schedule import MVUPlan, layer_structure
from sbnn.errors import HardwareError
from sbnn.hw.rtl.folded import mvu_folded
from sbnn.hw.rtl.lanes import lane_sum
from sbnn.hw.rtl.verilog import Module, Op, clog2, lit
from sbnn.ir.model import MVU


def block_codes(row: np.ndarray, size: int) -> list[int]:
    """Codes of one row's kept blocks: block i -> i + 1 (increasing)."""
    k = row.size
    codes = []
    for i in range(-(-k // size)):
        blk = row[i * size : (i + 1) * size]
        if blk.any():
            if not blk.all():
                raise HardwareError(f"schedule/ROM mismatch: block {i} (inputs {i * size}..{i * size + blk.size - 1}) "
                                    "is partly kept")
            codes.append(i + 1)
    return codes


def block_words(layer: MVU, plan: MVUPlan) -> list[int]:
    """Weight memory of a block MVU: per fold, ``words`` words of PE x slots block codes."""
    size, cb, slots = layer_structure(layer).size, plan.code_bits, plan.slots
    words = []
    for f in range(plan.folds.shape[0]):
        nw = int(plan.words[f])
        lanes = [block_codes(layer.weight_bits[c], size) for c in plan.folds[f]]
        if max(len(codes) for codes in lanes) > nw * slots:
            raise HardwareError("schedule/ROM mismatch: a channel keeps more blocks than its fold's slots")
        for t in range(nw):
            w = 0
            for p, codes in enumerate(lanes):
                for s in range(slots):
                    i = t * slots + s
                    if i < len(codes):
                        w |= codes[i] << ((p * slots + s) * cb)
            words.append(w)
    return words


def lanes_block(m: Module, layer: MVU, plan: MVUPlan, ar: Arith, eb: int, sum_regs: int = 0) -> list[Op]:
    """Every lane: ``slots`` block reads through the block multiplexer, B inputs each, summed and accumulated."""
    size, cb = layer_structure(layer).size, plan.code_bits
    k = layer.in_features
    nb = -(-k // size)
    span = 1 << cb
    bw = size * eb  # bits of one block word
    # position 0 = zeros (empty slot), position i + 1 = block i (the tail block padded), then zeros up to 2**cb
    parts = [f"{(span - nb - 1) * bw}'d0"] if span > nb + 1 else []
    if k < nb * size:
        parts.append(f"{(nb * size - k) * eb}'d0")
    parts += ["in_data", f"{bw}'d0"]
    m.wire("xblk", span * bw, "{" + ", ".join(parts) + "}")
    iw = clog2(span * bw)
    out = []
    for p in range(plan.pe):
        vals = []
        for s in range(plan.slots):
            lo = (p * plan.slots + s) * cb
            code = m.wire(f"cd{p}_{s}", cb, f"rd[{lo + cb - 1}:{lo}]")
            idx = m.wire(f"bi{p}_{s}", iw, f"{{{iw - cb}'d0, {code}}} * {lit(bw, iw)}" if iw > cb else code)
            blk = m.wire(f"vb{p}_{s}", bw, f"xblk[{idx} +: {bw}]")
            if eb == 1:
                vals += [Op(f"{blk}[{j}]", 1, 0, 1) for j in range(size)]
            else:
                vals += [Op(m.wire(f"v{p}_{s}_{j}", eb, f"{blk}[{j * eb + eb - 1}:{j * eb}]"), eb, ar.elo, ar.ehi)
                         for j in range(size)]
        out.append(lane_sum(m, p, vals, ar, sum_regs > 0))
    return out


def mvu_block(name: str, st: Stage, layer: MVU, load: Stage | None = None) -> str:
    """The folded block MVU: :func:`~sbnn.hw.rtl.folded.mvu_folded` with block lanes and block-code words."""
    return mvu_folded(name, st, layer, load, lanes=lanes_block, words=block_words)
