"""Why the learned {alpha, beta} domain loses accuracy at high sparsity, and what each option changes.

An ablation on Fashion-MNIST at 90 % zero bits (seed 0) with the networks and recipe of
benchmarks/train_fashion.py (SFC MLP 10 epochs, half-width CNV 8 epochs). The variants that are benchmark
points (dense BNN, closed form, ab-learned, ab-learned-tuned) are the benchmark's own run directories; the
others are trained beside them as ``runs/bench-fashion/<arch>-ablate-<variant>`` (resumable, finished runs
are reused). Every ``train/metrics.json`` holds the per-epoch diagnostics (per-layer zero bits, bits
flipped, levels, EC penalty share and gradients, Adam's gradient scale). Writes
``benchmarks/results/learned_ab.{json,md}`` and the figures ``docs/learned-ab-*.png`` that
docs/learned-ab.md discusses.

    python benchmarks/learned_ab.py --data-dir ../shared/data [--only mlp] [--plots-only]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: see sbnn/__init__.py
sys.path.insert(0, str(Path(__file__).resolve().parent))
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from common import RESULTS, machine, write_results
from train_fashion import finished, point_config, run_point

from sbnn.runs import read_json

#: the figures go to docs/ (committed, docs/learned-ab.md shows them), or beside the results of a trial run
#: ($SBNN_BENCH_RESULTS, run_all.py --quick), which must not overwrite them
DOCS = RESULTS if os.environ.get("SBNN_BENCH_RESULTS") else Path(__file__).resolve().parents[1] / "docs"
EPOCHS = {"mlp": 10, "cnv": 8}
LEARNED = {"quant.method": "ab-learned", "quant.sparsity": 0.9}
QUANTILE = {**LEARNED, "quant.learned_init": "quantile", "quant.ec_gamma": 0.02}
CLOSED_START = {**QUANTILE, "quant.level_init": "closed"}
#: (name, what it shows, overrides); the order is the table's
VARIANTS = [
    ("bnn", "dense BNN (reference)", {"quant.method": "bnn"}),
    ("closed", "closed form (reference)", {"quant.method": "ab-closed", "quant.sparsity": 0.9}),
    ("official", "faithful: official init and levels, official gamma (0.04 at EC 0.1)", LEARNED),
    ("official-g0.5", "official start, gamma 0.5 (sbnn's former default)", {**LEARNED, "quant.ec_gamma": 0.5}),
    ("official-g0.5-ramp3", "official start, gamma 0.5, EC target ramped over 3 epochs",
     {**LEARNED, "quant.ec_gamma": 0.5, "quant.ec_ramp_epochs": 3}),
    ("quantile", "quantile start (at the target), symmetric levels, gamma 0.02", QUANTILE),
    ("quantile-closed", "quantile start + closed-form level start, gamma 0.02", CLOSED_START),
    ("quantile-closed-g0", "as above, no penalty (gamma 0)", {**CLOSED_START, "quant.ec_gamma": 0.0}),
    ("quantile-closed-g0.2", "as above, gamma 0.2", {**CLOSED_START, "quant.ec_gamma": 0.2}),
    ("quantile-closed-layer", "as above (gamma 0.02), per-layer EC", {**CLOSED_START, "quant.ec_scope": "layer"}),
    ("quantile-closed-proj-layer", "as above (global EC), last epoch projected on per-layer target counts",
     {**CLOSED_START, "quant.project_epochs": 1}),  # ab-learned projects on the targets by default
    ("tuned", "ab-learned-tuned: as above, projected on the learned per-layer counts",
     {"quant.method": "ab-learned-tuned", "quant.sparsity": 0.9}),
    ("tuned-levellr10", "ab-learned-tuned with tau/phi at 10x the learning rate",
     {"quant.method": "ab-learned-tuned", "quant.sparsity": 0.9, "quant.level_lr": 10}),
    ("official-g0.5-2ep", "official start, gamma 0.5, 2 epochs only (diagnostic: where the collapse starts)",
     {**LEARNED, "quant.ec_gamma": 0.5}),
]
#: variants trained for fewer epochs than the net's budget (diagnostics, not comparable accuracies)
VARIANT_EPOCHS = {"official-g0.5-2ep": 2}
#: variants that are benchmark points: their run directory names
BENCH_NAMES = {"bnn": "bnn", "closed": "ab-closed-0.9", "official": "ab-learned-0.9", "tuned": "ab-learned-tuned-0.9"}
#: the CNV (8 epochs of ~5 min each here) runs the variants that explain its collapse and its repair only
CNV_VARIANTS = ("bnn", "closed", "official", "official-g0.5", "quantile", "quantile-closed", "tuned",
                "official-g0.5-2ep")
#: variants trained for the CNV only
CNV_ONLY = ("official-g0.5-2ep",)
#: the variants each figure compares
FIG_VARIANTS = {"mlp": ["official", "official-g0.5", "quantile", "tuned"],
                "cnv": ["official", "official-g0.5-2ep", "tuned"]}
COLORS = ("tab:orange", "tab:red", "tab:purple", "tab:green")


def run_dir_name(name: str) -> str:
    return BENCH_NAMES.get(name, f"ablate-{name}")


def history(root: Path, arch: str, name: str) -> list[dict]:
    return read_json(root / f"{arch}-{run_dir_name(name)}" / "train" / "metrics.json")["history"]


def _short(layer: str) -> str:
    return layer.replace(".layer", "").replace("convs.", "conv").replace("dense.", "fc")


def plot_layers(root: Path, archs: list[str], key, ylabel: str, stem: str, log: bool = False, key2=None) -> Path:
    """One panel per (arch, variant): ``key(record)`` per layer over the epochs (``key2``: a second quantity,
    dashed, in the same colour)."""
    n = max(len(FIG_VARIANTS[a]) for a in archs)
    fig, axes = plt.subplots(len(archs), n, figsize=(3.4 * n, 2.8 * len(archs)),
                             squeeze=False, sharey="row")
    for i, arch in enumerate(archs):
        for ax in axes[i][len(FIG_VARIANTS[arch]):]:
            ax.set_axis_off()
        for j, name in enumerate(FIG_VARIANTS[arch]):
            ax = axes[i][j]
            try:
                hist = history(root, arch, name)
            except Exception:  # noqa: BLE001 - a variant not trained yet leaves its panel empty
                ax.set_title(f"{arch} {name}: not trained", fontsize=8)
                continue
            layers = list(hist[0]["layers"])
            epochs = [h["epoch"] for h in hist]
            for layer in layers:
                line, = ax.plot(epochs, [key(h, layer) for h in hist], marker=".", label=_short(layer))
                if key2 is not None:
                    ax.plot(epochs, [key2(h, layer) for h in hist], ls="--", color=line.get_color())
            ax.set_title(f"{arch} · {name}", fontsize=9)
            ax.set_xlabel("epoch", fontsize=8)
            if log:
                ax.set_yscale("log")
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        axes[i][0].set_ylabel(ylabel, fontsize=8)
        axes[i][len(FIG_VARIANTS[arch]) - 1].legend(fontsize=6, loc="best")
    fig.tight_layout()
    out = DOCS / f"{stem}.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_ec(root: Path, archs: list[str]) -> Path:
    """Top: the EC penalty's share of the objective per epoch. Bottom: its per-weight gradient (mean and max
    per epoch) against the loss's own gradient on the layer where the loss gradient is smallest."""
    fig, axes = plt.subplots(2, len(archs), figsize=(5.2 * len(archs), 6.0), squeeze=False)
    for i, arch in enumerate(archs):
        ax = axes[0][i]
        for name, color in zip(FIG_VARIANTS[arch], COLORS):
            try:
                hist = history(root, arch, name)
            except Exception:  # noqa: BLE001
                continue
            ax.plot([h["epoch"] for h in hist], [100 * ((h.get("ec") or {}).get("share") or 0.0) for h in hist],
                    color=color, marker="o", label=name)
        ax.set_title(f"{arch}: EC penalty share of the objective (epoch mean)", fontsize=9)
        ax.set_ylabel("%", fontsize=8)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
        ax = axes[1][i]
        for name, color in zip(FIG_VARIANTS[arch], COLORS):
            try:
                hist = history(root, arch, name)
            except Exception:  # noqa: BLE001
                continue
            ec = [h.get("ec") or {} for h in hist]
            ep = [h["epoch"] for h in hist]
            ax.plot(ep, [max(e.get("grad_per_weight_mean", 0), 1e-12) for e in ec], color=color, marker="o",
                    label=f"{name}: EC grad / weight (mean)")
            ax.plot(ep, [max(e.get("grad_per_weight_max", 0), 1e-12) for e in ec], color=color, ls=":",
                    label=f"{name}: (max)")
            first = {k: v["ce_grad"] for k, v in hist[0]["layers"].items() if "ce_grad" in v}
            if first:  # the layer whose weights get the smallest loss gradient: where the penalty wins first
                low = min(first, key=first.get)
                ax.plot(ep, [h["layers"][low].get("ce_grad", float("nan")) for h in hist], color=color, ls="--",
                        label=f"{name}: loss grad |g| ({_short(low)})")
        ax.set_yscale("log")
        ax.set_ylim(1e-9, 1e-1)
        ax.set_title(f"{arch}: EC penalty vs loss gradient per latent weight", fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=5.5, ncol=2)
    fig.tight_layout()
    out = DOCS / "learned-ab-ec.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def plot_accuracy(root: Path, archs: list[str]) -> Path:
    fig, axes = plt.subplots(1, len(archs), figsize=(5.2 * len(archs), 3.2), squeeze=False)
    for i, arch in enumerate(archs):
        ax = axes[0][i]
        for name, _, _ in VARIANTS:
            try:
                hist = history(root, arch, name)
            except Exception:  # noqa: BLE001
                continue
            ls = "-" if name in FIG_VARIANTS[arch] or name in ("bnn", "closed") else ":"
            ax.plot([h["epoch"] for h in hist], [100 * h["test_acc"] for h in hist], ls=ls, marker=".", label=name)
        ax.set_title(f"{arch}: test accuracy per epoch (90 % zero bits)", fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.set_ylabel("%", fontsize=8)
        ax.set_ylim(bottom=max(0, ax.get_ylim()[0]))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=5.5, ncol=2)
    fig.tight_layout()
    out = DOCS / "learned-ab-accuracy.png"
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def figures(root: Path, archs: list[str]) -> list[Path]:
    return [
        plot_layers(root, archs, lambda h, k: h["layer_sparsity"][k], "zero bits per layer", "learned-ab-sparsity"),
        plot_layers(root, archs, lambda h, k: h["layers"][k]["ratio"], "alpha / (beta - alpha)", "learned-ab-levels"),
        plot_layers(root, archs, lambda h, k: h["layers"][k].get("tau", float("nan")), "tau (solid), phi (dashed)",
                    "learned-ab-tauphi", key2=lambda h, k: h["layers"][k].get("phi", float("nan"))),
        plot_layers(root, archs, lambda h, k: max(h["layers"][k]["flipped"], 1e-5), "bits flipped in the epoch",
                    "learned-ab-flips", log=True),
        plot_layers(root, archs, lambda h, k: h["layers"][k].get("adam_rms", float("nan")),
                    "Adam RMS of the latent gradient", "learned-ab-adam", log=True),
        plot_ec(root, archs),
        plot_accuracy(root, archs),
    ]


def markdown(rows: list[dict]) -> str:
    dense = {r["arch"]: r["test_acc"] for r in rows if r["variant"] == "bnn"}
    lines = ["| net | variant | what | epochs | test acc. | vs dense BNN | achieved zero bits | per layer (first … last) |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        delta = (r["test_acc"] - dense[r["arch"]]) * 100 if r["arch"] in dense else float("nan")
        per = " ".join(f"{v:.2f}" for v in r["layer_sparsity"].values())
        lines.append(f"| {r['arch']} | {r['variant']} | {r['what']} | {r['epochs']} | {100 * r['test_acc']:.2f} % | "
                     f"{delta:+.2f} pt | "
                     f"{r['sparsity']:.3f} | {per} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("SBNN_DATA_DIR", "../shared/data"))
    ap.add_argument("--root", default="runs/bench-fashion")
    ap.add_argument("--only", choices=list(EPOCHS))
    ap.add_argument("--plots-only", action="store_true", help="train nothing: table and figures from finished runs")
    ap.add_argument("--variants", help="comma-separated variants to train (others: finished runs only)")
    a = ap.parse_args()
    root = Path(a.root)
    archs = [a.only] if a.only else list(EPOCHS)
    rows = []
    for arch in archs:
        for name, what, overrides in VARIANTS:
            if (arch == "cnv" and name not in CNV_VARIANTS) or (arch == "mlp" and name in CNV_ONLY):
                continue
            epochs = VARIANT_EPOCHS.get(name, EPOCHS[arch])
            cfg = point_config(arch, overrides, epochs, a.data_dir)
            chosen = not a.plots_only and (not a.variants or name in a.variants.split(","))
            if not chosen and not finished(root, f"{arch}-{run_dir_name(name)}", cfg):
                print(f"{arch}-{name}: not trained, left out")
                continue
            r = run_point(root, arch, run_dir_name(name), overrides, epochs, a.data_dir)
            final = history(root, arch, name)[-1]
            rows.append({"arch": arch, "variant": name, "what": what, "test_acc": r["test_acc"],
                         "sparsity": r["sparsity"], "layer_sparsity": final["layer_sparsity"],
                         "train_seconds": r["train_seconds"], "epochs": epochs})
            print(f"{arch}-{name:28s} acc {r['test_acc']:.4f} sparsity {r['sparsity']:.3f}", flush=True)
    DOCS.mkdir(exist_ok=True)
    paths = figures(root, archs)
    write_results("learned_ab" + (f"_{a.only}" if a.only else ""), {"machine": machine(), "rows": rows},
                  markdown(rows))
    print("figures: " + ", ".join(str(p) for p in paths))


if __name__ == "__main__":
    main()
