"""SHA-256 of every generated Verilog file of a fixed set of designs: proof that a refactor changed no RTL.

The designs: the main job (the default config trained on digits; its IR is stored next to the digests so
the check does not depend on retraining) through ``sbnn synth`` with the IR's folding, ``--target-fps
200000``, ``--style dense``, ``--style auto --target-fps 100000``, ``--gather full``, a FINN-style folding
file, ``--unrolled`` on a small synthetic net and the CLI test's net; and every design of the RTL grid
tests (``tests/hw/test_hw_rtl_layers.py`` with its pipelined 400 MHz copies, ``test_hw_rtl_models.py``,
``test_hw_lint.py`` and the synthesis tests' designs), generated exactly as those tests generate them.
Besides the Verilog, each design's cycle numbers (latency, interval, FIFO depths, clocks per stage) are
recorded, and for the CLI runs the SHA-256 of ``cycles.json`` and ``stream.json``.

    python benchmarks/rtl_digests.py              # compare the current code against the recorded digests (exit 1 on a difference)
    python benchmarks/rtl_digests.py --record     # record them (from the unchanged code)
    python benchmarks/rtl_digests.py --train      # retrain + export the main job into runs/digest-main first and check
                                                  # that its IR equals the stored one (training is deterministic on
                                                  # one machine; another CPU may train a different IR)
    python benchmarks/rtl_digests.py --store-ir   # with --train: store that IR as the digest input

Only Verilog is generated (no Verilator, no Yosys): about a minute.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import io
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DIGESTS = RESULTS / "rtl_digests.json"
IR_DIR = RESULTS / "rtl_digests"  # the main job's trained IR (ir.json + ir.npz): the digests' fixed input
MAIN_RUN = ROOT / "runs" / "digest-main"

#: sbnn synth runs on the stored main-job IR: name -> extra arguments
MAIN_RUNS = {
    "main": [],
    "main_fps200k": ["--target-fps", "200000"],
    "main_dense": ["--style", "dense"],
    "main_auto_fps100k": ["--style", "auto", "--target-fps", "100000"],
    "main_fps200k_full": ["--target-fps", "200000", "--gather", "full"],
    "main_delta_seg": ["--gather", "segmented", "--set", "coding=delta"],
    "main_folding_file": ["--folding", "{folding}"],
}
FOLDING_FILE = {"mvu0": {"PE": 4, "SIMD": 8}, "mvu1": {"PE": 2, "SIMD": 16, "gather": "lutram1"},
                "mvu2": {"PE": 8, "SIMD": 4, "style": "dense"}}


def sha(data: str | bytes) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _module(path: Path, name: str):
    """Import a test module by file (the grids are defined there, once)."""
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _timing(design) -> dict:
    return {"latency": int(design.perf.latency), "interval": int(design.perf.interval),
            "depths": [int(d) for d in design.depths], "stage_cycles": {st.name: int(st.cycles) for st in design.stages}}


def _entry(design) -> dict:
    return {"files": {n: sha(t) for n, t in design.files.items()}, "timing": _timing(design)}


def grid_designs() -> dict[str, dict]:
    """Every design of the RTL grid tests, generated as the tests generate it."""
    from sbnn.arch import folding
    from sbnn.hw.rtl.design import GenOptions, generate
    from sbnn.ir.synthetic import random_model

    hw = ROOT / "tests" / "hw"
    conf = _module(hw / "conftest.py", "_digest_hw_conftest")
    layers = _module(hw / "test_hw_rtl_layers.py", "_digest_rtl_layers")
    models = _module(hw / "test_hw_rtl_models.py", "_digest_rtl_models")
    lint = _module(hw / "test_hw_lint.py", "_digest_lint")
    out = {}
    for name, (kind, kwargs, opts) in layers.GRID.items():
        rng = np.random.default_rng(1000 + list(layers.GRID).index(name))
        model, upto = conf.layer_model(rng, kind, name=name, **kwargs)
        out[f"layers/{name}"] = _entry(generate(model, GenOptions(**opts), upto=upto, name=f"g_{name}"))
    hwt = type("hwt", (), {"layer_model": staticmethod(conf.layer_model)})
    for case in layers.CASES[len(layers.GRID):]:  # the grid's designs rebuilt for a fast clock (pipelined)
        out[f"layers/{case}"] = _entry(layers.case_design(hwt, case)[0])
    for name, model, opts, impls in models._models():
        out[f"models/{name}"] = _entry(generate(model, opts, name=f"n_{name}", impls=impls))
    for name in lint.CASES:
        out[f"lint/{name}"] = _entry(lint._design(name))
    # the synthesis tests' designs (tests/hw/test_hw_synth.py)
    m = random_model(np.random.default_rng(2), input_shape=(6, 6, 1), convs=(4,), dense=(8,), sparsity=0.8, name="ys")
    last = m.mvus[-1]
    out["synth/every_unit"] = _entry(generate(folding.apply(m, {last.name: {"PE": last.out_channels,
                                                                             "SIMD": last.in_features}})))
    m = random_model(np.random.default_rng(3), input_shape=(4, 4, 1), convs=(), pool=False, dense=(16,), sparsity=0.5,
                     name="ysd")
    out["synth/dense"] = _entry(generate(folding.apply(m, {m.mvus[0].name: {"PE": 4, "SIMD": 8}}),
                                         GenOptions(style="dense")))
    m = random_model(np.random.default_rng(4), input_shape=(1, 1, 64), convs=(), pool=False, dense=(64,),
                     sparsity=0.5, name="rom")
    a, b = (layer.name for layer in m.mvus)
    m = folding.apply(m, {a: {"PE": 8, "SIMD": 8}, b: {"PE": 2, "SIMD": 8}})
    impls = folding.resolve_impls(m, {a: {"weight_rom": "block"}, b: {"weight_rom": "distributed"}}, style="dense")
    out["synth/weight_rom"] = _entry(generate(m, GenOptions(style="dense"), impls=impls))
    return out


def _synth_run(ir_stem_dir: Path, work: Path, name: str, args: list[str]) -> dict:
    """``sbnn synth --no-synth`` on a copy of an IR; the digests of what it wrote."""
    from sbnn.cli import main

    run = work / name
    (run / "export").mkdir(parents=True)
    for f in ("ir.json", "ir.npz"):
        shutil.copy2(ir_stem_dir / f, run / "export" / f)
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(["synth", "--run", str(run), "--no-synth", *args])
    if rc != 0:
        raise SystemExit(f"sbnn synth {' '.join(args)} failed on {name} (exit {rc})")
    hw = run / "hw"
    rtl = hw / "rtl"
    files = {p.name: sha(p.read_bytes()) for p in sorted(rtl.iterdir()) if p.suffix == ".v" or p.name == "filelist.f"}
    cyc = json.loads((hw / "cycles.json").read_text())
    # cycles.json names the folding file by its (temporary) path
    text = (hw / "cycles.json").read_text().replace(str(work), "<work>")
    return {"files": files, "cycles_json": sha(text),
            "stream_json": sha((hw / "stream.json").read_bytes()),
            "timing": {"latency": cyc["latency_cycles"], "interval": cyc["interval_cycles"],
                       "depths": [s["fifo_depth"] for s in cyc["stages"]],
                       "stage_cycles": {s["stage"]: s["cycles_per_frame"] for s in cyc["stages"]}}}


def run_designs(work: Path) -> dict[str, dict]:
    """The CLI runs: the stored main-job IR with every option set, a small unrolled net, the CLI test's net."""
    from sbnn.ir import save
    from sbnn.ir.synthetic import random_model

    out = {}
    fold = work / "fold.json"
    fold.write_text(json.dumps(FOLDING_FILE))
    for name, args in MAIN_RUNS.items():
        out[f"cli/{name}"] = _synth_run(IR_DIR, work, name, [a.format(folding=fold) for a in args])
    small = work / "small_ir"
    save(random_model(np.random.default_rng(10), input_shape=(7, 7, 1), convs=(), pool=False, dense=(32, 16),
                      sparsity=0.95, name="small"), small / "ir")
    out["cli/small_unrolled"] = _synth_run(small, work, "small_unrolled", ["--unrolled"])
    out["cli/small_unrolled_dense"] = _synth_run(small, work, "small_unrolled_dense", ["--unrolled", "--style", "dense"])
    cli_net = work / "cli_ir"
    save(random_model(np.random.default_rng(0), input_shape=(6, 6, 1), convs=(4,), dense=(8,), sparsity=0.8),
         cli_net / "ir")
    out["cli/cli_fps20k"] = _synth_run(cli_net, work, "cli_fps20k", ["--target-fps", "20000", "--clock-mhz", "150"])
    return out


def ir_digest(folder: Path) -> str:
    return sha((folder / "ir.json").read_bytes() + (folder / "ir.npz").read_bytes())


def train_main(store: bool) -> None:
    """Train + export the main job (configs/default.yaml) into runs/digest-main; its IR must equal the stored one."""
    from sbnn.cli import main

    for argv in (["train", "--run", str(MAIN_RUN), "--config", str(ROOT / "configs" / "default.yaml")],
                 ["export", "--run", str(MAIN_RUN)]):
        if main(argv) != 0:
            raise SystemExit(f"sbnn {argv[0]} failed")
    trained = MAIN_RUN / "export"
    if store:
        IR_DIR.mkdir(parents=True, exist_ok=True)
        for f in ("ir.json", "ir.npz"):
            shutil.copy2(trained / f, IR_DIR / f)
        print(f"stored the main job's IR in {IR_DIR}")
    elif ir_digest(trained) != ir_digest(IR_DIR):
        raise SystemExit(f"the retrained IR ({trained}) differs from the stored digest input {IR_DIR}: "
                         "training is not reproducible here")
    else:
        print("retrained IR == stored IR")


def collect() -> dict:
    with tempfile.TemporaryDirectory(prefix="sbnn-digests-") as tmp:
        designs = {**run_designs(Path(tmp)), **grid_designs()}
    return {"ir_sha256": ir_digest(IR_DIR), "designs": designs}


def compare(want: dict, got: dict) -> list[str]:
    diffs = []
    if want["ir_sha256"] != got["ir_sha256"]:
        diffs.append("the stored main-job IR changed")
    for name in sorted(set(want["designs"]) | set(got["designs"])):
        a, b = want["designs"].get(name), got["designs"].get(name)
        if a is None or b is None:
            diffs.append(f"{name}: {'new design' if a is None else 'design missing'}")
            continue
        for f in sorted(set(a["files"]) | set(b["files"])):
            if a["files"].get(f) != b["files"].get(f):
                diffs.append(f"{name}: {f} " + ("differs" if f in a["files"] and f in b["files"] else
                                                 "is new" if f in b["files"] else "is missing"))
        for key in ("timing", "cycles_json", "stream_json"):
            if a.get(key) != b.get(key):
                diffs.append(f"{name}: {key} differs ({a.get(key)} -> {b.get(key)})")
    return diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--record", action="store_true", help="write the digests of the current code")
    ap.add_argument("--train", action="store_true", help="retrain + export the main job and check (or store) its IR")
    ap.add_argument("--store-ir", action="store_true", help="with --train: store the trained IR as the digest input")
    ap.add_argument("--quick", action="store_true", help="accepted for benchmarks/run_all.py (the check is quick)")
    args = ap.parse_args()
    if args.train:
        train_main(args.store_ir)
    if not (IR_DIR / "ir.json").exists():
        raise SystemExit(f"no stored main-job IR in {IR_DIR}: run with --train --store-ir first")
    got = collect()
    n_files = sum(len(d["files"]) for d in got["designs"].values())
    if args.record:
        DIGESTS.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(got['designs'])} designs, {n_files} Verilog files -> {DIGESTS}")
        return 0
    diffs = compare(json.loads(DIGESTS.read_text()), got)
    for d in diffs:
        print("DIFF", d)
    print(f"{len(got['designs'])} designs, {n_files} Verilog files: "
          + ("all byte-identical to the recorded digests, cycle numbers equal" if not diffs else f"{len(diffs)} differences"))
    return 1 if diffs else 0


if __name__ == "__main__":
    raise SystemExit(main())
