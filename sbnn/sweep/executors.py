"""Where the points of a sweep run: a local process pool (default) or Ray.

Both are thin adapters over existing schedulers (``concurrent.futures`` and Ray); neither retries or
reorders anything. Each yields point records as they finish, so the driver can show progress and report
failures while the rest go on. A worker that dies (out of memory, a segfault in a tool) becomes a failed
record for its point only.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Iterator

from sbnn.errors import ConfigError
from sbnn.sweep.point import execute

#: memory one point may need at its peak (torch + a Yosys run of a CNV-size design)
MEMORY_PER_POINT = 2 * 1024**3


def available_memory() -> int | None:
    """Bytes of available memory (Linux /proc/meminfo), None where unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def default_workers(n_points: int) -> int:
    """Bounded by the cores this process may use, by memory, and by the number of points."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    mem = available_memory()
    by_mem = max(1, mem // MEMORY_PER_POINT) if mem else cores
    return max(1, min(cores, by_mem, n_points))


def _failed(point: dict, error: str) -> dict:
    return {"name": point["name"], "point": point, "key": point["key"], "status": "failed", "stage": "worker",
            "error": error, "seconds": {}}


def run_local(points: list[dict], options: dict, root: str, workers: int) -> Iterator[dict]:
    """A spawn-context process pool (torch and numba are not fork-safe once initialised)."""
    if workers == 1:  # no pool: simpler tracebacks, and it is what a 1-core machine would do anyway
        for p in points:
            yield execute(p, options, root)
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = {pool.submit(execute, p, options, root): p for p in points}
        for fut in as_completed(futures):
            p = futures[fut]
            try:
                yield fut.result()
            except BrokenProcessPool as exc:
                yield _failed(p, f"worker process died: {exc}")
            except (pickle.PicklingError, AttributeError, TypeError, EOFError) as exc:  # a record that did not travel
                yield _failed(p, f"{type(exc).__name__}: {exc}")


def run_ray(points: list[dict], options: dict, root: str, workers: int, address: str | None = None) -> Iterator[dict]:
    """One Ray task per point (1 CPU each). ``address`` joins an existing cluster ("auto" or host:port);
    without it Ray starts a local one on this machine with ``workers`` CPUs (Ray 2.60 has no in-process
    "local_mode" any more). ``root`` must be on storage that all nodes share."""
    try:
        import ray
    except ImportError:
        raise ConfigError("the Ray executor needs the 'ray' package: pip install 'sbnn[ray]'") from None
    started = False
    if not ray.is_initialized():
        kwargs = {"address": address} if address else {"num_cpus": workers}
        ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False, **kwargs)
        started = True
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(execute)
        refs = {task.remote(p, options, str(os.path.abspath(root))): p for p in points}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            p = refs[done[0]]
            try:
                yield ray.get(done[0])
            except ray.exceptions.RayError as exc:  # a crashed worker: this point fails, the others go on
                yield _failed(p, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        if started:
            ray.shutdown()
