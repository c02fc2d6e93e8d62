"""The report's figures (matplotlib, PNG + SVG), drawn from report rows only.

One panel per architecture; the {alpha, beta} methods are lines over their sparsity levels, one line per
mask structure family (unstructured, row, N:M, block:B: a structured mask is a different hardware and
accuracy trade-off, so its points must not join the unstructured line), the dense BNN and SD-BNN single
markers (they have no sparsity knob). Resources use a log axis so the device's
capacity (a dashed line, as the synthesis reports record it) is visible next to designs a thousand times
smaller.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from sbnn.ir import structure as mask_structure

STYLE = {"bnn": ("black", "s"), "ab-closed": ("tab:blue", "o"), "ab-learned": ("tab:orange", "^"),
         "sd-bnn": ("tab:green", "D"), "ab-learned-tuned": ("tab:red", "v")}
LABEL = {"bnn": "dense BNN", "ab-closed": "{α,β} closed form", "ab-learned": "{α,β} learned (EC)",
         "sd-bnn": "SD-BNN (static ASD)", "ab-learned-tuned": "{α,β} learned, tuned"}

#: colour and marker of a structured mask family (any {alpha, beta} method); unstructured points keep
#: their method's style
FAMILY_STYLE = {"row": ("tab:purple", "P"), "N:M": ("tab:brown", "X"), "block": ("tab:cyan", "h")}


def family(structure: str | None) -> str:
    """The series a mask structure belongs to: '' (unstructured or no structure), 'row', 'N:M' (all N:M
    points on one line, each labelled with its N:M) or 'block:B'."""
    if not structure:
        return ""
    st = mask_structure.parse(structure)
    return {"none": "", "row": "row", "nm": "N:M"}.get(st.kind, str(st))


def series_style(method: str, fam: str) -> tuple[str, str, str]:
    """(colour, marker, legend label) of one series."""
    if not fam:
        return (*STYLE[method], LABEL[method])
    color, marker = FAMILY_STYLE["block" if fam.startswith("block") else fam]
    return color, marker, f"{LABEL[method]}, {fam}"


#: gid of the N:M point labels, which :func:`declutter` moves apart
NM_LABEL = "nm-label"
#: size of one N:M label, in points (fontsize 6: "2:16i" is about 16 points wide)
LABEL_W, LABEL_H = 18.0, 7.0


def declutter(fig) -> None:
    """Move N:M point labels down until none covers another: points of different N:M often share their zero-bit
    fraction and nearly their value (1:8 and 2:16i both at 0.875, a few LUTs apart), and labels drawn at
    the same offset from each would print over each other. Runs on the final axis limits."""
    if not any(t.get_gid() == NM_LABEL for ax in fig.axes for t in ax.texts):
        return
    fig.canvas.draw()  # the constrained layout sizes the axes at draw time
    to_pt = 72.0 / fig.dpi
    for ax in fig.axes:
        placed: list[tuple[float, float]] = []
        labels = [t for t in ax.texts if t.get_gid() == NM_LABEL]
        anchors = [ax.transData.transform(t.xy) * to_pt for t in labels]
        for t, (x, y) in sorted(zip(labels, anchors), key=lambda ta: (ta[1][0], -ta[1][1])):
            dx, dy = t.xyann
            while any(abs(x + dx - px) < LABEL_W and abs(y + dy - py) < LABEL_H for px, py in placed):
                dy -= LABEL_H
            t.xyann = (dx, dy)
            placed.append((x + dx, y + dy))


def _save(fig, out: Path, stem: str) -> list[Path]:
    declutter(fig)
    paths = [out / f"{stem}.png", out / f"{stem}.svg"]
    fig.savefig(paths[0], dpi=130, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    plt.close(fig)
    return paths


def _archs(rows: list[dict]) -> list[str]:
    return list(dict.fromkeys(r["arch"] for r in rows))


def series(rows: list[dict], arch: str, ykey: str | Callable[[dict], Any]):
    """(method, structure family, points) per series, points (zero bits, y, row) sorted by achieved
    sparsity, rows with missing values dropped; methods in ``STYLE`` order, unstructured first."""
    get = ykey if callable(ykey) else (lambda r: r.get(ykey))
    groups: dict[tuple[str, str], list] = {}
    for r in rows:
        if r["arch"] == arch and r["method"] in STYLE and r["weight_sparsity"] is not None and get(r) is not None:
            groups.setdefault((r["method"], family(r.get("structure"))), []).append((r["weight_sparsity"], get(r), r))
    order = list(STYLE)
    return [(m, f, sorted(pts, key=lambda p: p[:2]))
            for (m, f), pts in sorted(groups.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][1]))]


def _panel(ax, rows: list[dict], arch: str, ykey, linestyle: str = "-", label_suffix: str = "",
           hollow: bool = False, marker: str | None = None) -> None:
    """One line per method and structure family; ``hollow`` / ``marker`` tell a variant (at target, FINN)
    from the plain design. N:M points are labelled with their N:M (one line holds 1:8, 2:16, ...)."""
    for method, fam, pts in series(rows, arch, ykey):
        color, default_marker, label = series_style(method, fam)
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        ax.plot(xs, ys, linestyle=linestyle if len(xs) > 1 else "none", marker=marker or default_marker,
                color=color, markerfacecolor="none" if hollow else color, markersize=7 if marker else 6,
                label=label + label_suffix)
        if fam == "N:M" and not marker:  # solid and at-target points alike: the N:M is what tells them apart
            for x, y, r in pts:
                ax.annotate(r["structure"], (x, y), fontsize=6, xytext=(3, -8), textcoords="offset points",
                            gid=NM_LABEL)


def _grid(n_rows: int, archs: list[str], height: float = 3.2):
    fig, axes = plt.subplots(n_rows, len(archs), figsize=(5.2 * len(archs), height * n_rows), squeeze=False,
                             layout="constrained")
    return fig, axes


def accuracy(rows: list[dict], out: Path) -> list[Path]:
    archs = _archs(rows)
    fig, axes = _grid(1, archs)
    for ax, arch in zip(axes[0], archs):
        _panel(ax, rows, arch, lambda r: None if r["test_acc"] is None else 100 * r["test_acc"])
        ax.set(title=arch, xlabel="fraction of zero weight bits", ylabel="test accuracy (bit-exact), %")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    return _save(fig, out, "accuracy_vs_sparsity")


def resources(rows: list[dict], out: Path, device: dict | None = None) -> list[Path]:
    """LUT, FF and BRAM36 against zero bits, with the capacity of ``device`` (as ``synth/report.json`` records
    it) when known."""
    archs = _archs(rows)
    fig, axes = _grid(3, archs)
    for j, arch in enumerate(archs):
        for i, key in enumerate(("LUT", "FF", "BRAM36")):
            ax = axes[i][j]
            _panel(ax, rows, arch, key)
            _panel(ax, rows, arch, f"eq_{key}", linestyle="--", label_suffix=" @ target frames/s", hollow=True)
            if key == "LUT":
                _panel(ax, rows, arch, "finn_LUT", linestyle=":", label_suffix=" FINN estimate @ target", marker="*")
            if device and key in device:
                ax.axhline(device[key], color="red", linestyle="--", linewidth=1)
                ax.text(0.01, device[key], f" {device.get('name', device.get('part'))}: {device[key]:,}", color="red",
                        fontsize=7, va="bottom", transform=ax.get_yaxis_transform())
            ax.set_yscale("symlog" if key == "BRAM36" else "log")
            ax.set(title=f"{arch}: {key}", xlabel="fraction of zero weight bits", ylabel=f"{key} (Yosys)")
            ax.grid(alpha=0.3, which="both")
    axes[0][0].legend(fontsize=7)
    return _save(fig, out, "resources_vs_sparsity")


def throughput(rows: list[dict], out: Path) -> list[Path]:
    archs = _archs(rows)
    fig, axes = _grid(2, archs)
    for j, arch in enumerate(archs):
        for i, (key, label) in enumerate((("cycles_per_frame", "cycles / frame"), ("fps", "frames / s"))):
            ax = axes[i][j]
            _panel(ax, rows, arch, key)
            if key == "fps":
                targets = {r["eq_target_fps"] for r in rows if r["arch"] == arch and r["eq_target_fps"]}
                for t in targets:
                    ax.axhline(t, color="gray", linestyle="--", linewidth=1)
                    ax.text(0.01, t, f" common target {t:,.0f}", color="gray", fontsize=7, va="bottom",
                            transform=ax.get_yaxis_transform())
            ax.set_yscale("log")
            ax.set(title=f"{arch}: {label} (IR folding)", xlabel="fraction of zero weight bits", ylabel=label)
            ax.grid(alpha=0.3, which="both")
    axes[0][0].legend(fontsize=8)
    return _save(fig, out, "throughput_vs_sparsity")


def summary(rows: list[dict], out: Path) -> list[Path]:
    """The main figure: accuracy, LUTs at the common target frames/s and frames/s at IR folding, per arch."""
    archs = _archs(rows)
    fig, axes = plt.subplots(len(archs), 3, figsize=(15, 3.4 * len(archs)), squeeze=False, layout="constrained")
    for i, arch in enumerate(archs):
        _panel(axes[i][0], rows, arch, lambda r: None if r["test_acc"] is None else 100 * r["test_acc"])
        axes[i][0].set(title=f"{arch}: accuracy", ylabel="test accuracy (bit-exact), %")
        _panel(axes[i][1], rows, arch, "eq_LUT", linestyle="--", hollow=True)
        _panel(axes[i][1], rows, arch, "finn_LUT", marker="*", label_suffix=" FINN estimate")
        target = next((r["eq_target_fps"] for r in rows if r["arch"] == arch and r["eq_target_fps"]), None)
        axes[i][1].set(title=f"{arch}: LUTs at {target or 0:,.0f} frames/s", ylabel="LUT", yscale="log")
        _panel(axes[i][2], rows, arch, "fps")
        axes[i][2].set(title=f"{arch}: frames/s at the same folding (IR)", ylabel="frames / s", yscale="log")
        for ax in axes[i]:
            ax.set_xlabel("fraction of zero weight bits")
            ax.grid(alpha=0.3, which="both")
    axes[0][1].legend(fontsize=7)
    return _save(fig, out, "summary")


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(cost, accuracy) points not dominated by a cheaper-or-equal, at-least-as-accurate one."""
    front: list[tuple[float, float]] = []
    for cost, acc in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or acc > front[-1][1]:
            front.append((cost, acc))
    return front


def pareto(rows: list[dict], out: Path, key: str = "eq_LUT") -> list[Path]:
    archs = _archs(rows)
    fig, axes = _grid(1, archs, height=3.6)
    for ax, arch in zip(axes[0], archs):
        mine = [r for r in rows if r["arch"] == arch and r[key] is not None and r["test_acc"] is not None]
        for r in mine:
            color, marker, _ = series_style(r["method"], family(r.get("structure")))
            ax.scatter(r[key], 100 * r["test_acc"], color=color, marker=marker, zorder=3)
            ax.annotate(r["name"].removeprefix(f"{arch}-"), (r[key], 100 * r["test_acc"]), fontsize=6,
                        xytext=(3, 3), textcoords="offset points")
        front = pareto_front([(r[key], 100 * r["test_acc"]) for r in mine])
        if front:
            ax.step([p[0] for p in front], [p[1] for p in front], where="post", color="gray", linewidth=1,
                    label="Pareto front")
        for method, fam in dict.fromkeys((r["method"], family(r.get("structure"))) for r in mine):
            color, marker, label = series_style(method, fam)
            ax.scatter([], [], color=color, marker=marker, label=label)
        ax.set_xscale("log")
        what = "LUTs at the common target frames/s" if key.startswith("eq_") else "LUTs (IR folding)"
        ax.set(title=arch, xlabel=what, ylabel="test accuracy (bit-exact), %")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    return _save(fig, out, "pareto_accuracy_lut")


def layers(per_point: dict[str, list[dict]], out: Path, stem: str, title: str) -> list[Path]:
    """Stacked per-layer LUT and FF bars, one bar per run."""
    names = list(per_point)
    layer_names = list(dict.fromkeys(r["layer"] for rows in per_point.values() for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(max(6.0, 0.55 * len(names) + 3) * 2, 3.8), squeeze=False,
                             layout="constrained")
    cmap = plt.get_cmap("tab20")
    for ax, key in zip(axes[0], ("LUT", "FF")):
        bottom = [0.0] * len(names)
        for k, layer in enumerate(layer_names):
            vals = [next((r[key] for r in per_point[n] if r["layer"] == layer), 0) for n in names]
            ax.bar(range(len(names)), vals, bottom=bottom, color=cmap(k % 20), label=layer)
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
        ax.set(title=f"{title}: {key} per layer", xlabel="sweep point", ylabel=f"{key} (Yosys), stacked by layer")
        ax.grid(alpha=0.3, axis="y")
    axes[0][1].legend(fontsize=7, bbox_to_anchor=(1.01, 1), loc="upper left")
    return _save(fig, out, stem)
