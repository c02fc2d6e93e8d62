"""QONNX lowering: round trips of random IR models, FINN-style foreign models, and clear refusals."""

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from sbnn.errors import ExportError
from sbnn.export.layout import nchw_to_nhwc
from sbnn.export.lower import lower
from sbnn.export.qonnx_io import QonnxRunner, export_ir_qonnx
from sbnn.export.qonnx_read import load_qonnx
from sbnn.export.verify import ir_differences
from sbnn.ir.synthetic import random_input, random_model
from sbnn.sim.bitexact import simulate


@settings(max_examples=8)
@given(seed=st.integers(0, 2**31), binarize=st.booleans(), convs=st.sampled_from([(), (4,), (3, 5)]),
       s=st.sampled_from([0.0, 0.5, 0.9]))
def test_ir_to_qonnx_to_ir_round_trip_is_exact(tmp_path_factory, seed, binarize, convs, s):
    rng = np.random.default_rng(seed)
    ir = random_model(rng, binarize_input=binarize, convs=convs, dense=(12,), sparsity=s)
    path = tmp_path_factory.mktemp("rt") / "m.onnx"
    export_ir_qonnx(ir, path)
    lowered = lower(path)
    assert ir_differences(ir, lowered.model) == []
    x = random_input(rng, ir.input, 40)
    q = QonnxRunner(load_qonnx(path), batch=40).run(x.transpose(0, 3, 1, 2).astype(np.float32))["output"]
    assert np.array_equal(q, simulate(lowered.model, x).scores)


@pytest.mark.parametrize("name", ["tfc_1w1a", "sfc_1w1a", "lfc_1w1a", "cnv_1w1a"])
def test_finn_reference_topologies_lower_and_match_qonnx(bnn_pynq, name):
    path = bnn_pynq(name)
    lowered = lower(path)
    ir = lowered.model
    kinds = [type(layer).__name__ for layer in ir.layers]
    if name.startswith("cnv"):
        assert kinds.count("MVU") == 9 and kinds.count("MaxPool") == 2 and ir.input.type.bits == 8
    else:
        assert kinds[0] == "Threshold" and kinds.count("MVU") == 4
    rng = np.random.default_rng(0)
    shape = (60, 1, 28, 28) if "fc" in name else (60, 3, 32, 32)
    x = rng.integers(0, 256, shape) / 255.0
    runner = QonnxRunner(load_qonnx(path), batch=60)
    want = [] if lowered.input_tensor == runner.base.graph.input[0].name else [lowered.input_tensor]
    out = runner.run(x, want)
    x_in = out[lowered.input_tensor] if want else x
    x_int = np.rint(x_in / lowered.input_scale)
    assert np.abs(x_in / lowered.input_scale - x_int).max() < 1e-4  # the IR input really is integer
    h, w, c = ir.input.shape
    sim = simulate(ir, nchw_to_nhwc(x_int.reshape(60, c, h, w)).astype(np.int64))
    assert np.allclose(out["output"], sim.logits, rtol=1e-4, atol=1e-4)
    assert (out["output"].argmax(1) == sim.logits.argmax(1)).mean() >= 0.98


def graph(nodes, inits, in_shape=(1, 1, 4, 4), out_shape=None):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(in_shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], inits)
    return helper.make_model(g, producer_name="test")


def const(name, value):
    return helper.make_tensor(name, TensorProto.FLOAT, np.shape(value), np.asarray(value, np.float32).reshape(-1))


def save(tmp_path, model, name="m.onnx"):
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def bipolar_conv_graph(extra_nodes, extra_inits, conv_attrs=None, w_values=None):
    w = w_values if w_values is not None else np.random.default_rng(0).normal(size=(2, 1, 3, 3))
    nodes = [
        helper.make_node("BipolarQuant", ["x", "one"], ["xb"], domain="qonnx.custom_op.general", name="in_bin"),
        helper.make_node("BipolarQuant", ["w", "one"], ["wq"], domain="qonnx.custom_op.general", name="w_bin"),
        helper.make_node("Conv", ["xb", "wq"], ["acc"], name="conv", **(conv_attrs or {})),
        *extra_nodes,
    ]
    return graph(nodes, [const("one", 1.0), const("w", w), *extra_inits])


def test_residual_add_is_refused_with_the_node_name(tmp_path):
    nodes = [helper.make_node("Conv", ["xb", "wq"], ["acc2"], name="branch"),
             helper.make_node("Add", ["acc", "acc2"], ["y"], name="residual_add")]
    path = save(tmp_path, bipolar_conv_graph(nodes, []))
    with pytest.raises(ExportError, match="residual_add.*residual"):
        lower(path)


def test_dynamic_asd_is_refused_with_a_suggestion(tmp_path):
    nodes = [helper.make_node("GlobalAveragePool", ["acc"], ["y"], name="se_gap")]
    path = save(tmp_path, bipolar_conv_graph(nodes, []))
    with pytest.raises(ExportError, match="se_gap.*asd=static"):
        lower(path)


def test_zero_padding_of_bipolar_maps_is_refused(tmp_path):
    nodes = [helper.make_node("BipolarQuant", ["acc", "one"], ["y"], domain="qonnx.custom_op.general", name="act")]
    path = save(tmp_path, bipolar_conv_graph(nodes, [], {"pads": [1, 1, 1, 1]}))
    with pytest.raises(ExportError, match="three-valued"):
        lower(path)


def test_non_binary_weights_are_refused(tmp_path):
    nodes = [
        helper.make_node("BipolarQuant", ["x", "one"], ["xb"], domain="qonnx.custom_op.general", name="in_bin"),
        helper.make_node("Quant", ["w", "one", "zero", "two"], ["wq"], domain="qonnx.custom_op.general",
                         name="w_q2", signed=1, narrow=0, rounding_mode="ROUND"),
        helper.make_node("Conv", ["xb", "wq"], ["y"], name="conv2bit"),
    ]
    w = np.random.default_rng(0).normal(size=(2, 1, 3, 3))
    path = save(tmp_path, graph(nodes, [const("one", 1.0), const("zero", 0.0), const("two", 2.0), const("w", w)]))
    with pytest.raises(ExportError, match="conv2bit.*2-bit"):
        lower(path)


def test_unsupported_op_and_strided_conv(tmp_path):
    nodes = [helper.make_node("Softmax", ["acc"], ["y"], name="softmax")]
    with pytest.raises(ExportError, match="softmax.*unsupported"):
        lower(save(tmp_path, bipolar_conv_graph(nodes, []), "a.onnx"))
    nodes = [helper.make_node("BipolarQuant", ["acc", "one"], ["y"], domain="qonnx.custom_op.general")]
    with pytest.raises(ExportError, match="stride-1"):
        lower(save(tmp_path, bipolar_conv_graph(nodes, [], {"strides": [2, 2]}), "b.onnx"))


def test_files_that_are_not_qonnx(tmp_path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00\x01 definitely not protobuf \xff" * 10)
    with pytest.raises(ExportError, match="not a readable ONNX|empty graph"):
        lower(junk)
    plain = graph([helper.make_node("Relu", ["x"], ["y"])], [])
    with pytest.raises(ExportError, match="no QONNX quantization nodes"):
        lower(save(tmp_path, plain, "plain.onnx"))
    with pytest.raises(ExportError, match="no ONNX file"):
        lower(tmp_path / "missing.onnx")
