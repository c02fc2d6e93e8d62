"""The word buffer before and after: a dense layer fed pixel by pixel, built with its collector and K-bit vector
FIFO (the MVU picks each slice with a K/SIMD:1 multiplexer) and with the word buffer that replaces both
(``sbnn.arch.buffer``: the vector in distributed RAM in the MVU's read order), side by side in one run.

Designs: the CNV-style net's first FC layer (a 4 x 4 x 64 map after the last pool -> 128, 64-bit beats) as the
dense BNN builds it (XNOR, PE 1 x SIMD 4) and as the 1:8 network's automatic folding does (N:M, PE 1 x SIMD 256),
and the Fashion-MNIST SFC's first layer (28 x 28 x 1 binarized pixels, one per beat -> 256) at PE 2 x SIMD 112
as the dense BNN (XNOR) and the 1:8i network (interleaved N:M) build it. Random masks and thresholds with the
levels of those networks. Per design: Yosys synth_xilinx (xc7z020) of the layer with its input unit, split
into the MVU instance, the input unit (collector or word buffer) and the stream FIFOs; and an RTL check of both
variants on 1,000 random inputs (Verilator: the layer's output bits == the bit-exact simulator, latency and
interval == the cycle model, and equal between the two variants).

    python benchmarks/hw_word_buffer.py            # ~10 minutes on 2 cores (Yosys cached by RTL digest)
    python benchmarks/hw_word_buffer.py --quick    # the CNV layers only
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from common import machine
from hw_common import WORK, rtl_check, save

from sbnn.hw.rtl.design import GenOptions, generate
from sbnn.hw.synth.report import bram36
from sbnn.hw.synth.yosys import run_yosys
from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel
from sbnn.ir.synthetic import random_mvu

SAMPLES = 1000
#: name -> (input map, outputs, style, PE, SIMD, structure, levels)
DESIGNS = {
    "CNV FC1, dense BNN (XNOR 1 x 4)": ((4, 4, 64), 128, "dense", 1, 4, "none", (-1, 1)),
    "CNV FC1, 1:8 (N:M 1 x 256)": ((4, 4, 64), 128, "nm", 1, 256, "1:8", (-1, 7)),
    "Fashion SFC FC0, dense BNN (XNOR 2 x 112)": ((28, 28, 1), 256, "dense", 2, 112, "none", (-1, 1)),
    "Fashion SFC FC0, 1:8i (N:M 2 x 112)": ((28, 28, 1), 256, "nm", 2, 112, "1:8i", (-1, 7)),
}
QUICK = list(DESIGNS)[:2]


def model_of(shape: tuple[int, int, int], m: int, pe: int, simd: int, structure: str,
             levels: tuple[int, int]) -> IRModel:
    rng = np.random.default_rng(0)
    layer = random_mvu(rng, "fc", "dense", shape, m, sparsity=0.5, pe=pe, simd=simd, levels=levels,
                       structure=structure)
    tail = random_mvu(rng, "tail", "dense", (1, 1, m), 2, output=True)
    return IRModel("wb", InputSpec(shape, BIPOLAR), [layer, tail], Head(np.ones(2), np.zeros(2))).validate()


def unit_class(inst: str) -> str:
    if inst.startswith("u_fifo"):
        return "fifo"
    return "input unit" if inst.endswith("_col") else "mvu" if "_mvu" in inst or inst.endswith("_fc") else "other"


def measure(name: str, on: bool) -> dict:
    shape, m, style, pe, simd, structure, levels = DESIGNS[name]
    model = model_of(shape, m, pe, simd, structure, levels)
    tag = "".join(ch if ch.isalnum() else "_" for ch in name).lower()
    design = generate(model, GenOptions(style=style, pixels_per_beat=1, word_buffers=on), upto="fc",
                      name=f"wb_{tag}_{int(on)}")
    folder = WORK / design.name
    design.write(folder)
    rep = run_yosys(design, folder)
    per: dict[str, dict] = {}
    for inst, res in rep.instances.items():
        c = per.setdefault(unit_class(inst), {"LUT": 0, "LUTRAM": 0, "FF": 0})
        for key in c:
            c[key] += res.get(key, 0)
    return {"word_buffer": on, "buffered": any(s.word_buffer for s in design.stages), "LUT": rep.total["LUT"],
            "LUTRAM": rep.total["LUTRAM"], "FF": rep.total["FF"], "BRAM36": bram36(rep.total),
            "classes": per, "synth_seconds": round(rep.elapsed_s, 1),
            "rtl": rtl_check(design, model, SAMPLES)}


def markdown(out: dict) -> str:
    L = ["# Word buffer before / after: a dense layer fed pixel by pixel", "",
         "Each layer built twice by the same generator: `word_buffers=False` (collector, K-bit vector FIFO, "
         "the MVU's slice multiplexer) and the default word buffer (the vector in distributed RAM in the MVU's "
         "read order). Yosys synth_xilinx, xc7z020; LUT includes LUTRAM. RTL: Verilator on "
         f"{SAMPLES:,} random inputs, the layer's bits == the bit-exact simulator and latency / interval == the cycle "
         "model. Reproduce: `python benchmarks/hw_word_buffer.py`.", "",
         "| layer | input unit | LUT | / before | LUTRAM | FF | MVU LUT | input unit LUT | FIFO LUT | BRAM36 "
         "| latency | interval | RTL |",
         "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in out["designs"]:
        before = row["variants"][0]["LUT"]
        for v in row["variants"]:
            c = v["classes"]
            rtl = v["rtl"]
            ok = "== , cycles == model" if rtl["equal"] and rtl["timing_equals_cycle_model"] else "**MISMATCH**"
            L.append(f"| {row['name']} | {'word buffer' if v['buffered'] else 'collector + FIFO'} | {v['LUT']:,} | "
                     f"{v['LUT'] / before:.2f} | {v['LUTRAM']:,} | {v['FF']:,} | {c.get('mvu', {}).get('LUT', 0):,} | "
                     f"{c.get('input unit', {}).get('LUT', 0):,} | {c.get('fifo', {}).get('LUT', 0):,} | "
                     f"{v['BRAM36']:g} | {rtl['latency']:,} | {rtl['interval']:,} | {ok} |")
    return "\n".join(L) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the CNV layers only")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = []
    for name in QUICK if args.quick else DESIGNS:
        variants = [measure(name, on) for on in (False, True)]
        a, b = variants
        # the buffer must not cost throughput or latency (held vectors made the buffered layer a clock faster:
        # its MVU reads the buffer's first slice where the held one copies the FIFO head first)
        same = a["rtl"]["interval"] == b["rtl"]["interval"] and b["rtl"]["latency"] <= a["rtl"]["latency"]
        rows.append({"name": name, "variants": variants, "timing_unchanged": same})
        print(f"{name}: {a['LUT']:,} -> {b['LUT']:,} LUT, FF {a['FF']:,} -> {b['FF']:,}, same interval and no "
              f"longer latency: {same}", flush=True)
    out = {"machine": machine(), "seconds": round(time.perf_counter() - t0, 1), "quick": args.quick,
           "designs": rows}
    bad = [r["name"] for r in rows for v in r["variants"]
           if not (v["rtl"]["equal"] and v["rtl"]["timing_equals_cycle_model"])] + \
          [r["name"] for r in rows if not r["timing_unchanged"] or not r["variants"][1]["buffered"]]
    save("hw_word_buffer_quick" if args.quick else "hw_word_buffer", out, markdown(out))
    if bad:
        print(f"FAILED: {', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
