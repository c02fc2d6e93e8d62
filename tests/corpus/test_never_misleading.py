"""Not errors, but never misleading: "up to date" means the files match, stale values are marked, an
unreachable target says what was reached, a design far too large is refused before synthesis, names in the
Verilog are ASCII."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np

from sbnn.ir import save
from sbnn.ir.synthetic import random_model
from sbnn.runs import RunDir


def test_export_is_not_up_to_date_while_a_file_is_missing(corpus, tmp_path):
    from sbnn import provenance
    from sbnn.export.verify import ir_differences
    from sbnn.ir import load

    run = corpus.copy(tmp_path / "run")
    same = ["export", "--run", run, "--samples", "64"]  # the fixture's export config
    proc = corpus.sbnn(same, corpus.env)
    assert proc.returncode == 0 and "export is up to date" in proc.stdout, proc.stdout + proc.stderr
    (run / "export" / "ir.npz").unlink()
    proc = corpus.sbnn(same, corpus.env)
    assert proc.returncode == 0 and "up to date" not in proc.stdout, proc.stdout + proc.stderr
    assert provenance.check(RunDir(run), "export").state == "current"
    assert ir_differences(load(run / "export" / "ir"), load(corpus.good / "export" / "ir")) == []


def test_report_marks_what_a_new_training_made_stale(corpus, tmp_path):
    run = corpus.copy(tmp_path / "run")
    shutil.rmtree(run / "train")
    shutil.copytree(corpus.other / "train", run / "train")  # as 'sbnn train --force' with another sparsity leaves it
    proc = corpus.sbnn(["report", "--run", run], corpus.env)
    assert proc.returncode == 0, proc.stderr
    for stage in ("export/ stale: train/checkpoint.pt changed", "hw/ stale: made from export/",
                  "synth/ stale", "sim/ stale", "deploy/ stale"):
        assert stage in proc.stdout, proc.stdout
    assert f"re-run 'sbnn export --run {run}', then 'sbnn synth --run {run}', then 'sbnn sim --rtl --run {run}', " \
        f"then 'sbnn deploy --run {run}'" in proc.stdout
    md = (run / "report" / "report.md").read_text()
    assert md.count("STALE: export/ stale: train/checkpoint.pt changed") == 1  # the warning at the top
    rows = {ln.split(" | ")[0].strip("| "): ln for ln in md.splitlines() if ln.startswith("| ")}
    assert rows["resources (Yosys, xc7z020)"].endswith("[STALE] |")  # synth/: the old design's count
    assert rows["accuracy, bit-exact (integer simulator)"].endswith("[STALE] |")  # sim/: the old export's
    assert "[STALE]" not in rows["accuracy, float model (PyTorch, test split)"]  # train/: the new model, current
    csv = (run / "report" / "report.csv").read_text()
    assert "export (stale: train/checkpoint.pt changed)" in csv


def test_unreachable_target_fps_says_what_was_reached(corpus, tmp_path):
    run = corpus.copy(tmp_path / "run")
    proc = corpus.sbnn(["synth", "--run", run, "--target-fps", "1e12"], corpus.env)
    assert proc.returncode == 0, proc.stderr
    assert "target 1e+12 frames/s NOT reached: the design reaches 100,000,000 frames/s" in proc.stdout.replace("\n", " ")
    cyc = json.loads((run / "hw" / "cycles.json").read_text())
    assert cyc["target"] == {"frames_per_second": 1e12, "met": False} and cyc["frames_per_second"] == 1e8


def test_capacity_precheck_refuses_a_far_too_large_design(corpus, tmp_path):
    """1024 x 1024 folded PE = SIMD = 64 with flip-flop multiplexers: ~2 M LUTs by the cost model, refused in
    seconds instead of after hours of synthesis; --force synthesizes it anyway (and records the same estimate)."""
    model = random_model(np.random.default_rng(0), input_shape=(1, 1, 1024), convs=(), dense=(1024,), sparsity=0.5)
    save(model, tmp_path / "big" / "export" / "ir")
    (tmp_path / "fold.json").write_text(json.dumps({"mvu0": {"PE": 64, "SIMD": 64, "gather": "full"}}))
    args = ["synth", "--run", tmp_path / "big", "--folding", tmp_path / "fold.json"]
    line = corpus.one_line(corpus.sbnn(args, corpus.env), 2)
    found = re.search(r"cannot fit the xc7z020: the cost model estimates ([\d,]+) LUTs", line)
    assert found and "in mvu0" in line, line
    est = int(found.group(1).replace(",", ""))
    assert est > 2.5 * 53_200
    assert "--force" in line and not (tmp_path / "big" / "hw").exists()
    forced = corpus.sbnn([*args, "--force", "--report-only"], corpus.env)
    assert forced.returncode == 0, forced.stderr  # the stand-in synthesis reports a small count
    assert json.loads((tmp_path / "big" / "hw" / "cycles.json").read_text())["logic_estimate_lut"] == est


def test_run_names_become_ascii_verilog_identifiers(corpus, tmp_path):
    """An export names the IR after its run directory; the Verilog keeps ASCII letters, digits and '_'."""
    model = random_model(np.random.default_rng(0), input_shape=(6, 6, 1), convs=(4,), dense=(8,), name="run #1 (ß)")
    run = tmp_path / "run #1 (ß)"
    save(model, run / "export" / "ir")
    proc = corpus.sbnn(["synth", "--run", run, "--no-synth"], corpus.env)
    assert proc.returncode == 0, proc.stderr
    rtl = run / "hw" / "rtl"
    assert all(f.name.isascii() for f in rtl.iterdir())
    assert all(f.read_text().isascii() for f in rtl.glob("*.v"))
    assert (rtl / "filelist.f").read_text().splitlines()[-1] == "run__1_____top.v"
