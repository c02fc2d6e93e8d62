"""Writing the integer network as QONNX (through Brevitas) and executing QONNX files in batches."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.change_batchsize import ChangeBatchSize
from qonnx.util.cleanup import cleanup_model

from sbnn import __version__
from sbnn.errors import ExportError
from sbnn.export.brevitas_patch import exact_one_bit_export
from sbnn.export.qonnx_read import clean
from sbnn.export.torch_ir import IRNet
from sbnn.ir import IRModel
from sbnn.runs import write_atomic


def metadata(ir: IRModel, input_scale: float = 1.0) -> dict[str, str]:
    """What a QONNX consumer needs beyond the graph: integer input facts, head, classes, provenance."""
    return {
        "sbnn.version": __version__,
        "sbnn.name": ir.name,
        "sbnn.input_bits": str(ir.input.type.bits),
        "sbnn.input_signed": "1" if ir.input.type.signed else "0",
        "sbnn.input_scale": repr(float(input_scale)),
        "sbnn.head_gain": json.dumps([float(v) for v in ir.head.gain]),
        "sbnn.head_bias": json.dumps([float(v) for v in ir.head.bias]),
        "sbnn.classes": json.dumps(list(ir.classes)),
        "sbnn.provenance": json.dumps(ir.provenance),
    }


def export_ir_qonnx(ir: IRModel, path: str | Path) -> ModelWrapper:
    """Brevitas-export the integer network of ``ir`` to ``path`` (batch 1), cleaned up, with metadata."""
    net = IRNet(ir).eval()
    h, w, c = ir.input.shape
    example = torch.zeros(1, c, h, w)
    buf_path = Path(path).with_suffix(".brevitas.tmp.onnx")
    from brevitas.export import export_qonnx

    try:
        with warnings.catch_warnings(), exact_one_bit_export():
            warnings.simplefilter("ignore")
            export_qonnx(net, input_t=example, export_path=str(buf_path), dynamo=False)
        mw = cleanup_model(ModelWrapper(str(buf_path)))
    finally:
        buf_path.unlink(missing_ok=True)
    onnx.helper.set_model_props(mw.model, metadata(ir))
    data = io.BytesIO()
    onnx.save(mw.model, data)
    write_atomic(path, data.getvalue())
    return mw


class QonnxRunner:
    """Executes a QONNX model with ``qonnx.core.onnx_exec.execute_onnx`` in fixed-size batches."""

    def __init__(self, model: ModelWrapper, batch: int = 100):
        self.batch = batch
        self._models: dict[int, ModelWrapper] = {}
        self.base = model

    def _model(self, n: int) -> ModelWrapper:
        if n not in self._models:
            self._models[n] = clean(self.base.transform(ChangeBatchSize(n)))
        return self._models[n]

    def run(self, x: np.ndarray, tensors: list[str] | None = None) -> dict[str, np.ndarray]:
        """Output (and optionally intermediate ``tensors``) for NCHW float input ``x``."""
        outs: dict[str, list[np.ndarray]] = {}
        want = tensors or []
        for start in range(0, len(x), self.batch):
            xb = np.ascontiguousarray(x[start : start + self.batch], dtype=np.float32)
            mw = self._model(len(xb))
            try:
                ctx = execute_onnx(mw, {mw.graph.input[0].name: xb}, return_full_exec_context=bool(want))
            except Exception as exc:  # onnxruntime and qonnx raise many unrelated types: one user error, chained
                raise ExportError(f"QONNX execution failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}") from exc
            for name in [mw.graph.output[0].name, *want]:
                outs.setdefault(name, []).append(np.asarray(ctx[name]))
        out_name = self.base.graph.output[0].name
        result = {name: np.concatenate(v) for name, v in outs.items()}
        result["output"] = result[out_name]
        return result
