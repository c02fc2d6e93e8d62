"""Folding from JSON, unrolled and automatic for a target frame rate; bad foldings are clear errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sbnn.errors import ConfigError, HardwareError
from sbnn.hw import folding
from sbnn.ir.synthetic import random_model
from sbnn.sim.cycles import build_pipeline, performance, plan_mvu, size_fifos


@pytest.fixture
def model():
    return random_model(np.random.default_rng(0), input_shape=(8, 8, 1), convs=(8,), dense=(16,), sparsity=0.9)


def test_json_round_trip_and_defaults(model, tmp_path):
    names = [m.name for m in model.mvus]
    spec = {"Defaults": {}, names[0]: {"PE": 4, "SIMD": 3}, names[1]: {"pe": 2}}
    path = tmp_path / "f.json"
    path.write_text(json.dumps(spec))
    out = folding.apply(model, folding.load(path))
    assert (out.mvus[0].pe, out.mvus[0].simd) == (4, 3) and out.mvus[1].pe == 2
    assert model.mvus[0].pe == 1, "apply must not modify its input"
    assert folding.current(out)[names[0]] == {"PE": 4, "SIMD": 3}


@pytest.mark.parametrize("text, match", [
    ("[1, 2]", "expected an object"),
    ('{"mvu0": 3}', "must be an object"),
    ('{"mvu0": {"PE": 0}}', "positive integer"),
    ('{"mvu0": {"PE": true}}', "positive integer"),
    ('{"mvu0": {"ram_style": "block"}}', "unknown key"),
    ("{not json", "not valid JSON"),
])
def test_bad_files(tmp_path, text, match):
    p = tmp_path / "f.json"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match):
        folding.load(p)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        folding.load(tmp_path / "nope.json")


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
    if fps == 2_000:
        assert res.met and all(m.pe == 1 for m in out.mvus)  # slow target: the smallest folding suffices
    if fps == 10_000_000:
        assert not res.met  # 10 clocks/frame is impossible for an 8x8 conv
    stages = build_pipeline(out)
    assert performance(stages, size_fifos(stages)).interval >= max(res.layer_cycles.values())


def test_auto_sparse_needs_less_parallelism_than_dense():
    m = random_model(np.random.default_rng(1), input_shape=(1, 1, 256), convs=(), pool=False, dense=(256,),
                     sparsity=0.9)
    sparse = folding.auto(m, 1_000_000, 100.0, "sparse")
    dense = folding.auto(m, 1_000_000, 100.0, "dense")
    fc = m.mvus[0].name
    par = lambda f: f[fc]["PE"] * f[fc]["SIMD"]  # noqa: E731
    assert sparse.met and dense.met and par(sparse.folding) < par(dense.folding)


def test_auto_rejects_nonsense(model):
    with pytest.raises(ConfigError):
        folding.auto(model, 0)
