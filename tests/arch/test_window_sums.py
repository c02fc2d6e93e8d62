"""S'(x) of convolution windows formed by the sliding window (sbnn.arch.pipeline._link_window_sums): which
convolutions get it, what the producer and the window carry, and that the cost model credits exactly those
(the RTL of such networks runs against the simulator in tests/hw/test_hw_rtl_models.py, cnv_window_sums)."""

from __future__ import annotations

import numpy as np
import pytest

from sbnn.arch import folding
from sbnn.arch.cost import WINDOW_SUM_MIN, features, logic_estimate, vector_fed, window_sum_ok
from sbnn.arch.decompose import sum_bits
from sbnn.arch.pipeline import build_pipeline
from sbnn.arch.schedule import schedule
from sbnn.ir.fold import UP
from sbnn.ir.model import Head, InputSpec, IRModel, MaxPool, Threshold, ValueType
from sbnn.ir.synthetic import random_mvu


def _model(second: dict, pool: bool = False, levels=(-1, 7)) -> tuple[IRModel, dict]:
    """8-bit map -> threshold -> conv (16 channels, PE 4) -> [pool] -> conv ``second`` -> score layer."""
    rng = np.random.default_rng(3)
    spec = InputSpec((8, 8, 1), ValueType(8, False))
    layers = [Threshold("input", (8, 8, 1), np.array([128]), np.array([UP], dtype=np.int8)),
              random_mvu(rng, "mvu0", "conv", (8, 8, 1), 16, levels=(-3, 5), pe=4, simd=9)]
    h = 8
    if pool:
        layers.append(MaxPool("pool0", (8, 8, 16), 2))
        h = 4
    c1 = random_mvu(rng, "mvu1", "conv", (h, h, 16), 8, structure=second.get("structure", "none"),
                    sparsity=0.875, levels=levels, pe=second["PE"], simd=second["SIMD"])
    out = random_mvu(rng, "mvu2", "dense", (h, h, 8), 4, levels=(-1, 3), output=True)
    layers += [c1, out]
    model = IRModel("w", spec, layers, Head(np.ones(4), np.zeros(4))).validate()
    return model, {"mvu0": {"style": "dense"}, "mvu1": {k: v for k, v in second.items() if k != "structure"}}


def _sums(model: IRModel, spec: dict) -> dict[str, tuple[int, int]]:
    stages = build_pipeline(model, folding.resolve_impls(model, spec))
    return {st.name: (st.in_sum, st.out_sum) for st in stages if st.in_sum or st.out_sum}


@pytest.mark.parametrize("second, linked", [
    ({"PE": 2, "SIMD": 48, "style": "nm", "structure": "1:8"}, True),  # sliced, 48 inputs per clock
    ({"PE": 1, "SIMD": 144, "style": "dense"}, True),  # the whole window per clock
    ({"PE": 2, "SIMD": 4, "gather": "full", "coding": "index"}, True),  # a gather sums all K at once
    ({"PE": 2, "SIMD": 16, "style": "dense"}, False),  # 16 inputs per clock: its own adder is cheaper
    ({"PE": 2, "SIMD": 4, "gather": "lutram", "coding": "index"}, False),  # its load sums S' anyway
])
def test_which_windows_get_their_sum(second, linked):
    model, spec = _model(second)
    sums = _sums(model, spec)
    k = model.mvus[1].in_features
    if linked:
        assert sums["L1_mvu0"] == (0, (16).bit_length())  # each pixel's count of +1 bits, 0 .. 16
        assert sums["L2_mvu1_swu"] == (5, sum_bits(model.mvus[1])) and sums["L2_mvu1"][0] == (k).bit_length()
    else:
        assert "L2_mvu1_swu" not in sums and "L1_mvu0" not in sums
    assert window_sum_ok(model.mvus[1], schedule(model.mvus[1], folding.resolve_impls(model, spec)["mvu1"])) == linked


def test_not_after_a_pool_nor_for_plus_minus_one_levels():
    """A pooled pixel's count would cost a popcount in the pool (measured: more than the consumer saves), and
    {-1, +1} weights need no S' at all."""
    nm = {"PE": 2, "SIMD": 48, "style": "nm", "structure": "1:8"}
    assert not any(name.endswith("swu") for name in _sums(*_model(nm, pool=True)))
    sums = _sums(*_model({"PE": 1, "SIMD": 144, "style": "dense"}, levels=(-1, 1)))
    assert "L2_mvu1_swu" not in sums and "L1_mvu0" not in sums


def test_cost_model_credits_the_window_sum():
    """The estimate drops the S' tree where the window forms it and adds the window's share; an unrolled
    consumer keeps the tree in its estimate (its features err low without it)."""
    model, spec = _model({"PE": 2, "SIMD": 48, "style": "nm", "structure": "1:8"})
    layer = model.mvus[1]
    assert vector_fed(model, layer) and not vector_fed(model, model.mvus[0])
    plan = schedule(layer, folding.resolve_impls(model, spec)["mvu1"])
    assert features(layer, plan, vector_fed=True)["s_tree"] == 0
    assert features(layer, plan, vector_fed=False)["s_tree"] == plan.simd >= WINDOW_SUM_MIN
    assert logic_estimate(layer, plan, vector_fed=True) < logic_estimate(layer, plan, vector_fed=False)
    unrolled = schedule(layer, folding.resolve_impls(model, {"mvu1": {"PE": 8, "SIMD": 144}})["mvu1"])
    assert unrolled.style == "unrolled" and features(layer, unrolled, vector_fed=True)["s_tree"] == layer.in_features
