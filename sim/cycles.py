"""Cycle model of the generated dataflow pipeline: exact edges of every beat, latency, interval, FIFO sizes.

This module is the single source of the timing facts. The stages it times and their schedules are the
hardware plan of :mod:`sbnn.arch` (:class:`~sbnn.arch.pipeline.Stage`, :class:`~sbnn.arch.schedule.MVUPlan`),
from which the RTL generator (:mod:`sbnn.hw.rtl`) builds its ROMs, counters and FIFOs, so the model and
the hardware cannot drift apart; the RTL regression checks that they agree cycle for cycle.

Every stage fires at most one *step* per clock, and a step fires as soon as (a) its input beat is at the
head of the input FIFO, (b) the output FIFO is not full (both flags are registered) and (c) its own
previous step is done. Because all three conditions are persistent, the hardware schedule is the least
solution of max-plus inequalities, which :func:`simulate` computes exactly (vectorised, a few passes until
a fixed point).

Definitions (all in clock edges, with the input always valid and the output always ready): edge 0 is
the first rising edge at which the first input beat is offered (``s_axis_tvalid`` high after reset);
*latency* is the edge that transfers the last output beat of that frame (for every design whose first
stage accepts a beat as soon as it is offered - all but a folded first MVU, which holds its input vector
until its last clock - this equals the distance from accepting the first input beat); *interval* is the
distance between the last output beats of consecutive frames in steady state.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from sbnn.arch.pipeline import Stage
from sbnn.errors import HardwareError

_NEG = -(1 << 60)


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


def _pipe(st: Stage) -> tuple[int, int]:
    """(registers between gather and adder trees, index of fold 0's last word) of a folded MVU."""
    return int(st.info.get("sum_regs", 0)), int(st.plan.words[0]) - 1


def _folded(st: Stage, frames: int, w_in: np.ndarray, r_down: np.ndarray, depth: int):
    """(reads, writes) of a registered MVU: it pops its input vector with the gather of the vector's last
    word; one that holds its vector (:attr:`Stage.holds`) copies it into its register and pops it as soon as
    the register is free (at the previous vector's last word, or the edge after the FIFO's push when idle) and
    gathers its first word one clock after that copy."""
    t = st.plan.T
    pipe, e0 = _pipe(st)
    hold = st.holds
    if pipe:
        n = st.in_beats * frames
        g_end, out = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        _piped_loop(np.ascontiguousarray(w_in + 1, dtype=np.int64), np.ascontiguousarray(r_down, dtype=np.int64),
                    t, e0, depth, hold, g_end, out)
        return g_end, out
    v = np.arange(st.in_beats * frames, dtype=np.int64)
    b = w_in + (2 if hold else 1)
    j = v - 1 - depth
    ok = j >= 0
    b[ok] = np.maximum(b[ok], r_down[j[ok]] + 1)
    g0 = v * t + np.maximum.accumulate(np.maximum(b - v * t, 0))
    out = g0 + t
    j = v - depth
    ok = j >= 0
    out[ok] = np.maximum(out[ok], r_down[j[ok]] + 1)
    g_end = g0 + t - 1
    if not hold:
        return g_end, out
    reads = w_in + 1
    reads[1:] = np.maximum(reads[1:], g_end[:-1])
    return reads, out


def _piped_step(v, b, g_next, out_prev, r_down, t, e0, depth):  # pragma: no cover
    """Vector ``v`` of a folded MVU with a pipeline register between gather and adder trees; ``b``: the
    earliest edge its first word may be gathered (input there), ``g_next``: the gather is free (the
    previous word left the register), ``out_prev``: the compare stage fired vector v - 1.

    Words move one per clock through gather and register; only the end of fold 0 can wait, for the
    compare stage to fire vector v - 1 (intermediate folds always fire at once), and while it waits the
    gather waits with it. Returns (gather edge of the last word = pop, output edge, next g_next)."""
    g0 = max(b, g_next)
    a_e0 = max(g0 + e0 + 1, out_prev)  # fold 0's last word leaves the register into the compare stage
    a_last = a_e0 + t - 1 - e0
    g_last = g0 + e0 if e0 == t - 1 else a_last - 1
    o = a_last + 1
    if v - depth >= 0:
        o = max(o, r_down[v - depth] + 1)
    return g_last, o, max(g_last + 1, a_last)


def _piped_loop(b, r_down, t, e0, depth, hold, g_end, out):  # pragma: no cover
    """``hold``: the vector is copied at ``max(b, previous last gather)`` (the pop) and gathered a clock later."""
    g_next, out_prev, last = 0, -(1 << 60), -(1 << 60)
    for v in range(out.size):
        g_last, out[v], g_next = _piped_step(v, b[v] + 1 if hold else b[v], g_next, out_prev, r_down, t, e0, depth)
        g_end[v] = max(b[v], last) if hold else g_last
        last = g_last
        out_prev = out[v]


def _load_mvu_loop(w_in, r_down, n_load, beats, t, buffers, depth, reads, l_end, g_end, out, pipe, e0):  # pragma: no cover
    """The load stage and its MVU, vector by vector (the buffer link couples them across vectors, so the
    pair is solved together: a fixed point over separate stages would need one pass per vector).

    Load of vector v starts at ``l0 = max(l_end[v-1] + 1, w_in + 1, g_end[v - buffers] + 1)`` (its first
    beat at the FIFO head, the previous load done, a RAM buffer free). From the FIFO head (``beats`` = 1)
    it writes L entries and pops the beat with the last, at ``l_end = l0 + L - 1``; a direct load
    (``beats`` = L) pops one beat per write, each as soon as it is there. The MVU (as :func:`_folded`)
    starts at ``max(g0[v-1] + T, l_end + 1, space)`` (``pipe``: as :func:`_piped_step`)."""
    l_prev, g0p = -1, -t
    g_next, out_prev = 0, -(1 << 60)
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
        if pipe:
            g_end[v], out[v], g_next = _piped_step(v, e + 1, g_next, out_prev, r_down, t, e0, depth)
            out_prev = out[v]
            continue
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

    _piped_step = numba.njit(cache=True, nogil=True)(_piped_step)
    _piped_loop = numba.njit(cache=True, nogil=True)(_piped_loop)
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
                   load.load_clocks, beats, mvu.plan.T, load.buffers, depth, reads, l_end, g_end, out, *_pipe(mvu))
    return reads, l_end, g_end, out


def simulate(stages: list[Stage], depths: list[int], frames: int, max_passes: int | None = None) -> Timeline:
    """Exact edges of every beat for ``frames`` frames; ``depths[i]`` is the FIFO after stage i. The edges are a
    fixed point, found by passes over the stages; ``max_passes`` (default: 200 plus two per input beat of a
    frame over all stages) bounds them. Why that many: back-pressure can settle one beat per pass (a CNV-style
    chain with a one-slice N:M convolution and one-deep FIFOs that 200 passes do not settle: tests/sim/test_cycles.py)."""
    n = len(stages)
    if max_passes is None:
        max_passes = 200 + 2 * sum(st.in_beats for st in stages)
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
                pairs = [(i, *(_folded if st.registered else _simple)(st, frames, w_in, r_down, depths[i]))]
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


def size_fifos(stages: list[Stage], min_depth: int = 2, max_bits: int = 36864, max_depth: int = 1024,
               max_interval: int | None = None, pinned: Collection[int] = ()) -> list[int]:
    """FIFO depths: start at ``min_depth`` and deepen the FIFO that helps most until the interval equals
    the bottleneck stage (or no FIFO within its size cap helps), then trim every FIFO, widest first, to the
    smallest depth that leaves the latency unchanged and the interval at most ``max(interval,
    max_interval)`` (``max_interval``: the clocks per frame a target frame rate allows; a FIFO of depth 1 is
    a register, no RAM, but costs its consumer a clock when the producer waits for it; ``pinned``: FIFOs kept
    one deep). Deterministic."""
    depths = [1 if i in pinned else d for i, d in enumerate(fixed_depths(stages, min_depth))]
    widths = [st.out_width for st in stages]
    perf = performance(stages, depths)
    while perf.interval > perf.bottleneck:
        best = None
        for i in range(len(stages)):
            if stages[i].kind == "load" or i in pinned:
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
    return _shrink(stages, depths, perf, max(perf.interval, max_interval or 0), pinned)


def size_links(stages: list[Stage], min_depth: int = 2, max_bits: int = 36864, max_depth: int = 1024,
               max_interval: int | None = None) -> list[int]:
    """:func:`size_fifos`, then, widest link first: an MVU that can hold its input vector
    (:attr:`Stage.holdable`) and whose input FIFO came out two or more entries deep holds it (``info["hold"]``,
    set here) with that FIFO a register, the other FIFOs re-sized around it (a narrower one upstream, the
    sliding window's pixel FIFO, may deepen instead); kept where the interval stays within the same bound, the
    latency grows by at most a clock per held link (the copy, when the MVU waited for its input) and fewer FIFO
    bits sit in RAM. Why: a K-bit FIFO's second entry (the CNV's windows: 288-576 bits) is distributed RAM, ~0.7
    LUT per bit; the MVU's copy is flip-flops with a clock enable and adds no multiplexer. A design without such a
    link is sized as before."""
    depths = size_fifos(stages, min_depth, max_bits, max_depth, max_interval)
    cand = sorted((i for i in range(1, len(stages)) if stages[i].holdable and depths[i - 1] >= 2),
                  key=lambda i: (-stages[i - 1].out_width, i))
    if not cand:
        return depths
    base = performance(stages, depths)
    bound = max(base.interval, max_interval or 0)

    def attempt(links: list[int], now: list[int]) -> list[int] | None:
        """Depths with exactly ``links`` (of ``cand``) held, if they pass; else None."""
        for i in cand:
            stages[i].info["hold"] = i in links
        try:
            trial = size_fifos(stages, min_depth, max_bits, max_depth, max_interval, pinned=[i - 1 for i in links])
            p = performance(stages, trial)
        except HardwareError:
            return None
        ok = p.interval <= bound and p.latency <= base.latency + len(links) and \
            _ram_bits(stages, trial) < _ram_bits(stages, now)
        return trial if ok else None

    best = attempt(cand, depths)  # all at once (one more sizing); else link by link, widest first
    held = cand if best is not None else []
    if best is None:
        for i in cand:
            trial = attempt(held + [i], depths)
            if trial is not None:
                held, depths = held + [i], trial
    for i in cand:
        stages[i].info["hold"] = i in held
    return best if best is not None else depths


def _ram_bits(stages: list[Stage], depths: list[int]) -> int:
    """Bits of the FIFOs deeper than one entry (distributed RAM; a one-deep FIFO is a register)."""
    return sum(st.out_width * d for st, d in zip(stages, depths) if d > 1 and st.kind != "load")


def _shrink(stages: list[Stage], depths: list[int], perf: Performance, max_interval: int,
            pinned: Collection[int] = ()) -> list[int]:
    """Trim each FIFO (widest first) to the smallest depth that leaves the latency unchanged and the
    interval <= ``max_interval``; depth 1 (a register, no RAM) where the consumer takes each beat before
    the producer has the next one."""
    widths = [st.out_width for st in stages]
    for i in sorted(range(len(depths)), key=lambda j: (-widths[j], j)):
        if stages[i].kind == "load" or i in pinned:
            continue
        lo, hi = 1, depths[i]
        while lo < hi:
            mid = (lo + hi) // 2
            try:
                p = performance(stages, depths[:i] + [mid] + depths[i + 1 :])
            except HardwareError:  # a binding depth-1 link between fast stages: the fixed point is too slow to
                p = None  # reach, and such a link would halve their rate anyway
            if p is not None and p.latency == perf.latency and p.interval <= max_interval:
                hi = mid
            else:
                lo = mid + 1
        depths[i] = lo
    return depths
