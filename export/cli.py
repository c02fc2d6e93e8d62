"""``sbnn export``: QONNX + hardware IR + verification report into ``<run>/export/``."""

from __future__ import annotations

import argparse

from sbnn import fmt
from sbnn.cliutil import add_run_args, console, print_table
from sbnn.runs import RunDir


def add_parser(sub, name: str, help_text: str) -> None:
    p = sub.add_parser(name, help=help_text, description=help_text + ". Writes <run>/export/{model.onnx,ir.json,"
                       "ir.npz,samples.npz,verify.json,config.yaml}.")
    add_run_args(p)
    p.add_argument("--samples", type=int, help="real inputs used by the verification (default 1000)")
    p.add_argument("--qonnx", metavar="FILE", help="lower this QONNX file (e.g. a Brevitas bnn_pynq export) "
                   "instead of the run's checkpoint")
    p.add_argument("--dataset", help="data set giving real inputs for --qonnx")
    p.add_argument("--data-dir", metavar="DIR")
    p.add_argument("--input-bits", type=int, help="--qonnx: integer width of the graph input (default 8)")
    p.add_argument("--input-scale", type=float, help="--qonnx: graph input = integer * scale (default 1/255)")
    p.add_argument("--input-prescale", type=float, help="multiply data-set pixels by this to form the graph input")
    p.add_argument("--force", action="store_true", help="redo the export even if it is up to date")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sbnn.export.config import ExportConfig
    from sbnn.export.pipeline import export

    values = {"samples": args.samples, "qonnx": args.qonnx, "dataset": args.dataset, "data_dir": args.data_dir,
              "input_bits": args.input_bits, "input_scale": args.input_scale, "input_prescale": args.input_prescale}
    cfg = ExportConfig.resolve(args.config, args.overrides, **values)
    run_dir = RunDir(args.run)
    console.print(f"[bold]sbnn export[/bold] {cfg.qonnx or run_dir.path / 'train/checkpoint.pt'} -> {run_dir.path}/export")
    report = export(run_dir, cfg, force=args.force, log=console.print)
    v = report.get("verification", {})
    rows = []
    for key, item in v.items():
        if isinstance(item, dict) and "equal" in item:
            label = item.get("compared", "IR lowered from QONNX == IR folded from the checkpoint"
                             if key == "lowered_ir_equals_folded_ir" else key)
            rows.append([label, fmt.yes_no(item["equal"]), fmt.count(item.get("samples"))])
    if "float_model_vs_sim" in v:
        f = v["float_model_vs_sim"]
        rows.append(["float model argmax == sim (non-ties)", fmt.yes_no(f["ok"]),
                     f"{fmt.count(f['samples'])} ({fmt.count(f['ties'])} ties)"])
    acc = report.get("accuracy", {}).get("sim_test_accuracy")
    if acc is not None:
        rows.append(["bit-exact sim test accuracy", fmt.pct(acc), fmt.count(report["accuracy"]["test_samples"])])
    print_table("export verification", ["check", "result", "samples"], rows)
    return 0
