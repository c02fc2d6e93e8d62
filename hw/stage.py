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

from sbnn import provenance, runlock, runs
from sbnn.arch import folding as fold
from sbnn.arch import impl as impl_file
from sbnn.arch.cost import design_estimate, logic_estimate
from sbnn.arch.device import DEVICE
from sbnn.arch.impl import LayerImpl
from sbnn.arch.regroup import regroup, regroup_note, regrouped
from sbnn.arch.schedule import schedule
from sbnn.errors import ConfigError, HardwareError, ToolNotFound
from sbnn.hw.config import HwConfig
from sbnn.hw.report import cycles_markdown, cycles_report
from sbnn.hw.rtl.design import Design, generate
from sbnn.hw.synth.report import SynthReport
from sbnn.hw.synth.vivado import run_vivado
from sbnn.hw.synth.yosys import choose_abc, is_cached, run_yosys
from sbnn.ir import io as ir_io
from sbnn.ir.model import IRModel
from sbnn.runs import RunDir, write_atomic, write_json


def resolve_folding(model: IRModel, cfg: HwConfig, spec: dict | None = None,
                    source: str | None = None) -> tuple[IRModel, dict[str, LayerImpl], str]:
    """The folding step of ``sbnn synth``: the configured folding source (or ``spec``, e.g. a written
    ``folding.json``) and choices -> the folded model, one LayerImpl per MVU and the source's description.
    Interleaved N:M layers are made contiguous first where their input can be emitted in group order
    (:func:`sbnn.arch.regroup.regroup`): every folding is chosen for, and every design built from, that model."""
    model = regroup(model)
    if spec is None:
        spec, source = _folding_source(model, cfg)
    target = fold.target_cycles(cfg.target_fps, cfg.clock_mhz) if cfg.target_fps else None
    folded, impls = fold.resolve(model, spec, style=cfg.style, gather=cfg.gather, coding=cfg.coding,
                                 delta_bits=cfg.delta_bits, max_cycle_overhead=cfg.max_cycle_overhead,
                                 weight_rom=cfg.weight_rom, target=target)
    return folded, impls, source


def _folding_source(model: IRModel, cfg: HwConfig) -> tuple[dict, str]:
    chosen = [n for n, v in (("unrolled", cfg.unrolled), ("folding", cfg.folding), ("target_fps", cfg.target_fps)) if v]
    if cfg.folding and cfg.target_fps:  # the file folds; the target sizes the FIFOs and is checked (a fair
        chosen.remove("target_fps")  # comparison of a hand-made folding with the automatic one at that rate)
    if len(chosen) > 1:
        raise ConfigError(f"choose one folding source, not {' and '.join(chosen)}")
    if cfg.unrolled:
        return fold.unrolled(model), "unrolled"
    if cfg.folding:
        return impl_file.load(cfg.folding), f"file {cfg.folding}"
    if cfg.target_fps:
        res = fold.auto(model, cfg.target_fps, cfg.clock_mhz, cfg.style, cfg.gather, weight_rom=cfg.weight_rom)
        return res.folding, f"automatic for {cfg.target_fps:g} frames/s at {cfg.clock_mhz:g} MHz" + (
            "" if res.met else f" (NOT reached: a layer needs more than {res.target_cycles} clocks/frame)")
    return fold.current(model), "IR"


def _search(model: IRModel, cfg: HwConfig, status, log) -> tuple[dict, list[dict]]:
    """``--search``: the measured folding search, after checking that it can run."""
    from sbnn.hw.search import search

    why = ("it chooses among the foldings for a rate: add --target-fps" if not cfg.target_fps else
           "it chooses the folding itself: drop --folding / --unrolled" if cfg.folding or cfg.unrolled else
           "it synthesizes every candidate: drop --no-synth" if not cfg.synth else
           "it synthesizes with Yosys: drop --tool vivado" if cfg.tool != "yosys" else None)
    if why:
        raise ConfigError(f"--search {cfg.search}: {why}")
    return search(model, cfg, lambda spec: build(model, cfg, spec), status, log)


def build(model: IRModel, cfg: HwConfig, spec: dict) -> Design:
    """The design the stage generates for the folding ``spec`` (what ``--search`` synthesizes per candidate)."""
    folded, impls, _ = resolve_folding(model, cfg, spec, "")
    return generate(folded, cfg.gen_options(), impls=impls)


@dataclass
class StageResult:
    design: Design
    folding: dict
    folding_source: str
    cycles: dict
    synth: SynthReport | None
    #: the automatic folding fell short of --target-fps: what it reached (None: met, or no target)
    target_note: str | None = None


#: the capacity pre-check refuses, before synthesis, a design whose LUT estimate (:mod:`sbnn.arch.cost`) exceeds
#: this multiple of the device's LUTs. The MVU estimate is within 30 % of Yosys on the cost model's 50 benchmark
#: layers (benchmarks/results/hw_cost_model.md; up to ~2x for a layer predicted without it, leave-one-out) and
#: leaves out the small stages, so a refused design needs well over the device; anything closer is left to
#: synthesis.
CAPACITY_MARGIN = 2.5


def capacity_check(model: IRModel, impls: dict[str, LayerImpl]) -> float:
    """The design's LUT estimate; a HardwareError when it cannot fit the device by a wide margin."""
    est = design_estimate(model, impls)
    if est > CAPACITY_MARGIN * DEVICE["LUT"]:
        per = {m.name: logic_estimate(m, schedule(m, impls[m.name])) for m in model.mvus}
        big = max(per, key=per.get)
        raise HardwareError(
            f"the design cannot fit the {DEVICE['name']}: the cost model estimates {est:,.0f} LUTs, "
            f"{est / DEVICE['LUT']:.1f}x its {DEVICE['LUT']:,} (refused above {CAPACITY_MARGIN:g}x; the estimate is "
            f"within 30 % of Yosys on its benchmark layers), {per[big]:,.0f} of them in {big} (PE={impls[big].pe}, "
            f"SIMD={impls[big].simd}): fold more (a lower --target-fps, or --folding), or pass --force to "
            "synthesize it anyway")
    return est


def _target_note(cfg: HwConfig, rep: dict) -> str | None:
    """What an automatic folding reached when it fell short of ``--target-fps`` (None when it was met)."""
    if not cfg.target_fps or rep["frames_per_second"] >= cfg.target_fps * (1 - 1e-9):
        return None
    return (f"target {cfg.target_fps:,.6g} frames/s NOT reached: the design reaches {rep['frames_per_second']:,.0f} "
            f"frames/s at {cfg.clock_mhz:g} MHz ({rep['interval_cycles']:,} cycles per frame, bottleneck "
            f"{rep['bottleneck_stage']})")


def hw_outputs(design: Design) -> list[str]:
    """The files of ``<run>/hw/`` that the manifest covers (the synthesis tool's own files in rtl/ are not)."""
    return [runs.CONFIG, runs.FOLDING, runs.STREAM, runs.CYCLES, runs.CYCLES_MD, f"{runs.RTL}/{runs.FILELIST}",
            *(f"{runs.RTL}/{name}" for name in design.files)]


def run_stage(run: RunDir, cfg: HwConfig, status=None, force: bool = False,
              log: Callable[[str], None] = lambda msg: None, read: dict[str, str] | None = None) -> StageResult:
    """Generate (and synthesize) the accelerator of ``<run>/export/ir``; ``force`` ignores the synthesis
    cache (results are cached by the RTL's digest, the script and the tool) and the capacity pre-check.
    ``status(msg)`` wraps each long step (a context manager: the CLI shows its elapsed time); ``log`` says what a
    user should know up front; ``read`` adds digests of other files the configuration came from to the
    manifest (:func:`sbnn.provenance.external`), so the design turns stale when they change.

    ``hw/`` and ``synth/`` are built aside and swapped in only when everything succeeded (a design that does
    not fit is kept in ``.hw.failed`` / ``.synth.failed`` unless ``report_only``); each gets a manifest. Holds
    the run's lock and refuses an export that is stale or was changed after it was written."""
    status = status or (lambda msg: contextlib.nullcontext())
    with runlock.locked(run, create=False):
        provenance.require_current(run, "export")
        ir_path = run.require("export", runs.IR, "sbnn export")
        stem = ir_path.with_suffix("")
        exported = ir_io.load(stem)
        model = regroup(exported)
        if moved := regrouped(exported, model):
            log(regroup_note(model, moved))
        spec = source = searched = None
        if cfg.search > 1:
            spec, searched = _search(model, cfg, status, log)
            source = (f"measured search for {cfg.target_fps:g} frames/s at {cfg.clock_mhz:g} MHz: the fewest Yosys LUTs "
                      f"of {len(searched)} foldings")
        folded, impls, source = resolve_folding(model, cfg, spec, source)
        estimate = capacity_check(folded, impls) if cfg.synth and not force else design_estimate(folded, impls)
        with status("generating RTL and sizing FIFOs"):
            design = generate(folded, cfg.gen_options(), impls=impls)
        hw_stage, syn_stage = provenance.Staging(run, "hw"), provenance.Staging(run, "synth")
        hw = hw_stage.begin()
        try:
            cfg.save(hw / runs.CONFIG)
            spec = impl_file.to_json(impls)
            write_json(hw / runs.FOLDING, spec)
            rtl = hw / runs.RTL
            design.write(rtl)
            design.stream.save(hw / runs.STREAM)
            rep = cycles_report(design, cfg.clock_mhz)
            note = _target_note(cfg, rep)
            rep["folding_source"] = source + (f" ({note})" if note and "NOT reached" not in source else "")
            rep["logic_estimate_lut"] = round(estimate)
            if moved:
                rep["regrouped"] = moved
            if cfg.target_fps:
                rep["target"] = {"frames_per_second": cfg.target_fps, "met": note is None}
            if searched:
                rep["folding_search"] = searched
            write_json(hw / runs.CYCLES, rep)
            write_atomic(hw / runs.CYCLES_MD, cycles_markdown(rep))
            used = [f"export/{runs.IR}", f"export/{runs.IR_STEM}.npz"]
            own = cfg.folding and Path(cfg.folding).resolve().is_relative_to((run.path / "hw").resolve())
            extra = provenance.external(cfg.folding) if cfg.folding and not own else {}  # not hw/'s own output
            hw_manifest = provenance.record(hw, "hw", {**provenance.inputs(run, used), **extra, **(read or {})},
                                            hw_outputs(design), config=cfg)
            synth = None
            if cfg.synth:
                out = syn_stage.begin()
                abc, abc_note = choose_abc(design, cfg.yosys_abc)
                cached = cfg.tool == "yosys" and not force and is_cached(design, cfg.yosys_options, abc)
                if cfg.tool == "yosys" and abc_note and not cached:
                    log(abc_note)
                what = "reading the cached Yosys result" if cached else f"synthesizing with {cfg.tool}" + (
                    f" (ABC script {abc})" if cfg.tool == "yosys" else "")
                with status(what):
                    synth = run_vivado(design, rtl, cfg.clock_mhz, cfg.synth_timeout) if cfg.tool == "vivado" else \
                        run_yosys(design, rtl, cfg.yosys_options, cfg.synth_timeout, use_cache=not force, abc=abc)
                data = synth.to_json()
                data["cycles"] = {k: rep[k] for k in ("clock_mhz", "latency_cycles", "interval_cycles", "frames_per_second")}
                if "timing" in data:  # the verdict travels with the record: readers need not know the rule
                    data["timing"].update(clock_mhz=cfg.clock_mhz, meets_clock=synth.meets_clock(cfg.clock_mhz))
                write_json(out / runs.REPORT, data)
                write_atomic(out / runs.REPORT_MD, synth.markdown())
                provenance.record(out, "synth", {f"hw/{k}": v for k, v in hw_manifest.outputs.items()},
                                  [runs.REPORT, runs.REPORT_MD], config=cfg)
                if not synth.fits and not cfg.report_only:
                    hw_stage.discard(keep=True)
                    kept = syn_stage.discard(keep=True)
                    raise HardwareError(f"the design does not fit the {DEVICE['name']} ({', '.join(synth.over())}); see "
                                        f"{Path(kept) / runs.REPORT_MD} (fold more, or pass --report-only to keep the "
                                        "report as the run's result)")
        except ToolNotFound as exc:  # the design is complete: keep it (to synthesize elsewhere), synth/ untouched
            syn_stage.discard()
            hw_stage.commit()
            raise ToolNotFound(str(exc).replace(str(hw_stage.tmp), str(hw_stage.final))) from exc
        except HardwareError as exc:
            if hw_stage.tmp.exists():  # a failed synthesis (a design that does not fit was kept above): keep its log
                kept = hw_stage.discard(keep=True)
                syn_stage.discard()
                first = str(exc).splitlines()[0]
                raise HardwareError(f"{first} (the attempt is kept in {kept}; the run's hw/ and synth/ are unchanged)") \
                    from exc
            raise
        except BaseException:
            hw_stage.discard()
            syn_stage.discard()
            raise
        hw_stage.commit()
        if synth is not None:
            syn_stage.commit()
        return StageResult(design, spec, source, rep, synth, note)
