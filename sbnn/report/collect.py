"""Read run directories into flat rows: the only source of every number in a report.

A row is one run directory (a sweep point or a single run). Each value is copied from the file the stage
wrote, under a fixed column name, with no rounding; a stage that did not run leaves its columns ``None``.
``COLUMNS`` documents where each column comes from, and the tests check the tables against these files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sbnn.sweep.point import FPS_DIR

#: column -> (file under the run directory, where in it); the order is the CSV's
COLUMNS: dict[str, tuple[str, str]] = {
    "name": ("", "directory name"),
    "arch": ("sweep.json", "point.arch"),
    "method": ("train/config.yaml", "quant.method"),
    "target_sparsity": ("sweep.json", "point.sparsity ({alpha, beta} methods)"),
    "status": ("sweep.json", "status"),
    "weight_sparsity": ("train/metrics.json", "final.sparsity (fraction of zero weight bits)"),
    "float_test_acc": ("train/metrics.json", "final.test_acc (the trained PyTorch model)"),
    "test_acc": ("sim/report.json", "test_accuracy (bit-exact integer simulator)"),
    "rtl_samples": ("sim/rtl_regression.json", "rtl.samples"),
    "rtl_equal": ("sim/rtl_regression.json", "rtl.equal and rtl.timing_equals_cycle_model"),
    "LUT": ("synth/report.json", "total.LUT"),
    "FF": ("synth/report.json", "total.FF"),
    "BRAM36": ("synth/report.json", "bram36_equivalent"),
    "DSP": ("synth/report.json", "total.DSP"),
    "cycles_per_frame": ("hw/cycles.json", "interval_cycles"),
    "latency_cycles": ("hw/cycles.json", "latency_cycles"),
    "fps": ("hw/cycles.json", "frames_per_second"),
    "eq_target_fps": ("fps/hw/config.yaml", "target_fps"),
    "eq_LUT": ("fps/synth/report.json", "total.LUT"),
    "eq_FF": ("fps/synth/report.json", "total.FF"),
    "eq_BRAM36": ("fps/synth/report.json", "bram36_equivalent"),
    "eq_cycles_per_frame": ("fps/hw/cycles.json", "interval_cycles"),
    "eq_fps": ("fps/hw/cycles.json", "frames_per_second"),
    "eq_mvus": ("fps/hw/folding.json", "style[/gather] of every MVU, counted in layer order"),
    "finn_LUT": ("finn/baseline.json", "total.LUT (FINN estimate)"),
    "finn_BRAM18": ("finn/baseline.json", "total.BRAM18 (FINN estimate)"),
    "finn_cycles_per_frame": ("finn/baseline.json", "max_cycles (FINN estimate)"),
    "finn_fps": ("finn/baseline.json", "frames_per_second (FINN estimate)"),
}


def _json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None


def _yaml(path: Path) -> dict | None:
    import yaml

    try:
        return yaml.safe_load(path.read_text())
    except (FileNotFoundError, NotADirectoryError, yaml.YAMLError):
        return None


def _get(data: dict | None, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def datapaths(folding: dict | None) -> str | None:
    """``folding.json`` -> "sparse/lutram1 x3, dense x1": the MVU datapaths of a design, in layer order."""
    if not folding:
        return None
    counts: dict[str, int] = {}
    for entry in folding.values():
        label = entry.get("style", "sparse") + (f"/{entry['gather']}" if "gather" in entry else "")
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{k} x{n}" for k, n in counts.items())


def read_row(run: Path) -> dict[str, Any]:
    """One run directory -> one row (see ``COLUMNS``)."""
    sweep = _json(run / "sweep.json")
    metrics = _json(run / "train" / "metrics.json")
    final = (metrics or {}).get("final") or {}
    tcfg = _yaml(run / "train" / "config.yaml")
    sim = _json(run / "sim" / "report.json")
    rtl = _get(_json(run / "sim" / "rtl_regression.json"), "rtl")
    syn = _json(run / "synth" / "report.json")
    cyc = _json(run / "hw" / "cycles.json")
    eq_cfg = _yaml(run / FPS_DIR / "hw" / "config.yaml")
    eq_syn = _json(run / FPS_DIR / "synth" / "report.json")
    eq_cyc = _json(run / FPS_DIR / "hw" / "cycles.json")
    finn = _json(run / "finn" / "baseline.json")
    finn = finn if finn and finn.get("ok") else None
    return {
        "name": run.name,
        "arch": _get(sweep, "point.arch") or _get(tcfg, "model.arch"),
        "method": _get(tcfg, "quant.method") or _get(sweep, "point.method"),
        "target_sparsity": _get(sweep, "point.sparsity") if sweep else (
            _get(tcfg, "quant.sparsity") if str(_get(tcfg, "quant.method")).startswith("ab-") else None),
        "status": _get(sweep, "status"),
        "weight_sparsity": final.get("sparsity"),
        "float_test_acc": final.get("test_acc"),
        "test_acc": _get(sim, "test_accuracy"),
        "rtl_samples": _get(rtl, "samples"),
        "rtl_equal": (bool(rtl["equal"] and rtl["timing_equals_cycle_model"]) if rtl else None),
        "LUT": _get(syn, "total.LUT"),
        "FF": _get(syn, "total.FF"),
        "BRAM36": _get(syn, "bram36_equivalent"),
        "DSP": _get(syn, "total.DSP"),
        "cycles_per_frame": _get(cyc, "interval_cycles"),
        "latency_cycles": _get(cyc, "latency_cycles"),
        "fps": _get(cyc, "frames_per_second"),
        "eq_target_fps": _get(eq_cfg, "target_fps"),
        "eq_LUT": _get(eq_syn, "total.LUT"),
        "eq_FF": _get(eq_syn, "total.FF"),
        "eq_BRAM36": _get(eq_syn, "bram36_equivalent"),
        "eq_cycles_per_frame": _get(eq_cyc, "interval_cycles"),
        "eq_fps": _get(eq_cyc, "frames_per_second"),
        "eq_mvus": datapaths(_json(run / FPS_DIR / "hw" / "folding.json")),
        "finn_LUT": _get(finn, "total.LUT"),
        "finn_BRAM18": _get(finn, "total.BRAM18"),
        "finn_cycles_per_frame": _get(finn, "max_cycles"),
        "finn_fps": _get(finn, "frames_per_second"),
    }


def layer_rows(run: Path, sub: str = "") -> list[dict[str, Any]]:
    """Per-layer synthesis of a run (``sub="fps"``: of its equal-throughput design)."""
    syn = _json(run / sub / "synth" / "report.json") if sub else _json(run / "synth" / "report.json")
    return [{"layer": r["layer"], "LUT": r["LUT"], "FF": r["FF"], "BRAM36": r["BRAM36"] + r["BRAM18"] / 2}
            for r in (syn or {}).get("layers", [])]


def is_sweep(root: Path) -> bool:
    return (root / "sweep.yaml").exists() or any(p.is_dir() and (p / "sweep.json").exists() for p in root.iterdir())


def point_dirs(root: Path) -> list[Path]:
    """The sweep's point directories in grid order (sweep.yaml), then any others found."""
    found = sorted(p for p in root.iterdir() if p.is_dir() and (p / "sweep.json").exists())
    order: list[str] = []
    if (root / "sweep.yaml").exists():
        try:
            from sbnn.sweep.config import SweepConfig, points

            order = [p["name"] for p in points(SweepConfig.load(root / "sweep.yaml"))]
        except Exception:  # noqa: BLE001 - an old or edited grid: fall back to the folder order
            order = []
    rank = {n: i for i, n in enumerate(order)}
    return sorted(found, key=lambda p: (rank.get(p.name, len(rank)), p.name))


def collect(root: Path) -> list[dict[str, Any]]:
    return [read_row(p) for p in point_dirs(root)]
