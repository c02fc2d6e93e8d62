"""The folding step: how many output channels (PE) and inputs or non-zeros (SIMD) each MVU handles per
clock, its datapath and gather, resolved once per layer into a :class:`~sbnn.arch.impl.LayerImpl`.

Three sources of folding, as in FINN: a hand-written JSON file (see :mod:`sbnn.arch.impl`), *unrolled*
(PE = M, SIMD = K everywhere: constant weights) or *automatic* for a target frame rate. The automatic
choice is FINN's SetFolding idea with our cycle model: for each MVU, among all divisor pairs (PE, SIMD) -
and, with ``gather="auto"`` / ``style="auto"``, every gather and datapath - whose clocks per frame (from
the zero-skip schedule, so sparse layers get the small folding they need) meet the target, take the one
with the smallest estimate of LUTs and block RAM (:func:`sbnn.arch.cost.rank_estimate`). Folding never
changes the IR's arithmetic.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from sbnn.arch.cost import logic_estimate, rank_estimate, rom_in_bram, vector_fed
from sbnn.arch.impl import LayerImpl
from sbnn.arch.options import (
    AUTO_GATHERS,
    LUTRAM_BUFFERS,
    STRUCTURED_STYLES,
    CodingChoice,
    Gather,
    GatherChoice,
    Style,
    StyleChoice,
    WeightRom,
)
from sbnn.arch.schedule import (
    MVUPlan,
    lutram_load_clocks,
    plan_mvu,
    resolve_impl,
    structured_misfit,
    vector_clocks,
)
from sbnn.errors import ConfigError, HardwareError
from sbnn.ir.model import MVU, IRModel


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _mvus(model: IRModel) -> dict[str, MVU]:
    return {layer.name: layer for layer in model.layers if isinstance(layer, MVU)}


def current(model: IRModel) -> dict[str, dict[str, int]]:
    """The folding stored in the IR, as a FINN-style dict."""
    return {name: {"PE": int(layer.pe), "SIMD": int(layer.simd)} for name, layer in _mvus(model).items()}


def unrolled(model: IRModel) -> dict[str, dict[str, int]]:
    """PE = M and SIMD = K for every MVU: weights become wiring."""
    return {name: {"PE": layer.out_channels, "SIMD": layer.in_features} for name, layer in _mvus(model).items()}


def apply(model: IRModel, folding: Mapping[str, Mapping]) -> IRModel:
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


def gather_plans(layer: MVU, style: StyleChoice, gather: GatherChoice, coding: CodingChoice = "index") -> list[MVUPlan]:
    """The plans to choose from for ``style`` ("auto": zero-skipping, dense XNOR and the structured styles
    the layer's mask allows at its SIMD) and ``gather`` ("auto": :data:`~sbnn.arch.options.AUTO_GATHERS`,
    which share one schedule). A structured style that does not fit the layer gives no plan."""
    if style == "auto":
        return (gather_plans(layer, "sparse", gather, coding) + [plan_mvu(layer, "dense", coding=coding)]
                + [p for s in STRUCTURED_STYLES for p in gather_plans(layer, s, gather, coding)])
    if style in STRUCTURED_STYLES and structured_misfit(layer, style, None if _unrolled(layer) else layer.simd):
        return []
    if gather != "auto":
        return [plan_mvu(layer, style, coding=coding, gather=gather)]
    base = plan_mvu(layer, style, coding=coding, gather="full")
    if base.style != "sparse":
        return [base]
    return [base] + [dataclasses.replace(base, gather=g) for g in AUTO_GATHERS if g != "full"]


def _unrolled(layer: MVU) -> bool:
    return layer.pe == layer.out_channels and layer.simd == layer.in_features


def _no_plan(layer: MVU, style: StyleChoice) -> HardwareError:
    """The error of a layer for which ``style`` gives no plan (a structured style that does not fit)."""
    why = structured_misfit(layer, style, layer.simd) if style in STRUCTURED_STYLES else None
    return HardwareError(why or f"layer {layer.name!r}: no implementation in style {style}")


def plan_entry(plan: MVUPlan) -> dict[str, str]:
    """The per-layer choices of a plan, as folding-file keys: its style and (sparse folded) gather."""
    style = plan.style if plan.style != "unrolled" else ("sparse" if plan.skip_zeros else "dense")
    return {"style": style, "gather": plan.gather} if plan.style == "sparse" else {"style": style}


def choose_modes(model: IRModel, style: StyleChoice = "sparse", gather: GatherChoice = "auto", max_cycle_overhead: float = 0.10,
                 fixed: Mapping[str, Mapping] | None = None) -> dict[str, dict[str, str]]:
    """Style and gather of every MVU at a given folding. ``auto`` picks, among the candidates whose
    clocks per vector stay within ``max_cycle_overhead`` of the fastest (as the automatic weight coding
    does), the one with the smallest estimate (LUTs and block RAM, :func:`~sbnn.arch.cost.rank_estimate`);
    ``fixed`` (layer -> {"style", "gather"}, e.g. from a
    folding file) wins, and a fixed gather implies the zero-skipping style."""
    out = {}
    for name, layer in _mvus(model).items():
        own = (fixed or {}).get(name, {})
        # a gather applies to the zero-skipping datapath only: an entry that names one asks for that datapath
        plans = gather_plans(layer, own.get("style", "sparse" if "gather" in own else style), own.get("gather", gather))
        if not plans:
            raise _no_plan(layer, own.get("style", "sparse" if "gather" in own else style))
        fastest = min(vector_clocks(p, layer.in_features) for p in plans)
        ok = [p for p in plans if vector_clocks(p, layer.in_features) <= fastest * (1 + max_cycle_overhead)]
        fed = vector_fed(model, layer)
        out[name] = plan_entry(min(ok, key=lambda p: rank_estimate(layer, p, vector_fed=fed)))
    return out


@dataclass
class AutoResult:
    folding: dict[str, dict]  # layer -> {"PE", "SIMD", "style"[, "gather"]}
    target_cycles: int
    met: bool
    layer_cycles: dict[str, int]


def target_cycles(target_fps: float, clock_mhz: float = 100.0) -> int:
    """Clocks per frame that ``target_fps`` leaves at ``clock_mhz``."""
    if target_fps <= 0 or clock_mhz <= 0:
        raise ConfigError("target frames/s and clock must be positive")
    return max(1, int(clock_mhz * 1e6 // target_fps))


#: what the automatic folding minimizes: "device" (LUTs and block RAM as fractions of the device,
#: :func:`~sbnn.arch.cost.rank_estimate`; the default) or "lut" (LUTs alone: what the folding did before, kept
#: so that a benchmark can give a baseline both searches)
OBJECTIVES = {"device": rank_estimate, "lut": logic_estimate}


def _roms(plan: MVUPlan, weight_rom: WeightRom) -> tuple[WeightRom, ...]:
    """Weight-memory placements the search weighs for ``plan``: with "auto", also block RAM where synthesis
    would leave the memory in logic. Why: a small layer's weight memory (the CNV's 288 x 64 N:M convolution:
    6,912 bits) stays in LUTs by Yosys' rule, hundreds of them at the cost model's 4.6 per 64 bits, where one
    RAMB18 holds it (benchmarks/results/hw_network_structure_cnv.json, 1:8i auto: that layer so placed, 367 LUT with
    its window and FIFOs; as XNOR at the same folding 503-515)."""
    if weight_rom != "auto" or plan.T <= 1 or rom_in_bram(plan.T, plan.word_bits):
        return (weight_rom,)
    return ("auto", "block")


def layer_entries(layer: MVU, target: int, style: StyleChoice = "sparse", gather: GatherChoice = "full",
                  fed: bool = False, objective: str = "device", weight_rom: WeightRom = "auto",
                  top: int = 1) -> list[tuple[dict, int]]:
    """One MVU's ``top`` best folding entries ({"PE", "SIMD", "style"[, "gather"][, "weight_rom"]}) with their clocks
    per frame, best first: among all divisor pairs (PE, SIMD), the plans of ``style`` / ``gather`` and the
    weight-memory placements (:func:`_roms`; objective "device" only), the smallest estimates whose clocks per frame
    meet ``target`` (LUTs and block RAM, :func:`~sbnn.arch.cost.rank_estimate`), else the fastest alone. An entry
    names the placement only when it asks for block RAM."""
    vectors = layer.out_pixels
    ranked = []
    for pe in divisors(layer.out_channels):
        for simd in divisors(layer.in_features):
            trial = copy.copy(layer)
            trial.pe, trial.simd = pe, simd
            for plan in gather_plans(trial, style, gather):
                cyc = vector_clocks(plan, layer.in_features) * vectors
                # the LUT-only search leaves the placement to synthesis: to it block RAM is free
                for rom in _roms(plan, weight_rom) if cyc <= target and objective == "device" else (weight_rom,):
                    cost = OBJECTIVES[objective](trial, plan, weight_rom=rom, vector_fed=fed)
                    entry = {"PE": pe, "SIMD": simd, **plan_entry(plan), **({"weight_rom": rom} if rom != weight_rom else {})}
                    ranked.append(((cyc > target, cost if cyc <= target else cyc, cyc, len(ranked)), entry, cyc))
    if not ranked:  # a structured style that fits no folding of this layer
        raise _no_plan(layer, style)
    ranked.sort(key=lambda r: r[0])
    if ranked[0][0][0]:  # nothing meets the target: the fastest only
        return [(ranked[0][1], ranked[0][2])]
    return [(entry, cyc) for key, entry, cyc in ranked[:top] if not key[0]]


def auto_layer(layer: MVU, target: int, style: StyleChoice = "sparse", gather: GatherChoice = "full",
               fed: bool = False, objective: str = "device", weight_rom: WeightRom = "auto") -> tuple[dict, int]:
    """One MVU's best folding entry and its clocks per frame (:func:`layer_entries`)."""
    return layer_entries(layer, target, style, gather, fed, objective, weight_rom)[0]


def auto(model: IRModel, target_fps: float, clock_mhz: float = 100.0, style: StyleChoice = "sparse",
         gather: GatherChoice = "full", objective: str = "device", weight_rom: WeightRom = "auto") -> AutoResult:
    """Per-MVU folding (and, with ``style``/``gather`` "auto", style and gather) for ``target_fps`` at
    ``clock_mhz`` (index-coded zero-skip schedule for sparse layers); every layer records its style, sparse
    folded layers their gather, and (with ``weight_rom`` "auto") layers whose weights go to block RAM against
    synthesis' own rule record that."""
    return candidates(model, target_fps, clock_mhz, style, gather, objective, weight_rom, top=1)[0]


def candidates(model: IRModel, target_fps: float, clock_mhz: float = 100.0, style: StyleChoice = "sparse",
               gather: GatherChoice = "full", objective: str = "device", weight_rom: WeightRom = "auto",
               top: int = 1) -> list[AutoResult]:
    """Up to ``top`` distinct foldings for ``target_fps``, the estimate's best first: candidate i takes every
    MVU's i-th best entry (its last one where a layer has fewer). Why: the estimate ranks close foldings
    wrongly now and then (benchmarks/results/hw_structure.md); synthesizing a few of them finds the cheaper one
    (``sbnn synth --search``)."""
    target = target_cycles(target_fps, clock_mhz)
    per = {name: layer_entries(layer, target, style, gather, vector_fed(model, layer), objective, weight_rom, top)
           for name, layer in _mvus(model).items()}
    out: list[AutoResult] = []
    for i in range(max((len(v) for v in per.values()), default=1)):
        pick = {name: v[min(i, len(v) - 1)] for name, v in per.items()}
        folding = {name: entry for name, (entry, _) in pick.items()}
        if any(r.folding == folding for r in out):
            continue
        cycles = {name: cyc for name, (_, cyc) in pick.items()}
        out.append(AutoResult(folding, target, all(c <= target for c in cycles.values()), cycles))
    return out


def coding_overheads(model: IRModel, modes: Mapping[str, Mapping], target: int,
                     max_cycle_overhead: float) -> dict[str, float]:
    """With a target frame rate, the automatic weight coding of a layer may only spend the clocks the
    target leaves it (the folding was chosen for the index coding), so the design still meets the target."""
    out = {}
    for layer in model.mvus:
        gather = modes.get(layer.name, {}).get("gather", "full")
        plan = plan_mvu(layer, modes.get(layer.name, {}).get("style", "sparse"), coding="index", gather=gather)
        if plan.style != "sparse":
            continue
        single = LUTRAM_BUFFERS.get(gather) == 1  # a single RAM buffer loads before it computes
        t_max = target // layer.out_pixels - (lutram_load_clocks(layer.in_features) if single else 0)
        out[layer.name] = max(0.0, min(max_cycle_overhead, t_max / plan.T - 1))
    return out


def _impl(layer: MVU, entry: Mapping | LayerImpl, style: Style, gather: Gather, coding: CodingChoice,
          delta_bits: int | None, max_cycle_overhead: float, weight_rom: WeightRom) -> LayerImpl:
    """A layer's implementation: a LayerImpl as it is, a (partial) folding entry completed by the rest."""
    if isinstance(entry, LayerImpl):
        return entry
    return resolve_impl(layer, entry.get("style", style), entry.get("gather", gather), entry.get("coding", coding),
                        entry.get("delta_bits", delta_bits), max_cycle_overhead, entry.get("weight_rom", weight_rom),
                        entry.get("PE"), entry.get("SIMD"))


def resolve_impls(model: IRModel, spec: Mapping[str, Mapping | LayerImpl] | None = None, *, style: Style = "sparse",
                  gather: Gather = "full", coding: CodingChoice = "auto", delta_bits: int | None = None,
                  max_cycle_overhead: float = 0.10, weight_rom: WeightRom = "auto") -> dict[str, LayerImpl]:
    """Every MVU's implementation: ``spec`` entries (LayerImpls, or folding entries that the keyword
    choices complete - one value for the whole design, no ``"auto"`` style or gather) or, for layers it
    does not name, the IR's folding with the keyword choices. Entries of layers not in ``model`` are
    ignored (a design cut before them)."""
    spec = spec or {}
    return {name: _impl(layer, spec.get(name, {}), style, gather, coding, delta_bits, max_cycle_overhead, weight_rom)
            for name, layer in _mvus(model).items()}


def resolve(model: IRModel, spec: Mapping[str, Mapping], *, style: StyleChoice = "sparse", gather: GatherChoice = "auto",
            coding: CodingChoice = "auto", delta_bits: int | None = None, max_cycle_overhead: float = 0.10,
            weight_rom: WeightRom = "auto", target: int | None = None) -> tuple[IRModel, dict[str, LayerImpl]]:
    """The folding step: a folding (from a file, :func:`auto`, :func:`unrolled` or :func:`current`) and the
    configured choices (``style`` / ``gather`` may be ``"auto"``) -> the folded model and one LayerImpl per
    MVU, every choice resolved. What an entry fixes wins; with a ``target`` (clocks per frame), gap codes
    may only spend the clocks it leaves."""
    folded = apply(model, spec)
    fixed = {name: {k: f[k] for k in ("style", "gather") if k in f} for name, f in spec.items()}
    modes = choose_modes(folded, style, gather, max_cycle_overhead, fixed)
    overheads = coding_overheads(folded, modes, target, max_cycle_overhead) if target else {}
    impls = {}
    for name, layer in _mvus(folded).items():
        entry = {**spec.get(name, {}), **modes[name]}
        impls[name] = _impl(layer, entry, style, "full", coding, delta_bits, overheads.get(name, max_cycle_overhead),
                            weight_rom)
    return folded, impls
