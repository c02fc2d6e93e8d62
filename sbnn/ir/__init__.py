"""The hardware IR shared by export (writer), sim and hw (readers). No torch here."""

from sbnn.ir.fold import DOWN, UP, apply_threshold, batchnorm_affine, compose_affine, fold_threshold
from sbnn.ir.io import load, paths, save
from sbnn.ir.model import (
    BIPOLAR,
    IR_VERSION,
    MVU,
    Head,
    InputSpec,
    IRModel,
    Layer,
    MaxPool,
    Threshold,
    ValueType,
)

__all__ = [
    "BIPOLAR",
    "DOWN",
    "IR_VERSION",
    "MVU",
    "UP",
    "Head",
    "IRModel",
    "InputSpec",
    "Layer",
    "MaxPool",
    "Threshold",
    "ValueType",
    "apply_threshold",
    "batchnorm_affine",
    "compose_affine",
    "fold_threshold",
    "load",
    "paths",
    "save",
]
