"""Accuracy of every training method on Fashion-MNIST: dense BNN, {alpha, beta} closed form and learned
(EC) at 0.5/0.75/0.9/0.95 zero bits, and SD-BNN (static ASD), for an MLP and a CNV-style net.

Each point is an ordinary sbnn run directory under ``runs/bench-fashion/`` (resumable: finished points
are reused), trained with the short CPU recipe of ../shared/accuracy_ref.md (Adam 1e-3, cosine, batch
256, latent clamp 1). Writes ``benchmarks/results/train_fashion.{json,md}`` with test accuracy, the
achieved weight-bit sparsity and wall time. With ``--export`` every point is also exported (QONNX + IR) and
verified on 1,000 test images (integer PyTorch == QONNX == bit-exact simulator, float argmax == simulator
on non-ties), and the table gains the verification columns.

    python benchmarks/train_fashion.py --data-dir ../shared/data [--only mlp] [--epochs-mlp 10 --epochs-cnv 4] [--export]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch: see sbnn/__init__.py
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, write_results

from sbnn.export.config import ExportConfig
from sbnn.export.pipeline import export
from sbnn.runs import CHECKPOINT, CONFIG, METRICS, RunDir, read_json
from sbnn.training.config import TrainConfig
from sbnn.training.trainer import train

ARCHS = {
    # SFC-style MLP with a binarized input, as FINN's SFC
    "mlp": {"model.arch": "sfc", "data.input": "binary"},
    # CNV-style net of accuracy_ref.md at half width: conv 32,32,pool,64,64,pool, FC 128, valid padding,
    # 8-bit (multibit) pixel input as FINN's CNV
    "cnv": {"model.arch": "cnv", "model.conv_channels": "[32,32,64,64]", "model.pool_after": "[1,3]",
            "model.fc": "[128]", "model.padding": "valid", "data.input": "multibit"},
}
#: per-architecture settings of the sparse methods: the CNV's first conv has only 9 weights per filter
#: (3x3x1), so at 90 % zero bits most filters would keep one weight or none; it stays at 50 % (0.3 % of
#: the network's weights), as SD-BNN and IR-Net keep first layers dense
SPARSE_EXTRA = {"mlp": {}, "cnv": {"quant.first_last_sparsity": 0.5}}
SPARSITIES = (0.5, 0.75, 0.9, 0.95)


def points() -> list[tuple[str, dict]]:
    out = [("bnn", {"quant.method": "bnn"})]
    for s in SPARSITIES:
        out.append((f"ab-closed-{s}", {"quant.method": "ab-closed", "quant.sparsity": s}))
    for s in SPARSITIES:
        out.append((f"ab-learned-{s}", {"quant.method": "ab-learned", "quant.sparsity": s}))
    out.append(("sd-bnn", {"quant.method": "sd-bnn", "quant.asd": "static"}))
    return out


def run_point(root: Path, arch: str, name: str, overrides: dict, epochs: int, data_dir: str) -> dict:
    values = {"data.dataset": "fashion-mnist", "data.data_dir": data_dir, "data.download": "false",
              "optim.epochs": epochs, "optim.lr": 1e-3, "optim.batch_size": 256, "optim.threads": 2,
              **ARCHS[arch], **overrides}
    if str(overrides.get("quant.method", "")).startswith("ab-"):
        values.update(SPARSE_EXTRA[arch])
    cfg = TrainConfig.resolve(overrides=[f"{k}={v}" for k, v in values.items()])
    run = RunDir(root / f"{arch}-{name}")
    ckpt = run.path / "train" / CHECKPOINT
    stale = ckpt.exists() and TrainConfig.load(run.path / "train" / CONFIG) != cfg
    t0 = time.perf_counter()
    final = train(cfg, run, resume=ckpt.exists() and not stale, force=stale,
                  log=lambda m: print(f"  [{arch} {name}] {m}", flush=True))
    history = read_json(run.path / "train" / METRICS)["history"]
    return {"arch": arch, "point": name, "method": cfg.quant.method,
            "target_sparsity": cfg.quant.sparsity if cfg.quant.method.startswith("ab-") else None,
            "test_acc": final["test_acc"], "sparsity": final["sparsity"], "epochs": epochs,
            "train_seconds": sum(h["seconds"] for h in history), "wall_seconds_this_call": time.perf_counter() - t0}


def export_point(root: Path, arch: str, name: str) -> dict:
    """Export + verify one trained point (skipped when its export is up to date)."""
    rep = export(RunDir(root / f"{arch}-{name}"), ExportConfig(), log=lambda m: print(f"  [{arch} {name}] {m}", flush=True))
    v = rep["verification"]
    fm = v["float_model_vs_sim"]
    return {"verified": bool(v["passed"]), "verify_samples": v["qonnx_equals_sim"]["samples"],
            "qonnx_sim_mismatches": v["qonnx_equals_sim"]["mismatching_samples"],
            "torch_qonnx_mismatches": v["torch_int_equals_qonnx"]["mismatching_samples"],
            "ties": fm["ties"], "disagree_non_tie": fm["disagree_non_tie"],
            "sim_acc_1000": rep["accuracy"]["sim_test_accuracy"]}


def markdown(rows: list[dict]) -> str:
    exported = all("verified" in r for r in rows)
    extra_h = (" exported + verified | sim acc. (1,000) | ties | float/sim disagree (non-tie) |" if exported else "")
    lines = ["| net | method | target zero bits | achieved zero bits | test acc. | vs dense BNN | train time |" + extra_h,
             "|---|---|---:|---:|---:|---:|---:|" + ("---|---:|---:|---:|" if exported else "")]
    dense = {r["arch"]: r["test_acc"] for r in rows if r["point"] == "bnn"}
    for r in rows:
        delta = (r["test_acc"] - dense[r["arch"]]) * 100 if r["arch"] in dense else float("nan")
        target = f"{r['target_sparsity']:.2f}" if r["target_sparsity"] is not None else "-"
        lines.append(f"| {r['arch']} | {r['method']} | {target} | {r['sparsity']:.3f} | {100 * r['test_acc']:.2f} % | "
                     f"{delta:+.2f} pt | {r['train_seconds']:.0f} s ({r['epochs']} ep.) |"
                     + (f" {'yes' if r['verified'] else 'NO'} ({r['qonnx_sim_mismatches']} mismatches) |"
                        f" {100 * r['sim_acc_1000']:.1f} % | {r['ties']} | {r['disagree_non_tie']} |" if exported else ""))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.environ.get("SBNN_DATA_DIR", "../shared/data"))
    ap.add_argument("--root", default="runs/bench-fashion")
    ap.add_argument("--only", choices=list(ARCHS))
    ap.add_argument("--epochs-mlp", type=int, default=10)
    ap.add_argument("--epochs-cnv", type=int, default=4)
    ap.add_argument("--export", action="store_true", help="also export + verify every point (QONNX, IR, sim)")
    a = ap.parse_args()
    rows = []
    for arch in ARCHS:
        if a.only and arch != a.only:
            continue
        epochs = a.epochs_mlp if arch == "mlp" else a.epochs_cnv
        for name, overrides in points():
            rows.append(run_point(Path(a.root), arch, name, overrides, epochs, a.data_dir))
            if a.export:
                rows[-1].update(export_point(Path(a.root), arch, name))
            print(f"{arch:4s} {name:16s} acc {rows[-1]['test_acc']:.4f} sparsity {rows[-1]['sparsity']:.3f}", flush=True)
    write_results("train_fashion" + (f"_{a.only}" if a.only else ""), {"machine": machine(), "rows": rows},
                  markdown(rows))


if __name__ == "__main__":
    main()
