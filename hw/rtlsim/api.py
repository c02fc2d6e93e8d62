"""``run_rtl``: run any valid IR model's generated RTL in Verilator on real inputs.

This is the one-line entry point for whole-network regressions and for ``sbnn sim --rtl``: it
generates the design, builds it (cached), streams the inputs through it and returns the scores together
with the measured and the modelled latency and frame interval.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sbnn.arch.impl import LayerImpl
from sbnn.errors import HardwareError
from sbnn.hw.rtl.design import Design, GenOptions, generate
from sbnn.hw.rtlsim import verilator as rtlsim
from sbnn.hw.stream import pack_input, unpack_output
from sbnn.ir.model import IRModel
from sbnn.sim.cycles import simulate


@dataclass
class RTLResult:
    """Outputs and timing of one RTL simulation (edges counted as in :mod:`sbnn.sim.cycles`)."""

    scores: np.ndarray  # (N, outputs) int64: class scores, or bits of a probe layer
    latency: int  # measured: first input beat offered -> last output beat of frame 0 (see sbnn.sim.cycles)
    interval: int | None  # measured: between the last output beats of the final two frames
    model_latency: int
    model_interval: int
    out_cycles: np.ndarray  # edge of every output beat
    in_cycles: np.ndarray  # edge of every accepted input beat
    design: Design

    @property
    def timing_exact(self) -> bool:
        """Measured latency and interval equal the cycle model (valid for runs without bubbles)."""
        return self.latency == self.model_latency and self.interval in (None, self.model_interval)


def run_rtl(model: IRModel, x: np.ndarray, workdir: str | Path, options: GenOptions | None = None,
            upto: str | None = None, p_in: float = 1.0, p_out: float = 1.0, seed: int = 1,
            timeout: float = 3600, impls: Mapping[str, LayerImpl] | None = None) -> RTLResult:
    """Simulate ``model`` (or its prefix ending at layer ``upto``) on images ``x`` (N, H, W, C).

    ``p_in`` / ``p_out`` < 1 insert random input bubbles / output back-pressure (scores must not change;
    timing then differs from the model by design). ``options`` are the generator knobs and ``impls`` the
    MVUs' implementations (by default the model's ``pe``/``simd``; see :mod:`sbnn.arch.folding`)."""
    model.validate()
    x = np.asarray(x)
    if x.ndim != 4 or x.shape[0] < 1:
        raise HardwareError(f"expected a batch of images (N, H, W, C), got shape {x.shape}")
    design = generate(model, options, upto=upto, impls=impls)
    return run_design(design, x, workdir, p_in=p_in, p_out=p_out, seed=seed, timeout=timeout)


def run_design(design: Design, x: np.ndarray, workdir: str | Path, p_in: float = 1.0, p_out: float = 1.0,
               seed: int = 1, timeout: float = 3600) -> RTLResult:
    """Build (cached) and simulate an already generated design."""
    bld = rtlsim.build([design], workdir)
    res = rtlsim.run(bld, [pack_input(design.stream, x)], p_in=p_in, p_out=p_out, seed=seed, timeout=timeout)[0]
    return to_result(design, res, x.shape[0])


def to_result(design: Design, res: rtlsim.StreamResult, frames: int) -> RTLResult:
    per = design.stream.out_beats
    if res.out_cycles.size != frames * per:
        raise HardwareError(f"the RTL produced {res.out_cycles.size} output beats, expected {frames * per}")
    expected_last = np.tile(np.arange(per) == per - 1, frames)
    if not np.array_equal(res.out_last, expected_last):
        raise HardwareError("m_axis_tlast does not mark the last beat of every frame")
    ends = res.out_cycles[per - 1 :: per]
    return RTLResult(unpack_output(design.stream, res.out_data), int(ends[0] - res.first_valid),
                     int(ends[-1] - ends[-2]) if frames > 1 else None, design.perf.latency, design.perf.interval,
                     res.out_cycles, res.in_cycles, design)


def model_edges(design: Design, frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The cycle model's edges of every output beat and every accepted input beat, for ``frames`` frames
    (edge 0: the first input beat is offered, as in the harness with an always-valid input)."""
    tl = simulate(design.stages, design.depths, frames)
    return tl.sink, tl.reads[0]
