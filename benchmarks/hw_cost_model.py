"""The cost model against Yosys: every MVU style on a grid of single layers, estimate vs synthesized LUTs.

The folding step ranks implementations by ``sbnn.arch.cost.logic_estimate``; this benchmark shows how far
that estimate is from Yosys (synth_xilinx for the xc7z020, LUTs of the MVU instance: lanes, memories left
in logic, S'(x), thresholds, control), design by design, and refits its coefficients: ``--fit`` solves a
non-negative least-squares problem on the grid (relative errors: every design weighs the same) and prints
the numbers to store in ``sbnn/arch/cost.py`` (``COEFFS``); the tables then show the stored model.

The grid: dense XNOR, zero-skipping (full, segmented, distributed-RAM gathers; index and gap codes), N:M
(1:4, 1:8, 2:8, 1:16) and block:B layers, unrolled layers; K from 64 to 784, PE from 1 to 32, bipolar and
8-bit inputs, {alpha, beta} levels (-7, 57: the main job's), {-1, +1} and {0, 1}.

    python benchmarks/hw_cost_model.py            # synthesize (cached by RTL digest), print and write results
    python benchmarks/hw_cost_model.py --fit      # ... and fit the coefficients
    python benchmarks/hw_cost_model.py --no-synth # estimates only (seconds)
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
from hw_common import case_design, save, synth
from scipy.optimize import nnls

from sbnn.arch.cost import COEFFS, features, mvu_estimate

AB, PM1, ZO = (-7, 57), (-1, 1), (0, 1)


def _grid() -> dict[str, dict]:
    g: dict[str, dict] = {}

    def add(name: str, style: str, k: int, m: int, pe: int, simd: int, **kw) -> None:
        g[name] = dict(style=style, k=k, m=m, pe=pe, simd=simd, **kw)

    # the 256 x 256 layers of hw_structure.py (same parameters: one synthesis serves both benchmarks)
    n8, n16 = dict(structure="1:8", sparsity=0.875), dict(structure="1:16", sparsity=0.9375)
    for pe, simd in ((1, 128), (2, 64), (4, 32), (8, 16), (16, 8), (32, 4)):
        add(f"dense_256_p{pe}s{simd}_ab", "dense", 256, 256, pe, simd, levels=AB, **n8)
    for pe, simd in ((1, 128), (4, 32), (16, 8)):
        add(f"dense_256_p{pe}s{simd}_pm1", "dense", 256, 256, pe, simd, levels=PM1, **n8)
    for pe, simd in ((1, 128), (2, 64), (4, 32), (8, 16), (16, 8)):
        add(f"nm1of8_256_p{pe}s{simd}_ab", "nm", 256, 256, pe, simd, levels=AB, **n8)
    for pe, simd in ((1, 128), (2, 64), (4, 32), (8, 16)):
        add(f"nm1of16_256_p{pe}s{simd}_ab", "nm", 256, 256, pe, simd, levels=AB, **n16)
    # the Fashion SFC's first layer (K = 784: seven or more slices, where the slice and pick multiplexers of
    # the N:M lanes merge or not)
    for pe, simd in ((1, 392), (2, 112), (4, 56), (1, 784)):
        add(f"nm1of8_784x256_p{pe}s{simd}_ab", "nm", 784, 256, pe, simd, levels=AB, **n8)
    for pe, simd in ((1, 392), (2, 112), (4, 56)):
        add(f"dense_784x256_p{pe}s{simd}_ab", "dense", 784, 256, pe, simd, levels=AB, **n8)
    # other shapes, inputs and levels
    add("dense_128x64_p4s16_ab", "dense", 128, 64, 4, 16, levels=AB)
    add("dense_64x32_p32s2_ab", "dense", 64, 32, 32, 2, levels=AB)
    add("dense_64x32_u8_p4s8_ab", "dense", 64, 32, 4, 8, levels=AB, in_bits=8)
    add("dense_256x64_p16s16_ab_scores", "dense", 256, 64, 16, 16, levels=AB, output=True)
    add("nm1of4_256x64_p4s16_ab", "nm", 256, 64, 4, 16, structure="1:4", levels=AB)
    add("nm1of4_128x32_p2s32_zo", "nm", 128, 32, 2, 32, structure="1:4", levels=ZO)
    add("nm2of8_256x64_p2s32_pm1", "nm", 256, 64, 2, 32, structure="2:8", levels=PM1)
    add("nm1of8_128x64_p8s64_ab", "nm", 128, 64, 8, 64, structure="1:8", levels=AB)
    add("nm1of8_64x32_u8_p2s16_ab", "nm", 64, 32, 2, 16, structure="1:8", levels=AB, in_bits=8)
    add("nm1of16_256x64_p16s64_ab_scores", "nm", 256, 64, 16, 64, structure="1:16", levels=AB, output=True)
    # block:B
    add("blk8_256_p1s16_ab", "block", 256, 256, 1, 16, structure="block:8", sparsity=0.875, levels=AB)
    add("blk8_256x64_p4s16_pm1", "block", 256, 64, 4, 16, structure="block:8", sparsity=0.875, levels=PM1)
    add("blk4_128x32_p2s8_ab", "block", 128, 32, 2, 8, structure="block:4", sparsity=0.75, levels=AB)
    add("blk16_256x64_p8s16_zo", "block", 256, 64, 8, 16, structure="block:16", sparsity=0.9375, levels=ZO)
    add("blk8_64x32_u8_p2s16_ab", "block", 64, 32, 2, 16, structure="block:8", sparsity=0.75, levels=AB, in_bits=8)
    # zero-skipping with gathers
    add("sparse_full_128x64_p4s4_s90_ab", "sparse", 128, 64, 4, 4, sparsity=0.9, levels=AB)
    add("sparse_full_256x64_p2s8_s90_pm1", "sparse", 256, 64, 2, 8, sparsity=0.9, levels=PM1)
    add("sparse_full_64x32_p4s8_s50_ab", "sparse", 64, 32, 4, 8, sparsity=0.5, levels=AB)
    add("sparse_full_128x32_p2s4_s90_delta_ab", "sparse", 128, 32, 2, 4, sparsity=0.9, levels=AB, coding="delta")
    add("sparse_full_256x64_p4s8_row90_ab", "sparse", 256, 64, 4, 8, sparsity=0.9, structure="row", levels=AB)
    add("sparse_seg_256x64_p4s8_s90_ab", "sparse", 256, 64, 4, 8, sparsity=0.9, levels=AB, gather="segmented")
    add("sparse_seg_128x32_p2s16_s75_pm1", "sparse", 128, 32, 2, 16, sparsity=0.75, levels=PM1, gather="segmented")
    add("sparse_lut_256x64_p2s16_s90_ab", "sparse", 256, 64, 2, 16, sparsity=0.9, levels=AB, gather="lutram")
    add("sparse_lut1_256x64_p2s16_s90_ab", "sparse", 256, 64, 2, 16, sparsity=0.9, levels=AB, gather="lutram1")
    add("sparse_lut_200x32_p4s4_s90_pm1", "sparse", 200, 32, 4, 4, sparsity=0.9, levels=PM1, gather="lutram")
    add("sparse_lut1_130x16_p2s2_s80_ab", "sparse", 130, 16, 2, 2, sparsity=0.8, levels=AB, gather="lutram1")
    add("sparse_lut_64x32_u8_p2s8_s80_ab", "sparse", 64, 32, 2, 8, sparsity=0.8, levels=AB, gather="lutram",
        in_bits=8)
    # unrolled (weights become wiring)
    add("unrolled_sparse_64x32_s90_ab", "sparse", 64, 32, 32, 64, sparsity=0.9, levels=AB)
    add("unrolled_sparse_32x16_s50_pm1", "sparse", 32, 16, 16, 32, sparsity=0.5, levels=PM1)
    add("unrolled_sparse_128x16_s95_zo", "sparse", 128, 16, 16, 128, sparsity=0.95, levels=ZO)
    add("unrolled_dense_32x16_pm1", "dense", 32, 16, 16, 32, levels=PM1)
    add("unrolled_dense_24x8_ab", "dense", 24, 8, 8, 24, levels=AB)
    return g


GRID = _grid()


def design(name: str):
    return case_design(**GRID[name])


def fit(rows: list[dict]) -> dict[str, float]:
    """Non-negative least squares on relative errors (each design weighs the same); features no design
    exercises keep their stored value."""
    names = [n for n in COEFFS if any(r["features"][n] for r in rows)]
    a = np.array([[r["features"][n] / r["lut"] for n in names] for r in rows])
    coef, _ = nnls(a, np.ones(len(rows)))
    out = dict(COEFFS)
    out.update({n: round(float(c), 4) for n, c in zip(names, coef)})
    return out


def leave_one_out(rows: list[dict]) -> list[float]:
    """Each design's relative error under the coefficients fitted to all the others: the error to expect
    on a design the fit has not seen."""
    return [round(estimate(r, fit(rows[:i] + rows[i + 1:])) / r["lut"] - 1, 4)
            for i, r in enumerate(rows)]


def estimate(row: dict, coeffs: dict[str, float]) -> float:
    return float(sum(coeffs[n] * v for n, v in row["features"].items()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit", action="store_true", help="fit the coefficients (non-negative least squares)")
    ap.add_argument("--no-synth", action="store_true", help="estimates only")
    ap.add_argument("--only", help="designs whose name contains this")
    args = ap.parse_args()
    rows = []
    for name in GRID:
        if args.only and args.only not in name:
            continue
        d = design(name)
        layer, plan = d.model.layers[0], d.stages[-1].plan
        row = {"design": name, **{k: v for k, v in GRID[name].items() if k in ("style", "k", "m", "pe", "simd")},
               "gather": plan.gather if plan.style == "sparse" else None, "coding": plan.coding,
               "clocks": plan.T, "memory_bits": plan.memory_bits,
               "features": features(layer, plan), "estimate": round(mvu_estimate(layer, plan), 1)}
        if not args.no_synth:
            r = synth(d, timeout=1800)
            row.update(lut=r["mvu"]["LUT"], ff=r["mvu"]["FF"], bram36=r["mvu"]["BRAM36"] + r["mvu"]["BRAM18"] / 2,
                       seconds=r["seconds"])
            row["error"] = round(row["estimate"] / row["lut"] - 1, 4)
            print(f"{name}: Yosys {row['lut']} LUT, estimate {row['estimate']:.0f} ({row['error']:+.0%})",
                  file=sys.stderr, flush=True)
        rows.append(row)
    out = {"coeffs": dict(COEFFS), "designs": rows}
    if args.fit and not args.no_synth:
        out["fitted"] = fit(rows)
        for r, loo in zip(rows, leave_one_out(rows)):
            r["fit_estimate"] = round(estimate(r, out["fitted"]), 1)
            r["fit_error"] = round(r["fit_estimate"] / r["lut"] - 1, 4)
            r["loo_error"] = loo
    if not args.only:
        save("hw_cost_model", out, markdown(out))
    else:
        print(markdown(out))
    return 0


def _summary(rows: list[dict], key: str) -> str:
    err = np.abs([r[key] for r in rows])
    return f"median |error| {np.median(err):.1%}, mean {np.mean(err):.1%}, max {np.max(err):.1%}"


def markdown(out: dict) -> str:
    rows = out["designs"]
    synthd = [r for r in rows if "lut" in r]
    L = ["# Cost model vs Yosys (MVU instance LUTs, synth_xilinx xc7z020)", ""]
    if synthd:
        L += [f"Stored model (sbnn/arch/cost.py): {_summary(synthd, 'error')} over {len(synthd)} designs."]
        if "fitted" in out:
            L += ["", f"Fitted now: {_summary(synthd, 'fit_error')}; each design predicted by the fit to all the "
                  f"others (leave-one-out): {_summary(synthd, 'loo_error')}. Coefficients:", "",
                  "| feature | stored | fitted |", "|---|---:|---:|"]
            L += [f"| {n} | {out['coeffs'][n]:g} | {out['fitted'][n]:g} |" for n in out["coeffs"]]
        by_style: dict[str, list[dict]] = {}
        for r in synthd:
            by_style.setdefault(r["style"] if r["pe"] * r["simd"] < r["m"] * r["k"] else "unrolled", []).append(r)
        L += ["", "| style | designs | error of the stored model |", "|---|---:|---|"]
        L += [f"| {s} | {len(rs)} | {_summary(rs, 'error')} |" for s, rs in by_style.items()]
    L += ["", "| design | style | K | M | PE | SIMD | clocks | weight bits | Yosys LUT | BRAM36 | estimate | error |"
          + (" fitted | error | leave-one-out |" if "fitted" in out else ""),
          "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|---:|" if "fitted" in out else "")]
    for r in rows:
        line = (f"| {r['design']} | {r['style']}{'/' + r['gather'] if r.get('gather') else ''} | {r['k']} | {r['m']} | "
                f"{r['pe']} | {r['simd']} | {r['clocks']} | {r['memory_bits']:,} | {r.get('lut', '-')} | "
                f"{r.get('bram36', '-')} | {r['estimate']:.0f} | {r['error']:+.0%} |" if "lut" in r else
                f"| {r['design']} | {r['style']} | {r['k']} | {r['m']} | {r['pe']} | {r['simd']} | {r['clocks']} | "
                f"{r['memory_bits']:,} | - | - | {r['estimate']:.0f} | - |")
        if "fit_estimate" in r:
            line += f" {r['fit_estimate']:.0f} | {r['fit_error']:+.0%} | {r['loo_error']:+.0%} |"
        L.append(line)
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    sys.exit(main())
