"""The schedule of an implemented MVU: which channel each (fold, lane) computes, how many weight-memory
words (clocks) each fold takes, and the slot codes' format.

Zero-weight skipping (``style="sparse"``). A folded MVU has PE lanes and SIMD *non-zero slots* per lane
and clock. Channels are sorted by the ROM words they need and cut into folds of PE channels; fold ``f``
takes ``max(1, max_lane words)`` clocks. A channel's words come from its non-zero input indices, coded
either as absolute indices (``index``: ceil(log2(K+1)) bits/slot) or as gaps (``delta`` with g bits: a
gap d costs ceil(d / (2**g - 2)) slots, escapes included). With ``gather="full"`` a slot may read any
input ((K+1):1 multiplexer per slot, ``ceil(slots / SIMD)`` words per channel); with ``"segmented"``
slot s reads only inputs i = s (mod SIMD) ((K/SIMD + 1):1, SIMD times smaller, but a channel then needs
as many words as its busiest residue class). With ``"lutram"`` / ``"lutram1"`` the schedule is the full
gather's, but the input vector is first copied into banks of 64-entry distributed RAM (a *load* stage of
``lutram_load_clocks(K)`` clocks per vector, one bank element per clock) and every slot reads it through a
RAM read port (a LUT-RAM is a 64:1 multiplexer per LUT, a logic LUT only 4:1); ``lutram`` holds two
vectors (the next one loads while the current one is computed), ``lutram1`` one (load, then compute).
The schedule depends on the weights only, never on data, so ``T`` (clocks per input vector) is exact.
``style="dense"`` is the FINN-like XNOR baseline (``T = (M/PE) * (K/SIMD)``); PE = M and SIMD = K is
*unrolled* (one vector per clock).

Structured masks (:mod:`sbnn.ir.structure`) have styles that read them without a gather. ``style="nm"``
(N:M masks, groups of G inputs): the lanes read the dense datapath's input slices of SIMD inputs, i.e.
SIMD / G whole groups per clock, and pick the N ones of every group with a G:1 multiplexer driven by a
ceil(log2 G)-bit code (``T = (M/PE) * (K/SIMD)`` as dense, words of PE x N*SIMD/G codes). Groups never
straddle words: SIMD is a multiple of G, or SIMD = K (one word per channel; the only choice when G does not
divide K, the short tail group then holds min(N, t) ones and its empty slots read a constant 0).
``style="block"`` (block:B masks): a slot reads one kept block of B inputs by its index (a block-index
multiplexer of B-input words, code 0 = empty slot reading zeros), SIMD / B slots per lane and clock (SIMD
= K: every block at once); every row keeps the same number of blocks, so all folds take
``max(1, ceil(kept / slots))`` clocks and the lanes never wait for a heavier one.

A style is one schedule function in :data:`SCHEDULES` (and one Verilog emitter in :mod:`sbnn.hw.rtl`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from sbnn.arch.impl import LayerImpl
from sbnn.arch.options import (
    CODINGS,
    GATHERS,
    LUTRAM_BUFFERS,
    LUTRAM_DEPTH,
    STRUCTURED_STYLES,
    STYLES,
    WEIGHT_ROMS,
    CodingChoice,
    Gather,
    Style,
    WeightRom,
)
from sbnn.errors import HardwareError
from sbnn.ir.model import MVU
from sbnn.ir.structure import Structure
from sbnn.ir.structure import parse as parse_structure


def index_bits(k: int) -> int:
    """Bits of an absolute index code: values 0 (empty slot) and 1..K (input i -> code i + 1)."""
    return max(1, int(k).bit_length())


def channel_slots(row: np.ndarray, coding: str, code_bits: int) -> int:
    """Slots (non-zero work items, escapes included) one channel needs under a coding."""
    nz = np.flatnonzero(row)
    if coding == "index" or nz.size == 0:
        return int(nz.size)
    step = (1 << code_bits) - 2  # largest selecting gap; the escape code advances by this much
    gaps = np.diff(nz, prepend=-1)
    return int(np.sum((gaps + step - 1) // step))


@dataclass(frozen=True)
class MVUPlan:
    """How one MVU is folded: which channel each (fold, lane) computes, how many ROM words each fold takes
    and the format of a word (set by the style's schedule function)."""

    style: str  # "sparse" | "dense" | "unrolled"
    skip_zeros: bool
    pe: int
    simd: int
    coding: str  # "index" | "delta" | "bits" (dense) | "const" (unrolled)
    code_bits: int
    folds: np.ndarray  # int (NF, PE): channel computed by lane p in fold f
    words: np.ndarray  # int (NF,): ROM words (clocks) of each fold
    gather: str = "full"  # sparse: slots read any input ("full") or only inputs i = s (mod SIMD)
    word_bits: int = 0  # width of one weight-memory word (0: unrolled, the weights are wiring)
    fold_flag: bool = False  # bit 0 of a word ends its fold (sparse: folds of data-independent length)
    slots: int = 0  # nm / block: codes per lane and word (N per group of an N:M word, blocks of a block word)

    @property
    def T(self) -> int:
        """Clocks per input vector."""
        return 1 if self.style == "unrolled" else int(self.words.sum())

    @property
    def sliced(self) -> bool:
        """The lanes read the input vector slice by slice (SIMD inputs per word, K / SIMD words per fold):
        the dense and N:M datapaths."""
        return self.style in ("dense", "nm")

    @property
    def memory_bits(self) -> int:
        """Weight-memory bits (0 when unrolled: the weights are wiring)."""
        return self.T * self.word_bits if self.style != "unrolled" else 0


def vector_clocks(plan: MVUPlan, k: int) -> int:
    """An MVU's own bound on clocks per input vector, its load included: T, max(T, L) with a double-
    buffered distributed-RAM gather (the next vector loads meanwhile), T + L with a single buffer."""
    if plan.style != "sparse" or plan.gather not in LUTRAM_BUFFERS:
        return plan.T
    n = lutram_load_clocks(k)
    return max(plan.T, n) if LUTRAM_BUFFERS[plan.gather] == 2 else plan.T + n


def slots_per_channel(bits: np.ndarray, coding: str, code_bits: int) -> np.ndarray:
    """Slots of every channel (int64 [M]); independent of PE and SIMD."""
    if coding == "index":
        return bits.sum(axis=1).astype(np.int64)
    return np.array([channel_slots(row, coding, code_bits) for row in bits], dtype=np.int64)


def channel_words(bits: np.ndarray, simd: int, coding: str, code_bits: int, gather: str) -> np.ndarray:
    """ROM words every channel needs: ceil(slots / SIMD) with a full (or LUT-RAM) gather; with a segmented
    gather slot s only takes inputs i = s (mod SIMD), so a channel needs as many words as its busiest
    residue class."""
    if gather != "segmented":
        return -(-slots_per_channel(bits, coding, code_bits) // simd)
    m, k = bits.shape
    cls = bits.reshape(m, k // simd, simd).transpose(0, 2, 1).reshape(m * simd, k // simd)
    return slots_per_channel(cls, coding, code_bits).reshape(m, simd).max(axis=1)


def code_range(k: int, simd: int, gather: str) -> int:
    """Positions a slot can address: all K inputs (full, lutram) or the K / SIMD of its residue class."""
    return k // simd if gather == "segmented" else k


def lutram_banks(k: int) -> int:
    """Distributed-RAM banks holding the K + 1 positions of a vector (position 0 is the constant 0 that
    empty slots read; input i sits at position i + 1, bank ``pos // 64``, address ``pos % 64``)."""
    return -(-(k + 1) // LUTRAM_DEPTH)


def lutram_load_clocks(k: int) -> int:
    """Clocks to copy one input vector into the banks: all banks are written in parallel, one entry each."""
    return min(k + 1, LUTRAM_DEPTH)


def _sparse_plan(bits: np.ndarray, pe: int, simd: int, coding: str, code_bits: int, gather: str = "full") -> MVUPlan:
    m = bits.shape[0]
    words = channel_words(bits, simd, coding, code_bits, gather)
    order = np.argsort(-words, kind="stable")  # heavy channels together: lanes of a fold finish together
    folds = order.reshape(m // pe, pe)
    return MVUPlan("sparse", True, pe, simd, coding, code_bits, folds, np.maximum(1, words[folds].max(axis=1)), gather,
                   word_bits=pe * simd * code_bits + 1, fold_flag=True)


def _best_delta(bits: np.ndarray, pe: int, simd: int, ib: int, max_t: float | None, gather: str) -> int | None:
    best, best_bits = None, None
    for g in range(2, max(2, ib) + 1):
        p = _sparse_plan(bits, pe, simd, "delta", g, gather)
        if max_t is not None and p.T > max_t:
            continue
        if best_bits is None or p.memory_bits < best_bits:
            best, best_bits = g, p.memory_bits
    return best if max_t is not None else (best or ib)


def _coding(layer: MVU, pe: int, simd: int, gather: Gather, coding: CodingChoice, delta_bits: int | None,
            max_cycle_overhead: float) -> tuple[str, int | None]:
    """(coding, delta_bits) of a folded zero-skipping layer. ``"auto"`` picks, among absolute indices and
    gap codes of every width, the one with the fewest weight-memory bits whose clocks are within
    ``max_cycle_overhead`` of the index coding's."""
    if coding not in CODINGS:
        raise HardwareError(f"unknown sparse coding {coding!r} (use one of {', '.join(CODINGS)})")
    bits, ib = layer.weight_bits, index_bits(code_range(layer.in_features, simd, gather))
    if coding == "index" or ib < 2:  # a single addressable input: gap codes cannot be shorter
        return "index", None
    if coding == "delta":
        g = delta_bits or _best_delta(bits, pe, simd, ib, None, gather)
        _check_delta(layer, g, ib)
        return "delta", g
    base = _sparse_plan(bits, pe, simd, "index", ib, gather)
    g = _best_delta(bits, pe, simd, ib, base.T * (1 + max_cycle_overhead), gather)
    if g is None or _sparse_plan(bits, pe, simd, "delta", g, gather).memory_bits >= base.memory_bits:
        return "index", None
    return "delta", g


def _check_delta(layer: MVU, g: int | None, ib: int) -> None:
    if g is None or not 2 <= g <= max(2, ib):
        raise HardwareError(f"layer {layer.name!r}: delta code width {g} outside 2..{max(2, ib)}")


def resolve_impl(layer: MVU, style: Style = "sparse", gather: Gather = "full", coding: CodingChoice = "auto",
                 delta_bits: int | None = None, max_cycle_overhead: float = 0.10, weight_rom: WeightRom = "auto",
                 pe: int | None = None, simd: int | None = None) -> LayerImpl:
    """The implementation of ``layer`` for concrete choices (no ``"auto"`` style or gather; the coding may
    be ``"auto"``): PE / SIMD default to the IR's; what does not apply (a gather of a dense or unrolled
    layer) is dropped."""
    if gather not in GATHERS:
        raise HardwareError(f"unknown gather {gather!r} (use one of {', '.join(GATHERS)})")
    if style not in STYLES:
        raise HardwareError(f"unknown MVU style {style!r} (use one of {', '.join(STYLES)})")
    if weight_rom not in WEIGHT_ROMS:
        raise HardwareError(f"weight memory style {weight_rom!r} of layer {layer.name!r}: use one of "
                            f"{', '.join(WEIGHT_ROMS)}")
    m, k = layer.out_channels, layer.in_features
    pe, simd = int(pe or layer.pe), int(simd or layer.simd)
    if pe < 1 or m % pe or simd < 1 or k % simd:
        raise HardwareError(f"layer {layer.name!r}: PE={pe}, SIMD={simd} do not divide M={m}, K={k}")
    if style in STRUCTURED_STYLES and not (pe == m and simd == k):
        why = structured_misfit(layer, style, simd)
        if why:
            raise HardwareError(why)
    if (pe == m and simd == k) or style != "sparse":
        return LayerImpl(pe, simd, style, weight_rom=weight_rom)
    code, g = _coding(layer, pe, simd, gather, coding, delta_bits, max_cycle_overhead)
    return LayerImpl(pe, simd, "sparse", gather, code, g, weight_rom)


def _unrolled(layer: MVU, impl: LayerImpl) -> MVUPlan:
    m = layer.out_channels
    return MVUPlan("unrolled", impl.style != "dense", impl.pe, impl.simd, "const", 0, np.arange(m)[None, :],
                   np.ones(1, np.int64))


def _dense(layer: MVU, impl: LayerImpl) -> MVUPlan:
    m, k, pe, simd = layer.out_channels, layer.in_features, impl.pe, impl.simd
    nf = m // pe
    return MVUPlan("dense", False, pe, simd, "bits", 1, np.arange(m).reshape(nf, pe), np.full(nf, k // simd, np.int64),
                   word_bits=pe * simd)


def _sparse(layer: MVU, impl: LayerImpl) -> MVUPlan:
    gather = impl.gather or "full"
    ib = index_bits(code_range(layer.in_features, impl.simd, gather))
    if impl.coding == "delta" and ib >= 2:
        _check_delta(layer, impl.delta_bits, ib)
        return _sparse_plan(layer.weight_bits, impl.pe, impl.simd, "delta", impl.delta_bits, gather)
    return _sparse_plan(layer.weight_bits, impl.pe, impl.simd, "index", ib, gather)


def layer_structure(layer: MVU) -> Structure:
    """The mask structure the IR records for ``layer``."""
    return parse_structure(getattr(layer, "structure", "none") or "none")


def structured_words(k: int, simd: int, size: int) -> bool:
    """Whether words of SIMD inputs hold whole groups / blocks of ``size`` inputs: SIMD a multiple of the
    size, or SIMD = K (one word holds every group, a shorter tail included)."""
    return simd == k or (simd % size == 0 and k % simd == 0)


def structured_misfit(layer: MVU, style: str, simd: int | None = None) -> str | None:
    """Why ``layer`` cannot be built in the structured style ``style`` (at ``simd`` inputs per word), as
    one line, or None when it can."""
    st = layer_structure(layer)
    want = STRUCTURED_STYLES[style]
    if st.kind != want:
        need = "an N:M" if want == "nm" else "a block:B"
        return (f"layer {layer.name!r}: style {style} needs {need} mask structure, the IR records {str(st)!r} "
                f"(train with --structure, or use style sparse, dense or auto)")
    k = layer.in_features
    if simd is not None and not structured_words(k, simd, st.size):
        unit = "groups" if want == "nm" else "blocks"
        return (f"layer {layer.name!r}: style {style} ({st}) reads whole {unit}: SIMD must be a multiple of "
                f"{st.size} that divides K = {k}, or K itself; got SIMD = {simd}")
    return None


def nm_slots(st: Structure, simd: int) -> int:
    """Codes per lane and word of an N:M MVU: N per group, ceil(SIMD / G) groups per word."""
    return st.n * -(-simd // st.size)


def block_slots(st: Structure, simd: int) -> int:
    """Block slots per lane and word of a block:B MVU: SIMD / B (SIMD = K: every block, a short tail included)."""
    return -(-simd // st.size)


def kept_blocks(bits: np.ndarray, size: int) -> np.ndarray:
    """Kept blocks of every row (int64 [M]); a block counts when any of its inputs is kept."""
    m, k = bits.shape
    nb = -(-k // size)
    padded = np.zeros((m, nb * size), dtype=bool)
    padded[:, :k] = bits
    return padded.reshape(m, nb, size).any(axis=2).sum(axis=1).astype(np.int64)


def _structure_fit(layer: MVU, impl: LayerImpl, style: str) -> Structure:
    """The layer's recorded structure, after checking that ``style`` at ``impl.simd`` can read it."""
    why = structured_misfit(layer, style, impl.simd)
    if why:
        raise HardwareError(why)
    return layer_structure(layer)


def _nm(layer: MVU, impl: LayerImpl) -> MVUPlan:
    st = _structure_fit(layer, impl, "nm")
    m, k, pe, simd = layer.out_channels, layer.in_features, impl.pe, impl.simd
    nf, slots, cb = m // pe, nm_slots(st, simd), max(1, (st.size - 1).bit_length())
    return MVUPlan("nm", True, pe, simd, "nm", cb, np.arange(m).reshape(nf, pe), np.full(nf, k // simd, np.int64),
                   word_bits=pe * slots * cb, slots=slots)


def _block(layer: MVU, impl: LayerImpl) -> MVUPlan:
    st = _structure_fit(layer, impl, "block")
    m, k, pe, simd = layer.out_channels, layer.in_features, impl.pe, impl.simd
    nf, slots = m // pe, block_slots(st, simd)
    cb = index_bits(-(-k // st.size))  # block i -> code i + 1, 0 = empty slot
    words = max(1, -(-int(kept_blocks(layer.weight_bits, st.size).max(initial=0)) // slots))
    return MVUPlan("block", True, pe, simd, "block", cb, np.arange(m).reshape(nf, pe), np.full(nf, words, np.int64),
                   word_bits=pe * slots * cb, slots=slots)


#: the schedule of each folded style (a new style: one function here, one Verilog emitter, one Literal value)
SCHEDULES: dict[str, Callable[[MVU, LayerImpl], MVUPlan]] = {"sparse": _sparse, "dense": _dense, "nm": _nm,
                                                             "block": _block}


def schedule(layer: MVU, impl: LayerImpl) -> MVUPlan:
    """The schedule of ``layer`` built as ``impl``."""
    m, k = layer.out_channels, layer.in_features
    if impl.pe < 1 or m % impl.pe or impl.simd < 1 or k % impl.simd:
        raise HardwareError(f"layer {layer.name!r}: PE={impl.pe}, SIMD={impl.simd} do not divide M={m}, K={k}")
    if impl.pe == m and impl.simd == k:
        return _unrolled(layer, impl)
    return SCHEDULES[impl.style](layer, impl)


def plan_mvu(layer: MVU, style: Style = "sparse", coding: CodingChoice = "auto", delta_bits: int | None = None,
             max_cycle_overhead: float = 0.10, gather: Gather = "full") -> MVUPlan:
    """The schedule of one MVU at its IR folding (``pe``/``simd``) for the given choices: shorthand for
    ``schedule(layer, resolve_impl(layer, ...))``."""
    return schedule(layer, resolve_impl(layer, style, gather, coding, delta_bits, max_cycle_overhead))
