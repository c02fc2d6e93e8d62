"""Whole networks at one target rate: the trained Fashion-MNIST SFC (784-256-256-256-10) of every mask
structure against the dense BNN of the same architecture, all at 100,000 frames/s, and (``--arch cnv``) the
CNV-style net at FINN's CNV rate, 3,000 frames/s (issue 12's goal: the structured sparse network at about 90 %
zero bits takes <= 0.6 x the LUTs and <= 0.5 x the BRAM of the dense BNN with its best style).

Each design goes through the user's CLI path, nothing else: ``sbnn synth --run NET --target-fps 100000``
(``--style auto``, the default) and ``sbnn sim --run ... --rtl`` on the run's 1,000 exported samples (RTL
scores == the bit-exact simulator, latency and interval == the cycle model). Every network is also built with
the other styles a fair comparison needs: ``--search 3`` (:data:`SEARCH`; every network), ``--style dense`` (the
FINN-like XNOR datapath everywhere), a network
whose every layer is N:M (block:B) with ``--style nm`` (``block``), and every sparse network as ``layer-best``:
a folding file that takes each layer (PE, SIMD, style, gather) from the variant in which that layer measured
the fewest LUTs, synthesized and checked like the others (the per-layer search by synthesis that the cost
model's ranking stands in for). Per network the measured variant with the fewest LUTs (then BRAM) is
the one that counts: the table says which, and that design is the one that was synthesized and checked.
Synthesis results are cached by the RTL's digest (sbnn's cache), so a rerun only redoes what changed.

The networks are the trained and exported runs of ``benchmarks/train_structure.py --export`` (seed 0; they are
not retrained here); the accuracy panel quotes ``benchmarks/results/train_structure_mlp.json`` (mean over seeds).

    python benchmarks/hw_network_structure.py                         # SFC: 113 designs, ~65 min on one core
    python benchmarks/hw_network_structure.py --runs runs/bench-structure --nets mlp-bnn mlp-1of8-flrow
                                                                      # a subset: hw_network_structure_partial.*
    python benchmarks/hw_network_structure.py --reuse                 # keep RTL checks of unchanged Verilog
    python benchmarks/hw_network_structure.py --collect-only          # tabulate what the run folders hold
    python benchmarks/hw_network_structure.py --list                  # the networks and variants, nothing run
    python benchmarks/hw_network_structure.py --markdown-only         # rewrite .md and the figure from .json
    python benchmarks/hw_network_structure.py --arch cnv              # the CNV table: hw_network_structure_cnv.*
    python benchmarks/hw_network_structure.py --runs runs/other --nets mlp-bnn mlp-1of8i --out other_machine
                                                                      # a subset kept: hw_network_structure_other_machine.*
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS, machine, write_results
from network_tables import BENCHES, PARTS, Bench, add_ratios, bench_of, figure, markdown, rtl_ok

from sbnn.arch.depth import meets
from sbnn.hw.baseline import link_export
from sbnn.runs import RunDir

ROOT = Path(__file__).resolve().parents[1]
SBNN = [sys.executable, "-m", "sbnn.cli"]
COMMITTED = Path(__file__).resolve().parent / "results"  # the accuracy table, also when RESULTS points elsewhere


#: candidates of the ``search`` variant, which every network gets alike: ``sbnn synth --search 3``, the estimate's three
#: best foldings and their per-layer best, each synthesized (as the main job's comparison does). Why: without it
#: the dense BNN, whose other variants all build one design, was searched less than the sparse networks, whose
#: variants differ per layer (the CNV's dense BNN, results/hw_network_structure_cnv.json: its second conv at PE 2 x
#: SIMD 96 as every other variant builds it, 1,313 LUT with its window and FIFOs; the search's PE 1 x SIMD 288, 1,250)
SEARCH = 3
#: variants that are more than a ``--style``: all-N:M with every weight memory in block RAM, widened where the
#: thresholds need it to ride along (``weight_rom`` "block-wide": block RAM for the threshold memories and wide
#: compares a 1:16 layer's 32-bit word leaves in logic), and the same placement for the dense BNN's XNOR datapath
#: (what ``nm-wide`` gives the N:M networks, the baseline gets too), and every other sparse network the same
#: placement with the default styles (``wide``; for an all-N:M network it builds nm-wide's design or one a few LUTs
#: larger): the CNV's dense BNN holds its second conv's 288 x 32 weights in block RAM that way (2,314 LUT and 10.5
#: BRAM36 against 2,877 and 6 searched by synthesis), so every sparse CNV, none of which is all-N:M, needs it too
VARIANT_ARGS = {"nm-wide": ["--style", "nm", "--set", "weight_rom=block-wide"],
                "dense-wide": ["--style", "dense", "--set", "weight_rom=block-wide"],
                "wide": ["--set", "weight_rom=block-wide"], "search": ["--search", str(SEARCH)]}


def variants(bench: Bench, net: str) -> list[str]:
    """Styles each network is built with; ``auto`` (the CLI default) first. Sparse networks also get the
    ``layer-best`` design (see :func:`layer_best`), all-N:M ones ``nm-wide``, the others ``wide``, the dense BNN
    ``dense-wide`` (:data:`VARIANT_ARGS`)."""
    if net == bench.baseline:
        return ["auto", "search", "dense", "dense-wide"]
    pure = bench.pure.get(net)
    return ["auto", "search", "dense"] + ([pure] if pure else []) + (["nm-wide"] if pure == "nm" else ["wide"])


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
                                                                             VARIANT_ARGS.get(style, ["--style", style]))
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
                     for n, e in fold.items()}, folding=fold, mvu_parts=mvu_parts(where), **_timing(syn))
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


def _timing(syn: dict) -> dict:
    """The design's Fmax estimate and whether it meets the clock by it (the verdict ``sbnn synth`` records; older
    reports: the same rule applied to their slowest path)."""
    t = syn.get("timing") or {}
    crit = (t.get("instances") or {}).get(t.get("critical_instance")) or {}
    met = t.get("meets_clock")
    if met is None and crit.get("delay_ns") is not None:
        met = meets(crit["delay_ns"], (syn.get("cycles") or {}).get("clock_mhz", 100.0))
    return {"fmax_mhz_estimate": t.get("fmax_mhz_estimate"), "meets_clock": met}


#: the MVU instances of a synthesis report (``u_L<i>_mvu<j>``; not their collectors, windows or FIFOs)
MVU_INSTANCE = re.compile(r"u_L\d+_mvu\d+")


def mvu_luts(syn: dict) -> int:
    """LUTs of the design's MVU instances: what the datapath styles differ in. The rest (stream FIFOs, sliding
    windows, collectors, pools, glue) every variant of a network pays alike."""
    return sum(e["LUT"] for name, e in syn["instances"].items() if MVU_INSTANCE.fullmatch(name))


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


def select(vs: list[dict]) -> dict | None:
    """The variant that counts: fewest LUTs, then fewest BRAM, among those that passed the RTL check."""
    good = [v for v in vs if rtl_ok(v)]
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


def _name(bench: Bench, partial: bool, out: str | None = None) -> str:
    """Results of a ``--nets`` subset go to ``_partial`` files (or ``--out``'s, a subset kept as a check of its
    own): the full table is never overwritten by a subset (a ratio is only quoted against the baseline measured in
    the same run)."""
    if out:
        return f"{bench.stem}_{out}"
    return bench.stem + ("_partial" if partial else "")


def write(res: dict) -> None:
    add_ratios(res)
    bench = bench_of(res)
    name = _name(bench, bool(res.get("partial")), res.get("out"))
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
    ap.add_argument("--out", metavar="NAME", help="write a --nets subset to <table>_NAME.* instead of _partial.* (a "
                    "check kept beside the full table)")
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
    if args.out and (not partial or not args.out.isidentifier()):
        print("error: --out names a --nets subset's results (letters, digits, _)", file=sys.stderr)
        return 1
    if args.markdown_only:
        write(_j(RESULTS / f"{_name(bench, partial, args.out)}.json"))
        return 0
    missing = [n for n in nets if not (runs / n / "export" / "ir.json").exists()]
    if missing:
        print(f"error: no exported run for {', '.join(missing)} in {runs} (benchmarks/train_structure.py --export "
              "trains and exports them)", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    res = {"machine": machine(), "arch": bench.arch, "target_fps": bench.target_fps, "runs": args.runs,
           "samples": args.samples, "collect_only": args.collect_only, "partial": partial, "out": args.out,
           "nets": [net_row(bench, runs, n, args.samples, args.reuse, args.collect_only) for n in nets]}
    res["seconds"] = round(time.perf_counter() - t0, 1)
    write(res)
    bad = [f"{r['net']} --style {v['style']}" for r in res["nets"] for v in r["variants"] if not rtl_ok(v)]
    if bad:
        print("RTL check or synthesis FAILED: " + "; ".join(bad), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
