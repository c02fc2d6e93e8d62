"""FINN's analytical MVAU model reproduces finn-plus' per-layer estimates (finn_baseline.md / .json)."""

from __future__ import annotations

import pytest
from finn_model import MVAUConfig, bram18, exp_cycles, lut, mlp_layers

# (MW, MH, PE, SIMD, ram_style, last layer, FINN LUT, FINN BRAM18, exp_cycles) from finn_baseline.md
W1A1 = [
    (784, 64, 16, 49, "block", False, 5615, 22, 64), (64, 64, 8, 8, "auto", False, 766, 2, 64),
    (64, 10, 10, 8, "distributed", True, 963, 0, 8), (64, 64, 1, 64, "auto", False, 727, 2, 64),
    (64, 10, 1, 8, "auto", True, 358, 1, 80), (784, 256, 256, 28, "auto", False, 49861, 200, 28),
    (256, 256, 128, 32, "auto", False, 28319, 114, 16), (256, 10, 5, 32, "auto", True, 1394, 5, 16),
    (256, 256, 32, 32, "auto", False, 7304, 29, 64), (784, 1024, 32, 49, "block", False, 10930, 44, 512),
    (1024, 1024, 64, 32, "auto", False, 14450, 57, 512), (1024, 1024, 32, 64, "auto", False, 14133, 57, 512),
    (1024, 10, 10, 8, "distributed", True, 1087, 0, 128), (1024, 1024, 128, 32, "auto", False, 28600, 114, 256),
    (576, 64, 32, 32, "auto", False, 7340, 29, 28224 // 784), (1152, 256, 4, 32, "auto", False, 1184, 24, 2304),
    (2304, 256, 1, 32, "auto", False, 522, 36, 18432), (256, 512, 1, 4, "auto", False, 334, 8, 32768),
    (512, 512, 1, 8, "auto", False, 361, 16, 32768), (512, 10, 5, 1, "auto", True, 377, 1, 1024),
]


@pytest.mark.parametrize("mw, mh, pe, simd, style, last, want_lut, want_bram, cyc", W1A1)
def test_w1a1_layers(mw, mh, pe, simd, style, last, want_lut, want_bram, cyc):
    c = MVAUConfig(mw, mh, pe, simd, ram_style=style, activation=not last)
    assert lut(c) == want_lut
    assert bram18(c) == want_bram
    assert exp_cycles(c) == cyc


def test_cnv_first_layer_and_conv_cycles():
    # CNV MVAU_hls_0: 8-bit input, 2-bit weights in FINN's export, 13-bit accumulator -> 2992 LUT, 3 BRAM18
    c = MVAUConfig(27, 64, 16, 3, w_bits=2, a_bits=8, a_signed=False, acc_bits=13, vectors=30 * 30)
    assert (lut(c), bram18(c), exp_cycles(c)) == (2992, 3, 32400)
    assert bram18(MVAUConfig(64, 64, 8, 8, ram_style="distributed")) == 0
    assert bram18(MVAUConfig(64, 64, 8, 8, mem_mode="internal_embedded")) == 0


def test_mlp_tables():
    assert [exp_cycles(c) for c in mlp_layers("TFC")] == [64, 64, 64, 8]
    assert sum(lut(c) for c in mlp_layers("LFC")) == 10930 + 14450 + 14133 + 1087
