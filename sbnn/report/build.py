"""Assemble a report folder from run directories: CSV + Markdown tables, figures, one HTML page.

``build_report(root)`` handles a sweep (a folder of point run directories) and a single run alike; it
writes ``<root>/report/{report.csv, report.md, index.html, *.png, *.svg}`` (or into ``out``). The page of a
single run (:mod:`sbnn.report.runpage`) answers at a glance: accuracy, the verification chain, resources
against the device, per-layer clocks and zero bits, and the dense baseline at the same frames/s.
"""

from __future__ import annotations

import html
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable

from sbnn.errors import ConfigError
from sbnn.report import plots
from sbnn.report import tables as tb
from sbnn.report.collect import collect, device, is_sweep, layer_rows, point_dirs, read_row
from sbnn.report.page import Page
from sbnn.report.runpage import run_page
from sbnn.runs import FPS_DIR, REPORT_DIR, REPORT_MD, write_atomic

__all__ = ["build_report", "is_sweep", "rows_of"]


def _finn_note(rows: list[dict]) -> str:
    dense = [r for r in rows if r["method"] == "bnn"]
    have = [r for r in dense if r["finn_LUT"] is not None]
    if not dense:
        return "FINN baseline: no dense BNN point in this report."
    if not have:
        return ("FINN baseline: NOT RUN (no finn/baseline.json in the dense points; run 'make finn-baseline' "
                "and 'sbnn sweep --finn').")
    return f"FINN baseline: FINN's estimate-only flow ran on {len(have)} of {len(dense)} dense points."


def _device_text(dev: dict | None) -> str:
    """The device sentence of the report, from what the synthesis reports record."""
    if not dev:
        return "target device"
    return f"{dev.get('name', dev.get('part'))} (LUT {dev['LUT']:,}, FF {dev['FF']:,}, BRAM36 {dev['BRAM36']})"


#: a sweep figure's caption (what it shows); every caption ends with how to reproduce it
SWEEP_CAPTIONS = {
    "summary": "Per architecture: bit-exact test accuracy, LUTs of the design folded for the common target "
               "frames/s (FINN's estimate as a star when it ran) and frames/s at the IR's folding, against the "
               "achieved fraction of zero weight bits.",
    "accuracy_vs_sparsity": "Bit-exact test accuracy (integer simulator) against the achieved fraction of zero "
                            "weight bits, one line per training method.",
    "resources_vs_sparsity": "LUT, FF and BRAM36 (Yosys) at the IR's folding (solid) and at the common target "
                             "frames/s (dashed, hollow); the device's capacity as a red line.",
    "throughput_vs_sparsity": "Cycles per frame and frames/s at the IR's folding; the common target rate dashed.",
    "pareto_accuracy_lut": "Accuracy against LUTs at the common target frames/s; the grey steps are the Pareto "
                           "front.",
}


def _sweep_caption(stem: str) -> str:
    if stem in SWEEP_CAPTIONS:
        return SWEEP_CAPTIONS[stem]
    at = stem.endswith("_at_target")
    arch = stem.removeprefix("layers_").removesuffix("_at_target")
    return (f"{arch}: LUT and FF per layer (stacked), one bar per sweep point, "
            + ("for the design folded for the common target frames/s." if at else "at the IR's folding."))


def _sweep(root: Path, out: Path, log: Callable[[str], None]) -> tuple[str, str]:
    rows = collect(root)
    if not rows:
        raise ConfigError(f"{root} holds no sweep points (no <point>/sweep.json): run 'sbnn sweep' first")
    ok = [r for r in rows if r["status"] == "done"]
    dev = device(point_dirs(root))
    figs: list[Path] = []
    for fn in (plots.summary, plots.accuracy, partial(plots.resources, device=dev), plots.throughput, plots.pareto):
        figs += fn(ok, out)
    for arch in dict.fromkeys(r["arch"] for r in ok):
        per = {r["name"]: layer_rows(root / r["name"]) for r in ok if r["arch"] == arch}
        if any(per.values()):
            figs += plots.layers(per, out, f"layers_{arch}", f"{arch} (IR folding)")
        per = {r["name"]: layer_rows(root / r["name"], FPS_DIR) for r in ok if r["arch"] == arch}
        if any(per.values()):
            figs += plots.layers(per, out, f"layers_{arch}_at_target", f"{arch} @ target frames/s")
    failed = [r for r in rows if r["status"] != "done"]
    page = Page(f"Sparsity sweep: {root}")
    page.para(f"{len(ok)} points done, {len(failed)} not done ({', '.join(r['name'] for r in failed) or 'none'}). "
              "Accuracy is the bit-exact integer simulator's on the test images among the export's samples "
              "(export_samples, default 1000); 'torch == QONNX == sim' is the export's verification, 'sim == RTL' the "
              "Verilator run of the synthesized design on the first rtl_samples inputs (scores and cycle timing); "
              f"resources are Yosys synth_xilinx for the {_device_text(dev)}; '@ target' is the same network folded "
              "for its architecture's common target frames/s, each MVU with the datapath (zero-skipping 'sparse' "
              "with its input gather, or FINN-like 'dense' XNOR) that the generator estimates cheapest at that "
              "rate (sweep option fps_style).")
    page.section("Accuracy and verification")
    page.table(*tb.cells(rows, tb.ACCURACY), left=2)
    page.section("Hardware")
    page.table(*tb.cells(rows, tb.HARDWARE))
    if any(r["finn_LUT"] is not None for r in rows):
        page.section("FINN baseline (dense points)")
        page.table(*tb.cells([r for r in rows if r["method"] == "bnn"], tb.FINN))
    note = _finn_note(rows)
    page.note(note)
    page.section("Figures")
    again = f"sbnn report --run {root}"
    for p in figs:
        if p.suffix == ".png":
            page.figure(p.name, _sweep_caption(p.stem), f"sbnn sweep --root {root} --config <its sweep.yaml>; {again}")
    write_atomic(out / "report.csv", tb.to_csv(rows))
    log(f"{len(rows)} points ({len(failed)} not done); {note}")
    return page.markdown(), page.html()


def build_report(root: Path, out: Path | None = None, log: Callable[[str], None] = print) -> Path:
    """Write the report of ``root`` (a sweep or one run) into ``out`` (default ``<root>/report``)."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"{root} is not a directory: pass a run directory or a sweep root")
    out = Path(out) if out else root / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    if is_sweep(root):
        md, body = _sweep(root, out, log)
    else:
        md, body = run_page(root, out)
        write_atomic(out / "report.csv", tb.to_csv([read_row(root)]))
    stamp = f"<p class='stamp'>written by sbnn report on {html.escape(time.strftime('%Y-%m-%d %H:%M'))}</p>"
    write_atomic(out / REPORT_MD, md)
    write_atomic(out / "index.html", f"<!doctype html><html><head><meta charset='utf-8'>"
                                     f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
                                     f"<title>sbnn report: {html.escape(str(root))}</title><style>{Page.CSS}</style>"
                                     f"</head><body>{body}{stamp}</body></html>\n")
    return out


def rows_of(root: Path) -> list[dict[str, Any]]:
    """The rows a report of ``root`` is built from (for tests and scripts)."""
    return collect(root) if is_sweep(root) else [read_row(root)]
