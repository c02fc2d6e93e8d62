"""Generated Verilog passes ``verilator --lint-only -Wall`` (no warning suppressed without a reason)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sbnn.arch import folding
from sbnn.hw.rtl.design import GenOptions, generate
from sbnn.ir.synthetic import random_model
from sbnn.tools import require_tool

pytestmark = pytest.mark.rtl

CASES = {
    "cnv_sparse": (dict(input_shape=(8, 8, 2), convs=(4, 6), dense=(8,), sparsity=0.9), "fold", GenOptions()),
    "cnv_xnor": (dict(input_shape=(8, 8, 2), convs=(4,), dense=(8,), sparsity=0.5), "fold", GenOptions(style="dense")),
    "cnv_delta": (dict(input_shape=(6, 6, 1), convs=(4,), dense=(8,), sparsity=0.99), "fold", GenOptions(coding="delta")),
    "u8_conv": (dict(input_shape=(5, 5, 3), binarize_input=False, convs=(4,), pool=False, dense=(), sparsity=0.5),
                "fold", GenOptions()),
    "mlp_unrolled": (dict(input_shape=(4, 4, 1), convs=(), pool=False, dense=(16,), sparsity=0.9), "unrolled",
                     GenOptions()),
    "mlp_unrolled_xnor": (dict(input_shape=(4, 4, 1), convs=(), pool=False, dense=(16,), sparsity=0.5), "unrolled",
                          GenOptions(style="dense")),
    "cnv_lutram": (dict(input_shape=(8, 8, 2), convs=(4, 8), dense=(70,), sparsity=0.9), "fold",
                   GenOptions(gather="lutram")),
    "u8_mlp_lutram1_delta": (dict(input_shape=(10, 10, 1), binarize_input=False, convs=(), pool=False, dense=(12,),
                                  sparsity=0.8), "fold", GenOptions(gather="lutram1", coding="delta")),
    "mlp_lutram_direct": (dict(input_shape=(9, 9, 1), convs=(), pool=False, dense=(16,), sparsity=0.9), "fold",
                          GenOptions(gather="lutram", pixels_per_beat=1)),
    "mlp_ppb": (dict(input_shape=(4, 4, 1), convs=(), pool=False, dense=(16,), sparsity=0.0), "fold",
                GenOptions(pixels_per_beat=16)),
    # pipelined for a fast clock: decoded next-word registers and a register before the adder trees
    "cnv_sparse_400mhz": (dict(input_shape=(8, 8, 2), convs=(4, 6), dense=(8,), sparsity=0.9), "fold",
                          GenOptions(clock_mhz=400)),
    "cnv_delta_seg_400mhz": (dict(input_shape=(6, 6, 1), convs=(4,), dense=(8,), sparsity=0.9), "fold",
                             GenOptions(coding="delta", gather="segmented", clock_mhz=400)),
    "cnv_xnor_400mhz": (dict(input_shape=(8, 8, 2), convs=(4,), dense=(8,), sparsity=0.5), "fold",
                        GenOptions(style="dense", clock_mhz=400)),
    "cnv_lutram_400mhz": (dict(input_shape=(8, 8, 2), convs=(4, 8), dense=(70,), sparsity=0.9), "fold",
                          GenOptions(gather="lutram", clock_mhz=400)),
    "mlp_unrolled_400mhz": (dict(input_shape=(4, 4, 1), convs=(), pool=False, dense=(16,), sparsity=0.9), "unrolled",
                            GenOptions(clock_mhz=400)),
    "u8_mlp_lutram1_400mhz": (dict(input_shape=(10, 10, 1), binarize_input=False, convs=(), pool=False, dense=(12,),
                                   sparsity=0.8), "fold", GenOptions(gather="lutram1", coding="index", clock_mhz=400)),
}


def _design(name):
    kwargs, how, opts = CASES[name]
    m = random_model(np.random.default_rng(len(name)), name=name, **kwargs)
    if how == "unrolled":
        m = folding.apply(m, folding.unrolled(m))
    else:
        m = folding.apply(m, {layer.name: {"PE": 2 if layer.out_channels % 2 == 0 else 1,
                                           "SIMD": 3 if layer.in_features % 3 == 0 else 1} for layer in m.mvus})
    return generate(m, opts)


@pytest.mark.parametrize("name", list(CASES))
def test_lint_clean(hwt, tmp_path, name):
    hwt.need_verilator()
    design = _design(name)
    files = design.write(tmp_path)
    proc = require_tool("verilator").run(["--lint-only", "-Wall", "--top-module", design.top, *files], cwd=tmp_path,
                                          check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert "%Warning" not in proc.stderr
    # every local suppression says why, and is switched back on
    for f in files:
        text = f.read_text()
        for m in re.finditer(r"lint_off (\w+) \*/(.*)", text):
            assert m.group(2).strip().startswith("//") and len(m.group(2)) > 10, f"{f.name}: lint_off without a reason"
        assert text.count("lint_off") == text.count("lint_on")


#: single layers of the structured-mask styles (N:M with several groups per word and with a tail group,
#: block:B with a tail block), bipolar and integer inputs, thresholded and score outputs
STRUCTURED = {
    "nm_conv": ("conv", dict(shape=(5, 5, 8), m=4, structure="1:8", pe=2, simd=24, levels=(-3, 5)), "nm"),
    "nm_u8_tail_scores": ("dense", dict(shape=(1, 1, 26), m=4, in_bits=8, structure="3:4", pe=2, simd=26,
                                        output=True), "nm"),
    "nm_interleaved_u8": ("dense", dict(shape=(1, 1, 96), m=4, in_bits=8, structure="1:16i", pe=2, simd=32), "nm"),
    # bipolar picks on the slice's hard multiplexers: 16:1 (MUXF7 + MUXF8) and 32:1 (two 16:1 blocks joined in logic)
    "nm_1of16_muxf8": ("dense", dict(shape=(1, 1, 64), m=4, structure="1:16", pe=2, simd=32, levels=(-3, 5)), "nm"),
    "nm_1of32_blocks": ("dense", dict(shape=(1, 1, 64), m=4, structure="1:32", pe=2, simd=64, levels=(-3, 5)), "nm"),
    "block_u8_tail": ("dense", dict(shape=(1, 1, 100), m=6, in_bits=8, structure="block:8", sparsity=0.6, pe=3,
                                    simd=100), "block"),
    "block_scores": ("dense", dict(shape=(1, 1, 64), m=8, structure="block:4", sparsity=0.75, pe=2, simd=8,
                                   output=True), "block"),
    # after a map: word buffers (sbnn.arch.buffer) of an interleaved N:M MVU and of an XNOR MVU with S'
    "nm_interleaved_wbuf": ("dense", dict(shape=(4, 4, 8), m=8, structure="1:8i", pe=2, simd=64, levels=(-3, 5)), "nm"),
    "xnor_wbuf_words_of_beats": ("dense", dict(shape=(4, 4, 16), m=8, sparsity=0.5, pe=2, simd=4, levels=(-3, 5)),
                                 "dense"),
    # convolutions that hold their windows (sbnn.sim.cycles.size_links): interleaved N:M, 8-bit XNOR
    "nm_interleaved_conv_held": ("conv", dict(shape=(6, 6, 8), m=8, structure="1:8i", pe=1, simd=24, levels=(-3, 5)),
                                 "nm"),
    "xnor_u8_conv_held": ("conv", dict(shape=(6, 6, 3), m=8, in_bits=8, sparsity=0.5, pe=2, simd=9, levels=(-3, 5)),
                          "dense"),
    # a collector's vector held with its S' (no word buffer: the collector forms S' as the vector is gathered)
    "nm_collector_sum_held": ("dense", dict(shape=(4, 4, 8), m=8, structure="1:8", pe=2, simd=32, levels=(-3, 5)),
                              "nm", {"pixels_per_beat": 1, "word_buffers": False}),
}


@pytest.mark.parametrize("name", list(STRUCTURED))
def test_structured_styles_lint_clean(hwt, tmp_path, name):
    hwt.need_verilator()
    kind, kwargs, style, *options = STRUCTURED[name]  # (kind, layer, style[, GenOptions fields])
    model, upto = hwt.layer_model(np.random.default_rng(7), kind, name=name, **kwargs)
    opts = options[0] if options else {}
    design = generate(model, GenOptions(style=style, **opts), upto=upto)
    assert any(s.plan is not None and s.plan.style == style for s in design.stages)
    assert any(s.holds for s in design.stages) or not name.endswith("_held")
    files = design.write(tmp_path)
    proc = require_tool("verilator").run(["--lint-only", "-Wall", "--top-module", design.top, *files], cwd=tmp_path,
                                          check=False)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, (proc.stdout + proc.stderr)[-3000:]


@pytest.mark.parametrize("style", ["dense", "sparse"])
def test_word_buffers_lint_clean(hwt, tmp_path, style):
    """Word buffers after a collector and between folded MVUs (sbnn.arch.buffer) lint clean; with the
    zero-skipping first layer (its folds in load-balanced order) only the later link is one."""
    m = random_model(np.random.default_rng(5), input_shape=(8, 8, 1), convs=(), pool=False, dense=(64, 64),
                     sparsity=0.5, name=f"wbuf_{style}")
    names = [layer.name for layer in m.mvus]
    m = folding.apply(m, {names[0]: {"PE": 4, "SIMD": 16}, names[1]: {"PE": 2, "SIMD": 4}, names[2]: {"PE": 1, "SIMD": 4}})
    impls = folding.resolve_impls(m, {names[0]: {"style": style}, names[1]: {"style": "dense"},
                                      names[2]: {"style": "dense"}})
    design = generate(m, GenOptions(pixels_per_beat=1), impls=impls)
    links = [st.name for st in design.stages if st.info.get("out_words")]
    assert links == ([f"L2_{names[1]}"] if style == "sparse" else [f"L1_{names[0]}", f"L2_{names[1]}"])
    hwt.need_verilator()
    files = design.write(tmp_path)
    proc = require_tool("verilator").run(["--lint-only", "-Wall", "--top-module", design.top, *files], cwd=tmp_path,
                                          check=False)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, (proc.stdout + proc.stderr)[-3000:]
