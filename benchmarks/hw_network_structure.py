"""Whole networks at one target rate: the trained Fashion-MNIST SFC (784-256-256-256-10) of every mask
structure against the dense BNN of the same architecture, all at 100,000 frames/s, and (``--arch cnv``) the
CNV-style net at FINN's CNV rate, 3,000 frames/s (issue 12's goal: the structured sparse network at about 90 %
zero bits takes <= 0.6 x the LUTs and <= 0.5 x the BRAM of the dense BNN with its best style).

Each design goes through the user's CLI path, nothing else: ``sbnn synth --run NET --target-fps 100000``
(``--style auto``, the default) and ``sbnn sim --run ... --rtl`` on the run's 1,000 exported samples (RTL
scores == the bit-exact simulator, latency and interval == the cycle model). Every network is also built with
the other styles a fair comparison needs: ``--style dense`` (the FINN-like XNOR datapath everywhere), a network
whose every layer is N:M (block:B) with ``--style nm`` (``block``), and every sparse network as ``layer-best``:
a folding file that takes each layer (PE, SIMD, style, gather) from the variant in which that layer measured
the fewest LUTs, synthesized and checked like the others (the per-layer search by synthesis that the cost
model's ranking stands in for). Per network the measured variant with the fewest LUTs (then BRAM) is
the one that counts: the table says which, and that design is the one that was synthesized and checked.
Synthesis results are cached by the RTL's digest (sbnn's cache), so a rerun only redoes what changed.

The networks are the trained and exported runs of ``benchmarks/train_structure.py --export`` (seed 0; they are
not retrained here); the accuracy panel quotes ``benchmarks/results/train_structure_mlp.json`` (mean over seeds).

    python benchmarks/hw_network_structure.py                         # ~3 min per design on 2 shared cores
    python benchmarks/hw_network_structure.py --runs runs/bench-structure --nets mlp-bnn mlp-1of8-flrow
                                                                      # a subset: hw_network_structure_partial.*
    python benchmarks/hw_network_structure.py --reuse                 # keep RTL checks of unchanged Verilog
    python benchmarks/hw_network_structure.py --collect-only          # tabulate what the run folders hold
    python benchmarks/hw_network_structure.py --list                  # the networks and variants, nothing run
    python benchmarks/hw_network_structure.py --markdown-only         # rewrite .md and the figure from .json
    python benchmarks/hw_network_structure.py --arch cnv              # the CNV table: hw_network_structure_cnv.*
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine, write_results

from sbnn import fmt
from sbnn.hw.baseline import link_export
from sbnn.runs import RunDir

ROOT = Path(__file__).resolve().parents[1]
SBNN = [sys.executable, "-m", "sbnn.cli"]
COMMITTED = Path(__file__).resolve().parent / "results"  # the accuracy table, also when RESULTS points elsewhere
#: run directory -> (structure label, figure family); the dense BNN first
MLP_NETS = {
    "mlp-bnn": ("dense BNN", "dense BNN"),
    "mlp-none-0.875": ("none", "none"),
    "mlp-none-0.9375": ("none", "none"),
    "mlp-row-0.875": ("row", "row"),
    "mlp-row-0.9375": ("row", "row"),
    "mlp-1of8": ("1:8", "N:M"),
    "mlp-2of16": ("2:16", "N:M"),
    "mlp-1of16": ("1:16", "N:M"),
    "mlp-1of8-flrow": ("1:8 (first/last: row)", "N:M, first/last row"),
    "mlp-2of16-flrow": ("2:16 (first/last: row)", "N:M, first/last row"),
    "mlp-1of16-flrow": ("1:16 (first/last: row)", "N:M, first/last row"),
    "mlp-block8-0.875": ("block:8", "block"),
    "mlp-block8-flrow-0.875": ("block:8 (first/last: row)", "block, first/last row"),
    "mlp-1of8i": ("1:8i", "N:M interleaved"),
    "mlp-1of16i": ("1:16i", "N:M interleaved"),
    "mlp-1of16i-fl2of16i": ("1:16i (first/last: 2:16i)", "N:M interleaved"),
}
#: the goal (issue 12): at about 90 % zero bits, ratios to the best dense BNN
GOAL = {"LUT": 0.6, "BRAM36": 0.5}
GOAL_ZERO_BITS = (0.85, 0.95)




@dataclass(frozen=True)
class Bench:
    """One architecture's table: its trained runs (``train_structure.py`` names them ``{arch}-...``), the rate
    they are built for and what the reader must know about the comparison."""

    arch: str
    title: str
    target_fps: int
    nets: dict[str, tuple[str, str]]
    #: networks whose every layer has one structure that a structured style reads: that style everywhere too
    pure: dict[str, str] = field(default_factory=dict)
    note: str = ""

    @property
    def baseline(self) -> str:
        return f"{self.arch}-bnn"

    @property
    def stem(self) -> str:
        return "hw_network_structure" + ("" if self.arch == "mlp" else f"_{self.arch}")


BENCHES = {
    "mlp": Bench("mlp", "Fashion-MNIST SFC 784-256-256-256-10", 100_000, MLP_NETS,
                 {"mlp-1of8": "nm", "mlp-2of16": "nm", "mlp-1of16": "nm", "mlp-block8-0.875": "block", "mlp-1of8i": "nm",
                  "mlp-1of16i": "nm", "mlp-1of16i-fl2of16i": "nm"}),
    # FINN's CNV rate: finn-examples' CNV-W1A1 runs at 3,020 frames/s on a Pynq-Z1, FINN's automatic folding is
    # asked for 3,000 (../shared/finn_baseline.md)
    "cnv": Bench("cnv", "Fashion-MNIST CNV-style net (conv 32,32,pool,64,64,pool, FC 128, 10; 8-bit pixel input)",
                 3_000, {"cnv-bnn": ("dense BNN", "dense BNN"), "cnv-none-0.875": ("none (first/last: 0.5)", "none"),
                         "cnv-1of8-flrow": ("1:8 (first/last: row 0.5)", "N:M, first/last row"),
                         "cnv-1of8i-flrow": ("1:8i (first/last: row 0.5)", "N:M interleaved, first/last row")},
                 note="FINN's CNV rate (3,000 frames/s) on the CNV-style net of `benchmarks/train_fashion.py` (half "
                      "FINN's CNV widths, 28x28x1 input): a lighter load than FINN's CIFAR-10 CNV at that rate. The "
                      "first conv (K = 9: no M of 8 divides it) and the score layer keep 0.5 zero bits as in every "
                      "sparse CNV of this project (row structure in the N:M network). Trained with train_fashion.py's CNV "
                      "recipe (8 epochs, seed 0)."),
}


def variants(bench: Bench, net: str) -> list[str]:
    """Styles each network is built with; ``auto`` (the CLI default) first. Sparse networks also get the
    ``layer-best`` design (see :func:`layer_best`)."""
    return ["auto", "dense"] + ([bench.pure[net]] if net in bench.pure else [])


def _run(cmd: list, log: Path) -> int:
    """Run a command from the repository root, its output into ``log`` (and its tail on failure)."""
    print("$", " ".join(str(c) for c in cmd), flush=True)
    with open(log, "w") as f:
        rc = subprocess.run([str(c) for c in cmd], cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
                            env={**os.environ, "SBNN_PROGRESS": "0"}).returncode
    if rc:
        print("".join(log.read_text().splitlines(keepends=True)[-8:]), end="", flush=True)
    return rc


def _j(path: Path) -> dict:
    return json.loads(path.read_text())


def _rtl_digest(where: Path, samples: int | None) -> str:
    """SHA-256 of the design's generated Verilog and the sample count: an RTL check holds while it is unchanged."""
    h = hashlib.sha256(str(samples).encode())
    for f in sorted((where / "hw" / "rtl").glob("*.v")):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def measure(run: Path, style: str, fps: int, samples: int | None, reuse: bool, folding: dict | None = None,
            collect: bool = False) -> dict:
    """``sbnn synth`` at the target rate with ``style`` (auto: in the run itself; others: in a sub-run sharing
    its export; ``folding``: a per-layer folding file instead of the target rate), then ``sbnn sim --rtl``
    (with ``reuse``: kept when the last check in that folder was of the same Verilog and samples). ``collect``:
    run nothing, read what the last run left (a check of other Verilog or samples counts as missing)."""
    where = run if style == "auto" else run / f"style-{style}"
    if style != "auto":
        link_export(RunDir(where))
    logs = run / ".bench-logs"
    logs.mkdir(exist_ok=True)
    if folding is not None:
        req = where / "folding-request.json"
        if collect and (not req.exists() or json.loads(req.read_text()) != folding):
            return {"style": style, "error": "not measured"}
        if not collect:
            req.write_text(json.dumps(folding, indent=1) + "\n")
        # the target rate too: the FIFOs are sized for it as in the automatic variants (without it they are sized
        # for the folding's own best interval: a deeper FIFO turned the SFC's 784-bit vector FIFO into 530 LUTs)
        cmd = SBNN + ["synth", "--run", where, "--folding", where / "folding-request.json", "--target-fps", fps]
    else:
        cmd = SBNN + ["synth", "--run", where, "--target-fps", fps] + ([] if style == "auto" else
                                                                             ["--style", style])
    out = {"style": style, "dir": str(where.relative_to(ROOT) if where.is_relative_to(ROOT) else where),
           "command": " ".join(str(c.relative_to(ROOT) if isinstance(c, Path) and c.is_relative_to(ROOT) else c)
                               for c in cmd[2:])}
    t0 = time.perf_counter()
    if collect:
        if not (where / "synth" / "report.json").exists():
            return {**out, "error": "not measured"}
    else:
        (where / "synth" / "report.json").unlink(missing_ok=True)  # never report an old result
        if _run(cmd, logs / f"{style}-synth.log"):
            return {**out, "error": "sbnn synth failed"}
    syn, cyc, fold = _j(where / "synth" / "report.json"), _j(where / "hw" / "cycles.json"), _j(where / "hw" / "folding.json")
    out.update(LUT=syn["total"]["LUT"], mvu_LUT=mvu_luts(syn), FF=syn["total"]["FF"], BRAM36=syn["bram36_equivalent"],
               DSP=syn["total"]["DSP"],
               frames_per_second=cyc["frames_per_second"], interval_cycles=cyc["interval_cycles"],
               latency_cycles=cyc["latency_cycles"], synth_seconds=syn["elapsed_s"], synth_cached=syn["cached"],
               layers={e["layer"]: {k: e[k] for k in ("LUT", "FF", "BRAM18", "BRAM36")} for e in syn["layers"]},
               mvus={n: {k: v for k, v in e.items() if k in ("PE", "SIMD", "style", "gather", "coding")}
                     for n, e in fold.items()}, folding=fold, mvu_parts=mvu_parts(where))
    sim = SBNN + ["sim", "--run", where, "--rtl"] + ([] if samples is None else ["--samples", samples])
    out["sim_command"] = " ".join(str(c.relative_to(ROOT) if isinstance(c, Path) and c.is_relative_to(ROOT) else c)
                                  for c in sim[2:])
    rep, stamp, digest = where / "sim" / "report.json", where / "sim" / ".rtl-digest", _rtl_digest(where, samples)
    out["rtl_reused"] = bool((reuse or collect) and rep.exists() and stamp.exists() and stamp.read_text() == digest
                             and "rtl" in _j(rep))
    if collect and not out["rtl_reused"]:
        return {**out, "error": "no RTL check of this Verilog"}
    if not out["rtl_reused"]:
        rep.unlink(missing_ok=True)
        stamp.unlink(missing_ok=True)
        rc = _run(sim, logs / f"{style}-sim.log")
        if not rep.exists() or "rtl" not in _j(rep):
            return {**out, "error": f"sbnn sim --rtl failed (exit {rc})"}
        stamp.write_text(digest)
    r = _j(rep)["rtl"]
    out["rtl"] = {k: r[k] for k in ("samples", "equal", "mismatches", "latency", "interval", "model_latency",
                                    "model_interval", "timing_equals_cycle_model")}
    out["seconds"] = round(time.perf_counter() - t0, 1)
    return out


#: the MVU instances of a synthesis report (``u_L<i>_mvu<j>``; not their collectors, windows or FIFOs)
MVU_INSTANCE = re.compile(r"u_L\d+_mvu\d+")


def mvu_luts(syn: dict) -> int:
    """LUTs of the design's MVU instances: what the datapath styles differ in. The rest (stream FIFOs, sliding
    windows, collectors, pools, glue) every variant of a network pays alike."""
    return sum(e["LUT"] for name, e in syn["instances"].items() if MVU_INSTANCE.fullmatch(name))


#: the cost model's features (sbnn.arch.cost.COEFFS) grouped as the breakdown table shows them
PARTS = {"XNOR + popcount": ("xnor", "unrolled_ops"), "weights in logic": ("weight_rom",), "slice mux": ("slice",),
         "lanes + thresholds": ("const", "lanes", "thr_rom", "unrolled_lanes"), "S'(x)": ("s_tree",),
         "picks, gathers": ("picks", "gather", "nm_mux", "block_mux", "lutram1", "lutram2", "lut_load", "delta")}


def mvu_parts(where: Path) -> dict[str, float]:
    """Where the MVU LUTs of a built design go, by the cost model (its LUTs per feature, summed over the MVUs, in
    the groups of :data:`PARTS`): which parts a sparser datapath removes and which every datapath pays."""
    from sbnn.arch import folding
    from sbnn.arch.cost import COEFFS, features, vector_fed
    from sbnn.arch.schedule import schedule
    from sbnn.ir import load

    spec = _j(where / "hw" / "folding.json")
    model = folding.apply(load(where / "export" / "ir"), spec)
    impls = folding.resolve_impls(model, spec)
    out = dict.fromkeys(PARTS, 0.0)
    for layer in model.mvus:
        f = features(layer, schedule(layer, impls[layer.name]), impls[layer.name].weight_rom, vector_fed(model, layer))
        for part, names in PARTS.items():
            out[part] += sum(COEFFS[n] * f[n] for n in names)
    return {k: round(v, 1) for k, v in out.items()}


def layer_best(vs: list[dict]) -> dict | None:
    """The folding file that takes every MVU layer from the measured variant in which that layer (its MVU, input
    collector and FIFOs) has the fewest LUTs (then BRAM): the per-layer search by synthesis. None when one
    variant already holds every such layer (the design was measured)."""
    good = [v for v in vs if "folding" in v]
    if not good:
        return None
    pick = {n: min(good, key=lambda v: (v["layers"][n]["LUT"], v["layers"][n]["BRAM36"] + v["layers"][n]["BRAM18"] / 2))
            for n in good[0]["folding"]}
    fold = {n: v["folding"][n] for n, v in pick.items()}
    return None if any(v["folding"] == fold for v in good) else fold


def _ok(v: dict) -> bool:
    return "error" not in v and v["rtl"]["equal"] and v["rtl"]["timing_equals_cycle_model"]


def select(vs: list[dict]) -> dict | None:
    """The variant that counts: fewest LUTs, then fewest BRAM, among those that passed the RTL check."""
    good = [v for v in vs if _ok(v)]
    return min(good, key=lambda v: (v["LUT"], v["BRAM36"])) if good else None


def lut_ranked(run: Path, fps: int) -> dict:
    """The folding the automatic search picks when it ranks by LUTs alone (``objective="lut"``, the search before
    block RAM counted): one more variant of every network."""
    from sbnn.arch import folding
    from sbnn.ir import load

    res = folding.auto(load(run / "export" / "ir"), fps, 100.0, style="auto", gather="auto", objective="lut")
    return res.folding


def net_row(bench: Bench, runs: Path, net: str, samples: int | None, reuse: bool, collect: bool = False) -> dict:
    run = runs / net
    final = _j(run / "train" / "metrics.json")["final"]
    structures = [layer.get("structure", "none") for layer in _j(run / "export" / "ir.json")["layers"]
                  if layer["kind"] != "threshold"]
    fps = bench.target_fps
    vs = [measure(run, s, fps, samples, reuse, collect=collect) for s in variants(bench, net)]
    # every network also as the LUT-only search folds it (block RAM free: weights move into BRAM where that saves
    # LUTs), and then the best layers of all variants
    vs.append(measure(run, "auto-lut", fps, samples, reuse, lut_ranked(run, fps), collect=collect))
    fold = layer_best(vs)
    if fold is not None:
        vs.append(measure(run, "layer-best", fps, samples, reuse, fold, collect=collect))
    best = select(vs)
    return {"net": net, "structure": bench.nets[net][0], "family": bench.nets[net][1], "zero_bits": final["sparsity"],
            "test_acc_seed0": final["test_acc"], "ir_structures": structures, "variants": vs,
            "selected": best["style"] if best else None}


def _sel(row: dict) -> dict | None:
    return next((v for v in row["variants"] if v["style"] == row["selected"]), None)


def _bench(res: dict) -> Bench:
    return BENCHES[res.get("arch", "mlp")]


def add_ratios(res: dict) -> None:
    baseline = _bench(res).baseline
    base = next((r for r in res["nets"] if r["net"] == baseline), None)
    b = _sel(base) if base else None
    res["baseline"] = {"net": baseline, "style": b["style"], "LUT": b["LUT"], "mvu_LUT": b.get("mvu_LUT"),
                       "BRAM36": b["BRAM36"]} if b else None
    for r in res["nets"]:
        for v in r["variants"]:
            if b and "error" not in v:
                v["lut_ratio"] = v["LUT"] / b["LUT"]
                if v.get("mvu_LUT") is not None and b.get("mvu_LUT"):
                    v["mvu_lut_ratio"] = v["mvu_LUT"] / b["mvu_LUT"]
                v["bram_ratio"] = v["BRAM36"] / b["BRAM36"] if b["BRAM36"] else None
    res["goal"] = []
    for r in res["nets"]:
        v = _sel(r)
        if r["net"] == baseline or not v or "lut_ratio" not in v or not GOAL_ZERO_BITS[0] <= r["zero_bits"] <= GOAL_ZERO_BITS[1]:
            continue
        res["goal"].append({"net": r["net"], "structure": r["structure"], "zero_bits": r["zero_bits"],
                            "lut_ratio": v["lut_ratio"], "bram_ratio": v["bram_ratio"],
                            "lut_met": v["lut_ratio"] <= GOAL["LUT"],
                            "bram_met": v["bram_ratio"] is not None and v["bram_ratio"] <= GOAL["BRAM36"]})


def _datapaths(v: dict) -> str:
    return ", ".join(f"{n} {e['style']}{' ' + e['gather'] if e.get('gather') else ''} {e['PE']}x{e['SIMD']}"
                     for n, e in v["mvus"].items())


def _rtl(v: dict) -> str:
    if "error" in v:
        return v["error"]
    r = v["rtl"]
    eq = "==" if r["equal"] else f"DIFFERS ({r['mismatches']})"
    return (f"{eq} on {fmt.count(r['samples'])}, cycles "
            f"{'== model' if r['timing_equals_cycle_model'] else 'DIFFER'}")


def _count(x: int | None) -> str:
    return "-" if x is None else fmt.count(x)


def _ratio(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def markdown(res: dict) -> str:
    b, bench = res.get("baseline"), _bench(res)
    fps = fmt.count(bench.target_fps)
    L = [f"# Whole networks at {fps} frames/s: {bench.title.split(' (')[0]} by mask structure", "",
         f"{bench.title} ({{α,β}} closed form; the dense BNN: {{-1,+1}} levels), trained and "
         "exported by `benchmarks/train_structure.py` (seed 0), each built with `sbnn synth --target-fps "
         f"{bench.target_fps}` "
         "(Yosys synth_xilinx, xc7z020, 100 MHz; the whole accelerator incl. FIFOs and thresholds) and checked with "
         "`sbnn sim --rtl` on the run's real inputs. Every network is built with `--style auto` (the default) and "
         "`--style dense` (the XNOR datapath everywhere), all-N:M / all-block networks also with `--style nm` / "
         "`block`, and every network with `layer-best`: a folding file taking every layer from the variant in "
         "which it measured fewest LUTs (synthesized and checked itself). The automatic folding ranks LUTs and "
         "block RAM by device fraction; every network is also built as a LUT-only ranking folds it (`auto-lut`), "
         "and the baseline is searched as hard as the sparse networks. The variant with the fewest LUTs "
         "(then BRAM) is the one that counts (**bold**), for the dense BNN as for the sparse networks. MVU LUT: "
         "the MVU instances alone, what the datapath styles differ in; the rest (stream FIFOs, sliding windows, "
         "collectors, pools) every design of a network pays alike."
         + (" Tabulated with `--collect-only` from what the measuring runs (`--reuse`, `--nets` subsets run side by "
            "side) left in the run folders; a variant marked 'not measured' was not run." if res.get("collect_only") else "")
         + (f" Baseline: the dense BNN with `--style {b['style']}`, {fmt.count(b['LUT'])} LUT, {b['BRAM36']:g} "
            "BRAM36." if b else "") + (f" {bench.note}" if bench.note else ""), "",
         "| network | zero bits | test acc. (seed 0) | selected | LUT | / dense BNN | MVU LUT | / dense BNN | BRAM36 | "
         "/ dense BNN | frames/s | RTL == sim, cycles == model | MVU datapaths |",
         "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in res["nets"]:
        v = _sel(r)
        if v is None:
            why = ("not measured" if all(x.get("error") == "not measured" for x in r["variants"])
                   else "none passed the RTL check")
            L.append(f"| {r['structure']} | {r['zero_bits']:.4f} | {fmt.pct(r['test_acc_seed0'])} | {why} | - | - "
                     "| - | - | - | - | - | - | - |")
            continue
        L.append(f"| {r['structure']} | {r['zero_bits']:.4f} | {fmt.pct(r['test_acc_seed0'])} | {v['style']} | "
                 f"{fmt.count(v['LUT'])} | {_ratio(v.get('lut_ratio'))} | {_count(v.get('mvu_LUT'))} | "
                 f"{_ratio(v.get('mvu_lut_ratio'))} | {v['BRAM36']:g} | {_ratio(v.get('bram_ratio'))} "
                 f"| {fmt.count(round(v['frames_per_second']))} | {_rtl(v)} | "
                 f"{' / '.join(e['style'] + (' ' + e['gather'] if e.get('gather') else '') for e in v['mvus'].values())} |")
    L += ["", "Every variant measured:", "",
          "| network | style | LUT | / dense BNN | FF | BRAM36 | / dense BNN | frames/s | RTL check | MVU datapaths "
          "(style PE x SIMD) |", "|---|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in res["nets"]:
        for v in r["variants"]:
            style = f"**{v['style']}**" if v["style"] == r["selected"] else v["style"]
            if "LUT" not in v:
                L.append(f"| {r['structure']} | {style} | - | - | - | - | - | - | {v['error']} | - |")
                continue
            L.append(f"| {r['structure']} | {style} | {fmt.count(v['LUT'])} | {_ratio(v.get('lut_ratio'))} | "
                     f"{fmt.count(v['FF'])} | {v['BRAM36']:g} | {_ratio(v.get('bram_ratio'))} | "
                     f"{fmt.count(round(v['frames_per_second']))} | {_rtl(v)} | {_datapaths(v)} |")
    L += ["", f"Goal (issue 12): at about 90 % zero bits ({GOAL_ZERO_BITS[0]:.0%}-{GOAL_ZERO_BITS[1]:.0%}), LUT <= "
          f"{GOAL['LUT']} x and BRAM <= {GOAL['BRAM36']} x the best dense BNN:", ""]
    for g in res["goal"]:
        L.append(f"- {g['structure']} at {g['zero_bits']:.2%} zero bits: LUT {g['lut_ratio']:.2f} x "
                 f"({'met' if g['lut_met'] else 'NOT met'}), BRAM {_ratio(g['bram_ratio'])} x "
                 f"({'met' if g['bram_met'] else 'NOT met'})")
    checked = [v for r in res["nets"] for v in r["variants"] if v.get("error") != "not measured"]
    n_ok = sum(_ok(v) for v in checked)
    missing = sum(v.get("error") == "not measured" for r in res["nets"] for v in r["variants"])
    L += ["", (f"Not measured (left out of this run, marked in the table): {missing} variant(s). " if missing else "")
          + f"RTL check: {n_ok} of {len(checked)} designs have RTL scores == the bit-exact simulator and latency and "
          f"interval == the cycle model on {fmt.count(min((v['rtl']['samples'] for v in checked if 'rtl' in v), default=0))}"
          " real inputs each.", "",
          "Where the MVU LUTs go (selected variant; the cost model's estimate by part, sbnn.arch.cost; the rest of "
          "the LUTs, outside the MVUs, is measured):", "",
          "| network | " + " | ".join(PARTS) + " | MVU estimate | MVU measured | outside the MVUs |",
          "|---|" + "---:|" * (len(PARTS) + 3)]
    for r in res["nets"]:
        v = _sel(r)
        if v and v.get("mvu_parts") and v.get("mvu_LUT") is not None:
            parts = v["mvu_parts"]
            L.append(f"| {r['structure']} ({v['style']}) | " + " | ".join(fmt.count(round(parts[p])) for p in PARTS)
                     + f" | {fmt.count(round(sum(parts.values())))} | {fmt.count(v['mvu_LUT'])} | "
                     f"{fmt.count(v['LUT'] - v['mvu_LUT'])} |")
    base = next((_sel(r) for r in res["nets"] if r["net"] == bench.baseline), None)
    if base and base.get("mvu_parts"):
        gone = base["mvu_parts"]["XNOR + popcount"] + base["mvu_parts"]["weights in logic"]
        L += ["", f"What sparsity can remove from the dense BNN, by the estimate: its XNOR and popcount logic and its "
              f"weight memories in logic, {fmt.count(round(gone))} LUT; without them it would keep "
              f"{fmt.count(round(base['LUT'] - gone))} LUT, {(base['LUT'] - gone) / base['LUT']:.2f} x its measured "
              f"{fmt.count(base['LUT'])}."]
    L += ["", "Per layer (selected variant; LUT / BRAM36 of the layer's MVU, its input collector and FIFOs):", "",
          "| network | " + " | ".join(_layer_names(res)) + " |", "|---|" + "---:|" * len(_layer_names(res))]
    for r in res["nets"]:
        v = _sel(r)
        if v and "layers" in v:
            cells = [f"{fmt.count(v['layers'][n]['LUT'])} / {_b36(v['layers'][n])}" if n in v["layers"] else "-"
                     for n in _layer_names(res)]
            L.append(f"| {r['structure']} ({r['zero_bits']:.3f}, {v['style']}) | " + " | ".join(cells) + " |")
    how = ("`python benchmarks/train_structure.py --data-dir DATA --export` (the networks), then "
           "`python benchmarks/hw_network_structure.py`" if bench.arch == "mlp" else
           f"`python benchmarks/train_structure.py --data-dir DATA --only {bench.arch} --export` (the networks), then "
           "`python benchmarks/hw_network_structure.py --arch "
           f"{bench.arch}`")
    L += ["", f"![LUT, BRAM and accuracy against zero bits]({bench.stem}.png)", "",
          f"Figure: LUT and BRAM36 of each network at {fps} frames/s (selected variant) and test accuracy (mean over "
          f"seeds, from train_structure_{bench.arch}.json) against the fraction of zero weight bits, by mask structure. "
          f"Reproduce: {how}.", ""]
    return "\n".join(L)


def _b36(e: dict) -> str:
    return f"{e['BRAM36'] + e['BRAM18'] / 2:g}"


def _layer_names(res: dict) -> list[str]:
    names: list[str] = []
    for r in res["nets"]:
        for v in r["variants"]:
            for n in v.get("layers", {}):
                if n not in names:
                    names.append(n)
    return names


def figure(res: dict, accuracy: dict | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bench = _bench(res)
    fps = fmt.count(bench.target_fps)
    fams = list(dict.fromkeys(f for _, f in bench.nets.values()))
    marks = dict(zip(fams, "s o ^ D v P X * h".split()))
    colors = {f: f"C{i}" for i, f in enumerate(fams)}  # one colour per structure in every panel
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    b = res.get("baseline")
    for ax, key, label in ((axes[0], "LUT", "LUT (Yosys, whole accelerator)"), (axes[1], "BRAM36", "BRAM36 (equivalent)")):
        for fam in fams:
            pts = sorted((r["zero_bits"], _sel(r)[key]) for r in res["nets"] if r["family"] == fam and _sel(r))
            if pts:
                ax.plot(*zip(*pts), marker=marks[fam], color=colors[fam], linestyle="-" if len(pts) > 1 else "none",
                        label=fam)
        if b:
            ax.axhline(b[key], color="grey", linestyle=":", linewidth=1)
            ax.axhline(b[key] * GOAL[key], color="red", linestyle="--", linewidth=1,
                       label=f"goal: {GOAL[key]} x the dense BNN")
        ax.set_xlabel("zero weight bits (fraction)")
        ax.set_ylabel(label)
        ax.set_title(f"{label.split(' ')[0]} at {fps} frames/s")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    ax = axes[2]
    if accuracy:
        fam_of = {"none": "none", "row": "row", "1:8": "N:M", "2:16": "N:M", "1:16": "N:M", "block:8": "block",
                  "1:8i": "N:M interleaved", "1:16i": "N:M interleaved"}
        groups: dict[str, list] = {}
        for s in accuracy["summary"]:
            if s["arch"] != bench.arch:
                continue
            if s["method"] == "bnn":
                fam = "dense BNN"
            else:
                fam = fam_of.get(s["structure"], s["structure"])
                if s.get("first_last_structure") == "row" and s["structure"] != "row":
                    fam += ", first/last row"
                elif s.get("last_structure", s.get("first_last_structure")) != s.get("first_last_structure"):
                    fam += f", last layer {s['last_structure']}"
            groups.setdefault(fam, []).append((s["sparsity"], 100 * s["test_acc"]))
        for fam in groups:  # a family only the accuracy table has (e.g. a last-layer-row point) gets its own colour
            colors.setdefault(fam, f"C{len(colors) % 10}")
        for fam, pts in groups.items():
            pts.sort()
            ax.plot(*zip(*pts), marker=marks.get(fam, "o"), color=colors.get(fam), linestyle="-" if len(pts) > 1 else "none",
                    label=fam)
        ax.legend(fontsize=7)
    ax.set_xlabel("zero weight bits (fraction)")
    ax.set_ylabel("test accuracy (%), mean over seeds")
    ax.set_title(f"{bench.title.split(' (')[0].replace(' 784-256-256-256-10', '')} accuracy")
    ax.grid(alpha=0.3)
    fig.text(0.5, 0.005, f"{bench.title.split(' (')[0]}; hardware: sbnn synth --target-fps {bench.target_fps} (Yosys, "
             "xc7z020), selected style per network. Reproduce: python benchmarks/hw_network_structure.py"
             f"{'' if bench.arch == 'mlp' else ' --arch ' + bench.arch} (accuracy: benchmarks/results/"
             f"train_structure_{bench.arch}.json)", ha="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _name(bench: Bench, partial: bool) -> str:
    """Results of a ``--nets`` subset go to ``_partial`` files: the full table is never overwritten by a subset
    (a ratio is only quoted against the baseline measured in the same run)."""
    return bench.stem + ("_partial" if partial else "")


def write(res: dict) -> None:
    add_ratios(res)
    bench = _bench(res)
    name = _name(bench, bool(res.get("partial")))
    write_results(name, res, markdown(res).replace(f"({bench.stem}.png)", f"({name}.png)"))
    acc_stem = f"train_structure_{bench.arch}"
    acc = next((p for stem in ([f"{acc_stem}_partial"] if res.get("partial") else []) + [acc_stem]
                for p in (RESULTS / f"{stem}.json", COMMITTED / f"{stem}.json") if p.exists()), None)
    figure(res, _j(acc) if acc else None, RESULTS / f"{name}.png")
    print(f"written: {RESULTS / f'{name}.png'}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs/bench-structure", help="folder of the exported runs (default %(default)s)")
    ap.add_argument("--arch", choices=list(BENCHES), default="mlp", help="which table (default %(default)s)")
    ap.add_argument("--nets", nargs="+", choices=[n for b in BENCHES.values() for n in b.nets],
                    help="networks (default all of --arch)")
    ap.add_argument("--samples", type=int, help="RTL check on the first N samples only (default all: 1,000)")
    ap.add_argument("--reuse", action="store_true", help="keep an RTL check whose Verilog and samples are unchanged")
    ap.add_argument("--collect-only", action="store_true",
                    help="run nothing: tabulate what earlier runs left in the run folders (missing ones are marked)")
    ap.add_argument("--list", action="store_true", help="list the networks and their variants, run nothing")
    ap.add_argument("--markdown-only", action="store_true", help="rewrite the .md and the figure from the .json")
    args = ap.parse_args(argv)
    runs, bench = (ROOT / args.runs).resolve(), BENCHES[args.arch]
    nets = args.nets or list(bench.nets)
    other = [n for n in nets if n not in bench.nets]
    if other:
        print(f"error: {', '.join(other)} not in the {args.arch} table (--arch)", file=sys.stderr)
        return 1
    if args.list:
        for net in nets:
            ok = "" if (runs / net / "export" / "ir.json").exists() else "  (not exported here)"
            print(f"{net:24s} {bench.nets[net][0]:26s} styles: {', '.join(variants(bench, net))}{ok}")
        return 0
    partial = set(nets) != set(bench.nets)
    if args.markdown_only:
        write(_j(RESULTS / f"{_name(bench, partial)}.json"))
        return 0
    missing = [n for n in nets if not (runs / n / "export" / "ir.json").exists()]
    if missing:
        print(f"error: no exported run for {', '.join(missing)} in {runs} (benchmarks/train_structure.py --export "
              "trains and exports them)", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    res = {"machine": machine(), "arch": bench.arch, "target_fps": bench.target_fps, "runs": args.runs,
           "samples": args.samples, "collect_only": args.collect_only, "partial": partial,
           "nets": [net_row(bench, runs, n, args.samples, args.reuse, args.collect_only) for n in nets]}
    res["seconds"] = round(time.perf_counter() - t0, 1)
    write(res)
    bad = [f"{r['net']} --style {v['style']}" for r in res["nets"] for v in r["variants"] if not _ok(v)]
    if bad:
        print("RTL check or synthesis FAILED: " + "; ".join(bad), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
