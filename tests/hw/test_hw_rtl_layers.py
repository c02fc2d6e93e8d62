"""RTL regression of single layers over a grid of shapes, foldings, sparsities, codings and input types.

Each design is the generated accelerator cut after the layer under test (a *probe*), so its output
stream is exactly that layer's output. All designs of a group share one Verilator build and one
simulation of 1,000 frames each; every frame must equal the bit-exact simulator, and the edge of every
input and output beat must equal the cycle model (tolerance 0). Registers start with random values
(``--x-initial unique``). The same builds then run (a) with a reset in the middle of a frame at every
point where a unit holds state (mid-input, inside a fold, during a distributed-RAM load, half-way through
a window / pool / collector map, between the beats of an output frame): the frames after each reset
must be exact and on the cycle model's edges; (b) with random input gaps and output stalls (and the same
resets): every frame exact.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from sbnn.arch.cost import bram36_estimate, threshold_layout, thresholds_ride
from sbnn.hw.report import cycles_markdown, cycles_report
from sbnn.hw.rtl.design import GenOptions, generate
from sbnn.hw.rtlsim import verilator as rtlsim
from sbnn.hw.rtlsim.api import model_edges
from sbnn.hw.rtlsim.resets import reset_points, reset_schedule
from sbnn.hw.stream import pack_input

pytestmark = pytest.mark.rtl

FRAMES = 1000
RESET_FRAMES = 40  # frames of the final epoch after the mid-frame resets
STRESS_FRAMES = 200  # frames under random input gaps and output stalls

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
    # distributed-RAM gathers with absolute indices (appended: the seeds above depend on the position)
    "d130x8_lut1_index_p2s5": ("dense", dict(shape=(1, 1, 130), m=8, sparsity=0.85, pe=2, simd=5),
                               {"gather": "lutram1", "coding": "index"}),
    "d96x8_lut_index_p4s2": ("dense", dict(shape=(1, 1, 96), m=8, sparsity=0.9, pe=4, simd=2),
                             {"gather": "lutram", "coding": "index"}),
    # (appended: the seed of a design is its position in GRID)
    # structured masks. N:M: G:1 multiplexers over the dense slice (several groups per word, one word per
    # channel, short tail groups with empty slots), bipolar and integer inputs, {alpha, beta} and {-1, +1}
    "d64x16_nm1of4_p4s8": ("dense", dict(shape=(1, 1, 64), m=16, structure="1:4", pe=4, simd=8), {"style": "nm"}),
    "d128x8_nm1of8_ab_p2s32": ("dense", dict(shape=(1, 1, 128), m=8, structure="1:8", pe=2, simd=32, levels=(-3, 5)),
                               {"style": "nm"}),
    "d128x8_nm1of8_pm1_p8s16": ("dense", dict(shape=(1, 1, 128), m=8, structure="1:8", pe=8, simd=16, levels=(-1, 1)),
                                {"style": "nm"}),
    "d64x12_nm2of8_scores": ("dense", dict(shape=(1, 1, 64), m=12, structure="2:8", pe=3, simd=16, output=True),
                             {"style": "nm"}),
    "d256x8_nm1of16_pm1_p1s64": ("dense", dict(shape=(1, 1, 256), m=8, structure="1:16", pe=1, simd=64,
                                               levels=(-1, 1)), {"style": "nm"}),
    "d96x6_u8_nm1of16_ab_p2s32": ("dense", dict(shape=(1, 1, 96), m=6, in_bits=8, structure="1:16", pe=2, simd=32,
                                                levels=(3, 7)), {"style": "nm"}),
    "d64x4_s4_nm2of8_scores_k": ("dense", dict(shape=(1, 1, 64), m=4, in_bits=4, signed=True, structure="2:8", pe=2,
                                               simd=64, output=True), {"style": "nm"}),
    "d30x6_nm2of8_tail": ("dense", dict(shape=(1, 1, 30), m=6, structure="2:8", pe=3, simd=30), {"style": "nm"}),
    "d26x4_u8_nm3of4_tail": ("dense", dict(shape=(1, 1, 26), m=4, in_bits=8, structure="3:4", pe=2, simd=26,
                                           output=True), {"style": "nm"}),
    "c3_nm1of4_6x6x8": ("conv", dict(shape=(6, 6, 8), m=8, structure="1:4", pe=2, simd=8, levels=(-1, 1)),
                        {"style": "nm"}),
    "c3_u8_nm1of8_5x5x8": ("conv", dict(shape=(5, 5, 8), m=4, in_bits=8, structure="1:8", pe=2, simd=24,
                                        levels=(-3, 5)), {"style": "nm"}),
    "c3_nm1of16_scores_4x4x16": ("conv", dict(shape=(4, 4, 16), m=3, structure="1:16", pe=3, simd=48, output=True),
                                 {"style": "nm"}),
    # block:B: block-index multiplexers (several slots, one word per channel, tail blocks)
    "d64x16_blk4_p4s8": ("dense", dict(shape=(1, 1, 64), m=16, structure="block:4", sparsity=0.75, pe=4, simd=8),
                         {"style": "block"}),
    "d128x8_blk8_ab_scores": ("dense", dict(shape=(1, 1, 128), m=8, structure="block:8", sparsity=0.875, pe=2, simd=16,
                                            output=True, levels=(-3, 5)), {"style": "block"}),
    "d100x6_u8_blk8_tail_k": ("dense", dict(shape=(1, 1, 100), m=6, in_bits=8, structure="block:8", sparsity=0.6, pe=3,
                                            simd=100), {"style": "block"}),
    "c3_blk4_6x6x4": ("conv", dict(shape=(6, 6, 4), m=8, structure="block:4", sparsity=0.5, pe=2, simd=12,
                                   levels=(-1, 1)), {"style": "block"}),
    # row: equal counts per row through the existing gathers (every fold as long as every other)
    "d64x16_row_s90_lut": ("dense", dict(shape=(1, 1, 64), m=16, structure="row", sparsity=0.9, pe=4, simd=2),
                           {"gather": "lutram", "coding": "index"}),
    # interleaved N:M (groups K/M apart, read through a wired permutation of the input vector)
    "d128x8_nm1of8i_ab_p2s32": ("dense", dict(shape=(1, 1, 128), m=8, structure="1:8i", pe=2, simd=32,
                                              levels=(-3, 5)), {"style": "nm"}),
    "d96x6_u8_nm2of16i_scores": ("dense", dict(shape=(1, 1, 96), m=6, in_bits=8, structure="2:16i", pe=3, simd=96,
                                               output=True, levels=(3, 7)), {"style": "nm"}),
    "c3_nm1of8i_5x5x8": ("conv", dict(shape=(5, 5, 8), m=4, structure="1:8i", pe=2, simd=24, levels=(-1, 1)),
                         {"style": "nm"}),
    # word buffers (sbnn.arch.buffer): a collector writing distributed RAM in its sliced MVU's read order.
    # Words of two beats ({alpha, beta}: S' beside each vector), words of whole beats (4 slices each; a
    # 2-vector FIFO: 3 banks), interleaved N:M bands (8 memories; whole beats and pairs of 1-pixel beats),
    # integer inputs
    "d4x4x8_xnor_wbuf_ab": ("dense", dict(shape=(4, 4, 8), m=8, sparsity=0.5, pe=2, simd=16, levels=(-3, 5)),
                            {"style": "dense", "pixels_per_beat": 1}),
    "d4x4x16_xnor_wbuf_q4": ("dense", dict(shape=(4, 4, 16), m=8, sparsity=0.5, pe=2, simd=4),
                             {"style": "dense", "fifo_depth": 2}),
    "d4x4x8_nm1of8i_wbuf": ("dense", dict(shape=(4, 4, 8), m=8, structure="1:8i", pe=2, simd=64, levels=(-3, 5)),
                            {"style": "nm", "pixels_per_beat": 1}),
    "d8x8x1_nm1of8i_wbuf_scores": ("dense", dict(shape=(8, 8, 1), m=6, structure="1:8i", pe=3, simd=16,
                                                 output=True), {"style": "nm", "pixels_per_beat": 1}),
    "d4x4x2_u8_xnor_wbuf": ("dense", dict(shape=(4, 4, 2), m=4, in_bits=8, sparsity=0.5, pe=2, simd=4, levels=(3, 7)),
                            {"style": "dense", "pixels_per_beat": 1}),
    # thresholds in the weight memory's spare width (sbnn.arch.cost.thresholds_ride): XNOR, N:M, block and score
    # layers, a word-fed MVU with S' beside the vector
    "d64x16_xnor_thr_bram": ("dense", dict(shape=(1, 1, 64), m=16, sparsity=0.5, pe=2, simd=8, levels=(-3, 5)),
                             {"style": "dense", "weight_rom": "block"}),
    "d128x8_nm1of8_thr_bram": ("dense", dict(shape=(1, 1, 128), m=8, structure="1:8", pe=2, simd=32, levels=(-3, 5)),
                               {"style": "nm", "weight_rom": "block"}),
    "d128x8_blk8_thr_bram": ("dense", dict(shape=(1, 1, 128), m=8, structure="block:8", sparsity=0.875, pe=2, simd=8),
                             {"style": "block", "weight_rom": "block"}),
    "d40x10_scores_xnor_thr_bram": ("dense", dict(shape=(1, 1, 40), m=10, sparsity=0.6, pe=2, simd=8, output=True),
                                    {"style": "dense", "weight_rom": "block"}),
    "d4x4x8_xnor_wbuf_thr_bram": ("dense", dict(shape=(4, 4, 8), m=8, sparsity=0.5, pe=2, simd=32, levels=(-3, 5)),
                                  {"style": "dense", "pixels_per_beat": 1, "weight_rom": "block"}),
    # ... adjusted by G on the way in (sbnn.hw.rtl.thresholds): G over the whole vector (block), from the
    # collector's S' (word-fed N:M, XNOR with unsigned and signed integer inputs), lane fields of 1, 2 and 8 pieces
    "d128x8_blk8_ab_thr_bram": ("dense", dict(shape=(1, 1, 128), m=8, structure="block:8", sparsity=0.875, pe=2,
                                              simd=8, levels=(-3, 5)), {"style": "block", "weight_rom": "block"}),
    "d32x8_blk4_ab_thr_bram": ("dense", dict(shape=(1, 1, 32), m=8, structure="block:4", sparsity=0.5, pe=2, simd=4,
                                             levels=(-3, 5)), {"style": "block", "weight_rom": "block"}),
    "d32x6_blk4_ab_thr_bram": ("dense", dict(shape=(1, 1, 32), m=6, structure="block:4", sparsity=0.75, pe=2, simd=4,
                                             levels=(-7, 9)), {"style": "block", "weight_rom": "block"}),
    "d8x8x1_nm1of8_wbuf_thr_bram": ("dense", dict(shape=(8, 8, 1), m=8, structure="1:8", pe=1, simd=32,
                                                  levels=(-3, 5)),
                                    {"style": "nm", "pixels_per_beat": 1, "weight_rom": "block"}),
    "d4x4x16_u8_xnor_wbuf_thr_bram": ("dense", dict(shape=(4, 4, 16), m=4, in_bits=8, sparsity=0.5, pe=1, simd=32,
                                                   levels=(3, 7)),
                                     {"style": "dense", "pixels_per_beat": 1, "weight_rom": "block"}),
    "d4x4x16_s4_xnor_wbuf_thr_bram": ("dense", dict(shape=(4, 4, 16), m=4, in_bits=4, signed=True, sparsity=0.5, pe=1,
                                                   simd=32, levels=(-5, 3)),
                                     {"style": "dense", "pixels_per_beat": 1, "weight_rom": "block"}),
    # a 32:1 pick: two 16:1 blocks of the slice's hard multiplexers joined in logic (sbnn.hw.rtl.prims)
    "d128x6_nm1of32_p3s64": ("dense", dict(shape=(1, 1, 128), m=6, structure="1:32", pe=3, simd=64, levels=(-3, 5)),
                             {"style": "nm"}),
    # thresholds that ride only in a widened word (a 32-bit word fills a RAMB18's 36: "block-wide", one RAMB36)
    "d256x8_nm1of16_thr_wide": ("dense", dict(shape=(1, 1, 256), m=8, structure="1:16", pe=2, simd=64, levels=(-3, 5)),
                                {"style": "nm", "weight_rom": "block-wide"}),
    # held windows (sbnn.sim.cycles.size_links): the MVU copies each window into its own register and pops it as soon
    # as that is free, the window FIFO is a register: interleaved N:M ({alpha, beta}: S' over the held slices), 8-bit XNOR
    "c3_nm1of8i_hold_6x6x8": ("conv", dict(shape=(6, 6, 8), m=8, structure="1:8i", pe=1, simd=24, levels=(-3, 5)),
                              {"style": "nm"}),
    "c3_u8_xnor_hold_ab_6x6x3": ("conv", dict(shape=(6, 6, 3), m=8, in_bits=8, sparsity=0.5, pe=2, simd=9,
                                              levels=(-3, 5)), {"style": "dense"}),
    # ... a collector's vector with its S' (no word buffer): the N:M MVU copies both
    "d4x4x8_nm1of8_ab_fifo_hold": ("dense", dict(shape=(4, 4, 8), m=8, structure="1:8", pe=2, simd=32, levels=(-3, 5)),
                                   {"style": "nm", "pixels_per_beat": 1, "word_buffers": False}),
}
#: the grid's designs whose MVU holds its input vectors (test_vectors_are_held)
HELD = ["c3_pad0_7x5x3_xnor", "c3_nm1of4_6x6x8", "c3_nm1of8i_hold_6x6x8", "c3_u8_xnor_hold_ab_6x6x3",
        "d4x4x8_nm1of8_ab_fifo_hold"]
#: the grid's designs whose thresholds ride in the weight memory (test_thresholds_ride_where_free)
RIDING = [n for n in GRID if n.endswith("_thr_bram")]

#: designs of the grid built again for a clock that pipelines every MVU (folded: decoded next-word registers
#: and a register before the adder trees; unrolled: registered channel sums; sbnn.arch.depth): one per
#: style, gather, coding and load
PIPE_MHZ = 400
PIPELINED = ["d64x16_s90_p4s8_index", "d64x16_s99_p2s2_delta", "d64x16_seg_s90_p4s8", "d48x8_seg_delta_p2s4",
             "d200x16_lut_s90_p4s4", "d96x8_lut_index_p4s2", "d130x8_lut1_delta_p2s2", "d130x8_lut1_index_p2s5",
             "d9x9x1_lut_direct", "d100x8_u8_lut_p2s5", "c3_lut_6x6x8", "c3_u8_seg_delta", "d40x10_scores_p5s4",
             "d64x16_xnor_p4s8", "d48x8_xnor_ab_p2s6", "d20x6_u8_dense_ab", "c3_pad0_7x5x3_xnor", "d4x4x4_collector",
             "d32x8_unrolled_s90", "d20x8_u8_unrolled", "c3_unrolled_5x5x2", "d40x10_scores_unrolled",
             "d128x8_nm1of8_ab_p2s32", "d96x6_u8_nm1of16_ab_p2s32", "d128x8_blk8_ab_scores", "c3_blk4_6x6x4",
             "d128x8_nm1of8i_ab_p2s32", "d4x4x8_xnor_wbuf_ab", "d8x8x1_nm1of8i_wbuf_scores",
             "d64x16_xnor_thr_bram", "d128x8_nm1of8_thr_bram", "d4x4x8_xnor_wbuf_thr_bram",
             "d128x8_blk8_ab_thr_bram", "d8x8x1_nm1of8_wbuf_thr_bram", "d4x4x16_s4_xnor_wbuf_thr_bram"]
CASES = list(GRID) + [f"{n}@{PIPE_MHZ}" for n in PIPELINED]
GROUPS = [list(GRID)[i::3] for i in range(3)] + [CASES[len(GRID):]]


def case_design(hwt, case: str):
    """(design, model, probe layer, rng) of a grid case: a GRID name, or ``name@MHz`` (built for that clock)."""
    name, _, mhz = case.partition("@")
    kind, kwargs, opts = GRID[name]
    rng = np.random.default_rng(1000 + list(GRID).index(name))
    model, upto = hwt.layer_model(rng, kind, name=name, **kwargs)
    extra = {"clock_mhz": float(mhz)} if mhz else {}
    design = generate(model, GenOptions(**opts, **extra), upto=upto, name=f"p_{name}" if mhz else f"g_{name}")
    return design, model, upto, rng


@pytest.fixture(scope="module")
def grid_runs(hwt, tmp_path_factory):
    hwt.need_verilator()
    runs = {}
    for g, names in enumerate(GROUPS):
        designs, cases = [], []
        for name in names:
            design, model, upto, rng = case_design(hwt, name)
            x = hwt.random_input(rng, model.input, FRAMES)
            designs.append(design)
            cases.append((name, model, upto, x))
        bld = rtlsim.build(designs, tmp_path_factory.mktemp(f"grid{g}"))
        results = rtlsim.run(bld, [pack_input(d.stream, c[3]) for d, c in zip(designs, cases)])
        for d, (name, model, upto, x), res in zip(designs, cases, results):
            runs[name] = (d, res, model, upto, x)
        for mode, final, p in (("reset", RESET_FRAMES, 1.0), ("stress", STRESS_FRAMES, 0.5)):
            plans, xs = [], []
            for d, (name, model, upto, _) in zip(designs, cases):
                plan, n = reset_schedule(d, reset_points(d), final)
                plans.append(plan)
                xs.append(hwt.random_input(np.random.default_rng(2000 + CASES.index(name)), model.input, n))
            out = rtlsim.run(bld, [pack_input(d.stream, x) for d, x in zip(designs, xs)], p_in=min(1.0, p + 0.2),
                             p_out=p, seed=17 + g, resets=[pl.resets for pl in plans])
            for d, (name, model, upto, _), res, plan, x in zip(designs, cases, out, plans, xs):
                runs[mode, name] = (d, res, model, upto, x, plan)
    return runs


@pytest.mark.parametrize("name", CASES)
def test_layer_bit_and_cycle_exact(grid_runs, hwt, name):
    design, res, model, upto, x = grid_runs[name]
    hwt.check(design, res, model, upto, x)


@pytest.mark.parametrize("name", CASES)
def test_layer_reset_mid_frame(grid_runs, hwt, name):
    """Reset in the middle of a frame at every unit that holds state: every later frame is exact and on the
    cycle model's edges from the reset on."""
    design, res, model, upto, x, plan = grid_runs["reset", name]
    hwt.check_epochs(design, res, model, upto, x, plan)


@pytest.mark.parametrize("name", CASES)
def test_layer_random_gaps_and_stalls(grid_runs, hwt, name):
    """Random input gaps and output stalls (with the same mid-frame resets): every frame is exact."""
    design, res, model, upto, x, plan = grid_runs["stress", name]
    hwt.check_epochs(design, res, model, upto, x, plan, timing=False)
    last = res.epoch(len(plan.resets))
    m_out, m_in = model_edges(design, STRESS_FRAMES)
    assert not (np.array_equal(last.in_cycles - last.first_valid, m_in)
                and np.array_equal(last.out_cycles - last.first_valid, m_out)), "no gap or stall ever changed the timing"


def test_grid_covers_the_required_cases():
    """The grid exercises every sparsity of the issue, both MVU styles, every coding and every unit."""
    sp = {kw.get("sparsity") for _, kw, _ in GRID.values()}
    assert {0.0, 0.5, 0.9, 0.99} <= sp
    assert {k for k, _, _ in GRID.values()} == {"dense", "conv", "maxpool", "threshold"}
    assert {o.get("style", "sparse") for _, _, o in GRID.values()} == {"sparse", "dense", "nm", "block"}
    nm = {kw["structure"] for _, kw, o in GRID.values() if o.get("style") == "nm"}
    assert {"1:4", "1:8", "2:8", "1:16", "1:32"} <= nm
    assert {o.get("gather", "full") for _, _, o in GRID.values()} == {"full", "segmented", "lutram", "lutram1"}
    assert any(kw.get("zero_rows") for _, kw, _ in GRID.values()) and any(kw.get("zero_cols") for _, kw, _ in GRID.values())


def test_grid_covers_every_word_buffer_layout(hwt):
    """The word buffers of the grid: words of several beats and of whole beats (with an in-word slice
    multiplexer), one memory and the M band memories of an interleaved N:M MVU, one and two FIFO vectors,
    S' carried beside the vector; and only the sliced MVUs get one."""
    seen = set()
    for case in CASES:
        d = case_design(hwt, case)[0]
        for i, st in enumerate(d.stages):
            wb = st.word_buffer if st.kind == "collector" else None
            built_with = GRID[case.partition("@")[0]][2].get("word_buffers", True)  # off: the held-vector case
            if st.kind == "collector" and d.stages[i + 1].plan.sliced and "@" not in case and built_with:
                assert wb is not None or d.stages[i + 1].plan.simd % st.in_elems, case
            if wb is None:
                continue
            assert d.stages[i + 1].word_buffer == wb and d.stages[i + 1].plan.sliced
            seen.add(("beats", wb.beats > 1))
            seen.add(("slices", wb.slices > 1))
            seen.add(("rows", wb.rows > 1))
            seen.add(("depth", d.depths[i]))
            seen.add(("sum", bool(st.out_sum)))
            assert f"u_fifo{i} " not in d.files[f"{d.top}.v"]  # the buffer holds the FIFO's vectors
    assert seen >= {(k, v) for k in ("beats", "slices", "rows", "sum") for v in (False, True)} | {("depth", 1), ("depth", 2)}


def test_pipelining_covers_every_style_and_gather(hwt):
    """At the default clock the grid holds folded MVUs without and with decoded next-word registers; at
    PIPE_MHZ every folded style, gather and coding (and loads with one, two buffers, direct) also has the
    register before the adder trees, and unrolled MVUs register their channel sums."""
    plain, pipes, decodes = set(), set(), set()
    for case in CASES:
        d = case_design(hwt, case)[0]
        for i, st in enumerate(d.stages):
            if st.kind == "mvu" and not st.folded and "@" in case:
                assert st.info["out_reg"], case
                pipes.add(("unrolled",))
            if st.folded:
                kind = (st.plan.style, st.plan.gather if st.plan.style == "sparse" else "", st.plan.coding)
                if "@" in case:
                    assert st.info["sum_regs"] == 1 and bool(st.info["decode"]) == (st.plan.style == "sparse"), case
                    decodes.add(st.info["decode"])
                    load = d.stages[i - 1] if i and d.stages[i - 1].kind == "load" else None
                    pipes.add(kind + ((load.buffers, load.direct) if load else ()))
                else:
                    plain.add((st.info["decode"], st.info["sum_regs"]))
    assert {(0, 0), (1, 0)} <= plain and {0, 1, 2} <= decodes  # two decode stages: a long gap-code prefix
    sparse = {(g, c) for g in ("full", "segmented", "lutram", "lutram1") for c in ("index", "delta")}
    assert {(p[1], p[2]) for p in pipes if p[0] == "sparse"} >= sparse and ("dense", "", "bits") in pipes
    assert {p[3:] for p in pipes if len(p) > 3} == {(2, True), (2, False), (1, False)} and ("unrolled",) in pipes


def test_reset_points_cover_every_unit_and_gather(hwt):
    """The mid-frame resets hit every stateful unit of the grid: folds of every style / gather / coding,
    loads of one and two buffers (direct and from a FIFO), windows, pools, collectors, output frames."""
    seen = set()
    for i, (name, (kind, kwargs, opts)) in enumerate(GRID.items()):
        model, upto = hwt.layer_model(np.random.default_rng(1000 + i), kind, name=name, **kwargs)
        d = generate(model, GenOptions(**opts), upto=upto, name=f"g_{name}")
        by = {st.name: st for st in d.stages}
        for point in reset_points(d):
            unit, _, stage = point.partition(":")
            st = by.get(stage)
            if unit == "fold":
                seen.add(("fold", st.plan.style, st.plan.gather if st.plan.style == "sparse" else "", st.plan.coding))
            elif unit == "load":
                seen.add(("load", st.buffers, st.direct))
            else:
                seen.add((unit,))
    folds = {s[1:] for s in seen if s[0] == "fold"}
    assert {("sparse", g, c) for g in ("full", "segmented", "lutram", "lutram1") for c in ("index", "delta")} <= folds
    assert ("dense", "", "bits") in folds
    assert {("load", 2, True), ("load", 2, False), ("load", 1, False)} <= seen
    assert {("input",), ("drain",), ("output",), ("swu",), ("maxpool",), ("collector",)} <= seen


@pytest.mark.parametrize("case, held", [
    # 8 XNOR bits per lane: counted in groups of 6 and 2 in front of the pipeline register (3 + 2 bits held)
    ("d64x16_xnor_p4s8@400", {"pv0_0": 3, "pv0_1": 2}),
    # 6 bits are one counter's worth: held as they are; S' of the 6-input slice crosses as one count
    ("d48x8_xnor_ab_p2s6@400", {**{f"pv0_{s}": 1 for s in range(6)}, "a_ss0": 3}),
    # N:M picks are held as they are; S' of the 32-input slice crosses as six counts (6 x 5 + 2 inputs)
    ("d128x8_nm1of8_ab_p2s32@400", {**{f"pv0_{s}": 1 for s in range(4)}, **{f"a_ss{i}": 3 for i in range(5)},
                                    "a_ss5": 2}),
])
def test_the_pipeline_register_holds_counts(hwt, case, held):
    """What crosses a sliced MVU's pipeline register: the XNOR lanes' 6-input counts (not every XNOR bit), the N:M
    lanes' picks, and S' of the slice in whole-counter partial sums (sbnn.arch.depth.part_inputs)."""
    design = case_design(hwt, case)[0]
    text = next(t for n, t in design.files.items() if n.endswith("L0_mvu.v"))
    regs = {name: int(hi) + 1 for hi, name in re.findall(r"reg \[(\d+):0\] (pv0_\d+|a_ss\d+);", text)}
    assert regs == held


@pytest.mark.parametrize("case", RIDING + [f"{n}@{PIPE_MHZ}" for n in RIDING if n in PIPELINED])
def test_thresholds_ride_where_free(hwt, case):
    """The riding designs have no threshold memory of their own: the weight memory is one piece of a threshold
    word wider (the cost model's piece, by which it decided that this costs no block RAM) and a shift register
    assembles each fold's word; the same layers with the weights left to
    synthesis ("auto": these small memories stay in logic) keep their threshold memory."""
    design, model = case_design(hwt, case)[:2]
    st = next(s for s in design.stages if s.folded)
    layer = model.layers[st.layer]
    text = next(t for n, t in design.files.items() if n.endswith(f"_{st.name}.v"))
    assert thresholds_ride(layer, st.plan, "block") and "trom" not in text and "tsr <=" in text
    words = re.search(r"reg \[(\d+):0\] wrom", text)
    piece = threshold_layout(layer, st.plan, "block", g_ready="tu0" in text)[0]  # the cost model's piece
    assert int(words.group(1)) + 1 - st.plan.word_bits == piece > 0
    assert not thresholds_ride(layer, st.plan, "auto") and not thresholds_ride(layer, st.plan, "distributed")


@pytest.mark.parametrize("case", HELD + [f"{n}@{PIPE_MHZ}" for n in HELD if n in PIPELINED])
def test_vectors_are_held(hwt, case):
    """These MVUs hold each window or vector in a register of their own (loaded and popped as soon as it is free;
    S' riding with a collector's vector with it) and the FIFO in front of them is a one-deep register (the RTL
    regression above checks them edge for edge against the cycle model, which pops them there too)."""
    design = case_design(hwt, case)[0]
    i = next(i for i, s in enumerate(design.stages) if s.folded)
    st = design.stages[i]
    text = next(t for n, t in design.files.items() if n.endswith(f"_{st.name}.v"))
    assert st.holds and design.stages[i - 1].kind in ("swu", "collector") and design.depths[i - 1] == 1
    assert "in_hold <= in_data;" in text and "assign in_pop = h_load;" in text and "in_data[" not in text
    assert ("in_hold_sum <= in_sum;" in text) == bool(st.in_sum)
    rep = cycles_report(design, 100.0)  # the cycle report says so
    assert rep["stages"][i].get("holds_input") and f"| {st.name} | mvu (holds its input) |" in cycles_markdown(rep)
    assert not any(r.get("holds_input") for j, r in enumerate(rep["stages"]) if j != i)


def test_thresholds_ride_in_a_widened_word(hwt):
    """weight_rom "block-wide": where the spare width of the weight memory's block RAM is too narrow, its word is
    widened by the piece (one more block RAM in the estimate) instead of a threshold memory in logic."""
    design, model = case_design(hwt, "d256x8_nm1of16_thr_wide")[:2]
    st = next(s for s in design.stages if s.folded)
    layer = model.layers[st.layer]
    text = next(t for n, t in design.files.items() if n.endswith(f"_{st.name}.v"))
    assert not thresholds_ride(layer, st.plan, "block") and thresholds_ride(layer, st.plan, "block-wide")
    piece = threshold_layout(layer, st.plan, "block-wide", g_ready="tu0" in text)[0]  # as the generator asked
    words = re.search(r"reg \[(\d+):0\] wrom", text)
    assert "trom" not in text and "tsr <=" in text and int(words.group(1)) + 1 == st.plan.word_bits + piece
    assert 'rom_style = "block"' in text.split("wrom")[0].splitlines()[-1]
    assert bram36_estimate(layer, st.plan, "block-wide") == 2 * bram36_estimate(layer, st.plan, "block") == 1.0


def test_adjusted_thresholds_cover_every_path(hwt):
    """Among the riding designs: thresholds as stored (G formed during the first fold, score layers) and
    adjusted by G on the way in, with and without G, lane fields of one and of several pieces, plain and
    behind the pipeline register, compared at the threshold's width and at the lane count's."""
    seen = set()
    for case in RIDING + [f"{n}@{PIPE_MHZ}" for n in RIDING if n in PIPELINED]:
        design = case_design(hwt, case)[0]
        st = next(s for s in design.stages if s.folded)
        text = next(t for n, t in design.files.items() if n.endswith(f"_{st.name}.v"))
        if "tu0" not in text:
            seen.add("stored")
            continue
        seen.add(("adjusted", "t_diff" in text, "t_q" in text, re.search(r"\ba_tp\b", text) is not None))
        seen.add(("compare", "narrow" if re.search(r"\(~\|tv0\[", text) else "signed"))
    assert "stored" in seen
    assert {("adjusted", True, q, piped) for q in (False, True) for piped in (False, True)} <= seen
    assert any(s[1] is False for s in seen if s[0] == "adjusted")
    # a comparator as wide as the threshold, and one as narrow as a lane's count (never negative, narrower)
    assert {("compare", "narrow"), ("compare", "signed")} <= seen
