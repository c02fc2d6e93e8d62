"""Mid-frame reset schedules for the Verilator harness, placed with the cycle model.

Why: a register that carries state across beats and has no reset corrupts the frames sent after a reset
that arrives in the middle of a frame, but only if the reset arrives while that register holds state: in
the middle of an input frame, inside a fold of a folded MVU (lane accumulators and gap-code pointers
hold a partial sum), while a distributed-RAM gather loads a vector, while a window / pool / collector
unit is half-way through its map, or while a multi-beat output frame is being sent. The cycle model knows
the edge of every beat, so :func:`reset_points` finds such an edge for every unit of a design, and
:func:`reset_schedule` turns them into one run with a reset at each (an *epoch* per reset, each starting
like a freshly reset design), followed by a final epoch that is checked in full.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sbnn.hw.rtl.design import Design
from sbnn.hw.rtlsim.verilator import MIN_RESET, Reset
from sbnn.sim.cycles import simulate

#: frames offered in each epoch that ends with a reset (the reset hits frame 1, so frame 0 completes
#: or is in flight and later frames wait in FIFOs)
EPOCH_FRAMES = 4


def reset_points(design: Design, frame: int = 1) -> dict[str, int]:
    """Edges (from an epoch's first offered input beat, input always valid, output always ready) at which a
    reset finds state in each unit of ``design`` while it works on frame ``frame``: name -> edge."""
    stages, tl = design.stages, simulate(design.stages, design.depths, frame + 2)
    pts: dict[str, int] = {}
    first = stages[0]
    nb = first.in_beats
    pts["input"] = int(tl.reads[0][frame * nb + nb // 2])  # the middle beat of the frame is not accepted
    for i, st in enumerate(stages):
        if st.folded:
            plan = st.plan
            v = frame * st.in_beats + st.in_beats // 2
            g0 = int(tl.reads[i][v]) - plan.T + 1  # the MVU pops its vector with the last word
            words = [int(w) for w in plan.words]
            multi = [f for f, w in enumerate(words) if w > 1]
            # after the first word of a fold with several words: the accumulators hold a partial sum
            at = g0 + sum(words[: multi[0]]) + 1 if multi else g0 + min(1, plan.T - 1)
            pts[f"fold:{st.name}"] = at
        elif st.kind == "load":
            vec = frame * st.out_beats + st.out_beats // 2
            pts[f"load:{st.name}"] = int(tl.writes[i][vec]) - st.load_clocks // 2  # half the vector written
        elif st.kind in ("swu", "maxpool", "collector") and st.in_beats > 1:
            pts[f"{st.kind}:{st.name}"] = int(tl.reads[i][frame * st.in_beats + st.in_beats // 2])
    per = stages[-1].out_beats
    if per > 1:
        pts["output"] = int(tl.sink[frame * per + per // 2])  # between two beats of one output frame
    pts["drain"] = int(tl.sink[frame * per + per - 1])  # the frame's last output beat is not taken
    return pts


@dataclass
class ResetPlan:
    """A run with one reset per point: ``resets`` for the harness, the frames each epoch was offered, and
    the edge (relative to its start) at which each epoch was cut (None: the final epoch)."""

    resets: list[Reset]
    names: list[str]  # the point each epoch ends at ("" for the final epoch)
    first_frame: list[int]  # per epoch: index of its first frame in the input
    cut: list[int | None]  # per epoch: relative edge of the reset that ends it
    reset_len: int = MIN_RESET  # clocks ap_rst_n stays low


def reset_schedule(design: Design, points: dict[str, int], final_frames: int,
                   reset_len: int = MIN_RESET) -> tuple[ResetPlan, int]:
    """Resets at every point of ``points`` in turn (each in its own epoch of :data:`EPOCH_FRAMES` frames,
    input always valid), then a final epoch of ``final_frames`` frames; returns the plan and the number
    of frames the input must hold."""
    nb = design.stream.in_beats
    resets, names, first, cut = [], [], [], []
    start, frame = 0, 0
    for name, rel in points.items():
        names.append(name)
        first.append(frame)
        cut.append(int(rel))
        frame += EPOCH_FRAMES
        resets.append(Reset(start + int(rel), frame * nb))
        start += int(rel) + reset_len
    names.append("")
    first.append(frame)
    cut.append(None)
    return ResetPlan(resets, names, first, cut, reset_len), frame + final_frames


def epoch_frames(plan: ResetPlan, e: int, total_frames: int) -> np.ndarray:
    """Indices of the input frames epoch ``e`` was offered."""
    end = plan.first_frame[e + 1] if e + 1 < len(plan.first_frame) else total_frames
    return np.arange(plan.first_frame[e], end)
