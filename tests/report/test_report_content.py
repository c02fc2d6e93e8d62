"""The report: every value in its tables is the value in the run directories, figures and page exist,
and the missing FINN baseline is stated. Also ``sbnn report --run <single run>``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from sbnn.cli import main
from sbnn.report import tables
from sbnn.report.build import build_report, rows_of
from sbnn.report.plots import pareto_front

FIGURES = ["summary", "accuracy_vs_sparsity", "resources_vs_sparsity", "throughput_vs_sparsity", "pareto_accuracy_lut",
           "layers_tiny", "layers_tiny_at_target"]


def _j(path: Path) -> dict:
    return json.loads(path.read_text())


def _expected(run: Path) -> dict:
    """The columns, read here independently of sbnn.report.collect."""
    final = _j(run / "train" / "metrics.json")["final"]
    syn, eq_syn = _j(run / "synth" / "report.json"), _j(run / "fps" / "synth" / "report.json")
    cyc, eq_cyc = _j(run / "hw" / "cycles.json"), _j(run / "fps" / "hw" / "cycles.json")
    rtl = _j(run / "sim" / "rtl_regression.json")["rtl"]
    return {"method": yaml.safe_load((run / "train" / "config.yaml").read_text())["quant"]["method"],
            "weight_sparsity": final["sparsity"], "float_test_acc": final["test_acc"],
            "test_acc": _j(run / "sim" / "report.json")["test_accuracy"], "LUT": syn["total"]["LUT"],
            "FF": syn["total"]["FF"], "BRAM36": syn["bram36_equivalent"], "DSP": syn["total"]["DSP"],
            "cycles_per_frame": cyc["interval_cycles"], "latency_cycles": cyc["latency_cycles"],
            "fps": cyc["frames_per_second"], "eq_LUT": eq_syn["total"]["LUT"], "eq_FF": eq_syn["total"]["FF"],
            "eq_FIFO_LUT": sum(r["LUT"] for k, r in eq_syn["instances"].items() if k.startswith("u_fifo")),
            "eq_BRAM36": eq_syn["bram36_equivalent"], "eq_cycles_per_frame": eq_cyc["interval_cycles"],
            "eq_fps": eq_cyc["frames_per_second"], "eq_target_fps": 2000000.0, "rtl_samples": rtl["samples"],
            "rtl_equal": True, "status": "done", "arch": "tiny"}


@pytest.fixture(scope="module")
def report(tiny_sweep) -> Path:
    root, _ = tiny_sweep
    return build_report(root, log=lambda m: None)


def test_csv_values_equal_the_run_directories(tiny_sweep, report):
    root, _ = tiny_sweep
    with open(report / "report.csv") as fh:
        rows = {r["name"]: r for r in csv.DictReader(fh)}
    assert sorted(rows) == sorted(["tiny-bnn", "tiny-ab-closed-0.9", "broken-bnn", "broken-ab-closed-0.9"])
    for name in ("tiny-bnn", "tiny-ab-closed-0.9"):
        exp = _expected(root / name)
        for key, value in exp.items():
            got = rows[name][key]
            assert (float(got) if isinstance(value, (int, float)) and not isinstance(value, bool)
                    else got) == (value if not isinstance(value, bool) else str(value)), (name, key)
        assert rows[name]["finn_LUT"] == ""  # baseline not run
    assert rows["tiny-ab-closed-0.9"]["target_sparsity"] == "0.9"
    assert rows["broken-bnn"]["status"] == "failed" and rows["broken-bnn"]["LUT"] == ""


def test_markdown_table_shows_the_same_values(tiny_sweep, report):
    root, _ = tiny_sweep
    md = (report / "report.md").read_text()
    for name in ("tiny-bnn", "tiny-ab-closed-0.9"):
        exp = _expected(root / name)
        line = next(ln for ln in md.splitlines() if ln.startswith(f"| {name} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        header = [h for h, _ in tables.MAIN]
        row = dict(zip(header, cells))
        assert row["test acc. (bit-exact)"] == f"{100 * exp['test_acc']:.2f} %"
        assert row["LUT"] == f"{exp['LUT']:,}"
        assert row["FF @ target"] == f"{exp['eq_FF']:,}"
        assert row["of which FIFO LUT"] == f"{exp['eq_FIFO_LUT']:,}"
        assert row["cycles/frame"] == f"{exp['cycles_per_frame']:,}"
        assert row["frames/s @ target"] == f"{exp['eq_fps']:,.0f}"
        assert row["RTL == sim (inputs)"] == "== (4)"
        # the datapaths of the equal-throughput design, counted from its folding.json
        fold = _j(root / name / "fps" / "hw" / "folding.json")
        labels = [e["style"] + (f"/{e['gather']}" if "gather" in e else "") for e in fold.values()]
        assert row["MVUs @ target"] == ", ".join(f"{k} x{labels.count(k)}" for k in dict.fromkeys(labels))
    assert "FINN baseline: NOT RUN" in md
    assert "2 points done, 2 not done (broken-bnn, broken-ab-closed-0.9)" in md


def test_figures_and_html_page(report):
    for stem in FIGURES:
        assert (report / f"{stem}.png").stat().st_size > 1000
        assert (report / f"{stem}.svg").read_text().lstrip().startswith("<?xml")
    page = (report / "index.html").read_text()
    for stem in FIGURES:
        assert f"<img src='{stem}.png'" in page
    assert "NOT RUN" in page and "<table>" in page


def test_rows_of_matches_csv(tiny_sweep, report):
    root, _ = tiny_sweep
    with open(report / "report.csv") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert [r["name"] for r in csv_rows] == [r["name"] for r in rows_of(root)]


def test_single_run_report(tiny_sweep, tmp_path, capsys):
    root, _ = tiny_sweep
    run = root / "tiny-ab-closed-0.9"
    out = tmp_path / "rep"
    assert main(["report", "--run", str(run), "--out", str(out)]) == 0
    with open(out / "report.csv") as fh:
        (row,) = list(csv.DictReader(fh))
    assert float(row["LUT"]) == _j(run / "synth" / "report.json")["total"]["LUT"]
    md = (out / "report.md").read_text()
    layers = _j(run / "synth" / "report.json")["layers"]
    assert [ln for ln in md.splitlines() if ln.startswith(f"| {layers[1]['layer']} |")] == [
        f"| {layers[1]['layer']} | {layers[1]['LUT']:,} | {layers[1]['FF']:,} | "
        f"{layers[1]['BRAM36'] + layers[1]['BRAM18'] / 2:,.0f} |"]
    assert (out / "layers.png").exists() and (out / "index.html").exists()


def test_report_of_an_empty_folder_is_a_one_line_error(tmp_path, capsys):
    assert main(["report", "--run", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nothing to report" in err


def test_pareto_front():
    pts = [(100, 80.0), (50, 70.0), (200, 79.0), (60, 75.0), (50, 60.0), (300, 90.0)]
    assert pareto_front(pts) == [(50, 70.0), (60, 75.0), (100, 80.0), (300, 90.0)]
