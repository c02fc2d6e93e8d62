"""FINN baseline: FINN's own estimates for the dense models of a sweep, from an isolated finn-plus venv.

finn-plus cannot live in sbnn's environment (it pins brevitas 0.13.0, onnxruntime 1.25.1 and
protobuf 5.29.6; ../shared/stack.md section 4), so it gets its own virtual environment, built with the
recipe that was checked on the reference machine (:func:`setup_env`, ``make finn-baseline``), and is
driven through a subprocess: :mod:`sbnn.sweep.finn_worker` runs *inside* that venv, rebuilds the dense
network of a point as a Brevitas model with the same topology and weight signs, and runs FINN's
estimate-only flow for the sweep's common target frames/s. Its reports are parsed here (no FINN import),
so the report can show FINN's LUT / BRAM18 / cycle estimates next to our synthesis.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from sbnn import runs
from sbnn.arch.device import DEVICE
from sbnn.errors import ConfigError
from sbnn.runs import RunDir, read_json, write_json

FINN_PLUS = "finn-plus==1.6.1"
#: finn-plus 1.6.1's requirements minus brevitas (it pins 0.13.0, which fails on torch 2.13), plus
#: brevitas 0.13.4's own dependencies: stack.md section 4 ("finn_deps.txt")
FINN_REQUIREMENTS = [
    "torch==2.13.0",  # the CPU build; without the pin pip pulls torch 2.12 + 15 CUDA wheels
    "bitstring>=4.3.1,<4.4.0", "click>=8.1.8,<9.0.0", "cmake>=4.0.3,<4.1.0", "mashumaro[yaml]>=3.15,<4.0",
    "matplotlib>=3.10.9,<3.11.0", "mip==1.17.0", "numpy>=2.4.6,<2.5.0", "onnx==1.21.0", "onnx-ir>=0.1.15",
    "onnx-passes>=0.4.0", "onnxoptimizer>=0.4.2,<0.5.0", "onnxruntime==1.25.1", "onnxscript>=0.7.0",
    "pandas>=2.3.1,<2.4.0", "protobuf==5.29.6", "pybind11==3.0.1", "pydantic>2.0", "pyyaml>=6.0.2,<6.1.0",
    "qonnx==1.0.0", "rich>=13.9.4,<14.0.0", "scikit-learn>=1.7.2,<1.8.0", "scipy>=1.17.0,<1.18.0",
    "termcolor>=2.5.0,<3.0.0",
    "dependencies==2.0.1", "unfoldNd", "sympy", "packaging", "pytest",
]
#: installed without dependencies, after the rest (brevitas 0.13.4 works with torch 2.13)
FINN_NO_DEPS = [FINN_PLUS, "brevitas==0.13.4"]
#: brevitas needs pkg_resources (setuptools < 81), torch needs setuptools >= 77.0.3; psutil is missing
#: from finn-plus's dependency list
FINN_FIXUPS = ["setuptools>=77.0.3,<81", "psutil"]
STAMP = ".sbnn-finn-ready"
WORKER = Path(__file__).with_name("finn_worker.py")


def default_venv() -> Path:
    return Path(os.environ.get("SBNN_FINN_VENV", ".venv-finn"))


def venv_python(venv: str | os.PathLike) -> Path:
    return Path(venv) / "bin" / "python"


def is_ready(venv: str | os.PathLike) -> bool:
    return (Path(venv) / STAMP).exists() and venv_python(venv).exists()


def setup_env(venv: str | os.PathLike, python: str = sys.executable, log: Callable[[str], None] = print) -> Path:
    """Create the FINN venv with the stack.md recipe (idempotent: a finished venv is kept)."""
    venv = Path(venv)
    if is_ready(venv):
        log(f"FINN environment is ready: {venv}")
        return venv
    t0 = time.perf_counter()
    steps = [
        [python, "-m", "venv", str(venv)],
        [str(venv_python(venv)), "-m", "pip", "install", "-q", "-U", "pip"],
        [str(venv_python(venv)), "-m", "pip", "install", "-q", *FINN_REQUIREMENTS],
        [str(venv_python(venv)), "-m", "pip", "install", "-q", "--no-deps", *FINN_NO_DEPS],
        [str(venv_python(venv)), "-m", "pip", "install", "-q", *FINN_FIXUPS],
        [str(venv_python(venv)), "-c", "import finn.xsi as x; x.SimEngine = None; import finn.builder.build_dataflow"],
    ]
    env = finn_environ(venv.parent / "finn_build")
    for cmd in steps:
        log("$ " + " ".join(cmd[:8]) + (" ..." if len(cmd) > 8 else ""))
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise ConfigError(f"setting up the FINN environment failed at '{' '.join(cmd[:4])} ...':\n{tail}")
    (venv / STAMP).write_text(f"{FINN_PLUS}\nsetup seconds: {time.perf_counter() - t0:.0f}\n")
    log(f"FINN environment ready in {time.perf_counter() - t0:.0f} s: {venv}")
    return venv


def finn_environ(build_dir: Path) -> dict[str, str]:
    """FINN reads FINN_BUILD_DIR and the basename of XILINX_VIVADO at import time; a dummy path suffices."""
    env = dict(os.environ)
    env.update({"FINN_BUILD_DIR": str(Path(build_dir).resolve()), "XILINX_VIVADO": "/nonexistent/2024.2",
                "OMP_WAIT_POLICY": "PASSIVE"})
    env.pop("PYTHONPATH", None)  # never let sbnn's environment leak into FINN's
    return env


# --- what the worker needs: the dense network's topology and weight signs, FINN-independent -------------

def topology(run: RunDir) -> dict:
    """The IR of a finished point as plain JSON (layers, shapes, weight bits): the worker's input."""
    import numpy as np

    from sbnn.ir import load
    from sbnn.ir.model import MVU, MaxPool, Threshold

    ir = load(run.require("export", runs.IR, "sbnn export"))
    layers, arrays = [], {}
    for layer in ir.layers:
        if isinstance(layer, Threshold):
            layers.append({"kind": "threshold", "shape": list(layer.shape),
                           "threshold": float(np.mean(layer.thresholds))})
        elif isinstance(layer, MaxPool):
            layers.append({"kind": "maxpool", "in_shape": list(layer.in_shape), "kernel": layer.kernel})
        elif isinstance(layer, MVU):
            if sorted((layer.w0, layer.w1)) != [-1, 1]:
                raise ConfigError(f"FINN baseline: layer {layer.name} has levels {layer.w0}/{layer.w1}; FINN's "
                                  "binary MVAU needs {-1, +1} weights (dense BNN points only)")
            arrays[layer.name] = layer.weight_bits.astype(np.uint8)
            layers.append({"kind": layer.kind, "name": layer.name, "in_shape": list(layer.in_shape),
                           "out_channels": layer.out_channels, "kernel": layer.kernel, "pad": layer.pad,
                           "in_bits": layer.in_type.bits, "in_signed": layer.in_type.signed,
                           "output": layer.is_output, "w1_is_plus_one": layer.w1 == 1})
    return {"name": ir.name, "input_shape": list(ir.input.shape), "input_bits": ir.input.type.bits,
            "pixel_max": int(ir.provenance.get("pixel_max", (1 << ir.input.type.bits) - 1)),
            "layers": layers, "weights": {k: v.tolist() for k, v in arrays.items()}}


# --- FINN's estimate reports ---------------------------------------------------------------------------

def parse_reports(report_dir: str | os.PathLike) -> dict:
    """FINN estimate reports -> per-node LUT / BRAM18 / cycles and totals (as FINN writes them).

    ``estimate_layer_resources.json``: ``{node: {"LUT": .., "BRAM_18K": .., "URAM": .., "DSP": ..}}``
    plus a ``"total"`` entry; ``estimate_layer_cycles.json``: ``{node: cycles}``;
    ``estimate_network_performance.json``: critical path, max cycles (node), fps, latency."""
    d = Path(report_dir)
    res = read_json(d / "estimate_layer_resources.json")
    cyc = read_json(d / "estimate_layer_cycles.json")
    perf = read_json(d / "estimate_network_performance.json")
    nodes = []
    for name, r in res.items():
        if name == "total":
            continue
        nodes.append({"node": name, "LUT": _num(r.get("LUT")), "BRAM18": _num(r.get("BRAM_18K")),
                      "URAM": _num(r.get("URAM")), "DSP": _num(r.get("DSP")), "cycles": _num(cyc.get(name))})
    total = {"LUT": sum(n["LUT"] for n in nodes), "BRAM18": sum(n["BRAM18"] for n in nodes),
             "URAM": sum(n["URAM"] for n in nodes), "DSP": sum(n["DSP"] for n in nodes)}
    if "total" in res:  # FINN's own total, kept to check ours against it
        total["finn_total"] = {k: _num(v) for k, v in res["total"].items()}
    folding = None
    if (d / "auto_folding_config.json").exists():
        folding = read_json(d / "auto_folding_config.json")
    return {"nodes": nodes, "total": total, "max_cycles": _num(perf.get("max_cycles")),
            "max_cycles_node": perf.get("max_cycles_node_name"),
            "critical_path_cycles": _num(perf.get("critical_path_cycles")),
            "frames_per_second": _num(perf.get("estimated_throughput_fps")),
            "latency_ns": _num(perf.get("estimated_latency_ns")), "folding": folding}


def _num(v) -> float:
    if v is None:
        return 0
    f = float(v)
    return int(f) if f.is_integer() else f


# --- driving the worker ----------------------------------------------------------------------------------

def run_point(point: Path, venv: Path, target_fps: float, clock_mhz: float = 100.0, timeout: float = 1800,
              log: Callable[[str], None] = print) -> dict:
    """FINN estimates of one dense point into ``<point>/finn/baseline.json`` (skipped when up to date)."""
    run = RunDir(point)
    result_path = run.path / runs.FINN_BASELINE
    out = result_path.parent
    ir_path = run.require("export", runs.IR, "sbnn export")
    if result_path.exists() and result_path.stat().st_mtime >= ir_path.stat().st_mtime:
        old = read_json(result_path)
        if old.get("target_fps") == target_fps and old.get("clock_mhz") == clock_mhz:
            return old
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    write_json(out / "topology.json", topology(run))
    cmd = [str(venv_python(venv)), str(WORKER), "--topology", str(out / "topology.json"), "--out", str(out / "build"),
           "--target-fps", str(target_fps), "--clock-mhz", str(clock_mhz), "--part", DEVICE["part"]]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=finn_environ(out / "finn_build"), timeout=timeout)
    (out / "finn.log").write_text(proc.stdout + proc.stderr)
    record = {"point": point.name, "finn": FINN_PLUS, "target_fps": target_fps, "clock_mhz": clock_mhz,
              "seconds": round(time.perf_counter() - t0, 1)}
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["(no output)"]
        record.update({"ok": False, "error": f"FINN build failed (exit {proc.returncode}): {tail[0][:300]}"})
    else:
        record.update({"ok": True, **parse_reports(out / "build" / "report")})
    shutil.rmtree(out / "finn_build", ignore_errors=True)  # generated HLS sources: large, not needed
    shutil.rmtree(out / "build" / "intermediate_models", ignore_errors=True)
    write_json(result_path, record)
    log(f"  FINN {point.name}: " + (f"{record['total']['LUT']:,} LUT, {record['total']['BRAM18']} BRAM18, "
                                    f"{record['max_cycles']:,} cycles" if record["ok"] else record["error"]))
    return record


def dense_points(root: Path) -> list[tuple[Path, float]]:
    """(point directory, its target frames/s) of every finished dense-BNN point of a sweep."""
    out = []
    for rec_path in sorted(Path(root).glob("*/sweep.json")):
        rec = read_json(rec_path)
        if rec.get("status") == "done" and rec.get("point", {}).get("method") == "bnn":
            out.append((rec_path.parent, float(rec["point"]["target_fps"])))
    return out


def run_baseline(root: Path, venv: Path, clock_mhz: float = 100.0, log: Callable[[str], None] = print) -> list[dict]:
    """FINN estimates for every dense point of the sweep at ``root``, each at its architecture's target."""
    pts = dense_points(root)
    if not pts:
        log(f"FINN baseline: {root} has no finished dense-BNN point")
    return [run_point(p, venv, fps, clock_mhz, log=log) for p, fps in pts]


def main(argv: list[str] | None = None) -> int:
    """``python -m sbnn.sweep.finn setup|run``: what ``make finn-baseline`` calls."""
    import argparse

    from sbnn.errors import SbnnError

    ap = argparse.ArgumentParser(prog="python -m sbnn.sweep.finn", description=__doc__.split("\n")[0])
    ap.add_argument("action", choices=["setup", "run"])
    ap.add_argument("--venv", default=str(default_venv()), help="the FINN environment (default .venv-finn)")
    ap.add_argument("--root", default="runs/sweep", help="sweep root whose dense points get a FINN baseline")
    ap.add_argument("--clock-mhz", type=float, default=100.0)
    a = ap.parse_args(argv)
    try:
        if a.action == "setup":
            setup_env(Path(a.venv))
        else:
            if not is_ready(a.venv):
                raise ConfigError(f"no FINN environment at {a.venv}: run '{ap.prog} setup' first")
            run_baseline(Path(a.root), Path(a.venv), a.clock_mhz)
    except SbnnError as exc:
        print(f"{ap.prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
