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
