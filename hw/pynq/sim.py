"""A simulated PYNQ overlay: the driver's DMA calls drive the Verilator model of the PYNQ shell + core.

Why: the board driver (:mod:`sbnn.hw.pynq.driver`) must be proven without a board. This overlay offers
the part of the ``pynq`` API the driver uses - ``overlay.axi_dma_0.sendchannel`` / ``recvchannel`` with
``transfer(buffer)`` and ``wait()``, and ``allocate(shape, dtype)`` - and behind it simulates exactly
what the bitstream contains (the shell of :mod:`sbnn.hw.pynq.shell` around the generated core), with the
DMA's semantics: MM2S raises ``tlast`` on the last beat of a transfer, and an S2MM transfer ends at the
first ``tlast`` it receives, which must coincide with the end of the receive buffer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sbnn.errors import HardwareError
from sbnn.hw.pynq.driver import DMA_NAME, DmaFormat
from sbnn.hw.pynq.shell import sim_design
from sbnn.hw.rtl.design import Design
from sbnn.hw.rtlsim import verilator as rtlsim


def allocate(shape: Any, dtype: Any = np.uint8, **_: Any) -> np.ndarray:
    """Stand-in for ``pynq.allocate``: plain host memory."""
    return np.zeros(shape, dtype=dtype)


@dataclass
class Transfer:
    """One simulated MM2S + S2MM pair: frames, and clock edges from the first input beat offered to the
    S2MM tlast (inclusive), as the Verilator harness counts them."""

    frames: int
    cycles: int


class _Channel:
    def __init__(self, dma: "SimDMA", name: str):
        self._dma, self.name = dma, name
        self.buffer: np.ndarray | None = None

    @property
    def idle(self) -> bool:
        return self.buffer is None

    def transfer(self, array: np.ndarray, start: int = 0, nbytes: int = 0) -> None:
        if self.buffer is not None:
            raise HardwareError(f"{self.name}: transfer started while the previous one is still running")
        if start or nbytes:
            raise HardwareError(f"{self.name}: partial transfers are not simulated")
        self.buffer = array

    def wait(self) -> None:
        self._dma._complete()


class SimDMA:
    """``sendchannel`` / ``recvchannel`` over the Verilator simulation of one shell design."""

    def __init__(self, overlay: "SimOverlay"):
        self._ol = overlay
        self.sendchannel = _Channel(self, "sendchannel")
        self.recvchannel = _Channel(self, "recvchannel")

    def _complete(self) -> None:
        send, recv = self.sendchannel.buffer, self.recvchannel.buffer
        if send is None and recv is None:
            return
        if send is None or recv is None:
            raise HardwareError("the simulated overlay needs a send and a receive transfer before waiting "
                                "(an S2MM transfer without input never completes)")
        try:
            self._ol._stream(np.asarray(send, dtype=np.uint8), recv)
        finally:
            self.sendchannel.buffer = self.recvchannel.buffer = None


@dataclass
class SimOverlay:
    """Stands in for ``pynq.Overlay(...)`` of the bitstream that ``sbnn deploy`` builds for ``design``."""

    design: Design
    workdir: str | Path
    clock_mhz: float = 100.0
    transfers: list[Transfer] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sim = sim_design(self.design)
        self.fmt = DmaFormat.of(self.design.stream)
        self.build = rtlsim.build([self.sim], self.workdir)
        setattr(self, DMA_NAME, SimDMA(self))

    def _stream(self, send: np.ndarray, recv: np.ndarray) -> None:
        f = self.fmt
        if send.ndim != 2 or send.shape[1] != f.in_bus // 8 or send.shape[0] % f.in_beats or not send.shape[0]:
            raise HardwareError(f"MM2S buffer must be (frames * {f.in_beats}, {f.in_bus // 8}) bytes, got {send.shape}")
        beats = np.zeros((send.shape[0], f.in_bus // 8 + 1), dtype=np.uint8)
        beats[:, :-1] = send
        beats[-1, -1] = 1  # MM2S asserts tlast on the last beat of the transfer
        res = rtlsim.run(self.build, [beats])[0]
        last = np.flatnonzero(res.out_last)
        if last.size == 0:
            raise HardwareError("m_axis_tlast never rose: the S2MM transfer would not complete")
        n = int(last[0]) + 1
        want = recv.shape[0] if recv.ndim == 2 else -1
        if n != want or recv.shape[1] != f.out_bus // 8:
            raise HardwareError(f"S2MM received {n} beats up to tlast, the buffer {recv.shape} expects {want} beats "
                                f"of {f.out_bus // 8} bytes")
        recv[:] = res.out_data[:n]
        self.transfers.append(Transfer(send.shape[0] // f.in_beats, int(res.out_cycles[n - 1] - res.first_valid) + 1))

    def simulated_fps(self) -> float:
        """Frames per second of the simulated hardware over all transfers so far, at ``clock_mhz``
        (input always offered, output always accepted: the DMA at full rate)."""
        frames = sum(t.frames for t in self.transfers)
        cycles = sum(t.cycles for t in self.transfers)
        return frames * self.clock_mhz * 1e6 / cycles if cycles else 0.0
