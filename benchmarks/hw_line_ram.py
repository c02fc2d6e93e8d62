"""The sliding window's delay lines as shift registers (SRLs) and as one distributed RAM with a circular pointer,
side by side in one run: the measurements behind :func:`sbnn.hw.rtl.units.line_ram`, the rule that chooses.

Designs: the windows of the CNV-style net of ``benchmarks/hw_network_structure.py --arch cnv`` (3 x 3, no
padding): its 8-bit first window (28 x 28 x 1), its second (26 x 26 x 32, each pixel with the count of its +1
bits that its producer forms for the {alpha, beta} consumer), its third (12 x 12 x 32, after a pool) and its
fourth (10 x 10 x 64 with counts, as in the 1:8 network); and one wider line (28 x 28 x 64). Random masks and thresholds;
the convolution after each window is folded as the CNV's are (a window per output fold of several slices). Per
design and layout: Yosys synth_xilinx (xc7z020) of the whole design, the window's instance (LUTs, of which
LUT-RAM and SRL, and flip-flops), and an RTL check (Verilator, 1,000 random inputs: the last layer's outputs ==
the bit-exact simulator, latency and interval == the cycle model). The table says which layout the rule picks
and which measured fewer LUTs.

    python benchmarks/hw_line_ram.py            # ~5 minutes on 2 cores (Yosys cached by RTL digest)
    python benchmarks/hw_line_ram.py --quick    # the 1:8 CNV's fourth window only
"""

from __future__ import annotations

import argparse
import re
import time

import numpy as np
from common import machine
from hw_common import WORK, rtl_check, save

from sbnn.hw.rtl import units
from sbnn.hw.rtl.design import GenOptions, generate
from sbnn.hw.synth.yosys import run_yosys
from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel, ValueType
from sbnn.ir.synthetic import random_mvu

SAMPLES = 1000
#: name -> (the window's map h = w, channels of its pixels, input bits (8: the first window, fed by the host),
#: channels in front of the producer conv or 0 (the window reads the input: no counts), (PE, SIMD) of the
#: window's convolution, its output channels)
DESIGNS = {
    "CNV window 1: 28x28x1, 8-bit pixels": (28, 1, 8, 0, (2, 3), 8),
    "CNV window 2: 26x26x32 + counts": (26, 32, 1, 4, (1, 96), 8),
    "CNV window 3: 12x12x32 (after a pool)": (12, 32, 1, 0, (1, 72), 8),
    "CNV window 4: 10x10x64 + counts": (10, 64, 1, 8, (1, 96), 8),
    "28x28x64": (28, 64, 1, 0, (1, 96), 8),
}
QUICK = ["CNV window 4: 10x10x64 + counts"]
LAYOUTS = ("srl", "ram")


def model_of(hw: int, c: int, bits: int, c_in: int, fold: tuple[int, int], m: int) -> IRModel:
    """[producer conv (c_in -> c), folded, which counts its pixels' +1 bits] -> the window's conv ({alpha, beta}
    levels) -> a two-score tail."""
    rng = np.random.default_rng(0)
    layers = []
    side = hw + 2 if c_in else hw  # the producer's unpadded 3 x 3 window: the map it writes is two smaller
    shape, vtype = (side, side, c_in or c), ValueType(bits, False) if bits > 1 else BIPOLAR
    spec = InputSpec(shape, vtype)
    if c_in:
        layers.append(random_mvu(rng, "src", "conv", shape, c, pe=c // 8, simd=9 * c_in, pad=0, in_type=vtype))
        shape, vtype = layers[-1].out_shape, BIPOLAR
    pe, simd = fold
    layers.append(random_mvu(rng, "conv", "conv", shape, m, pe=pe, simd=simd, pad=0, levels=(-1, 7), in_type=vtype))
    layers.append(random_mvu(rng, "tail", "dense", layers[-1].out_shape, 2, output=True))
    return IRModel("lines", spec, layers, Head(np.ones(2), np.zeros(2))).validate()


def measure(name: str, layout: str) -> dict:
    model = model_of(*DESIGNS[name])
    opts = GenOptions(style="dense", window_lines=layout)
    tag = "".join(ch if ch.isalnum() else "_" for ch in name.split(":")[0]).lower()
    design = generate(model, opts, name=f"lines_{tag}_{layout}")
    folder = WORK / design.name
    design.write(folder)
    t0 = time.perf_counter()
    rep = run_yosys(design, folder)
    inst = next(k for k in rep.instances if k.endswith("conv_swu"))
    win = rep.instances[inst]
    text = next(v for f, v in design.files.items() if f.endswith("conv_swu.v"))
    chk = rtl_check(design, model, SAMPLES, layer="tail")
    return {"layout": layout, "window_LUT": win["LUT"], "window_LUTRAM": win["LUTRAM"], "window_SRL": win["SRL"],
            "window_FF": win["FF"], "total_LUT": rep.total["LUT"], "ram_in_rtl": "dlm" in text,
            "counts_in_rtl": "in_sum" in text, "line": line_shape(text) if layout == "srl" else None, "rtl": chk,
            "seconds": round(time.perf_counter() - t0, 1)}


def line_shape(swu_text: str) -> tuple[int, int]:
    """(steps, bits) of a window's delay lines, read off its shift-register layout: the rule's arguments (the
    k - 1 lines side by side, each pixel with its count where it carries one)."""
    m = re.search(r"reg \[(\d+):0\] dl0 \[0:(\d+)\];", swu_text)
    lines = len(re.findall(r"reg \[\d+:0\] dl\d+ \[0:\d+\];", swu_text))
    return int(m.group(2)) + 1, lines * (int(m.group(1)) + 1)


def markdown(res: dict) -> str:
    L = ["# Sliding-window delay lines: shift registers or one distributed RAM", "",
         "Each window built both ways inside a small network (its producer, the convolution that reads it, a "
         "two-score tail), synthesized with Yosys (synth_xilinx, xc7z020) and checked in Verilator on "
         f"{SAMPLES:,} random inputs (RTL == bit-exact simulator, latency and interval == cycle model). The rule "
         "is `sbnn.hw.rtl.units.line_ram(steps, bits)`; 'window LUT' counts LUT-RAM and SRLs as the LUTs they "
         "occupy. Reproduce: `python benchmarks/hw_line_ram.py`.", "",
         "| window | line steps x bits | counts | SRL: window LUT (SRL) / FF | RAM: window LUT (LUT-RAM) / FF | "
         "rule picks | fewer LUTs | RTL checks |",
         "|---|---|---|---|---|---|---|---|"]
    agree = 0
    for name, r in res["designs"].items():
        s, m = r["srl"], r["ram"]
        steps, bits = r["line"]
        pick = "RAM" if r["rule_ram"] else "SRL"
        best = "RAM" if m["window_LUT"] < s["window_LUT"] else "SRL" if s["window_LUT"] < m["window_LUT"] else "equal"
        agree += best in (pick, "equal")
        ok = all(v["rtl"]["equal"] and v["rtl"]["timing_equals_cycle_model"] for v in (s, m))
        L.append(f"| {name} | {steps} x {bits} | {'yes' if s['counts_in_rtl'] else 'no'} | {s['window_LUT']} "
                 f"({s['window_SRL']}) / {s['window_FF']} | {m['window_LUT']} ({m['window_LUTRAM']}) / {m['window_FF']} "
                 f"| {pick} | {best} | {'both ==' if ok else 'MISMATCH'} |")
    L += ["", f"The rule picks the layout with fewer LUTs (or one of two equal) for {agree} of {len(res['designs'])} "
          "windows.", "", f"Machine: {res['machine']}"]
    return "\n".join(L) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the 1:8 CNV's fourth window only")
    a = ap.parse_args()
    res = {"machine": machine(), "samples": SAMPLES, "designs": {}}
    for name in QUICK if a.quick else DESIGNS:
        row = {}
        for layout in LAYOUTS:
            row[layout] = measure(name, layout)
            v = row[layout]
            print(f"{name:40s} {layout}: window {v['window_LUT']} LUT (LUT-RAM {v['window_LUTRAM']}, SRL "
                  f"{v['window_SRL']}), FF {v['window_FF']}; RTL == sim {v['rtl']['equal']}, cycles == model "
                  f"{v['rtl']['timing_equals_cycle_model']} ({v['seconds']} s)", flush=True)
        steps, bits = row["srl"]["line"]
        row.update(line=[steps, bits], rule_ram=units.line_ram(steps, bits))
        if row["srl"]["ram_in_rtl"] or not row["ram"]["ram_in_rtl"]:
            raise SystemExit(f"{name}: the layouts were not built as asked")
        res["designs"][name] = row
    save("hw_line_ram" + ("_quick" if a.quick else ""), res, markdown(res))


if __name__ == "__main__":
    main()
