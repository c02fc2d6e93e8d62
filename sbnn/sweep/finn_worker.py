"""Runs INSIDE the isolated FINN venv (never imported by sbnn): dense point topology -> Brevitas -> FINN.

    <finn-venv>/bin/python finn_worker.py --topology topology.json --out DIR --target-fps N --clock-mhz F --part P

Rebuilds the dense BNN of one sweep point (``sbnn.sweep.finn.topology``: layer shapes, input type and
the {-1, +1} weight signs) as a Brevitas model the way FINN's own BNN examples are written (binary
weights, BatchNorm + sign activations, max-pool after the activation), exports it to QONNX, annotates the
integer input type, and runs FINN's estimate-only build for the sweep's target frames/s on the given part.
FINN's estimates depend on shapes, data types and folding, not on the weight values, so BatchNorm is left
at identity (thresholds at 0). Only the standard library, numpy, torch, brevitas, qonnx and finn are used.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

# this file sits next to sbnn's finn.py: its folder must not shadow the real 'finn' package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def is_image(topo: dict) -> bool:
    """Whether the network starts with a convolution (NCHW input) rather than a dense layer."""
    return next(layer["kind"] for layer in topo["layers"] if layer["kind"] in ("conv", "dense")) == "conv"


def build_model(topo: dict):
    import numpy as np
    import torch
    from brevitas import nn as qnn
    from brevitas.quant import SignedBinaryActPerTensorConst, SignedBinaryWeightPerTensorConst
    from torch import nn

    class Shift(nn.Module):
        """x - threshold before the input's sign (FINN absorbs it into the first MultiThreshold)."""

        def __init__(self, thr: float):
            super().__init__()
            self.register_buffer("thr", torch.tensor(float(thr)))

        def forward(self, x):
            return x - self.thr

    def sign() -> nn.Module:
        return qnn.QuantIdentity(act_quant=SignedBinaryActPerTensorConst, return_quant_tensor=True)

    mods: list[nn.Module] = []
    flat = not is_image(topo)  # an MLP takes the flattened image
    for layer in topo["layers"]:
        kind = layer["kind"]
        if kind == "threshold":
            mods += [Shift(layer["threshold"] + 0.5), sign()]
        elif kind == "maxpool":
            mods.append(nn.MaxPool2d(layer["kernel"]))
        else:
            h, w, c = layer["in_shape"]
            m = layer["out_channels"]
            bits = np.array(topo["weights"][layer["name"]], dtype=np.float32)
            signs = torch.from_numpy(np.where(bits > 0, 1.0, -1.0) * (1 if layer["w1_is_plus_one"] else -1))
            if kind == "conv":
                k = layer["kernel"]
                mod = qnn.QuantConv2d(c, m, k, padding=layer["pad"], bias=False,
                                      weight_quant=SignedBinaryWeightPerTensorConst)
                weight = signs.reshape(m, k, k, c).permute(0, 3, 1, 2)  # IR order (ky, kx, c) -> torch (c, ky, kx)
            else:
                if not flat:
                    mods.append(nn.Flatten())
                flat = True
                mod = qnn.QuantLinear(h * w * c, m, bias=False, weight_quant=SignedBinaryWeightPerTensorConst)
                weight = signs.reshape(m, h * w * c)
            with torch.no_grad():
                mod.weight.copy_(weight)
            mods.append(mod)
            if not layer["output"]:
                mods += [nn.BatchNorm2d(m) if kind == "conv" else nn.BatchNorm1d(m), sign()]
    return nn.Sequential(*mods).eval()


def export(topo: dict, out: Path) -> Path:
    import torch
    from brevitas.export import export_qonnx
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper

    model = build_model(topo)
    h, w, c = topo["input_shape"]
    x = torch.randint(0, topo["pixel_max"] + 1, (1, c, h, w) if is_image(topo) else (1, h * w * c)).float()
    path = out / "model.onnx"
    export_qonnx(model, input_t=x, export_path=str(path))
    wrapped = ModelWrapper(str(path))
    wrapped.set_tensor_datatype(wrapped.graph.input[0].name, DataType[f"UINT{topo['input_bits']}"])
    wrapped.save(str(path))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--topology", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--target-fps", type=float, required=True)
    ap.add_argument("--clock-mhz", type=float, default=100.0)
    ap.add_argument("--part", required=True, help="FPGA part (sbnn passes its device's)")
    a = ap.parse_args()
    topo = json.loads(Path(a.topology).read_text())
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    onnx_path = export(topo, out)
    print(f"exported {onnx_path} in {time.perf_counter() - t0:.1f} s", flush=True)

    import finn.xsi as xsi

    xsi.SimEngine = None  # no Vivado: FINN's XSI simulator must not load (stack.md section 4)
    import finn.builder.build_dataflow as build
    import finn.builder.build_dataflow_config as bc

    cfg = bc.DataflowBuildConfig(
        output_dir=str(out), steps=bc.estimate_only_dataflow_steps, fpga_part=a.part,
        synth_clk_period_ns=1000.0 / a.clock_mhz, target_fps=int(a.target_fps),
        generate_outputs=[bc.DataflowOutputType.ESTIMATE_REPORTS])
    rc = build.build_dataflow_cfg(str(onnx_path), cfg)
    print(f"FINN build returned {rc} after {time.perf_counter() - t0:.1f} s", flush=True)
    if rc != 0 or not (out / "report" / "estimate_layer_resources.json").exists():
        log = out / "build_dataflow.log"
        tail = log.read_text().strip().splitlines()[-20:] if log.exists() else []
        print("\n".join(tail), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sys.exit(main())
