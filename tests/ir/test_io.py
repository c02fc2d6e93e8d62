"""The IR file format: round trip, versioning, and a clear error for every kind of damage."""

import json

import numpy as np
import pytest

from sbnn.errors import IRError
from sbnn.ir import load, save
from sbnn.ir.synthetic import random_input, random_model
from sbnn.sim.bitexact import simulate


@pytest.fixture()
def saved(tmp_path):
    model = random_model(np.random.default_rng(3), convs=(4, 8), dense=(16,))
    jpath, npath = save(model, tmp_path / "ir")
    return model, jpath, npath


def test_round_trip_is_exact(saved):
    model, jpath, _ = saved
    again = load(jpath)
    x = random_input(np.random.default_rng(0), model.input, 64)
    assert np.array_equal(simulate(model, x).scores, simulate(again, x).scores)
    for a, b in zip(model.mvus, again.mvus):
        assert np.array_equal(a.weight_bits, b.weight_bits)
        assert (a.w0, a.w1, a.pe, a.simd) == (b.w0, b.w1, b.pe, b.simd)


def edit(jpath, fn):
    meta = json.loads(jpath.read_text())
    fn(meta)
    jpath.write_text(json.dumps(meta))


@pytest.mark.parametrize("damage,message", [
    (lambda m: m.update(version=99), "version"),
    (lambda m: m.update(format="other"), "not an sbnn IR"),
    (lambda m: m["layers"][1].update(w1=m["layers"][1]["w0"] + 3), "power of two"),
    (lambda m: m["layers"][1].update(pe=3), "PE=3"),
    (lambda m: m["layers"][1].update(simd=0), "simd"),
    (lambda m: m["layers"][1].update(out_channels=5), "shape"),
    (lambda m: m["layers"][1].update(kind="lstm"), "kind"),
    (lambda m: m["layers"][1].update(surprise=1), "surprise"),
    (lambda m: m["layers"].pop(1), "does not match"),
    (lambda m: m["input"].update(shape=[9, 9, 1]), "does not match"),
    (lambda m: m.update(arrays_sha256="0" * 64), "checksum"),
])
def test_hand_edited_json_is_refused_with_one_line(saved, damage, message):
    _, jpath, _ = saved
    edit(jpath, damage)
    with pytest.raises(IRError) as err:
        load(jpath)
    assert message.lower() in str(err.value).lower() and "\n" not in str(err.value)


def test_damaged_or_missing_array_files(saved, tmp_path):
    _, jpath, npath = saved
    npath.write_bytes(npath.read_bytes()[:100])
    with pytest.raises(IRError, match="checksum"):
        load(jpath)
    npath.unlink()
    with pytest.raises(IRError, match="missing"):
        load(jpath)
    jpath.write_text("{not json")
    with pytest.raises(IRError, match="not valid JSON"):
        load(jpath)
    with pytest.raises(IRError, match="no IR file"):
        load(tmp_path / "nothing")


def test_thresholds_outside_the_reachable_range_are_refused(tmp_path):
    model = random_model(np.random.default_rng(4), convs=(), dense=(8,))
    layer = model.mvus[0]
    layer.thresholds = layer.thresholds.copy()
    layer.thresholds[0] = layer.acc_bound() + 50
    with pytest.raises(IRError, match="reachable"):
        save(model, tmp_path / "bad")
    assert not (tmp_path / "bad.json").exists()
