"""Resources vs sparsity for one 256 -> 256 binary dense layer: dense XNOR baseline vs zero-skipping.

Three comparisons, all on the same flow (sbnn generator + Yosys synth_xilinx for the xc7z020):

* unrolled (PE = M = 256, SIMD = K = 256): LUTs of the constant-weight popcount logic;
* folded at equal folding (PE = 16, SIMD = 8, FINN-like): clocks per vector, weight-memory bits, LUT/FF/BRAM;
* folded at equal throughput: the sparse layer with the cheapest folding and gather (by the generator's
  logic estimate) that is as fast as the dense one, and the cheapest with a flip-flop gather only.

Gathers of the folded zero-skip MVU: ``full`` ((K+1):1 multiplexer per slot over the vector in flip-flops),
``segmented`` ((K/SIMD+1):1, more clocks), ``lutram`` / ``lutram1`` (the vector copied into 64-entry
distributed-RAM banks, read through RAM ports; two / one buffers).

Weights are i.i.d. random masks with exact sparsity; for those, the binary entropy H(1 - s) bounds any
lossless weight memory from below, which the table reports next to ours.

    python benchmarks/hw_sparsity.py            # ~10 min on 2 cores the first time (results are cached)
    python benchmarks/hw_sparsity.py --no-synth # cycles and memory only (seconds)
"""

from __future__ import annotations

import argparse
import copy

from hw_common import dense_layer_design, entropy_bits, save, synth

from sbnn.arch.cost import logic_estimate
from sbnn.arch.folding import divisors
from sbnn.arch.options import GATHERS
from sbnn.arch.schedule import plan_mvu, vector_clocks

K = M = 256
PE, SIMD = 16, 8
SPARSITIES = [0.5, 0.75, 0.9, 0.95]
MEMORY_SWEEP = [0.5, 0.75, 0.9, 0.95, 0.97, 0.98, 0.99]
GOALS = {"unrolled_lut": 0.20, "folded_cycles": 0.15, "weight_memory": 0.30}


def _layer(design):
    return design.model.layers[0]


def equal_throughput(design, target_t: int, gathers=GATHERS):
    """The sparse folding and gather with the smallest logic estimate whose clocks per vector (its
    distributed-RAM load included) are <= target_t."""
    layer = _layer(design)
    best = None
    for gather in gathers:
        for pe in divisors(M):
            for simd in divisors(K):
                if pe == M and simd == K:
                    continue
                trial = copy.copy(layer)
                trial.pe, trial.simd = pe, simd
                p = plan_mvu(trial, coding="index", gather=gather)
                t = vector_clocks(p, K)
                if t <= target_t:
                    key = (logic_estimate(trial, p), t)
                    if best is None or key < best[0]:
                        best = (key, pe, simd, gather)
    return best[1:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-synth", action="store_true", help="cycles and memory only")
    args = ap.parse_args()
    out = {"layer": f"dense {K} -> {M}, bipolar in/out, i.i.d. random masks", "folding": {"PE": PE, "SIMD": SIMD},
           "goals_at_0.9": GOALS, "unrolled": [], "folded": [], "equal_throughput": [], "memory_sweep": []}

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

    if not args.no_synth:
        # ---- unrolled (same "fast" ABC script for dense and sparse: see hw/README.md)
        dense_u = synth(dense_layer_design(K, M, 0.5, M, K, "dense", name="u_dense"), abc="fast")
        out["unrolled"].append({"design": "dense XNOR", "sparsity": None, **dense_u})
        for s in SPARSITIES:
            r = synth(dense_layer_design(K, M, s, M, K, "sparse", name=f"u_s{int(s * 100)}"), abc="fast")
            r["lut_ratio"] = r["mvu"]["LUT"] / dense_u["mvu"]["LUT"]
            out["unrolled"].append({"design": "zero-skip", "sparsity": s, **r})
        # ---- folded, equal folding
        dd = dense_layer_design(K, M, 0.5, PE, SIMD, "dense", name="f_dense")
        dense_f = synth(dd)
        dp = dd.stages[-1].plan
        out["folded"].append({"design": "dense XNOR", "sparsity": None, "clocks": dp.T, "memory_bits": dp.memory_bits,
                              **dense_f})
        for s in SPARSITIES:
            for gather in GATHERS:
                d = dense_layer_design(K, M, s, PE, SIMD, "sparse", name=f"f_s{int(s * 100)}_{gather}", gather=gather)
                p = d.stages[-1].plan
                r = synth(d)
                t = vector_clocks(p, K)
                out["folded"].append({"design": f"zero-skip, {gather} gather", "sparsity": s, "coding": p.coding,
                                      "code_bits": p.code_bits, "clocks": t, "clocks_ratio": t / dp.T,
                                      "memory_bits": p.memory_bits, "memory_ratio": p.memory_bits / dp.memory_bits,
                                      "lut_ratio": r["mvu"]["LUT"] / dense_f["mvu"]["LUT"], **r})
            for label, gathers in (("any gather", GATHERS), ("flip-flop gathers", ("full", "segmented"))):
                pe, simd, gather = equal_throughput(d, dp.T, gathers)
                e = dense_layer_design(K, M, s, pe, simd, "sparse", name=f"e_s{int(s * 100)}_{gather}", gather=gather)
                ep = e.stages[-1].plan
                r = synth(e)
                out["equal_throughput"].append({"sparsity": s, "choice": label, "PE": pe, "SIMD": simd, "gather": gather,
                                                "coding": ep.coding, "clocks": vector_clocks(ep, K),
                                                "memory_bits": ep.memory_bits,
                                                "lut_ratio": r["mvu"]["LUT"] / dense_f["mvu"]["LUT"], **r})
    save("hw_sparsity", out, markdown(out))
    return 0


def _bram(t: dict) -> float:
    return t["BRAM36"] + t["BRAM18"] / 2


def markdown(out: dict) -> str:
    L = [f"# Resources vs sparsity: {out['layer']}", ""]
    if out["unrolled"]:
        L += ["## Unrolled (PE = 256, SIMD = 256), Yosys synth_xilinx, ABC script 'fast'", "",
              "| design | sparsity | LUT | CARRY4 | FF | LUT / dense | yosys s |", "|---|---:|---:|---:|---:|---:|---:|"]
        for r in out["unrolled"]:
            ratio = f"{r['lut_ratio']:.3f}" if "lut_ratio" in r else "1"
            L.append(f"| {r['design']} | {r['sparsity'] if r['sparsity'] is not None else '-'} | {r['mvu']['LUT']:,} | "
                     f"{r['mvu']['CARRY4']:,} | {r['mvu']['FF']:,} | {ratio} | {r['seconds']} |")
        fold = f"PE = {out['folding']['PE']}, SIMD = {out['folding']['SIMD']}"
        L += ["", f"## Folded at equal folding ({fold}), Yosys default ABC", "",
              "| design | sparsity | coding | clocks/vector | / dense | weight bits | / dense | LUT | FF | BRAM36 "
              "| LUT / dense |",
              "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in out["folded"]:
            L.append(f"| {r['design']} | {r['sparsity'] if r['sparsity'] is not None else '-'} | "
                     f"{r.get('coding', 'bits')}{'/' + str(r['code_bits']) if 'code_bits' in r else ''} | {r['clocks']} | "
                     f"{r.get('clocks_ratio', 1):.3f} | {r['memory_bits']:,} | {r.get('memory_ratio', 1):.3f} | "
                     f"{r['mvu']['LUT']:,} | {r['mvu']['FF']:,} | {_bram(r['mvu']):g} | {r.get('lut_ratio', 1):.2f} |")
        L += ["", "## Folded at equal throughput (sparse: cheapest folding with clocks/vector <= the dense layer's)", "",
              "| sparsity | chosen among | PE | SIMD | gather | coding | clocks/vector | weight bits | LUT | FF | BRAM36 "
              "| LUT / dense |",
              "|---:|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|"]
        for r in out["equal_throughput"]:
            L.append(f"| {r['sparsity']} | {r.get('choice', '')} | {r['PE']} | {r['SIMD']} | {r['gather']} | "
                     f"{r['coding']} | {r['clocks']} | "
                     f"{r['memory_bits']:,} | "
                     f"{r['mvu']['LUT']:,} | {r['mvu']['FF']:,} | {_bram(r['mvu']):g} | {r['lut_ratio']:.2f} |")
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


def goals(out: dict) -> str:
    lines = ["## Goals at 90 % zero bits"]
    u = next((r for r in out["unrolled"] if r["sparsity"] == 0.9), None)
    f = next((r for r in out["folded"] if r["sparsity"] == 0.9 and "full" in r["design"]), None)
    e = next((r for r in out["equal_throughput"] if r["sparsity"] == 0.9 and r.get("choice") == "any gather"), None)
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
    if e:
        lines.append(f"- at equal throughput (the dense layer's clocks per vector) the zero-skip layer needs "
                     f"{e['lut_ratio']:.2f} x the dense XNOR layer's LUTs ({e['gather']} gather, PE = {e['PE']}, "
                     f"SIMD = {e['SIMD']})")
    met = [r["sparsity"] for r in out["memory_sweep"]
           if min(p["memory_ratio"] for p in r["plans"].values()) <= GOALS["weight_memory"]]
    lines.append(f"- the 0.3 x memory goal is met from sparsity {min(met) if met else 'none of the swept values'} on")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
