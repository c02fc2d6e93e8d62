"""Running a sweep: every point is a complete run directory, failures are isolated, re-runs resume,
and the Ray executor (local mode) produces the same records as the process pool."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from sbnn.sweep import config as sc
from sbnn.sweep.driver import run_sweep

GOOD = ["tiny-bnn", "tiny-ab-closed-0.9"]
BROKEN = ["broken-bnn", "broken-ab-closed-0.9"]


def _rec(root: Path, name: str) -> dict:
    return json.loads((root / name / "sweep.json").read_text())


def test_failed_points_are_reported_and_do_not_stop_the_others(tiny_sweep, capsys):
    root, rc = tiny_sweep
    assert rc == 2  # the sweep says that points failed
    for name in GOOD:
        rec = _rec(root, name)
        assert rec["status"] == "done"
        assert list(rec["seconds"]) == ["train", "export", "synth", "fps", "sim", "total"]
        for f in ("train/checkpoint.pt", "export/ir.json", "hw/cycles.json", "synth/report.json",
                  "fps/hw/cycles.json", "fps/synth/report.json", "sim/report.json", "sim/rtl_regression.json"):
            assert (root / name / f).is_file(), f
        assert (root / name / "fps" / "export").is_symlink()
    for name in BROKEN:
        rec = _rec(root, name)
        assert rec["status"] == "failed" and rec["stage"] == "train"
        assert rec["error"].startswith("ConfigError: invalid TrainConfig value")
        assert "model.hidden" in (root / name / "sweep.log").read_text()
    status = json.loads((root / "status.json").read_text())
    assert sorted(r["name"] for r in status["records"] if r["status"] == "failed") == sorted(BROKEN)


def test_rtl_regression_ran_and_matched(tiny_sweep):
    root, _ = tiny_sweep
    for name in GOOD:
        rtl = json.loads((root / name / "sim" / "rtl_regression.json").read_text())["rtl"]
        assert rtl["samples"] == 4
        assert rtl["equal"] is True and rtl["timing_equals_cycle_model"] is True


def test_equal_throughput_design_meets_the_common_target(tiny_sweep):
    root, _ = tiny_sweep
    for name in GOOD:
        fps = json.loads((root / name / "fps" / "hw" / "cycles.json").read_text())["frames_per_second"]
        plain = json.loads((root / name / "hw" / "cycles.json").read_text())["frames_per_second"]
        assert fps >= 2_000_000 > plain


def test_rerun_skips_finished_points_and_retries_failed_ones(tiny_sweep):
    root, _ = tiny_sweep
    stamps = {n: os.stat(root / n / "sweep.json").st_mtime_ns for n in GOOD}
    cfg = sc.resolve(Path(__file__).with_name("tiny.yaml"), [])
    res = run_sweep(cfg, root, workers=1, log=lambda m: None)
    assert sorted(res.skipped) == sorted(GOOD)
    assert sorted(r["name"] for r in res.records) == sorted(BROKEN)
    assert {n: os.stat(root / n / "sweep.json").st_mtime_ns for n in GOOD} == stamps


def test_changed_grid_reruns_only_the_affected_points(tiny_sweep):
    """A different option changes the key: the point is run again (training is reused: same config)."""
    root, _ = tiny_sweep
    cfg = sc.resolve(Path(__file__).with_name("tiny.yaml"), ["rtl_samples=0", "synth=false",
                                                             "equal_throughput=false"])
    todo, done = __import__("sbnn.sweep.driver", fromlist=["plan"]).plan(cfg, root)
    assert done == [] and sorted(p["name"] for p in todo) == sorted(GOOD + BROKEN)


def test_interrupted_training_is_resumed(tmp_path):
    """A point whose training stopped half-way continues from its checkpoint instead of starting over."""
    from sbnn.runs import RunDir
    from sbnn.training.config import TrainConfig
    from sbnn.training.trainer import train

    cfg = sc.resolve(Path(__file__).with_name("tiny.yaml"), ["synth=false", "equal_throughput=false",
                                                             "rtl_samples=0"], methods=["bnn"], epochs=2)
    cfg.archs = {"tiny": cfg.archs["tiny"]}
    point = sc.points(cfg)[0]
    one_epoch = TrainConfig.resolve(**{**point["train"], "optim.epochs": 2})
    # train one of two epochs by hand: a checkpoint marked unfinished, as an interrupted sweep leaves it
    import sbnn.training.trainer as tr
    calls = []
    orig = tr.save_checkpoint

    def stop_after_first(path, state):
        orig(path, state)
        calls.append(state["epoch"])
        if state["epoch"] == 1:
            raise KeyboardInterrupt

    tr.save_checkpoint = stop_after_first
    try:
        with pytest.raises(KeyboardInterrupt):
            train(one_epoch, RunDir(tmp_path / point["name"]), log=lambda m: None)
    finally:
        tr.save_checkpoint = orig
    res = run_sweep(cfg, tmp_path, workers=1, log=lambda m: None)
    assert [r["status"] for r in res.records] == ["done"]
    log = (tmp_path / point["name"] / "sweep.log").read_text()
    assert "resuming" in log and "at epoch 2/2" in log
    history = json.loads((tmp_path / point["name"] / "train" / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2]


def test_ray_executor_local_cluster(tmp_path):
    """Ray on this machine (a local cluster started by the executor; Ray 2.60 dropped in-process local_mode)."""
    pytest.importorskip("ray")
    cfg = sc.resolve(Path(__file__).with_name("tiny.yaml"), ["synth=false", "equal_throughput=false",
                                                             "rtl_samples=0"], methods=["bnn"])
    res = run_sweep(cfg, tmp_path, executor="ray", workers=2, log=lambda m: None)
    by_name = {r["name"]: r for r in res.records}
    assert sorted(by_name) == ["broken-bnn", "tiny-bnn"]
    assert by_name["tiny-bnn"]["status"] == "done"
    assert by_name["broken-bnn"]["status"] == "failed" and by_name["broken-bnn"]["stage"] == "train"
    for n in ["tiny-bnn"]:
        assert json.loads((tmp_path / n / "sweep.json").read_text()) == by_name[n]
        assert not (tmp_path / n / "synth").exists()
        assert (tmp_path / n / "hw" / "cycles.json").exists() and (tmp_path / n / "sim" / "report.json").exists()


def test_fps_search_synthesizes_candidates_for_every_point(tiny_sweep, tmp_path):
    """``fps_search``: the at-target design of a point is the measured search's choice (its candidates recorded)."""
    import shutil

    from sbnn.tools import has_tool

    if not has_tool("yosys"):
        pytest.skip("Yosys is not installed (pip install 'sbnn[hw]')")
    root = tmp_path / "s"
    shutil.copytree(tiny_sweep[0], root, symlinks=True)
    cfg = sc.resolve(Path(__file__).with_name("tiny.yaml"), ["fps_search=2"])
    res = run_sweep(cfg, root, workers=1, only=["tiny-bnn"], log=lambda m: None)
    assert [r["name"] for r in res.records] == ["tiny-bnn"] and not res.failed
    tried = json.loads((root / "tiny-bnn" / "fps" / "hw" / "cycles.json").read_text())["folding_search"]
    kept = [t for t in tried if t["selected"]]
    assert len(kept) == 1 and kept[0]["LUT"] == json.loads(
        (root / "tiny-bnn" / "fps" / "synth" / "report.json").read_text())["total"]["LUT"]
