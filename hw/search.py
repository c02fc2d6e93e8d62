"""The measured folding search of ``sbnn synth --target-fps N --search K``: synthesis in the loop.

The cost model's estimate errs by a median 8 % against Yosys (benchmarks/results/hw_cost_model.md) and ranks close
foldings now and then the wrong way round (benchmarks/results/hw_structure.md, stream-fed: the folding step's 1:16
choice took 0.71x the best dense layer's LUTs where another folding of the same layer took 0.58x). A FINN or
hls4ml user settles that by synthesizing a few foldings and keeping the cheapest; this does it for them: the
estimate's ``K`` best foldings (:func:`sbnn.arch.folding.candidates`), then the folding that takes every layer
from the candidate in which that layer (its MVU, FIFO and word buffer) measured fewest LUTs, each synthesized with
Yosys (cached by its RTL); among the designs that meet the clock by Yosys' timing estimate, the one with the
fewest LUTs, then block RAM, wins (the estimate-only folding does not reject a folding by its timing; this does).
The layers interact (a word buffer belongs to the link between two of them), so the combined folding is measured
as a whole like the others, never summed."""

from __future__ import annotations

import contextlib
import tempfile
from typing import Callable

from sbnn.arch import folding as fold
from sbnn.hw.config import HwConfig
from sbnn.hw.rtl.design import Design
from sbnn.hw.synth.report import bram36
from sbnn.hw.synth.yosys import choose_abc, run_yosys
from sbnn.ir.model import IRModel


def measure(design: Design, cfg: HwConfig) -> dict:
    """Yosys' LUTs and BRAM36 of ``design``, whole and per layer (cached by its RTL: the design the stage keeps
    is byte-identical, so its own synthesis comes from the cache)."""
    with tempfile.TemporaryDirectory() as tmp:
        design.write(tmp)
        rep = run_yosys(design, tmp, cfg.yosys_options, cfg.synth_timeout, abc=choose_abc(design, cfg.yosys_abc)[0])
    layers = {r["layer"]: (r["LUT"], bram36(r)) for r in rep.layers}
    met = rep.meets_clock(cfg.clock_mhz)
    return {"LUT": rep.total["LUT"], "BRAM36": bram36(rep.total), "layers": layers,
            "fmax_mhz_estimate": rep.fmax_mhz, "meets_clock": True if met is None else met}


def search(model: IRModel, cfg: HwConfig, build: Callable[[dict], Design], status=None,
           log: Callable[[str], None] = lambda msg: None) -> tuple[dict, list[dict]]:
    """The folding with the fewest measured LUTs (then BRAM36) that meets the clock by Yosys' timing estimate
    (:func:`sbnn.arch.depth.meets`; any, when none does) among the estimate's ``cfg.search`` best and their
    per-layer best combination, and the record of every synthesized candidate (JSON-ready, best estimate first).
    ``build(spec)`` is the stage's own folding step and generator, so a candidate is the design it would keep."""
    status = status or (lambda msg: contextlib.nullcontext())
    cands = [c.folding for c in fold.candidates(model, cfg.target_fps, cfg.clock_mhz, cfg.style, cfg.gather,
                                                weight_rom=cfg.weight_rom, top=cfg.search)]
    tried: list[dict] = []

    def run(spec: dict, origin: str) -> None:
        with status(f"folding search: synthesizing {origin} ({len(tried) + 1} of up to {len(cands) + 1})"):
            tried.append({"origin": origin, "folding": spec, **measure(build(spec), cfg)})

    for i, spec in enumerate(cands):
        run(spec, f"estimate rank {i + 1}")
    mvus = list(cands[0])
    combined = {n: min(tried, key=lambda t: t["layers"][n])["folding"][n] for n in mvus}
    if all(t["folding"] != combined for t in tried):
        run(combined, "per-layer best")
    best = min(tried, key=lambda t: (not t["meets_clock"], t["LUT"], t["BRAM36"]))
    log(f"folding search: {len(tried)} foldings synthesized; kept the {best['origin']} one, {best['LUT']:,} LUT and "
        f"{best['BRAM36']:g} BRAM36 (the estimate's first: {tried[0]['LUT']:,} LUT, {tried[0]['BRAM36']:g} BRAM36)")
    record = [{"origin": t["origin"], "selected": t is best, "LUT": t["LUT"], "BRAM36": t["BRAM36"],
               "fmax_mhz_estimate": t["fmax_mhz_estimate"], "meets_clock": t["meets_clock"],
               "layer_lut": {n: lut for n, (lut, _) in t["layers"].items()}, "folding": t["folding"]} for t in tried]
    return best["folding"], record
