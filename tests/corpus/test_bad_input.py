"""Bad input to every stage (issue 13's corpus): for each case the exit code, exactly one line on stderr naming
the problem, no traceback, and every file of the previous good result byte-identical afterwards (new files
only in ``.<stage>.failed`` evidence folders, the lock file and ``report/``). The run directory and the
helpers come from the ``corpus`` fixture (conftest.py)."""

from __future__ import annotations

import errno
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest

from sbnn import runlock
from sbnn.runs import RunDir
from sbnn.training.config import TrainConfig

# ---- mutations: (run directory, scratch folder) -> extra arguments ------------------------------------------

def text_checkpoint(run: Path, tmp: Path) -> list:
    (run / "train" / "checkpoint.pt").write_text("this is not a checkpoint\n")
    return []


def truncated_checkpoint(run: Path, tmp: Path) -> list:
    ckpt = run / "train" / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[: ckpt.stat().st_size * 9 // 10])
    return []


def binary_config(run: Path, tmp: Path) -> list:
    (tmp / "bin.yaml").write_bytes(bytes(range(256)) * 4)
    return ["--config", tmp / "bin.yaml"]


def directory_config(run: Path, tmp: Path) -> list:
    (tmp / "dir.yaml").mkdir()
    return ["--config", tmp / "dir.yaml"]


def directory_folding(run: Path, tmp: Path) -> list:
    (tmp / "fold.json").mkdir()
    return ["--folding", tmp / "fold.json"]


def empty_dataset(run: Path, tmp: Path) -> list:
    from sbnn.data.idx import write_idx

    folder = tmp / "data" / "mnist"
    folder.mkdir(parents=True)
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", np.zeros((0, 28, 28), np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.zeros(0, np.uint8))
    return ["--data-dir", tmp / "data"]


def corrupt_samples(run: Path, tmp: Path) -> list:
    (run / "export" / "samples.npz").write_bytes(b"PK\x03\x04 not a zip archive" * 10)
    return []


def corrupt_samples_unrecorded(run: Path, tmp: Path) -> list:
    (run / "export" / "manifest.json").unlink()  # an export made by hand or by an older sbnn: read as it is
    return corrupt_samples(run, tmp)


def run_is_a_file(run: Path, tmp: Path) -> list:
    (tmp / "afile").write_text("not a run directory\n")
    return []


def new_checkpoint(run: Path, tmp: Path) -> list:
    """A training of other weights replaced the checkpoint: every later stage is stale."""
    shutil.copy2(tmp.parent / "_other" / "train" / "checkpoint.pt", run / "train" / "checkpoint.pt")
    return []


def new_export(run: Path, tmp: Path) -> list:
    """Another model was trained and exported, but not synthesized: hw/ belongs to the old one."""
    for stage in ("train", "export"):
        shutil.rmtree(run / stage)
        shutil.copytree(tmp.parent / "_other" / stage, run / stage)
    return []


def edited_ir(run: Path, tmp: Path) -> list:
    ir = run / "export" / "ir.json"
    ir.write_text(ir.read_text() + "\n")  # still a valid IR, but not the one the export verified
    return []


def inf_scale_qonnx(run: Path, tmp: Path) -> list:
    from onnx import numpy_helper

    m = onnx.load(str(tmp.parent / "_foreign.onnx"))
    quant = next(n for n in m.graph.node if n.op_type == "Quant")
    init = next(i for i in m.graph.initializer if i.name == quant.input[1])
    init.CopyFrom(numpy_helper.from_array(np.full_like(numpy_helper.to_array(init), np.inf), init.name))
    onnx.save(m, str(tmp / "inf.onnx"))
    return ["--qonnx", tmp / "inf.onnx", "--dataset", "digits"]


def nothing(run: Path, tmp: Path) -> list:
    return []


RUN = "{run}"
TINY = "<the fixture's training options>"
#: id -> (mutation, command (``{run}``, ``{tmp}``, ``{foreign}`` are filled in), exit code, message part)
CASES = {
    "text-file-as-checkpoint": (text_checkpoint, ["export", "--run", RUN, "--force"], 2, "not a readable checkpoint"),
    "truncated-checkpoint": (truncated_checkpoint, ["export", "--run", RUN, "--force"], 2, "not a readable checkpoint"),
    "set-unparsable-yaml": (nothing, ["train", "--run", RUN, "--set", "optim.epochs=[1"], 2, "not valid YAML"),
    "binary-config": (binary_config, ["train", "--run", RUN], 2, "not a text (YAML) file"),
    "directory-config": (directory_config, ["train", "--run", RUN], 2, "is a directory"),
    "seed-2**70": (nothing, ["train", "--run", RUN, "--seed", str(2**70)], 2, "optim.seed"),
    "hidden-0": (nothing, ["train", "--run", RUN, "--force", "--set", "model.arch=mlp", "--set", "model.hidden=[0]"],
                 2, "model.hidden"),
    "lr-inf": (nothing, ["train", "--run", RUN, "--force", TINY, "--set", "quant.sparsity=0.75", "--set",
                         "optim.lr=inf"], 2, "training diverged"),
    "empty-data-set": (empty_dataset, ["train", "--run", "{tmp}/new", "--dataset", "mnist", "--set",
                                       "data.download=false"], 2, "has no training images"),
    "run-is-a-file-train": (run_is_a_file, ["train", "--run", "{tmp}/afile"], 2, "is not a directory"),
    "run-is-a-file-export": (run_is_a_file, ["export", "--run", "{tmp}/afile"], 2, "is not a directory"),
    "run-is-a-file-synth": (run_is_a_file, ["synth", "--run", "{tmp}/afile"], 2, "is not a directory"),
    "run-is-a-file-sim": (run_is_a_file, ["sim", "--run", "{tmp}/afile"], 2, "is not a directory"),
    "run-is-a-file-deploy": (run_is_a_file, ["deploy", "--run", "{tmp}/afile"], 2, "is not a directory"),
    "run-is-a-file-report": (run_is_a_file, ["report", "--run", "{tmp}/afile"], 2, "is not a directory"),
    "qonnx-without-dataset": (nothing, ["export", "--run", RUN, "--qonnx", "{foreign}"], 2, "pass --dataset"),
    "qonnx-default-flags": (nothing, ["export", "--run", RUN, "--qonnx", "{foreign}", "--dataset", "digits"], 2,
                            "beyond the IR's 8-bit unsigned input range 0..255"),
    "qonnx-wrong-input-scale": (nothing, ["export", "--run", RUN, "--qonnx", "{foreign}", "--dataset", "digits",
                                          "--input-bits", "8", "--input-scale", "0.3"], 2,
                                "not an integer multiple of the input scale 0.3"),
    "qonnx-inf-scale": (inf_scale_qonnx, ["export", "--run", RUN], 2, "holds infinite or NaN values"),
    "corrupt-samples": (corrupt_samples, ["sim", "--run", RUN], 2, "export/samples.npz changed after 'sbnn export'"),
    "corrupt-samples-unrecorded": (corrupt_samples_unrecorded, ["sim", "--run", RUN], 2,
                                   "not a readable samples file"),
    "edited-ir-synth": (edited_ir, ["synth", "--run", RUN], 2, "export/ir.json changed after 'sbnn export' wrote it"),
    "stale-export-sim": (new_checkpoint, ["sim", "--run", RUN], 2,
                         "export/ is stale: train/checkpoint.pt changed since 'sbnn export' made it"),
    "stale-export-synth": (new_checkpoint, ["synth", "--run", RUN], 2, "export/ is stale"),
    "stale-export-deploy": (new_checkpoint, ["deploy", "--run", RUN, "--no-build"], 2, "then 'sbnn synth"),
    "stale-hw-deploy": (new_export, ["deploy", "--run", RUN, "--no-build"], 2,
                        "hw/ is stale: export/ir.json changed since 'sbnn synth' made it"),
    "stale-hw-sim-rtl": (new_export, ["sim", "--run", RUN, "--rtl"], 2, "hw/ is stale"),
    "folding-is-a-directory": (directory_folding, ["synth", "--run", RUN], 2, "is a directory"),
    "synth-tool-fails": (nothing, ["synth", "--run", RUN, "--target-fps", "150000"], 2, "Yosys synthesis failed"),
    "synth-timeout": (nothing, ["synth", "--run", RUN, "--target-fps", "150000", "--set", "synth_timeout=1"], 2,
                      "longer than 1.0 s"),
    "deploy-build-without-vivado": (nothing, ["deploy", "--run", RUN, "--build"], 2, "Vivado is not installed"),
}
#: per case: extra environment of the command
CASE_ENV = {"synth-tool-fails": {"FAKE_YOSYS_FAIL": "1"}, "synth-timeout": {"FAKE_YOSYS_SLEEP": "20"},
            "deploy-build-without-vivado": {"PATH": os.path.dirname(sys.executable) + ":/usr/bin:/bin"}}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_keeps_the_last_good_result(corpus, tmp_path, case):
    mutate, argv, code, message = CASES[case]
    shutil.copytree(corpus.other, tmp_path / "_other")
    shutil.copy2(corpus.foreign, tmp_path / "_foreign.onnx")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    run = corpus.copy(tmp_path / "run")
    extra = [str(a) for a in mutate(run, scratch)]
    before = corpus.snapshot(tmp_path)
    tiny = [x for s in corpus.tiny for x in ("--set", s)]
    args = [b for a in argv for b in (tiny if a == TINY else [a.format(run=run, tmp=scratch,
                                                                      foreign=tmp_path / "_foreign.onnx")])] + extra
    proc = corpus.sbnn(args, corpus.sbnn_env(tmp_path, **CASE_ENV.get(case, {})))
    line = corpus.one_line(proc, code)
    assert line.startswith(f"sbnn {argv[0]}: error: ") and message in line, line
    corpus.assert_kept(tmp_path, before, allow=("cache/", "fake_yosys"))
    assert not any(p.name.endswith((".tmp", ".old")) for p in run.iterdir()), list(run.iterdir())


def test_a_second_process_is_refused_with_the_holder_named(corpus, tmp_path):
    run = corpus.copy(tmp_path / "run")
    before = corpus.snapshot(run)
    with runlock.locked(RunDir(run)):
        for argv in (["train", "--run", run], ["export", "--run", run, "--force"], ["synth", "--run", run],
                     ["sim", "--run", run], ["deploy", "--run", run, "--no-build"]):
            line = corpus.one_line(corpus.sbnn(argv, corpus.env), 75)
            assert f"is in use by pid {os.getpid()}" in line and "started" in line, line
    corpus.assert_kept(run, before)


def test_concurrent_trainings_of_one_run(corpus, tmp_path):
    """Two ``sbnn train`` on one run directory: the second is refused, the first finishes alone."""
    run = tmp_path / "run"
    args = ["train", "--run", run, *[x for s in corpus.tiny for x in ("--set", s)], "--set", "optim.epochs=4"]
    first = subprocess.Popen([sys.executable, "-m", "sbnn.cli", *map(str, args)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=corpus.env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not ((run / ".lock").exists() and (run / ".lock").read_text()):
            time.sleep(0.05)
        second = corpus.sbnn([*args[:3], "--sparsity", "0.5"], corpus.env)
        assert f"is in use by pid {first.pid}" in corpus.one_line(second, 75)
    finally:
        out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    cfg = TrainConfig.resolve(run / "train" / "config.yaml")
    assert cfg.quant.sparsity == 0.75 and cfg.optim.epochs == 4


def test_full_disk_keeps_the_previous_export(corpus, tmp_path):
    """Writes beyond a file-size limit fail like a full disk (EFBIG instead of ENOSPC), for root too."""
    run = corpus.copy(tmp_path / "run")
    before = corpus.snapshot(run)

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    proc = corpus.sbnn(["export", "--run", run, "--force"], corpus.env, preexec_fn=limit)
    assert "File too large" in corpus.one_line(proc, 1)
    corpus.assert_kept(run, before)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_run_directory(corpus, tmp_path):
    run = corpus.copy(tmp_path / "run")
    before = corpus.snapshot(run)
    for p in [run, *run.rglob("*")]:
        if p.is_dir():
            p.chmod(0o555)
    try:
        assert "Permission denied" in corpus.one_line(corpus.sbnn(["export", "--run", run, "--force"], corpus.env), 1)
    finally:
        for p in [run, *run.rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
    corpus.assert_kept(run, before)


@pytest.mark.parametrize("err", [errno.EROFS, errno.ENOSPC, errno.EACCES])
def test_refused_writes_are_one_line(corpus, tmp_path, monkeypatch, capsys, err):
    """A read-only file system, a full disk or missing permissions (root ignores the last two in a real
    folder, so the refusal is injected where every file is renamed into place)."""
    from sbnn.cli import main

    run = corpus.copy(tmp_path / "run")
    before = corpus.snapshot(run)
    real = os.replace

    def refuse(src, dst, *a, **k):
        if str(dst).startswith(str(run)):
            raise OSError(err, os.strerror(err), str(dst))
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", refuse)
    assert main(["export", "--run", str(run), "--force"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"sbnn export: error: {os.strerror(err)}: {run}"), lines
    monkeypatch.setattr(os, "replace", real)
    corpus.assert_kept(run, before)
