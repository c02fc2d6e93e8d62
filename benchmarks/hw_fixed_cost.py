"""Where a folded network's LUTs go: Yosys resources per instance class (MVUs, FIFOs, other units) of whole
networks, as ``sbnn synth`` builds them, recorded per code version (``--label``) so that a change of the
fixed per-layer cost (FIFOs, S(x), thresholds) is measured before and after on the same designs.

Designs: the main job (its trained IR stored in results/rtl_digests/, folding from the IR: PE = SIMD = 1)
and, when its runs exist, the Fashion-MNIST SFC of ``benchmarks/train_fashion.py --only mlp`` (dense BNN and
{alpha, beta} closed form at 90 % zero bits) folded for 100,000 frames/s at 100 MHz: the dense BNN and the
sparse net with ``--style auto`` (each MVU zero-skipping or XNOR, the cheaper by the estimate), and the
sparse net with ``--style dense`` (XNOR MVUs with the same {alpha, beta} levels). The script uses only the
public flow (``resolve_folding``, ``generate``, ``run_yosys``), so an older checkout can run it to record
its own label.

    python benchmarks/hw_fixed_cost.py --label after [--fashion-root runs/bench-fashion]
    python benchmarks/hw_fixed_cost.py --quick        # the main job only
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import RESULTS
from hw_common import WORK

from sbnn.hw.config import HwConfig
from sbnn.hw.rtl.design import generate
from sbnn.hw.stage import resolve_folding
from sbnn.hw.synth.yosys import run_yosys
from sbnn.ir import io as ir_io

ROOT = Path(__file__).resolve().parents[1]
MAIN_IR = ROOT / "benchmarks" / "results" / "rtl_digests" / "ir"
FPS = {"target_fps": 100000.0}
#: name -> (IR source: "main" or a train_fashion point, HwConfig values)
DESIGNS = {
    "main job (digits SFC, 90 %, IR folding)": ("main", {}),
    "Fashion SFC dense BNN, 100 k fps, style auto": ("mlp-bnn", {**FPS, "style": "auto"}),
    "Fashion SFC {α,β} 0.9, 100 k fps, style auto": ("mlp-ab-closed-0.9", {**FPS, "style": "auto"}),
    "Fashion SFC {α,β} 0.9, 100 k fps, style dense": ("mlp-ab-closed-0.9", {**FPS, "style": "dense"}),
}
CLASSES = ("mvu", "fifo", "other")
KEYS = ("LUT", "LUTRAM", "FF", "BRAM18", "BRAM36")


def instance_class(inst: str) -> str:
    if inst.startswith("u_fifo"):
        return "fifo"
    return "mvu" if "_mvu" in inst and not inst.endswith("_col") and not inst.endswith("_swu") else "other"


def measure(ir_stem: Path, values: dict) -> dict:
    model = ir_io.load(ir_stem)
    cfg = HwConfig(**values)
    folded, impls, _ = resolve_folding(model, cfg)
    design = generate(folded, cfg.gen_options(), impls=impls)
    folder = WORK / f"fixed_{design.name}_{design.digest}"
    design.write(folder)
    rep = run_yosys(design, folder)
    per = {c: dict.fromkeys(KEYS, 0) for c in CLASSES}
    for inst, res in rep.instances.items():
        for k in KEYS:
            per[instance_class(inst)][k] += res[k]
    styles = [f"{i.style}{'/' + i.gather if i.gather else ''}" for i in impls.values()]
    return {"classes": per, "total": {k: rep.total[k] for k in KEYS}, "interval": int(design.perf.interval),
            "latency": int(design.perf.latency), "depths": [int(d) for d in design.depths], "mvus": styles,
            "digest": design.digest}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", default="current", help="the code version measured (a column of the tables)")
    ap.add_argument("--fashion-root", default=str(ROOT / "runs" / "bench-fashion"),
                    help="train_fashion.py's run root (its mlp-bnn and mlp-ab-closed-0.9 points, exported)")
    ap.add_argument("--quick", action="store_true", help="the main job only")
    args = ap.parse_args()
    path = RESULTS / "hw_fixed_cost.json"
    data = json.loads(path.read_text()) if path.exists() else {"labels": {}}
    got = {}
    for name, (src, values) in DESIGNS.items():
        stem = MAIN_IR if src == "main" else Path(args.fashion_root) / src / "export" / "ir"
        if not stem.with_suffix(".json").exists():
            print(f"skipped {name}: no {stem}.json (train and export it with benchmarks/train_fashion.py)")
            continue
        if args.quick and src != "main":
            continue
        got[name] = measure(stem, values)
        print(f"{name}: {got[name]['total']['LUT']:,} LUT", flush=True)
    data["labels"][args.label] = got
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")
    (RESULTS / "hw_fixed_cost.md").write_text(markdown(data))
    print(markdown(data))
    return 0


def _bram(r: dict) -> float:
    return r["BRAM36"] + r["BRAM18"] / 2


def markdown(data: dict) -> str:
    labels = list(data["labels"])
    L = ["# Fixed per-layer cost: resources per instance class (Yosys synth_xilinx, xc7z020)", "",
         "MVU: the matrix-vector units (with their distributed-RAM loads, thresholds and S(x)); FIFO: the "
         "stream FIFOs between stages; other: input thresholds, collectors, AXI glue. Labels: "
         + ", ".join(f"`{lb}`" for lb in labels) + ".", ""]
    names = list(dict.fromkeys(n for lb in labels for n in data["labels"][lb]))
    for name in names:
        have = [lb for lb in labels if name in data["labels"][lb]]
        L += [f"## {name}", "", "| class | " + " | ".join(f"{lb} LUT | {lb} FF | {lb} BRAM36" for lb in have) + " |",
              "|---|" + "---:|---:|---:|" * len(have)]
        for c in (*CLASSES, "total"):
            cells = []
            for lb in have:
                r = data["labels"][lb][name]
                v = r["total"] if c == "total" else r["classes"][c]
                cells.append(f"{v['LUT']:,} | {v['FF']:,} | {_bram(v):g}")
            L.append(f"| {'**total**' if c == 'total' else c} | " + " | ".join(cells) + " |")
        for lb in have:
            r = data["labels"][lb][name]
            L.append("")
            L.append(f"`{lb}`: interval {r['interval']:,} clocks, latency {r['latency']:,}, FIFO depths "
                     f"{r['depths']}, MVUs {', '.join(r['mvus'])}")
        L.append("")
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
