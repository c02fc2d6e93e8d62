"""The run directory: how stages hand artefacts to each other.

A run is a folder (``runs/<name>/`` by default) with one subfolder per stage::

    train/   config.yaml  checkpoint.pt  metrics.json
    export/  config.yaml  model.onnx  ir.json  ir.npz  samples.npz  verify.json
    hw/      config.yaml  folding.json  stream.json  cycles.json  cycles.md  rtl/
    synth/   report.json  report.md
    sim/     report.json (its "rtl" entry after sbnn sim --rtl)  [trace.npz, rtl_regression.json]
    report/  index.html  report.md  report.csv  *.png  *.svg    (sbnn report)
    baseline-dense/  export -> ../export, hw/, synth/             (sbnn report --baseline dense)

The file names live here, once (the constants below); every stage, the report and the sweep use them.
Each stage reads only what earlier stages wrote, so it can be re-run, resumed and inspected alone.
Every file is written to a temporary name and renamed into place: an interrupted stage never leaves a
file that looks complete.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

from sbnn.errors import ConfigError

STAGES = ("train", "export", "hw", "synth", "deploy", "sim", "report")

#: a configurable stage's resolved configuration (train/, export/, hw/)
CONFIG = "config.yaml"
CHECKPOINT = "checkpoint.pt"  # train/
METRICS = "metrics.json"  # train/
QONNX = "model.onnx"  # export/
IR_STEM = "ir"  # export/: ir.json (structure) + ir.npz (arrays)
IR = f"{IR_STEM}.json"
SAMPLES = "samples.npz"  # export/: real inputs (x, y, is_test)
VERIFY = "verify.json"  # export/
FOLDING = "folding.json"  # hw/: every MVU's implementation
STREAM = "stream.json"  # hw/: AXI stream formats
CYCLES = "cycles.json"  # hw/ (+ cycles.md)
CYCLES_MD = "cycles.md"
RTL = "rtl"  # hw/: the Verilog, filelist.f (top last)
FILELIST = "filelist.f"
REPORT = "report.json"  # synth/, sim/ (+ report.md)
REPORT_MD = "report.md"
TRACE = "trace.npz"  # sim/ --trace
RTL_BUILD = "rtl_build"  # sim/ --rtl: the Verilator build
RTL_REGRESSION = "rtl_regression.json"  # sim/ of a sweep point: the report of its RTL run
SWEEP_RECORD = "sweep.json"  # a sweep point's outcome
SWEEP_LOG = "sweep.log"
FPS_DIR = "fps"  # a sweep point's equal-throughput design: a sub-run whose export/ links to the point's
SWEEP_CONFIG = "sweep.yaml"  # a sweep root: the resolved grid
SWEEP_STATUS = "status.json"  # a sweep root: the outcome of the last call
SWEEP_POINTS = "points.json"  # a sweep root: its point names in grid order
FINN_BASELINE = "finn/baseline.json"  # a sweep point's FINN estimate
#: ``sbnn report --baseline dense``: a sub-run (its export/ links to the run's) holding the all-dense-XNOR design
#: folded for the run's own frames/s, the like-for-like baseline of the report
DENSE_BASELINE_DIR = "baseline-dense"
REPORT_DIR = "report"  # sbnn report: index.html, report.md, report.csv, figures


class RunDir:
    """A run directory; ``run.stage("export")`` is the export stage's folder (created on demand)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def stage(self, name: str, create: bool = True) -> Path:
        if name not in STAGES:
            raise ValueError(f"unknown stage {name!r}")
        p = self.path / name
        if create:
            p.mkdir(parents=True, exist_ok=True)
        return p

    def require(self, stage: str, filename: str, made_by: str) -> Path:
        """A file an earlier stage must have written, or a ConfigError naming the command to run."""
        p = self.path / stage / filename
        if not p.exists():
            raise ConfigError(f"{p} not found: run '{made_by}' for this run directory first")
        return p


def umask() -> int:
    """The process's file-creation mask (read without changing it where Linux tells it, else set and restored)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def write_atomic(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename. The file gets the
    permissions a plain ``open`` creates a file with, 0666 less the umask (``mkstemp`` alone makes it 0600:
    unreadable for a teammate, a container user or a machine reading the folder over a share)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _default(obj: Any):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return write_atomic(path, json.dumps(obj, indent=2, default=_default) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path} not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc})") from None


def write_yaml(path: str | os.PathLike, obj: Any) -> Path:
    return write_atomic(path, yaml.safe_dump(obj, sort_keys=False))
