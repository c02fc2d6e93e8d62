"""Stages killed with SIGKILL - at each step of their swap (``$SBNN_FAULT_POINT``) and while the synthesis
tool runs - leave the previous result intact, and the next command repairs a half-done swap."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest


@pytest.mark.parametrize("point", ["export:commit", "export:swap"])
def test_export_killed_while_swapping_in_keeps_the_old_export(corpus, tmp_path, point):
    run = corpus.copy(tmp_path / "run")
    before = corpus.snapshot(run)
    proc = corpus.sbnn(["export", "--run", run, "--force", "--samples", "64"], corpus.sbnn_env(tmp_path, SBNN_FAULT_POINT=point))
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert (run / ".export.tmp").exists() or (run / ".export.old").exists()
    proc = corpus.sbnn(["sim", "--run", run], corpus.env)  # the next command under the lock repairs the swap
    assert proc.returncode == 0, proc.stderr
    corpus.assert_kept(run, before, allow=("sim/",))
    assert not [p.name for p in run.iterdir() if p.name.startswith(".export")]


@pytest.mark.parametrize("point", ["hw:commit", "hw:swap", "synth:swap"])
def test_synth_killed_while_swapping_in(corpus, tmp_path, point):
    """Killed before hw/ moved: everything as before. Killed between the hw/ and the synth/ swap: the new hw/
    is in, the old synth/ is restored and the report marks it stale (it belongs to the old hw/)."""
    run = corpus.copy(tmp_path / "run")
    before = corpus.snapshot(run)
    proc = corpus.sbnn(["synth", "--run", run, "--target-fps", "150000"], corpus.sbnn_env(tmp_path, SBNN_FAULT_POINT=point))
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    report = corpus.sbnn(["report", "--run", run], corpus.env)  # no lock needed to read; repairs when nobody holds it
    assert report.returncode == 0, report.stderr
    if point == "synth:swap":
        assert "synth/ stale: hw/" in report.stdout and "[STALE]" in report.stdout
        corpus.assert_kept(run, before, allow=("hw/", "report/"))
        assert (run / "synth" / "report.json").read_bytes() == before["synth/report.json"]
    else:
        assert "STALE" not in report.stdout
        corpus.assert_kept(run, before, allow=("report/",))


def test_synth_killed_during_synthesis_keeps_hw_and_synth(corpus, tmp_path):
    run = corpus.copy(tmp_path / "run")
    before = corpus.snapshot(run)
    started = tmp_path / "started"
    env = corpus.sbnn_env(tmp_path, FAKE_YOSYS_SLEEP="60", FAKE_YOSYS_STARTED=str(started))
    proc = subprocess.Popen([sys.executable, "-m", "sbnn.cli", "synth", "--run", str(run), "--target-fps", "150000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        deadline = time.time() + 300
        while not started.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert started.exists(), proc.stderr.read() if proc.poll() is not None else "synthesis never started"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # sbnn and its synthesis tool
        proc.wait()
    report = corpus.sbnn(["report", "--run", run], corpus.env)
    assert report.returncode == 0 and "STALE" not in report.stdout, report.stdout
    corpus.assert_kept(run, before, allow=("report/",))
    again = corpus.sbnn(["synth", "--run", run, "--target-fps", "150000"], corpus.env)  # the lock died with the process
    assert again.returncode == 0, again.stderr
    assert json.loads((run / "hw" / "cycles.json").read_text())["target"]["met"]
    assert not [p.name for p in run.iterdir() if p.name.startswith((".hw", ".synth"))]
