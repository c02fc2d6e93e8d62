"""The word buffer: a collector that writes a dense layer's input vector into distributed RAM, laid out as
its MVU reads it, so that the MVU reads one word per clock instead of multiplexing a K-wide register.

Why: a sliced MVU (dense XNOR, N:M) reads its input vector SIMD inputs at a time, K / SIMD times per fold.
Fed a K-bit vector, it picks each slice with a K / SIMD : 1 multiplexer per input bit (~0.44 LUT per input
bit, by the cost model's fit: 450 LUT for the CNV's first FC layer, K = 1,024 at SIMD 4). A dense layer fed
pixel by pixel (after a pool or a convolution) has a collector in front of it anyway; written straight
into distributed RAM in read order, the vector costs a few LUTs per 6 bits of RAM width and the MVU reads
its slice by address. The buffer holds ``depth + 1`` vectors (the stream FIFO's ``depth`` and the one being
collected), pushes and pops exactly when the collector and the FIFO it replaces would, so the cycle model
(:mod:`sbnn.sim.cycles`) times both alike.

Two layouts (:class:`WordBuffer`):

* ``rows`` memories of ``chunk`` elements per word (SIMD a multiple of the beat): ``beats`` consecutive beats
  are assembled into one word. ``rows`` is 1, or M for an interleaved N:M MVU: its slice holds SIMD / M
  consecutive inputs of each of the M bands of K / M inputs, so band t lives in memory t and the slice is
  the memories' words interleaved (wires only);
* one memory of whole beats (the beat a power-of-two multiple of SIMD): the MVU's slice is one of the
  ``slices`` slices of the addressed beat (a small multiplexer).

Not used (the collector and a K-bit vector FIFO instead) when neither layout fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sbnn.arch.schedule import MVUPlan, layer_structure
from sbnn.ir.model import MVU


@dataclass(frozen=True)
class WordBuffer:
    """How a collector lays out its MVU's input vector in distributed RAM (sizes in elements)."""

    rows: int  # memories written one after the other (1, or M of an interleaved N:M MVU)
    chunk: int  # elements per memory word
    beats: int  # beats assembled into one word (1 when a word is a whole beat)
    slices: int  # MVU slices per word (1 unless a word is a whole beat wider than the slice)
    entries: int  # words per vector in each memory

    @property
    def slice_elems(self) -> int:
        """Elements of one MVU slice (its SIMD): the memories' words side by side, or one slice of a word."""
        return self.rows * self.chunk // self.slices

    @property
    def index_bits(self) -> int:
        """Address bits of a word within one vector's bank."""
        return max(1, (self.entries - 1).bit_length())


def word_buffer(layer: MVU, plan: MVUPlan, beat_elems: int) -> WordBuffer | None:
    """The word buffer a dense ``layer`` fed in beats of ``beat_elems`` elements gets (None: the plain
    collector). Only sliced MVUs (dense XNOR, N:M) read by slice, and only over more than one slice."""
    k, simd = layer.in_features, plan.simd
    if layer.kind != "dense" or not plan.sliced or k % simd or k // simd < 2 or k % beat_elems:
        return None
    st = layer_structure(layer)
    rows = st.size if plan.style == "nm" and st.interleaved else 1
    if simd % rows:
        return None
    chunk = simd // rows
    if chunk % beat_elems == 0:
        return WordBuffer(rows, chunk, chunk // beat_elems, 1, k // simd)
    q = beat_elems // simd
    if rows == 1 and beat_elems % simd == 0 and q & (q - 1) == 0:
        return WordBuffer(1, beat_elems, 1, q, k // beat_elems)
    return None


def fed_buffer(layer: MVU, plan: MVUPlan) -> WordBuffer | None:
    """The word buffer ``layer`` gets when fed one pixel per beat (what the folding step assumes: the
    pipeline packs more only into the first layer's beats, when the input rate allows)."""
    h, w, c = layer.in_shape
    return word_buffer(layer, plan, c) if h * w > 1 else None


def buffer_ram_luts(wb: WordBuffer, eb: int, vectors: int = 3) -> int:
    """LUTs of the buffer's distributed RAM holding ``vectors`` vectors, memory by memory (Xilinx 7-series: a
    RAM32M is 32 words x 6 bits in 4 LUTs, a RAM64M 64 x 3, one write enable each). Yosys: K = 1,024 in 64-bit
    beats, 3 vectors: 88 LUT; 16 band memories of 2 bits, 2 vectors of 8 words: 64 LUT."""
    depth = vectors << wb.index_bits
    per = 6 if depth <= 32 else 3
    return wb.rows * -(-(wb.chunk * eb) // per) * 4 * max(1, -(-depth // 64))


def buffer_control_luts(wb: WordBuffer) -> float:
    """LUTs of a buffer's counters, bank pointers and per-memory write enables (Yosys, the word buffers of the
    Fashion SFC networks: 15 LUT with one memory, 31 with 8, 37 with 16)."""
    return 12 + 1.5 * wb.rows
