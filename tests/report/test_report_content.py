"""The report: every value in its tables is the value in the run directories, figures and page exist,
and the missing FINN baseline is stated. Also ``sbnn report --run <single run>``."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from sbnn import fmt
from sbnn.cli import main
from sbnn.report import plots, tables
from sbnn.report.build import build_report, rows_of
from sbnn.report.plots import pareto_front
from sbnn.tools import has_tool

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


def md_tables(md: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every Markdown table of a page: (header, rows of cells)."""
    out, lines = [], md.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            cells = lambda ln: [c.strip() for c in ln.strip().strip("|").split(" | ")]  # noqa: E731
            body = []
            for ln in lines[i + 2 :]:
                if not ln.startswith("|"):
                    break
                body.append(cells(ln))
            out.append((cells(line), body))
    return out


def md_rows(md: str, spec) -> dict[str, dict[str, str]]:
    """The rows of the table whose header is ``spec``'s, by their first cell."""
    header = [h for h, _ in spec]
    (body,) = [b for h, b in md_tables(md) if h == header]
    return {r[0]: dict(zip(header, r)) for r in body}


def test_markdown_table_shows_the_same_values(tiny_sweep, report):
    root, _ = tiny_sweep
    md = (report / "report.md").read_text()
    acc, hw = md_rows(md, tables.ACCURACY), md_rows(md, tables.HARDWARE)
    for name in ("tiny-bnn", "tiny-ab-closed-0.9"):
        exp = _expected(root / name)
        assert acc[name]["bit-exact acc."] == fmt.pct(exp["test_acc"])
        assert acc[name]["float acc."] == fmt.pct(exp["float_test_acc"])
        assert acc[name]["torch == QONNX == sim"] == "=="
        assert acc[name]["sim == RTL (inputs)"] == "== (4)"
        assert hw[name]["LUT"] == f"{exp['LUT']:,}"
        assert hw[name]["FF @ target"] == f"{exp['eq_FF']:,}"
        assert hw[name]["frames/s @ target"] == fmt.sig(exp["eq_fps"])
        assert hw[name]["of which FIFO LUT"] == f"{exp['eq_FIFO_LUT']:,}"
        # the datapaths of the equal-throughput design, counted from its folding.json
        fold = _j(root / name / "fps" / "hw" / "folding.json")
        labels = [e["style"] + (f"/{e['gather']}" if "gather" in e else "") for e in fold.values()]
        assert hw[name]["MVUs @ target"] == ", ".join(f"{k} x{labels.count(k)}" for k in dict.fromkeys(labels))
    assert "FINN baseline: NOT RUN" in md
    assert "2 points done, 2 not done (broken-bnn, broken-ab-closed-0.9)" in md
    # numbers for people: no float printed at full precision, every table header named
    assert not re.search(r"\d\.\d{5,}", md)
    for header, _ in md_tables(md):
        assert all(header), header


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
    run = tmp_path / "run"
    shutil.copytree(root / "tiny-ab-closed-0.9", run, symlinks=True)
    (run / "sweep.json").unlink()  # a run that is not part of a sweep
    out = tmp_path / "rep"
    assert main(["report", "--run", str(run), "--out", str(out)]) == 0
    with open(out / "report.csv") as fh:
        (row,) = list(csv.DictReader(fh))
    syn, cyc = _j(run / "synth" / "report.json"), _j(run / "hw" / "cycles.json")
    ver, rtl = _j(run / "export" / "verify.json"), _j(run / "sim" / "rtl_regression.json")["rtl"]
    assert float(row["LUT"]) == syn["total"]["LUT"]
    md = (out / "report.md").read_text()
    tabs = {tuple(h): b for h, b in md_tables(md)}
    glance = dict(tabs[("what", "value")])
    assert glance["accuracy, bit-exact (integer simulator)"].startswith(fmt.pct(_j(run / "sim" / "report.json")["test_accuracy"]))
    assert glance["verification chain"] == "6 of 6 links hold"
    assert f"{syn['total']['LUT']:,} LUT ({fmt.sig(syn['utilization_percent']['LUT'])} %)" in glance["resources (Yosys, xc7z020)"]
    assert glance["dense baseline, same frames/s"] == "not made (sbnn report --baseline dense)"
    # Yosys' timing estimate in one line (not the raw per-stage record, which stays in synth/report.json)
    t = syn["timing"]
    assert glance["timing (estimate)"].startswith(f"Fmax {fmt.sig(t['fmax_mhz_estimate'])} MHz (")
    assert f"slowest stage {t['critical_instance']}," in glance["timing (estimate)"]
    verdict = "meets" if t["meets_clock"] else "does NOT meet"
    assert f"({verdict} {fmt.sig(t['clock_mhz'])} MHz with a {t['clock_margin_ns']:g} ns margin)" in glance["timing (estimate)"]
    assert not any(k.startswith("timing:") for k in glance) and "{" not in glance["timing (estimate)"]
    # the chain, link by link, as the export and the RTL run recorded it
    chain = {r[0]: r for r in tabs[("link", "samples", "result", "detail")]}
    v = ver["verification"]
    assert chain["integer PyTorch network == QONNX (execute_onnx)"][1:3] == [f"{v['torch_int_equals_qonnx']['samples']:,}", "=="]
    assert chain["QONNX == bit-exact simulator"][1:3] == [f"{v['qonnx_equals_sim']['samples']:,}", "=="]
    assert f"{v['float_model_vs_sim']['ties']} ties" in chain["float training model argmax == simulator argmax"][3]
    assert chain["bit-exact simulator == RTL (Verilator)"][1:3] == [str(rtl["samples"]), "=="]
    assert chain["RTL latency and interval == cycle model"][3] == (
        f"latency {rtl['latency']:,} (model {rtl['model_latency']:,}), interval {rtl['interval']:,} "
        f"(model {rtl['model_interval']:,}) cycles")
    # per layer: clocks against the interval, the bottleneck, zero bits and structure, resources
    (layer_body,) = [b for h, b in tabs.items() if h[:2] == ("layer", "op")]
    by_layer = {r[0].removesuffix(" (bottleneck)"): r for r in layer_body}
    for lay in syn["layers"][:-1]:
        r = by_layer[lay["layer"]]
        assert r[8:11] == [f"{lay['LUT']:,}", f"{lay['FF']:,}", fmt.count(lay["BRAM36"] + lay["BRAM18"] / 2)]
        clocks = max(s["cycles_per_frame"] for s in cyc["stages"] if s["layer"] == lay["layer"])
        assert r[6] == f"{clocks:,}" and r[7] == fmt.pct(clocks / cyc["interval_cycles"])
    bott = next(s["layer"] for s in cyc["stages"] if s["stage"] == cyc["bottleneck_stage"])
    assert [r[0] for r in layer_body if r[0].endswith("(bottleneck)")] == [f"{bott} (bottleneck)"]
    for name, zero in ver["ir"]["sparsity"].items():
        assert by_layer[name][4] == fmt.pct(zero) and by_layer[name][5] == ver["ir"]["structure"][name]
    # for people: no sweep file cited for a run outside a sweep, no long floats, every figure captioned
    assert "sweep" not in md and not re.search(r"\d\.\d{5,}", md)
    for stem in ("utilisation", "layer_clocks", "layer_zero_bits", "layer_resources"):
        assert (out / f"{stem}.png").stat().st_size > 1000 and (out / f"{stem}.svg").exists()
        n = next(i for i, ln in enumerate(md.splitlines()) if f"]({stem}.png)" in ln)
        assert "Reproduce: `sbnn " in md.splitlines()[n + 2]
    printed = capsys.readouterr().out
    assert "6 of 6 links hold" in printed and "…" not in printed


@pytest.mark.skipif(not has_tool("yosys"), reason="Yosys is not installed (pip install 'sbnn[hw]')")
def test_dense_baseline_at_the_same_frames_per_second(tiny_sweep, tmp_path, capsys):
    root, _ = tiny_sweep
    run = tmp_path / "run"
    shutil.copytree(root / "tiny-ab-closed-0.9", run, symlinks=True)
    assert main(["report", "--run", str(run), "--baseline", "dense"]) == 0
    base = run / "baseline-dense"
    assert (base / "export").resolve() == (run / "export").resolve()
    fold = _j(base / "hw" / "folding.json")
    assert fold and all(e["style"] == "dense" for e in fold.values())
    ours, theirs = _j(run / "hw" / "cycles.json"), _j(base / "hw" / "cycles.json")
    assert theirs["interval_cycles"] <= ours["interval_cycles"]  # at least the run's frames/s
    assert _j(run / "hw" / "folding.json") != fold  # the run's own design is untouched
    md = (run / "report" / "report.md").read_text()
    glance = dict(next(b for h, b in md_tables(md) if h == ["what", "value"]))
    b = _j(base / "synth" / "report.json")["total"]
    assert glance["dense baseline, same frames/s"].startswith(f"{b['LUT']:,} LUT, {b['FF']:,} FF")
    assert any("dense baseline" in h for h, _ in md_tables(md))  # the resources table shows the baseline too
    # a new design of the run (here: its cycles.json rewritten and recorded, as 'sbnn synth --target-fps' would)
    # leaves the baseline folded for the old frames/s: stale, marked, with the command that makes it again
    from sbnn import provenance
    from sbnn.runs import RunDir

    ours["interval_cycles"] += 1
    (run / "hw" / "cycles.json").write_text(json.dumps(ours))
    m = provenance.read(RunDir(run), "hw")
    provenance.record(run / "hw", "hw", m.inputs, m.outputs)
    md = (build_report(run, log=lambda m: None) / "report.md").read_text()
    glance = dict(next(b for h, b in md_tables(md) if h == ["what", "value"]))
    assert glance["dense baseline, same frames/s"].endswith("[STALE]")
    assert f"baseline-dense/hw/ stale: {(run / 'hw' / 'cycles.json').resolve()} changed" in md
    assert f"'sbnn report --run {run} --baseline dense'" in md
    # a design edited by hand since 'sbnn synth' wrote it: no baseline is folded for it
    (run / "hw" / "cycles.md").write_text("edited")
    assert main(["report", "--run", str(run), "--baseline", "dense"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "hw/cycles.md changed after 'sbnn synth' wrote it" in err, err


def test_report_of_an_empty_folder_is_a_one_line_error(tmp_path, capsys):
    assert main(["report", "--run", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nothing to report" in err


def test_pareto_front():
    pts = [(100, 80.0), (50, 70.0), (200, 79.0), (60, 75.0), (50, 60.0), (300, 90.0)]
    assert pareto_front(pts) == [(50, 70.0), (60, 75.0), (100, 80.0), (300, 90.0)]


@pytest.mark.parametrize(("structure", "fam"), [(None, ""), ("none", ""), ("row", "row"), ("1:8", "N:M"),
                                                 ("2:16", "N:M"), ("block:8", "block:8"), ("Block:4", "block:4")])
def test_structure_family(structure, fam):
    assert plots.family(structure) == fam


def _row(name: str, method: str, structure: str | None, zero_bits: float | None, acc: float) -> dict:
    return {"name": name, "arch": "mlp", "method": method, "structure": structure, "weight_sparsity": zero_bits,
            "test_acc": acc, "eq_LUT": 1000 * acc}


def test_structured_points_get_their_own_series_and_table_column():
    """Structured {alpha, beta} points are not drawn on the unstructured line: one series per method and
    structure family (all N:M points on one), and the sweep's accuracy table names each point's structure."""
    rows = [_row("bnn", "bnn", None, 0.5, 0.86), _row("c-0.9", "ab-closed", "none", 0.9, 0.85),
            _row("c-0.75", "ab-closed", "none", 0.75, 0.855), _row("c-1of8", "ab-closed", "1:8", 0.875, 0.84),
            _row("c-1of16", "ab-closed", "1:16", 0.9375, 0.83), _row("c-row-0.9", "ab-closed", "row", 0.9, 0.849),
            _row("c-block8", "ab-closed", "block:8", 0.875, 0.80), _row("c-x", "ab-closed", "none", None, 0.8)]
    got = {(m, f): [(x, y) for x, y, _ in pts] for m, f, pts in plots.series(rows, "mlp", "test_acc")}
    assert got == {("bnn", ""): [(0.5, 0.86)], ("ab-closed", ""): [(0.75, 0.855), (0.9, 0.85)],
                   ("ab-closed", "row"): [(0.9, 0.849)], ("ab-closed", "N:M"): [(0.875, 0.84), (0.9375, 0.83)],
                   ("ab-closed", "block:8"): [(0.875, 0.80)]}
    labels = {plots.series_style(m, f)[2] for m, f in got}
    assert len(labels) == len(got) and "{α,β} closed form, N:M" in labels
    spec = [c for c in tables.ACCURACY if c[0] == "mask structure"]
    assert [r[0] for r in tables.cells(rows, spec)[1]] == [fmt.MISSING, "none", "none", "1:8", "1:16", "row", "block:8", "none"]


def test_every_figure_has_axis_labels_and_a_caption(tiny_sweep, tmp_path, monkeypatch):
    """Every panel with data is labelled on both axes (sweep and single-run figures), and every figure on the
    page has a caption that says how to reproduce it."""
    from sbnn.report import plots, plots_run

    seen = []
    real = plots._save

    def checked(fig, out, stem):
        for ax in fig.axes:
            if ax.has_data():
                assert ax.get_xlabel() and ax.get_ylabel(), (stem, ax.get_title())
        seen.append(stem)
        return real(fig, out, stem)

    monkeypatch.setattr(plots, "_save", checked)
    monkeypatch.setattr(plots_run, "_save", checked)
    root, _ = tiny_sweep
    out = build_report(root, tmp_path / "sweep", log=lambda m: None)
    run = tmp_path / "run"
    shutil.copytree(root / "tiny-bnn", run, symlinks=True)
    build_report(run, log=lambda m: None)
    assert set(FIGURES) | {"utilisation", "layer_clocks", "layer_zero_bits", "layer_resources"} <= set(seen)
    for page in (out / "index.html", run / "report" / "index.html"):
        html = page.read_text()
        assert html.count("<img ") == html.count("<figcaption>") == html.count("Reproduce: <code>sbnn ") > 0


def test_a_partial_run_says_what_is_missing_and_flags_a_stale_stage(tmp_path):
    """A run with only train/ and export/: the report says which command makes each missing link and stage; an
    export whose checkpoint changed since it ran (issue 13's provenance: a new training) is named at the top with
    the command to re-run, and every value read from it is marked [STALE]."""
    from sbnn import provenance
    from sbnn.runs import RunDir

    run = tmp_path / "run"
    (run / "train").mkdir(parents=True)
    (run / "export").mkdir()
    (run / "train" / "metrics.json").write_text(json.dumps(
        {"meta": {"dataset": "digits"}, "history": [{}], "final": {"test_acc": 0.8999973336177475, "sparsity": 0.9}}))
    (run / "train" / "config.yaml").write_text("model: {arch: sfc}\nquant: {method: ab-closed, sparsity: 0.9}\n")
    (run / "train" / "checkpoint.pt").write_bytes(b"the weights the export read")
    (run / "export" / "verify.json").write_text(json.dumps(
        {"verification": {"qonnx_equals_sim": {"samples": 1000, "equal": True, "mismatching_samples": 0}},
         "accuracy": {"sim_test_accuracy": 0.9722222222222222, "test_samples": 360},
         "ir": {"sparsity": {"mvu0": 0.9, "mvu1": 0.875}, "structure": {"mvu0": "none", "mvu1": "1:8"}}}))
    provenance.record(run / "export", "export", provenance.inputs(RunDir(run), ["train/checkpoint.pt"]), ["verify.json"])
    out = build_report(run, log=lambda m: None)
    assert "STALE" not in (out / "report.md").read_text()
    (run / "train" / "checkpoint.pt").write_bytes(b"the weights of a new training")  # 'sbnn train --force' since
    out = build_report(run, log=lambda m: None)
    md = (out / "report.md").read_text()
    assert "0.8999" not in md and "90.0 %" in md and "97.2 % on 360" in md
    assert (f"STALE: export/ stale: train/checkpoint.pt changed. The values from these stages come from older inputs "
            f"or changed files and are marked [STALE] below; re-run 'sbnn export --run {run}'.") in md
    tabs = {tuple(h): b for h, b in md_tables(md)}
    glance = dict(tabs[("what", "value")])
    assert glance["accuracy, float model (PyTorch, test split)"] == "90.0 %"  # train/ is not stale
    assert glance["accuracy, bit-exact (integer simulator)"] == "97.2 % on 360 test images [STALE]"
    assert glance["verification chain"].endswith("[STALE]")
    chain = {r[0]: r for r in tabs[("link", "samples", "result", "detail")]}
    assert chain["QONNX == bit-exact simulator"][1:3] == ["1,000", "== [STALE]"]
    assert chain["bit-exact simulator == RTL (Verilator)"][2:] == ["not run", "run 'sbnn sim --rtl'"]
    stages = {r[0]: r[2] for r in tabs[("stage", "file", "state")]}
    assert stages == {"train": "unrecorded", "export": "STALE: train/checkpoint.pt changed",
                      "hw": "missing ('sbnn synth')", "synth": "missing ('sbnn synth')",
                      "sim": "missing ('sbnn sim --rtl')"}
    assert (out / "layer_zero_bits.png").exists()
    assert ("[STALE: drawn from export/, which is not current (see the warning at the top)]: Fraction of zero "
            "weight bits") in md  # a figure drawn from a stale stage says so in its caption
    page = (out / "index.html").read_text()
    assert page.count("<figure class=stale>") == page.count("<figure") == 1
    assert tabs[("layer", "zero bits [STALE]", "mask structure [STALE]")] == [["mvu0", "90.0 %", "none"],
                                                                              ["mvu1", "87.5 %", "1:8"]]
    with open(out / "report.csv") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["stale"] == "export (stale: train/checkpoint.pt changed)"
