"""The tables of ``hw_network_structure.py``: which networks each architecture's table holds and at what rate
(:class:`Bench`), the ratios and goal lines against the best dense BNN, and the Markdown and figure they are
written as. Kept apart from the measuring so that each file holds one thing."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from common import run_name

from sbnn import fmt
from sbnn.arch.options import STYLE_CHOICES

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
    "mlp-1of16i-fl1of8i": ("1:16i (first/last: 1:8i)", "N:M interleaved"),
    "mlp-1of16i-fl1of8i-last2of16i": ("1:16i (first: 1:8i, last: 2:16i)", "N:M interleaved"),
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
                  "mlp-1of16i": "nm", "mlp-1of16i-fl2of16i": "nm", "mlp-1of16i-fl1of8i": "nm",
                  "mlp-1of16i-fl1of8i-last2of16i": "nm"}),
    # FINN's CNV rate: finn-examples' CNV-W1A1 runs at 3,020 frames/s on a Pynq-Z1, FINN's automatic folding is
    # asked for 3,000 (../shared/finn_baseline.md)
    "cnv": Bench("cnv", "Fashion-MNIST CNV-style net (conv 32,32,pool,64,64,pool, FC 128, 10; 8-bit pixel input)",
                 3_000, {"cnv-bnn": ("dense BNN", "dense BNN"), "cnv-none-0.875": ("none (first/last: 0.5)", "none"),
                         "cnv-1of8-flrow": ("1:8 (first/last: row 0.5)", "N:M 1:8, first/last row"),
                         "cnv-1of8i-flrow": ("1:8i (first/last: row 0.5)", "N:M 1:8i, first/last row"),
                         "cnv-2of16-flrow": ("2:16 (first/last: row 0.5)", "N:M 2:16, first/last row")},
                 note="FINN's CNV rate (3,000 frames/s) on the CNV-style net of `benchmarks/train_fashion.py` (half "
                      "FINN's CNV widths, 28x28x1 input): a lighter load than FINN's CIFAR-10 CNV at that rate. The "
                      "first conv (K = 9: no M of 8 divides it) and the score layer keep 0.5 zero bits as in every "
                      "sparse CNV of this project (row structure in the N:M networks). Trained with train_fashion.py's CNV "
                      "recipe (8 epochs, seed 0)."),
}


#: the cost model's features (sbnn.arch.cost.COEFFS) grouped as the breakdown table shows them
PARTS = {"XNOR + popcount": ("xnor", "unrolled_ops"), "weights in logic": ("weight_rom",), "slice mux": ("slice",),
         "lanes + thresholds": ("const", "lanes", "thr_rom", "unrolled_lanes"), "S'(x)": ("s_tree",),
         "picks, gathers": ("picks", "gather", "nm_mux", "block_mux", "lutram1", "lutram2", "lut_load", "delta")}


def rtl_ok(v: dict) -> bool:
    return "error" not in v and v["rtl"]["equal"] and v["rtl"]["timing_equals_cycle_model"]


def _sel(row: dict) -> dict | None:
    return next((v for v in row["variants"] if v["style"] == row["selected"]), None)


def bench_of(res: dict) -> Bench:
    return BENCHES[res.get("arch", "mlp")]


def add_ratios(res: dict) -> None:
    baseline = bench_of(res).baseline
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


def _fmax(v: dict) -> str:
    """Yosys' Fmax estimate of a variant, marked where it misses the clock by the estimate's margin rule."""
    if v.get("fmax_mhz_estimate") is None:
        return "-"
    return f"{v['fmax_mhz_estimate']:.0f}" + ("" if v.get("meets_clock", True) else " (misses)")


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


def built_as(variant: str) -> str:
    """How a variant was built, in the CLI's words: a ``--style``, ``--search 3`` or one of the benchmark's own
    designs (``nm-wide``, ``dense-wide``, ``wide``, ``auto-lut``, ``layer-best``), which no single flag names."""
    if variant == "search":
        return "searched by synthesis (`--search 3`)"
    return f"with `--style {variant}`" if variant in STYLE_CHOICES else f"as its `{variant}` design"


def markdown(res: dict) -> str:
    b, bench = res.get("baseline"), bench_of(res)
    fps = fmt.count(bench.target_fps)
    searched = any(v["style"] == "search" for r in res["nets"] for v in r["variants"])
    L = [f"# Whole networks at {fps} frames/s: {bench.title.split(' (')[0]} by mask structure", "",
         f"{bench.title} ({{α,β}} closed form; the dense BNN: {{-1,+1}} levels), trained and "
         "exported by `benchmarks/train_structure.py` (seed 0), each built with `sbnn synth --target-fps "
         f"{bench.target_fps}` "
         "(Yosys synth_xilinx, xc7z020, 100 MHz; the whole accelerator incl. FIFOs and thresholds) and checked with "
         "`sbnn sim --rtl` on the run's real inputs. Every network is built with `--style auto` (the default)"
         + (", with `--search 3` (the estimate's three best foldings and their per-layer best, each synthesized: "
            "`search`)," if searched else "")
         + " and `--style dense` (the XNOR datapath everywhere), all-N:M / all-block networks also with `--style nm` / "
         "`block` (all-N:M ones also as `nm-wide`: `--style nm --set weight_rom=block-wide`, every weight memory in "
         "block RAM, its word widened where the thresholds need it to ride along)"
         + (", the dense BNN also as `dense-wide` (`--style dense --set weight_rom=block-wide`, the same placement)"
            if any(v["style"] == "dense-wide" for r in res["nets"] for v in r["variants"]) else "")
         + (", every other sparse network also as `wide` (`--set weight_rom=block-wide`: the same placement with the "
            "default styles)" if any(v["style"] == "wide" for r in res["nets"] for v in r["variants"]) else "")
         + ", and every network with "
         "`layer-best`: a folding file taking every layer from the variant in "
         "which it measured fewest LUTs (synthesized and checked itself). The automatic folding ranks LUTs and "
         "block RAM by device fraction; every network is also built as a LUT-only ranking folds it (`auto-lut`)"
         + (", and the baseline is searched as hard as the sparse networks" if searched else
            "; the dense BNN's variants all build one design, so the baseline was searched less than the sparse "
            "networks (measured before the `search` variant)") + ". The variant with the fewest LUTs "
         "(then BRAM) is the one that counts (**bold**), for the dense BNN as for the sparse networks. MVU LUT: "
         "the MVU instances alone, what the datapath styles differ in; the rest (stream FIFOs, sliding windows, "
         "collectors, pools) every design of a network pays alike."
         + (" Tabulated with `--collect-only` from what the measuring runs (`--reuse`, `--nets` subsets run side by "
            "side) left in the run folders; a variant marked 'not measured' was not run." if res.get("collect_only") else "")
         + (f" Baseline: the dense BNN {built_as(b['style'])}, {fmt.count(b['LUT'])} LUT, {b['BRAM36']:g} "
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
          "| network | style | LUT | / dense BNN | FF | BRAM36 | / dense BNN | frames/s | Fmax est. (MHz) | RTL check "
          "| MVU datapaths (style PE x SIMD) |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in res["nets"]:
        for v in r["variants"]:
            style = f"**{v['style']}**" if v["style"] == r["selected"] else v["style"]
            if "LUT" not in v:
                L.append(f"| {r['structure']} | {style} | - | - | - | - | - | - | - | {v['error']} | - |")
                continue
            L.append(f"| {r['structure']} | {style} | {fmt.count(v['LUT'])} | {_ratio(v.get('lut_ratio'))} | "
                     f"{fmt.count(v['FF'])} | {v['BRAM36']:g} | {_ratio(v.get('bram_ratio'))} | "
                     f"{fmt.count(round(v['frames_per_second']))} | {_fmax(v)} | {_rtl(v)} | {_datapaths(v)} |")
    L += ["", f"Goal (issue 12): at about 90 % zero bits ({GOAL_ZERO_BITS[0]:.0%}-{GOAL_ZERO_BITS[1]:.0%}), LUT <= "
          f"{GOAL['LUT']} x and BRAM <= {GOAL['BRAM36']} x the best dense BNN:", ""]
    for g in res["goal"]:
        L.append(f"- {g['structure']} at {g['zero_bits']:.2%} zero bits: LUT {g['lut_ratio']:.2f} x "
                 f"({'met' if g['lut_met'] else 'NOT met'}), BRAM {_ratio(g['bram_ratio'])} x "
                 f"({'met' if g['bram_met'] else 'NOT met'})")
    checked = [v for r in res["nets"] for v in r["variants"] if v.get("error") != "not measured"]
    n_ok = sum(rtl_ok(v) for v in checked)
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


def _family(bench: Bench, row: dict) -> str:
    """A measured network's figure family: the table's current one (labels are the table's, not the measurement's)."""
    return bench.nets[row["net"]][1] if row["net"] in bench.nets else row["family"]


#: figure family of an accuracy point's structure, for points whose network is not in the hardware table
_FAMILY_OF = {"none": "none", "row": "row", "1:8": "N:M", "2:16": "N:M", "1:16": "N:M", "block:8": "block",
              "1:8i": "N:M interleaved", "1:16i": "N:M interleaved"}


def accuracy_family(bench: Bench, s: dict) -> str:
    """The figure family of a train_structure.py summary row: the hardware table's for a network it measured (same
    colour and marker in every panel), else one named by the structure and its first/last-layer variant."""
    net = run_name(s["arch"], s["point"])
    if net in bench.nets:
        return bench.nets[net][1]
    if s["method"] == "bnn":
        return "dense BNN"
    fam = _FAMILY_OF.get(s["structure"], s["structure"])
    if s.get("first_last_structure") == "row" and s["structure"] != "row":
        return fam + ", first/last row"
    if s.get("last_structure", s.get("first_last_structure")) != s.get("first_last_structure"):
        return fam + f", last layer {s['last_structure']}"
    return fam


def figure(res: dict, accuracy: dict | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bench = bench_of(res)
    fps = fmt.count(bench.target_fps)
    fams = list(dict.fromkeys(f for _, f in bench.nets.values()))
    marks = dict(zip(fams, "s o ^ D v P X * h".split()))
    colors = {f: f"C{i}" for i, f in enumerate(fams)}  # one colour per structure in every panel
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    b = res.get("baseline")
    for ax, key, label in ((axes[0], "LUT", "LUT (Yosys, whole accelerator)"), (axes[1], "BRAM36", "BRAM36 (equivalent)")):
        for fam in fams:
            pts = sorted((r["zero_bits"], _sel(r)[key]) for r in res["nets"] if _family(bench, r) == fam and _sel(r))
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
        groups: dict[str, list] = {}
        for s in accuracy["summary"]:
            if s["arch"] == bench.arch:
                groups.setdefault(accuracy_family(bench, s), []).append((s["sparsity"], 100 * s["test_acc"]))
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
