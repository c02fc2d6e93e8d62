"""Folding from JSON, unrolled and automatic for a target frame rate; bad foldings are clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sbnn.arch import folding
from sbnn.arch.cost import logic_estimate, rank_estimate
from sbnn.arch.impl import load
from sbnn.arch.options import AUTO_GATHERS
from sbnn.arch.pipeline import build_pipeline
from sbnn.arch.schedule import plan_mvu, vector_clocks
from sbnn.errors import ConfigError, HardwareError
from sbnn.ir.synthetic import random_model
from sbnn.sim.cycles import performance, size_fifos


@pytest.fixture
def model():
    return random_model(np.random.default_rng(0), input_shape=(8, 8, 1), convs=(8,), dense=(16,), sparsity=0.9)


def test_json_round_trip_and_defaults(model, tmp_path):
    names = [m.name for m in model.mvus]
    spec = {"Defaults": {}, names[0]: {"PE": 4, "SIMD": 3}, names[1]: {"pe": 2}}
    path = tmp_path / "f.json"
    path.write_text(json.dumps(spec))
    out = folding.apply(model, load(path))
    assert (out.mvus[0].pe, out.mvus[0].simd) == (4, 3) and out.mvus[1].pe == 2
    assert model.mvus[0].pe == 1, "apply must not modify its input"
    assert folding.current(out)[names[0]] == {"PE": 4, "SIMD": 3}


@pytest.mark.parametrize("text, match", [
    ("[1, 2]", "expected an object"),
    ('{"mvu0": 3}', "must be an object"),
    ('{"mvu0": {"PE": 0}}', "positive integer"),
    ('{"mvu0": {"PE": true}}', "positive integer"),
    ('{"mvu0": {"ram_style": "block"}}', "unknown key"),
    ('{"mvu0": {"gather": "bram"}}', "gather must be one of"),
    ('{"mvu0": {"style": "xnor"}}', "style must be one of"),
    ("{not json", "not valid JSON"),
])
def test_bad_files(tmp_path, text, match):
    p = tmp_path / "f.json"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load(p)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.json")


def test_unknown_layer_and_non_dividing(model):
    with pytest.raises(ConfigError, match="unknown layer"):
        folding.apply(model, {"nope": {"PE": 1}})
    conv = model.mvus[0]
    with pytest.raises(HardwareError, match=f"PE=3 does not divide its {conv.out_channels} output channels"):
        folding.apply(model, {conv.name: {"PE": 3}})
    with pytest.raises(HardwareError, match="SIMD=4 does not divide its 9 inputs"):
        folding.apply(model, {conv.name: {"SIMD": 4}})


def test_unrolled(model):
    out = folding.apply(model, folding.unrolled(model))
    assert all(plan_mvu(m).style == "unrolled" for m in out.mvus)


@pytest.mark.parametrize("fps", [2_000, 50_000, 10_000_000])
def test_auto_meets_the_target_with_the_cheapest_folding(model, fps):
    res = folding.auto(model, fps, 100.0)
    out = folding.apply(model, res.folding)
    for m in out.mvus:
        cyc = plan_mvu(m, coding="index").T * m.out_pixels
        assert cyc == res.layer_cycles[m.name]
        if res.met:
            assert cyc <= res.target_cycles
    if fps == 2_000:  # slow target: every layer takes its cheapest folding by the estimate (a tiny layer may
        assert res.met  # be cheapest unrolled: constant weights need no memories, counters or accumulators)
        for m in out.mvus:
            cands = []
            for pe in folding.divisors(m.out_channels):
                for simd in folding.divisors(m.in_features):
                    t = folding.apply(model, {m.name: {"PE": pe, "SIMD": simd}}).mvus[out.mvus.index(m)]
                    p = plan_mvu(t, coding="index")
                    if p.T * m.out_pixels <= res.target_cycles:
                        cands.append(rank_estimate(t, p))
            assert rank_estimate(m, plan_mvu(m, coding="index")) == pytest.approx(min(cands))
    if fps == 10_000_000:
        assert not res.met  # 10 clocks/frame is impossible for an 8x8 conv
    stages = build_pipeline(out)
    assert performance(stages, size_fifos(stages)).interval >= max(res.layer_cycles.values())


@pytest.mark.parametrize("gather", ["full", "auto"])
def test_auto_sparse_needs_less_parallelism_than_dense(gather):
    m = random_model(np.random.default_rng(1), input_shape=(1, 1, 256), convs=(), pool=False, dense=(256,),
                     sparsity=0.9)
    sparse = folding.auto(m, 200_000, 100.0, "sparse", gather)
    dense = folding.auto(m, 200_000, 100.0, "dense")
    fc = m.mvus[0].name
    par = lambda f: f[fc]["PE"] * f[fc]["SIMD"]  # noqa: E731
    assert sparse.met and dense.met and par(sparse.folding) < par(dense.folding)


def test_auto_rejects_nonsense(model):
    with pytest.raises(ConfigError):
        folding.auto(model, 0)


def test_json_gather_key(model, tmp_path):
    name = model.mvus[1].name
    path = tmp_path / "f.json"
    path.write_text(json.dumps({name: {"PE": 2, "SIMD": 4, "gather": "lutram1"}}))
    spec = load(path)
    assert spec[name] == {"PE": 2, "SIMD": 4, "gather": "lutram1"}
    path.write_text(json.dumps({name: {"PE": 2, "style": "dense"}}))
    assert load(path)[name] == {"PE": 2, "style": "dense"}
    assert folding.apply(model, spec).mvus[1].pe == 2


@pytest.mark.parametrize("fps", [2_000, 50_000, 400_000])
def test_auto_gather_meets_the_target_in_the_cycle_model(model, fps):
    """With gather="auto" the chosen (PE, SIMD, gather) of every layer meets the target in the pipeline the
    generator builds (the load of a distributed-RAM gather included), and never costs more than the
    estimate of the best full-gather folding."""
    res = folding.auto(model, fps, 100.0, "sparse", "auto")
    full = folding.auto(model, fps, 100.0, "sparse", "full")
    out = folding.apply(model, res.folding)
    gathers = {n: f.get("gather", "full") for n, f in res.folding.items()}
    assert set(gathers.values()) <= set(AUTO_GATHERS)
    stages = build_pipeline(out, folding.resolve_impls(out, res.folding, coding="index"))
    for st in stages:
        if st.kind == "mvu" and st.folded:
            layer = out.layers[st.layer]
            assert st.plan.gather == gathers[layer.name]
            assert vector_clocks(st.plan, layer.in_features) * st.in_beats == res.layer_cycles[layer.name]
    if res.met:
        assert max(st.cycles for st in stages if st.kind in ("mvu", "load")) <= res.target_cycles

    def estimate(result):
        f = folding.apply(model, result.folding)
        g = {n: v.get("gather", "full") for n, v in result.folding.items()}
        return sum(logic_estimate(m, plan_mvu(m, coding="index", gather=g[m.name])) for m in f.mvus)

    if res.met and full.met:
        assert estimate(res) <= estimate(full)


def test_choose_modes_keeps_clocks_and_respects_fixed_choices():
    m = random_model(np.random.default_rng(3), input_shape=(1, 1, 200), convs=(), pool=False, dense=(64,),
                     sparsity=0.9)
    names = [x.name for x in m.mvus]
    # slow folding (1 slot): a single-buffered RAM costs 64 extra clocks on thousands: chosen
    slow = folding.apply(m, {n: {"PE": 1, "SIMD": 1} for n in names})
    assert folding.choose_modes(slow)[names[0]] == {"style": "sparse", "gather": "lutram1"}
    # fast folding: the load (64 clocks) would exceed 10 % of T: the FF multiplexers stay
    fast = folding.apply(m, {names[0]: {"PE": 64, "SIMD": 4}})
    t = plan_mvu(fast.mvus[0], coding="index").T
    assert t < 58 and folding.choose_modes(fast)[names[0]]["gather"] == "full"
    assert folding.choose_modes(fast, fixed={names[0]: {"gather": "lutram"}})[names[0]]["gather"] == "lutram"
    # an explicit gather and the dense style are taken as given; unrolled layers have no gather
    assert folding.choose_modes(fast, gather="segmented")[names[0]] == {"style": "sparse", "gather": "segmented"}
    assert folding.choose_modes(fast, style="dense")[names[0]] == {"style": "dense"}
    unrolled = folding.apply(m, folding.unrolled(m))
    assert all(v == {"style": "sparse"} for v in folding.choose_modes(unrolled).values())


def test_style_auto_picks_dense_xnor_where_skipping_does_not_pay():
    """At a target frame rate, style="auto" compares the zero-skipping and the dense XNOR datapaths per
    layer: a 10 %-sparse layer goes dense, a 95 %-sparse one stays zero-skipping."""
    for sparsity, want in ((0.1, "dense"), (0.95, "sparse")):
        m = random_model(np.random.default_rng(4), input_shape=(1, 1, 256), convs=(), pool=False, dense=(256,),
                         sparsity=sparsity)
        res = folding.auto(m, 100_000, 100.0, "auto", "auto")
        assert res.met and res.folding[m.mvus[0].name]["style"] == want


@pytest.mark.parametrize("style, gather, fps", [("sparse", "auto", 50_000), ("auto", "auto", 200_000),
                                               ("sparse", "segmented", 20_000)])
def test_the_written_folding_is_every_choice_resolved(model, tmp_path, style, gather, fps):
    """The folding step resolves each MVU once into a LayerImpl; written whole (folding.json) and read back
    under other configured choices, it gives the same implementations: nothing is decided again."""
    from sbnn.arch.impl import to_json

    target = folding.target_cycles(fps)
    folded, impls = folding.resolve(model, folding.auto(model, fps, style=style, gather=gather).folding, style=style,
                                    gather=gather, target=target)
    assert all(i.style in ("sparse", "dense") for i in impls.values())
    assert all((i.gather is None) == (i.style == "dense" or (i.pe == m.out_channels and i.simd == m.in_features))
               for i, m in zip(impls.values(), folded.mvus))
    path = tmp_path / "folding.json"
    path.write_text(json.dumps(to_json(impls)))
    again_model, again = folding.resolve(model, load(path), style="dense", gather="full", coding="index",
                                         delta_bits=3, max_cycle_overhead=0.0, weight_rom="block")
    assert again == impls
    assert [(m.pe, m.simd) for m in again_model.mvus] == [(m.pe, m.simd) for m in folded.mvus]


def test_folding_file_keys_are_checked(tmp_path):
    p = tmp_path / "f.json"
    for entry, match in (({"coding": "gap"}, "coding must be one of"), ({"delta_bits": 1}, "integer >= 2"),
                         ({"weight_rom": "bram"}, "weight_rom must be one of")):
        p.write_text(json.dumps({"mvu0": entry}))
        with pytest.raises(ConfigError, match=match):
            load(p)
    p.write_text(json.dumps({"mvu0": {"PE": 2, "coding": "delta", "delta_bits": 4, "weight_rom": "block"},
                             "mvu1": {"PE": 2, "style": "nm", "weight_rom": "block-wide"}}))
    assert load(p)["mvu0"] == {"PE": 2, "coding": "delta", "delta_bits": 4, "weight_rom": "block"}
    assert load(p)["mvu1"]["weight_rom"] == "block-wide"


def test_the_device_objective_counts_block_ram_and_the_lut_objective_does_not():
    """The all-1:8 Fashion SFC's first layer (784 -> 256) at 200,000 frames/s: ranked by LUTs alone the search
    takes a 294-bit weight word (PE 1 x SIMD 784: 4.5 BRAM36); by device fraction a narrower one. (At 100,000
    frames/s the two agreed once the word buffer took the slice multiplexer off PE 2 x SIMD 112.)"""
    import copy

    from sbnn.arch.cost import LUT_PER_BRAM36, bram36_estimate
    from sbnn.ir.synthetic import random_mvu

    layer = random_mvu(np.random.default_rng(0), "fc0", "dense", (28, 28, 1), 256, structure="1:8", levels=(-7, 57))
    target = folding.target_cycles(200_000)
    picks = {}
    for objective in ("lut", "device"):
        entry, cyc = folding.auto_layer(layer, target, "nm", "full", objective=objective)
        t = copy.copy(layer)
        t.pe, t.simd = entry["PE"], entry["SIMD"]
        plan = plan_mvu(t, style="nm")
        picks[objective] = (bram36_estimate(t, plan), logic_estimate(t, plan))
        assert cyc <= target
    (lut_bram, lut_lut), (dev_bram, dev_lut) = picks["lut"], picks["device"]
    assert dev_bram < lut_bram  # less block RAM ...
    assert dev_lut + LUT_PER_BRAM36 * dev_bram <= lut_lut + LUT_PER_BRAM36 * lut_bram  # ... the smaller device share


def test_the_device_objective_places_a_small_weight_memory_in_block_ram_when_that_is_cheaper():
    """The CNV-style net's third conv (288 -> 64, 1:8, 10 x 10 outputs) at 3,000 frames/s: synthesis' own rule
    leaves its few-kbit N:M weight memory in logic; the search also weighs one RAMB18, names
    the placement in the entry only when it asks for block RAM, and leaves an explicit placement alone."""
    import copy

    from sbnn.arch.cost import rom_in_bram
    from sbnn.ir.synthetic import random_mvu

    layer = random_mvu(np.random.default_rng(0), "mvu2", "conv", (12, 12, 32), 64, structure="1:8", levels=(-7, 57))
    target = folding.target_cycles(3_000)

    def cost(entry: dict, rom: str) -> float:
        t = copy.copy(layer)
        t.pe, t.simd = entry["PE"], entry["SIMD"]
        return rank_estimate(t, plan_mvu(t, style="nm"), weight_rom=rom)

    entry, cyc = folding.auto_layer(layer, target, "nm", "full")
    assert cyc <= target and entry["weight_rom"] == "block"
    t = copy.copy(layer)
    t.pe, t.simd = entry["PE"], entry["SIMD"]
    plan = plan_mvu(t, style="nm")
    assert not rom_in_bram(plan.T, plan.word_bits)  # synthesis would have left it in logic
    logic, _ = folding.auto_layer(layer, target, "nm", "full", weight_rom="distributed")
    assert "weight_rom" not in logic and cost(entry, "block") < cost(logic, "distributed")
    lut_only, _ = folding.auto_layer(layer, target, "nm", "full", objective="lut")
    assert "weight_rom" not in lut_only
    # the whole-model search passes the placement through: block RAM by default, never against an explicit one
    from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel

    tail = random_mvu(np.random.default_rng(1), "tail", "dense", layer.out_shape, 2, output=True)
    model = IRModel("one", InputSpec((12, 12, 32), BIPOLAR), [layer, tail], Head(np.ones(2), np.zeros(2))).validate()
    assert folding.auto(model, 3_000, style="auto").folding["mvu2"]["weight_rom"] == "block"
    assert "weight_rom" not in folding.auto(model, 3_000, style="auto", weight_rom="distributed").folding["mvu2"]
