"""Cycle model of the generated dataflow pipeline: zero-skip schedules, per-layer cycles, latency, interval.

This module is the single source of the timing facts. The RTL generator (:mod:`sbnn.hw`) builds its
ROMs, counters and FIFOs from the same :class:`MVUPlan` and :class:`Stage` objects, so the model and the
hardware cannot drift apart; the RTL regression checks that they agree cycle for cycle.

Pipeline. A model becomes a chain of stages, each writing into a FIFO read by the next stage:
``threshold`` (input binarization), ``swu`` (k x k sliding window, stride 1, padding inserted by the
unit), ``maxpool``, ``collector`` (pixel beats -> one input vector for a dense layer) and ``mvu``. The
last stage writes an output FIFO read by the AXI4-Stream master. Every stage fires at most one *step*
per clock, and a step fires as soon as (a) its input beat is at the head of the input FIFO, (b) the
output FIFO is not full (both flags are registered) and (c) its own previous step is done. Because all
three conditions are persistent, the hardware schedule is the least solution of max-plus inequalities,
which :func:`simulate` computes exactly (vectorised, a few passes until a fixed point).

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
The schedule depends on the weights only,
never on data, so ``T`` (clocks per input vector) is exact. ``style="dense"`` is the FINN-like XNOR
baseline (``T = (M/PE) * (K/SIMD)``); PE = M and SIMD = K is *unrolled* (one vector per clock).

Definitions (all in clock edges, with the input always valid and the output always ready): edge 0 is
the first rising edge at which the first input beat is offered (``s_axis_tvalid`` high after reset);
*latency* is the edge that transfers the last output beat of that frame (for every design whose first
stage accepts a beat as soon as it is offered - all but a folded first MVU, which holds its input vector
until its last clock - this equals the distance from accepting the first input beat); *interval* is the
distance between the last output beats of consecutive frames in steady state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sbnn.errors import HardwareError
from sbnn.ir.model import MVU, IRModel, MaxPool, Threshold

STYLES = ("sparse", "dense")
CODINGS = ("auto", "index", "delta")
GATHERS = ("full", "segmented", "lutram", "lutram1")
#: gathers that read the input vector from distributed RAM (name -> vectors held: 2 = ping-pong)
LUTRAM_BUFFERS = {"lutram": 2, "lutram1": 1}
#: entries of one distributed-RAM bank (a RAM64M LUT-RAM primitive: 64 x 1 bit, 3 read ports)
LUTRAM_DEPTH = 64
_NEG = -(1 << 60)


# --------------------------------------------------------------------------------------------------
# MVU schedules
# --------------------------------------------------------------------------------------------------
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
    """How one MVU is folded: which channel each (fold, lane) computes and how many ROM words each fold takes."""

    style: str  # "sparse" | "dense" | "unrolled"
    skip_zeros: bool
    pe: int
    simd: int
    coding: str  # "index" | "delta" | "bits" (dense) | "const" (unrolled)
    code_bits: int
    folds: np.ndarray  # int (NF, PE): channel computed by lane p in fold f
    words: np.ndarray  # int (NF,): ROM words (clocks) of each fold
    gather: str = "full"  # sparse: slots read any input ("full") or only inputs i = s (mod SIMD)

    @property
    def T(self) -> int:
        """Clocks per input vector."""
        return 1 if self.style == "unrolled" else int(self.words.sum())

    @property
    def word_bits(self) -> int:
        """Width of one weight-memory word (sparse words carry a fold-end flag)."""
        if self.style == "unrolled":
            return 0
        if self.style == "dense":
            return self.pe * self.simd
        return self.pe * self.simd * self.code_bits + 1

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
    return MVUPlan("sparse", True, pe, simd, coding, code_bits, folds, np.maximum(1, words[folds].max(axis=1)), gather)


def plan_mvu(layer: MVU, style: str = "sparse", coding: str = "auto", delta_bits: int | None = None,
             max_cycle_overhead: float = 0.10, gather: str = "full") -> MVUPlan:
    """The schedule of one MVU for its ``pe``/``simd`` fields.

    ``coding="auto"`` picks, among absolute indices and gap codes of every width, the one with the
    fewest weight-memory bits whose clocks are within ``max_cycle_overhead`` of the index coding.
    """
    if gather not in GATHERS:
        raise HardwareError(f"unknown gather {gather!r} (use one of {', '.join(GATHERS)})")
    if style not in STYLES:
        raise HardwareError(f"unknown MVU style {style!r} (use one of {', '.join(STYLES)})")
    m, k, pe, simd = layer.out_channels, layer.in_features, layer.pe, layer.simd
    if pe < 1 or m % pe or simd < 1 or k % simd:
        raise HardwareError(f"layer {layer.name!r}: PE={pe}, SIMD={simd} do not divide M={m}, K={k}")
    bits = layer.weight_bits
    nf = m // pe
    if pe == m and simd == k:
        return MVUPlan("unrolled", style == "sparse", pe, simd, "const", 0, np.arange(m)[None, :], np.ones(1, np.int64))
    if style == "dense":
        return MVUPlan("dense", False, pe, simd, "bits", 1, np.arange(m).reshape(nf, pe), np.full(nf, k // simd, np.int64))
    if coding not in CODINGS:
        raise HardwareError(f"unknown sparse coding {coding!r} (use one of {', '.join(CODINGS)})")
    ib = index_bits(code_range(k, simd, gather))
    if coding == "index" or ib < 2:  # a single addressable input: gap codes cannot be shorter
        return _sparse_plan(bits, pe, simd, "index", ib, gather)
    if coding == "delta":
        g = delta_bits or _best_delta(bits, pe, simd, ib, None, gather)
        if not 2 <= g <= max(2, ib):
            raise HardwareError(f"layer {layer.name!r}: delta code width {g} outside 2..{max(2, ib)}")
        return _sparse_plan(bits, pe, simd, "delta", g, gather)
    base = _sparse_plan(bits, pe, simd, "index", ib, gather)
    g = _best_delta(bits, pe, simd, ib, base.T * (1 + max_cycle_overhead), gather)
    if g is None:
        return base
    delta = _sparse_plan(bits, pe, simd, "delta", g, gather)
    return delta if delta.memory_bits < base.memory_bits else base


def _best_delta(bits: np.ndarray, pe: int, simd: int, ib: int, max_t: float | None, gather: str) -> int | None:
    best, best_bits = None, None
    for g in range(2, max(2, ib) + 1):
        p = _sparse_plan(bits, pe, simd, "delta", g, gather)
        if max_t is not None and p.T > max_t:
            continue
        if best_bits is None or p.memory_bits < best_bits:
            best, best_bits = g, p.memory_bits
    return best if max_t is not None else (best or ib)


# --------------------------------------------------------------------------------------------------
# Pipeline structure
# --------------------------------------------------------------------------------------------------
@dataclass
class Stage:
    """One pipeline unit and its per-frame step pattern."""

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

    @property
    def folded(self) -> bool:
        return self.kind == "mvu" and self.plan is not None and self.plan.style != "unrolled"

    @property
    def load_clocks(self) -> int:
        """A load stage: clocks to copy one vector into its MVU's distributed RAM."""
        return int(self.info["clocks"]) if self.kind == "load" else 0

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


def layer_option(value, name: str, default):
    """A generator option given for the whole design (a value) or per layer (dict: layer name -> value)."""
    return value.get(name, default) if isinstance(value, dict) else value


def build_pipeline(model: IRModel, style: str | dict = "sparse", coding: str = "auto", delta_bits: int | None = None,
                   pixels_per_beat: int | None = None, max_input_bits: int = 1024,
                   max_cycle_overhead: float | dict = 0.10, gather: str | dict = "full") -> list[Stage]:
    """The stage chain of the generated accelerator for an IR model (layers may end before the score layer).
    ``gather`` is one of :data:`GATHERS` for every MVU, or a dict of layer name -> gather (default full);
    ``style`` (default sparse) and ``max_cycle_overhead`` (of the automatic weight coding, default 0.10)
    likewise."""
    h, w, c = (int(v) for v in model.input.shape)
    vt = model.input.type
    eb, signed = vt.bits, vt.signed
    plans = {i: plan_mvu(layer, layer_option(style, layer.name, "sparse"), coding, delta_bits,
                         layer_option(max_cycle_overhead, layer.name, 0.10),
                         layer_option(gather, layer.name, "full"))
             for i, layer in enumerate(model.layers) if isinstance(layer, MVU)}
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
        tag = f"L{i}_{_ident(layer.name)}"
        if isinstance(layer, Threshold):
            n = h * w // per
            stages.append(Stage(tag, "threshold", i, per * c, eb, signed, per * c, 1, False, n, n,
                                _ones(n), _ones(n), pixels_per_beat=per))
            eb, signed = 1, False
        elif isinstance(layer, MaxPool):
            k = layer.kernel
            prod = _pool_steps(h, w, k)
            stages.append(Stage(tag, "maxpool", i, c, 1, False, c, 1, False, h * w, int(prod.sum()),
                                _ones(h * w), prod, info={"kernel": k}))
            h, w = h // k, w // k
        else:
            plan = plans[i]
            if layer.kind == "conv":
                k, p = layer.kernel, layer.pad
                if p > k - 1:
                    raise HardwareError(f"layer {layer.name!r}: padding {p} >= kernel {k} is not supported")
                if k > 1:  # a 1x1 convolution reads its pixels directly
                    real, emit = _swu_steps(h, w, k, p)
                    stages.append(Stage(f"{tag}_swu", "swu", i, c, eb, signed, k * k * c, eb, signed, h * w,
                                        int(emit.sum()), real, emit, info={"kernel": k, "pad": p}))
                vectors = layer.out_pixels
            else:
                vectors = 1
            kk = layer.in_features
            lutram = plan.style == "sparse" and plan.gather in LUTRAM_BUFFERS
            beats = h * w // per if layer.kind == "dense" else 1
            # a distributed-RAM gather fed one element per beat writes each beat into its bank as it
            # arrives (no collector, no vector FIFO, no write multiplexers): a *direct* load
            direct = lutram and LUTRAM_BUFFERS[plan.gather] == 2 and beats > 1 and per * c == 1
            if layer.kind == "dense" and beats > 1 and not direct:
                stages.append(Stage(f"{tag}_col", "collector", i, per * c, eb, signed, h * w * c, eb,
                                    signed, beats, 1, _ones(beats), _last(beats), pixels_per_beat=per))
            ob = 1 if not layer.is_output else layer.out_type.bits
            ppb = per if layer.kind == "dense" and (h * w == per or direct) else 1
            if lutram:
                n_in = beats if direct else 1
                stages.append(Stage(f"{tag}_load", "load", i, 1 if direct else kk, eb, signed, kk, eb, signed,
                                    vectors * n_in, vectors, plan=plan, pixels_per_beat=ppb,
                                    info={"clocks": kk if direct else lutram_load_clocks(kk),
                                          "buffers": LUTRAM_BUFFERS[plan.gather], "banks": lutram_banks(kk),
                                          "direct": direct}))
            st = Stage(tag, "mvu", i, kk, eb, signed, layer.out_channels, ob, layer.is_output, vectors,
                       vectors, plan=plan, pixels_per_beat=ppb)
            if not st.folded:
                st.consume, st.produce = _ones(vectors), _ones(vectors)
            stages.append(st)
            h, w = layer.out_shape[:2]
            c = layer.out_channels
            eb, signed = (1, False) if not layer.is_output else (ob, True)
        if not isinstance(layer, Threshold):
            per = 1
    return stages


def _ident(name: str) -> str:
    out = "".join(ch if ch.isalnum() else "_" for ch in name)
    return out if out and not out[0].isdigit() else f"n{out}"


# --------------------------------------------------------------------------------------------------
# Event model
# --------------------------------------------------------------------------------------------------
@dataclass
class Timeline:
    """Edges at which every beat moved, for ``frames`` back-to-back frames."""

    frames: int
    reads: list[np.ndarray]  # per stage: edge that popped each input beat
    writes: list[np.ndarray]  # per stage: edge that pushed each output beat
    sink: np.ndarray  # edge that transferred each output beat on the AXI master

    def latency(self) -> int:
        """Edge of the last output beat of frame 0; edge 0 is the first edge the first input beat is offered."""
        per = self.sink.size // self.frames
        return int(self.sink[per - 1])

    def frame_ends(self) -> np.ndarray:
        per = self.sink.size // self.frames
        return self.sink[per - 1 :: per]


def _cum(a: np.ndarray, base: int = 0) -> np.ndarray:
    """f_s = max(f_{s-1} + 1, a_s) with f_{-1} = base - 1, as idx + running max."""
    idx = np.arange(a.size, dtype=np.int64)
    return idx + np.maximum.accumulate(np.maximum(a - idx, base))


def _simple(st: Stage, frames: int, w_in: np.ndarray, r_down: np.ndarray, depth: int):
    cons, prod = np.tile(st.consume, frames), np.tile(st.produce, frames)
    a = np.full(cons.size, _NEG, dtype=np.int64)
    a[cons] = w_in + 1
    j = np.arange(int(prod.sum())) - depth
    ok = j >= 0
    pa = np.full(j.size, _NEG, dtype=np.int64)
    pa[ok] = r_down[j[ok]] + 1
    a[prod] = np.maximum(a[prod], pa)
    f = _cum(a)
    return f[cons], f[prod]


def _folded(st: Stage, frames: int, w_in: np.ndarray, r_down: np.ndarray, depth: int):
    t = st.plan.T
    v = np.arange(st.in_beats * frames, dtype=np.int64)
    b = w_in + 1
    j = v - 1 - depth
    ok = j >= 0
    b[ok] = np.maximum(b[ok], r_down[j[ok]] + 1)
    g0 = v * t + np.maximum.accumulate(np.maximum(b - v * t, 0))
    out = g0 + t
    j = v - depth
    ok = j >= 0
    out[ok] = np.maximum(out[ok], r_down[j[ok]] + 1)
    return g0 + t - 1, out


def _load_mvu_loop(w_in, r_down, n_load, beats, t, buffers, depth, reads, l_end, g_end, out):  # pragma: no cover
    """The load stage and its MVU, vector by vector (the buffer link couples them across vectors, so the
    pair is solved together: a fixed point over separate stages would need one pass per vector).

    Load of vector v starts at ``l0 = max(l_end[v-1] + 1, w_in + 1, g_end[v - buffers] + 1)`` (its first
    beat at the FIFO head, the previous load done, a RAM buffer free). From the FIFO head (``beats`` = 1)
    it writes L entries and pops the beat with the last, at ``l_end = l0 + L - 1``; a direct load
    (``beats`` = L) pops one beat per write, each as soon as it is there. The MVU (as :func:`_folded`)
    starts at ``max(g0[v-1] + T, l_end + 1, space)``."""
    l_prev, g0p = -1, -t
    for v in range(out.size):
        a = max(w_in[v * beats] + 1, l_prev + 1)
        if v >= buffers:
            a = max(a, g_end[v - buffers] + 1)
        if beats == 1:
            e = a + n_load - 1
            reads[v] = e
        else:
            e = a
            reads[v * beats] = e
            for j in range(1, beats):
                e = max(e + 1, w_in[v * beats + j] + 1)
                reads[v * beats + j] = e
        l_end[v] = e
        l_prev = e
        b = l_end[v] + 1
        if v - 1 - depth >= 0:
            b = max(b, r_down[v - 1 - depth] + 1)
        g0 = max(g0p + t, b)
        g_end[v] = g0 + t - 1
        o = g0 + t
        if v - depth >= 0:
            o = max(o, r_down[v - depth] + 1)
        out[v] = o
        g0p = g0


try:
    import numba

    _load_mvu_loop = numba.njit(cache=True, nogil=True)(_load_mvu_loop)
except ImportError:  # pragma: no cover - numba is a dependency; plain Python is the (slow) fallback
    pass


def _load_mvu(load: Stage, mvu: Stage, frames: int, w_in: np.ndarray, r_down: np.ndarray, depth: int):
    """(load reads, load writes, MVU reads, MVU writes); ``depth`` is the MVU's output FIFO."""
    n = mvu.in_beats * frames
    beats = load.in_beats // mvu.in_beats
    reads = np.empty(w_in.size, dtype=np.int64)
    l_end, g_end, out = (np.empty(n, dtype=np.int64) for _ in range(3))
    _load_mvu_loop(np.ascontiguousarray(w_in, dtype=np.int64), np.ascontiguousarray(r_down, dtype=np.int64),
                   load.load_clocks, beats, mvu.plan.T, load.buffers, depth, reads, l_end, g_end, out)
    return reads, l_end, g_end, out


def simulate(stages: list[Stage], depths: list[int], frames: int, max_passes: int = 200) -> Timeline:
    """Exact edges of every beat for ``frames`` frames; ``depths[i]`` is the FIFO after stage i."""
    n = len(stages)
    reads = [np.full(st.in_beats * frames, _NEG, dtype=np.int64) for st in stages]
    writes = [np.full(st.out_beats * frames, _NEG, dtype=np.int64) for st in stages]
    sink = np.full(stages[-1].out_beats * frames, _NEG, dtype=np.int64)
    for _ in range(max_passes):
        changed = False
        for i, st in enumerate(stages):
            if i and stages[i - 1].kind == "load":
                continue  # solved with its load stage
            w_in = np.full(st.in_beats * frames, -1, dtype=np.int64) if i == 0 else writes[i - 1]
            if st.kind == "load":
                r_down = reads[i + 2] if i + 2 < n else sink
                res = _load_mvu(st, stages[i + 1], frames, w_in, r_down, depths[i + 1])
                pairs = [(i, res[0], res[1]), (i + 1, res[2], res[3])]
            else:
                r_down = reads[i + 1] if i + 1 < n else sink
                pairs = [(i, *(_folded if st.folded else _simple)(st, frames, w_in, r_down, depths[i]))]
            for k, r, wr in pairs:
                if not (np.array_equal(r, reads[k]) and np.array_equal(wr, writes[k])):
                    changed = True
                    reads[k], writes[k] = r, wr
        new_sink = _cum(writes[-1] + 1)
        if not np.array_equal(new_sink, sink):
            changed, sink = True, new_sink
        if not changed:
            return Timeline(frames, reads, writes, sink)
    raise HardwareError("cycle model did not converge (a stage can never fire: check the pipeline)")


@dataclass
class Performance:
    """Steady-state numbers of a pipeline."""

    latency: int
    interval: int
    bottleneck: int
    bottleneck_stage: str
    stage_cycles: dict[str, int]
    frames_simulated: int

    def fps(self, clock_mhz: float) -> float:
        return clock_mhz * 1e6 / self.interval

    def latency_us(self, clock_mhz: float) -> float:
        return self.latency / clock_mhz


def steady_timeline(stages: list[Stage], depths: list[int], max_frames: int = 64) -> Timeline:
    """Simulate enough frames that the last three frame intervals are equal."""
    frames = 4
    while True:
        tl = simulate(stages, depths, frames)
        d = np.diff(tl.frame_ends())
        if (d.size >= 3 and d[-1] == d[-2] == d[-3]) or frames >= max_frames:
            return tl
        frames *= 2


def performance(stages: list[Stage], depths: list[int]) -> Performance:
    tl = steady_timeline(stages, depths)
    cyc = {st.name: st.cycles for st in stages}
    name = max(cyc, key=cyc.get)
    return Performance(tl.latency(), int(np.diff(tl.frame_ends())[-1]), cyc[name], name, cyc, tl.frames)


def fixed_depths(stages: list[Stage], depth: int) -> list[int]:
    """``depth`` for every FIFO, except the link of a load stage to its MVU: that is the MVU's distributed
    RAM, which holds exactly ``buffers`` vectors."""
    return [st.buffers if st.kind == "load" else depth for st in stages]


def size_fifos(stages: list[Stage], min_depth: int = 2, max_bits: int = 36864, max_depth: int = 1024) -> list[int]:
    """FIFO depths: start at ``min_depth`` and deepen the FIFO that helps most until the interval equals
    the bottleneck stage (or no FIFO within its size cap helps). Deterministic."""
    depths = fixed_depths(stages, min_depth)
    widths = [st.out_elems * st.out_bits for st in stages]
    perf = performance(stages, depths)
    while perf.interval > perf.bottleneck:
        best = None
        for i in range(len(stages)):
            if stages[i].kind == "load":
                continue
            d = depths[i] * 2
            if d > max_depth or d * widths[i] > max_bits:
                continue
            trial = depths[:i] + [d] + depths[i + 1 :]
            p = performance(stages, trial)
            key = (p.interval, p.latency, d * widths[i])
            if (p.interval, p.latency) < (perf.interval, perf.latency) and (best is None or key < best[0]):
                best = (key, trial, p)
        if best is None:
            break
        _, depths, perf = best
    return _shrink(stages, depths, perf)


def _shrink(stages: list[Stage], depths: list[int], perf: Performance) -> list[int]:
    """Trim each FIFO to the smallest depth that leaves latency and interval unchanged."""
    for i in range(len(depths)):
        if stages[i].kind == "load":
            continue
        lo, hi = 2, depths[i]
        while lo < hi:
            mid = (lo + hi) // 2
            p = performance(stages, depths[:i] + [mid] + depths[i + 1 :])
            if (p.interval, p.latency) == (perf.interval, perf.latency):
                hi = mid
            else:
                lo = mid + 1
        depths[i] = lo
    return depths
