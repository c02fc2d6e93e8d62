"""PYNQ driver for an sbnn accelerator behind one AXI DMA (direct register mode) on a Zynq board.

The driver never imports ``pynq`` at module level: on the board :func:`load` imports it and wraps a real
``Overlay``; on a workstation :mod:`sbnn.hw.pynq.sim` supplies an overlay whose DMA drives the Verilator
model of the very RTL that the bitstream holds. The tests therefore run this code, not a copy of it.
``sbnn deploy`` ships this module together with :mod:`sbnn.hw.stream` as one standalone file that needs
only numpy (and pynq on the board): the packing rules exist once, in ``stream.py``.

Bus widths: an AXI DMA stream is 8, 16, ..., 1024 bits wide (powers of two), so the PYNQ shell around
the core (:mod:`sbnn.hw.pynq.shell`) zero-pads ``tdata`` to the next such width. :class:`DmaFormat` is the
core's :class:`~sbnn.hw.stream.StreamFormat` with those bus widths; ``pack_input`` / ``unpack_output``
applied to it produce and read exactly the bytes the DMA moves.

Batches: the shell asserts ``m_axis_tlast`` only after the frame during which the input stream's
``tlast`` arrived (the end of an MM2S transfer), so one S2MM transfer receives a whole batch.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from sbnn.errors import ConfigError, HardwareError
from sbnn.hw.stream import StreamFormat, pack_input, unpack_output

#: stream widths AXI DMA v7.1 accepts (c_m_axis_mm2s_tdata_width / c_s_axis_s2mm_tdata_width)
DMA_WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024)
#: bytes of one transfer: the buffer length register is configured 26 bits wide (its maximum)
LENGTH_BITS = 26
MAX_TRANSFER_BYTES = (1 << LENGTH_BITS) - 1
#: instance name of the DMA in the generated block design (an attribute of the PYNQ overlay)
DMA_NAME = "axi_dma_0"


def dma_width(bits: int) -> int:
    """The narrowest AXI DMA stream width that holds ``bits`` bits of tdata."""
    for w in DMA_WIDTHS:
        if bits <= w:
            return w
    raise HardwareError(f"a {bits}-bit stream is wider than AXI DMA allows ({DMA_WIDTHS[-1]} bits): "
                        "lower pixels_per_beat (--set pixels_per_beat=...) or end on fewer scores per beat")


@dataclass(frozen=True)
class DmaFormat(StreamFormat):
    """The core's stream format carried on AXI DMA buses of ``in_bus`` / ``out_bus`` bits."""

    in_bus: int
    out_bus: int

    @property
    def in_width(self) -> int:  # type: ignore[override]
        return self.in_bus

    @property
    def out_width(self) -> int:  # type: ignore[override]
        return self.out_bus

    @classmethod
    def of(cls, fmt: StreamFormat) -> "DmaFormat":
        """The DMA-side format of a core format (tdata padded to the next DMA width)."""
        core = {k: getattr(fmt, k) for k in StreamFormat.__dataclass_fields__}
        return cls(**core, in_bus=dma_width(fmt.in_width), out_bus=dma_width(fmt.out_width))

    def core(self) -> StreamFormat:
        """The accelerator core's own format (tdata of whole bytes, no bus padding)."""
        return StreamFormat(**{k: getattr(self, k) for k in StreamFormat.__dataclass_fields__})

    def frame_bytes(self) -> tuple[int, int]:
        """Bytes per frame on the MM2S and the S2MM side."""
        return self.in_beats * self.in_bus // 8, self.out_beats * self.out_bus // 8

    def max_batch(self) -> int:
        """Most frames one DMA transfer can carry (26-bit length register)."""
        return MAX_TRANSFER_BYTES // max(self.frame_bytes())


@dataclass
class Throughput:
    """Result of :meth:`Accelerator.measure`: wall-clock frames per second of batch inference."""

    frames: int
    seconds: float
    batch: int

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


class Accelerator:
    """Batch inference through one AXI DMA: per batch, one MM2S transfer of the packed input beats and
    one S2MM transfer of the output beats. ``allocate(shape, dtype)`` provides DMA-able buffers
    (``pynq.allocate`` on the board)."""

    def __init__(self, dma: Any, fmt: DmaFormat, allocate: Callable[..., Any], *, gain: np.ndarray | None = None,
                 bias: np.ndarray | None = None, classes: list[str] | None = None, batch: int = 1024):
        self.dma, self.fmt, self.allocate = dma, fmt, allocate
        n = fmt.out_beats * fmt.out_elems
        self.gain = np.ones(n) if gain is None else np.asarray(gain, dtype=np.float64)
        self.bias = np.zeros(n) if bias is None else np.asarray(bias, dtype=np.float64)
        self.classes = list(classes or [])
        self.batch = max(1, min(int(batch), fmt.max_batch()))
        self._buffers: dict[int, tuple[Any, Any]] = {}
        self.overlay: Any = None  # set by load(): keeps the pynq Overlay alive with the accelerator

    @classmethod
    def from_overlay(cls, overlay: Any, description: dict, allocate: Callable[..., Any], **kw: Any) -> "Accelerator":
        """The accelerator of an overlay built by ``sbnn deploy`` (``description``: its ``sbnn.json``)."""
        fmt = DmaFormat.from_json(description["stream"])
        head = description.get("head", {})
        dma = getattr(overlay, description.get("dma", DMA_NAME))
        return cls(dma, fmt, allocate, gain=head.get("gain"), bias=head.get("bias"),
                   classes=description.get("classes"), **kw)

    def _buffers_for(self, frames: int) -> tuple[Any, Any]:
        if frames not in self._buffers:
            for k in [k for k in self._buffers if k != self.batch]:  # keep the full-batch pair only
                for buf in self._buffers.pop(k):
                    getattr(buf, "freebuffer", lambda: None)()
            f = self.fmt
            self._buffers[frames] = (self.allocate(shape=(frames * f.in_beats, f.in_bus // 8), dtype=np.uint8),
                                     self.allocate(shape=(frames * f.out_beats, f.out_bus // 8), dtype=np.uint8))
        return self._buffers[frames]

    def _run_batch(self, x: np.ndarray) -> np.ndarray:
        ibuf, obuf = self._buffers_for(x.shape[0])
        ibuf[:] = pack_input(self.fmt, x)
        getattr(ibuf, "flush", lambda: None)()
        self.dma.recvchannel.transfer(obuf)  # armed first, so the core never waits for the S2MM side
        self.dma.sendchannel.transfer(ibuf)
        self.dma.sendchannel.wait()
        self.dma.recvchannel.wait()
        getattr(obuf, "invalidate", lambda: None)()
        return unpack_output(self.fmt, np.asarray(obuf))

    def scores(self, x: np.ndarray, batch: int | None = None) -> np.ndarray:
        """Integer scores (N, outputs) of images ``x`` (N, H, W, C), exactly as the hardware computes them."""
        x = np.asarray(x)
        if x.ndim != 4:
            raise ConfigError(f"expected images (N, H, W, C), got shape {x.shape}")
        b = max(1, min(int(batch or self.batch), self.fmt.max_batch()))
        parts = [self._run_batch(x[i : i + b]) for i in range(0, x.shape[0], b)]
        return np.concatenate(parts) if parts else np.zeros((0, self.gain.size), np.int64)

    def logits(self, x: np.ndarray, batch: int | None = None) -> np.ndarray:
        """Class scores: the model's host-side head ``gain * scores + bias`` applied to :meth:`scores`."""
        return self.scores(x, batch).astype(np.float64) * self.gain + self.bias

    def predict(self, x: np.ndarray, batch: int | None = None) -> np.ndarray:
        """Predicted class index per image."""
        return np.argmax(self.logits(x, batch), axis=1)

    def measure(self, x: np.ndarray, batch: int | None = None, repeats: int = 1) -> Throughput:
        """Frames per second of :meth:`scores` (packing, DMA and unpacking included), best of ``repeats``."""
        best = float("inf")
        for _ in range(max(1, repeats)):
            t0 = time.perf_counter()
            self.scores(x, batch)
            best = min(best, time.perf_counter() - t0)
        return Throughput(int(np.asarray(x).shape[0]), best, int(batch or self.batch))


def describe(fmt: StreamFormat, *, top: str, gain: np.ndarray, bias: np.ndarray, classes: list[str],
             clock_mhz: float, latency: int, interval: int) -> dict:
    """The ``sbnn.json`` that travels with a bitstream: DMA-side stream format, head and timing."""
    dfmt = DmaFormat.of(fmt)
    d = {"top": top, "dma": DMA_NAME, "stream": dfmt.to_json(), "core_stream": dfmt.core().to_json(),
         "head": {"gain": [float(v) for v in gain], "bias": [float(v) for v in bias]}, "classes": list(classes),
         "clock_mhz": clock_mhz, "model_latency_cycles": latency, "model_interval_cycles": interval,
         "model_frames_per_second": clock_mhz * 1e6 / max(interval, 1), "max_batch": dfmt.max_batch()}
    assert DmaFormat.from_json(d["stream"]) == dfmt
    return d


def load(folder: str | Path = ".", bitfile: str = "sbnn.bit", download: bool = True, **kw: Any) -> Accelerator:
    """On the board: program ``bitfile`` (with its ``.hwh`` beside it) and return the accelerator."""
    from pynq import Overlay, allocate  # only available on a PYNQ image

    folder = Path(folder)
    description = json.loads((folder / "sbnn.json").read_text())
    overlay = Overlay(str(folder / bitfile), download=download)
    acc = Accelerator.from_overlay(overlay, description, allocate, **kw)
    acc.overlay = overlay  # keep the overlay alive as long as the accelerator
    return acc


__all__ = ["DMA_WIDTHS", "DMA_NAME", "MAX_TRANSFER_BYTES", "Accelerator", "DmaFormat", "Throughput", "describe",
           "dma_width", "load"]
