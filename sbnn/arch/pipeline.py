"""The stage chain of a generated accelerator and every stage's per-frame step pattern.

A model becomes a chain of stages, each writing into a FIFO read by the next stage: ``threshold`` (input
binarization), ``swu`` (k x k sliding window, stride 1, padding inserted by the unit), ``maxpool``,
``collector`` (pixel beats -> one input vector for a dense layer; in front of a sliced MVU a *word buffer*
that keeps the vector in distributed RAM in the MVU's read order, :mod:`sbnn.arch.buffer`), ``load`` (the copy of an input vector
into a distributed-RAM gather) and ``mvu``. The last stage writes an output FIFO read by the AXI4-Stream
master. The cycle model (:mod:`sbnn.sim.cycles`) times these stages; the RTL generator
(:mod:`sbnn.hw.rtl`) emits one module per stage from the same objects, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from sbnn.arch.buffer import WordBuffer, word_buffer
from sbnn.arch.cost import link_buffer_pays, window_sum_ok
from sbnn.arch.decompose import SUM_MIN_SAVING, decomposition, sum_bits
from sbnn.arch.depth import DEFAULT_CLOCK_MHZ, mvu_timing, unrolled_timing
from sbnn.arch.folding import resolve_impls
from sbnn.arch.impl import LayerImpl
from sbnn.arch.options import LUTRAM_BUFFERS
from sbnn.arch.schedule import MVUPlan, lutram_banks, lutram_load_clocks, schedule
from sbnn.errors import HardwareError
from sbnn.ir.model import MVU, IRModel, MaxPool, Threshold


@dataclass(kw_only=True)
class Stage:
    """One pipeline unit and its per-frame step pattern (built with keywords: the input and output beats
    of a stage are described by the same four fields)."""

    name: str
    kind: str  # threshold | swu | maxpool | collector | load | mvu
    layer: int  # index into model.layers
    in_elems: int  # elements per input beat
    in_bits: int  # bits per input element (1: bipolar bit)
    in_signed: bool
    out_elems: int
    out_bits: int
    out_signed: bool
    in_beats: int  # per frame
    out_beats: int  # per frame
    consume: np.ndarray | None = None  # per-frame step flags (simple stages)
    produce: np.ndarray | None = None
    plan: MVUPlan | None = None
    pixels_per_beat: int = 1
    info: dict = field(default_factory=dict)
    impl: LayerImpl | None = None  # mvu and load stages: the layer's implementation
    #: bits of S'(x) carried above the elements of every input / output beat: a producer that forms the
    #: vector (a collector, a folded MVU) sums it as it writes it, so its consumer needs no S' adder
    in_sum: int = 0
    out_sum: int = 0

    @property
    def in_width(self) -> int:
        return self.in_elems * self.in_bits + self.in_sum

    @property
    def out_width(self) -> int:
        return self.out_elems * self.out_bits + self.out_sum

    @property
    def folded(self) -> bool:
        return self.kind == "mvu" and self.plan is not None and self.plan.style != "unrolled"

    @property
    def registered(self) -> bool:
        """An MVU whose result waits in a register before its output FIFO: folded, or unrolled with its
        channel sums registered (``info["out_reg"]``, timed as a folded MVU of one word)."""
        return self.folded or bool(self.info.get("out_reg"))

    @property
    def holdable(self) -> bool:
        """A sliced folded MVU (dense XNOR, N:M) that reads whole vectors over two or more slices from its input
        FIFO: it can copy each vector (and the S' riding with it, :attr:`in_sum`) into a register of its own and
        pop the FIFO there, as soon as that register is free (with the previous vector's last word), so that the
        FIFO needs no second entry to let its producer run ahead (:func:`sbnn.sim.cycles.size_links`)."""
        p = self.plan
        if not (self.folded and p.sliced and not p.fold_flag and self.word_buffer is None):
            return False
        sf = int(p.words[0])  # K / SIMD
        return sf >= 2 and self.in_elems == sf * p.simd

    @property
    def holds(self) -> bool:
        """This MVU holds its input vector (see :attr:`holdable`): it pops it into its register when that is free
        and gathers from the register one clock later, instead of reading the FIFO head until its last word."""
        return bool(self.info.get("hold"))

    @property
    def load_clocks(self) -> int:
        """A load stage: clocks to copy one vector into its MVU's distributed RAM."""
        return int(self.info["clocks"]) if self.kind == "load" else 0

    @property
    def word_buffer(self) -> WordBuffer | None:
        """A collector that writes its vector into distributed RAM in its MVU's read order, or an MVU that
        reads its slices from one (:mod:`sbnn.arch.buffer`)."""
        return self.info.get("buffer") if self.kind == "collector" else self.info.get("word_fed")

    @property
    def direct(self) -> bool:
        """A load stage fed one element per beat, written into its bank as it arrives."""
        return self.kind == "load" and bool(self.info.get("direct"))

    @property
    def buffers(self) -> int | None:
        """A load stage: vectors its MVU's distributed RAM holds (the fixed depth of the link to the MVU)."""
        return int(self.info["buffers"]) if self.kind == "load" else None

    @property
    def cycles(self) -> int:
        """Busy clocks per frame: the stage's own bound on the frame interval. A single-buffered load
        cannot start the next vector before its MVU has finished the current one: load + compute."""
        if self.folded:
            return self.plan.T * self.in_beats
        if self.kind == "load":  # the load's own bound: L, or L + T with one buffer (= vector_clocks)
            return (self.load_clocks + (self.plan.T if self.buffers == 1 else 0)) * self.out_beats
        return int(self.consume.size)


def _swu_steps(h: int, w: int, k: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    hp, wp = h + 2 * pad, w + 2 * pad
    py, px = np.divmod(np.arange(hp * wp), wp)
    real = (py >= pad) & (py < h + pad) & (px >= pad) & (px < w + pad)
    emit = (py >= k - 1) & (px >= k - 1)
    return real, emit


def _pool_steps(h: int, w: int, k: int) -> np.ndarray:
    y, x = np.divmod(np.arange(h * w), w)
    return (y % k == k - 1) & (x % k == k - 1)


def _ones(n: int) -> np.ndarray:
    return np.ones(n, dtype=bool)


def _last(n: int) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[-1] = True
    return out


def default_pixels_per_beat(model_input: tuple[int, int, int], bits: int, first_needs_pixels: bool,
                            target_beats: int, max_bits: int) -> int:
    """Input pixels per AXI beat: 1 when a window/pool unit reads the input, else the fewest pixels per
    beat whose beat count stays within ``target_beats`` (the bottleneck) and tdata within ``max_bits``."""
    h, w, c = model_input
    if first_needs_pixels:
        return 1
    n = h * w
    divisors = [d for d in range(1, n + 1) if n % d == 0 and d * c * bits <= max_bits] or [1]
    for d in divisors:
        if n // d <= max(1, target_beats):
            return d
    return divisors[-1]


def build_pipeline(model: IRModel, impls: Mapping[str, LayerImpl] | None = None, pixels_per_beat: int | None = None,
                   max_input_bits: int = 1024, clock_mhz: float = DEFAULT_CLOCK_MHZ, word_buffers: bool = True,
                   **defaults) -> list[Stage]:
    """The stage chain of the generated accelerator for an IR model (layers may end before the score layer).

    ``impls`` maps MVU names to their implementations (as resolved by :mod:`sbnn.arch.folding`); an MVU
    without one gets its IR folding and ``defaults`` (the keyword arguments of
    :func:`sbnn.arch.folding.resolve_impls`: one style, gather, coding ... for the whole design). Folded
    MVUs are pipelined for ``clock_mhz`` (:func:`sbnn.arch.depth.mvu_timing`: ``info["decode"]``,
    ``info["sum_regs"]``). ``word_buffers``: a sliced MVU after a collector reads a word buffer
    (:mod:`sbnn.arch.buffer`); off: the collector and a K-bit vector FIFO (for before / after measurements)."""
    impls = resolve_impls(model, impls, **defaults)
    h, w, c = (int(v) for v in model.input.shape)
    vt = model.input.type
    eb, signed = vt.bits, vt.signed
    plans = {i: schedule(layer, impls[layer.name]) for i, layer in enumerate(model.layers) if isinstance(layer, MVU)}
    first = model.layers[0]
    needs_pixels = isinstance(first, MaxPool) or (isinstance(first, MVU) and first.kind == "conv") or (
        isinstance(first, Threshold) and len(model.layers) > 1
        and (isinstance(model.layers[1], MaxPool) or getattr(model.layers[1], "kind", "") == "conv"))
    target = max([max(p.T, lutram_load_clocks(model.layers[i].in_features) if p.gather in LUTRAM_BUFFERS else 0)
                  for i, p in plans.items()] + [1])
    ppb = pixels_per_beat or default_pixels_per_beat((h, w, c), eb, needs_pixels, target, max_input_bits)
    if (h * w) % ppb:
        raise HardwareError(f"{ppb} pixels per input beat do not divide the {h}x{w} input map")
    if ppb > 1 and needs_pixels:
        raise HardwareError("a sliding-window or pooling unit reads the input: use 1 pixel per input beat")
    stages: list[Stage] = []
    per = ppb  # pixels per beat of the stream being built
    for i, layer in enumerate(model.layers):
        tag = f"L{i}_{ident(layer.name)}"
        if isinstance(layer, Threshold):
            n = h * w // per
            stages.append(Stage(name=tag, kind="threshold", layer=i, in_elems=per * c, in_bits=eb, in_signed=signed,
                                out_elems=per * c, out_bits=1, out_signed=False, in_beats=n, out_beats=n,
                                consume=_ones(n), produce=_ones(n), pixels_per_beat=per))
            eb, signed = 1, False
        elif isinstance(layer, MaxPool):
            k = layer.kernel
            prod = _pool_steps(h, w, k)
            stages.append(Stage(name=tag, kind="maxpool", layer=i, in_elems=c, in_bits=1, in_signed=False, out_elems=c,
                                out_bits=1, out_signed=False, in_beats=h * w, out_beats=int(prod.sum()),
                                consume=_ones(h * w), produce=prod, info={"kernel": k}))
            h, w = h // k, w // k
        else:
            stages += _mvu_stages(layer, i, tag, plans[i], impls[layer.name], (h, w, c), eb, signed, per, clock_mhz,
                                  word_buffers)
            h, w = layer.out_shape[:2]
            c = layer.out_channels
            eb, signed = (1, False) if not layer.is_output else (layer.out_type.bits, True)
        if not isinstance(layer, Threshold):
            per = 1
    _link_sums(model, stages)
    _link_window_sums(model, stages)
    if word_buffers:
        _link_words(model, stages)
    return stages


def _link_words(model: IRModel, stages: list[Stage]) -> None:
    """A folded MVU writes its PE output bits fold by fold into a word buffer read by the sliced MVU after it
    (a dense layer reading whole vectors) when a layout fits - channels in natural fold order, SIMD a multiple of
    PE or PE a power-of-two multiple of SIMD - and the buffer's RAM costs less than the consumer's slice
    multiplexer (:func:`sbnn.arch.cost.link_buffer_pays`)."""
    for src, dst in zip(stages, stages[1:]):
        if not (src.folded and dst.folded and dst.kind == "mvu") or model.layers[src.layer].is_output:
            continue
        layer = model.layers[dst.layer]
        h, w, _ = layer.in_shape
        folds = src.plan.folds
        if layer.kind != "dense" or h * w != 1 or src.out_beats != dst.in_beats or src.out_bits != 1 or \
                not np.array_equal(folds.ravel(), np.arange(folds.size)):
            continue
        wb = word_buffer(layer, dst.plan, src.plan.pe)
        if wb is not None and link_buffer_pays(layer, dst.plan, wb):
            src.info["out_words"] = wb
            dst.info["word_fed"] = wb


def _link_sums(model: IRModel, stages: list[Stage]) -> None:
    """S'(x) formed once, where the vector is produced: a dense MVU that needs it (``gmul != 0``) and reads
    whole vectors from a collector or a folded MVU gets S' with each vector when the producer's adder is
    at least SUM_MIN_SAVING inputs narrower than its own (the producer adds up the beat's elements or the
    fold's PE output bits as it writes them; the consumer would add K inputs at once - unrolled, flip-flop
    gathers - or SIMD per clock - dense XNOR). A distributed-RAM load adds one entry per bank and clock
    anyway; it and every other consumer form S' themselves."""
    for i, st in enumerate(stages):
        layer = model.layers[st.layer]
        if st.kind != "mvu" or layer.kind != "dense" or not decomposition(layer, st.plan.skip_zeros)[0]:
            continue
        j = i - 1
        if j >= 0 and stages[j].kind == "load":
            if stages[j].direct:
                continue
            j -= 1
        if j < 0:
            continue
        src, k, plan = stages[j], layer.in_features, st.plan
        if src.kind == "collector" and src.in_beats > 1:
            width = src.in_elems
        elif src.folded and not model.layers[src.layer].is_output and src.out_beats == st.in_beats:
            width = src.plan.pe
        else:
            continue
        if plan.style == "sparse" and plan.gather in LUTRAM_BUFFERS:
            continue  # its load already adds one entry per RAM bank and clock
        own = plan.simd if plan.sliced and k > plan.simd else k
        if own - width >= SUM_MIN_SAVING:
            src.out_sum = sum_bits(layer)
            for n in range(j + 1, i + 1):
                stages[n].in_sum = sum_bits(layer)


def _link_window_sums(model: IRModel, stages: list[Stage]) -> None:
    """S'(x) of a convolution's windows formed by its sliding window, from pixel counts its producer forms: a
    folded MVU that writes the pixels counts the PE output bits of each fold as it writes them (a pixel's
    count rides with the pixel through the window's delay lines), and the sliding window adds up the counts of
    the pixels in each window it emits (:func:`window_sum_ok`). Why: a sliced consumer would otherwise pop the
    SIMD inputs of each slice during its first fold (a SIMD-input counter and an accumulator), and without G
    known while the fold's words stream by, its thresholds cannot be adjusted on the way in (wide compares).
    Only for bipolar windows (S' = the count of +1 inputs; the pad pixels, all -1, count 0), and not after a
    max-pool: counting each pooled pixel's bits there cost more than the consumer's S' adder saved (the 1:8
    CNV's third convolution: -96 LUT in the MVU, +58 in the pool, +38 in the window, +30 in the FIFO between
    them; the 2:16 net: +78 LUT in all)."""
    for i, st in enumerate(stages):
        layer = model.layers[st.layer]
        if st.kind != "mvu" or layer.kind != "conv" or i < 2 or stages[i - 1].kind != "swu":
            continue
        swu, src = stages[i - 1], stages[i - 2]
        if not (window_sum_ok(layer, st.plan) and src.folded and not model.layers[src.layer].is_output
                and src.out_bits == 1 and src.out_beats == swu.in_beats and not src.out_sum):
            continue
        src.out_sum = swu.in_sum = max(1, src.out_elems.bit_length())
        swu.out_sum = st.in_sum = sum_bits(layer)


def _mvu_stages(layer: MVU, i: int, tag: str, plan: MVUPlan, impl: LayerImpl, shape: tuple[int, int, int],
                eb: int, signed: bool, per: int, clock_mhz: float = DEFAULT_CLOCK_MHZ,
                word_buffers: bool = True) -> list[Stage]:
    """The stages of one MVU layer: [sliding window | collector], [load], mvu."""
    h, w, c = shape
    out: list[Stage] = []
    if layer.kind == "conv":
        k, p = layer.kernel, layer.pad
        if p > k - 1:
            raise HardwareError(f"layer {layer.name!r}: padding {p} >= kernel {k} is not supported")
        if k > 1:  # a 1x1 convolution reads its pixels directly
            real, emit = _swu_steps(h, w, k, p)
            out.append(Stage(name=f"{tag}_swu", kind="swu", layer=i, in_elems=c, in_bits=eb, in_signed=signed,
                             out_elems=k * k * c, out_bits=eb, out_signed=signed, in_beats=h * w,
                             out_beats=int(emit.sum()), consume=real, produce=emit, info={"kernel": k, "pad": p}))
        vectors = layer.out_pixels
    else:
        vectors = 1
    kk = layer.in_features
    lutram = plan.style == "sparse" and plan.gather in LUTRAM_BUFFERS
    beats = h * w // per if layer.kind == "dense" else 1
    # a distributed-RAM gather fed one element per beat writes each beat into its bank as it
    # arrives (no collector, no vector FIFO, no write multiplexers): a *direct* load
    direct = lutram and LUTRAM_BUFFERS[plan.gather] == 2 and beats > 1 and per * c == 1
    # a sliced MVU after a collector reads its slices from the collector's distributed RAM (sbnn.arch.buffer)
    wbuf = (word_buffer(layer, plan, per * c) if word_buffers and layer.kind == "dense" and beats > 1 and not direct
            else None)
    if layer.kind == "dense" and beats > 1 and not direct:
        out.append(Stage(name=f"{tag}_col", kind="collector", layer=i, in_elems=per * c, in_bits=eb, in_signed=signed,
                         out_elems=h * w * c, out_bits=eb, out_signed=signed, in_beats=beats, out_beats=1,
                         consume=_ones(beats), produce=_last(beats), pixels_per_beat=per,
                         info={"buffer": wbuf} if wbuf else {}))
    ob = 1 if not layer.is_output else layer.out_type.bits
    ppb = per if layer.kind == "dense" and (h * w == per or direct) else 1
    if lutram:
        n_in = beats if direct else 1
        out.append(Stage(name=f"{tag}_load", kind="load", layer=i, in_elems=1 if direct else kk, in_bits=eb,
                         in_signed=signed, out_elems=kk, out_bits=eb, out_signed=signed, in_beats=vectors * n_in,
                         out_beats=vectors, plan=plan, pixels_per_beat=ppb,
                         info={"clocks": kk if direct else lutram_load_clocks(kk),
                               "buffers": LUTRAM_BUFFERS[plan.gather], "banks": lutram_banks(kk),
                               "direct": direct}, impl=impl))
    st = Stage(name=tag, kind="mvu", layer=i, in_elems=kk, in_bits=eb, in_signed=signed, out_elems=layer.out_channels,
               out_bits=ob, out_signed=layer.is_output, in_beats=vectors, out_beats=vectors, plan=plan,
               pixels_per_beat=ppb, impl=impl)
    if wbuf:
        st.info["word_fed"] = wbuf
    if not st.folded:
        st.consume, st.produce = _ones(vectors), _ones(vectors)
        if plan.style == "unrolled":  # registered channel sums: timed like a folded MVU of one word
            emax = 1 if eb == 1 else (1 << (eb - 1) if signed else (1 << eb) - 1)
            span = layer.in_features if not plan.skip_zeros else int(layer.nnz.max(initial=0))
            reg, path = unrolled_timing(k=layer.in_features, span=span, eb=eb, acc_bits=(span * emax).bit_length() + 1,
                                        gmul=decomposition(layer, plan.skip_zeros)[0], clock_mhz=clock_mhz)
            st.info.update({"out_reg": reg, "path_ns": round(path, 2)})
    else:
        st.info.update(_pipelining(layer, plan, impl, eb, signed, clock_mhz))
    out.append(st)
    return out


def _pipelining(layer: MVU, plan: MVUPlan, impl: LayerImpl, eb: int, signed: bool, clock_mhz: float) -> dict:
    """How a folded MVU is pipelined at ``clock_mhz`` (see :mod:`sbnn.arch.depth`)."""
    k = layer.in_features
    emax = 1 if eb == 1 else (1 << (eb - 1) if signed else (1 << eb) - 1)
    span = k if plan.style == "dense" else int(layer.nnz.max(initial=0))
    est = mvu_timing(k=k, pe=plan.pe, simd=plan.simd, eb=eb, style=plan.style, gather=plan.gather, coding=plan.coding,
                     code_bits=plan.code_bits, acc_bits=(max(span, plan.simd) * emax).bit_length() + int(signed),
                     words=plan.T, rom_in_bram=impl.weight_rom != "distributed", banks=lutram_banks(k),
                     gmul=decomposition(layer, plan.skip_zeros)[0], clock_mhz=clock_mhz)
    return {"decode": est.decode, "sum_regs": est.sum_regs, "path_ns": round(est.worst_ns, 2)}


def ident(name: str) -> str:
    """``name`` as a Verilog identifier: ASCII letters, digits and '_' (a run named ``run #1 (ß)`` gives
    ``run__1____``; non-ASCII letters are not identifier characters for every Verilog tool)."""
    out = "".join(ch if ch.isascii() and ch.isalnum() else "_" for ch in name)
    return out if out and not out[0].isdigit() else f"n{out}"
