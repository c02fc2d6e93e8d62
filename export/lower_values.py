"""What the QONNX lowering (:mod:`sbnn.export.lower`) tracks per tensor, and its small graph helpers.

``Int``: the integer input stream, real value ``scale * x``; ``Bits``: +-1 activations, real value
``scale * x``; ``Acc``: the accumulator of the MVU just emitted, real value ``a_c * acc + b_c``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from sbnn.errors import ExportError
from sbnn.ir import MVU, ValueType


@dataclass
class Int:
    scale: float
    vtype: ValueType
    shape: tuple  # (H, W, C)
    flat: bool = False
    a: np.ndarray | None = None  # elementwise affine applied to the real value (before binarization)
    b: np.ndarray | None = None


@dataclass
class Bits:
    scale: float
    shape: tuple
    flat: bool = False


@dataclass
class Acc:
    layer: MVU
    a: np.ndarray
    b: np.ndarray


def _fail(node, why: str):
    raise ExportError(f"cannot lower node '{node.name or node.op_type}' ({node.op_type}): {why}")


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def _channel_vector(const: np.ndarray, channels: int, node) -> np.ndarray:
    """A scalar or per-channel constant (shapes (), (1,), (C,), (1,C), (1,C,1,1)) as float64 (C,)."""
    c = np.asarray(const, dtype=np.float64)
    if c.size == 1:
        return np.full(channels, float(c.reshape(-1)[0]))
    squeezed = c.reshape(-1) if c.ndim == 1 else c.squeeze()
    if squeezed.ndim == 1 and squeezed.size == channels and (c.ndim <= 2 or c.shape[1] == channels):
        return squeezed.astype(np.float64)
    _fail(node, f"constant of shape {c.shape} is not per-tensor or per-channel over {channels} channels")
