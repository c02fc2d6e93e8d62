"""AXI4-Stream formats of the accelerator, and the host-side packing (used by the RTL harness and drivers).

Input (``s_axis``). A frame is the NHWC image of one sample, flattened in (h, w, c) order. Each beat
carries ``pixels_per_beat`` consecutive pixels; element ``e`` of a beat (``e = pixel * C + c``) occupies
bits ``[e*b, e*b + b)`` of ``tdata`` (``b`` = input bits; two's complement when signed; a bipolar input is
one bit per element, 1 = +1). ``tdata`` is that payload zero-padded to whole bytes; a frame is
``H*W / pixels_per_beat`` beats. ``tlast`` may mark the last beat of a frame; the core counts beats itself
and ignores it. A design with ``in_order`` (:attr:`sbnn.ir.model.InputSpec.order`) reads the flattened image
with its elements permuted: element ``j`` of the stream is element ``in_order[j]`` of the image
(:func:`pack_input` does it).

Output (``m_axis``). One beat per output pixel of the last layer (one beat per frame for a dense score
layer). Scores are signed integers, score ``j`` of the beat in bits ``[j*F, j*F + F)`` with ``F`` the
smallest of 8, 16, 32 holding the score range (sign-extended); a design that ends on a thresholded layer
(probe designs used by the tests) outputs one bit per channel instead. ``tlast`` marks the last beat of
each frame. Beats are little-endian byte strings, exactly what a DMA engine moves.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from sbnn.errors import ConfigError, HardwareError


def byte_width(bits: int) -> int:
    """``bits`` rounded up to whole bytes (AXI4-Stream tdata)."""
    return max(8, -(-bits // 8) * 8)


def field_bits(bits: int) -> int:
    """Width of one score field on the output stream: 8, 16 or 32."""
    for f in (8, 16, 32):
        if bits <= f:
            return f
    raise HardwareError(f"scores of {bits} bits do not fit the 32-bit output fields")


@dataclass(frozen=True)
class StreamFormat:
    """Everything a host needs to talk to one generated accelerator."""

    in_shape: tuple[int, int, int]
    in_bits: int
    in_signed: bool
    pixels_per_beat: int
    out_elems: int  # values per output beat
    out_field: int  # bits per value on the stream (1 for bit outputs)
    out_signed: bool
    out_beats: int  # per frame
    #: the order of the flattened image's elements on the stream (None: (h, w, c) order)
    in_order: tuple[int, ...] | None = field(default=None, kw_only=True)

    @property
    def in_payload(self) -> int:
        return self.pixels_per_beat * self.in_shape[2] * self.in_bits

    @property
    def in_width(self) -> int:
        return byte_width(self.in_payload)

    @property
    def in_beats(self) -> int:
        h, w, _ = self.in_shape
        return h * w // self.pixels_per_beat

    @property
    def out_payload(self) -> int:
        return self.out_elems * self.out_field

    @property
    def out_width(self) -> int:
        return byte_width(self.out_payload)

    def to_json(self) -> dict:
        d = asdict(self)
        d["in_width"], d["out_width"], d["in_beats"] = self.in_width, self.out_width, self.in_beats
        return d

    @classmethod
    def from_json(cls, d: dict) -> "StreamFormat":
        keys = {k: d[k] for k in cls.__dataclass_fields__ if k != "in_order"}
        keys["in_shape"] = tuple(keys["in_shape"])
        if d.get("in_order") is not None:  # absent from descriptions written before the field existed
            keys["in_order"] = tuple(int(v) for v in d["in_order"])
        return cls(**keys)

    def save(self, path: str | os.PathLike) -> Path:
        from sbnn.runs import write_json

        return write_json(path, self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "StreamFormat":
        try:
            return cls.from_json(json.loads(Path(path).read_text()))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path} is not a valid stream description ({exc})") from None


def _pack(values: np.ndarray, bits: int, width: int) -> np.ndarray:
    """(N, E) integers -> (N, width/8) uint8, element e at bits [e*bits, (e+1)*bits)."""
    n, e = values.shape
    v = values.astype(np.int64) & ((1 << bits) - 1)
    bitmat = ((v[:, :, None] >> np.arange(bits)) & 1).astype(np.uint8).reshape(n, e * bits)
    full = np.zeros((n, width), dtype=np.uint8)
    full[:, : e * bits] = bitmat
    return np.packbits(full, axis=1, bitorder="little")


def _unpack(data: np.ndarray, elems: int, bits: int, signed: bool) -> np.ndarray:
    raw = np.unpackbits(np.asarray(data, dtype=np.uint8), axis=1, bitorder="little")[:, : elems * bits]
    raw = raw.reshape(data.shape[0], elems, bits).astype(np.int64)
    vals = (raw << np.arange(bits)).sum(axis=2)
    if signed:
        vals = np.where(vals >= (1 << (bits - 1)), vals - (1 << bits), vals)
    return vals


def pack_input(fmt: StreamFormat, x: np.ndarray) -> np.ndarray:
    """Images (N, H, W, C) -> tdata bytes (N * beats, in_width / 8), beats of a frame in order."""
    x = np.asarray(x)
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(fmt.in_shape):
        raise ConfigError(f"input must have shape (N, {', '.join(map(str, fmt.in_shape))}), got {x.shape}")
    lo, hi = ((-(1 << (fmt.in_bits - 1)), (1 << (fmt.in_bits - 1)) - 1) if fmt.in_signed
              else (0, (1 << fmt.in_bits) - 1))
    if x.size and (x.min() < lo or x.max() > hi):
        raise ConfigError(f"input values outside the {fmt.in_bits}-bit {'signed' if fmt.in_signed else 'unsigned'} range")
    if fmt.in_order is not None:
        x = x.reshape(x.shape[0], -1)[:, np.asarray(fmt.in_order, dtype=np.int64)]
    per = fmt.pixels_per_beat * fmt.in_shape[2]
    beats = x.reshape(-1, per)
    return _pack(beats, fmt.in_bits, fmt.in_width)


def unpack_output(fmt: StreamFormat, data: np.ndarray) -> np.ndarray:
    """Output beats (N * out_beats, out_width / 8) -> values (N, out_beats * out_elems) in (h, w, c) order."""
    data = np.asarray(data, dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != fmt.out_width // 8 or data.shape[0] % fmt.out_beats:
        raise ConfigError(f"output data must be (N * {fmt.out_beats}, {fmt.out_width // 8}) bytes, got {data.shape}")
    vals = _unpack(data, fmt.out_elems, fmt.out_field, fmt.out_signed)
    return vals.reshape(-1, fmt.out_beats * fmt.out_elems)
