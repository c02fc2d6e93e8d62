"""``sbnn synth --backend hls4ml``: IR -> hls4ml project -> g++ C simulation == bit-exact simulator ->
(vendor HLS build when the tools are installed).

Writes ``<run>/hls4ml/{config.yaml, lowering.json, csim.json, project/}`` and, after a vendor build,
``report.json``/``report.md`` in the same table format as ``<run>/synth/`` (Yosys). A project whose C
simulation differs from the simulator on any input is an error, never a silently wrong project.
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sbnn import runs
from sbnn.errors import HardwareError, ToolNotFound
from sbnn.hw.config import HwConfig
from sbnn.hw.hls4ml import project as hp
from sbnn.hw.synth.report import SynthReport
from sbnn.ir import io as ir_io
from sbnn.ir.model import IRModel
from sbnn.ir.synthetic import random_input
from sbnn.runs import RunDir, write_atomic, write_json


@dataclass
class Hls4mlResult:
    out_dir: Path
    project: Path
    csim: hp.CsimResult
    lowering: dict
    synth: SynthReport | None
    #: why there is no vendor report (tools missing, or synth disabled)
    note: str = ""


def csim_inputs(model: IRModel, run: RunDir, n: int, seed: int = 0) -> np.ndarray:
    """The export's test samples, topped up with random images of the input type to ``n`` inputs."""
    parts = []
    samples = run.path / "export" / runs.SAMPLES
    if samples.exists():
        with np.load(samples) as data:
            parts.append(np.asarray(data["x"], dtype=np.int64)[:n])
    have = sum(p.shape[0] for p in parts)
    if have < n:
        parts.append(random_input(np.random.default_rng(seed), model.input, n - have))
    return np.concatenate(parts) if parts else random_input(np.random.default_rng(seed), model.input, 0)


def generate(model: IRModel, out_dir: Path, cfg: HwConfig, x: np.ndarray, status=None) -> Hls4mlResult:
    """Write the project for ``model`` under ``out_dir``, check its C simulation on ``x``, build if possible."""
    status = status or (lambda msg: contextlib.nullcontext())
    out_dir.mkdir(parents=True, exist_ok=True)
    prj = out_dir / "project"
    if prj.exists():
        shutil.rmtree(prj)
    hm, low = hp.convert(model, prj, backend=cfg.hls4ml_backend, board=cfg.hls4ml_board, clock_mhz=cfg.clock_mhz)
    cfg.save(out_dir / runs.CONFIG)
    lowering = {"backend": cfg.hls4ml_backend, "board": cfg.hls4ml_board, "part": hp.board_part(cfg.hls4ml_board),
                "io_type": "io_stream", "strategy": "Latency", "reuse_factor": 1, "input_type": low.input_type,
                "notes": low.notes, "ir_layers": low.ir_map, "precisions": low.precisions,
                "weights": hp.weight_stats(low)}
    write_json(out_dir / "lowering.json", lowering)
    with status(f"g++ C simulation of the hls4ml project on {x.shape[0]} inputs"):
        csim = hp.csim_check(hm, model, x)
    write_json(out_dir / "csim.json", csim.to_json())
    if not csim.exact:
        raise HardwareError(f"hls4ml C simulation differs from the bit-exact simulator on {csim.n - csim.equal} of "
                            f"{csim.n} inputs (max |diff| {csim.max_abs_diff}); see {out_dir / 'csim.json'}")
    write_atomic(prj / "BUILD.txt", "# build this project on a machine with the vendor tools\n"
                 + hp.instructions(prj, cfg.hls4ml_backend) + "\n")
    synth, note = None, ""
    if not cfg.synth:
        note = "vendor build skipped (--no-synth)"
    else:
        try:
            with status(f"building the hls4ml project with {hp.build_commands(cfg.hls4ml_backend)[0][0]}"):
                synth = hp.build(prj, cfg.hls4ml_backend, cfg.synth_timeout)
        except ToolNotFound as exc:
            note = str(exc)
    if synth is not None:
        write_json(out_dir / runs.REPORT, synth.to_json())
        write_atomic(out_dir / runs.REPORT_MD, synth.markdown())
    return Hls4mlResult(out_dir, prj, csim, lowering, synth, note)


def run_hls4ml_stage(run: RunDir, cfg: HwConfig, status=None) -> Hls4mlResult:
    """The hls4ml project of ``<run>/export/ir`` in ``<run>/hls4ml/``."""
    stem = run.require("export", runs.IR, "sbnn export").with_suffix("")
    model = ir_io.load(stem)
    x = csim_inputs(model, run, cfg.hls4ml_csim_inputs)
    return generate(model, run.path / "hls4ml", cfg, x, status)
