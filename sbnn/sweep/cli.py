"""``sbnn sweep``: train/export/synth/sim over a grid of methods, sparsities and architectures, then report."""

from __future__ import annotations

import argparse
from pathlib import Path

from sbnn.cliutil import console, show_progress
from sbnn.errors import ConfigError, SbnnError


def add_parser(sub, name: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text, description=help_text + ". Each point is a run directory "
                       "<root>/<arch>-<method>[-<sparsity>]; finished points are skipped on re-run.")
    p.add_argument("--root", default="runs/sweep", metavar="DIR", help="folder of the point run directories "
                   "(default runs/sweep)")
    p.add_argument("--config", metavar="YAML", help="sweep grid (see configs/sweep*.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one grid value, e.g. --set sparsities=[0,0.9] (repeatable)")
    p.add_argument("--dataset", choices=["digits", "mnist", "fashion-mnist", "cifar10"])
    p.add_argument("--data-dir", metavar="DIR", help="folder holding the data set (not needed for digits)")
    p.add_argument("--methods", help="comma-separated subset of bnn,ab-closed,ab-learned,sd-bnn,ab-learned-tuned")
    p.add_argument("--sparsities", help="comma-separated zero-bit fractions, e.g. 0,0.5,0.9")
    p.add_argument("--structures", help="comma-separated mask structures of the ab-closed points, e.g. none,1:8,"
                   "row,block:8 (N:M: one point at 1 - N/M zero bits)")
    p.add_argument("--archs", help="comma-separated subset of the grid's architectures")
    p.add_argument("--epochs", type=int, help="training epochs of every point (default: per architecture)")
    p.add_argument("--only", action="append", metavar="TEXT", help="run only points whose name contains TEXT")
    p.add_argument("--executor", choices=["local", "ray"], default="local",
                   help="local process pool (default) or Ray")
    p.add_argument("--workers", type=int, metavar="N", help="parallel points (default: by cores and memory)")
    p.add_argument("--ray-address", metavar="ADDR", help="join this Ray cluster ('auto' or host:port)")
    p.add_argument("--finn", action="store_true", help="also run the FINN baseline on the dense points "
                   "(needs 'make finn-baseline' first)")
    p.add_argument("--finn-venv", metavar="DIR", help="FINN environment (default $SBNN_FINN_VENV or .venv-finn)")
    p.add_argument("--no-report", dest="report", action="store_false", help="do not write <root>/report")
    p.set_defaults(func=run)


def _list(text: str | None, cast=str) -> list | None:
    if text is None:
        return None
    try:
        return [cast(v.strip()) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"cannot read the list {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from sbnn.sweep import config as sc
    from sbnn.sweep.driver import run_sweep

    if args.workers is not None and args.workers < 1:
        raise ConfigError("--workers must be at least 1")
    cfg = sc.resolve(args.config, args.overrides, data_dir=args.data_dir, dataset=args.dataset,
                     methods=_list(args.methods), sparsities=_list(args.sparsities, float), epochs=args.epochs,
                     structures=_list(args.structures))
    archs = _list(args.archs)
    if archs:
        unknown = sorted(set(archs) - set(cfg.archs))
        if unknown:
            raise ConfigError(f"unknown architecture(s) {', '.join(unknown)}; the grid has {', '.join(cfg.archs)}")
        cfg = cfg.model_copy(update={"archs": {a: cfg.archs[a] for a in archs}})
    if cfg.data_dir and not Path(cfg.data_dir).is_dir():
        raise ConfigError(f"data folder {cfg.data_dir} does not exist")
    console.print(f"[bold]sbnn sweep[/bold] {cfg.dataset}: {', '.join(cfg.archs)} x {', '.join(cfg.methods)} x "
                  f"sparsity {', '.join(f'{s:g}' for s in cfg.sparsities)}"
                  + (f" x structure {', '.join(cfg.structures)}" if cfg.structures != ["none"] else "")
                  + f" -> {args.root}")
    res = run_sweep(cfg, args.root, executor=args.executor, workers=args.workers, only=args.only,
                    ray_address=args.ray_address, progress=show_progress(), log=console.print)
    done = len(res.records) - len(res.failed)
    console.print(f"sweep: {done} point{'s' if done != 1 else ''} done, {len(res.skipped)} skipped (already "
                  f"done), {len(res.failed)} failed in {res.seconds:.0f} s")
    if args.finn:
        _finn(args, cfg)
    if args.report:
        from sbnn.report.build import build_report

        out = build_report(Path(args.root), log=console.print)
        console.print(f"report: {out / 'index.html'}")
    if res.failed:
        names = ", ".join(f"{r['name']} ({r.get('stage')})" for r in res.failed)
        raise SbnnError(f"{len(res.failed)} point(s) failed: {names}; see <point>/sweep.log")
    return 0


def _finn(args: argparse.Namespace, cfg) -> None:
    from sbnn.sweep import finn

    venv = Path(args.finn_venv) if args.finn_venv else finn.default_venv()
    if not finn.is_ready(venv):
        raise ConfigError(f"no FINN environment at {venv}: run 'make finn-baseline' (or 'sbnn sweep --finn "
                          "--finn-venv DIR' with a ready one)")
    finn.run_baseline(Path(args.root), venv, cfg.clock_mhz, log=console.print)
