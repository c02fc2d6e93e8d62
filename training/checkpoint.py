"""Training checkpoints: one self-describing file per run, written atomically, loaded safely.

A checkpoint holds the resolved config, what the model was built for (input shape, classes, pixel
range, input threshold), the model/optimizer/scheduler state, the RNG states that drive shuffling
and augmentation, and the metrics history. That is all ``--resume`` needs to continue a killed run to
a bit-identical result, and all ``sbnn export`` needs to rebuild the model. Loading uses
``torch.load(weights_only=True)``: a checkpoint cannot run code.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch

from sbnn.errors import CheckpointError
from sbnn.runs import write_atomic

FORMAT = "sbnn-checkpoint"
VERSION = 1


def save_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    buf = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **payload}, buf)
    return write_atomic(path, buf.getvalue())


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read and sanity-check a checkpoint; every failure is a one-line CheckpointError."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: run 'sbnn train' for this run directory first")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load of arbitrary bytes raises anything (KeyError, IndexError, ...): chained
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupted or truncated?): {type(exc).__name__}: "
                              f"{first[:160]}") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not an sbnn checkpoint")
    if ckpt.get("version") != VERSION:
        raise CheckpointError(f"{path} has checkpoint version {ckpt.get('version')!r}; this sbnn reads {VERSION}")
    for key in ("config", "meta", "model", "epoch", "history"):
        if key not in ckpt:
            raise CheckpointError(f"{path} lacks '{key}': the file is incomplete")
    return ckpt


def config_diff(a: dict, b: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested config dicts."""
    keys = sorted(set(a) | set(b))
    out = []
    for k in keys:
        va, vb = a.get(k), b.get(k)
        name = f"{prefix}{k}"
        if isinstance(va, dict) and isinstance(vb, dict):
            out += config_diff(va, vb, name + ".")
        elif va != vb:
            out.append(name)
    return out
