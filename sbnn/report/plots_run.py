"""The figures of one run's report (matplotlib, PNG + SVG), drawn from :func:`sbnn.report.details.read_run`.

* ``utilisation``: every resource as a share of the device's capacity, the run's design next to its dense
  baseline at the same frames/s when there is one;
* ``layer_clocks``: each pipeline stage's clocks per frame against the interval (the slowest stage sets it);
* ``layer_zero_bits``: each MVU's fraction of zero weight bits, labelled with its mask structure;
* ``layer_resources``: LUTs and flip-flops per layer, next to the dense baseline's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sbnn.report.plots import _save, plt

#: resources shown against the device, with the utilisation key of the synthesis report
RESOURCES = [("LUT", "LUT"), ("LUT-RAM + SRL", "LUTRAM"), ("FF", "FF"), ("BRAM36", "BRAM36"), ("DSP", "DSP")]
OURS, DENSE, BAD = "tab:blue", "tab:gray", "tab:red"


def used(des: dict, key: str) -> float:
    t = des.get("total") or {}
    if key == "LUTRAM":
        return t.get("LUTRAM", 0) + t.get("SRL", 0)
    if key == "BRAM36":
        return des.get("bram36") or 0
    return t.get(key, 0)


def utilisation(des: dict, baseline: dict | None, out: Path) -> list[Path]:
    dev = des.get("device") or {}
    designs = [("this design", des, OURS)] + ([("dense baseline, same frames/s", baseline, DENSE)]
                                                if baseline and baseline.get("utilization") else [])
    fig, ax = plt.subplots(figsize=(7.5, 0.3 * len(RESOURCES) * len(designs) + 1.4), layout="constrained")
    h = 0.8 / len(designs)
    for j, (label, d, color) in enumerate(designs):
        ys = [i + (j - (len(designs) - 1) / 2) * h for i in range(len(RESOURCES))]
        vals = [d["utilization"].get(key, 0.0) for _, key in RESOURCES]
        ax.barh(ys, vals, height=h * 0.9, color=color, label=label)
        for y, v, (_, key) in zip(ys, vals, RESOURCES):
            cap = dev.get(key)
            n = used(d, key)
            text = f" {n:,.0f}" if float(n).is_integer() else f" {n:,.1f}"
            ax.text(v, y, text + (f" / {cap:,}" if cap else "") + f" ({v:.1f} %)", va="center", fontsize=7)
    ax.set_yticks(range(len(RESOURCES)), [name for name, _ in RESOURCES])
    ax.invert_yaxis()
    top = max([d["utilization"].get(k, 0.0) for _, d, _ in designs for _, k in RESOURCES] + [1.0])
    ax.set_xlim(0, min(100.0, top * 1.6) if top < 60 else 105)
    ax.set(xlabel=f"share of the {dev.get('name', dev.get('part', 'device'))}'s capacity, %", ylabel="resource",
           title="Resources against the device")
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, out, "utilisation")


def layer_clocks(des: dict, out: Path) -> list[Path]:
    stages = [s for s in des.get("stages", [])]
    names = [s["stage"] for s in stages]
    vals = [s["cycles_per_frame"] for s in stages]
    interval = des.get("interval_cycles") or max(vals, default=1)
    colors = [BAD if s["stage"] == des.get("bottleneck_stage") else OURS for s in stages]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(names) + 2), 3.8), layout="constrained")
    ax.bar(range(len(names)), vals, color=colors)
    ax.axhline(interval, color=BAD, linestyle="--", linewidth=1)
    ax.text(0.01, interval, f" interval {interval:,} cycles", color=BAD, fontsize=7, va="bottom",
            transform=ax.get_yaxis_transform())
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
    ax.set(xlabel="pipeline stage (red: the bottleneck)", ylabel="clocks per frame",
           title="Clocks per frame of each stage against the interval")
    ax.set_yscale("log")
    ax.grid(alpha=0.3, axis="y", which="both")
    return _save(fig, out, "layer_clocks")


def layer_zero_bits(layers: list[dict[str, Any]], out: Path) -> list[Path]:
    mvus = [r for r in layers if r.get("zero_bits") is not None]
    fig, ax = plt.subplots(figsize=(max(5.0, 0.6 * len(mvus) + 2), 3.4), layout="constrained")
    xs = range(len(mvus))
    vals = [100 * r["zero_bits"] for r in mvus]
    ax.bar(xs, vals, color=OURS)
    for x, v, r in zip(xs, vals, mvus):
        ax.text(x, v, f"{v:.1f} %\n{r.get('structure') or ''}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(list(xs), [r["layer"] for r in mvus], fontsize=8)
    ax.set_ylim(0, 118)
    ax.set(xlabel="MVU layer (label: mask structure)", ylabel="zero weight bits, %",
           title="Zero weight bits per layer (skipped by the sparse datapath)")
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, out, "layer_zero_bits")


def layer_resources(des: dict, baseline: dict | None, out: Path) -> list[Path]:
    names = [r["layer"] for r in des.get("synth_layers", [])]
    base = {r["layer"]: r for r in (baseline or {}).get("synth_layers", [])}
    fig, axes = plt.subplots(1, 2, figsize=(max(9.0, 0.9 * len(names) + 4), 3.8), layout="constrained")
    w = 0.4 if base else 0.8
    for ax, key in zip(axes, ("LUT", "FF")):
        ours = [r[key] for r in des["synth_layers"]]
        ax.bar([i - (w / 2 if base else 0) for i in range(len(names))], ours, width=w, color=OURS, label="this design")
        if base:
            ax.bar([i + w / 2 for i in range(len(names))], [base.get(n, {}).get(key, 0) for n in names], width=w,
                   color=DENSE, label="dense baseline, same frames/s")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
        ax.set(xlabel="layer (its stages and output FIFO)", ylabel=f"{key} (Yosys)", title=f"{key} per layer")
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend(fontsize=7)
    return _save(fig, out, "layer_resources")
