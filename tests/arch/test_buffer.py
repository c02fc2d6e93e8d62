"""The word buffer's layout (sbnn.arch.buffer): which MVUs get one, and that writing the beats as the layout
says and reading the MVU's slices by address gives every slice the MVU's datapath expects (the RTL grid
checks the Verilog of the same layouts against the simulator)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as hs

from sbnn.arch.buffer import WordBuffer, buffer_control_luts, buffer_ram_luts, fed_buffer, word_buffer
from sbnn.arch.cost import VECTOR_FIFO_LUT, features, vector_fifo_estimate
from sbnn.arch.schedule import plan_mvu
from sbnn.ir.structure import group_order
from sbnn.ir.synthetic import random_mvu


def _layer(shape, m=8, structure="none", pe=1, simd=1, kind="dense"):
    layer = random_mvu(np.random.default_rng(0), "fc", kind, shape, m, structure=structure, pe=pe, simd=simd,
                       sparsity=0.5)
    return layer


@pytest.mark.parametrize("shape, structure, style, simd, beat, want", [
    ((4, 4, 8), "none", "dense", 16, 8, WordBuffer(1, 16, 2, 1, 8)),  # words of two beats
    ((4, 4, 16), "none", "dense", 4, 16, WordBuffer(1, 16, 1, 4, 16)),  # whole beats of 4 slices
    ((4, 4, 8), "1:8i", "nm", 64, 8, WordBuffer(8, 8, 1, 1, 2)),  # 8 band memories
    ((28, 28, 1), "1:8i", "nm", 112, 1, WordBuffer(8, 14, 14, 1, 7)),  # the Fashion SFC's first layer
    ((28, 28, 1), "1:8", "nm", 112, 1, WordBuffer(1, 112, 112, 1, 7)),
    ((4, 4, 8), "1:8i", "dense", 64, 8, WordBuffer(1, 64, 8, 1, 2)),  # XNOR lanes read the natural order
])
def test_layouts(shape, structure, style, simd, beat, want):
    layer = _layer(shape, structure=structure, simd=simd)
    assert word_buffer(layer, plan_mvu(layer, style=style), beat) == want


@pytest.mark.parametrize("shape, structure, style, simd, beat, why", [
    ((4, 4, 8), "none", "sparse", 4, 8, "a gather reads any input, not slices"),
    ((4, 4, 8), "none", "dense", 128, 8, "one slice: nothing to multiplex"),
    ((4, 4, 6), "none", "dense", 4, 6, "a slice straddles two beats"),
    ((4, 4, 24), "none", "dense", 8, 24, "three slices per beat: not a power of two"),
    ((4, 4, 8), "1:8i", "nm", 32, 8, "a band's 4 inputs of a slice are half a beat"),
    ((4, 4, 8), "block:4", "block", 16, 8, "block lanes address blocks, not slices"),
])
def test_no_buffer(shape, structure, style, simd, beat, why):
    layer = _layer(shape, structure=structure, simd=simd)
    assert word_buffer(layer, plan_mvu(layer, style=style), beat) is None, why


def test_no_buffer_for_a_convolution():
    layer = _layer((6, 6, 8), kind="conv", simd=8)
    assert word_buffer(layer, plan_mvu(layer, style="dense"), 8) is None


def _slices_through_buffer(wb: WordBuffer, x: np.ndarray, beat: int, simd: int) -> list[np.ndarray]:
    """A Python model of the layout: beats written as the layout says, slices read by address."""
    mem = [dict() for _ in range(wb.rows)]
    words = [x[b * beat:(b + 1) * beat] for b in range(x.size // beat)]
    acc, n = [], 0
    for b in words:
        acc.append(b)
        if len(acc) == wb.beats:
            row, entry = divmod(n, wb.entries)
            mem[row][entry] = np.concatenate(acc)
            acc, n = [], n + 1
    out = []
    for sf in range(x.size // simd):
        if wb.rows > 1:
            out.append(np.stack([mem[t][sf] for t in range(wb.rows)], axis=1).reshape(-1))
        else:
            word = mem[0][sf // wb.slices]
            sub = sf % wb.slices
            out.append(word[sub * simd:(sub + 1) * simd])
    return out


@settings(max_examples=60, deadline=None)
@given(c=hs.sampled_from([1, 2, 4, 8, 16]), hw=hs.sampled_from([(4, 4), (2, 8), (8, 8)]),
       simd_mult=hs.sampled_from([1, 2, 4, 8]), beat_pixels=hs.sampled_from([1, 2, 4]),
       structure=hs.sampled_from(["none", "1:8", "1:8i", "2:8i", "1:4i"]))
def test_buffer_delivers_the_slices_the_datapath_reads(c, hw, simd_mult, beat_pixels, structure):
    h, w = hw
    k = h * w * c
    beat = beat_pixels * c
    size = int(structure.split(":")[1].rstrip("i")) if structure != "none" else 1
    simd = size * simd_mult
    assume(k % simd == 0 and k // simd >= 2 and k % beat == 0)
    layer = _layer((h, w, c), structure=structure, simd=simd)
    style = "nm" if structure != "none" else "dense"
    wb = word_buffer(layer, plan_mvu(layer, style=style), beat)
    assume(wb is not None)
    x = np.random.default_rng(k + simd).integers(0, 2, k)
    order = group_order(k, structure) if style == "nm" and structure.endswith("i") else None
    seen = x[order] if order is not None else x  # the vector in the order the lanes slice it
    got = _slices_through_buffer(wb, x, beat, simd)
    assert all(np.array_equal(g, seen[s * simd:(s + 1) * simd]) for s, g in enumerate(got))


def test_cost_model_moves_the_slice_multiplexer_into_the_buffer():
    """A word-fed MVU has no slice multiplexer; the buffer's distributed RAM replaces the vector FIFO."""
    fed = _layer((4, 4, 16), m=16, simd=16)
    plan = plan_mvu(fed, style="dense")
    wb = fed_buffer(fed, plan)
    assert wb is not None and features(fed, plan)["slice"] == 0
    assert vector_fifo_estimate(fed, plan) == VECTOR_FIFO_LUT + buffer_ram_luts(wb, 1) + buffer_control_luts(wb)
    vec = _layer((1, 1, 256), m=16, simd=16)  # fed whole vectors by an MVU: the multiplexer stays
    assert fed_buffer(vec, plan_mvu(vec, style="dense")) is None
    assert features(vec, plan_mvu(vec, style="dense"))["slice"] == 240
    # Yosys, K = 1,024 in 64-bit beats of 4 slices, 3 vectors: 88 LUT of RAM64M; 16 band memories of 2 bits
    # (a RAM32M each), 2 vectors of 8 words: 64 LUT
    assert buffer_ram_luts(WordBuffer(1, 64, 1, 16, 16), 1) == 88
    assert buffer_ram_luts(WordBuffer(16, 2, 2, 1, 8), 1, vectors=2) == 64


def test_a_link_buffer_pays_only_where_its_ram_is_smaller_than_the_multiplexer():
    """Measured in the Fashion SFC networks (K = 256 score layer after a PE-1 N:M layer): a SIMD-4 XNOR consumer's
    buffer (31 LUT) pays for its 111-LUT multiplexer; 16 band memories of a 1:16i consumer at SIMD 32 (101 LUT)
    do not pay for its 99; a SIMD-128 consumer keeps its multiplexer."""
    from sbnn.arch.cost import link_buffer_pays

    for structure, style, simd, pays in (("none", "dense", 4, True), ("1:16i", "nm", 32, False),
                                         ("1:8i", "nm", 32, True), ("none", "dense", 128, False)):
        layer = _layer((1, 1, 256), m=10, structure=structure, simd=simd)
        plan = plan_mvu(layer, style=style)
        assert link_buffer_pays(layer, plan, word_buffer(layer, plan, 1)) == pays, (structure, simd)


def test_the_pipeline_uses_a_buffer_where_one_fits_and_can_do_without():
    """A dense layer after a map gets a word buffer before its sliced MVU (both stages know it); with
    ``word_buffers=False`` the collector and a K-bit FIFO (for before / after measurements)."""
    from sbnn.arch.pipeline import build_pipeline
    from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel

    rng = np.random.default_rng(0)
    fc = random_mvu(rng, "fc", "dense", (4, 4, 8), 8, sparsity=0.5, simd=16)
    tail = random_mvu(rng, "tail", "dense", (1, 1, 8), 2, output=True)
    model = IRModel("m", InputSpec((4, 4, 8), BIPOLAR), [fc, tail], Head(np.ones(2), np.zeros(2))).validate()
    on = build_pipeline(model, style="dense", pixels_per_beat=1)
    col, mvu = on[0], on[1]
    assert col.kind == "collector" and col.word_buffer == mvu.word_buffer == WordBuffer(1, 16, 2, 1, 8)
    off = build_pipeline(model, style="dense", pixels_per_beat=1, word_buffers=False)
    assert [s.kind for s in off] == [s.kind for s in on] and all(s.word_buffer is None for s in off)
