"""Assemble a report folder from run directories: CSV + Markdown tables, figures, one HTML page.

``build_report(root)`` handles a sweep (a folder of point run directories) and a single run alike; it
writes ``<root>/report/{report.csv, report.md, index.html, *.png, *.svg}`` (or into ``out``).
"""

from __future__ import annotations

import html
import time
from functools import partial
from pathlib import Path
from typing import Any, Callable

from sbnn import runlock
from sbnn.errors import ConfigError
from sbnn.report import plots
from sbnn.report import tables as tb
from sbnn.report.collect import COLUMNS, collect, device, is_sweep, layer_rows, point_dirs, read_row, stale
from sbnn.runs import FPS_DIR, REPORT_MD, write_atomic

CSS = ("body{font-family:system-ui,sans-serif;margin:2em;max-width:1500px}table{border-collapse:collapse;"
       "font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
       "td:first-child,th:first-child{text-align:left}img{max-width:100%;margin:1em 0}.note{color:#a00}")


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


def _sweep(root: Path, out: Path, log: Callable[[str], None]) -> tuple[str, str, list[Path]]:
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
    stale_rows = [r for r in rows if r["stale"]]
    md = [f"# Sparsity sweep: {root}", "", f"{len(ok)} points done, {len(failed)} not done "
          f"({', '.join(r['name'] for r in failed) or 'none'}). Accuracy is the bit-exact integer simulator's on "
          "the test images among the export's samples (export_samples, default 1000); resources are Yosys "
          f"synth_xilinx for the {_device_text(dev)}; "
          "'@ target' is the same network folded for its architecture's common target frames/s, each MVU with "
          "the datapath (zero-skipping 'sparse' with its input gather, or FINN-like 'dense' XNOR) that the generator "
          "estimates cheapest at that rate (sweep option fps_style).", ""]
    sections = [("Results", tb.cells(rows, tb.MAIN))]
    if any(r["finn_LUT"] is not None for r in rows):
        sections.append(("FINN baseline (dense points)", tb.cells([r for r in rows if r["method"] == "bnn"], tb.FINN)))
    note = _finn_note(rows)
    for title, (h, b) in sections:
        md += [f"## {title}", "", tb.markdown(h, b)]
    if stale_rows:
        note += " STALE points (their values come from older inputs; re-run them): " + "; ".join(
            f"{r['name']}: {r['stale']}" for r in stale_rows) + "."
    md += [note, "", "## Figures", ""] + [f"![{p.stem}]({p.name})" for p in figs if p.suffix == ".png"]
    page = [f"<h1>Sparsity sweep: {html.escape(str(root))}</h1>", f"<p>{html.escape(md[2])}</p>",
            f"<p class='note'>{html.escape(note)}</p>"]
    for title, (h, b) in sections:
        page += [f"<h2>{html.escape(title)}</h2>", tb.html_table(h, b)]
    page += ["<h2>Figures</h2>"] + [f"<img src='{p.name}' alt='{p.stem}'>" for p in figs if p.suffix == ".png"]
    write_atomic(out / "report.csv", tb.to_csv(rows))
    log(f"{len(rows)} points ({len(failed)} not done); {note}")
    return "\n".join(md) + "\n", "\n".join(page), figs


def _run(run: Path, out: Path) -> tuple[str, str, list[Path]]:
    row = read_row(run)
    if row["weight_sparsity"] is None and row["LUT"] is None and row["test_acc"] is None:
        raise ConfigError(f"{run} holds no stage results (train/, synth/, sim/): nothing to report")
    figs: list[Path] = []
    per = layer_rows(run)
    if per:
        figs += plots.layers({run.name: per}, out, "layers", run.name)
    marks = stale(run)
    body = [[k, "-" if row[k] is None else str(row[k]), f"{src} {where}".strip() + _stale_mark(src, marks)]
            for k, (src, where) in COLUMNS.items() if row[k] is not None and k != "stale"]
    header = ["value", "", "source"]
    lay_h = ["layer", "LUT", "FF", "BRAM36"]
    lay_b = [[r["layer"], tb._int(r["LUT"]), tb._int(r["FF"]), tb._int(r["BRAM36"])] for r in per]
    warn = _stale_text(marks)
    md = [f"# Run {run}", ""] + ([warn, ""] if warn else []) + [tb.markdown(header, body)]
    page = [f"<h1>Run {html.escape(str(run))}</h1>"] + ([f"<p class='note'>{html.escape(warn)}</p>"] if warn else []) \
        + [tb.html_table(header, body)]
    if per:
        md += ["## Per layer (synthesis)", "", tb.markdown(lay_h, lay_b), "![layers](layers.png)"]
        page += ["<h2>Per layer (synthesis)</h2>", tb.html_table(lay_h, lay_b), "<img src='layers.png' alt='layers'>"]
    write_atomic(out / "report.csv", tb.to_csv([row]))
    return "\n".join(md) + "\n", "\n".join(page), figs


def _stale_mark(src: str, marks: dict[str, str]) -> str:
    """' [STALE]' after a value whose file lies in a stage folder that is not current."""
    folder = src.rsplit("/", 1)[0] if "/" in src else ""
    return " [STALE]" if folder and folder in marks else ""


def _stale_text(marks: dict[str, str]) -> str:
    if not marks:
        return ""
    return ("**STALE**: " + "; ".join(f"{k}/ {v}" for k, v in marks.items())
            + ". Values from these folders are marked [STALE]: re-run their stages (sbnn export / synth / sim).")


def build_report(root: Path, out: Path | None = None, log: Callable[[str], None] = print) -> Path:
    """Write the report of ``root`` (a sweep or one run) into ``out`` (default ``<root>/report``)."""
    root = Path(root)
    if not root.is_dir():
        raise ConfigError(f"{root} is not a directory: pass a run directory or a sweep root")
    for run in [root, *(point_dirs(root) if is_sweep(root) else [])]:  # a swap a killed stage left half done
        for sub in (run, run / FPS_DIR):
            runlock.try_recover(sub)
    out = Path(out) if out else root / "report"
    out.mkdir(parents=True, exist_ok=True)
    md, body, _ = _sweep(root, out, log) if is_sweep(root) else _run(root, out)
    stamp = f"<p><small>written by sbnn report on {time.strftime('%Y-%m-%d %H:%M')}</small></p>"
    write_atomic(out / REPORT_MD, md)
    write_atomic(out / "index.html", f"<!doctype html><html><head><meta charset='utf-8'><title>sbnn report</title>"
                                     f"<style>{CSS}</style></head><body>{body}{stamp}</body></html>\n")
    return out


def rows_of(root: Path) -> list[dict[str, Any]]:
    """The rows a report of ``root`` is built from (for tests and scripts)."""
    return collect(root) if is_sweep(root) else [read_row(root)]
