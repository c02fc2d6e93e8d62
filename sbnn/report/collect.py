"""Read run directories into flat rows: the only source of every number in a report.

A row is one run directory (a sweep point or a single run). Each value is copied from the file the stage
wrote, under a fixed column name, with no rounding; a stage that did not run leaves its columns ``None``.
``COLUMNS`` documents where each column comes from, and the tests check the tables against these files.
The report reads run-directory files only (their names: :mod:`sbnn.runs`); it imports no stage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sbnn import provenance
from sbnn.runs import (
    CONFIG,
    CYCLES,
    DENSE_BASELINE_DIR,
    FINN_BASELINE,
    FOLDING,
    FPS_DIR,
    MANIFEST,
    METRICS,
    REPORT,
    RTL_REGRESSION,
    SWEEP_CONFIG,
    SWEEP_POINTS,
    SWEEP_RECORD,
    VERIFY,
    RunDir,
)

#: column -> (file under the run directory, where in it); the order is the CSV's
COLUMNS: dict[str, tuple[str, str]] = {
    "name": ("", "directory name"),
    "arch": (SWEEP_RECORD, "point.arch"),
    "method": (f"train/{CONFIG}", "quant.method"),
    "target_sparsity": (SWEEP_RECORD, "point.sparsity ({alpha, beta} methods)"),
    "structure": (f"train/{CONFIG}", "quant.structure ({alpha, beta} methods; none = unstructured)"),
    "status": (SWEEP_RECORD, "status"),
    "weight_sparsity": (f"train/{METRICS}", "final.sparsity (fraction of zero weight bits)"),
    "float_test_acc": (f"train/{METRICS}", "final.test_acc (the trained PyTorch model)"),
    "export_verified": (f"export/{VERIFY}", "verification.passed (IR == IR, torch integer == QONNX == simulator)"),
    "test_acc": (f"sim/{REPORT}", "test_accuracy (bit-exact integer simulator)"),
    "rtl_samples": (f"sim/{RTL_REGRESSION} or sim/{REPORT}", "rtl.samples"),
    "rtl_equal": (f"sim/{RTL_REGRESSION} or sim/{REPORT}", "rtl.equal and rtl.timing_equals_cycle_model"),
    "LUT": (f"synth/{REPORT}", "total.LUT"),
    "FF": (f"synth/{REPORT}", "total.FF"),
    "BRAM36": (f"synth/{REPORT}", "bram36_equivalent"),
    "DSP": (f"synth/{REPORT}", "total.DSP"),
    "cycles_per_frame": (f"hw/{CYCLES}", "interval_cycles"),
    "latency_cycles": (f"hw/{CYCLES}", "latency_cycles"),
    "fps": (f"hw/{CYCLES}", "frames_per_second"),
    "eq_target_fps": (f"{FPS_DIR}/hw/{CONFIG}", "target_fps"),
    "eq_LUT": (f"{FPS_DIR}/synth/{REPORT}", "total.LUT"),
    "eq_FF": (f"{FPS_DIR}/synth/{REPORT}", "total.FF"),
    "eq_FIFO_LUT": (f"{FPS_DIR}/synth/{REPORT}", "instances u_fifo*: LUT (the stream FIFOs, a fixed cost of every style)"),
    "eq_BRAM36": (f"{FPS_DIR}/synth/{REPORT}", "bram36_equivalent"),
    "eq_cycles_per_frame": (f"{FPS_DIR}/hw/{CYCLES}", "interval_cycles"),
    "eq_fps": (f"{FPS_DIR}/hw/{CYCLES}", "frames_per_second"),
    "eq_mvus": (f"{FPS_DIR}/hw/{FOLDING}", "style[/gather] of every MVU, counted in layer order"),
    "finn_LUT": (FINN_BASELINE, "total.LUT (FINN estimate)"),
    "finn_BRAM18": (FINN_BASELINE, "total.BRAM18 (FINN estimate)"),
    "finn_cycles_per_frame": (FINN_BASELINE, "max_cycles (FINN estimate)"),
    "finn_fps": (FINN_BASELINE, "frames_per_second (FINN estimate)"),
    "stale": (f"*/{MANIFEST}", "stages whose inputs changed since they ran, or whose files changed since"),
}


def json_or_none(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
        return None


def yaml_or_none(path: Path) -> dict | None:
    import yaml

    try:
        return yaml.safe_load(path.read_text())
    except (FileNotFoundError, NotADirectoryError, yaml.YAMLError):
        return None


def get(data: dict | None, dotted: str) -> Any:
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


def rtl_check(run: Path) -> tuple[dict | None, str | None]:
    """The last RTL check of the run: ``sim/report.json``'s ``rtl`` entry (``sbnn sim --rtl``) or a sweep
    point's ``sim/rtl_regression.json``."""
    for name in (REPORT, RTL_REGRESSION):
        rtl = get(json_or_none(run / "sim" / name), "rtl")
        if isinstance(rtl, dict):
            return rtl, f"sim/{name}"
    return None, None


def fifo_luts(synth: dict | None) -> int | None:
    """LUTs of a design's stream FIFOs (``u_fifo*`` instances of its synthesis report)."""
    inst = (synth or {}).get("instances")
    if not isinstance(inst, dict):
        return None
    return sum(int(r.get("LUT", 0)) for name, r in inst.items() if name.startswith("u_fifo"))


#: sub-runs whose designs a report shows next to the run's: a sweep point's equal-throughput design, the dense
#: baseline (``sbnn report --baseline dense``)
SUB_RUNS = (FPS_DIR, DENSE_BASELINE_DIR)


def stale(run: Path) -> dict[str, provenance.Status]:
    """Stage folders of a run (``"synth"``) and of its sub-runs (``"fps/synth"``) that are not current, with
    why, from their manifests (:func:`sbnn.provenance.run_status`, the one judge of staleness): their numbers
    are shown, marked, never as current. A sub-run's linked stage (its ``export`` -> ``../export``) is the
    run's own and is listed once, under the run."""
    out: dict[str, provenance.Status] = {}
    for sub in ("", *SUB_RUNS):
        if sub and not (run / sub).is_dir():
            continue
        for stage, st in provenance.run_status(RunDir(run / sub)).items():
            if sub and (run / sub / stage).is_symlink():
                continue
            out[f"{sub}/{stage}".lstrip("/")] = st
    return out


def stale_text(marks: dict[str, provenance.Status]) -> str | None:
    """The ``stale`` column: "export (stale: train/checkpoint.pt changed); hw (stale: made from export/, ...)"."""
    return "; ".join(f"{k} ({st.state}: {st.reason})" for k, st in marks.items()) or None


def read_row(run: Path) -> dict[str, Any]:
    """One run directory -> one row (see ``COLUMNS``)."""
    sweep = json_or_none(run / SWEEP_RECORD)
    metrics = json_or_none(run / "train" / METRICS)
    final = (metrics or {}).get("final") or {}
    tcfg = yaml_or_none(run / "train" / CONFIG)
    sim = json_or_none(run / "sim" / REPORT)
    rtl, _ = rtl_check(run)
    syn = json_or_none(run / "synth" / REPORT)
    cyc = json_or_none(run / "hw" / CYCLES)
    eq_cfg = yaml_or_none(run / FPS_DIR / "hw" / CONFIG)
    eq_syn = json_or_none(run / FPS_DIR / "synth" / REPORT)
    eq_cyc = json_or_none(run / FPS_DIR / "hw" / CYCLES)
    finn = json_or_none(run / FINN_BASELINE)
    finn = finn if finn and finn.get("ok") else None
    return {
        "name": run.name,
        "arch": get(sweep, "point.arch") or get(tcfg, "model.arch"),
        "method": get(tcfg, "quant.method") or get(sweep, "point.method"),
        "target_sparsity": get(sweep, "point.sparsity") if sweep else (
            get(tcfg, "quant.sparsity") if str(get(tcfg, "quant.method")).startswith("ab-") else None),
        "structure": (str(get(tcfg, "quant.structure") or "none")
                      if str(get(tcfg, "quant.method")).startswith("ab-") else None),
        "status": get(sweep, "status"),
        "weight_sparsity": final.get("sparsity"),
        "float_test_acc": final.get("test_acc"),
        "export_verified": get(json_or_none(run / "export" / VERIFY), "verification.passed"),
        "test_acc": get(sim, "test_accuracy"),
        "rtl_samples": get(rtl, "samples"),
        "rtl_equal": (bool(rtl["equal"] and rtl["timing_equals_cycle_model"]) if rtl else None),
        "LUT": get(syn, "total.LUT"),
        "FF": get(syn, "total.FF"),
        "BRAM36": get(syn, "bram36_equivalent"),
        "DSP": get(syn, "total.DSP"),
        "cycles_per_frame": get(cyc, "interval_cycles"),
        "latency_cycles": get(cyc, "latency_cycles"),
        "fps": get(cyc, "frames_per_second"),
        "eq_target_fps": get(eq_cfg, "target_fps"),
        "eq_LUT": get(eq_syn, "total.LUT"),
        "eq_FF": get(eq_syn, "total.FF"),
        "eq_FIFO_LUT": fifo_luts(eq_syn),
        "eq_BRAM36": get(eq_syn, "bram36_equivalent"),
        "eq_cycles_per_frame": get(eq_cyc, "interval_cycles"),
        "eq_fps": get(eq_cyc, "frames_per_second"),
        "eq_mvus": datapaths(json_or_none(run / FPS_DIR / "hw" / FOLDING)),
        "finn_LUT": get(finn, "total.LUT"),
        "finn_BRAM18": get(finn, "total.BRAM18"),
        "finn_cycles_per_frame": get(finn, "max_cycles"),
        "finn_fps": get(finn, "frames_per_second"),
        "stale": stale_text(stale(run)),
    }


def layer_rows(run: Path, sub: str = "") -> list[dict[str, Any]]:
    """Per-layer synthesis of a run (``sub="fps"``: of its equal-throughput design)."""
    syn = json_or_none(run / sub / "synth" / REPORT)
    return [{"layer": r["layer"], "LUT": r["LUT"], "FF": r["FF"], "BRAM36": r["BRAM36"] + r["BRAM18"] / 2}
            for r in (syn or {}).get("layers", [])]


def is_sweep(root: Path) -> bool:
    return (root / SWEEP_CONFIG).exists() or any(p.is_dir() and (p / SWEEP_RECORD).exists() for p in root.iterdir())


def point_dirs(root: Path) -> list[Path]:
    """The sweep's point directories in grid order (``points.json``, written by the sweep), then any others."""
    found = sorted(p for p in root.iterdir() if p.is_dir() and (p / SWEEP_RECORD).exists())
    order = json_or_none(root / SWEEP_POINTS)
    order = [n for n in order if isinstance(n, str)] if isinstance(order, list) else []
    rank = {n: i for i, n in enumerate(order)}
    return sorted(found, key=lambda p: (rank.get(p.name, len(rank)), p.name))


def device(runs: list[Path]) -> dict | None:
    """The target device (part, name, capacities) as the first of ``runs``' synthesis reports records it."""
    for run in runs:
        for sub in ("", FPS_DIR):
            dev = get(json_or_none(run / sub / "synth" / REPORT), "device")
            if isinstance(dev, dict):
                return dev
    return None


def collect(root: Path) -> list[dict[str, Any]]:
    return [read_row(p) for p in point_dirs(root)]
