"""The Brevitas 1-bit export bug sbnn works around, and the workaround itself."""

import warnings

import brevitas
import numpy as np
import pytest
import torch
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.util.cleanup import cleanup_model

from sbnn.export.brevitas_patch import PATCHED_FOR, exact_one_bit_export
from sbnn.export.torch_ir import IRNet
from sbnn.ir import BIPOLAR, Head, InputSpec, IRModel
from sbnn.ir.synthetic import random_mvu


def zero_one_net(w0=0, w1=1):
    rng = np.random.default_rng(0)
    layer = random_mvu(rng, "mvu0", "dense", (1, 1, 16), 4, sparsity=0.7, output=True, levels=(w0, w1))
    ir = IRModel("t", InputSpec((1, 1, 16), BIPOLAR), [layer], Head(np.ones(4), np.zeros(4))).validate()
    return IRNet(ir).eval()


def export(net, path, patched):
    from brevitas.export import export_qonnx

    x = torch.ones(1, 16, 1, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if patched:
            with exact_one_bit_export():
                export_qonnx(net, input_t=x, export_path=str(path), dynamo=False)
        else:
            export_qonnx(net, input_t=x, export_path=str(path), dynamo=False)
    return cleanup_model(ModelWrapper(str(path)))


def run(mw, x):
    return execute_onnx(mw, {mw.graph.input[0].name: x})[mw.graph.output[0].name]


def test_stock_brevitas_still_exports_unsigned_one_bit_weights_as_bipolar(tmp_path):
    """If this fails, Brevitas changed its 1-bit export: re-check and drop sbnn's patch."""
    assert brevitas.__version__ == PATCHED_FOR, "the export patch was written for another Brevitas release"
    mw = export(zero_one_net(), tmp_path / "stock.onnx", patched=False)
    ops = [n.op_type for n in mw.graph.node]
    assert "BipolarQuant" in ops and "Quant" not in ops
    x = np.ones((1, 16, 1, 1), dtype=np.float32)
    with torch.no_grad():
        expected = zero_one_net()(torch.from_numpy(x)).numpy()
    assert not np.array_equal(run(mw, x), expected)  # the silent {0,1} -> {-1,+1} error


@pytest.mark.parametrize("levels", [(0, 1), (-1, 7), (3, 5), (-1, 1)])
def test_patched_export_is_exact_and_scoped(tmp_path, levels):
    net = zero_one_net(*levels)
    mw = export(net, tmp_path / "patched.onnx", patched=True)
    ops = [n.op_type for n in mw.graph.node]
    assert ("BipolarQuant" in ops) == (levels == (-1, 1))
    x = np.sign(np.random.default_rng(1).normal(size=(1, 16, 1, 1))).astype(np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(x)).numpy()
    assert np.array_equal(run(mw, x), expected)
    import brevitas.export.onnx.qonnx.handler as handler

    assert handler.BrevitasWeightQuantProxyHandler.validate.__name__ == "validate"
    assert "exact_one_bit_export" not in repr(handler.BrevitasWeightQuantProxyHandler.prepare_for_export)
