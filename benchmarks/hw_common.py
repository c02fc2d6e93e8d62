"""Shared helpers of the hardware benchmarks: single-layer designs, timed synthesis, result files."""

from __future__ import annotations

import json
import math
import sys
import tempfile

import numpy as np
from common import RESULTS

from sbnn.arch.impl import LayerImpl
from sbnn.hw.rtl.design import Design, GenOptions, generate
from sbnn.hw.rtlsim.api import run_design
from sbnn.hw.synth.report import RESOURCES, add
from sbnn.hw.synth.yosys import run_yosys
from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel, ValueType
from sbnn.ir.synthetic import random_input, random_mvu
from sbnn.sim.bitexact import Simulator
from sbnn.tools import cache_dir

WORK = cache_dir() / "bench"  # generated Verilog and Yosys logs (not results: they stay out of the repository)


def dense_layer_model(k: int, m: int, sparsity: float, pe: int = 1, simd: int = 1, seed: int = 0,
                      levels: tuple[int, int] = (-1, 1), name: str = "b") -> IRModel:
    """The model of :func:`dense_layer_design`: the layer ``fc`` and a score tail (cut off by the design)."""
    rng = np.random.default_rng(seed)
    vt = BIPOLAR
    layer = random_mvu(rng, "fc", "dense", (1, 1, k), m, sparsity=sparsity, pe=pe, simd=simd, levels=levels, in_type=vt)
    tail = random_mvu(rng, "tail", "dense", (1, 1, m), 2, output=True)
    return IRModel(name, InputSpec((1, 1, k), vt), [layer, tail], Head(np.ones(2), np.zeros(2))).validate()


def dense_layer_design(k: int, m: int, sparsity: float, pe: int, simd: int, style: str, seed: int = 0,
                       coding: str = "auto", name: str = "b", gather: str = "full", levels: tuple[int, int] = (-1, 1),
                       impl: LayerImpl | None = None) -> Design:
    """A design holding one thresholded dense layer (bipolar in, bits out), random weight bits with exact
    sparsity and the given integer weight levels ``(w0, w1)``; ``impl`` (a resolved LayerImpl) builds the
    layer exactly so, otherwise PE / SIMD and the style, coding and gather options. The same seed gives
    the same bits (and thresholds drawn for the levels) whatever the levels and folding."""
    if impl is not None:
        pe, simd, style = impl.pe, impl.simd, impl.style
    model = dense_layer_model(k, m, sparsity, pe, simd, seed, levels, name)
    return generate(model, GenOptions(style=style, coding=coding, gather=gather), upto="fc", name=name,
                    impls={"fc": impl} if impl is not None else None)


def synth(design: Design, abc: str = "default", timeout: float | None = None) -> dict:
    """Yosys resources of the design's MVU instance, of its FIFOs (the fixed per-layer cost every datapath
    pays) and of the whole design, with the wall time."""
    folder = WORK / design.name
    design.write(folder)
    rep = run_yosys(design, folder, abc=abc, timeout=timeout)
    mvu = next(v for k, v in rep.instances.items() if k.startswith("u_") and "fifo" not in k and k.endswith("_fc"))
    fifo = dict.fromkeys(RESOURCES, 0)
    for inst, res in rep.instances.items():
        if inst.startswith("u_fifo"):
            fifo = add(fifo, res)
    # seconds of the Yosys run that produced the numbers (also when they come from the cache)
    return {"mvu": mvu, "fifo": fifo, "glue": rep.instances.get("(top)", dict.fromkeys(RESOURCES, 0)),
            "total": rep.total, "seconds": round(rep.elapsed_s, 1), "cached": rep.cached, "abc": abc}


def rtl_check(design: Design, model: IRModel, samples: int = 1000, layer: str = "fc") -> dict:
    """``design`` (the layers of ``model`` up to ``layer``) in Verilator on ``samples`` random inputs against the
    bit-exact simulator's output of ``layer`` and the cycle model."""
    x = random_input(np.random.default_rng(1), model.input, samples)
    with tempfile.TemporaryDirectory() as tmp:
        res = run_design(design, x, tmp)
    want = np.asarray(Simulator(model).run(x, trace=True).trace[layer]).reshape(samples, -1)
    return {"samples": samples, "equal": bool(np.array_equal(res.scores, want)), "latency": res.latency,
            "interval": res.interval, "timing_equals_cycle_model": res.timing_exact}


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


def layer_model(k: int, m: int, pe: int = 1, simd: int = 1, *, sparsity: float = 0.5, structure: str = "none",
                levels: tuple[int, int] = (-1, 1), in_bits: int = 1, output: bool = False, seed: int = 0,
                name: str = "b", in_shape: tuple[int, int, int] | None = None) -> IRModel:
    """A model whose first layer is one dense layer named ``fc`` (bipolar or unsigned ``in_bits`` input;
    thresholded bits followed by a 2-channel score layer, or scores itself with ``output``) with a random
    mask of the given structure and weight levels. ``in_shape`` (h, w, c with h * w * c = k; default
    (1, 1, k): one vector per beat): an input map that the design reads pixel by pixel, as a network's first
    layer (a collector, or the word buffer of a sliced MVU, gathers the vector)."""
    rng = np.random.default_rng(seed)
    vt = BIPOLAR if in_bits == 1 else ValueType(in_bits, False)
    shape = in_shape or (1, 1, k)
    layer = random_mvu(rng, "fc", "dense", shape, m, sparsity=sparsity, pe=pe, simd=simd, levels=levels,
                       in_type=vt, structure=structure, output=output)
    layers = [layer] if output else [layer, random_mvu(rng, "tail", "dense", (1, 1, m), 2, output=True)]
    n_out = m if output else 2
    return IRModel(name, InputSpec(shape, vt), layers, Head(np.ones(n_out), np.zeros(n_out))).validate()


def layer_design(k: int, m: int, pe: int, simd: int, style: str, *, gather: str = "full", coding: str = "index",
                 weight_rom: str = "auto", name: str = "b", **kw) -> Design:
    """The design of :func:`layer_model`'s layer ``fc`` alone (``kw``: that function's keywords); an input
    map (``in_shape``) is streamed one pixel per beat."""
    model = layer_model(k, m, pe, simd, name=name, **kw)
    opts = GenOptions(style=style, coding=coding, gather=gather, weight_rom=weight_rom,
                      pixels_per_beat=1 if kw.get("in_shape") else None)
    return generate(model, opts, upto="fc", name=name)


def case_design(style: str, k: int, m: int, pe: int, simd: int, *, structure: str = "none", sparsity: float = 0.5,
                levels: tuple[int, int] = (-1, 1), in_bits: int = 1, output: bool = False, seed: int = 0,
                gather: str = "full", coding: str = "index", weight_rom: str = "auto",
                in_shape: tuple[int, int, int] | None = None) -> Design:
    """:func:`layer_design` named after every parameter, so that two benchmarks asking for the same layer
    build the same Verilog and share one (cached) synthesis."""
    tag = "_".join(str(v) for v in (style, f"{k}x{m}", f"p{pe}s{simd}", structure, round(sparsity * 1e4), *levels,
                                    in_bits, gather, coding, "o" if output else "t", seed))
    tag += "" if weight_rom == "auto" else f"_rom{weight_rom}"
    tag += "" if in_shape is None else "_in" + "x".join(map(str, in_shape))
    name = "c_" + "".join(ch if ch.isalnum() else "_" for ch in tag.replace("-", "m"))
    return layer_design(k, m, pe, simd, style, gather=gather, coding=coding, weight_rom=weight_rom, name=name,
                        structure=structure, sparsity=sparsity, levels=levels, in_bits=in_bits, output=output,
                        seed=seed, in_shape=in_shape)
