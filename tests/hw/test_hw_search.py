"""The measured folding search (``sbnn synth --target-fps N --search K``): the candidates it synthesizes, the
design it keeps, and its one-line refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sbnn.arch import folding as fold
from sbnn.arch.cost import vector_fed
from sbnn.cli import main
from sbnn.ir import save
from sbnn.ir.synthetic import random_model


def _model(seed: int = 0, sparsity: float = 0.8):
    return random_model(np.random.default_rng(seed), input_shape=(6, 6, 1), convs=(4,), dense=(8,), sparsity=sparsity)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("fps", [2_000, 20_000, 200_000])
@pytest.mark.parametrize("style", ["auto", "sparse", "dense"])
def test_candidates_are_each_layers_ranked_entries(seed, fps, style):
    """Candidate i takes every layer's i-th best entry (its last where a layer has fewer): the first is the
    automatic folding, none repeats, and each meets the target whenever the automatic one does."""
    model = _model(seed)
    cands = fold.candidates(model, fps, style=style, gather="auto", top=4)
    best = fold.auto(model, fps, style=style, gather="auto")
    assert cands[0].folding == best.folding and 1 <= len(cands) <= 4
    assert len({json.dumps(c.folding, sort_keys=True) for c in cands}) == len(cands)
    target = fold.target_cycles(fps)
    for name, layer in ((m.name, m) for m in model.mvus):
        ranked = [e for e, _ in fold.layer_entries(layer, target, style, "auto", vector_fed(model, layer), top=4)]
        for i, c in enumerate(cands):
            assert c.folding[name] in ranked
            assert ranked.index(c.folding[name]) <= i
    assert not best.met or all(c.met for c in cands)


@pytest.fixture
def run(tmp_path):
    save(_model(), tmp_path / "export" / "ir")
    return tmp_path


def test_search_keeps_the_design_with_the_fewest_lut(run, hwt, capsys):
    hwt.need_yosys()
    assert main(["synth", "--run", str(run), "--target-fps", "20000", "--search", "3"]) == 0
    cyc = json.loads((run / "hw" / "cycles.json").read_text())
    tried = cyc["folding_search"]
    assert len(tried) >= 2 and [t["selected"] for t in tried].count(True) == 1
    kept = next(t for t in tried if t["selected"])
    assert (kept["LUT"], kept["BRAM36"]) == min((t["LUT"], t["BRAM36"]) for t in tried
                                                if t["meets_clock"] or not any(u["meets_clock"] for u in tried))
    assert kept["meets_clock"] or not any(t["meets_clock"] for t in tried)
    assert tried[0]["origin"] == "estimate rank 1"
    assert tried[0]["folding"] == fold.auto(_model(), 20_000, style="auto", gather="auto").folding
    # the design the run holds is the one kept: its folding and its synthesis
    written = json.loads((run / "hw" / "folding.json").read_text())
    assert {n: (e["PE"], e["SIMD"]) for n, e in written.items()} == \
        {n: (e["PE"], e["SIMD"]) for n, e in kept["folding"].items()}
    rep = json.loads((run / "synth" / "report.json").read_text())
    assert rep["total"]["LUT"] == kept["LUT"] and cyc["frames_per_second"] >= 20_000
    assert {r["layer"]: r["LUT"] for r in rep["layers"]} == kept["layer_lut"]
    out = capsys.readouterr().out
    assert f"folding search: {len(tried)} foldings synthesized; kept the {kept['origin']} one, {kept['LUT']:,} LUT" in out
    # the run's report says how the folding was chosen; its dense baseline is searched as hard
    assert main(["report", "--run", str(run), "--out", str(run / "rep"), "--baseline", "dense"]) == 0
    base = json.loads((run / "baseline-dense" / "hw" / "cycles.json").read_text())
    assert len(base["folding_search"]) >= 2 and all(e["style"] == "dense" for t in base["folding_search"]
                                                    for e in t["folding"].values())
    md = (run / "rep" / "report.md").read_text()
    assert (f"| folding | measured search: {len(tried)} foldings synthesized, kept the {kept['origin']} one "
            f"({kept['LUT']:,} LUT; the estimate's first: {tried[0]['LUT']:,} LUT) |") in md


@pytest.mark.parametrize("args, message", [
    (["--search", "3"], "--search 3: it chooses among the foldings for a rate: add --target-fps"),
    (["--search", "3", "--target-fps", "2000", "--unrolled"], "--search 3: it chooses the folding itself"),
    (["--search", "3", "--target-fps", "2000", "--no-synth"], "--search 3: it synthesizes every candidate: drop --no-synth"),
    (["--search", "3", "--target-fps", "2000", "--tool", "vivado"], "--search 3: it synthesizes with Yosys"),
    (["--search", "3", "--target-fps", "2000", "--backend", "hls4ml"], "--search 3: it searches sbnn's own RTL"),
    (["--search", "0", "--target-fps", "2000"], "invalid HwConfig value for 'search'"),
])
def test_search_refusals_are_one_line(run, capsys, args, message):
    assert main(["synth", "--run", str(run), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (run / "hw").exists()


def test_search_prefers_a_design_that_meets_the_clock(monkeypatch):
    """The cheapest candidate that misses the clock (by Yosys' timing estimate) loses to a dearer one that meets it."""
    from sbnn.hw import search as srch
    from sbnn.hw.config import HwConfig

    model = _model()
    cfg = HwConfig(target_fps=20_000, search=3)
    seen: list[dict] = []

    def fake_measure(spec, cfg):  # build is the identity below: the "design" is the folding itself
        i = len(seen)
        seen.append(spec)
        lut = 100 * (i + 1)
        return {"LUT": lut, "BRAM36": 0.0, "layers": {n: (lut, 0.0) for n in spec}, "fmax_mhz_estimate": 90.0 + i,
                "meets_clock": i > 0}

    monkeypatch.setattr(srch, "measure", fake_measure)
    spec, record = srch.search(model, cfg, build=lambda spec: spec)
    assert len(record) >= 2 and spec == seen[1]
    assert [r["selected"] for r in record] == [i == 1 for i in range(len(record))]
    assert not record[0]["meets_clock"] and record[1]["meets_clock"]
