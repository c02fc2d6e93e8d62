"""RTL regression of single layers over a grid of shapes, foldings, sparsities, codings and input types.

Each design is the generated accelerator cut after the layer under test (a *probe*), so its output
stream is exactly that layer's output. All designs of a group share one Verilator build and one
simulation of 1,000 frames each; every frame must equal the bit-exact simulator, and the edge of every
input and output beat must equal the cycle model (tolerance 0).
"""

from __future__ import annotations

import numpy as np
import pytest

from sbnn.hw.rtl.design import GenOptions, generate
from sbnn.hw.rtlsim import verilator as rtlsim
from sbnn.hw.stream import pack_input

pytestmark = pytest.mark.rtl

FRAMES = 1000

# name: (kind, layer kwargs, generator options)
GRID = {
    # dense, bipolar input
    "d32x16_s0_p1s1": ("dense", dict(shape=(1, 1, 32), m=16, sparsity=0.0), {}),
    "d32x16_s50_p2s4": ("dense", dict(shape=(1, 1, 32), m=16, sparsity=0.5, pe=2, simd=4), {}),
    "d64x16_s90_p4s8_index": ("dense", dict(shape=(1, 1, 64), m=16, sparsity=0.9, pe=4, simd=8), {"coding": "index"}),
    "d64x16_s99_p2s2_delta": ("dense", dict(shape=(1, 1, 64), m=16, sparsity=0.99, pe=2, simd=2), {"coding": "delta"}),
    "d48x12_zero_rows_cols": ("dense", dict(shape=(1, 1, 48), m=12, sparsity=0.5, pe=3, simd=6, zero_rows=4,
                                            zero_cols=16), {}),
    "d64x8_delta3": ("dense", dict(shape=(1, 1, 64), m=8, sparsity=0.9, pe=2, simd=4), {"coding": "delta",
                                                                                          "delta_bits": 3}),
    "d64x16_seg_s90_p4s8": ("dense", dict(shape=(1, 1, 64), m=16, sparsity=0.9, pe=4, simd=8),
                            {"gather": "segmented", "coding": "index"}),
    "d48x8_seg_delta_p2s4": ("dense", dict(shape=(1, 1, 48), m=8, sparsity=0.7, pe=2, simd=4, zero_cols=8),
                             {"gather": "segmented", "coding": "delta"}),
    "d12x4_seg_simd12": ("dense", dict(shape=(1, 1, 12), m=4, sparsity=0.5, pe=2, simd=12), {"gather": "segmented"}),
    # distributed-RAM gather: two / one buffers, several banks (K + 1 > 64), index and gap codes,
    # copies per three read ports, integer inputs, convolution windows, all-zero rows and columns
    "d200x16_lut_s90_p4s4": ("dense", dict(shape=(1, 1, 200), m=16, sparsity=0.9, pe=4, simd=4), {"gather": "lutram"}),
    "d130x8_lut1_delta_p2s2": ("dense", dict(shape=(1, 1, 130), m=8, sparsity=0.8, pe=2, simd=2, zero_rows=2,
                                             zero_cols=30), {"gather": "lutram1", "coding": "delta"}),
    "d63x8_lut_k63_p1s1": ("dense", dict(shape=(1, 1, 63), m=8, sparsity=0.5), {"gather": "lutram"}),
    "d64x4_lut_s99_p2s8": ("dense", dict(shape=(1, 1, 64), m=4, sparsity=0.99, pe=2, simd=8), {"gather": "lutram1"}),
    "d70x10_lut_scores": ("dense", dict(shape=(1, 1, 70), m=10, sparsity=0.7, pe=5, simd=2, output=True),
                          {"gather": "lutram"}),
    "d100x8_u8_lut_p2s5": ("dense", dict(shape=(1, 1, 100), m=8, in_bits=8, sparsity=0.8, pe=2, simd=5),
                           {"gather": "lutram"}),
    "d90x6_s4_signed_lut1": ("dense", dict(shape=(1, 1, 90), m=6, in_bits=4, signed=True, sparsity=0.7, pe=2, simd=3),
                             {"gather": "lutram1"}),
    "c3_lut_6x6x8": ("conv", dict(shape=(6, 6, 8), m=8, sparsity=0.9, pe=2, simd=3), {"gather": "lutram"}),
    "c3_u8_lut1_5x5x3": ("conv", dict(shape=(5, 5, 3), m=4, in_bits=8, sparsity=0.6, pe=2, simd=3),
                         {"gather": "lutram1"}),
    # direct load: one element per beat written into its bank as it arrives (no collector)
    "d9x9x1_lut_direct": ("dense", dict(shape=(9, 9, 1), m=8, sparsity=0.8, pe=2, simd=3),
                          {"gather": "lutram", "pixels_per_beat": 1}),
    "d5x5x1_u8_lut_direct": ("dense", dict(shape=(5, 5, 1), m=6, in_bits=8, sparsity=0.6, pe=3, simd=5, output=True),
                             {"gather": "lutram", "pixels_per_beat": 1, "coding": "delta"}),
    "d4x4x8_lut_collector": ("dense", dict(shape=(4, 4, 8), m=8, sparsity=0.85, pe=2, simd=4), {"gather": "lutram"}),
    "d32x8_unrolled_s90": ("dense", dict(shape=(1, 1, 32), m=8, sparsity=0.9, pe=8, simd=32), {}),
    "d32x8_unrolled_xnor": ("dense", dict(shape=(1, 1, 32), m=8, sparsity=0.5, pe=8, simd=32), {"style": "dense"}),
    "d64x16_xnor_p4s8": ("dense", dict(shape=(1, 1, 64), m=16, sparsity=0.5, pe=4, simd=8), {"style": "dense"}),
    # dense XNOR style with {alpha, beta} levels: S'(x) summed over the slices of the first fold
    "d48x8_xnor_ab_p2s6": ("dense", dict(shape=(1, 1, 48), m=8, sparsity=0.7, pe=2, simd=6, levels=(-3, 5)),
                           {"style": "dense"}),
    "d24x4_xnor_ab_onefold": ("dense", dict(shape=(1, 1, 24), m=4, sparsity=0.6, pe=4, simd=6, levels=(-3, 5)),
                              {"style": "dense"}),
    "d20x6_u8_dense_ab": ("dense", dict(shape=(1, 1, 20), m=6, in_bits=8, sparsity=0.5, pe=3, simd=4, levels=(3, 7),
                                        output=True), {"style": "dense"}),
    "d40x10_scores_p5s4": ("dense", dict(shape=(1, 1, 40), m=10, sparsity=0.6, pe=5, simd=4, output=True,
                                         levels=(-1, 1)), {}),
    "d40x10_scores_xnor": ("dense", dict(shape=(1, 1, 40), m=10, sparsity=0.6, pe=2, simd=8, output=True), {"style": "dense"}),
    "d40x10_scores_unrolled": ("dense", dict(shape=(1, 1, 40), m=10, sparsity=0.9, pe=10, simd=40, output=True), {}),
    "d4x4x4_collector": ("dense", dict(shape=(4, 4, 4), m=8, sparsity=0.7, pe=2, simd=4), {}),
    # dense, integer input (first layer fed with pixels)
    "d20x8_u8_p2s5": ("dense", dict(shape=(1, 1, 20), m=8, in_bits=8, sparsity=0.5, pe=2, simd=5), {}),
    "d20x8_u8_unrolled": ("dense", dict(shape=(1, 1, 20), m=8, in_bits=8, sparsity=0.5, pe=8, simd=20), {}),
    "d20x8_u8_dense": ("dense", dict(shape=(1, 1, 20), m=8, in_bits=8, sparsity=0.5, pe=4, simd=4), {"style": "dense"}),
    "d16x8_s4_signed": ("dense", dict(shape=(1, 1, 16), m=8, in_bits=4, signed=True, sparsity=0.5, pe=4, simd=2), {}),
    "d3x3x2_u8_scores": ("dense", dict(shape=(3, 3, 2), m=4, in_bits=8, sparsity=0.3, pe=2, simd=3, output=True),
                         {"pixels_per_beat": 3}),
    # conv
    "c3_pad1_6x6x4": ("conv", dict(shape=(6, 6, 4), m=8, sparsity=0.5, pe=2, simd=4), {}),
    "c3_pad0_7x5x3_xnor": ("conv", dict(shape=(7, 5, 3), m=6, sparsity=0.5, pe=3, simd=3, pad=0), {"style": "dense"}),
    "c3_pad1_u8_6x6x3": ("conv", dict(shape=(6, 6, 3), m=8, in_bits=8, sparsity=0.5, pe=4, simd=27), {}),
    "c3_u8_seg_delta": ("conv", dict(shape=(5, 5, 3), m=4, in_bits=8, sparsity=0.8, pe=2, simd=9),
                        {"gather": "segmented", "coding": "delta"}),
    "c3_unrolled_5x5x2": ("conv", dict(shape=(5, 5, 2), m=4, sparsity=0.9, pe=4, simd=18), {}),
    "c2_pad0_5x6x2": ("conv", dict(shape=(5, 6, 2), m=4, sparsity=0.5, kernel=2, pad=0, pe=2, simd=2), {}),
    "c2_pad1_4x4x2": ("conv", dict(shape=(4, 4, 2), m=4, sparsity=0.5, kernel=2, pad=1, pe=4, simd=8), {}),
    "c1_4x4x8": ("conv", dict(shape=(4, 4, 8), m=8, sparsity=0.5, kernel=1, pad=0, pe=2, simd=4), {}),
    "c3_pad2_4x4x2": ("conv", dict(shape=(4, 4, 2), m=4, sparsity=0.5, pad=2, pe=1, simd=6), {}),
    "c3_scores_4x4x2": ("conv", dict(shape=(4, 4, 2), m=3, sparsity=0.5, output=True, pe=3, simd=9), {}),
    "c3_s99_zero_rows": ("conv", dict(shape=(5, 5, 4), m=8, sparsity=0.99, zero_rows=3, pe=4, simd=4), {}),
    # max-pool and input thresholds
    "pool2_8x8x4": ("maxpool", dict(shape=(8, 8, 4), kernel=2), {}),
    "pool3_6x9x3": ("maxpool", dict(shape=(6, 9, 3), kernel=3), {}),
    "pool1_3x3x2": ("maxpool", dict(shape=(3, 3, 2), kernel=1), {}),
    "thr_u8_4x4x3": ("threshold", dict(shape=(4, 4, 3), in_bits=8), {"pixels_per_beat": 1}),
    "thr_s6_2x3x5_wide": ("threshold", dict(shape=(2, 3, 5), in_bits=6, signed=True), {}),
}

GROUPS = [list(GRID)[i::3] for i in range(3)]


@pytest.fixture(scope="module")
def grid_runs(hwt, tmp_path_factory):
    hwt.need_verilator()
    runs = {}
    for g, names in enumerate(GROUPS):
        designs, cases = [], []
        for i, name in enumerate(names):
            kind, kwargs, opts = GRID[name]
            rng = np.random.default_rng(1000 + list(GRID).index(name))
            model, upto = hwt.layer_model(rng, kind, name=name, **kwargs)
            design = generate(model, GenOptions(**opts), upto=upto, name=f"g_{name}")
            x = hwt.random_input(rng, model.input, FRAMES)
            designs.append(design)
            cases.append((name, model, upto, x))
        bld = rtlsim.build(designs, tmp_path_factory.mktemp(f"grid{g}"))
        results = rtlsim.run(bld, [pack_input(d.stream, c[3]) for d, c in zip(designs, cases)])
        for d, (name, model, upto, x), res in zip(designs, cases, results):
            runs[name] = (d, res, model, upto, x)
    return runs


@pytest.mark.parametrize("name", list(GRID))
def test_layer_bit_and_cycle_exact(grid_runs, hwt, name):
    design, res, model, upto, x = grid_runs[name]
    hwt.check(design, res, model, upto, x)


def test_grid_covers_the_required_cases():
    """The grid exercises every sparsity of the issue, both MVU styles, every coding and every unit."""
    sp = {kw.get("sparsity") for _, kw, _ in GRID.values()}
    assert {0.0, 0.5, 0.9, 0.99} <= sp
    assert {k for k, _, _ in GRID.values()} == {"dense", "conv", "maxpool", "threshold"}
    assert {o.get("style", "sparse") for _, _, o in GRID.values()} == {"sparse", "dense"}
    assert {o.get("gather", "full") for _, _, o in GRID.values()} == {"full", "segmented", "lutram", "lutram1"}
    assert any(kw.get("zero_rows") for _, kw, _ in GRID.values()) and any(kw.get("zero_cols") for _, kw, _ in GRID.values())
