"""Shared helpers of the hardware benchmarks: single-layer designs, timed synthesis, result files."""

from __future__ import annotations

import json
import math
import sys

import numpy as np
from common import RESULTS

from sbnn.hw.rtl.design import Design, GenOptions, generate
from sbnn.hw.synth.yosys import run_yosys
from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel
from sbnn.ir.synthetic import random_mvu
from sbnn.tools import cache_dir

WORK = cache_dir() / "bench"  # generated Verilog and Yosys logs (not results: they stay out of the repository)


def dense_layer_design(k: int, m: int, sparsity: float, pe: int, simd: int, style: str, seed: int = 0,
                       coding: str = "auto", name: str = "b", gather: str = "full") -> Design:
    """A design holding one thresholded dense layer (bipolar in, bits out), random {-1,+1} weights."""
    rng = np.random.default_rng(seed)
    vt = BIPOLAR
    layer = random_mvu(rng, "fc", "dense", (1, 1, k), m, sparsity=sparsity, pe=pe, simd=simd, levels=(-1, 1), in_type=vt)
    tail = random_mvu(rng, "tail", "dense", (1, 1, m), 2, output=True)
    model = IRModel(name, InputSpec((1, 1, k), vt), [layer, tail], Head(np.ones(2), np.zeros(2))).validate()
    return generate(model, GenOptions(style=style, coding=coding, gather=gather), upto="fc", name=name)


def synth(design: Design, abc: str = "default", timeout: float | None = None) -> dict:
    """Yosys resources of the design's MVU instance and of the whole design, with the wall time."""
    folder = WORK / design.name
    design.write(folder)
    rep = run_yosys(design, folder, abc=abc, timeout=timeout)
    mvu = next(v for k, v in rep.instances.items() if k.startswith("u_") and "fifo" not in k and k.endswith("_fc"))
    # seconds of the Yosys run that produced the numbers (also when they come from the cache)
    return {"mvu": mvu, "total": rep.total, "seconds": round(rep.elapsed_s, 1), "cached": rep.cached, "abc": abc}


def entropy_bits(p_one: float) -> float:
    """Binary entropy H(p) in bits: the lossless lower bound per weight for i.i.d. masks of density p."""
    if p_one <= 0 or p_one >= 1:
        return 0.0
    return -(p_one * math.log2(p_one) + (1 - p_one) * math.log2(1 - p_one))


def save(name: str, data: dict, markdown: str) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, default=float) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown)
    print(markdown)
    print(f"wrote {RESULTS / name}.json and .md", file=sys.stderr)
