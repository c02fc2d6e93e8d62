"""One lock per run directory: two sbnn processes never write the same run at once.

Two concurrent ``sbnn train`` on one run directory used to mix one run's config with the other's checkpoint.
Every stage that writes a run takes ``<run>/.lock`` with ``flock`` (exclusive, non-blocking) for its whole
duration; a second process gets a one-line :class:`RunLocked` naming the holder (pid, command, start time),
which the holder writes into the lock file. The kernel releases the lock when the holder exits in any way,
SIGKILL included, so a lock never outlives its process. The lock is re-entrant within a process (a stage
that calls another stage on the same run). After taking it, swaps that a killed process left half done are
repaired (:func:`sbnn.provenance.recover`).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sbnn.errors import SbnnError
from sbnn.provenance import command_line, recover
from sbnn.runs import LOCK, RunDir


class RunLocked(SbnnError):
    """Another process is working in this run directory."""

    exit_code = 75  # EX_TEMPFAIL: try again later


_held: dict[str, list] = {}  # real path -> [fd, depth]


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096).decode() or "{}")
        return f"pid {info['pid']} ('{info['command']}', started {info['started']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextmanager
def locked(run: RunDir | str | os.PathLike, create: bool = True) -> Iterator[Path]:
    """Hold ``<run>/.lock`` for the duration of the block, creating the run directory (``create=False``, for
    stages that only read an existing run: a missing one is left to the stage's own "not found" error)."""
    run = run if isinstance(run, RunDir) else RunDir(run)
    run.check()
    if not create and not run.path.exists():
        yield run.path
        return
    run.path.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(run.path)
    if key in _held:
        _held[key][1] += 1
        try:
            yield run.path
        finally:
            _held[key][1] -= 1
        return
    fd = os.open(run.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise RunLocked(f"run directory {run.path} is in use by {holder}: wait for it to finish (or stop it)") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": command_line()[:300],
                                  "started": time.strftime("%Y-%m-%d %H:%M:%S")}).encode(), 0)
        _held[key] = [fd, 1]
        recover(run.path)
        yield run.path
    finally:
        _held.pop(key, None)
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)


def try_recover(run: RunDir | str | os.PathLike) -> None:
    """Repair half-done swaps when no process holds the run (readers such as ``sbnn report``); else nothing."""
    run = run if isinstance(run, RunDir) else RunDir(run)
    lock = run.path / LOCK
    if not run.path.is_dir() or os.path.realpath(run.path) in _held:
        return
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        recover(run.path)
    except OSError:
        pass
    finally:
        os.close(fd)
