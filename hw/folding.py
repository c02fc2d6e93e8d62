"""Folding: how many output channels (PE) and inputs or non-zeros (SIMD) each MVU handles per clock.

Three sources, as in FINN: a hand-written JSON file (``{"<layer>": {"PE": 4, "SIMD": 8}, ...}``, optionally
with ``"gather"`` per layer; a ``"Defaults"`` entry is accepted and ignored), *unrolled* (PE = M, SIMD = K
everywhere: constant weights) or *automatic* for a target frame rate. The automatic choice is FINN's
SetFolding idea with our cycle model: for each MVU, among all divisor pairs (PE, SIMD) - and, with
``gather="auto"``, every gather of a sparse layer - whose clocks per frame (from the zero-skip schedule,
so sparse layers get the small folding they need) meet the target, take the one with the smallest logic
estimate. Folding never changes the IR's arithmetic, only ``pe``/``simd`` and how inputs are gathered.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sbnn.errors import ConfigError, HardwareError
from sbnn.hw.arith import arith
from sbnn.ir.model import MVU, IRModel
from sbnn.sim.cycles import GATHERS, LUTRAM_BUFFERS, STYLES, MVUPlan, index_bits, lutram_banks, plan_mvu, vector_clocks

#: the gathers ``gather="auto"`` chooses from (segmented stays opt-in: it trades clocks for multiplexers)
AUTO_GATHERS = ("full", "lutram", "lutram1")


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _mvus(model: IRModel) -> dict[str, MVU]:
    return {layer.name: layer for layer in model.layers if isinstance(layer, MVU)}


def current(model: IRModel) -> dict[str, dict[str, int]]:
    """The folding stored in the IR, as a FINN-style dict."""
    return {name: {"PE": int(layer.pe), "SIMD": int(layer.simd)} for name, layer in _mvus(model).items()}


def load(path: str | os.PathLike) -> dict[str, dict[str, int]]:
    """Read and check a folding JSON file (structure only; :func:`apply` checks it against a model)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"folding file {path} not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"folding file {path} is not valid JSON ({exc})") from None
    return parse(raw, str(path))


def parse(raw: object, where: str = "folding") -> dict[str, dict[str, int]]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected an object mapping layer names to {{\"PE\": n, \"SIMD\": n}}")
    out = {}
    for name, entry in raw.items():
        if name == "Defaults":
            continue
        if not isinstance(entry, dict) or not entry:
            raise ConfigError(f"{where}: entry {name!r} must be an object such as {{\"PE\": 4, \"SIMD\": 8}}")
        fold = {}
        for key, value in entry.items():
            if key.lower() in ("gather", "style"):
                allowed = GATHERS if key.lower() == "gather" else STYLES
                if value not in allowed:
                    raise ConfigError(f"{where}: {name}.{key.lower()} must be one of {', '.join(allowed)}, got {value!r}")
                fold[key.lower()] = value
                continue
            k = key.upper()
            if k not in ("PE", "SIMD"):
                raise ConfigError(f"{where}: entry {name!r} has unknown key {key!r} (only PE, SIMD, style and gather)")
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{where}: {name}.{key} must be a positive integer, got {value!r}")
            fold[k] = value
        out[name] = fold
    return out


def apply(model: IRModel, folding: dict[str, dict[str, int]]) -> IRModel:
    """A copy of ``model`` with the folding applied; unknown names and non-dividing factors are errors."""
    mvus = _mvus(model)
    unknown = sorted(set(folding) - set(mvus))
    if unknown:
        raise ConfigError(f"folding names unknown layer(s) {', '.join(map(repr, unknown))}; "
                          f"MVU layers are: {', '.join(mvus) or 'none'}")
    out = copy.copy(model)
    out.layers = []
    for layer in model.layers:
        if isinstance(layer, MVU) and layer.name in folding:
            layer = copy.copy(layer)
            f = folding[layer.name]
            layer.pe, layer.simd = int(f.get("PE", layer.pe)), int(f.get("SIMD", layer.simd))
            m, k = layer.out_channels, layer.in_features
            if m % layer.pe:
                raise HardwareError(f"folding of layer {layer.name!r}: PE={layer.pe} does not divide its {m} output "
                                    f"channels (divisors: {_fmt(divisors(m))})")
            if k % layer.simd:
                raise HardwareError(f"folding of layer {layer.name!r}: SIMD={layer.simd} does not divide its {k} inputs "
                                    f"per output (divisors: {_fmt(divisors(k))})")
        out.layers.append(layer)
    return out


def _fmt(ds: list[int]) -> str:
    return ", ".join(map(str, ds)) if len(ds) <= 12 else ", ".join(map(str, ds[:6] + ["..."] + ds[-3:]))


def unrolled(model: IRModel) -> dict[str, dict[str, int]]:
    """PE = M and SIMD = K for every MVU: weights become wiring."""
    return {name: {"PE": layer.out_channels, "SIMD": layer.in_features} for name, layer in _mvus(model).items()}


#: LUTs per input element and slot of a multiplexer gather (Yosys, xc7: a 785:1 bit multiplexer ~ 400 LUTs)
MUX_LUT_PER_INPUT = 0.51
#: LUTs per bank and slot of a distributed-RAM gather, by buffers (RAM64M copies per 3 read ports plus the
#: bank multiplexer), and per bank of its loader (a 64:1 write multiplexer); Yosys, K = 784 and 256
LUTRAM_LUT_PER_BANK_SLOT = {1: 1.7, 2: 3.9}
LUTRAM_LUT_PER_BANK_LOAD = 23.0
#: LUTs per bit of a two-deep vector FIFO (distributed RAM) between a collector and its MVU
FIFO_LUT_PER_BIT = 0.68
#: LUTs per input bit of the adder tree forming S'(x) (over all K inputs at once; over the SIMD inputs of a
#: slice in a dense folded MVU; a distributed-RAM gather sums it during the load)
S_TREE_LUT_PER_BIT = 1.0


def logic_estimate(layer: MVU, plan: MVUPlan) -> float:
    """A LUT estimate used only to rank foldings and gathers (synthesis gives the real numbers); its
    gather coefficients are fitted to Yosys' synth_xilinx on single layers."""
    k, eb = layer.in_features, layer.in_type.bits
    per_lane = 2 * (int(np.log2(max(2, k))) + 6)  # accumulator, compare
    lut = plan.style == "sparse" and plan.gather in LUTRAM_BUFFERS
    # S' at once over K inputs, or serially: over SIMD inputs (dense, several slices) / during the load
    s_inputs = plan.simd if plan.style == "dense" and k > plan.simd else (0 if lut else k)
    s_tree = s_inputs * eb * S_TREE_LUT_PER_BIT if arith(layer, plan).gmul else 0.0
    # a dense layer fed pixel by pixel (one channel): a double-buffered RAM gather loads the beats directly;
    # every other datapath collects them into a K-element vector FIFO first
    h, w, c = layer.in_shape
    beats = layer.kind == "dense" and h * w > 1
    direct = beats and c == 1 and lut and LUTRAM_BUFFERS[plan.gather] == 2
    vector_fifo = k * eb * FIFO_LUT_PER_BIT if beats and not direct else 0.0
    if plan.style == "unrolled":
        ops = int(layer.weight_bits.sum()) if plan.skip_zeros else layer.out_channels * k
        return ops * eb * 0.8 + layer.out_channels * per_lane + s_tree + vector_fifo
    slots = plan.pe * plan.simd
    if lut:
        nb = lutram_banks(k)
        per_slot = eb * nb * LUTRAM_LUT_PER_BANK_SLOT[LUTRAM_BUFFERS[plan.gather]] + index_bits(k)
        load = 0.0 if direct else eb * nb * LUTRAM_LUT_PER_BANK_LOAD
        return load + slots * per_slot + plan.pe * per_lane + vector_fifo
    if plan.style == "dense":
        return plan.pe * plan.simd * eb + (k * eb / 4 if k > plan.simd else 0) + plan.pe * per_lane + s_tree + vector_fifo
    n = k if plan.gather == "full" else k // plan.simd
    mux = (n + 1) * eb * MUX_LUT_PER_INPUT + index_bits(n)
    return slots * mux + plan.pe * per_lane + s_tree + vector_fifo


def gather_plans(layer: MVU, style: str, gather: str, coding: str = "index") -> list[MVUPlan]:
    """The plans to choose from for ``style`` ("auto": zero-skipping and dense XNOR) and ``gather``
    ("auto": :data:`AUTO_GATHERS`, which share one schedule)."""
    if style == "auto":
        return gather_plans(layer, "sparse", gather, coding) + [plan_mvu(layer, "dense", coding=coding)]
    if gather != "auto":
        return [plan_mvu(layer, style, coding=coding, gather=gather)]
    base = plan_mvu(layer, style, coding=coding, gather="full")
    if base.style != "sparse":
        return [base]
    return [base] + [dataclasses.replace(base, gather=g) for g in AUTO_GATHERS if g != "full"]


def plan_entry(plan: MVUPlan) -> dict[str, str]:
    """The per-layer choices of a plan, as folding-file keys: its style and (sparse folded) gather."""
    style = "sparse" if plan.skip_zeros else "dense"
    return {"style": style, "gather": plan.gather} if plan.style == "sparse" else {"style": style}


def choose_modes(model: IRModel, style: str = "sparse", gather: str = "auto", max_cycle_overhead: float = 0.10,
                 fixed: dict[str, dict] | None = None) -> dict[str, dict[str, str]]:
    """Style and gather of every MVU at a given folding. ``auto`` picks, among the candidates whose
    clocks per vector stay within ``max_cycle_overhead`` of the fastest (as the automatic weight coding
    does), the one with the smallest logic estimate; ``fixed`` (layer -> {"style", "gather"}, e.g. from a
    folding file) wins."""
    out = {}
    for name, layer in _mvus(model).items():
        own = (fixed or {}).get(name, {})
        plans = gather_plans(layer, own.get("style", style), own.get("gather", gather))
        fastest = min(vector_clocks(p, layer.in_features) for p in plans)
        ok = [p for p in plans if vector_clocks(p, layer.in_features) <= fastest * (1 + max_cycle_overhead)]
        out[name] = plan_entry(min(ok, key=lambda p: logic_estimate(layer, p)))
    return out


@dataclass
class AutoResult:
    folding: dict[str, dict]  # layer -> {"PE", "SIMD", "style"[, "gather"]}
    target_cycles: int
    met: bool
    layer_cycles: dict[str, int]


def auto(model: IRModel, target_fps: float, clock_mhz: float = 100.0, style: str = "sparse",
         gather: str = "full") -> AutoResult:
    """Per-MVU folding (and, with ``style``/``gather`` "auto", style and gather) for ``target_fps`` at
    ``clock_mhz`` (index-coded zero-skip schedule for sparse layers); every layer records its style, sparse
    folded layers their gather."""
    if target_fps <= 0 or clock_mhz <= 0:
        raise ConfigError("target frames/s and clock must be positive")
    target = max(1, int(clock_mhz * 1e6 // target_fps))
    folding, cycles, met = {}, {}, True
    for name, layer in _mvus(model).items():
        vectors = layer.out_pixels
        best = None
        for pe in divisors(layer.out_channels):
            for simd in divisors(layer.in_features):
                trial = copy.copy(layer)
                trial.pe, trial.simd = pe, simd
                for plan in gather_plans(trial, style, gather):
                    cyc = vector_clocks(plan, layer.in_features) * vectors
                    key = (cyc > target, logic_estimate(trial, plan) if cyc <= target else cyc, cyc)
                    if best is None or key < best[0]:
                        best = (key, pe, simd, plan, cyc)
        _, pe, simd, plan, cyc = best
        folding[name] = {"PE": pe, "SIMD": simd, **plan_entry(plan)}
        cycles[name] = cyc
        met = met and cyc <= target
    return AutoResult(folding, target, met, cycles)
