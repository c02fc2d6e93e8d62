"""The malformed-input corpus of issue 13 as a test suite: hostile but realistic input to every stage.

Each case copies one good run directory (trained, exported, synthesized, simulated, deployed: a session
fixture), damages it or passes bad options, runs the real ``sbnn`` command in a subprocess (as a user would:
warnings and tracebacks land on stderr) and asserts the exit code, exactly one line on stderr naming the
problem, no traceback, and that every file of the previous good result is byte-identical afterwards (new
files may appear only in ``.<stage>.failed`` evidence folders, the lock file and ``report/``). Kill tests
SIGKILL a stage at fixed points of its swap (``$SBNN_FAULT_POINT``) and during a slow synthesis tool.

Synthesis runs a small stand-in for Yosys (``$SBNN_YOSYS``, :data:`FAKE_YOSYS`): it reads the generated
script, can sleep or fail on request, and writes a stat file in Yosys' format, so that the stage's failure
handling is tested in seconds; the real Yosys flow is tested in tests/hw.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest

from sbnn import runlock
from sbnn.export.config import ExportConfig
from sbnn.export.pipeline import export
from sbnn.ir import save
from sbnn.ir.synthetic import random_model
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
                              foreign=root / "foreign.onnx")


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
    "lr-inf": (nothing, ["train", "--run", RUN, "--force", *sum((["--set", s] for s in TINY), []),
                         "--set", "quant.sparsity=0.75", "--set", "optim.lr=inf"], 2, "training diverged"),
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
    before = snapshot(tmp_path)
    args = [a.format(run=run, tmp=scratch, foreign=tmp_path / "_foreign.onnx") for a in argv] + extra
    proc = sbnn(args, sbnn_env(tmp_path, **CASE_ENV.get(case, {})))
    line = one_line(proc, code)
    assert line.startswith(f"sbnn {argv[0]}: error: ") and message in line, line
    assert_kept(tmp_path, before, allow=("cache/", "fake_yosys"))
    assert not any(p.name.endswith((".tmp", ".old")) for p in run.iterdir()), list(run.iterdir())


def test_a_second_process_is_refused_with_the_holder_named(corpus, tmp_path):
    run = corpus.copy(tmp_path / "run")
    before = snapshot(run)
    with runlock.locked(RunDir(run)):
        for argv in (["train", "--run", run], ["export", "--run", run, "--force"], ["synth", "--run", run],
                     ["sim", "--run", run], ["deploy", "--run", run, "--no-build"]):
            line = one_line(sbnn(argv, corpus.env), 75)
            assert f"is in use by pid {os.getpid()}" in line and "started" in line, line
    assert_kept(run, before)


def test_concurrent_trainings_of_one_run(corpus, tmp_path):
    """Two ``sbnn train`` on one run directory: the second is refused, the first finishes alone."""
    run = tmp_path / "run"
    args = ["train", "--run", run, *sum((["--set", s] for s in TINY), []), "--set", "optim.epochs=4"]
    first = subprocess.Popen([sys.executable, "-m", "sbnn.cli", *map(str, args)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=corpus.env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not ((run / ".lock").exists() and (run / ".lock").read_text()):
            time.sleep(0.05)
        second = sbnn([*args[:3], "--sparsity", "0.5"], corpus.env)
        assert f"is in use by pid {first.pid}" in one_line(second, 75)
    finally:
        out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    cfg = TrainConfig.resolve(run / "train" / "config.yaml")
    assert cfg.quant.sparsity == 0.75 and cfg.optim.epochs == 4


def test_full_disk_keeps_the_previous_export(corpus, tmp_path):
    """Writes beyond a file-size limit fail like a full disk (EFBIG instead of ENOSPC), for root too."""
    run = corpus.copy(tmp_path / "run")
    before = snapshot(run)

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))

    proc = sbnn(["export", "--run", run, "--force"], corpus.env, preexec_fn=limit)
    assert "File too large" in one_line(proc, 1)
    assert_kept(run, before)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_run_directory(corpus, tmp_path):
    run = corpus.copy(tmp_path / "run")
    before = snapshot(run)
    for p in [run, *run.rglob("*")]:
        if p.is_dir():
            p.chmod(0o555)
    try:
        assert "Permission denied" in one_line(sbnn(["export", "--run", run, "--force"], corpus.env), 1)
    finally:
        for p in [run, *run.rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
    assert_kept(run, before)


# ---- killed stages ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("point", ["export:commit", "export:swap"])
def test_export_killed_while_swapping_in_keeps_the_old_export(corpus, tmp_path, point):
    run = corpus.copy(tmp_path / "run")
    before = snapshot(run)
    proc = sbnn(["export", "--run", run, "--force", "--samples", "64"], sbnn_env(tmp_path, SBNN_FAULT_POINT=point))
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert (run / ".export.tmp").exists() or (run / ".export.old").exists()
    proc = sbnn(["sim", "--run", run], corpus.env)  # the next command under the lock repairs the swap
    assert proc.returncode == 0, proc.stderr
    assert_kept(run, before, allow=("sim/",))
    assert not [p.name for p in run.iterdir() if p.name.startswith(".export")]


@pytest.mark.parametrize("point", ["hw:commit", "hw:swap", "synth:swap"])
def test_synth_killed_while_swapping_in(corpus, tmp_path, point):
    """Killed before hw/ moved: everything as before. Killed between the hw/ and the synth/ swap: the new hw/
    is in, the old synth/ is restored and the report marks it stale (it belongs to the old hw/)."""
    run = corpus.copy(tmp_path / "run")
    before = snapshot(run)
    proc = sbnn(["synth", "--run", run, "--target-fps", "150000"], sbnn_env(tmp_path, SBNN_FAULT_POINT=point))
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    report = sbnn(["report", "--run", run], corpus.env)  # no lock needed to read; repairs when nobody holds it
    assert report.returncode == 0, report.stderr
    if point == "synth:swap":
        assert "synth/ stale: hw/" in report.stdout and "[STALE]" in report.stdout
        assert_kept(run, before, allow=("hw/", "report/"))
        assert (run / "synth" / "report.json").read_bytes() == before["synth/report.json"]
    else:
        assert "STALE" not in report.stdout
        assert_kept(run, before, allow=("report/",))


def test_synth_killed_during_synthesis_keeps_hw_and_synth(corpus, tmp_path):
    run = corpus.copy(tmp_path / "run")
    before = snapshot(run)
    started = tmp_path / "started"
    env = sbnn_env(tmp_path, FAKE_YOSYS_SLEEP="60", FAKE_YOSYS_STARTED=str(started))
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
    report = sbnn(["report", "--run", run], corpus.env)
    assert report.returncode == 0 and "STALE" not in report.stdout, report.stdout
    assert_kept(run, before, allow=("report/",))
    again = sbnn(["synth", "--run", run, "--target-fps", "150000"], corpus.env)  # the lock died with the process
    assert again.returncode == 0, again.stderr
    assert json.loads((run / "hw" / "cycles.json").read_text())["target"]["met"]
    assert not [p.name for p in run.iterdir() if p.name.startswith((".hw", ".synth"))]


# ---- not errors, but never misleading ----------------------------------------------------------------------------

def test_export_is_not_up_to_date_while_a_file_is_missing(corpus, tmp_path):
    from sbnn import provenance
    from sbnn.export.verify import ir_differences
    from sbnn.ir import load

    run = corpus.copy(tmp_path / "run")
    same = ["export", "--run", run, "--samples", "64"]  # the fixture's export config
    proc = sbnn(same, corpus.env)
    assert proc.returncode == 0 and "export is up to date" in proc.stdout, proc.stdout + proc.stderr
    (run / "export" / "ir.npz").unlink()
    proc = sbnn(same, corpus.env)
    assert proc.returncode == 0 and "up to date" not in proc.stdout, proc.stdout + proc.stderr
    assert provenance.check(RunDir(run), "export").state == "current"
    assert ir_differences(load(run / "export" / "ir"), load(corpus.good / "export" / "ir")) == []


def test_report_marks_what_a_new_training_made_stale(corpus, tmp_path):
    run = corpus.copy(tmp_path / "run")
    shutil.rmtree(run / "train")
    shutil.copytree(corpus.other / "train", run / "train")  # as 'sbnn train --force' with another sparsity leaves it
    proc = sbnn(["report", "--run", run], corpus.env)
    assert proc.returncode == 0, proc.stderr
    for stage in ("export/ stale: train/checkpoint.pt changed", "hw/ stale: made from export/",
                  "synth/ stale", "sim/ stale", "deploy/ stale"):
        assert stage in proc.stdout, proc.stdout
    rows = {ln.split("|")[1].strip(): ln for ln in proc.stdout.splitlines() if ln.startswith("| ")}
    assert "[STALE]" in rows["LUT"] and "[STALE]" in rows["test_acc"] and "[STALE]" not in rows["weight_sparsity"]
    csv = (run / "report" / "report.csv").read_text()
    assert "export (stale: train/checkpoint.pt changed)" in csv


def test_unreachable_target_fps_says_what_was_reached(corpus, tmp_path):
    run = corpus.copy(tmp_path / "run")
    proc = sbnn(["synth", "--run", run, "--target-fps", "1e12"], corpus.env)
    assert proc.returncode == 0, proc.stderr
    assert "target 1e+12 frames/s NOT reached: the design reaches 100,000,000 frames/s" in proc.stdout.replace("\n", " ")
    cyc = json.loads((run / "hw" / "cycles.json").read_text())
    assert cyc["target"] == {"frames_per_second": 1e12, "met": False} and cyc["frames_per_second"] == 1e8


def test_capacity_precheck_refuses_a_far_too_large_design(corpus, tmp_path):
    """1024 x 1024 folded PE = SIMD = 64 with flip-flop multiplexers: ~2.2 M LUTs by the cost model, refused in
    seconds instead of after hours of synthesis; --force synthesizes it anyway."""
    model = random_model(np.random.default_rng(0), input_shape=(1, 1, 1024), convs=(), dense=(1024,), sparsity=0.5)
    save(model, tmp_path / "big" / "export" / "ir")
    (tmp_path / "fold.json").write_text(json.dumps({"mvu0": {"PE": 64, "SIMD": 64, "gather": "full"}}))
    args = ["synth", "--run", tmp_path / "big", "--folding", tmp_path / "fold.json"]
    line = one_line(sbnn(args, corpus.env), 2)
    assert "cannot fit the xc7z020: the cost model estimates 2,189,775 LUTs" in line and "in mvu0" in line, line
    assert "--force" in line and not (tmp_path / "big" / "hw").exists()
    forced = sbnn([*args, "--force", "--report-only"], corpus.env)
    assert forced.returncode == 0, forced.stderr  # the stand-in synthesis reports a small count
    assert json.loads((tmp_path / "big" / "hw" / "cycles.json").read_text())["logic_estimate_lut"] == 2189775


def test_run_names_become_ascii_verilog_identifiers(corpus, tmp_path):
    """An export names the IR after its run directory; the Verilog keeps ASCII letters, digits and '_'."""
    model = random_model(np.random.default_rng(0), input_shape=(6, 6, 1), convs=(4,), dense=(8,), name="run #1 (ß)")
    run = tmp_path / "run #1 (ß)"
    save(model, run / "export" / "ir")
    proc = sbnn(["synth", "--run", run, "--no-synth"], corpus.env)
    assert proc.returncode == 0, proc.stderr
    rtl = run / "hw" / "rtl"
    assert all(f.name.isascii() for f in rtl.iterdir())
    assert all(f.read_text().isascii() for f in rtl.glob("*.v"))
    assert (rtl / "filelist.f").read_text().splitlines()[-1] == "run__1_____top.v"


@pytest.mark.parametrize("err", [errno.EROFS, errno.ENOSPC, errno.EACCES])
def test_refused_writes_are_one_line(corpus, tmp_path, monkeypatch, capsys, err):
    """A read-only file system, a full disk or missing permissions (root ignores the last two in a real
    folder, so the refusal is injected where every file is renamed into place)."""
    from sbnn.cli import main

    run = corpus.copy(tmp_path / "run")
    before = snapshot(run)
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
    assert_kept(run, before)
