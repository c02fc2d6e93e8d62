"""The sweep driver: expand the grid, skip finished points, hand the rest to an executor, record the outcome.

``<root>/sweep.yaml`` is the resolved grid and ``<root>/status.json`` the outcome of the last call (every
point with its status, stage times and, for failures, the stage and error). Point directories are the
source of truth: the report reads them, never status.json.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from sbnn.fmt import duration
from sbnn.runs import SWEEP_CONFIG, SWEEP_LOG, SWEEP_POINTS, SWEEP_STATUS, write_json
from sbnn.sweep.config import SweepConfig, point_key, points
from sbnn.sweep.point import is_done

EXECUTORS = ("local", "ray")


@dataclass
class SweepResult:
    records: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[dict]:
        return [r for r in self.records if r["status"] != "done"]


def options_of(cfg: SweepConfig) -> dict:
    """What a worker needs besides its point (plain values: it may travel to another machine)."""
    return {"export_samples": cfg.export_samples, "rtl_samples": cfg.rtl_samples, "clock_mhz": cfg.clock_mhz,
            "equal_throughput": cfg.equal_throughput, "synth": cfg.synth,
            "synth_ir_folding": cfg.synth_ir_folding, "synth_timeout": cfg.synth_timeout, "fps_style": cfg.fps_style,
            "fps_search": cfg.fps_search,
            "reuse_train": str(Path(cfg.reuse_train).resolve()) if cfg.reuse_train else None}


def plan(cfg: SweepConfig, root: Path, only: list[str] | None = None) -> tuple[list[dict], list[str]]:
    """(points to run, with their keys; names of points already done)."""
    todo, done = [], []
    for p in points(cfg):
        if only and not any(sel in p["name"] for sel in only):
            continue
        job = {**p, "key": point_key(p, cfg)}
        (done if is_done(root / p["name"], job["key"]) else todo).append(job)
    return todo, done


def run_sweep(cfg: SweepConfig, root: str | Path, *, executor: str = "local", workers: int | None = None,
              only: list[str] | None = None, ray_address: str | None = None,
              progress: bool = False, log: Callable[[str], None] = print) -> SweepResult:
    from sbnn.sweep import executors

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    cfg.save(root / SWEEP_CONFIG)
    write_json(root / SWEEP_POINTS, [p["name"] for p in points(cfg)])  # the grid order, for the report
    todo, done = plan(cfg, root, only)
    result = SweepResult(skipped=[d["name"] for d in done])
    n = workers or executors.default_workers(max(1, len(todo)))
    log(f"{len(todo) + len(done)} points: {len(done)} already done, {len(todo)} to run "
        f"({executor} executor, {n} worker{'s' if n != 1 else ''})")
    t0 = time.perf_counter()
    if todo:
        opts = options_of(cfg)
        if executor == "ray":
            stream = executors.run_ray(todo, opts, str(root), n, address=ray_address)
        else:
            stream = executors.run_local(todo, opts, str(root), n)
        with tqdm(total=len(todo), unit="point", disable=not progress, desc="sweep") as bar:
            for rec in stream:
                result.records.append(rec)
                bar.update(1)
                secs = rec.get("seconds", {}).get("total")
                so_far = f"[{len(result.records)}/{len(todo)}, {duration(time.perf_counter() - t0)}]"
                msg = (f"  {so_far} done   {rec['name']}" + (f" ({duration(secs)})" if secs is not None else "")
                       if rec["status"] == "done" else
                       f"  {so_far} FAILED {rec['name']} at {rec.get('stage')}: {rec.get('error')} "
                       f"(log: {root / rec['name'] / SWEEP_LOG})")
                (bar.write if progress else log)(msg)
    result.seconds = time.perf_counter() - t0
    write_json(root / SWEEP_STATUS, {"seconds": round(result.seconds, 1), "executor": executor, "workers": n,
                                      "skipped": result.skipped, "records": result.records})
    return result
