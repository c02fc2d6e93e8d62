"""FINN's analytical MVAU models (cycles, BRAM18, LUT), for side-by-side comparisons with our synthesis.

Re-implemented from the formulas of the FINN compiler (``matrixvectoractivation.py::get_exp_cycles``,
``bram_estimation`` and ``hls/matrixvectoractivation_hls.py::lut_estimation``, "based on FINN-R"), as
summarised in the project's anchors (section 1d). They are checked against the per-layer numbers of the
finn-plus estimate-only runs (``finn_baseline.md``). They know nothing of zero weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class MVAUConfig:
    """One FINN MVAU: matrix MH x MW, folding PE x SIMD, W-bit weights, A-bit inputs, B-bit outputs."""

    mw: int
    mh: int
    pe: int
    simd: int
    w_bits: int = 1
    a_bits: int = 1
    a_signed: bool = True  # BIPOLAR counts as signed in FINN
    out_bits: int = 1
    acc_bits: int | None = None  # accumulator datatype width (None: XNOR popcount width)
    vectors: int = 1  # numInputVectors product (output pixels of a conv)
    mem_mode: str = "internal_decoupled"
    ram_style: str = "auto"
    ram_style_thresholds: str = "auto"
    res_type: str = "lut"
    activation: bool = True

    @property
    def wmem(self) -> int:
        return self.mw * self.mh // (self.pe * self.simd)

    @property
    def tmem(self) -> int:
        return self.mh // self.pe


def exp_cycles(c: MVAUConfig) -> int:
    """(MH / PE) * (MW / SIMD) * numInputVectors."""
    return (c.mh // c.pe) * (c.mw // c.simd) * c.vectors


def bram18(c: MVAUConfig) -> int:
    """FINN's BRAM18 estimate of the weight memory."""
    if c.mem_mode == "external":
        return 0
    if c.mem_mode == "internal_decoupled" and c.ram_style in ("distributed", "ultra"):
        return 0
    if c.mem_mode == "internal_embedded" and c.wmem <= 128:
        return 0
    omega = c.mw * c.mh / (c.simd * c.pe)
    w = c.simd * c.w_bits * c.pe
    if w == 1:
        return math.ceil(omega / 16384)
    if w == 2:
        return math.ceil(omega / 8192)
    if w <= 4:
        return math.ceil(omega / 4096) * math.ceil(w / 4)
    if w <= 9:
        return math.ceil(omega / 2048) * math.ceil(w / 9)
    if w <= 18 or omega > 512:
        return math.ceil(omega / 1024) * math.ceil(w / 18)
    return math.ceil(omega / 512) * math.ceil(w / 36)


def lut(c: MVAUConfig) -> int:
    """FINN's LUT estimate: c0 + c1 * PE * (mult + adder tree + acc + thr + comp) + c2."""
    p, q, w, a = c.pe, c.simd, c.w_bits, c.a_bits
    c2 = 0
    if (c.mem_mode == "internal_decoupled" and c.ram_style == "distributed") or (
            c.mem_mode == "internal_embedded" and c.wmem <= 128):
        c2 = p * q * w * math.ceil(c.wmem / 64)
    mult = 0 if c.res_type == "dsp" else q * (2 * math.ceil((w + a) / 6) - 1) * (w + a)
    adder = (w + a) * (2 * q - 1)
    alpha = math.log2(c.mw) + w + a - 1 - int(c.a_signed)
    acc_dt = c.acc_bits if c.acc_bits is not None else int(c.mw).bit_length()
    acc = min(acc_dt, math.ceil(alpha + math.log2(1 + 2 ** -alpha) + 1))
    thr = comp = 0
    if c.activation and c.ram_style_thresholds == "distributed":
        thr = (2 ** c.out_bits - 1) * acc * math.ceil(c.tmem / 64)
        comp = (2 ** c.out_bits - 1) * acc
    return int(300 + 1.1 * (p * (mult + adder + acc + thr + comp)) + c2)


#: FINN-style W1A1 MLPs (784 inputs, 10 classes) and FINN's folding (a) from finn_baseline.md
MLPS = {
    "TFC": ([784, 64, 64, 64, 10], [(16, 49), (8, 8), (8, 8), (10, 8)], ["block", "auto", "auto", "distributed"]),
    "SFC": ([784, 256, 256, 256, 10], [(256, 28), (128, 32), (128, 32), (5, 32)], ["auto"] * 4),
    "LFC": ([784, 1024, 1024, 1024, 10], [(32, 49), (64, 32), (32, 64), (10, 8)],
            ["block", "auto", "auto", "distributed"]),
}


def mlp_layers(name: str) -> list[MVAUConfig]:
    """FINN's MVAU configurations of TFC/SFC/LFC-W1A1 at folding (a)."""
    dims, folds, styles = MLPS[name]
    out = []
    for i, ((pe, simd), style) in enumerate(zip(folds, styles)):
        out.append(MVAUConfig(dims[i], dims[i + 1], pe, simd, ram_style=style, activation=i < len(folds) - 1))
    return out
