"""Accuracy cost of structured masks on Fashion-MNIST: N:M, row and block:B against the unstructured {alpha, beta}
closed form at the same zero-bit fraction and against the dense BNN, for the MLP and the CNV-style net of
``train_fashion.py`` (same architectures, same recipe, same denser first/last CNV layers).

Points of the MLP: the dense BNN; at 87.5 % zero bits the unstructured closed form, 1:8, 2:16, row and block:8
(consecutive and interleaved N:M, first/last or last layer row); at 93.75 % the unstructured closed form, 1:16 and
row; more in POINTS. The CNV (whose 9-input first conv no interleaved M divides) has the points of ARCH_POINTS:
the dense BNN, the unstructured closed form and 1:8 / 1:8i at 87.5 %, first/last layers row at 0.5. Each point is
an ordinary sbnn run directory under ``runs/bench-structure/`` (resumable: finished points are reused); ``--seeds
0 1`` (the default) trains every point once per seed and the table reports the mean. With ``--export`` every
point is exported and verified (integer PyTorch == QONNX == bit-exact simulator on 1,000 images) and its IR's
recorded mask structures are listed. Writes ``benchmarks/results/train_structure.{json,md}`` (``_mlp`` / ``_cnv`` with
``--only``); a ``--points`` subset or seeds other than :data:`TABLE_SEEDS` (0 and 1, the default) write
``_partial`` files instead, never the committed table.

    python benchmarks/train_structure.py --data-dir ../shared/data [--only mlp] [--epochs-cnv 8] [--export]
    python benchmarks/train_structure.py --data-dir ../shared/data --only cnv --seeds 1   # _partial files
    python benchmarks/train_structure.py --data-dir ../shared/data --export --collect-only
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: see sbnn/__init__.py
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, run_name, write_results
from train_fashion import ARCHS, SPARSE_EXTRA

from sbnn.export.config import ExportConfig
from sbnn.export.pipeline import export
from sbnn.ir import load as load_ir
from sbnn.runlock import RunLocked
from sbnn.runs import RunDir, read_json
from sbnn.training.config import TrainConfig
from sbnn.training.trainer import train

#: (point name, structure, zero-bit fraction, structure of the first and last layers or None = the same[,
#: structure of the last layer alone[, zero-bit fraction of the first and last layers]]); N:M points take their
#: fraction from N:M
POINTS = [
    ("bnn", None, None, None),
    ("none-0.875", "none", 0.875, None),
    ("1:8", "1:8", 0.875, None),
    ("1:8/row", "1:8", 0.875, "row"),
    ("2:16", "2:16", 0.875, None),
    ("2:16/row", "2:16", 0.875, "row"),
    ("row-0.875", "row", 0.875, None),
    ("block:8-0.875", "block:8", 0.875, None),
    ("block:8/row-0.875", "block:8", 0.875, "row"),
    ("none-0.9375", "none", 0.9375, None),
    ("1:16", "1:16", 0.9375, None),
    ("1:16/row", "1:16", 0.9375, "row"),
    ("row-0.9375", "row", 0.9375, None),
    # N:M everywhere but the 10-output score layer (row): the small layer that loses most to a structure
    ("1:8/last-row", "1:8", 0.875, None, "row"),
    ("1:16/last-row", "1:16", 0.9375, None, "row"),
    # interleaved N:M (groups K/M apart): the MLP's first layer may look at one region of the image
    ("1:8i", "1:8i", 0.875, None),
    ("1:16i", "1:16i", 0.9375, None),
    # the CNV's first conv has K = 9 (3x3x1): no M of 8 or 16 divides it, so its first and last layers are row
    ("1:8i/row", "1:8i", 0.875, "row"),
    # about 90 % zero bits: hidden layers 1:16i, first and last 2:16i (0.875)
    ("1:16i/2:16i", "1:16i", 0.9375, "2:16i"),
    # the same zero bits with 1:8i first and last layers: one 8:1 pick per group where 2:16i has two 16:1 picks
    ("1:16i/1:8i", "1:16i", 0.9375, "1:8i"),
    # the first layer's cheap picks (1:8i) and the score layer's freer ones (2:16i): the layer that loses most to a
    # structure is the small score layer, the one that costs most in hardware the first
    ("1:16i/1:8i/last-2:16i", "1:16i", 0.9375, "1:8i", "2:16i"),
    ("none-0.9375/0.875", "none", 0.9375, None, None, 0.875),  # its unstructured reference (0.8995 zero bits)
]
#: the points of an architecture that does not take them all: the CNV (an 8-epoch run is ~13 minutes here) is
#: the hardware table's network (hw_network_structure.py --arch cnv): the dense BNN, the unstructured closed form,
#: consecutive and interleaved 1:8 and consecutive 2:16 at 87.5 %; its first conv has K = 9 (3x3x1), which no
#: interleaved M divides, so its first and last layers are row-structured at 0.5 zero bits (SPARSE_EXTRA)
ARCH_POINTS = {"cnv": ("bnn", "none-0.875", "1:8/row", "1:8i/row", "2:16/row")}
#: the accuracy goal of issue 12: N:M within this many points of the unstructured closed form at the same
#: zero-bit fraction, and within DENSE_GAP of the dense BNN
UNSTRUCTURED_GAP, DENSE_GAP = 1.0, 1.5
#: the seeds the committed tables average over: a run over other seeds (or a --points subset) writes _partial
#: files, so a seed-1-only run cannot silently replace the two-seed table
TABLE_SEEDS = (0, 1)
#: zero-bit fractions closer than this are "the same" (block:8 on K = 256 reaches 0.8765 for a 0.875 target)
ZERO_BITS_MATCH = 0.002


def overrides(structure: str | None, fraction: float | None, first_last: str | None, last: str | None = None,
              first_last_fraction: float | None = None) -> dict:
    if structure is None:
        return {"quant.method": "bnn"}
    out = {"quant.method": "ab-closed", "quant.structure": structure}
    if ":" not in structure or structure.startswith("block"):
        out["quant.sparsity"] = fraction
    if first_last is not None:
        out["quant.first_last_structure"] = first_last
    if last is not None:
        out["quant.last_structure"] = last
    if first_last_fraction is not None:
        out["quant.first_last_sparsity"] = first_last_fraction
    return out


def run_dir(root: Path, arch: str, name: str, seed: int) -> RunDir:
    return RunDir(root / run_name(arch, name, seed))


def run_point(root: Path, arch: str, name: str, extra: dict, epochs: int, data_dir: str, seed: int,
              threads: int, collect_only: bool = False) -> dict | None:
    """Train (or reuse) one point; with ``collect_only`` only a finished run of the same config counts (None
    otherwise)."""
    values = {"data.dataset": "fashion-mnist", "data.data_dir": data_dir, "data.download": "false",
              "optim.epochs": epochs, "optim.lr": 1e-3, "optim.batch_size": 256, "optim.threads": threads,
              "optim.device": "cpu", "optim.seed": seed, **ARCHS[arch], **extra}
    if extra["quant.method"].startswith("ab-"):
        values.update(SPARSE_EXTRA[arch])
    cfg = TrainConfig.resolve(overrides=[f"{k}={v}" for k, v in values.items()])
    run = run_dir(root, arch, name, seed)
    ckpt = run.path / "train" / "checkpoint.pt"
    stale = ckpt.exists() and TrainConfig.load(run.path / "train" / "config.yaml") != cfg
    if collect_only:
        metrics = run.path / "train" / "metrics.json"
        if stale or not metrics.exists() or read_json(metrics).get("final") is None:
            return None
    final = train(cfg, run, resume=ckpt.exists() and not stale, force=stale,
                  log=lambda m: print(f"  [{arch} {name} s{seed}] {m}", flush=True))
    history = read_json(run.path / "train" / "metrics.json")["history"]
    return {"arch": arch, "point": name, "seed": seed, "method": cfg.quant.method,
            "structure": cfg.quant.structure if cfg.quant.method == "ab-closed" else None,
            "first_last_structure": cfg.quant.resolved_first_last_structure if cfg.quant.method == "ab-closed" else None,
            "last_structure": cfg.quant.resolved_last_structure if cfg.quant.method == "ab-closed" else None,
            "target_sparsity": cfg.quant.sparsity if cfg.quant.method == "ab-closed" else None,
            "test_acc": final["test_acc"], "sparsity": final["sparsity"], "layer_sparsity": final["layer_sparsity"],
            "epochs": epochs, "train_seconds": sum(h["seconds"] for h in history)}


def export_point(run: RunDir, tag: str) -> dict:
    rep = export(run, ExportConfig(), log=lambda m: print(f"  [{tag}] {m}", flush=True))
    v = rep["verification"]
    ir = load_ir(run.path / "export" / "ir")  # load() re-checks every recorded structure against the bits
    return {"verified": bool(v["passed"]), "verify_samples": v["qonnx_equals_sim"]["samples"],
            "qonnx_sim_mismatches": v["qonnx_equals_sim"]["mismatching_samples"],
            "sim_acc_1000": rep["accuracy"]["sim_test_accuracy"],
            "ir_structure": [m.structure for m in ir.mvus],
            "ir_detected": [rep.get("structure", {}).get(m.name, {}).get("detected") for m in ir.mvus]}


def summarize(rows: list[dict]) -> list[dict]:
    """One entry per (net, point): mean over seeds, with the comparisons of the accuracy goal."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["arch"], r["point"]), []).append(r)
    out = []
    for (arch, point), rs in groups.items():
        accs = [r["test_acc"] for r in rs]
        keys = ("arch", "point", "method", "structure", "first_last_structure", "target_sparsity", "epochs")
        out.append({**{k: rs[0][k] for k in keys}, "last_structure": rs[0].get("last_structure", rs[0]["first_last_structure"]),
                    "seeds": [r["seed"] for r in rs], "test_acc": statistics.mean(accs), "test_accs": accs,
                    "sparsity": statistics.mean(r["sparsity"] for r in rs),
                    "train_seconds": statistics.mean(r["train_seconds"] for r in rs),
                    **({k: rs[0][k] for k in ("verified", "ir_structure") if k in rs[0]}),
                    **({"sim_acc_1000": statistics.mean(r["sim_acc_1000"] for r in rs)}
                       if all("sim_acc_1000" in r for r in rs) else {})})
    by = {(s["arch"], s["point"]): s for s in out}
    for s in out:
        dense = by.get((s["arch"], "bnn"))
        s["vs_dense_pt"] = 100 * (s["test_acc"] - dense["test_acc"]) if dense else None
        # the unstructured closed form at the same achieved zero-bit fraction (a point with denser first/last
        # layers has another fraction than its target, and no reference unless one was trained there)
        ref = next((r for r in out if r["arch"] == s["arch"] and r["method"] == "ab-closed" and r["structure"] == "none"
                    and abs(r["sparsity"] - s["sparsity"]) < ZERO_BITS_MATCH), None) if s["target_sparsity"] is not None else None
        s["vs_unstructured_pt"] = 100 * (s["test_acc"] - ref["test_acc"]) if ref and ref is not s else None
        if s["structure"] and ":" in s["structure"] and not s["structure"].startswith("block"):
            # None: the reference point is not in this table (not met, not missed: not measured side by side)
            s["goal_unstructured"] = None if s["vs_unstructured_pt"] is None else s["vs_unstructured_pt"] >= -UNSTRUCTURED_GAP
            s["goal_dense"] = None if s["vs_dense_pt"] is None else s["vs_dense_pt"] >= -DENSE_GAP
    return out


def structure_note(s: dict) -> str:
    """' (first/last layer: row)', ' (last layer: row)' or '' for a summary row of a structured point."""
    first_last, last = s["first_last_structure"], s.get("last_structure") or s["first_last_structure"]
    if first_last != s["structure"]:
        return f" (first/last layer: {first_last})" if last == first_last else \
            f" (first layer: {first_last}, last layer: {last})"
    return f" (last layer: {last})" if last != s["structure"] else ""


def _pt(v: float | None) -> str:
    return "-" if v is None else f"{v:+.2f} pt"


def markdown(summary: list[dict]) -> str:
    exported = all("verified" in s for s in summary)
    lines = ["| net | structure | target zero bits | achieved zero bits | test acc. | vs unstructured (same zero bits) "
             f"| vs dense BNN | N:M goal: >= -{UNSTRUCTURED_GAP:g} pt / >= -{DENSE_GAP:g} pt | train time |"
             + (" exported + verified | IR structures | bit-exact sim acc. (first 1,000) |" if exported else ""),
             "|---|---|---:|---:|---:|---:|---:|---|---:|" + ("---|---|---:|" if exported else "")]
    for s in summary:
        structure = "dense BNN" if s["method"] == "bnn" else s["structure"]
        if s["method"] != "bnn":
            structure += structure_note(s)
        target = f"{s['target_sparsity']:.4f}" if s["target_sparsity"] is not None else "-"
        accs = ", ".join(f"{100 * a:.2f}" for a in s["test_accs"])
        acc = f"{100 * s['test_acc']:.2f} %" + (f" ({accs})" if len(s["test_accs"]) > 1 else "")
        goal = "-" if "goal_dense" not in s else " / ".join("no reference" if s[k] is None else "met" if s[k] else
                                                           "MISSED" for k in ("goal_unstructured", "goal_dense"))
        row = (f"| {s['arch']} | {structure} | {target} | {s['sparsity']:.4f} | {acc} | {_pt(s['vs_unstructured_pt'])} | "
               f"{_pt(s['vs_dense_pt'])} | {goal} | {s['train_seconds']:.0f} s ({s['epochs']} ep.) |")
        if exported:
            row += (f" {'yes' if s['verified'] else 'NO'} | {' '.join(s['ir_structure'])} | "
                    f"{100 * s['sim_acc_1000']:.1f} % |")
        lines.append(row)
    seeds = sorted({x for s in summary for x in s["seeds"]})
    lines.append("")
    lines.append(f"Mean test accuracy over seeds {seeds} (10,000 test images). Goal (issue 12): N:M within "
                 f"{UNSTRUCTURED_GAP} point of the unstructured closed form at the same zero-bit fraction and within "
                 f"{DENSE_GAP} points of the dense BNN. Train time is wall time on a shared 2-core machine (other "
                 "jobs running, 1 torch thread per training): it shows the load, not a cost of the structure."
                 + (" The last column is what the exported integer network (= the RTL) scores on the first 1,000 test "
                    "images (mean over seeds; those images are about a point harder than the whole set): a check "
                    "that the network trained is the network exported (a level ratio that snapped differently in "
                    "the two processes once cost 7 points there; the levels are float64 statistics since)."
                    if exported else ""))
    return "\n".join(lines)


def results_stem(only: str | None, points: set[str] | None, seeds: list[int]) -> str:
    """Where a run's table goes: ``train_structure[_<arch>]``, or ``..._partial`` for a subset of the points or
    of :data:`TABLE_SEEDS` (a committed table is only ever replaced by a run of all its points and seeds)."""
    partial = bool(points) or sorted(set(seeds)) != sorted(TABLE_SEEDS)
    return "train_structure" + (f"_{only}" if only else "") + ("_partial" if partial else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("SBNN_DATA_DIR", "../shared/data"))
    ap.add_argument("--root", default="runs/bench-structure")
    ap.add_argument("--only", choices=list(ARCHS))
    ap.add_argument("--points", help="comma-separated point names (default: all)")
    ap.add_argument("--seeds", type=int, nargs="+", default=list(TABLE_SEEDS),
                    help="seeds to train (default %(default)s, the committed tables'; others write _partial files)")
    ap.add_argument("--epochs-mlp", type=int, default=10)
    ap.add_argument("--epochs-cnv", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads per training")
    ap.add_argument("--export", action="store_true", help="also export + verify every point (QONNX, IR, sim)")
    ap.add_argument("--collect-only", action="store_true", help="train nothing: tabulate the finished runs of the "
                    "requested points and seeds (missing ones are listed and left out)")
    a = ap.parse_args()
    wanted = set(a.points.split(",")) if a.points else None
    rows, missing = [], []
    t0 = time.perf_counter()
    for arch in ARCHS:
        if a.only and arch != a.only:
            continue
        epochs = a.epochs_mlp if arch == "mlp" else a.epochs_cnv
        for name, structure, fraction, *layers in POINTS:
            if wanted and name not in wanted:
                continue
            if arch in ARCH_POINTS and name not in ARCH_POINTS[arch]:
                if wanted:
                    print(f"{arch:4s} {name:14s}: not a point of {arch} (train_structure.ARCH_POINTS)", flush=True)
                continue
            for seed in a.seeds:
                try:
                    row = run_point(Path(a.root), arch, name, overrides(structure, fraction, *layers), epochs,
                                    a.data_dir, seed, a.threads, a.collect_only)
                    if row is not None and a.export:
                        row.update(export_point(run_dir(Path(a.root), arch, name, seed), f"{arch} {name} s{seed}"))
                except RunLocked as e:  # another process trains this point (two of these scripts side by side)
                    row, why = None, str(e)
                else:
                    why = "not trained"
                if row is None:
                    print(f"{arch:4s} {name:14s} seed {seed}: {why} (left out)", flush=True)
                    missing.append(f"{arch} {name} seed {seed}")
                    continue
                rows.append(row)
                print(f"{arch:4s} {name:14s} seed {seed} acc {row['test_acc']:.4f} sparsity {row['sparsity']:.4f}",
                      flush=True)
    summary = summarize(rows)
    stem = results_stem(a.only, wanted, a.seeds)
    md = markdown(summary) + ("\n\nNot trained (left out): " + ", ".join(missing) + "." if missing else "")
    write_results(stem, {"machine": machine(), "seconds": time.perf_counter() - t0, "summary": summary, "rows": rows,
                         "missing": missing}, md)


if __name__ == "__main__":
    main()
