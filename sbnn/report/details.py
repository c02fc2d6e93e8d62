"""One run directory read in full for its report: the stages, accuracy, the verification chain, resources
against the device, per-layer clocks / zero bits / mask structure / resources, and the dense baseline.

Everything is copied from the files the stages wrote (names from :mod:`sbnn.runs`); nothing is computed
here that a stage did not record, except sums, ratios and the bottleneck's name. A missing file leaves its
part ``None`` and the report says which command makes it. Whether each stage is current, stale, modified or
unrecorded is :mod:`sbnn.provenance`'s verdict on its ``manifest.json``, the same one the stages act on. The
dictionaries are open: a stage that records more (logic depth and Fmax in the synthesis report, new datapath
styles in ``folding.json``) is shown as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sbnn import provenance
from sbnn.report.collect import get, json_or_none, rtl_check, stale, yaml_or_none
from sbnn.runs import (
    CONFIG,
    CYCLES,
    DENSE_BASELINE_DIR,
    FOLDING,
    METRICS,
    REPORT,
    SWEEP_RECORD,
    VERIFY,
    RunDir,
)

#: the stages of a run in pipeline order, the file that shows each ran, and the command that runs it
STAGE_FILES: list[tuple[str, str, str]] = [
    ("train", f"train/{METRICS}", "sbnn train"),
    ("export", f"export/{VERIFY}", "sbnn export"),
    ("hw", f"hw/{CYCLES}", "sbnn synth"),
    ("synth", f"synth/{REPORT}", "sbnn synth"),
    ("sim", f"sim/{REPORT}", "sbnn sim --rtl"),
]
#: keys of a synthesis report that describe timing (logic depth, Fmax), shown when a synthesizer records them
TIMING_KEYS = ("timing", "fmax_mhz", "logic_depth", "logic_levels", "critical_path_ns")


#: provenance states that make a stage's values untrustworthy: shown as a warning and marked [STALE]
NOT_CURRENT = ("stale", "modified")


def provenance_of(run: Path, stage: str) -> provenance.Status:
    """Where a stage stands (:mod:`sbnn.provenance`): ``stale`` also when it was made from a stage that is not
    current, else its own state (current, modified, unrecorded: no manifest, or none: no files)."""
    rd = RunDir(run)
    return provenance.run_status(rd).get(stage) or provenance.check(rd, stage)


def stage_status(run: Path, stage: str) -> str | None:
    """A stage's provenance state: "current", "stale", "modified" or "unrecorded" (files without a manifest,
    taken as they are); None when the stage left no files."""
    st = provenance_of(run, stage).state
    return None if st == "none" else st


def stages(run: Path) -> list[dict[str, Any]]:
    out = []
    for s, f, cmd in STAGE_FILES:
        st = provenance_of(run, s)
        out.append({"stage": s, "present": (run / f).exists(), "status": None if st.state == "none" else st.state,
                    "reason": st.reason, "file": f, "command": cmd})
    return out


def chain(run: Path) -> list[dict[str, Any]]:
    """The verification chain, link by link: what was compared, on how many samples, equal or not, ties."""
    ver = get(json_or_none(run / "export" / VERIFY), "verification") or {}
    links: list[dict[str, Any]] = []

    def add(link: str, item: dict | None, how: str, **extra: Any) -> None:
        # "stage": whose files hold the result ("sbnn sim --rtl" -> sim), for the staleness marks
        links.append({"link": link, "ran": item is not None, "how": how, "stage": how.split()[1], **extra})

    ir = ver.get("lowered_ir_equals_folded_ir")
    add("IR lowered from QONNX == IR folded from the checkpoint", ir, "sbnn export",
        equal=None if ir is None else ir["equal"], samples=None, note="structural: bits, levels, thresholds")
    for key, name in (("torch_int_equals_qonnx", "integer PyTorch network == QONNX (execute_onnx)"),
                      ("qonnx_equals_sim", "QONNX == bit-exact simulator")):
        item = ver.get(key)
        add(name, item, "sbnn export", equal=None if item is None else item["equal"],
            samples=None if item is None else item["samples"],
            note=None if item is None or item["equal"] else f"{item['mismatching_samples']} samples differ")
    f = ver.get("float_model_vs_sim")
    add("float training model argmax == simulator argmax", f, "sbnn export", equal=None if f is None else f["ok"],
        samples=None if f is None else f["samples"], ties=None if f is None else f["ties"],
        note=None if f is None else (f"{f['ties']} ties (top-2 or a pre-sign value within {f['eps']:g}), "
                                     f"{f['disagree_non_tie']} disagreements elsewhere"))
    q = ver.get("qonnx_argmax_equals_sim")  # a foreign QONNX model: argmax agreement only
    if q is not None:
        add("QONNX argmax == simulator argmax (foreign model)", q, "sbnn export", equal=q["agree"] == q["samples"],
            samples=q["samples"], note=f"{q['agree']} agree")
    rtl, where = rtl_check(run)
    add("bit-exact simulator == RTL (Verilator)", rtl, "sbnn sim --rtl", equal=None if rtl is None else rtl["equal"],
        samples=None if rtl is None else rtl["samples"], source=where,
        note=None if rtl is None or rtl["equal"] else f"{rtl['mismatches']} samples differ")
    add("RTL latency and interval == cycle model", rtl, "sbnn sim --rtl",
        equal=None if rtl is None else rtl["timing_equals_cycle_model"], samples=None if rtl is None else rtl["samples"],
        source=where, note=None if rtl is None else (
            f"latency {rtl['latency']:,} (model {rtl['model_latency']:,}), interval {rtl['interval']:,} "
            f"(model {rtl['model_interval']:,}) cycles"))
    return links


def design(run: Path) -> dict[str, Any] | None:
    """A synthesized design (``run`` itself or a sub-run such as the dense baseline): resources against the
    device, timing, and one row per pipeline stage with its layer's implementation and resources."""
    cyc = json_or_none(run / "hw" / CYCLES)
    syn = json_or_none(run / "synth" / REPORT)
    if cyc is None and syn is None:
        return None
    fold = json_or_none(run / "hw" / FOLDING) or {}
    out: dict[str, Any] = {"path": str(run), "folding": fold, "config": yaml_or_none(run / "hw" / CONFIG) or {}}
    if cyc:
        out.update({k: cyc.get(k) for k in ("clock_mhz", "latency_cycles", "interval_cycles", "frames_per_second",
                                             "latency_us", "bottleneck_stage", "bottleneck_cycles", "folding_source",
                                             "folding_search")})
        out["stages"] = [{k: v for k, v in s.items() if k != "stream"} for s in cyc.get("stages", [])]
    if syn:
        dev, total = syn.get("device") or {}, syn.get("total") or {}
        out["tool"], out["device"], out["total"] = syn.get("tool"), dev, total
        out["bram36"] = syn.get("bram36_equivalent")
        out["utilization"] = syn.get("utilization_percent") or {}
        out["fits"] = syn.get("fits")
        out["synth_layers"] = syn.get("layers") or []
        out["timing"] = {k: syn[k] for k in TIMING_KEYS if k in syn}
    return out


def layers(run: Path, des: dict | None) -> list[dict[str, Any]]:
    """One row per IR layer: its stages' clocks per frame, implementation, zero bits, mask structure, resources."""
    ir = get(json_or_none(run / "export" / VERIFY), "ir") or {}
    sparsity, structure = ir.get("sparsity") or {}, ir.get("structure") or {}
    if des is None:
        return [{"layer": n, "zero_bits": sparsity.get(n), "structure": structure.get(n)} for n in sparsity]
    syn = {r["layer"]: r for r in des.get("synth_layers", [])}
    rows: dict[str, dict[str, Any]] = {}
    for s in des.get("stages", []):
        row = rows.setdefault(s["layer"], {"layer": s["layer"], "stages": [], "clocks": 0})
        row["stages"].append({"stage": s["stage"], "kind": s["kind"], "cycles": s["cycles_per_frame"]})
        row["clocks"] = max(row["clocks"], s["cycles_per_frame"])
        if s["kind"] not in ("load",):
            row["kind"] = s["kind"]
    for name, row in rows.items():
        impl = des["folding"].get(name) or {}
        row.update({"impl": impl, "zero_bits": sparsity.get(name), "structure": structure.get(name)})
        r = syn.get(name)
        row["resources"] = None if r is None else {"LUT": r.get("LUT"), "FF": r.get("FF"), "DSP": r.get("DSP"),
                                                   "BRAM36": r.get("BRAM36", 0) + r.get("BRAM18", 0) / 2}
        row["bottleneck"] = any(st["stage"] == des.get("bottleneck_stage") for st in row["stages"])
    return list(rows.values())


def read_run(run: Path) -> dict[str, Any]:
    """Everything the report of one run shows."""
    metrics = json_or_none(run / "train" / METRICS) or {}
    final = metrics.get("final") or {}
    tcfg = yaml_or_none(run / "train" / CONFIG) or {}
    sim = json_or_none(run / "sim" / REPORT) or {}
    ver = json_or_none(run / "export" / VERIFY) or {}
    des = design(run)
    baseline = design(run / DENSE_BASELINE_DIR)
    return {
        "run": str(run),
        "in_sweep": (run / SWEEP_RECORD).exists(),
        "stages": stages(run),
        "model": {"arch": get(tcfg, "model.arch"), "method": get(tcfg, "quant.method"),
                  "dataset": get(metrics, "meta.dataset") or get(tcfg, "data.dataset"),
                  "sparsity": get(tcfg, "quant.sparsity"), "structure": get(tcfg, "quant.structure"),
                  "epochs": len(metrics.get("history") or [])},
        "accuracy": {"float": final.get("test_acc"), "float_zero_bits": final.get("sparsity"),
                     "bit_exact": sim.get("test_accuracy", get(ver, "accuracy.sim_test_accuracy")),
                     "bit_exact_stage": "sim" if "test_accuracy" in sim else "export",
                     "bit_exact_samples": sim.get("test_samples", get(ver, "accuracy.test_samples"))},
        "chain": chain(run),
        "design": des,
        "layers": layers(run, des),
        "baseline": baseline,
        "stale": stale(run),
    }
