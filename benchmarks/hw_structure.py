"""Structured masks at equal throughput: one 256 x 256 layer, N:M and block:B MVUs against the best dense
XNOR design (issue 12's goals for N:M: LUT <= 0.5 x, weight memory <= 0.4 x at 1:8 and <= 0.3 x at 1:16).

Rules, as for every "vs dense" figure of this project:

* one clock budget per table: ``T`` clocks per input vector (512 = the dense layer at PE x SIMD = 128);
* the dense XNOR baseline is searched by synthesis: every PE x SIMD whose clocks per vector equal the
  budget is synthesized, and the cheapest measured design is the baseline;
* the structured (and the unstructured zero-skipping) layer is the one the folding step selects for the
  budget with the cost model (``sbnn.arch.folding.auto`` for the style, gathers searched too): the design
  that is synthesized is the one that was selected. Where every N:M folding is synthesized too, the goal
  lines take the cheapest measured N:M folding, searched by synthesis like the dense baseline, and give
  the folding step's choice beside it (the cost model's ranking error);
* both sides compute the same layer - same mask (an N:M / block mask is a valid dense layer too), same
  weight levels; {alpha, beta} levels (-7, 57, the main job's) and {-1, +1} are separate tables
  ({-1, +1} lets the dense XNOR datapath drop S'(x) while a zero-skipping one still needs it);
* LUT = Yosys synth_xilinx LUTs of the MVU instance; the per-layer overhead outside it (the output FIFO)
  is its own column, and so is the part of the MVU that every style pays alike (thresholds, S'(x), the
  lane registers and compares, control; the cost model's estimate of it); weight memory = weight-memory
  bits (the memory's BRAM is in the BRAM column);
* every design runs in Verilator on 1,000 random inputs: its outputs equal the bit-exact simulator's, its
  latency and interval the cycle model's.

A second part repeats the 512-clock comparison on a *trained* 256 x 256 layer: the hidden layer mvu1 of the
Fashion-MNIST SFC trained with 1:8 and 1:16 masks (``benchmarks/train_structure.py --export``: its levels,
mask and thresholds), each side built from that same layer. The synthetic layers' thresholds are drawn
over the accumulator's typical range in both directions with a few constant channels (a threshold memory
Yosys cannot compress); trained ones are narrow and point one way (the trained 1:8 layer: 48 distinct
values in -26..29), so there the comparison is between the datapaths.

    python benchmarks/hw_structure.py             # synthesize (cached by RTL digest), print, write results
    python benchmarks/hw_structure.py --markdown-only  # rewrite the Markdown from the JSON results
    python benchmarks/hw_structure.py --trained-only   # re-measure the trained layers alone (retrained networks)
    python benchmarks/hw_structure.py --no-synth  # selection and memory only (seconds; printed, written only to
                                                  # $SBNN_BENCH_RESULTS, as run_all.py --quick sets it)
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from pathlib import Path

import numpy as np
from hw_common import RESULTS, case_design, layer_model, rtl_check, save, synth

from sbnn.arch import folding
from sbnn.arch.cost import COEFFS, features, threshold_layout, thresholds_ride
from sbnn.arch.impl import LayerImpl
from sbnn.arch.schedule import schedule, vector_clocks
from sbnn.hw.rtl.design import GenOptions, generate
from sbnn.ir import load as load_ir
from sbnn.ir.model import Head, InputSpec, IRModel
from sbnn.ir.synthetic import random_mvu

K = M = 256
LEVELS = {"ab": (-7, 57), "pm1": (-1, 1)}
#: (clock budget per vector, level set, every N:M folding or only the selected one, largest dense PE
#: synthesized) tables. At 64 clocks the dense foldings with PE >= 128 are left out (their lane registers
#: and compares alone, 128+ lanes, exceed the cheaper foldings, as the 512-clock table shows for PE >= 16),
#: and so is the unstructured layer (the cost model unrolls it: hours of Yosys for a reference row)
#: The last table puts every weight memory into BRAM (``weight_rom=block``; at 64 clocks Yosys leaves the wide,
#: shallow memories in logic, where they are most of the dense layer's LUTs)
#: The "stream" tables feed the layer its input as a stream of 1-bit beats (a 16 x 16 x 1 map, as a network's
#: first layer) instead of one vector per beat: the sliced MVUs then read their slices from a word buffer
#: and S'(x) is counted where the input is produced (the collector), as for every layer fed by a folded
#: MVU in a network (sbnn.arch.pipeline); their LUT column is the whole design (MVU, collector / word
#: buffer, FIFO)
TABLES = [(512, "ab", True, 256, "auto", "vector"), (512, "pm1", False, 256, "auto", "vector"),
          (64, "ab", False, 64, "auto", "vector"), (64, "ab", False, 64, "block", "vector"),
          (512, "ab", True, 128, "auto", "stream"), (512, "pm1", False, 128, "auto", "stream")]
#: input map of the stream tables
STREAM_SHAPE = (16, 16, 1)
#: random inputs of the RTL check of every design (Verilator == the simulator, cycles == the cycle model)
RTL_SAMPLES = 1000
#: structured layers: label -> (style, structure, sparsity)
STRUCTURED = {"N:M 1:8": ("nm", "1:8", 0.875), "N:M 1:16": ("nm", "1:16", 0.9375),
              "block:8, 87.5 %": ("block", "block:8", 0.875), "block:16, 93.75 %": ("block", "block:16", 0.9375),
              "unstructured, 87.5 %": ("sparse", "none", 0.875)}
GOALS = {"N:M 1:8": {"lut": 0.5, "memory": 0.4}, "N:M 1:16": {"lut": 0.5, "memory": 0.3}}
#: trained layers: label -> (exported run of benchmarks/train_structure.py, layer); the dense foldings go up
#: to PE 16 (PE >= 16 costs more in every synthetic table)
TRAINED = {"N:M 1:8": ("mlp-1of8", "mvu1"), "N:M 1:16": ("mlp-1of16", "mvu1")}
TRAINED_RUNS = Path(__file__).resolve().parents[1] / "runs" / "bench-structure"
TRAINED_BUDGET, TRAINED_MAX_PE = 512, 16
#: cost-model features every style pays alike (thresholds, S'(x), lane registers and compares, control)
SHARED = ("const", "lanes", "thr_rom", "s_tree")


def _row(label: str, style: str, structure: str, sparsity: float, levels: str, pe: int, simd: int, gather: str,
         rom: str, do_synth: bool, feed: str = "vector") -> dict:
    # the unstructured layer's weight coding as the flow resolves it (within 10 % extra clocks, which the
    # budget leaves it); index codes need no choice otherwise
    d = case_design(style, K, M, pe, simd, gather=gather, structure=structure, sparsity=sparsity,
                    levels=LEVELS[levels], coding="auto" if style == "sparse" else "index", weight_rom=rom,
                    in_shape=STREAM_SHAPE if feed == "stream" else None)
    row = {"design": label, "style": style, "structure": structure, "PE": pe, "SIMD": simd,
           "gather": gather if style == "sparse" else None, "coding": d.stages[-1].plan.coding, "weight_rom": rom}
    full = layer_model(K, M, pe, simd, structure=structure, sparsity=sparsity, levels=LEVELS[levels],
                       in_shape=STREAM_SHAPE if feed == "stream" else None)
    return _measured(d, row, do_synth, full, whole=feed == "stream")


def _measured(d, row: dict, do_synth: bool, model: IRModel, whole: bool = False) -> dict:
    """``row`` with the design's clocks, weight memory, the shared part's estimate and (``do_synth``) Yosys'
    numbers of its MVU instance and of the units outside it, and the design in Verilator on RTL_SAMPLES random
    inputs against ``model``'s simulator and the cycle model; ``whole``: a stream-fed design, whose LUT is the
    whole design's."""
    layer, plan = d.model.layers[0], d.stages[-1].plan
    feats = features(layer, plan)
    row.update(clocks=vector_clocks(plan, layer.in_features), memory_bits=plan.memory_bits,
               shared_estimate=round(sum(COEFFS[f] * feats[f] for f in SHARED)))
    if do_synth:
        r = synth(d)
        row.update(lut=r["mvu"]["LUT"], ff=r["mvu"]["FF"], bram36=r["mvu"]["BRAM36"] + r["mvu"]["BRAM18"] / 2,
                   fifo_lut=r["total"]["LUT"] - r["mvu"]["LUT"], total_lut=r["total"]["LUT"])
        if whole:
            row.update(lut=r["total"]["LUT"], ff=r["total"]["FF"], mvu_lut=r["mvu"]["LUT"],
                       bram36=r["total"]["BRAM36"] + r["total"]["BRAM18"] / 2)
        row["rtl"] = rtl_check(d, model, RTL_SAMPLES)
        print(f"{d.name}: {row['lut']} LUT, RTL {_rtl(row)}", file=sys.stderr, flush=True)
    return row


def _widens(structure: str, sparsity: float, levels: str, pe: int, simd: int, feed: str) -> bool:
    """Whether the N:M layer at PE x SIMD rides its thresholds only with a widened word (``weight_rom``
    "block-wide"): where they ride anyway, or not even so, that design is the "auto" one."""
    layer = layer_model(K, M, pe, simd, structure=structure, sparsity=sparsity, levels=LEVELS[levels],
                        in_shape=STREAM_SHAPE if feed == "stream" else None).layers[0]
    plan = schedule(layer, LayerImpl(pe, simd, "nm"))
    return threshold_layout(layer, plan, "block-wide")[0] > 0 and not thresholds_ride(layer, plan, "auto")


def _selected(style: str, structure: str, sparsity: float, levels: str, budget: int,
              rom: str, feed: str = "vector") -> tuple[int, int, str, str]:
    """PE, SIMD, gather and weight-memory placement the folding step chooses for the layer at ``budget`` clocks
    per vector (with the table's placement ``rom``; "auto" lets the search put a memory in block RAM)."""
    layer = layer_model(K, M, structure=structure, sparsity=sparsity, levels=LEVELS[levels],
                        in_shape=STREAM_SHAPE if feed == "stream" else None).layers[0]
    f, _ = folding.auto_layer(layer, budget, style, "auto" if style == "sparse" else "full", weight_rom=rom)
    return f["PE"], f["SIMD"], f.get("gather", "full"), f.get("weight_rom", rom)


def table(budget: int, levels: str, every_nm: bool, max_pe: int, rom: str, feed: str, do_synth: bool) -> dict:
    dense = [_row("dense XNOR", "dense", "1:8", 0.875, levels, pe, K * M // budget // pe, "full", rom, do_synth, feed)
             for pe in folding.divisors(M) if (K * M // budget) % pe == 0 and K % (K * M // budget // pe) == 0
             and K * M // budget // pe <= K and pe <= max_pe]
    out = {"budget": budget, "levels": LEVELS[levels], "weight_rom": rom, "feed": feed, "dense": dense,
           "structured": []}
    best = min(dense, key=lambda r: r["lut"]) if do_synth else None
    out["best_dense"] = best
    for label, (style, structure, sparsity) in STRUCTURED.items():
        if style == "sparse" and (max_pe < M or feed == "stream"):
            continue
        pe, simd, gather, own_rom = _selected(style, structure, sparsity, levels, budget, rom, feed)
        row = _row(label, style, structure, sparsity, levels, pe, simd, gather, own_rom, do_synth, feed)
        row["selected"] = True
        rows = [row]
        if style == "nm" and every_nm:  # every other N:M folding at the budget: the cost model's ranking
            g = int(structure.split(":")[1])
            for q in folding.divisors(M):
                s = K * M // budget // q
                if s * q == K * M // budget and s % g == 0 and K % s == 0 and (q, s) != (pe, simd):
                    rows.append(_row(label, style, structure, sparsity, levels, q, s, "full", rom, do_synth, feed))
            # and every N:M folding whose thresholds ride only in a widened block-RAM word ("block-wide": the
            # threshold memory and the wide compares in logic traded for block RAM; its BRAM column says how much)
            for r in list(rows):
                if _widens(structure, sparsity, levels, r["PE"], r["SIMD"], feed):
                    rows.append(_row(label, style, structure, sparsity, levels, r["PE"], r["SIMD"], "full",
                                     "block-wide", do_synth, feed))
        for r in rows:
            r["memory_ratio"] = r["memory_bits"] / (K * M)
            if best:
                r["lut_ratio"] = r["lut"] / best["lut"]
        out["structured"] += rows
    return out


def trained_model(run: str, layer_name: str, pe: int = 1, simd: int = 1) -> IRModel | None:
    """The trained layer as the first layer ``fc`` of a model (a random score tail, cut off by the design),
    or None when the run has not been exported here."""
    ir = TRAINED_RUNS / run / "export" / "ir"
    if not (ir.with_suffix(".json").exists() or ir.exists()):
        return None
    layer = copy.deepcopy(next(m for m in load_ir(ir).mvus if m.name == layer_name))
    layer.name, layer.pe, layer.simd = "fc", pe, simd
    tail = random_mvu(np.random.default_rng(0), "tail", "dense", (1, 1, layer.out_channels), 2, output=True)
    return IRModel(f"t_{run}", InputSpec(layer.in_shape, layer.in_type), [layer, tail],
                   Head(np.ones(2), np.zeros(2))).validate()


def _trained_row(label: str, run: str, layer_name: str, style: str, pe: int, simd: int, do_synth: bool) -> dict:
    model = trained_model(run, layer_name, pe, simd)
    name = "t_" + "".join(ch if ch.isalnum() else "_" for ch in f"{run}_{layer_name}_{style}_p{pe}s{simd}")
    d = generate(model, GenOptions(style=style), upto="fc", name=name)
    row = {"design": label if style != "dense" else "dense XNOR", "style": style, "PE": pe, "SIMD": simd,
           "gather": None}
    return _measured(d, row, do_synth, model)


def trained_table(label: str, do_synth: bool) -> dict | None:
    """Dense XNOR foldings vs the selected (and every other) N:M folding of one trained layer at the budget."""
    run, layer_name = TRAINED[label]
    model = trained_model(run, layer_name)
    if model is None:
        return None
    layer, budget = model.layers[0], TRAINED_BUDGET
    k, m, per = layer.in_features, layer.out_channels, layer.in_features * layer.out_channels // TRAINED_BUDGET
    dense = [_trained_row(label, run, layer_name, "dense", pe, per // pe, do_synth)
             for pe in folding.divisors(m) if per % pe == 0 and k % (per // pe) == 0 and pe <= TRAINED_MAX_PE]
    f, _ = folding.auto_layer(layer, budget, "nm", "full")
    sel = _trained_row(label, run, layer_name, "nm", f["PE"], f["SIMD"], do_synth)
    sel["selected"] = True
    g = int(str(layer.structure).split(":")[1])
    rows = [sel] + [_trained_row(label, run, layer_name, "nm", q, per // q, do_synth) for q in folding.divisors(m)
                    if per % q == 0 and (per // q) % g == 0 and k % (per // q) == 0 and (q, per // q) != (f["PE"], f["SIMD"])]
    best = min(dense, key=lambda r: r["lut"]) if do_synth else None
    for r in rows:
        r["memory_ratio"] = r["memory_bits"] / (k * m)
        if best:
            r["lut_ratio"] = r["lut"] / best["lut"]
    thr = np.asarray(layer.thresholds)
    return {"label": label, "run": run, "layer": layer_name, "budget": budget, "levels": [layer.w0, layer.w1],
            "thresholds": {"min": int(thr.min()), "max": int(thr.max()), "distinct": int(len(np.unique(thr)))},
            "weight_rom": "auto", "dense": dense, "best_dense": best, "structured": rows}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-synth", action="store_true", help="selection and memory only")
    ap.add_argument("--markdown-only", action="store_true", help="rewrite hw_structure.md from hw_structure.json")
    ap.add_argument("--trained-only", action="store_true", help="re-measure the trained layers' tables alone (after "
                    "their networks were retrained), keeping the synthetic tables of hw_structure.json")
    args = ap.parse_args(argv)
    if args.markdown_only or args.trained_only:
        out = json.loads((RESULTS / "hw_structure.json").read_text())
        if args.trained_only:  # each trained table has its own dense baseline, measured beside it: nothing mixes
            missing = [TRAINED[label][0] for label in TRAINED if trained_model(*TRAINED[label]) is None]
            if missing:  # never drop a measured table for want of its run
                print(f"error: no exported {', '.join(missing)} in {TRAINED_RUNS} (benchmarks/train_structure.py "
                      "--only mlp --export); nothing written", file=sys.stderr)
                return 1
            out.update(trained=[trained_table(label, True) for label in TRAINED], trained_missing=[])
        save("hw_structure", out, markdown(out))
        return 0
    out = {"layer": f"dense {K} -> {M}, bipolar input, thresholded output", "tables": []}
    for budget, levels, every_nm, max_pe, rom, feed in TABLES:
        out["tables"].append(table(budget, levels, every_nm, max_pe, rom, feed, not args.no_synth))
    out["trained"] = [t for t in (trained_table(label, not args.no_synth) for label in TRAINED) if t]
    out["trained_missing"] = [TRAINED[label][0] for label in TRAINED if trained_model(*TRAINED[label]) is None]
    if args.no_synth and not os.environ.get("SBNN_BENCH_RESULTS"):  # no LUTs: the measured results stay
        print(markdown(out))
        return 0
    save("hw_structure", out, markdown(out))
    return 0


def _bram(r: dict) -> str:
    return f"{r['bram36']:g}" if "bram36" in r else "-"


def _rtl_ok(r: dict) -> bool:
    """The design ran in Verilator and equalled the simulator and the cycle model."""
    v = r.get("rtl")
    return bool(v) and v["equal"] and v["timing_equals_cycle_model"]


def _rtl(r: dict) -> str:
    if not r.get("rtl"):
        return "-"
    return "== , cycles == model" if _rtl_ok(r) else "**MISMATCH**"


def _rtl_line(rows: list[dict], what: str) -> list[str]:
    """One line counting the designs of ``rows`` whose RTL check passed (none when no design was run)."""
    if not any(r.get("rtl") for r in rows):
        return []
    return [f"{what}: {sum(map(_rtl_ok, rows))} of {len(rows)} designs == the bit-exact simulator, cycles == the "
            f"cycle model, on {RTL_SAMPLES:,} random inputs each.", ""]


def _table_md(t: dict, title: str, labels: list[str]) -> list[str]:
    stream = t.get("feed") == "stream"
    L = [title, "",
         "| design | PE | SIMD | gather | clocks | weight bits | / dense | LUT | / best dense | BRAM36 | FF "
         + ("| shared (est.) | MVU | outside the MVU |" if stream else "| shared (est.) | FIFO |")
         + f" RTL == sim ({RTL_SAMPLES:,}) |",
         "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if stream else "") + "---|"]
    best = t.get("best_dense")

    def tail(r: dict) -> str:
        if stream:
            return f"{r.get('mvu_lut', '-')} | {r.get('fifo_lut', '-')} | {_rtl(r)} |"
        return f"{r.get('fifo_lut', '-')} | {_rtl(r)} |"

    for r in t["dense"]:
        mark = " **(best)**" if best and r["PE"] == best["PE"] else ""
        L.append(f"| dense XNOR{mark} | {r['PE']} | {r['SIMD']} | - | {r['clocks']} | {r['memory_bits']:,} | 1 | "
                 f"{r.get('lut', '-')} | {r['lut'] / best['lut'] if best else float('nan'):.2f} | {_bram(r)} | "
                 f"{r.get('ff', '-')} | {r['shared_estimate']} | {tail(r)}")
    for r in t["structured"]:
        sel = (" (selected" + ("; weights in BRAM" if r.get("weight_rom") == "block" != t.get("weight_rom") else "")
               + ")" if r.get("selected") else "")
        sel += ", thresholds in a widened BRAM word (block-wide)" if r.get("weight_rom") == "block-wide" else ""
        L.append(f"| {r['design']}{sel} | {r['PE']} | {r['SIMD']} | {r['gather'] or '-'} | {r['clocks']} | "
                 f"{r['memory_bits']:,} | {r['memory_ratio']:.3f} | {r.get('lut', '-')} | "
                 f"{r.get('lut_ratio', float('nan')):.2f} | {_bram(r)} | {r.get('ff', '-')} | "
                 f"{r['shared_estimate']} | {tail(r)}")
    L.append("")
    if best:
        for label in labels:
            goal = GOALS[label]
            sel = next(r for r in t["structured"] if r["design"] == label and r.get("selected"))
            low = min((r for r in t["structured"] if r["design"] == label), key=lambda r: r["lut"])
            # the goal compares like with like: the best measured N:M folding against the best measured dense
            # one (both sides searched by synthesis); the folding step's own choice is reported beside it
            wide = (f", block-wide: {_bram(low)} BRAM36 against the dense design's {_bram(best)}"
                    if low.get("weight_rom") == "block-wide" else "")
            L.append(f"- {label}: LUT {low['lut_ratio']:.3f} x the best dense (the best measured N:M folding, PE "
                     f"{low['PE']} x SIMD {low['SIMD']}{wide}; goal <= {goal['lut']}: "
                     f"{'met' if low['lut_ratio'] <= goal['lut'] else 'NOT met'}; the folding step's cost-model "
                     f"choice, PE {sel['PE']} x SIMD {sel['SIMD']}: {sel['lut_ratio']:.2f} x), weight memory "
                     f"{sel['memory_ratio']:.3f} x (goal <= {goal['memory']}: "
                     f"{'met' if sel['memory_ratio'] <= goal['memory'] else 'NOT met'})")
        L.append("")
    return L + _rtl_line(t["dense"] + t["structured"], "RTL check")


def markdown(out: dict) -> str:
    L = [f"# Structured masks at equal throughput: {out['layer']}", "",
         "LUT: Yosys synth_xilinx, MVU instance. Shared: the cost model's estimate of the part every style pays "
         "alike (thresholds, S'(x), lane registers and compares, control). FIFO: LUTs outside the MVU (output "
         "FIFO). The dense baseline is the cheapest *measured* PE x SIMD at the budget; structured rows marked "
         "'selected' are the folding step's choice (cost model), the others the remaining N:M foldings; the goal "
         "lines compare the cheapest measured N:M folding with the cheapest measured dense one (both sides "
         "searched by synthesis) and give the folding step's choice beside it. The "
         "layer reads one whole vector per beat, except in the tables marked 'fed as a stream': there it reads a "
         "16 x 16 x 1 map one bit per beat, as a layer fed by a network's input or by a folded MVU does, so its "
         "sliced datapath reads a word buffer instead of a held vector through a slice multiplexer and S'(x) "
         "is formed where the input is produced (on both sides); their LUT column is the whole design (MVU, "
         "collector or word buffer, output FIFO). Every design of every table runs in Verilator on 1,000 random "
         "inputs (== the bit-exact simulator, cycles == the cycle model).", ""]
    for t in out["tables"]:
        lv = "{alpha, beta} " + str(tuple(t["levels"])) if t["levels"][0] != -1 else "{-1, +1}"
        where = "; every weight memory in BRAM" if t.get("weight_rom") == "block" else ""
        if t.get("feed") == "stream":
            where += (f"; fed as a stream ({'x'.join(map(str, STREAM_SHAPE))} map, 1 bit per beat): word buffer, "
                      "S'(x) formed by the collector; LUT = the whole design")
        L += _table_md(t, f"## {t['budget']} clocks per vector, {lv} levels{where}", list(GOALS))
    if out.get("trained") or out.get("trained_missing"):
        L += ["## A trained layer: the Fashion SFC's hidden 256 x 256 layer", "",
              "The same comparison on the layer `mvu1` of the Fashion-MNIST SFC trained with the structure (its "
              "{alpha, beta} levels, mask and thresholds; `benchmarks/train_structure.py --export`, seed 0): "
              "dense XNOR foldings (PE <= 16) and N:M foldings of that one layer at "
              f"{TRAINED_BUDGET} clocks per vector. Trained thresholds are narrow and point one way, so the "
              "threshold memory that dominates the synthetic layers' shared part is small here.", ""]
        for t in out.get("trained", []):
            th = t["thresholds"]
            L += _table_md(t, f"### {t['label']}: `{t['run']}` {t['layer']}, levels {tuple(t['levels'])}, "
                              f"thresholds {th['min']}..{th['max']} ({th['distinct']} distinct)", [t["label"]])
        for run in out.get("trained_missing", []):
            L += [f"- `{run}`: not exported here (run `benchmarks/train_structure.py --only mlp --export`)", ""]
    L += _rtl_line([r for t in out["tables"] + out.get("trained", []) for r in t["dense"] + t["structured"]],
                   "RTL check, every table")
    return "\n".join(L)


if __name__ == "__main__":
    sys.exit(main())
