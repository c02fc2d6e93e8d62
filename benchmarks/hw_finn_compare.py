"""Dense W1A1 TFC / SFC / LFC at FINN's folding: our Yosys numbers next to FINN's estimates.

For each MLP (784 - H x 3 - 10, H = 64 / 256 / 1024; random weights: a dense design's resources do not
depend on the weight values) the IR is built with FINN's folding (a) of finn_baseline.md and generated in
the *dense XNOR* style, i.e. the same FINN-like architecture without zero skipping. Per MVU layer the
table lists our synthesized LUT / FF / BRAM (Yosys synth_xilinx, xc7z020), FINN's analytical LUT /
BRAM18 estimate (benchmarks/finn_model.py, checked against finn-plus) and the cycles of both models; per
network the totals, and BNN-PYNQ's published LFC figures (full system, Vivado).

    python benchmarks/hw_finn_compare.py                 # TFC, SFC, LFC (LFC: tens of minutes in yowasp)
    python benchmarks/hw_finn_compare.py --models TFC SFC --timeout 1200
"""

from __future__ import annotations

import argparse

import numpy as np
from finn_model import MLPS, bram18, exp_cycles, lut, mlp_layers
from hw_common import WORK, save

from sbnn.arch import folding
from sbnn.errors import HardwareError
from sbnn.hw.rtl.design import GenOptions, generate
from sbnn.hw.synth.yosys import run_yosys
from sbnn.ir.fold import UP
from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel, Threshold, ValueType
from sbnn.ir.synthetic import random_mvu

#: finn-plus 1.6.1 per-layer estimates, folding (a) (finn_baseline.md): (LUT, BRAM18) per MVAU, + thresholding
FINN_PLUS = {"TFC": ([(5615, 22), (766, 2), (766, 2), (963, 0)], 392, (8502, 26)),
             "SFC": ([(49861, 200), (28319, 114), (28319, 114), (1394, 5)], 224, (108117, 433)),
             "LFC": ([(10930, 44), (14450, 57), (14133, 57), (1087, 0)], 392, (40992, 158))}
#: BNN-PYNQ LFC-W1A1 on the PYNQ-Z1/Z2, full system incl. the shell (anchors.md 1a)
BNN_PYNQ_LFC = {"LUT": 28360, "FF": 33470, "BRAM36_eq": 110, "fps": 356633}


def mlp_model(name: str, seed: int = 0) -> IRModel:
    dims, folds, _ = MLPS[name]
    rng = np.random.default_rng(seed)
    spec = InputSpec((28, 28, 1), ValueType(8, False))
    layers = [Threshold("input", (28, 28, 1), np.array([128], np.int64), np.array([UP], np.int8))]
    shape = (28, 28, 1)
    for i in range(len(dims) - 1):
        last = i == len(dims) - 2
        layer = random_mvu(rng, f"mvu{i}", "dense", shape, dims[i + 1], sparsity=0.5, in_type=BIPOLAR,
                           output=last, levels=(-1, 1))
        layers.append(layer)
        shape = layer.out_shape
    model = IRModel(name.lower(), spec, layers, Head(np.ones(10), np.zeros(10))).validate()
    return folding.apply(model, {f"mvu{i}": {"PE": pe, "SIMD": simd} for i, (pe, simd) in enumerate(folds)})


def run(name: str, timeout: float | None, rom: str) -> dict:
    """rom "finn": weight ROMs in BRAM where FINN's estimate uses BRAM, else LUTs; "auto": Yosys decides."""
    model = mlp_model(name)
    roms = {f"mvu{i}": {"weight_rom": "block" if bram18(c) else "distributed"} for i, c in enumerate(mlp_layers(name))}
    impls = folding.resolve_impls(model, roms if rom == "finn" else None, style="dense")
    # no word buffer (sbnn.arch.buffer): the first MVU picks its slices out of the K-bit vector itself, as FINN's
    # MVAU reads its own input buffer, so that the per-MVU figures hold the same work on both sides
    design = generate(model, GenOptions(pixels_per_beat=49, word_buffers=False),
                      name=f"finn_{name.lower()}" + ("_rom" if rom == "finn" else ""), impls=impls)
    folder = WORK / design.name
    design.write(folder)
    row = {"model": name, "rom": rom, "dims": MLPS[name][0], "folding": MLPS[name][1],
           "ours_interval_cycles": design.perf.interval, "ours_latency_cycles": design.perf.latency,
           "ours_fps_100MHz": design.perf.fps(100.0)}
    try:
        rep = run_yosys(design, folder, timeout=timeout)
        row["synth_seconds"] = round(rep.elapsed_s, 1)  # of the run that produced the numbers (cache or not)
        row["synth_cached"] = rep.cached
    except HardwareError as exc:
        row["synth_error"] = str(exc).splitlines()[0]
        rep = None
    finn_layers, thr_lut, finn_total = FINN_PLUS[name]
    layers = []
    for i, cfg in enumerate(mlp_layers(name)):
        st = next(s for s in design.stages if s.kind == "mvu" and s.layer == i + 1)
        ours = rep.instances.get(f"u_{st.name}") if rep else None
        layers.append({"layer": f"mvu{i}", "MW": cfg.mw, "MH": cfg.mh, "PE": cfg.pe, "SIMD": cfg.simd,
                       "ours": ours, "ours_cycles": st.cycles, "finn_cycles": exp_cycles(cfg),
                       "finn_lut_est": lut(cfg), "finn_bram18_est": bram18(cfg),
                       "finn_plus_lut": finn_layers[i][0], "finn_plus_bram18": finn_layers[i][1]})
    row["layers"] = layers
    row["ours_total"] = rep.total if rep else None
    row["ours_fits"] = rep.fits if rep else None
    row["finn_est_total"] = {"LUT": sum(lut(c) for c in mlp_layers(name)) + thr_lut,
                             "BRAM18": sum(bram18(c) for c in mlp_layers(name))}
    row["finn_plus_total"] = {"LUT": finn_total[0], "BRAM18": finn_total[1]}
    row["finn_max_cycles"] = max(exp_cycles(c) for c in mlp_layers(name))
    return row


def _b36(t: dict | None) -> str:
    return "-" if not t else f"{t['BRAM36'] + t['BRAM18'] / 2:g}"


def markdown(rows: list[dict]) -> str:
    L = ["# Dense W1A1 MLPs at FINN's folding: sbnn (Yosys) vs FINN's analytical model", "",
         "Ours: the sbnn dense-XNOR style (no zero skipping), Yosys 0.70 synth_xilinx for xc7z020, per MVU instance "
         "(weights in ROM, thresholds in ROM, input vector FIFO not included). FINN: analytical LUT / BRAM18 "
         "estimates (our re-implementation equals finn-plus 1.6.1 on every W1A1 layer).", ""]
    for r in rows:
        where = "weight ROMs placed like FINN (BRAM where FINN uses BRAM)" if r["rom"] == "finn" else \
            "weight ROMs placed by Yosys"
        L += [f"## {r['model']} ({'-'.join(map(str, r['dims']))}), folding (PE, SIMD) = {r['folding']}; {where}", ""]
        if "synth_error" in r:
            L += [f"Synthesis did not finish: {r['synth_error']}", ""]
        L += ["| layer | MW x MH | PE, SIMD | ours LUT | ours FF | ours BRAM36 | FINN est. LUT | FINN est. BRAM18 | "
              "ours cycles | FINN cycles |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
        for x in r["layers"]:
            o = x["ours"]
            L.append(f"| {x['layer']} | {x['MW']} x {x['MH']} | {x['PE']}, {x['SIMD']} | {o['LUT'] if o else '-':,} | "
                     f"{o['FF'] if o else '-':,} | {_b36(o)} | {x['finn_lut_est']:,} | {x['finn_bram18_est']} | "
                     f"{x['ours_cycles']} | {x['finn_cycles']} |" if o else
                     f"| {x['layer']} | {x['MW']} x {x['MH']} | {x['PE']}, {x['SIMD']} | - | - | - | "
                     f"{x['finn_lut_est']:,} | {x['finn_bram18_est']} | {x['ours_cycles']} | {x['finn_cycles']} |")
        t = r["ours_total"]
        L += ["", f"Totals: ours {t['LUT']:,} LUT, {t['FF']:,} FF, {_b36(t)} BRAM36-eq. (whole accelerator incl. "
                  f"thresholds, FIFOs, AXI glue; {'fits' if r['ours_fits'] else 'does NOT fit'} the xc7z020); "
              if t else "", f"FINN estimate {r['finn_est_total']['LUT']:,} LUT, {r['finn_est_total']['BRAM18']} BRAM18; "
              f"finn-plus reported {r['finn_plus_total']['LUT']:,} LUT, {r['finn_plus_total']['BRAM18']} BRAM18. "
              f"Interval: ours {r['ours_interval_cycles']} cycles ({r['ours_fps_100MHz']:,.0f} fps at 100 MHz), "
              f"FINN bottleneck {r['finn_max_cycles']} cycles."
              + (f" Yosys: {r['synth_seconds']} s." if 'synth_seconds' in r else ""), ""]
        if r["model"] == "LFC":
            b = BNN_PYNQ_LFC
            L += [f"BNN-PYNQ LFC-W1A1 (Vivado 2018.2, full system with the PS shell): {b['LUT']:,} LUT, {b['FF']:,} FF, "
                  f"{b['BRAM36_eq']} BRAM36 tiles, {b['fps']:,} fps.", ""]
    return "\n".join(L) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["TFC", "SFC", "LFC"], choices=list(MLPS))
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per Yosys run")
    ap.add_argument("--rom", nargs="+", default=["finn", "auto"], choices=["finn", "auto"],
                    help="weight-ROM placement: like FINN's ram_style, and/or as Yosys decides")
    args = ap.parse_args()
    rows = [run(n, args.timeout, rom) for n in args.models for rom in args.rom]
    save("hw_finn_compare", {"rows": rows}, markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
