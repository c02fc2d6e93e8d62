"""The simulation stage on a run directory: the bit-exact simulator on the export's samples.

Reads ``<run>/export/{ir.json, samples.npz}``; the ``sbnn sim`` command (:mod:`sbnn.sim_cli`) writes the
report. The RTL check of ``sbnn sim --rtl`` belongs to the hardware stage (:mod:`sbnn.hw.rtlsim.check`):
this package never imports :mod:`sbnn.hw`.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np

from sbnn import runs
from sbnn.errors import ConfigError
from sbnn.ir.model import IRModel
from sbnn.runs import RunDir


@dataclass
class SimRun:
    """The IR, the samples it ran on, its scores and the report entries of ``<run>/sim/report.json``."""

    ir: IRModel
    x: np.ndarray
    scores: np.ndarray
    report: dict


def load_samples(run: RunDir, n: int | None) -> tuple[IRModel, np.ndarray, np.ndarray, np.ndarray]:
    """(IR, x, y, is_test) of a run's export, the first ``n`` samples when given."""
    from sbnn.ir import load

    ir_path = run.require("export", runs.IR, "sbnn export")
    samples_path = run.require("export", runs.SAMPLES, "sbnn export")
    ir = load(ir_path)
    with np.load(samples_path) as s:
        x, y, is_test = s["x"], s["y"], s["is_test"]
    if n is not None:
        if n < 1:
            raise ConfigError("--samples must be at least 1")
        x, y, is_test = x[:n], y[:n], is_test[:n]
    return ir, x.astype(np.int64), y, is_test


def simulate_run(run: RunDir, samples: int | None = None, trace: bool = False) -> SimRun:
    """The bit-exact simulator on the run's samples: accuracy, throughput, score digest (and, with
    ``trace``, every layer's output in ``<run>/sim/trace.npz``)."""
    from sbnn.sim.bitexact import Simulator

    ir, x, y, is_test = load_samples(run, samples)
    sim = Simulator(ir)
    t0 = time.perf_counter()
    result = sim.run(x, trace=trace)
    seconds = time.perf_counter() - t0
    pred = result.predictions
    report = {
        "samples": int(len(x)),
        "test_samples": int(is_test.sum()),
        "test_accuracy": float((pred[is_test] == y[is_test]).mean()) if is_test.any() else None,
        "accuracy_all_samples": float((pred == y).mean()),
        "seconds": seconds,
        "frames_per_second": len(x) / seconds if seconds > 0 else None,
        "layer_sparsity": {m.name: m.sparsity for m in ir.mvus},
        "scores_sha256": hashlib.sha256(result.scores.tobytes()).hexdigest(),
    }
    if trace:
        np.savez_compressed(run.stage("sim") / runs.TRACE, **result.trace)
    return SimRun(ir, x, result.scores, report)
