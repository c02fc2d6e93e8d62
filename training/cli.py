"""``sbnn train``: train a sparse binary network into ``<run>/train/``."""

from __future__ import annotations

import argparse
import contextlib
from typing import get_args

from sbnn import fmt, runlock
from sbnn.cliutil import add_run_args, console, print_table, show_progress, step
from sbnn.runs import RunDir
from sbnn.training.config import Method

#: shortcut options -> config keys (each also settable with --set)
SHORTCUTS = {
    "dataset": "data.dataset",
    "data_dir": "data.data_dir",
    "input": "data.input",
    "arch": "model.arch",
    "method": "quant.method",
    "sparsity": "quant.sparsity",
    "structure": "quant.structure",
    "epochs": "optim.epochs",
    "seed": "optim.seed",
}


def add_parser(sub, name: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text, description=help_text + ". Writes <run>/train/{config.yaml,"
                       "checkpoint.pt,metrics.json}.")
    add_run_args(p)
    p.add_argument("--dataset", choices=["digits", "mnist", "fashion-mnist", "cifar10"])
    p.add_argument("--data-dir", metavar="DIR", help="data folder (default: $SBNN_DATA_DIR or ~/.cache/sbnn/data)")
    p.add_argument("--input", choices=["binary", "multibit"], help="first-layer input: binarized or integer pixels")
    p.add_argument("--arch", choices=["tfc", "sfc", "lfc", "mlp", "cnv", "vgg-small", "resnet20", "resnet18"])
    p.add_argument("--method", choices=list(get_args(Method)),
                   help="ab-learned: the official code's learned domain; ab-learned-tuned: with sbnn's options")
    p.add_argument("--sparsity", type=float, help="fraction of zero weight bits, in [0, 1)")
    p.add_argument("--structure", metavar="S", help="where the zero bits may lie (ab-closed): none, row, N:M "
                   "(e.g. 1:8 = 87.5 %% zero bits) or block:B (e.g. block:8); see README")
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--resume", action="store_true", help="continue an interrupted run exactly")
    p.add_argument("--force", action="store_true", help="discard an existing checkpoint and train from scratch")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sbnn.training.config import TrainConfig

    values = {key: getattr(args, opt) for opt, key in SHORTCUTS.items()}
    cfg = TrainConfig.resolve(args.config, args.overrides, section=None, **values)
    run_dir = RunDir(args.run)
    with runlock.locked(run_dir):  # before importing torch: a second process is refused at once
        return _train(args, cfg, run_dir)


def _train(args: argparse.Namespace, cfg, run_dir: RunDir) -> int:
    from sbnn.training.trainer import train

    structure = f" / structure {cfg.quant.structure}" if cfg.quant.structure != "none" else ""
    console.print(f"[bold]sbnn train[/bold] {cfg.model.arch} / {cfg.quant.method} / sparsity {cfg.quant.sparsity}{structure} "
                  f"on {cfg.data.dataset} -> {run_dir.path}/train")
    # on a terminal tqdm shows every batch with its elapsed time; elsewhere (CI logs) a line a minute says
    # training is still running between the per-epoch lines
    live = show_progress()
    with contextlib.nullcontext() if live else step("training"):
        final = train(cfg, run_dir, resume=args.resume, force=args.force, progress=live, log=console.print)
    if final:
        rows = [["test accuracy", fmt.pct(final["test_acc"])], ["train accuracy", fmt.pct(final["train_acc"])],
                ["zero weight bits", fmt.pct(final["sparsity"])]]
        rows += [[f"  {k}", fmt.pct(v)] for k, v in final["layer_sparsity"].items()]
        print_table("final metrics", ["metric", "value"], rows)
    return 0
