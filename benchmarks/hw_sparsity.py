"""Resources vs sparsity for one 256 -> 256 binary dense layer: dense XNOR baseline vs zero-skipping.

Four comparisons, all on the same flow (sbnn generator + Yosys synth_xilinx for the xc7z020):

* unrolled (PE = M = 256, SIMD = K = 256): LUTs of the constant-weight popcount logic;
* folded at equal folding (PE = 16, SIMD = 8, FINN-like): clocks per vector, weight-memory bits, LUT/FF/BRAM;
* folded at equal throughput (the headline): the *best* dense XNOR design and the best zero-skipping design
  whose clocks per vector meet the same target, both searched over the same folding space, with the same
  weight levels on both sides, the fixed per-layer cost (FIFO, S(x)) in its own columns;
* weight memory vs sparsity (cycle model) against the entropy bound of i.i.d. masks.

Equal throughput, how the designs are chosen. Each side's candidates are every PE x SIMD divisor pair (not
unrolled) - and, zero-skipping, every gather and the index coding as well as the automatic gap coding
(narrowest memory within min(10 %, the clocks the target leaves)) - whose clocks per vector, a
distributed-RAM load included, are <= the target. Every candidate is a resolved ``LayerImpl`` ranked by the
generator's logic estimate; a shortlist is synthesized and the one with the fewest Yosys LUTs (whole layer:
MVU + its output FIFO) is selected, and *that* impl is the design reported. Shortlists: dense - every pair
at the target's minimum parallelism (PE x SIMD = 128 for 512 clocks: a faster pair has >= 2x the XNOR lanes)
plus the estimate's best ``--top``; zero-skipping - the estimate's best ``--top`` plus the best of each
gather; beyond the top, only candidates within 3x the best estimate (e.g. dense PE 32..128 or a full
multiplexer gather: certainly bigger, and each takes many minutes of Yosys). The dense search runs on the
90 % layer; the XNOR datapath's cost does not depend on the mask (its ROM holds every bit), so the selected
dense impl is synthesized with each sparsity's own layer.

Weight levels: {alpha, beta} = {-3, 29} (the closed form the main job trained at 90 % zero bits) on both
sides - both need ``S(x)`` - and {-1, +1} on both sides, where the dense XNOR MVU needs no ``S(x)`` (as in
FINN) but zero-skipping does. The S(x) column is measured: the selected design synthesized again with the
same bits and folding but levels whose S(x) coefficient is 0 ({0, 1} zero-skipping, {-1, +1} dense), the
LUT difference (it includes the narrower y / threshold words of those levels). The FIFO column is the
layer's output FIFO (one per layer in a network). Thresholds (per-lane compare and per-fold threshold
words) stay inside the MVU column on both sides.

Weights are i.i.d. random masks with exact sparsity; for those, the binary entropy H(1 - s) bounds any
lossless weight memory from below, which the table reports next to ours.

    python benchmarks/hw_sparsity.py            # about an hour in one process the first time (Yosys is cached)
    python benchmarks/hw_sparsity.py --quick    # equal throughput at 90 %, {alpha, beta}, 2 candidates a side
    python benchmarks/hw_sparsity.py --no-synth # cycles and memory only (seconds)
"""

from __future__ import annotations

import argparse
import copy
from dataclasses import dataclass

from hw_common import dense_layer_design, dense_layer_model, entropy_bits, rtl_check, save, synth

from sbnn.arch.cost import logic_estimate
from sbnn.arch.folding import divisors
from sbnn.arch.impl import LayerImpl
from sbnn.arch.options import GATHERS, LUTRAM_BUFFERS
from sbnn.arch.schedule import lutram_load_clocks, plan_mvu, resolve_impl, schedule, vector_clocks

K = M = 256
PE, SIMD = 16, 8
SPARSITIES = [0.5, 0.75, 0.9, 0.95]
EQUAL_SPARSITIES = [0.75, 0.9, 0.95]
MEMORY_SWEEP = [0.5, 0.75, 0.9, 0.95, 0.97, 0.98, 0.99]
GOALS = {"unrolled_lut": 0.20, "folded_cycles": 0.15, "weight_memory": 0.30}
#: clocks per vector of the equal-throughput comparison: the dense layer at PE x SIMD = 128 (FINN's 16 x 8)
TARGET = (M // PE) * (K // SIMD)
#: weight levels of the equal-throughput tables, and the levels whose S(x) coefficient is 0 (per side)
LEVELS = {"ab": (-3, 29), "pm1": (-1, 1)}
LEVEL_LABEL = {"ab": "{α,β} = {-3, 29}", "pm1": "{-1,+1}"}
S_FREE = {"sparse": (0, 1), "dense": (-1, 1)}
MAX_CODING_OVERHEAD = 0.10  # the generator's automatic coding (max_cycle_overhead)
DENSE_SEARCH_SPARSITY = 0.9
#: random inputs on which every selected equal-throughput design is run in Verilator against the simulator
RTL_SAMPLES = 1000
#: shortlist beyond the estimate's top: candidates within this factor of its best estimate
SHORTLIST_SPAN = 3.0


def _layer(design):
    return design.model.layers[0]


@dataclass(frozen=True)
class Candidate:
    impl: LayerImpl
    clocks: int
    estimate: float
    memory_bits: int

    @property
    def tag(self) -> str:
        i = self.impl
        if i.style == "dense":
            return f"d_p{i.pe}s{i.simd}"
        return f"s_p{i.pe}s{i.simd}_{i.gather}_{i.coding}{i.delta_bits or ''}"


def candidates(layer, style: str, target: int) -> list[Candidate]:
    """Every resolved implementation of ``layer`` in ``style`` whose clocks per vector are <= ``target``,
    best logic estimate first."""
    out: dict[LayerImpl, Candidate] = {}
    for pe in divisors(M):
        for simd in divisors(K):
            if pe == M and simd == K:
                continue
            trial = copy.copy(layer)
            trial.pe, trial.simd = pe, simd
            impls = []
            if style == "dense":
                impls.append(resolve_impl(trial, "dense", pe=pe, simd=simd))
            else:
                for gather in GATHERS:
                    index = resolve_impl(trial, "sparse", gather, "index", pe=pe, simd=simd)
                    t = schedule(trial, index).T
                    load = lutram_load_clocks(K) if LUTRAM_BUFFERS.get(gather) == 1 else 0
                    if vector_clocks(schedule(trial, index), K) > target:
                        continue  # gap codes never take fewer clocks than indices
                    slack = max(0.0, min(MAX_CODING_OVERHEAD, (target - load) / t - 1))
                    impls += [index, resolve_impl(trial, "sparse", gather, "auto", max_cycle_overhead=slack, pe=pe,
                                                  simd=simd)]
            for impl in impls:
                plan = schedule(trial, impl)
                t = vector_clocks(plan, K)
                if t <= target and impl not in out:
                    out[impl] = Candidate(impl, t, logic_estimate(trial, plan), plan.memory_bits)
    return sorted(out.values(), key=lambda c: (c.estimate, c.clocks, c.tag))


def shortlist(cands: list[Candidate], style: str, top: int, frontier: bool) -> list[Candidate]:
    """The candidates to synthesize (see the module docstring); beyond the estimate's ``top``, only those
    within ``SHORTLIST_SPAN`` x its best estimate (wider lanes or full multiplexers are bigger for certain,
    and each takes many minutes of Yosys)."""
    keep = list(cands[:top])
    near = [c for c in cands if c.estimate <= SHORTLIST_SPAN * cands[0].estimate]
    if style == "dense" and frontier:
        least = min(c.impl.pe * c.impl.simd for c in cands)
        keep += [c for c in near if c.impl.pe * c.impl.simd == least]
    if style == "sparse" and frontier:
        for gather in GATHERS:
            keep += [c for c in near if c.impl.gather == gather][:1]
    seen, out = set(), []
    for c in keep:
        if c.impl not in seen:
            seen.add(c.impl)
            out.append(c)
    return out


def _design(s: float, lv: str, cand: Candidate, levels: tuple[int, int] | None = None):
    levels = levels or LEVELS[lv]
    tag = f"{lv}" if levels == LEVELS[lv] else f"{lv}_free"
    return dense_layer_design(K, M, s, cand.impl.pe, cand.impl.simd, cand.impl.style, levels=levels, impl=cand.impl,
                              name=f"et_{tag}_s{int(s * 100)}_{cand.tag}")


def _lut(r: dict) -> int:
    return r["total"]["LUT"]


def measure(s: float, lv: str, cand: Candidate) -> dict:
    d = _design(s, lv, cand)
    plan = d.stages[-1].plan
    if cand.impl != d.impls["fc"] or vector_clocks(plan, K) != cand.clocks:
        raise SystemExit(f"internal: the generated design is not the selected impl {cand.tag}")
    r = synth(d)
    return {"tag": cand.tag, "impl": cand.impl.to_json(), "clocks": cand.clocks, "estimate": round(cand.estimate, 1),
            "memory_bits": cand.memory_bits, **r}


def s_cost(s: float, lv: str, cand: Candidate, measured: dict) -> dict:
    """LUT / FF of S(x) in the MVU: the design minus its twin with S(x)-free levels (same bits, same impl)."""
    free = S_FREE[cand.impl.style]
    if LEVELS[lv] == free:
        return {"LUT": 0, "FF": 0, "measured": False}
    twin = synth(_design(s, lv, cand, free))
    return {"LUT": measured["mvu"]["LUT"] - twin["mvu"]["LUT"], "FF": measured["mvu"]["FF"] - twin["mvu"]["FF"],
            "measured": True}


def equal_throughput(out: dict, sparsities: list[float], level_sets: list[str], top: int, frontier: bool,
                     twins: bool) -> None:
    """The best dense and the best zero-skipping design at TARGET clocks per vector (see the docstring)."""
    for lv in level_sets:
        base = dense_layer_model(K, M, DENSE_SEARCH_SPARSITY, levels=LEVELS[lv]).layers[0]
        dc = candidates(base, "dense", TARGET)
        tried = [measure(DENSE_SEARCH_SPARSITY, lv, c) for c in shortlist(dc, "dense", top, frontier)]
        best_d = min(tried, key=_lut)
        dense_cand = next(c for c in dc if c.tag == best_d["tag"])
        out["dense_search"].append({"levels": lv, "sparsity": DENSE_SEARCH_SPARSITY, "candidates": len(dc),
                                    "synthesized": [_brief(t) for t in tried], "selected": best_d["tag"]})
        for s in sparsities:
            d = best_d if s == DENSE_SEARCH_SPARSITY else measure(s, lv, dense_cand)
            layer = dense_layer_model(K, M, s, levels=LEVELS[lv]).layers[0]
            sc = candidates(layer, "sparse", TARGET)
            tried = [measure(s, lv, c) for c in shortlist(sc, "sparse", top, frontier)]
            best_s = min(tried, key=_lut)
            sparse_cand = next(c for c in sc if c.tag == best_s["tag"])
            row = {"levels": lv, "sparsity": s, "target": TARGET, "sparse_candidates": len(sc),
                   "sparse_synthesized": [_brief(t) for t in tried]}
            for side, r, cand in (("dense", d, dense_cand), ("sparse", best_s, sparse_cand)):
                r = dict(r)
                r["s_cost"] = s_cost(s, lv, cand, r) if twins else None
                # the design reported is the design run: RTL == simulator, cycles == model
                r["rtl"] = rtl_check(_design(s, lv, cand), dense_layer_model(K, M, s, levels=LEVELS[lv]), RTL_SAMPLES)
                row[side] = r
            for part in ("total", "mvu"):
                row[f"{part}_lut_ratio"] = row["sparse"][part]["LUT"] / row["dense"][part]["LUT"]
            row["bram_ratio"] = _bram(row["sparse"]["total"]) / max(_bram(row["dense"]["total"]), 1e-9)
            out["equal_throughput"].append(row)


def _brief(r: dict) -> dict:
    return {"tag": r["tag"], "clocks": r["clocks"], "estimate": r["estimate"], "LUT": _lut(r),
            "mvu_LUT": r["mvu"]["LUT"], "BRAM36": _bram(r["total"])}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-synth", action="store_true", help="cycles and memory only")
    ap.add_argument("--quick", action="store_true",
                    help="only the equal-throughput comparison at 90 %% with {alpha, beta} levels, 2 candidates a side")
    ap.add_argument("--top", type=int, default=3, help="candidates of the estimate's ranking synthesized per side")
    args = ap.parse_args()
    out = {"layer": f"dense {K} -> {M}, bipolar in/out, i.i.d. random masks", "folding": {"PE": PE, "SIMD": SIMD},
           "target_clocks": TARGET, "levels": {k: list(v) for k, v in LEVELS.items()}, "quick": args.quick,
           "goals_at_0.9": GOALS, "unrolled": [], "folded": [], "equal_throughput": [], "dense_search": [],
           "memory_sweep": []}

    # ---- memory / cycles sweep (cycle model, no synthesis)
    dense_t = (M // PE) * (K // SIMD)
    for s in MEMORY_SWEEP:
        d = dense_layer_design(K, M, s, PE, SIMD, "sparse", name=f"mem{int(s * 100)}")
        layer = _layer(d)
        plans = {"auto (<=10% extra clocks)": d.stages[-1].plan, "index": plan_mvu(layer, coding="index")}
        best_mem = min((plan_mvu(layer, coding="delta", delta_bits=g) for g in range(2, 10)), key=lambda p: p.memory_bits)
        plans["best delta (any clocks)"] = best_mem
        row = {"sparsity": s, "entropy_bound": entropy_bits(1 - s),
               "plans": {k: {"coding": p.coding, "code_bits": p.code_bits, "clocks": p.T,
                             "clocks_ratio": p.T / dense_t, "memory_bits": p.memory_bits,
                             "memory_ratio": p.memory_bits / (M * K)} for k, p in plans.items()}}
        out["memory_sweep"].append(row)

    if args.quick and not args.no_synth:
        equal_throughput(out, [0.9], ["ab"], top=2, frontier=False, twins=True)
    elif not args.no_synth:
        equal_throughput(out, EQUAL_SPARSITIES, list(LEVELS), top=args.top, frontier=True, twins=True)
        out["unrolled"] = unrolled()
        out["folded"] = folded()
    save("hw_sparsity", out, markdown(out))
    return 0


def _unrolled_specs():
    """(row, design, ABC script) of the unrolled comparison (same "fast" ABC script for dense and sparse)."""
    yield {"design": "dense XNOR", "sparsity": None}, dense_layer_design(K, M, 0.5, M, K, "dense", name="u_dense"), "fast"
    for s in SPARSITIES:
        yield ({"design": "zero-skip", "sparsity": s},
               dense_layer_design(K, M, s, M, K, "sparse", name=f"u_s{int(s * 100)}"), "fast")


def _folded_specs():
    """(row, design, ABC script) of the equal-folding comparison."""
    yield {"design": "dense XNOR", "sparsity": None}, dense_layer_design(K, M, 0.5, PE, SIMD, "dense", name="f_dense"), \
        "default"
    for s in SPARSITIES:
        for gather in GATHERS:
            yield ({"design": f"zero-skip, {gather} gather", "sparsity": s},
                   dense_layer_design(K, M, s, PE, SIMD, "sparse", name=f"f_s{int(s * 100)}_{gather}", gather=gather),
                   "default")


def unrolled() -> list[dict]:
    rows = [{**row, **synth(d, abc=abc)} for row, d, abc in _unrolled_specs()]
    for r in rows[1:]:
        r["lut_ratio"] = r["mvu"]["LUT"] / rows[0]["mvu"]["LUT"]
    return rows


def folded() -> list[dict]:
    rows = []
    for row, d, abc in _folded_specs():
        p = d.stages[-1].plan
        t = vector_clocks(p, K)
        r = {**row, "clocks": t, "memory_bits": p.memory_bits, **synth(d, abc=abc)}
        if rows:
            dp = rows[0]
            r.update({"coding": p.coding, "code_bits": p.code_bits, "clocks_ratio": t / dp["clocks"],
                      "memory_ratio": p.memory_bits / dp["memory_bits"], "lut_ratio": r["mvu"]["LUT"] / dp["mvu"]["LUT"]})
        rows.append(r)
    return rows


def _bram(t: dict) -> float:
    return t["BRAM36"] + t["BRAM18"] / 2


def _impl_text(r: dict) -> str:
    i = r["impl"]
    if i["style"] == "dense":
        return "XNOR"
    return f"{i['gather']}, {i['coding']}{'/' + str(i['delta_bits']) if i.get('delta_bits') else ''}"


def markdown(out: dict) -> str:
    L = [f"# Resources vs sparsity: {out['layer']}", ""]
    if out["equal_throughput"]:
        L += equal_markdown(out)
    if out["unrolled"]:
        L += ["## Unrolled (PE = 256, SIMD = 256), {-1,+1} levels, Yosys synth_xilinx, ABC script 'fast'", "",
              "| design | sparsity | LUT | CARRY4 | FF | LUT / dense | yosys s |", "|---|---:|---:|---:|---:|---:|---:|"]
        for r in out["unrolled"]:
            ratio = f"{r['lut_ratio']:.3f}" if "lut_ratio" in r else "1"
            L.append(f"| {r['design']} | {r['sparsity'] if r['sparsity'] is not None else '-'} | {r['mvu']['LUT']:,} | "
                     f"{r['mvu']['CARRY4']:,} | {r['mvu']['FF']:,} | {ratio} | {r['seconds']} |")
        L += ["", "(The dense XNOR layer needs no S(x) with {-1,+1} levels, the zero-skipping one does: this table "
              "favours dense.)"]
    if out["folded"]:
        fold = f"PE = {out['folding']['PE']}, SIMD = {out['folding']['SIMD']}"
        L += ["", f"## Folded at equal folding ({fold}), {{-1,+1}} levels, MVU instance, Yosys default ABC", "",
              "Not an equal-throughput comparison: the zero-skipping layer is 4-8x faster here.", "",
              "| design | sparsity | coding | clocks/vector | / dense | weight bits | / dense | LUT | FF | BRAM36 "
              "| LUT / dense |",
              "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in out["folded"]:
            L.append(f"| {r['design']} | {r['sparsity'] if r['sparsity'] is not None else '-'} | "
                     f"{r.get('coding', 'bits')}{'/' + str(r['code_bits']) if 'code_bits' in r else ''} | {r['clocks']} | "
                     f"{r.get('clocks_ratio', 1):.3f} | {r['memory_bits']:,} | {r.get('memory_ratio', 1):.3f} | "
                     f"{r['mvu']['LUT']:,} | {r['mvu']['FF']:,} | {_bram(r['mvu']):g} | {r.get('lut_ratio', 1):.2f} |")
    fold = f"PE = {out['folding']['PE']}, SIMD = {out['folding']['SIMD']}"
    L += ["", f"## Weight memory and clocks vs sparsity (cycle model; {fold})", "",
          "| sparsity | H(1-s) bound | auto: clocks / dense | auto: memory / dense | index: memory "
          "| best delta: memory (clocks) |",
          "|---:|---:|---:|---:|---:|---:|"]
    for r in out["memory_sweep"]:
        a, i, b = (r["plans"][k] for k in ("auto (<=10% extra clocks)", "index", "best delta (any clocks)"))
        L.append(f"| {r['sparsity']} | {r['entropy_bound']:.3f} | {a['clocks_ratio']:.3f} | {a['memory_ratio']:.3f} "
                 f"({a['coding']}/{a['code_bits']}) | {i['memory_ratio']:.3f} | {b['memory_ratio']:.3f} "
                 f"({b['clocks_ratio']:.3f}) |")
    L += ["", goals(out), ""]
    return "\n".join(L)


def equal_markdown(out: dict) -> list[str]:
    t = out["target_clocks"]
    L = [f"## Folded at equal throughput ({t} clocks per vector), best design of each side", "",
         "Each side: every PE x SIMD (and, zero-skipping, gather and coding) whose clocks per vector are <= "
         f"{t}, ranked by the logic estimate; the shortlist synthesized, the fewest Yosys LUTs (MVU + FIFO) "
         "selected, and that impl reported. S(x): LUTs of the MVU minus its twin with S(x)-free levels (measured). "
         "FIFO: the layer's output FIFO. Fixed = FIFO + S(x); core = MVU - S(x). RTL: the selected design in "
         "Verilator on random inputs, outputs == the bit-exact simulator and every beat's clock == the cycle model.",
         ""]
    for lv in dict.fromkeys(r["levels"] for r in out["equal_throughput"]):
        L += [f"### Levels {LEVEL_LABEL[lv]} on both sides", "",
              "| zero bits | design | PE | SIMD | datapath | clocks/vector | weight bits | MVU LUT | of which S(x) "
              "| FIFO LUT | total LUT | FF | BRAM36 | total / dense | core / dense | fixed share | RTL |",
              "|---:|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
        for row in (r for r in out["equal_throughput"] if r["levels"] == lv):
            core = {}
            for side in ("dense", "sparse"):
                r = row[side]
                sx = r["s_cost"]["LUT"] if r.get("s_cost") else 0
                core[side] = r["mvu"]["LUT"] - sx
            for side in ("dense", "sparse"):
                r = row[side]
                sx = r["s_cost"]["LUT"] if r.get("s_cost") else None
                fixed = r["fifo"]["LUT"] + (sx or 0)
                ratio = "1" if side == "dense" else f"**{row['total_lut_ratio']:.2f}**"
                cr = "1" if side == "dense" else f"{core['sparse'] / core['dense']:.2f}"
                L.append(f"| {row['sparsity']} | {'dense XNOR' if side == 'dense' else 'zero-skip'} | "
                         f"{r['impl']['PE']} | {r['impl']['SIMD']} | {_impl_text(r)} | {r['clocks']} | "
                         f"{r['memory_bits']:,} | {r['mvu']['LUT']:,} | {'-' if sx is None else f'{sx:,}'} | "
                         f"{r['fifo']['LUT']:,} | {r['total']['LUT']:,} | {r['total']['FF']:,} | "
                         f"{_bram(r['total']):g} | {ratio} | {cr} | {fixed / r['total']['LUT']:.0%} | "
                         f"{_rtl_text(r.get('rtl'))} |")
        L.append("")
    L += ["Synthesized candidates (estimate -> Yosys LUT of MVU + FIFO):", ""]
    for ds in out["dense_search"]:
        L.append(f"- dense, {LEVEL_LABEL[ds['levels']]} ({ds['candidates']} candidates, searched at "
                 f"{ds['sparsity']}): " + ", ".join(f"{c['tag']} {c['estimate']:.0f} -> {c['LUT']:,}"
                                                     for c in ds["synthesized"]) + f"; selected {ds['selected']}")
    for row in out["equal_throughput"]:
        L.append(f"- zero-skip {row['sparsity']}, {LEVEL_LABEL[row['levels']]} ({row['sparse_candidates']} "
                 "candidates): " + ", ".join(f"{c['tag']} {c['estimate']:.0f} -> {c['LUT']:,}"
                                             for c in row["sparse_synthesized"]) + f"; selected {row['sparse']['tag']}")
    L.append("")
    return L


def _rtl_text(rtl: dict | None) -> str:
    if rtl is None:
        return "not run"
    if not rtl["equal"]:
        return f"MISMATCH on {rtl['samples']:,}"
    return f"== on {rtl['samples']:,}" + ("" if rtl["timing_equals_cycle_model"] else ", cycles != model")


def goals(out: dict) -> str:
    lines = ["## Goals at 90 % zero bits"]
    u = next((r for r in out["unrolled"] if r["sparsity"] == 0.9), None)
    f = next((r for r in out["folded"] if r["sparsity"] == 0.9 and "full" in r["design"]), None)
    m = next(r for r in out["memory_sweep"] if r["sparsity"] == 0.9)
    if u:
        lines.append(f"- unrolled LUTs {u['lut_ratio']:.3f} x dense (goal <= {GOALS['unrolled_lut']}): "
                     f"{'met' if u['lut_ratio'] <= GOALS['unrolled_lut'] else 'NOT met'}")
    a = m["plans"]["auto (<=10% extra clocks)"]
    ct = f["clocks_ratio"] if f else a["clocks_ratio"]
    lines.append(f"- folded clocks {ct:.3f} x dense (goal <= {GOALS['folded_cycles']}): "
                 f"{'met' if ct <= GOALS['folded_cycles'] else 'NOT met'}")
    best = min(m["plans"].values(), key=lambda p: p["memory_ratio"])
    lines.append(f"- weight memory {a['memory_ratio']:.3f} x dense with the auto coding, {best['memory_ratio']:.3f} x at "
                 f"best (goal <= {GOALS['weight_memory']}): NOT met - and not reachable by any lossless code: "
                 f"i.i.d. masks at 10 % density carry H(0.1) = {m['entropy_bound']:.3f} bit/weight")
    for e in (r for r in out["equal_throughput"] if r["sparsity"] == 0.9):
        sp = e["sparse"]["impl"]
        lines.append(f"- at equal throughput ({e['target']} clocks per vector), {LEVEL_LABEL[e['levels']]} levels: the "
                     f"best zero-skip layer ({sp.get('gather')}, PE = {sp['PE']}, SIMD = {sp['SIMD']}) needs "
                     f"{e['total_lut_ratio']:.2f} x the LUTs of the best dense XNOR layer (PE = "
                     f"{e['dense']['impl']['PE']}, SIMD = {e['dense']['impl']['SIMD']}) and {e['bram_ratio']:.2f} x "
                     "its BRAM")
    met = [r["sparsity"] for r in out["memory_sweep"]
           if min(p["memory_ratio"] for p in r["plans"].values()) <= GOALS["weight_memory"]]
    lines.append(f"- the 0.3 x memory goal is met from sparsity {min(met) if met else 'none of the swept values'} on")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
