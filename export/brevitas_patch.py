"""The one Brevitas workaround sbnn needs, applied only while exporting.

Brevitas 0.13.4's QONNX handlers emit ``BipolarQuant`` for *every* 1-bit quantizer and assert a zero
point of 0 (``brevitas/export/onnx/qonnx/handler.py``), so a {0, 1} or {w0, w1} weight would be
exported silently as +-scale (stack.md section 2). Inside :func:`exact_one_bit_export`, 1-bit weight
quantizers that are unsigned or have a non-zero zero point are exported as a QONNX ``Quant`` node
(bitwidth 1, signed 0, float zero point) instead, which QONNX executes exactly. Signed, zero-point-free
1-bit quantizers still become ``BipolarQuant``. ``tests/export/test_brevitas_patch.py`` fails loudly if
Brevitas changes this behaviour, so the patch can be dropped when it is no longer needed.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import brevitas
import brevitas.export.onnx.qonnx.handler as handler
from brevitas.export.onnx.qonnx.function import BrevitasQuantOp

#: the Brevitas release this patch was written and tested against
PATCHED_FOR = "0.13.4"


def _needs_quant_node(kwargs: dict) -> bool:
    return int(kwargs["bit_width"]) == 1 and (not bool(kwargs["signed"]) or bool((kwargs["zero_point"] != 0).any()))


@contextlib.contextmanager
def exact_one_bit_export() -> Iterator[None]:
    """Patch the weight-proxy handler for the duration of an export, then restore it."""
    cls = handler.BrevitasWeightQuantProxyHandler
    original_prepare, original_validate = cls.prepare_for_export, cls.validate

    def prepare_for_export(self, module):
        original_prepare(self, module)
        kwargs = getattr(self, "symbolic_kwargs", None)
        if kwargs and _needs_quant_node(kwargs):
            self.quant_op = BrevitasQuantOp

    def validate(self, bit_width, zero_point):  # the stock check refuses any 1-bit zero point
        return None

    cls.prepare_for_export, cls.validate = prepare_for_export, validate
    try:
        yield
    finally:
        cls.prepare_for_export, cls.validate = original_prepare, original_validate


def brevitas_version() -> str:
    return brevitas.__version__
