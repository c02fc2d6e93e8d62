"""The regroup pass (sbnn.arch.regroup): interleaved N:M layers made contiguous by renumbering their
producer's outputs or by the host's input order; the result computes the same scores on every input
(simulator and reference, ``==``), survives a save/load round trip, and the hardware stage plans it.

The RTL of a regrouped network (input order on the stream, permuted producer rows) is checked against the
simulator in tests/hw/test_hw_rtl_models.py (``mlp_regrouped``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sbnn.arch.regroup import regroup, regroup_note, regrouped
from sbnn.errors import IRError
from sbnn.hw.config import HwConfig
from sbnn.hw.stage import resolve_folding
from sbnn.ir import io as ir_io
from sbnn.ir.fold import DOWN, UP
from sbnn.ir.model import Head, InputSpec, IRModel, MaxPool, Threshold, ValueType
from sbnn.ir.structure import parse
from sbnn.ir.synthetic import random_input, random_mvu
from sbnn.sim.bitexact import simulate
from sbnn.sim.reference import run_reference


def _mlp(seed: int, structures: list[str], shape=(4, 4, 2), threshold: str | None = "uniform",
         hidden: int = 16) -> IRModel:
    """[input threshold] -> dense layers with the given structures -> scores (4 classes)."""
    rng = np.random.default_rng(seed)
    spec = InputSpec(shape, ValueType(8, False))
    layers, in_shape, vt = [], shape, spec.type
    if threshold:
        c = shape[2]
        thr = np.full(c, 100) if threshold == "uniform" else np.arange(c) * 40 + 60
        layers.append(Threshold("input", shape, thr.astype(np.int64), np.full(c, UP, dtype=np.int8)))
        vt = ValueType(1)
    for i, s in enumerate(structures):
        last = i == len(structures) - 1
        layer = random_mvu(rng, f"mvu{i}", "dense", in_shape, 4 if last else hidden, in_type=vt, structure=s,
                           output=last)
        layers.append(layer)
        in_shape, vt = layer.out_shape, ValueType(1)
    return IRModel("m", spec, layers, Head(np.ones(4), np.zeros(4))).validate()


NM = st.sampled_from(["none", "1:2", "1:2i", "1:4i", "2:4i", "3:8i", "1:8", "row"])


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), structures=st.lists(NM, min_size=2, max_size=4),
       threshold=st.sampled_from([None, "uniform", "per-channel"]))
def test_regrouped_model_computes_the_same_scores(seed, structures, threshold):
    model = _mlp(seed, structures, threshold=threshold)
    out = regroup(model)
    x = random_input(np.random.default_rng(seed + 1), model.input, 200)
    want = simulate(model, x).scores
    assert np.array_equal(simulate(out, x).scores, want)
    assert np.array_equal(run_reference(out, x[:20]), want[:20])
    # every interleaved layer whose input can be emitted in group order reads contiguous groups
    per_channel = threshold == "per-channel"
    for i, (before, after) in enumerate(zip(model.mvus, out.mvus)):
        st_b, st_a = parse(before.structure), parse(after.structure)
        assert (st_a.kind, st_a.n, st_a.size) == (st_b.kind, st_b.n, st_b.size)
        assert st_a.interleaved == (st_b.interleaved and i == 0 and per_channel)
    assert (out.input.order is not None) == (parse(structures[0]).interleaved and not per_channel)
    assert regroup(out) is out  # nothing left to do
    if not any(parse(s).interleaved for s in structures):
        assert out is model


def test_producer_rows_and_consumer_columns_move_together():
    """Consumer input g * M + t is the producer's old output g + t * K / M (K = 16, M = 4)."""
    model = _mlp(3, ["none", "1:4i", "none"], threshold=None)
    out = regroup(model)
    order = np.arange(16).reshape(4, 4).T.reshape(-1)
    p0, p1 = model.mvus[0], out.mvus[0]
    assert np.array_equal(p1.weight_bits, p0.weight_bits[order]) and np.array_equal(p1.thresholds, p0.thresholds[order])
    assert np.array_equal(p1.directions, p0.directions[order])
    assert np.array_equal(out.mvus[1].weight_bits, model.mvus[1].weight_bits[:, order])
    assert out.mvus[1].structure == "1:4" and out.input.order is None
    assert regrouped(model, out) == ["mvu1"]
    assert regroup_note(out, ["mvu1"]).startswith("interleaved N:M layers mvu1 read contiguous groups: mvu0 emits its")
    assert regrouped(model, model) == []


def test_layers_behind_a_pool_keep_their_band_memories():
    rng = np.random.default_rng(0)
    spec = InputSpec((4, 4, 2), ValueType(1))
    conv = random_mvu(rng, "mvu0", "conv", (4, 4, 2), 4, kernel=3, pad=1)
    pool = MaxPool("pool0", (4, 4, 4), 2)
    fc = random_mvu(rng, "mvu1", "dense", (2, 2, 4), 8, structure="1:4i")
    score = random_mvu(rng, "mvu2", "dense", (1, 1, 8), 3, output=True)
    model = IRModel("c", spec, [conv, pool, fc, score], Head(np.ones(3), np.zeros(3))).validate()
    assert regroup(model) is model


def test_input_order_survives_save_and_load(tmp_path):
    out = regroup(_mlp(5, ["1:4i", "2:4i", "none"]))
    assert out.input.order is not None
    ir_io.save(out, tmp_path / "ir")
    back = ir_io.load(tmp_path / "ir")
    assert np.array_equal(back.input.order, out.input.order)
    x = random_input(np.random.default_rng(2), out.input, 50)
    assert np.array_equal(simulate(back, x).scores, simulate(out, x).scores)


@pytest.mark.parametrize("order,message", [
    (np.arange(31, dtype=np.int64), "permutation"),
    (np.zeros(32, dtype=np.int64), "permutation"),
    (np.arange(32, dtype=np.int32), "permutation"),
])
def test_bad_input_orders_are_refused(order, message):
    model = _mlp(1, ["none", "none"])
    model.input.order = order
    with pytest.raises(IRError, match=message):
        model.validate()


def test_input_order_needs_a_flat_first_layer():
    """An order over a per-channel threshold or a convolution would change what the first layer computes."""
    model = _mlp(1, ["none", "none"], threshold="per-channel")
    model.input.order = np.arange(32, dtype=np.int64)[::-1].copy()
    with pytest.raises(IRError, match="dense first layer"):
        model.validate()
    rng = np.random.default_rng(0)
    conv = random_mvu(rng, "mvu0", "conv", (4, 4, 2), 4, kernel=3, pad=1, in_type=ValueType(1))
    conv.directions = np.where(conv.directions == DOWN, DOWN, UP).astype(np.int8)
    score = random_mvu(rng, "mvu1", "dense", (4, 4, 4), 3, output=True)
    spec = InputSpec((4, 4, 2), ValueType(1), np.arange(32, dtype=np.int64))
    with pytest.raises(IRError, match="dense first layer"):
        IRModel("c", spec, [conv, score], Head(np.ones(3), np.zeros(3))).validate()


def test_the_hardware_stage_plans_the_regrouped_model():
    """``sbnn synth`` folds and builds contiguous groups: one word-buffer memory, no band memories."""
    model = _mlp(9, ["1:4i", "1:4i", "2:4i"], shape=(8, 8, 1), hidden=32)
    folded, impls, _ = resolve_folding(model, HwConfig(target_fps=200000, style="nm"))
    assert [m.structure for m in folded.mvus] == ["1:4", "1:4", "2:4"] and folded.input.order is not None
    note = regroup_note(folded, regrouped(model, folded))
    assert "the host sends mvu0's input in group order" in note and "mvu0, mvu1 emit their outputs" in note
    assert {i.style for i in impls.values()} == {"nm"}


def test_backends_of_the_exported_ir_refuse_a_regrouped_model():
    """hls4ml lowering and the PyTorch rebuild read the image unpermuted: a regrouped model is one clear error."""
    from sbnn.errors import ExportError, HardwareError
    from sbnn.export.torch_ir import IRNet
    from sbnn.hw.hls4ml.lower import lower

    out = regroup(_mlp(4, ["1:4i", "none"]))
    with pytest.raises(HardwareError, match="reads its input permuted"):
        lower(out)
    with pytest.raises(ExportError, match="reads its input permuted"):
        IRNet(out)
