"""The malformed-input corpus of issue 13: one good run directory and the helpers its tests share.

The ``corpus`` session fixture trains two tiny runs of one architecture (``good``: trained, exported,
synthesized, simulated, deployed; ``other``: another sparsity and seed, trained and exported) and writes a
foreign QONNX file (``good``'s graph without sbnn's metadata). Every test copies ``good``, damages it or
passes bad options, runs the real ``sbnn`` command in a subprocess (as a user would: warnings and tracebacks
land on stderr) and checks the outcome with the helpers on the fixture (``corpus.sbnn``, ``one_line``,
``snapshot``, ``assert_kept``).

Synthesis runs a small stand-in for Yosys (``$SBNN_YOSYS``, :data:`FAKE_YOSYS`): it reads the generated
script, can sleep or fail on request, and writes a stat file and an (empty) netlist in Yosys' format, so
that the stage's failure handling is tested in seconds; the real Yosys flow is tested in tests/hw.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

from sbnn.export.config import ExportConfig
from sbnn.export.pipeline import export
from sbnn.runs import RunDir
from sbnn.training.config import TrainConfig
from sbnn.training.trainer import train

TINY = ["model.arch=mlp", "model.hidden=[16]", "optim.epochs=2", "data.train_subset=300", "data.test_subset=100",
        "optim.threads=1", "optim.device=cpu"]

FAKE_YOSYS = r'''
import json, os, re, sys, time
from pathlib import Path
script = Path(sys.argv[sys.argv.index("-s") + 1]).read_text()
if os.environ.get("FAKE_YOSYS_STARTED"):
    Path(os.environ["FAKE_YOSYS_STARTED"]).write_text(str(os.getpid()))
time.sleep(float(os.environ.get("FAKE_YOSYS_SLEEP", "0")))
if os.environ.get("FAKE_YOSYS_FAIL"):
    print("ERROR: synthesis failed (fake)")
    sys.exit(1)
top = re.search(r"-top (\S+)", script).group(1)
mods = {}
for f in re.findall(r"read_verilog (\S+)", script):
    for name in re.findall(r"^module\s+(\w+)", Path(f).read_text(), re.M):
        mods[name] = {"num_cells_by_type": {"LUT4": 7, "FDRE": 3}}
mods[top]["num_cells_by_type"].update({m: 1 for m in mods if m != top})
Path(re.search(r"tee -q -o (\S+) stat -json", script).group(1)).write_text(json.dumps({"modules": mods}))
netlist = re.search(r"write_json .*?(\S+)$", script, re.M)
if netlist:  # the mapped netlist the timing analysis reads: the modules, no cells (no paths)
    empty = {"ports": {}, "cells": {}, "netnames": {}}
    Path(netlist.group(1)).write_text(json.dumps({"modules": {m: empty for m in mods}}))
'''


def sbnn_env(tmp: Path, **extra: str) -> dict[str, str]:
    """The environment of an ``sbnn`` subprocess: the stand-in Yosys and a private synthesis cache."""
    fake = tmp / "fake_yosys.py"
    if not fake.exists():
        fake.write_text(FAKE_YOSYS)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SBNN_", "FAKE_YOSYS"))}
    env.update({"SBNN_YOSYS": f"{sys.executable} {fake}", "SBNN_CACHE": str(tmp / "cache"), "SBNN_PROGRESS": "0",
                "OMP_NUM_THREADS": "1", **extra})
    return env


def sbnn(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sbnn.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=600, **kw)


def one_line(proc: subprocess.CompletedProcess, code: int | None = None) -> str:
    """The single stderr line of a failed command (no traceback, no warnings)."""
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode != 0 if code is None else proc.returncode == code, (proc.returncode, proc.stderr)
    assert len(lines) == 1, proc.stderr
    return lines[0]


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != ".lock"}


def assert_kept(root: Path, before: dict[str, bytes], allow: tuple[str, ...] = ()) -> None:
    """Every file of ``before`` is still there, byte for byte, and nothing new appeared, except under the
    ``allow`` prefixes and in dot-folders (``.export.failed`` evidence)."""
    after = snapshot(root)
    free = allow or ("\0",)
    changed = sorted(k for k, v in before.items() if after.get(k) != v and not k.startswith(free))
    assert not changed, f"changed or lost: {changed[:8]}"
    new = [k for k in after if k not in before and not k.startswith(".") and not k.startswith(free)
           and "/." not in k]
    assert not new, f"unexpected new files: {new[:8]}"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """Two tiny runs of one architecture (``good``: every stage; ``other``: another sparsity and seed, trained
    and exported), a copy helper and a foreign QONNX file (``good``'s graph without sbnn's metadata)."""
    root = tmp_path_factory.mktemp("corpus")
    env = sbnn_env(root)
    for name, extra in (("good", ["quant.sparsity=0.75"]), ("other", ["quant.sparsity=0.5", "optim.seed=3"])):
        run = RunDir(root / name)
        train(TrainConfig.resolve(overrides=TINY + extra), run, log=lambda m: None)
        export(run, ExportConfig(samples=64), log=lambda m: None)
    good = root / "good"
    for args in (["synth", "--run", good], ["sim", "--run", good], ["deploy", "--run", good, "--no-build"]):
        proc = sbnn(args, env)
        assert proc.returncode == 0, proc.stderr
    m = onnx.load(str(good / "export" / "model.onnx"))
    del m.metadata_props[:]
    onnx.save(m, str(root / "foreign.onnx"))

    def copy(dest: Path, name: str = "good") -> Path:
        shutil.copytree(root / name, dest, symlinks=True)
        return dest

    return argparse.Namespace(root=root, good=good, other=root / "other", env=env, copy=copy,
                              foreign=root / "foreign.onnx", tiny=TINY, sbnn=sbnn, sbnn_env=sbnn_env,
                              one_line=one_line, snapshot=snapshot, assert_kept=assert_kept)
