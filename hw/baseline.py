"""The dense baseline of a run (``sbnn report --baseline dense``): the same network with every MVU on the
FINN-like XNOR datapath, folded for the run's own frames/s, generated and synthesized like the run's design.

It is a sub-run, ``<run>/baseline-dense/``, whose ``export/`` links to the run's, so the report reads it as
any other design and the run's own ``hw/`` and ``synth/`` stay as they are. Like for like: same IR (weights,
levels, thresholds), same clock, same synthesizer and options, the folding searched by the same automatic
folding step (the cheapest dense design that meets the rate), the same FIFO sizing.
"""

from __future__ import annotations

from typing import Callable

from sbnn import runs
from sbnn.errors import ConfigError
from sbnn.hw.config import HwConfig
from sbnn.hw.stage import StageResult, run_stage
from sbnn.runs import RunDir, read_json


def link_export(sub: RunDir) -> None:
    """``<sub>/export`` -> ``../export``: a sub-run of a run shares its export."""
    sub.path.mkdir(parents=True, exist_ok=True)
    link = sub.path / "export"
    if link.is_symlink():
        return
    if link.exists():
        raise ConfigError(f"{link} exists and is not a link to the run's export: remove it first")
    link.symlink_to("../export", target_is_directory=True)


def baseline_config(run: RunDir) -> HwConfig:
    """The run's hardware configuration with every MVU dense and folded for the run's frames/s."""
    cyc = read_json(run.require("hw", runs.CYCLES, "sbnn synth"))
    cfg = HwConfig.load(run.require("hw", runs.CONFIG, "sbnn synth"))
    # the run's interval, as a rate: shaved by a part in 1e9 so that float rounding cannot ask for one clock less
    fps = cyc["clock_mhz"] * 1e6 / cyc["interval_cycles"] * (1 - 1e-9)
    return cfg.model_copy(update={"style": "dense", "target_fps": fps, "folding": None, "unrolled": False,
                                  "clock_mhz": cyc["clock_mhz"], "report_only": True, "backend": "rtl"})


def dense_baseline(run: RunDir, status=None, log: Callable[[str], None] = lambda msg: None,
                   force: bool = False) -> StageResult:
    """Generate and synthesize the dense baseline of ``run`` into ``<run>/baseline-dense/``."""
    cfg = baseline_config(run)
    sub = RunDir(run.path / runs.DENSE_BASELINE_DIR)
    link_export(sub)
    return run_stage(sub, cfg, status, force=force, log=log)
