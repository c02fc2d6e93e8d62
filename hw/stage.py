"""The hardware stage: IR -> folding -> RTL -> cycle report -> synthesis report, in the run directory.

Writes ``<run>/hw/{config.yaml, folding.json, stream.json, cycles.json, cycles.md, rtl/}`` and
``<run>/synth/{report.json, report.md}``. Every step only reads what earlier steps wrote.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from sbnn.errors import ConfigError, HardwareError
from sbnn.hw import folding as fold
from sbnn.hw.config import HwConfig
from sbnn.hw.design import Design, generate
from sbnn.hw.synth import SynthReport, run_yosys
from sbnn.hw.vivado import run_vivado
from sbnn.ir import io as ir_io
from sbnn.ir.model import MVU, IRModel
from sbnn.runs import RunDir, write_atomic, write_json
from sbnn.sim.cycles import lutram_load_clocks, plan_mvu, vector_clocks


def resolve_folding(model: IRModel, cfg: HwConfig) -> tuple[IRModel, dict, str]:
    """Apply the configured folding source; returns the folded model, the folding (with the resolved
    ``gather`` of every sparse folded MVU) and its source."""
    chosen = [n for n, v in (("unrolled", cfg.unrolled), ("folding", cfg.folding), ("target_fps", cfg.target_fps)) if v]
    if len(chosen) > 1:
        raise ConfigError(f"choose one folding source, not {' and '.join(chosen)}")
    if cfg.unrolled:
        spec, source = fold.unrolled(model), "unrolled"
    elif cfg.folding:
        spec, source = fold.load(cfg.folding), f"file {cfg.folding}"
    elif cfg.target_fps:
        res = fold.auto(model, cfg.target_fps, cfg.clock_mhz, cfg.style, cfg.gather)
        spec = res.folding
        source = f"automatic for {cfg.target_fps:g} frames/s at {cfg.clock_mhz:g} MHz" + (
            "" if res.met else f" (NOT reached: a layer needs more than {res.target_cycles} clocks/frame)")
    else:
        spec, source = fold.current(model), "IR"
    folded = fold.apply(model, spec)
    fixed = {name: {k: f[k] for k in ("style", "gather") if k in f} for name, f in spec.items()}
    modes = fold.choose_modes(folded, cfg.style, cfg.gather, cfg.max_cycle_overhead, fixed)
    out = fold.current(folded)
    for name, f in out.items():
        f.update(modes[name])
    return folded, out, source


def coding_overheads(model: IRModel, spec: dict, cfg: HwConfig) -> dict[str, float] | None:
    """With ``target_fps``, the automatic weight coding of a layer may only spend the clocks the target
    leaves it (the folding was chosen for the index coding), so the design still meets the target."""
    if not cfg.target_fps:
        return None
    target = max(1, int(cfg.clock_mhz * 1e6 // cfg.target_fps))
    out = {}
    for layer in model.mvus:
        gather = spec.get(layer.name, {}).get("gather", "full")
        plan = plan_mvu(layer, spec.get(layer.name, {}).get("style", "sparse"), coding="index", gather=gather)
        if plan.style != "sparse":
            continue
        t_max = target // layer.out_pixels - (lutram_load_clocks(layer.in_features) if gather == "lutram1" else 0)
        out[layer.name] = max(0.0, min(cfg.max_cycle_overhead, t_max / plan.T - 1))
    return out


def design_options(folded: IRModel, spec: dict, cfg: HwConfig):
    """The generator options of a folded model: what ``sbnn synth`` generates and ``sbnn sim --rtl``
    regenerates from ``<run>/hw/config.yaml`` and ``folding.json`` (whose entries carry each layer's style
    and gather; older files without them mean the configured style and the full gather)."""
    styles = {name: f.get("style", cfg.style if cfg.style != "auto" else "sparse") for name, f in spec.items()}
    gathers = {name: f.get("gather", "full") for name, f in spec.items()}
    return cfg.gen_options(styles, gathers, coding_overheads(folded, spec, cfg))


def cycles_report(design: Design, clock_mhz: float) -> dict:
    """Per-stage clocks, schedules and weight memory, plus latency / interval / frames per second."""
    perf = design.perf
    stages = []
    for st, depth in zip(design.stages, design.depths):
        layer = design.model.layers[st.layer]
        row = {"stage": st.name, "kind": st.kind, "layer": layer.name, "cycles_per_frame": st.cycles,
               "beats_in": st.in_beats, "beats_out": st.out_beats, "fifo_depth": depth,
               "fifo_bits": depth * (st.out_elems * st.out_bits)}
        if st.kind == "load":
            row.update({"clocks_per_vector": st.load_clocks, "buffers": st.buffers, "banks": st.info["banks"],
                        "vectors_per_frame": st.in_beats})
        elif st.plan is not None:
            p = st.plan
            assert isinstance(layer, MVU)
            row.update({"style": p.style, "PE": p.pe, "SIMD": p.simd, "coding": p.coding, "code_bits": p.code_bits,
                        "gather": p.gather if p.style == "sparse" else None,
                        "clocks_per_vector": p.T, "vectors_per_frame": st.in_beats, "weight_memory_bits": p.memory_bits,
                        # the layer's own bound, its distributed-RAM load included (= cycles_per_frame without one)
                        "layer_cycles_per_frame": vector_clocks(p, layer.in_features) * st.in_beats,
                        "dense_weight_bits": layer.out_channels * layer.in_features,
                        "dense_clocks_per_vector": (layer.out_channels // p.pe) * (layer.in_features // p.simd),
                        "sparsity": round(layer.sparsity, 6), "folds": int(p.folds.shape[0])})
        stages.append(row)
    return {"clock_mhz": clock_mhz, "latency_cycles": perf.latency, "interval_cycles": perf.interval,
            "bottleneck_cycles": perf.bottleneck, "bottleneck_stage": perf.bottleneck_stage,
            "frames_per_second": perf.fps(clock_mhz), "latency_us": perf.latency_us(clock_mhz),
            "definitions": {"latency": "clock edges from the first offer of the first input beat of a frame to the "
                                       "transfer of its last output beat (input always valid, output always ready)",
                            "interval": "clock edges between the last output beats of consecutive frames in steady state"},
            "stages": stages, "stream": design.stream.to_json()}


def cycles_markdown(rep: dict) -> str:
    lines = [f"# Cycle model ({rep['clock_mhz']:g} MHz)", "",
             f"Latency {rep['latency_cycles']:,} cycles ({rep['latency_us']:.2f} us), interval {rep['interval_cycles']:,} "
             f"cycles = {rep['frames_per_second']:,.0f} frames/s; bottleneck {rep['bottleneck_stage']} "
             f"({rep['bottleneck_cycles']:,} cycles/frame).", "",
             "| stage | kind | PE | SIMD | style | coding | clocks/vector | cycles/frame | weight bits (dense) | FIFO |",
             "|---|---|---:|---:|---|---|---:|---:|---:|---:|"]
    for s in rep["stages"]:
        if "PE" in s:
            lines.append(f"| {s['stage']} | {s['kind']} | {s['PE']} | {s['SIMD']} | {s['style']} | {s['coding']} | "
                         f"{s['clocks_per_vector']} | {s['cycles_per_frame']:,} | {s['weight_memory_bits']:,} "
                         f"({s['dense_weight_bits']:,}) | {s['fifo_depth']} |")
        elif s["kind"] == "load":
            lines.append(f"| {s['stage']} | load ({s['banks']} RAM banks, {s['buffers']} buffer{'s' if s['buffers'] > 1 else ''}) "
                         f"| | | | | {s['clocks_per_vector']} | {s['cycles_per_frame']:,} | | (RAM) |")
        else:
            lines.append(f"| {s['stage']} | {s['kind']} | | | | | | {s['cycles_per_frame']:,} | | {s['fifo_depth']} |")
    return "\n".join(lines) + "\n"


@dataclass
class StageResult:
    design: Design
    folding: dict
    folding_source: str
    cycles: dict
    synth: SynthReport | None


def run_stage(run: RunDir, cfg: HwConfig, status=None, force: bool = False) -> StageResult:
    """Generate (and synthesize) the accelerator of ``<run>/export/ir``; ``force`` ignores the synthesis
    cache (results are cached by the RTL's digest, the script and the tool)."""
    status = status or (lambda msg: contextlib.nullcontext())
    stem = run.require("export", "ir.json", "sbnn export").with_suffix("")
    model = ir_io.load(stem)
    folded, spec, source = resolve_folding(model, cfg)
    with status("generating RTL and sizing FIFOs"):
        design = generate(folded, design_options(folded, spec, cfg))
    hw = run.stage("hw")
    cfg.save(hw / "config.yaml")
    write_json(hw / "folding.json", spec)
    rtl = hw / "rtl"
    if rtl.exists():
        for old in list(rtl.glob("*.v")) + list(rtl.glob("filelist.f")):
            old.unlink()
    design.write(rtl)
    design.stream.save(hw / "stream.json")
    rep = cycles_report(design, cfg.clock_mhz)
    rep["folding_source"] = source
    write_json(hw / "cycles.json", rep)
    write_atomic(hw / "cycles.md", cycles_markdown(rep))
    synth = None
    if cfg.synth:
        with status(f"synthesizing with {cfg.tool} (the first Yosys call compiles it, ~30 s)"):
            synth = run_vivado(design, rtl, cfg.clock_mhz, cfg.synth_timeout) if cfg.tool == "vivado" else \
                run_yosys(design, rtl, cfg.yosys_options, cfg.synth_timeout, use_cache=not force, abc=cfg.yosys_abc)
        out = run.stage("synth")
        data = synth.to_json()
        data["cycles"] = {k: rep[k] for k in ("clock_mhz", "latency_cycles", "interval_cycles", "frames_per_second")}
        write_json(out / "report.json", data)
        write_atomic(out / "report.md", synth.markdown())
        if not synth.fits and not cfg.report_only:
            raise HardwareError(f"the design does not fit the xc7z020 ({', '.join(synth.over())}); see "
                                f"{Path(out) / 'report.md'} (fold more, or pass --report-only to keep the report)")
    return StageResult(design, spec, source, rep, synth)
