"""Run-directory provenance (manifests, staleness, staged swaps) and the run lock, on small files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from sbnn import provenance as pv
from sbnn.export.verify import first_flips, foreign_agreement
from sbnn.runlock import RunLocked, locked
from sbnn.runs import RunDir


def stage(run: RunDir, name: str, files: dict[str, str], inputs: list[str] = ()) -> pv.Manifest:
    folder = run.path / name
    folder.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (folder / rel).write_text(text)
    return pv.record(folder, name, pv.inputs(run, inputs), list(files), config={"k": 1})


@pytest.fixture
def run(tmp_path) -> RunDir:
    r = RunDir(tmp_path / "r")
    stage(r, "train", {"checkpoint.pt": "weights 1"})
    stage(r, "export", {"ir.json": "ir 1", "ir.npz": "arrays 1"}, ["train/checkpoint.pt"])
    stage(r, "hw", {"rtl.v": "module 1"}, ["export/ir.json", "export/ir.npz"])
    stage(r, "synth", {"report.json": "{}"}, ["hw/rtl.v"])
    return r


def test_a_fresh_chain_is_current(run):
    assert [s.state for s in pv.chain(run, "synth")] == ["current"] * 4
    assert pv.run_status(run) == {}
    pv.require_current(run, "hw", "export")
    assert pv.read(run, "hw").upstream() == ["export"]


def test_a_new_training_makes_everything_downstream_stale(run):
    stage(run, "train", {"checkpoint.pt": "weights 2"})
    st = pv.run_status(run)
    assert st["export"].state == "stale" and st["export"].reason == "train/checkpoint.pt changed"
    assert {s: st[s].reason for s in ("hw", "synth")} == {"hw": "made from export/, which is stale",
                                                          "synth": "made from export/, which is stale"}
    assert "train" not in st
    with pytest.raises(pv.StaleError, match=r"export/ is stale: train/checkpoint.pt changed since 'sbnn export' made "
                                            r"it; re-run 'sbnn export --run .*', then 'sbnn synth --run .*'$"):
        pv.require_current(run, "hw", "export")


@pytest.mark.parametrize("edit, state, reason", [
    (lambda r: (r.path / "export" / "ir.npz").unlink(), "modified", "export/ir.npz is missing"),
    (lambda r: (r.path / "export" / "ir.json").write_text("ir 1 edited"), "modified",
     "export/ir.json changed after 'sbnn export' wrote it"),
    (lambda r: (r.path / "export" / "manifest.json").write_text("{"), "modified", "export/manifest.json is unreadable"),
])
def test_changed_outputs_are_modified(run, edit, state, reason):
    edit(run)
    st = pv.check(run, "export")
    assert (st.state, st.reason) == (state, reason)
    with pytest.raises(pv.StaleError, match="delete .*manifest.json to use the files as they are"):
        pv.require_current(run, "export")


def test_a_stage_without_manifest_is_taken_as_it_is(run):
    (run.path / "export" / "manifest.json").unlink()
    assert pv.check(run, "export").state == "unrecorded"
    assert pv.check(run, "sim").state == "none"
    pv.require_current(run, "export")  # nothing to compare with: a hand-made export is accepted


def test_outside_inputs(tmp_path):
    run = RunDir(tmp_path / "r")
    src = tmp_path / "model.onnx"
    src.write_text("graph 1")
    folder = run.path / "export"
    folder.mkdir(parents=True)
    (folder / "ir.json").write_text("ir")
    pv.record(folder, "export", pv.external(src), ["ir.json"])
    assert pv.check(run, "export").state == "current"
    src.write_text("graph 2")
    assert pv.check(run, "export").state == "stale"
    src.unlink()  # a vanished outside file proves nothing about the export
    assert pv.check(run, "export").state == "current"


def test_linked_stage_is_checked_where_it_lives(run, tmp_path):
    """A sweep's fps/ sub-run links export/ to its point: the link's inputs are the point's train/."""
    sub = RunDir(run.path / "fps")
    sub.path.mkdir()
    (sub.path / "export").symlink_to(Path("..") / "export", target_is_directory=True)
    stage(sub, "hw", {"rtl.v": "module 2"}, ["export/ir.json"])
    assert pv.run_status(sub) == {}
    (run.path / "train" / "checkpoint.pt").write_text("weights 2")
    assert pv.run_status(sub)["hw"].reason == "made from export/, which is stale"


def test_digests_follow_rewrites_of_equal_size(tmp_path):
    f = tmp_path / "a"
    f.write_text("1234")
    d = pv.file_digest(f)
    os.utime(f, ns=(0, 0))
    f.write_text("4321")
    assert pv.file_digest(f) != d


def test_staging_swaps_only_on_commit_and_recovers(run):
    old = (run.path / "export" / "ir.json").read_text()
    s = pv.Staging(run, "export")
    tmp = s.begin()
    (tmp / "ir.json").write_text("ir 2")
    s.discard()
    assert (run.path / "export" / "ir.json").read_text() == old and not tmp.exists()
    tmp = s.begin()
    (tmp / "ir.json").write_text("ir 2")
    assert s.discard(keep=True) == run.path / ".export.failed"
    assert (run.path / ".export.failed" / "ir.json").read_text() == "ir 2"
    tmp = s.begin()
    assert not (run.path / ".export.failed").exists()
    (tmp / "ir.json").write_text("ir 3")
    s.commit()
    assert (run.path / "export" / "ir.json").read_text() == "ir 3" and not tmp.exists()
    # a swap cut short after the old folder moved aside: the old one is put back
    (run.path / "export").rename(run.path / ".export.old")
    (run.path / ".hw.tmp").mkdir()
    assert pv.recover(run.path) == [f"restored {run.path / 'export'}"]
    assert (run.path / "export" / "ir.json").read_text() == "ir 3" and not (run.path / ".hw.tmp").exists()


HOLDER = textwrap.dedent("""
    import sys, time
    from sbnn.runlock import locked
    with locked(sys.argv[1]):
        print("locked", flush=True)
        time.sleep(60)
""")


def test_the_lock_names_its_holder_and_dies_with_it(tmp_path):
    run = RunDir(tmp_path / "r")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(run.path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunLocked, match=rf"run directory .* is in use by pid {holder.pid} \('.*', started "):
            with locked(run):
                pass
    finally:
        holder.kill()
        holder.wait()
    with locked(run):  # the kernel released the killed holder's lock
        with locked(run):  # re-entrant within a process
            pass


def test_a_file_is_not_a_run_directory(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(Exception, match="is not a directory: --run takes a run directory"):
        with locked(tmp_path / "f"):
            pass


def test_first_flips_finds_the_first_differing_layer():
    sim = [np.array([[True, False], [True, True], [False, False]]), np.array([[1], [0], [1]], dtype=bool)]
    # sample 0: all equal; sample 1: layer 0 differs where the graph's value is ~0 (a tie); sample 2: a real
    # difference at layer 0 (the later layer's difference follows from it)
    q = [np.array([[0.5, -0.5], [0.7, -1e-7], [-3.0, 2.0]]), np.array([[1.0], [2.0], [-1.0]])]
    assert first_flips(q, [None, None], sim, eps=1e-5).tolist() == [0, 1, 2]
    shifted = [np.array([[1.5, 0.5], [1.7, 1 - 1e-7], [-2.0, 3.0]]), q[1]]  # the same signs after a shift of 1
    assert first_flips(shifted, [np.ones(2), None], sim, eps=1e-5).tolist() == [0, 1, 2]


def test_foreign_agreement_fails_beyond_half_a_score_step():
    gain = np.array([0.5, 0.5, 0.25])
    sim = np.array([[1.0, 2.0, 0.0], [3.0, 1.0, 0.0], [1.0, 1.0, 0.0]])
    ok = foreign_agreement(sim + 1e-6, sim, gain, np.zeros(3))
    assert ok["ok"] and ok["tolerance"] == 0.125 and ok["ties_top2"] == 1
    off = sim.copy()
    off[1, 0] += 0.2  # a different integer score on one sample
    bad = foreign_agreement(off, sim, gain, np.zeros(3))
    assert not bad["ok"] and bad["beyond_tolerance"] == 1 and bad["first_bad_sample"] == 1
    flipped = foreign_agreement(off, sim, gain, np.array([0, 1, 0]))  # explained by a tie in a hidden sign
    assert flipped["ok"] and flipped["ties_sign"] == 1
    assert not foreign_agreement(sim, sim, gain, np.array([0, 2, 0]))["ok"]
