"""The hardware stage: IR -> folding step (one LayerImpl per MVU) -> RTL -> cycle report -> synthesis report.

Writes ``<run>/hw/{config.yaml, folding.json, stream.json, cycles.json, cycles.md, rtl/}`` and
``<run>/synth/{report.json, report.md}``. Every step only reads what earlier steps wrote; ``folding.json``
holds every MVU's implementation whole, so the design can be regenerated from ``hw/`` alone
(:mod:`sbnn.hw.rtlsim.check`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sbnn import runs
from sbnn.arch import folding as fold
from sbnn.arch import impl as impl_file
from sbnn.arch.impl import LayerImpl
from sbnn.errors import ConfigError, HardwareError
from sbnn.hw.config import HwConfig
from sbnn.hw.report import cycles_markdown, cycles_report
from sbnn.hw.rtl.design import Design, generate
from sbnn.hw.synth.device import DEVICE
from sbnn.hw.synth.report import SynthReport
from sbnn.hw.synth.vivado import run_vivado
from sbnn.hw.synth.yosys import choose_abc, is_cached, run_yosys
from sbnn.ir import io as ir_io
from sbnn.ir.model import IRModel
from sbnn.runs import RunDir, write_atomic, write_json


def resolve_folding(model: IRModel, cfg: HwConfig, spec: dict | None = None,
                    source: str | None = None) -> tuple[IRModel, dict[str, LayerImpl], str]:
    """The folding step of ``sbnn synth``: the configured folding source (or ``spec``, e.g. a written
    ``folding.json``) and choices -> the folded model, one LayerImpl per MVU and the source's description."""
    if spec is None:
        spec, source = _folding_source(model, cfg)
    target = fold.target_cycles(cfg.target_fps, cfg.clock_mhz) if cfg.target_fps else None
    folded, impls = fold.resolve(model, spec, style=cfg.style, gather=cfg.gather, coding=cfg.coding,
                                 delta_bits=cfg.delta_bits, max_cycle_overhead=cfg.max_cycle_overhead,
                                 weight_rom=cfg.weight_rom, target=target)
    return folded, impls, source


def _folding_source(model: IRModel, cfg: HwConfig) -> tuple[dict, str]:
    chosen = [n for n, v in (("unrolled", cfg.unrolled), ("folding", cfg.folding), ("target_fps", cfg.target_fps)) if v]
    if len(chosen) > 1:
        raise ConfigError(f"choose one folding source, not {' and '.join(chosen)}")
    if cfg.unrolled:
        return fold.unrolled(model), "unrolled"
    if cfg.folding:
        return impl_file.load(cfg.folding), f"file {cfg.folding}"
    if cfg.target_fps:
        res = fold.auto(model, cfg.target_fps, cfg.clock_mhz, cfg.style, cfg.gather)
        return res.folding, f"automatic for {cfg.target_fps:g} frames/s at {cfg.clock_mhz:g} MHz" + (
            "" if res.met else f" (NOT reached: a layer needs more than {res.target_cycles} clocks/frame)")
    return fold.current(model), "IR"


@dataclass
class StageResult:
    design: Design
    folding: dict
    folding_source: str
    cycles: dict
    synth: SynthReport | None


def run_stage(run: RunDir, cfg: HwConfig, status=None, force: bool = False,
              log: Callable[[str], None] = lambda msg: None) -> StageResult:
    """Generate (and synthesize) the accelerator of ``<run>/export/ir``; ``force`` ignores the synthesis
    cache (results are cached by the RTL's digest, the script and the tool). ``status(msg)`` wraps each long
    step (a context manager: the CLI shows its elapsed time); ``log`` says what a user should know up front."""
    status = status or (lambda msg: contextlib.nullcontext())
    stem = run.require("export", runs.IR, "sbnn export").with_suffix("")
    model = ir_io.load(stem)
    folded, impls, source = resolve_folding(model, cfg)
    with status("generating RTL and sizing FIFOs"):
        design = generate(folded, cfg.gen_options(), impls=impls)
    hw = run.stage("hw")
    cfg.save(hw / runs.CONFIG)
    spec = impl_file.to_json(impls)
    write_json(hw / runs.FOLDING, spec)
    rtl = hw / runs.RTL
    if rtl.exists():
        for old in list(rtl.glob("*.v")) + list(rtl.glob(runs.FILELIST)):
            old.unlink()
    design.write(rtl)
    design.stream.save(hw / runs.STREAM)
    rep = cycles_report(design, cfg.clock_mhz)
    rep["folding_source"] = source
    write_json(hw / runs.CYCLES, rep)
    write_atomic(hw / runs.CYCLES_MD, cycles_markdown(rep))
    synth = None
    if cfg.synth:
        abc, note = choose_abc(design, cfg.yosys_abc)
        cached = cfg.tool == "yosys" and not force and is_cached(design, cfg.yosys_options, abc)
        if cfg.tool == "yosys" and note and not cached:
            log(note)
        what = "reading the cached Yosys result" if cached else f"synthesizing with {cfg.tool}" + (
            f" (ABC script {abc})" if cfg.tool == "yosys" else "")
        with status(what):
            synth = run_vivado(design, rtl, cfg.clock_mhz, cfg.synth_timeout) if cfg.tool == "vivado" else \
                run_yosys(design, rtl, cfg.yosys_options, cfg.synth_timeout, use_cache=not force, abc=abc)
        out = run.stage("synth")
        data = synth.to_json()
        data["cycles"] = {k: rep[k] for k in ("clock_mhz", "latency_cycles", "interval_cycles", "frames_per_second")}
        write_json(out / runs.REPORT, data)
        write_atomic(out / runs.REPORT_MD, synth.markdown())
        if not synth.fits and not cfg.report_only:
            raise HardwareError(f"the design does not fit the {DEVICE['name']} ({', '.join(synth.over())}); see "
                                f"{Path(out) / runs.REPORT_MD} (fold more, or pass --report-only to keep the report)")
    return StageResult(design, spec, source, rep, synth)
