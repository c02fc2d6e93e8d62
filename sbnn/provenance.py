"""Provenance of a run directory: what each stage read and wrote, so that nothing stale passes for current.

Stages talk through files, and a file made from older inputs looks exactly like a current one. So every
stage, when it succeeds, writes ``<run>/<stage>/manifest.json``: the SHA-256 of each input it read (upstream
artefacts by run-relative path, files outside the run as ``file:<absolute path>``), of its resolved config,
and of each output it wrote. A stage is

* **current** when its outputs still match its manifest and its inputs still match the files upstream;
* **stale** when an input changed or vanished since (an upstream stage ran again): re-run this stage;
* **modified** when one of its own outputs changed or is missing (edited, or a write was interrupted);
* **unrecorded** when it has files but no manifest (written by hand or by an older sbnn): taken as is,
  since there is nothing to compare with.

:func:`require_current` is what ``synth``, ``sim``, ``deploy`` and ``--backend hls4ml`` call before reading
upstream artefacts: it raises :class:`StaleError`, one line naming the commands to re-run. :func:`run_status`
is what ``sbnn report`` shows. Digests are cached per process by (path, size, mtime, ctime, inode), so a
large checkpoint is hashed once per command.

Outputs are built aside (:class:`Staging`): in ``<run>/.<stage>.tmp``, manifest included, and swapped in by
two renames only when the stage succeeded. A failure of any kind - an error, Ctrl-C, SIGKILL, a full disk -
leaves the previous result and its manifest as they were; a swap cut short by SIGKILL is undone (or
finished) by :func:`recover` the next time a stage takes the run's lock (:mod:`sbnn.runlock`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from sbnn import __version__
from sbnn.errors import SbnnError
from sbnn.runs import MANIFEST, RunDir, aside, write_json

FORMAT = 1
#: the command that (re)makes a stage's outputs
MAKERS = {"train": "sbnn train", "export": "sbnn export", "hw": "sbnn synth", "synth": "sbnn synth",
          "sim": "sbnn sim", "deploy": "sbnn deploy"}
#: stages that write a manifest, in pipeline order
RECORDED = tuple(MAKERS)
#: environment variable naming a point where the process kills itself with SIGKILL (tests of the swap)
FAULT_ENV = "SBNN_FAULT_POINT"


class StaleError(SbnnError):
    """An upstream artefact was made from older inputs, or changed after it was written."""


# ---- digests -----------------------------------------------------------------------------------------------

_digests: dict[tuple, str] = {}


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (cached while the file's size, times and inode stay the same)."""
    st = os.stat(path)
    key = (os.path.realpath(path), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    if key not in _digests:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _digests[key] = h.hexdigest()
    return _digests[key]


def command_line() -> str:
    """This process's command, as the user typed it when it is the ``sbnn`` script."""
    argv = sys.argv or [""]
    name = Path(argv[0]).name
    if name == "sbnn" or (name == "cli.py" and "sbnn" in argv[0]) or argv[0] == "-m":
        return " ".join(["sbnn", *argv[1:]])
    return " ".join(argv)


def config_digest(cfg: Any) -> str:
    """SHA-256 of a resolved config (a pydantic model or plain data), independent of key order."""
    data = cfg.model_dump(mode="json") if hasattr(cfg, "model_dump") else cfg
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def inputs(run: RunDir, rel_paths: Iterable[str]) -> dict[str, str]:
    """Digests of upstream artefacts, keyed by their run-relative path (``export/ir.json``)."""
    return {rel: file_digest(run.path / rel) for rel in rel_paths}


def external(path: str | os.PathLike) -> dict[str, str]:
    """The digest of an input outside the run directory (a foreign QONNX file, a folding file)."""
    p = Path(path).resolve()
    return {f"file:{p}": file_digest(p)}


# ---- manifests ---------------------------------------------------------------------------------------------

@dataclass
class Manifest:
    """``<stage>/manifest.json``: the digests of a stage's inputs, config and outputs."""

    stage: str
    inputs: dict[str, str]
    outputs: dict[str, str]
    config: str | None = None
    command: str = ""
    finished: str = ""
    sbnn: str = __version__
    format: int = FORMAT

    def upstream(self) -> list[str]:
        """The stages whose files this stage read."""
        return sorted({k.split("/", 1)[0] for k in self.inputs if not k.startswith("file:") and "/" in k})


def record(folder: Path, stage: str, inputs: dict[str, str], outputs: Iterable[str], config: Any = None) -> Manifest:
    """Write ``folder/manifest.json`` for the ``outputs`` (paths relative to ``folder``) now in ``folder``.

    ``folder`` is where the outputs are now (a staging folder, or the stage folder itself); the manifest
    travels with them."""
    outs = {rel: file_digest(folder / rel) for rel in sorted(set(outputs))}
    m = Manifest(stage, dict(inputs), outs, config_digest(config) if config is not None else None, command_line(),
                 time.strftime("%Y-%m-%d %H:%M:%S"))
    write_json(folder / MANIFEST, asdict(m))
    return m


def read(run: RunDir, stage: str) -> Manifest | None:
    """The stage's manifest; None when it has none or it cannot be read (see :func:`check`)."""
    path = run.path / stage / MANIFEST
    try:
        data = json.loads(path.read_text())
        return Manifest(**{k: data[k] for k in Manifest.__dataclass_fields__ if k in data})
    except (OSError, ValueError, TypeError):
        return None


# ---- status ------------------------------------------------------------------------------------------------

@dataclass
class Status:
    """Where one stage stands: ``current``, ``stale``, ``modified``, ``unrecorded`` or ``none`` (no files)."""

    stage: str
    state: str
    reason: str = ""
    upstream: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.state in ("current", "unrecorded", "none")


def check(run: RunDir, stage: str, outputs: bool = True) -> Status:
    """The status of one stage (its own outputs, when ``outputs``, and the inputs it recorded). A linked stage
    folder (a sweep's ``fps/export`` or reused ``train``) is checked in the run directory it belongs to."""
    run = home(run, stage)
    folder = run.path / stage
    if not (folder / MANIFEST).exists():
        try:
            has_files = folder.is_dir() and any(folder.iterdir())
        except OSError:
            has_files = False
        return Status(stage, "unrecorded" if has_files else "none")
    m = read(run, stage)
    if m is None:
        return Status(stage, "modified", f"{stage}/{MANIFEST} is unreadable")
    if outputs:
        for rel, digest in m.outputs.items():
            p = folder / rel
            if not p.is_file():
                return Status(stage, "modified", f"{stage}/{rel} is missing", m.upstream())
            if file_digest(p) != digest:
                return Status(stage, "modified", f"{stage}/{rel} changed after '{MAKERS.get(stage, stage)}' wrote it",
                              m.upstream())
    for key, digest in m.inputs.items():
        if key.startswith("file:"):
            p = Path(key[5:])
            if p.is_file() and file_digest(p) != digest:  # a vanished outside file proves nothing
                return Status(stage, "stale", f"{p} changed", m.upstream())
            continue
        p = run.path / key
        if not p.is_file():
            return Status(stage, "stale", f"{key} was deleted", m.upstream())
        if file_digest(p) != digest:
            return Status(stage, "stale", f"{key} changed", m.upstream())
    return Status(stage, "current", "", m.upstream())


def home(run: RunDir, stage: str) -> RunDir:
    """The run directory a stage folder belongs to: ``run``, or where a symlinked stage folder points."""
    folder = run.path / stage
    return RunDir(folder.resolve().parent) if folder.is_symlink() else run


def chain(run: RunDir, stage: str) -> list[Status]:
    """``stage`` (outputs and inputs) and, upstream first, every stage it depends on (inputs only: what
    ``stage`` read of them is covered by its own input digests)."""
    seen: dict[str, Status] = {}

    def visit(where: RunDir, name: str, outputs: bool) -> None:
        if name in seen or name not in MAKERS:
            return
        st = check(where, name, outputs)
        seen[name] = st
        for up in st.upstream:
            visit(home(where, name), up, False)

    visit(run, stage, True)
    order = [s for s in RECORDED if s in seen]
    return [seen[s] for s in order]


def _remedy(run: RunDir, first: str, wanted: Iterable[str]) -> str:
    later = [s for s in RECORDED if RECORDED.index(s) > RECORDED.index(first) and s in wanted]
    cmds = list(dict.fromkeys(MAKERS[s] for s in [first, *later]))
    where = f" --run {run.path}"
    return "re-run " + ", then ".join(f"'{c}{where}'" for c in cmds)


def require_current(run: RunDir, *stages: str) -> None:
    """Raise :class:`StaleError` (one line) unless ``stages`` and what they depend on are current."""
    for stage in stages:
        for st in chain(run, stage):
            if st.ok:
                continue
            if st.state == "stale":
                msg = (f"{st.stage}/ is stale: {st.reason} since '{MAKERS[st.stage]}' made it; "
                       + _remedy(run, st.stage, stages))
            else:
                msg = (f"{st.reason} (edited, or a write was interrupted); " + _remedy(run, st.stage, stages)
                       + f" (or delete {run.path / st.stage / MANIFEST} to use the files as they are)")
            raise StaleError(msg)


def run_status(run: RunDir) -> dict[str, Status]:
    """Every stage of a run that is not current, for the report: its own state, or ``stale`` when it was
    made from a stage that is not current (a new training makes the export, the design and the simulation
    made from the old one stale, even though each matches the stage before it)."""
    out = {}
    for stage in RECORDED:
        statuses = chain(run, stage)
        own = statuses[-1] if statuses and statuses[-1].stage == stage else None
        if own is None or own.state == "none":
            continue
        if not own.ok:
            out[stage] = own
            continue
        bad = [st for st in statuses[:-1] if not st.ok]
        if bad:
            out[stage] = Status(stage, "stale", f"made from {bad[0].stage}/, which is {bad[0].state}", own.upstream)
    return out


# ---- staging -----------------------------------------------------------------------------------------------

def fault_point(name: str) -> None:
    """Kill this process (SIGKILL) when ``$SBNN_FAULT_POINT`` names this point: how the tests check that a
    stage killed at any moment leaves its previous result intact."""
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)


class Staging:
    """A stage's outputs built aside in ``<run>/.<stage>.tmp`` and swapped into ``<run>/<stage>`` on success.

    ``begin()`` returns the empty staging folder; ``commit()`` swaps it in (old folder renamed to
    ``.<stage>.old``, staging folder renamed into place, old folder deleted); ``discard(keep=True)`` moves a
    failed attempt to ``.<stage>.failed`` for inspection, ``keep=False`` deletes it. Callers hold the run's
    lock (:func:`sbnn.runlock.locked`)."""

    def __init__(self, run: RunDir, stage: str):
        run.check()
        self.run, self.stage = run, stage
        self.final = run.path / stage
        self.tmp = aside(run.path, stage, "tmp")
        self.failed = aside(run.path, stage, "failed")

    def begin(self) -> Path:
        shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(self.failed, ignore_errors=True)  # the evidence of an earlier failure is replaced
        self.tmp.mkdir(parents=True)
        return self.tmp

    def commit(self) -> Path:
        old = aside(self.run.path, self.stage, "old")
        shutil.rmtree(old, ignore_errors=True)
        fault_point(f"{self.stage}:commit")
        if self.final.is_symlink():  # a linked stage (a sweep's reused training, fps/export): replace the link
            self.final.unlink()
        elif self.final.exists():
            self.final.rename(old)
        fault_point(f"{self.stage}:swap")
        self.tmp.rename(self.final)
        shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(self.failed, ignore_errors=True)
        return self.final

    def discard(self, keep: bool = False) -> Path | None:
        """Drop a failed attempt (the previous result stays); ``keep`` moves it to ``.<stage>.failed``
        (returned) for inspection instead."""
        if keep and self.tmp.exists():
            shutil.rmtree(self.failed, ignore_errors=True)
            self.tmp.rename(self.failed)
            return self.failed
        shutil.rmtree(self.tmp, ignore_errors=True)
        return None


def recover(run_path: Path) -> list[str]:
    """Finish or undo swaps that a killed process left (call with the run's lock held): an ``.<stage>.old``
    whose stage folder is missing is put back; leftover ``.tmp`` / ``.old`` folders are deleted."""
    done = []
    try:
        entries = list(run_path.iterdir())
    except OSError:
        return done
    for p in entries:
        if not p.name.startswith(".") or not p.is_dir() or p.is_symlink():
            continue
        stage, _, kind = p.name[1:].rpartition(".")
        if stage not in MAKERS or kind not in ("tmp", "old"):
            continue
        final = run_path / stage
        if kind == "old" and not final.exists() and not final.is_symlink():
            p.rename(final)
            done.append(f"restored {final}")
        else:
            shutil.rmtree(p, ignore_errors=True)
    return done
