"""The export stage's configuration (saved as ``<run>/export/config.yaml``)."""

from __future__ import annotations

from pydantic import Field

from sbnn.config import StageConfig


class ExportConfig(StageConfig):
    #: real inputs pushed through every verification (test images first, then training images)
    samples: int = Field(default=1000, ge=1)
    #: QONNX execution batch size
    batch: int = Field(default=250, ge=1)
    #: a float pre-sign value (or top-2 logit margin) within eps of zero marks the input as a tie
    tie_eps: float = Field(default=1e-5, gt=0)
    #: lower this foreign QONNX file instead of the run's checkpoint
    qonnx: str | None = None
    #: data set providing real inputs for a foreign model, and where it lives
    dataset: str | None = None
    data_dir: str | None = None
    #: foreign models: the graph input is real = integer * input_scale, with this integer type
    input_bits: int | None = Field(default=None, ge=1, le=32)
    input_signed: bool | None = None
    input_scale: float | None = Field(default=None, gt=0)
    #: data-set pixels are multiplied by this to form the graph input (1/255 for FINN-style models)
    input_prescale: float = Field(default=1.0, gt=0)
