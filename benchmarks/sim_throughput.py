"""Bit-exact simulator throughput vs PyTorch float inference and vs qonnx execute_onnx.

Same model, same batch, same run: for each network the trained-form PyTorch model (Brevitas, eval
mode), a plain float32 PyTorch twin of the integer network (nn.Linear/Conv2d, no quantizer overhead:
the strictest float baseline), the QONNX file under qonnx's execute_onnx, and sbnn's simulator process
the same batch. Reported: frames/s, the simulator's speed-up over each, and the bits it ANDs and
popcounts per second against the machine's scalar popcount limit (cores x clock x 64 bits per cycle);
the compiled kernel can exceed that limit where the CPU has vector popcount (AVX-512 VPOPCNTQ).

    python benchmarks/sim_throughput.py [--batch 256] [--quick]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

# torch's OpenMP workers spin after each call and would steal the cores from the simulator's threads
# (sbnn sets this too, but torch is imported here first)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import best_time, machine, write_results

from sbnn.export.deploy import ir_from_trained
from sbnn.export.qonnx_io import QonnxRunner, export_ir_qonnx
from sbnn.export.qonnx_read import load_qonnx
from sbnn.export.torch_ir import torch_weights
from sbnn.ir import MaxPool, Threshold
from sbnn.sim import kernels
from sbnn.sim.bitexact import Simulator
from sbnn.training.config import TrainConfig
from sbnn.training.models import build_model

NETS = {
    "SFC 784-256x3-10": ({"model.arch": "sfc"}, (1, 28, 28)),
    "LFC 784-1024x3-10": ({"model.arch": "lfc"}, (1, 28, 28)),
    "CNV (FINN, 8-bit input)": ({"model.arch": "cnv", "data.input": "multibit"}, (3, 32, 32)),
}
SPARSITY = {"0 %": ("ab-closed", 0.0), "90 %": ("ab-closed", 0.9)}


class FloatTwin(nn.Module):
    """The integer network in plain float32 PyTorch ops (what a float deployment would run)."""

    def __init__(self, ir):
        super().__init__()
        self.steps = []
        mods = nn.ModuleList()
        for layer in ir.layers:
            if isinstance(layer, Threshold):
                self.steps.append(("thr", torch.tensor(layer.thresholds, dtype=torch.float32).reshape(1, -1, 1, 1),
                                   torch.tensor(layer.directions, dtype=torch.float32).reshape(1, -1, 1, 1)))
            elif isinstance(layer, MaxPool):
                self.steps.append(("pool", layer.kernel))
            else:
                w = torch_weights(layer)
                if layer.kind == "conv":
                    m = nn.Conv2d(w.shape[1], w.shape[0], layer.kernel, padding=layer.pad, bias=False)
                else:
                    m = nn.Linear(w.shape[1], w.shape[0], bias=False)
                m.weight.data.copy_(w)
                mods.append(m)
                shape = (1, -1, 1, 1) if layer.kind == "conv" else (1, -1)
                thr = None if layer.is_output else (torch.tensor(layer.thresholds, dtype=torch.float32).reshape(shape),
                                                    torch.tensor(layer.directions, dtype=torch.float32).reshape(shape))
                self.steps.append(("mvu", m, layer.kind, thr))
        self.mods = mods

    @torch.no_grad()
    def forward(self, x):
        for step in self.steps:
            if step[0] == "thr":
                x = torch.where((x - step[1]) * step[2] >= 0, 1.0, -1.0)
            elif step[0] == "pool":
                x = nn.functional.max_pool2d(x, step[1])
            else:
                _, m, kind, thr = step
                if kind == "dense":
                    x = x.flatten(1)
                x = m(x)
                if thr is not None:
                    x = torch.where((x - thr[0]) * thr[1] >= 0, 1.0, -1.0)
        return x


def popcounted_bits(sim: Simulator, n: int) -> float:
    """Bits the simulator ANDs and popcounts for n frames (64 per packed word, padding included)."""
    total = 0.0
    for packed in sim._packed.values():
        layer = packed.layer
        if layer.in_type.bipolar:
            total += 64.0 * n * layer.out_pixels * layer.out_channels * packed.packed.shape[1]
    return total


def run(batch: int, quick: bool) -> dict:
    torch.set_num_threads(2)
    rows = []
    limit = (machine()["cpus"] or 2) * machine()["cpu_mhz"] * 1e6 * 64
    rng = np.random.default_rng(0)
    for net, (overrides, shape) in NETS.items():
        for sp_name, (method, sparsity) in SPARSITY.items():
            cfg = TrainConfig.resolve(overrides=[f"{k}={v}" for k, v in overrides.items()]
                                      + [f"quant.method={method}", f"quant.sparsity={sparsity}"])
            torch.manual_seed(0)
            model = build_model(cfg, shape, 10, 255, 100).eval()
            meta = {"in_shape": list(shape), "pixel_max": 255, "classes": [str(i) for i in range(10)],
                    "dataset": "synthetic", "input": cfg.data.input}
            ir = ir_from_trained(model, meta)
            x = rng.integers(0, 256, (batch, *shape)).astype(np.float32)
            xt = torch.from_numpy(x)
            x_ir = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).astype(np.int64)
            sim = Simulator(ir)
            twin = FloatTwin(ir).eval()
            assert np.array_equal(sim.run(x_ir).scores, twin(xt).numpy().astype(np.int64))
            with torch.no_grad():
                t_brevitas = best_time(lambda: model(xt), repeat=2)
            t_twin = best_time(lambda: twin(xt), repeat=3)
            t_sim = best_time(lambda: sim.run(x_ir, batch_size=batch), repeat=3)
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "m.onnx"
                export_ir_qonnx(ir, path)
                runner = QonnxRunner(load_qonnx(path), batch=batch)
                q_n = batch if not quick else min(batch, 32)
                t_qonnx = best_time(lambda: runner.run(x[:q_n]), repeat=1) * batch / q_n
            ops = popcounted_bits(sim, batch)
            rows.append({
                "network": net, "zero_bits": sp_name, "sparsity": round(float(np.mean([m.sparsity for m in ir.mvus])), 3),
                "batch": batch, "sim_fps": batch / t_sim, "torch_float_fps": batch / t_twin,
                "torch_brevitas_fps": batch / t_brevitas, "qonnx_fps": batch / t_qonnx,
                "speedup_vs_torch_float": t_twin / t_sim, "speedup_vs_torch_brevitas": t_brevitas / t_sim,
                "speedup_vs_qonnx": t_qonnx / t_sim, "sim_bit_ops_per_s": ops / t_sim,
                "fraction_of_popcount_limit": ops / t_sim / limit,
            })
            print(f"{net:26s} {sp_name:>5s}: sim {batch / t_sim:10.0f} fps | x{t_twin / t_sim:5.2f} torch float | "
                  f"x{t_brevitas / t_sim:6.2f} torch+brevitas | x{t_qonnx / t_sim:7.0f} qonnx", flush=True)
    return {"machine": machine(), "kernel": kernels.backend(), "popcount_limit_bit_ops_per_s": limit, "rows": rows}


def markdown(res: dict) -> str:
    lines = [f"Simulator throughput ({res['machine']['cpus']} cores, {res['machine']['cpu_mhz']:.0f} MHz, kernel "
             f"{res['kernel']}, batch {res['rows'][0]['batch']}; popcount limit "
             f"{res['popcount_limit_bit_ops_per_s'] / 1e9:.0f} Gbit-ops/s)", "",
             "| network | zero bits | sim frames/s | vs torch float | vs torch+Brevitas | vs qonnx | popcounted Gbit/s "
             "| of scalar limit |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in res["rows"]:
        lines.append(f"| {r['network']} | {r['zero_bits']} | {r['sim_fps']:,.0f} | {r['speedup_vs_torch_float']:.2f}x | "
                     f"{r['speedup_vs_torch_brevitas']:.1f}x | {r['speedup_vs_qonnx']:,.0f}x | "
                     f"{r['sim_bit_ops_per_s'] / 1e9:.1f} | {100 * r['fraction_of_popcount_limit']:.1f} % |")
    return "\n".join(lines)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--quick", action="store_true", help="time qonnx on 32 inputs and extrapolate")
    a = ap.parse_args()
    result = run(a.batch, a.quick)
    write_results("sim_throughput", result, markdown(result))
