"""Folding: how many output channels (PE) and inputs or non-zeros (SIMD) each MVU handles per clock.

Three sources, as in FINN: a hand-written JSON file (``{"<layer>": {"PE": 4, "SIMD": 8}, ...}``; a
``"Defaults"`` entry is accepted and ignored), *unrolled* (PE = M, SIMD = K everywhere: constant weights)
or *automatic* for a target frame rate. The automatic choice is FINN's SetFolding idea with our cycle
model: for each MVU, among all divisor pairs (PE, SIMD) whose clocks per frame - computed from the
zero-skip schedule, so sparse layers get the small folding they need - meet the target, take the one
with the smallest logic estimate. Folding never changes the IR's arithmetic, only ``pe``/``simd``.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sbnn.errors import ConfigError, HardwareError
from sbnn.ir.model import MVU, IRModel
from sbnn.sim.cycles import MVUPlan, index_bits, plan_mvu


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
            k = key.upper()
            if k not in ("PE", "SIMD"):
                raise ConfigError(f"{where}: entry {name!r} has unknown key {key!r} (only PE and SIMD)")
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


def logic_estimate(layer: MVU, plan: MVUPlan) -> float:
    """A rough LUT estimate used only to rank foldings (synthesis gives the real numbers)."""
    k, eb = layer.in_features, layer.in_type.bits
    per_lane = 2 * (int(np.log2(max(2, k))) + 6)  # accumulator, compare
    if plan.style == "unrolled":
        ops = int(layer.weight_bits.sum()) if plan.skip_zeros else layer.out_channels * k
        return ops * eb * 0.8 + layer.out_channels * per_lane
    if plan.style == "dense":
        return plan.pe * plan.simd * eb + (k * eb / 4 if k > plan.simd else 0) + plan.pe * per_lane
    n = k if plan.gather == "full" else k // plan.simd
    mux = (n + 1) * eb / 4 + index_bits(n)
    return plan.pe * plan.simd * mux + plan.pe * per_lane


@dataclass
class AutoResult:
    folding: dict[str, dict[str, int]]
    target_cycles: int
    met: bool
    layer_cycles: dict[str, int]


def auto(model: IRModel, target_fps: float, clock_mhz: float = 100.0, style: str = "sparse",
         gather: str = "full") -> AutoResult:
    """Per-MVU folding for ``target_fps`` at ``clock_mhz`` (index-coded zero-skip schedule for sparse)."""
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
                plan = plan_mvu(trial, style, coding="index", gather=gather)
                cyc = plan.T * vectors
                key = (cyc > target, logic_estimate(trial, plan) if cyc <= target else cyc, cyc)
                if best is None or key < best[0]:
                    best = (key, pe, simd, cyc)
        _, pe, simd, cyc = best
        folding[name] = {"PE": pe, "SIMD": simd}
        cycles[name] = cyc
        met = met and cyc <= target
    return AutoResult(folding, target, met, cycles)
