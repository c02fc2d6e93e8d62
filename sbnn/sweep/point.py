"""One sweep point: train -> export -> synth -> (equal-throughput synth) -> sim (+ RTL regression).

Runs in a worker (a pool process or a Ray task), so it takes and returns plain JSON-able dicts and never
raises: a failure becomes a ``failed`` record naming the stage, and the traceback goes to the point's
``sweep.log``. The point's ``sweep.json`` is written last; when it says ``done`` for the same key, the
point is skipped on the next run. Every stage writes the same files as its ``sbnn`` subcommand, so a
point is an ordinary run directory (``sbnn report --run <point>`` and every stage command work on it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from pydantic import ValidationError

from sbnn.errors import SbnnError
from sbnn.runs import (
    CHECKPOINT,
    FPS_DIR,
    REPORT,
    RTL_BUILD,
    RTL_REGRESSION,
    SWEEP_LOG,
    SWEEP_RECORD,
    RunDir,
    read_json,
    write_json,
)


def is_done(point_dir: Path, key: str) -> bool:
    rec = point_dir / SWEEP_RECORD
    if not rec.exists():
        return False
    try:
        data = read_json(rec)
    except SbnnError:  # unreadable (half-written by a killed worker): run the point again
        return False
    return isinstance(data, dict) and data.get("status") == "done" and data.get("key") == key


def execute(point: dict, options: dict, root: str) -> dict:
    """Run one point into ``<root>/<name>/``; returns its ``sweep.json`` record (status done or failed)."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    pdir = Path(root) / point["name"]
    pdir.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {"name": point["name"], "point": point, "key": point["key"], "status": "running",
                              "seconds": {}}
    stage = "setup"
    t_start = time.perf_counter()
    with open(pdir / SWEEP_LOG, "a") as logf, contextlib.redirect_stdout(logf), contextlib.redirect_stderr(logf):
        def log(msg: str) -> None:
            print(msg, flush=True)

        log(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} point {point['name']}")
        try:
            for stage, fn in STEPS:
                if stage == "fps" and not options["equal_throughput"]:
                    continue
                t0 = time.perf_counter()
                log(f"--- {stage}")
                fn(pdir, point, options, log)
                record["seconds"][stage] = round(time.perf_counter() - t0, 2)
            record["status"] = "done"
        except BaseException as exc:  # a worker must report every failure, not die (KeyboardInterrupt re-raised)
            log(traceback.format_exc())
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            record.update({"status": "failed", "stage": stage, "error": f"{type(exc).__name__}: {first[:300]}"})
            if isinstance(exc, KeyboardInterrupt):
                raise
        record["seconds"]["total"] = round(time.perf_counter() - t_start, 2)
    write_json(pdir / SWEEP_RECORD, record)
    return record


def step_train(pdir: Path, point: dict, options: dict, log: Callable[[str], None]) -> None:
    from sbnn.training.checkpoint import load_checkpoint
    from sbnn.training.config import TrainConfig
    from sbnn.training.trainer import train

    cfg = TrainConfig.resolve(**point["train"])
    run = RunDir(pdir)
    _link_reused(pdir, point["name"], cfg, options.get("reuse_train"), log)
    ckpt = pdir / "train" / CHECKPOINT
    stale = resume = False
    if ckpt.exists():
        state = load_checkpoint(ckpt)
        stale = TrainConfig.model_validate(state["config"]) != cfg
        resume = not stale and not state.get("done")
    if stale and (pdir / "train").is_symlink():
        (pdir / "train").unlink()  # never retrain into another run's folder
        stale = False
    train(cfg, run, resume=resume, force=stale, log=log)


def _link_reused(pdir: Path, name: str, cfg, reuse: str | None, log: Callable[[str], None]) -> None:
    """Link ``<reuse>/<name>/train`` when it holds a finished training of exactly this config."""
    from sbnn.training.checkpoint import load_checkpoint
    from sbnn.training.config import TrainConfig

    own = pdir / "train"
    if not reuse or (own.exists() and not own.is_symlink()):
        return
    src = (Path(reuse) / name / "train").resolve()
    if not (src / CHECKPOINT).exists():
        return
    try:
        state = load_checkpoint(src / CHECKPOINT)
        same = state.get("done") and TrainConfig.model_validate(state["config"]) == cfg
    except (SbnnError, ValidationError) as exc:  # unreadable, half-written or another config: train ourselves
        log(f"not reusing {src}: {exc}")
        return
    if not same:
        log(f"not reusing {src}: unfinished or trained with another config")
        return
    if own.is_symlink():
        own.unlink()
    own.symlink_to(src, target_is_directory=True)
    log(f"reusing the finished training {src}")


def step_export(pdir: Path, point: dict, options: dict, log: Callable[[str], None]) -> None:
    from sbnn.export.config import ExportConfig
    from sbnn.export.pipeline import export

    export(RunDir(pdir), ExportConfig(samples=options["export_samples"]), log=log)


def _synth(run: RunDir, options: dict, log: Callable[[str], None], synth: bool = True, **hw: Any) -> None:
    from sbnn.hw.config import HwConfig
    from sbnn.hw.stage import run_stage

    cfg = HwConfig(clock_mhz=options["clock_mhz"], report_only=True, synth=options["synth"] and synth,
                   synth_timeout=options["synth_timeout"], **hw)
    if not cfg.synth:
        shutil.rmtree(run.path / "synth", ignore_errors=True)  # a report of an older design would look current
    res = run_stage(run, cfg)
    t = res.synth.total if res.synth else {}
    log(f"folding from {res.folding_source}: {res.cycles['interval_cycles']:,} cycles/frame, "
        f"{res.cycles['frames_per_second']:,.0f} frames/s, LUT {t.get('LUT')}, FF {t.get('FF')}")


def step_synth(pdir: Path, point: dict, options: dict, log: Callable[[str], None]) -> None:
    _synth(RunDir(pdir), options, log, synth=options.get("synth_ir_folding", True))


def step_fps(pdir: Path, point: dict, options: dict, log: Callable[[str], None]) -> None:
    sub = pdir / FPS_DIR
    sub.mkdir(exist_ok=True)
    link = sub / "export"
    if not link.is_symlink():
        shutil.rmtree(link, ignore_errors=True)
        link.symlink_to(Path("..") / "export", target_is_directory=True)
    search = options.get("fps_search", 1) if options["synth"] else 1  # the search synthesizes: not without Yosys runs
    _synth(RunDir(sub), options, log, target_fps=point["target_fps"], style=options.get("fps_style", "auto"),
           search=search)


def step_sim(pdir: Path, point: dict, options: dict, log: Callable[[str], None]) -> None:
    """The bit-exact accuracy on all samples, then the RTL of the synthesized design on the first few."""
    from sbnn import sim_cli
    from sbnn.tools import has_tool

    def sim(samples: int | None, rtl: bool) -> None:
        sim_cli.run(argparse.Namespace(run=str(pdir), samples=samples, trace=False, rtl=rtl))

    out = pdir / "sim"
    n = options["rtl_samples"]
    if n and has_tool("verilator"):
        sim(n, True)  # raises if the RTL differs from the simulator or from the cycle model
        shutil.copyfile(out / REPORT, out / RTL_REGRESSION)
        shutil.rmtree(out / RTL_BUILD, ignore_errors=True)  # the Verilator build: large, cached elsewhere
    else:
        (out / RTL_REGRESSION).unlink(missing_ok=True)
        log("RTL regression skipped: " + ("rtl_samples is 0" if not n else "Verilator is not installed"))
    sim(None, False)


STEPS: list[tuple[str, Callable[[Path, dict, dict, Callable[[str], None]], None]]] = [
    ("train", step_train), ("export", step_export), ("synth", step_synth), ("fps", step_fps), ("sim", step_sim)]
