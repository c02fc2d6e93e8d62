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
