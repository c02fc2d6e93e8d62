"""Reading QONNX files: clear errors for files that are not (Q)ONNX, and a clean-up that keeps names.

qonnx's own clean-up renames every node (``Conv_0``); sbnn's lowering errors name the user's nodes, so
this clean-up runs the same passes without the renaming ones.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.fold_constants import FoldConstants
from qonnx.transformation.general import GiveUniqueParameterTensors, RemoveStaticGraphInputs, RemoveUnusedTensors
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.transformation.quant_constant_folding import FoldTransposeIntoQuantInit

from sbnn.errors import ExportError


def read_metadata(model: onnx.ModelProto) -> dict:
    return {p.key: p.value for p in model.metadata_props}


def load_qonnx(path: str | Path) -> ModelWrapper:
    """Read an ONNX file with clear errors for files that are not (valid) ONNX."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"no ONNX file at {path}")
    try:
        proto = onnx.load(str(path))
    except Exception as exc:  # protobuf raises DecodeError and friends: one user error, chained
        raise ExportError(f"{path} is not a readable ONNX file ({type(exc).__name__})") from exc
    if not proto.graph.node:
        raise ExportError(f"{path} has an empty graph: not an ONNX model")
    if not any(n.op_type in ("Quant", "BipolarQuant", "MultiThreshold") for n in proto.graph.node):
        raise ExportError(f"{path} has no QONNX quantization nodes (Quant/BipolarQuant): export the model with "
                          "Brevitas' export_qonnx, not as plain ONNX")
    try:
        return clean(ModelWrapper(proto))
    except Exception as exc:  # any failure of qonnx's transformations: one user error, chained
        raise ExportError(f"{path}: QONNX clean-up failed ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})") from exc


def clean(model: ModelWrapper) -> ModelWrapper:
    """qonnx's clean-up without its renaming passes, so errors can name the user's own nodes."""
    for node in model.graph.node:
        if node.op_type in ("Quant", "Trunc", "BipolarQuant", "MultiThreshold"):
            node.domain = "qonnx.custom_op.general"
    for t in (InferShapes(), GiveUniqueParameterTensors(),
              FoldConstants(exclude_op_types=["Quant", "BipolarQuant", "QuantizeLinear", "DequantizeLinear"]),
              FoldTransposeIntoQuantInit(), RemoveUnusedTensors(), RemoveStaticGraphInputs()):
        model = model.transform(t)
    seen: set[str] = set()
    for i, node in enumerate(model.graph.node):  # name unnamed (or duplicate) nodes only
        if not node.name or node.name in seen:
            node.name = f"{node.op_type}_{i}"
        seen.add(node.name)
    return model
