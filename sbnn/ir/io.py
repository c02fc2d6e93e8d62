"""On-disk IR format: ``<stem>.json`` (structure, versioned) + ``<stem>.npz`` (arrays).

The JSON file is human-readable and validated field by field (unknown or missing fields are errors);
the arrays live in the npz file under ``<layer name>/<array>`` keys, with weight bits packed along the
input dimension (``numpy.packbits``, little bit order). The JSON records the SHA-256 of the npz file,
so a JSON paired with a stale or foreign array file is refused. Both files are written to temporary
names and renamed into place, the JSON last, so an interrupted write never leaves a valid-looking pair.

Versions: 2 records each MVU's mask ``structure`` (sbnn.ir.structure), checked against its bits on load;
version-1 files (no structure) still load, with structure ``none``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sbnn.errors import IRError
from sbnn.ir.model import (
    IR_FORMAT,
    IR_VERSION,
    IR_VERSIONS_READ,
    MVU,
    Head,
    InputSpec,
    IRModel,
    MaxPool,
    Threshold,
    ValueType,
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputMeta(_Strict):
    shape: tuple[int, int, int]
    bits: int = Field(ge=1, le=32)
    signed: bool
    #: the host sends the elements permuted (array ``input/order``); written only when true, so that an
    #: sbnn that does not know the field refuses the file instead of reading the image in the wrong order
    order: bool = False


class ThresholdMeta(_Strict):
    kind: Literal["threshold"]
    name: str
    shape: tuple[int, int, int]


class MVUMeta(_Strict):
    kind: Literal["dense", "conv"]
    name: str
    in_shape: tuple[int, int, int]
    out_channels: int = Field(ge=1)
    in_bits: int = Field(ge=1, le=32)
    in_signed: bool
    w0: int
    w1: int
    output: Literal["threshold", "scores"]
    kernel: int = Field(ge=1)
    pad: int = Field(ge=0)
    pad_value: int
    pe: int = Field(ge=1)
    simd: int = Field(ge=1)
    scale: float
    #: mask structure (version 2); version-1 files have none recorded
    structure: str = "none"


class MaxPoolMeta(_Strict):
    kind: Literal["maxpool"]
    name: str
    in_shape: tuple[int, int, int]
    kernel: int = Field(ge=1)


LayerMeta = Annotated[Union[ThresholdMeta, MVUMeta, MaxPoolMeta], Field(discriminator="kind")]


class ModelMeta(_Strict):
    format: Literal["sbnn-ir"]
    version: int
    name: str
    input: InputMeta
    layers: list[LayerMeta]
    classes: list[str]
    arrays_sha256: str
    provenance: dict


def paths(stem: str | os.PathLike) -> tuple[Path, Path]:
    """The JSON and npz paths of an IR stem (``run/export/ir`` -> ``ir.json``, ``ir.npz``)."""
    stem = Path(stem)
    if stem.suffix in (".json", ".npz"):
        stem = stem.with_suffix("")
    return stem.with_suffix(".json"), stem.with_suffix(".npz")


def _layer_meta(layer) -> dict:
    if isinstance(layer, Threshold):
        return {"kind": "threshold", "name": layer.name, "shape": list(layer.shape)}
    if isinstance(layer, MaxPool):
        return {"kind": "maxpool", "name": layer.name, "in_shape": list(layer.in_shape), "kernel": layer.kernel}
    return {
        "kind": layer.kind,
        "name": layer.name,
        "in_shape": list(layer.in_shape),
        "out_channels": layer.out_channels,
        "in_bits": layer.in_type.bits,
        "in_signed": layer.in_type.signed,
        "w0": int(layer.w0),
        "w1": int(layer.w1),
        "output": "scores" if layer.is_output else "threshold",
        "kernel": layer.kernel,
        "pad": layer.pad,
        "pad_value": int(layer.pad_value),
        "pe": layer.pe,
        "simd": layer.simd,
        "scale": float(layer.scale),
        "structure": layer.structure,
    }


def _arrays(model: IRModel) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    for layer in model.layers:
        if isinstance(layer, Threshold):
            arrays[f"{layer.name}/thresholds"] = layer.thresholds
            arrays[f"{layer.name}/directions"] = layer.directions
        elif isinstance(layer, MVU):
            arrays[f"{layer.name}/weights"] = np.packbits(layer.weight_bits, axis=1, bitorder="little")
            if not layer.is_output:
                arrays[f"{layer.name}/thresholds"] = layer.thresholds
                arrays[f"{layer.name}/directions"] = layer.directions
    if model.input.order is not None:
        arrays["input/order"] = model.input.order
    arrays["head/gain"] = model.head.gain
    arrays["head/bias"] = model.head.bias
    return arrays


def save(model: IRModel, stem: str | os.PathLike) -> tuple[Path, Path]:
    """Validate and write ``model``; returns the JSON and npz paths."""
    model.validate()
    jpath, npath = paths(stem)
    jpath.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(buf, **_arrays(model))
    blob = buf.getvalue()
    meta = {
        "format": IR_FORMAT,
        "version": IR_VERSION,
        "name": model.name,
        "input": {"shape": list(model.input.shape), "bits": model.input.type.bits, "signed": model.input.type.signed,
                  **({"order": True} if model.input.order is not None else {})},
        "layers": [_layer_meta(layer) for layer in model.layers],
        "classes": list(model.classes),
        "arrays_sha256": hashlib.sha256(blob).hexdigest(),
        "provenance": model.provenance,
    }
    ntmp, jtmp = npath.with_suffix(".npz.tmp"), jpath.with_suffix(".json.tmp")
    try:
        ntmp.write_bytes(blob)
        jtmp.write_text(json.dumps(meta, indent=1) + "\n")
        os.replace(ntmp, npath)
        os.replace(jtmp, jpath)
    finally:
        for tmp in (ntmp, jtmp):
            tmp.unlink(missing_ok=True)
    return jpath, npath


def _first_error(err: ValidationError) -> str:
    e = err.errors()[0]
    loc = ".".join(str(p) for p in e["loc"])
    return f"{loc}: {e['msg']}"


def load(stem: str | os.PathLike) -> IRModel:
    """Read, check the format/version/checksum, rebuild and validate an IR model."""
    jpath, npath = paths(stem)
    if not jpath.is_file():
        raise IRError(f"no IR file at {jpath}")
    try:
        raw = json.loads(jpath.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IRError(f"{jpath} is not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != IR_FORMAT:
        raise IRError(f"{jpath} is not an sbnn IR file (format field missing or wrong)")
    if raw.get("version") not in IR_VERSIONS_READ:
        raise IRError(f"{jpath} has IR version {raw.get('version')!r}; this sbnn reads versions "
                      f"{', '.join(map(str, IR_VERSIONS_READ))}")
    try:
        meta = ModelMeta.model_validate(raw)
    except ValidationError as exc:
        raise IRError(f"{jpath}: {_first_error(exc)}") from None
    if not npath.is_file():
        raise IRError(f"{jpath} needs its arrays file {npath}, which is missing")
    blob = npath.read_bytes()
    if hashlib.sha256(blob).hexdigest() != meta.arrays_sha256:
        raise IRError(f"{npath} does not belong to {jpath} (checksum mismatch): re-run 'sbnn export'")
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise IRError(f"{npath} is not a readable npz file ({exc})") from None

    def get(key: str) -> np.ndarray:
        if key not in arrays:
            raise IRError(f"{npath} lacks the array {key!r}")
        return arrays[key]

    layers = []
    for lm in meta.layers:
        if isinstance(lm, ThresholdMeta):
            layers.append(
                Threshold(lm.name, tuple(lm.shape), get(f"{lm.name}/thresholds"), get(f"{lm.name}/directions"))
            )
        elif isinstance(lm, MaxPoolMeta):
            layers.append(MaxPool(lm.name, tuple(lm.in_shape), lm.kernel))
        else:
            h, w, c = lm.in_shape
            k = lm.kernel * lm.kernel * c if lm.kind == "conv" else h * w * c
            packed = get(f"{lm.name}/weights")
            if packed.dtype != np.uint8 or packed.ndim != 2 or packed.shape != (lm.out_channels, (k + 7) // 8):
                raise IRError(f"{npath}: {lm.name}/weights has shape {packed.shape}, "
                              f"expected ({lm.out_channels}, {(k + 7) // 8})")
            bits = np.unpackbits(packed, axis=1, count=k, bitorder="little").astype(bool)
            thr = dirs = None
            if lm.output == "threshold":
                thr, dirs = get(f"{lm.name}/thresholds"), get(f"{lm.name}/directions")
            layers.append(
                MVU(
                    name=lm.name,
                    kind=lm.kind,
                    in_shape=tuple(lm.in_shape),
                    out_channels=lm.out_channels,
                    in_type=ValueType(lm.in_bits, lm.in_signed),
                    weight_bits=bits,
                    w0=lm.w0,
                    w1=lm.w1,
                    thresholds=thr,
                    directions=dirs,
                    kernel=lm.kernel,
                    pad=lm.pad,
                    pad_value=lm.pad_value,
                    pe=lm.pe,
                    simd=lm.simd,
                    scale=lm.scale,
                    structure=lm.structure,
                )
            )
    model = IRModel(
        name=meta.name,
        input=InputSpec(tuple(meta.input.shape), ValueType(meta.input.bits, meta.input.signed),
                        get("input/order").astype(np.int64) if meta.input.order else None),
        layers=layers,
        head=Head(get("head/gain").astype(np.float64), get("head/bias").astype(np.float64)),
        classes=list(meta.classes),
        provenance=dict(meta.provenance),
    )
    return model.validate()
