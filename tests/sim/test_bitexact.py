"""The packed, zero-skipping simulator equals the plain integer reference (hypothesis)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sbnn.ir import BIPOLAR, Head, InputSpec, IRModel, MaxPool, ValueType
from sbnn.ir.synthetic import random_input, random_model, random_mvu
from sbnn.sim import kernels
from sbnn.sim.bitexact import Simulator, pack_bits, simulate
from sbnn.sim.reference import run_reference

sparsity = st.sampled_from([0.0, 0.3, 0.5, 0.75, 0.9, 0.99])


def single_layer_model(layer, head_n):
    spec = InputSpec(layer.in_shape, layer.in_type)
    return IRModel("one", spec, [layer], Head(np.ones(head_n), np.zeros(head_n))).validate()


@settings(max_examples=60)
@given(seed=st.integers(0, 2**31), s=sparsity, kind=st.sampled_from(["dense", "conv"]),
       h=st.integers(3, 7), c=st.integers(1, 9), m=st.integers(1, 12), kernel=st.sampled_from([1, 3]),
       pad=st.integers(0, 1), bits=st.sampled_from([1, 4, 8]), signed=st.booleans(), output=st.booleans(),
       zero_rows=st.integers(0, 2), zero_cols=st.integers(0, 3))
def test_single_layer_equals_reference(seed, s, kind, h, c, m, kernel, pad, bits, signed, output, zero_rows, zero_cols):
    rng = np.random.default_rng(seed)
    vtype = BIPOLAR if bits == 1 else ValueType(bits, signed)
    layer = random_mvu(rng, "l", kind, (h, h, c), m, sparsity=s, in_type=vtype, kernel=kernel, pad=pad,
                       output=True, zero_rows=zero_rows, zero_cols=zero_cols)
    if not output:
        from sbnn.ir.synthetic import random_thresholds

        layer.thresholds, layer.directions = random_thresholds(rng, layer)
        layer = layer  # thresholded layers are checked through their bits
    n_out = layer.out_channels * layer.out_pixels
    if layer.is_output:
        model = single_layer_model(layer, n_out)
        x = random_input(rng, model.input, 20)
        assert np.array_equal(simulate(model, x).scores, run_reference(model, x))
    else:
        tail = random_mvu(rng, "t", "dense", layer.out_shape, 3, output=True)
        spec = InputSpec(layer.in_shape, layer.in_type)
        model = IRModel("two", spec, [layer, tail], Head(np.ones(3), np.zeros(3))).validate()
        x = random_input(rng, spec, 20)
        r = simulate(model, x, trace=True)
        ref, trace = run_reference(model, x, trace=True)
        assert np.array_equal(r.trace["l"], trace["l"]) and np.array_equal(r.scores, ref)


@settings(max_examples=25)
@given(seed=st.integers(0, 2**31), s=sparsity, binarize=st.booleans(), convs=st.sampled_from([(), (4,), (4, 6)]),
       dense=st.sampled_from([(), (8,), (16, 8)]))
def test_whole_models_equal_reference_with_trace(seed, s, binarize, convs, dense):
    rng = np.random.default_rng(seed)
    model = random_model(rng, binarize_input=binarize, convs=convs, dense=dense, sparsity=s)
    x = random_input(rng, model.input, 30)
    r = simulate(model, x, trace=True, batch_size=7)
    ref, trace = run_reference(model, x, trace=True)
    assert np.array_equal(r.scores, ref)
    assert set(r.trace) == set(trace)
    for k in trace:
        assert np.array_equal(r.trace[k], trace[k]), k


@pytest.mark.parametrize("k", [1, 63, 64, 65, 200, 1024])
def test_both_popcount_kernels_against_integer_dot(k, monkeypatch):
    rng = np.random.default_rng(k)
    x = rng.integers(0, 2, (37, k)).astype(bool)
    w = rng.integers(0, 2, (13, k)).astype(bool)
    expected = x.astype(int) @ w.T.astype(int)
    for name in ("numba", "numpy"):
        monkeypatch.setenv("SBNN_SIM_KERNEL", name)
        assert kernels.backend() == name
        assert np.array_equal(kernels.popcount_matmul(pack_bits(x), pack_bits(w)), expected)


def test_simulator_agrees_across_kernels(monkeypatch):
    rng = np.random.default_rng(5)
    model = random_model(rng, convs=(6,), dense=(20,))
    x = random_input(rng, model.input, 25)
    monkeypatch.setenv("SBNN_SIM_KERNEL", "numpy")
    a = simulate(model, x).scores
    monkeypatch.setenv("SBNN_SIM_KERNEL", "numba")
    assert np.array_equal(a, simulate(model, x).scores)


def test_maxpool_is_or_and_input_shape_is_checked():
    rng = np.random.default_rng(1)
    model = random_model(rng, convs=(4,), dense=(), pool=True)
    assert any(isinstance(layer, MaxPool) for layer in model.layers)
    with pytest.raises(ValueError, match="shape"):
        Simulator(model).run(np.zeros((2, 5, 5, 1), dtype=np.int64))



@pytest.mark.parametrize("bits, signed, bad, message", [
    (8, False, 4080, r"input values 0\.\.4080 are outside the IR's 8-bit unsigned input range 0\.\.255"),
    (8, False, -1, r"input values -1\.\.0 are outside"),
    (4, True, 8, r"outside the IR's 4-bit signed input range -8\.\.7"),
    (1, False, 2, r"outside the IR's bipolar \(bits\) input range 0\.\.1"),
])
def test_out_of_range_inputs_are_refused(bits, signed, bad, message):
    """The hardware would wrap such values silently: the simulator refuses them (an IRError, one line)."""
    from sbnn.errors import IRError

    vtype = BIPOLAR if bits == 1 else ValueType(bits, signed)
    layer = random_mvu(np.random.default_rng(2), "mvu0", "dense", (4, 4, 1), 3, in_type=vtype, output=True)
    model = IRModel("m", InputSpec((4, 4, 1), vtype), [layer], Head(np.ones(3), np.zeros(3))).validate()
    x = np.zeros((3, 4, 4, 1), np.int64)
    assert Simulator(model).run(x).scores.shape == (3, 3)  # in range
    x[1, 2, 3, 0] = bad
    with pytest.raises(IRError, match=message):
        Simulator(model).run(x)
