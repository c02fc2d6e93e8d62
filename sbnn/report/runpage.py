"""The report page of one run: at a glance (accuracy, verification, resources, throughput, bottleneck, dense
baseline), the verification chain link by link, resources against the device, per-layer clocks, zero bits,
mask structure and resources, and the stages with the files read.

A value read from a stage that is not current (:func:`sbnn.report.collect.stale`: its inputs or its files
changed since it ran) is shown, never as current: a warning at the top names those stages, why, and the
commands that make them current again, and every value (or, in the per-layer table, every column) from them
is marked ``[STALE]``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sbnn import fmt
from sbnn.errors import ConfigError
from sbnn.provenance import MAKERS
from sbnn.report import plots_run
from sbnn.report.details import STAGE_FILES, read_run, stage_status
from sbnn.report.page import Page
from sbnn.runs import DENSE_BASELINE_DIR, FPS_DIR

TOOLS = {"yosys": "Yosys", "vivado": "Vivado"}
METHODS = {"bnn": "dense BNN", "ab-closed": "{α,β} closed form", "ab-learned": "{α,β} learned (EC)",
           "sd-bnn": "SD-BNN"}


STALE = " [STALE]"
#: the dense baseline's own stages (its export is the run's)
BASE = (f"{DENSE_BASELINE_DIR}/hw", f"{DENSE_BASELINE_DIR}/synth")


def _stale(info: dict, *stages: str) -> bool:
    return any(s in info["stale"] for s in stages)


def _mark(text: str, info: dict, *stages: str) -> str:
    """``text`` with `` [STALE]`` when it comes from one of ``stages`` that is not current."""
    return text + STALE if _stale(info, *stages) else text


def _rerun(run: str, key: str) -> str:
    """The command that makes a stale stage folder (``"synth"``, ``"fps/hw"``) current again."""
    sub, _, stage = key.rpartition("/")
    if sub == DENSE_BASELINE_DIR:
        return f"sbnn report --run {run} --baseline dense"
    if sub == FPS_DIR:
        return f"sbnn synth --run {run}/{FPS_DIR} --config {run}/{FPS_DIR}/hw/config.yaml"
    cmd = next((c for s, _, c in STAGE_FILES if s == stage), MAKERS.get(stage, f"sbnn {stage}"))
    return f"{cmd} --run {run}"


def stale_warning(info: dict[str, Any]) -> str | None:
    """The warning at the top of the page (and of ``sbnn report``'s output): what is not current, why, and the
    commands to re-run, in pipeline order; None when every stage is current."""
    marks = info["stale"]
    if not marks:
        return None
    what = "; ".join(f"{k}/ {st.state}: {st.reason}" for k, st in marks.items())
    cmds = list(dict.fromkeys(_rerun(info["run"], k) for k in marks))
    return (f"STALE: {what}. The values from these stages come from older inputs or changed files and are marked "
            f"[STALE] below; re-run " + ", then ".join(f"'{c}'" for c in cmds) + ".")


def _link_result(link: dict) -> str:
    if not link["ran"]:
        return "not run"
    return "==" if link["equal"] else "DIFFERS"


def verification_summary(chain: list[dict]) -> str:
    ran = [c for c in chain if c["ran"]]
    bad = [c for c in ran if not c["equal"]]
    missing = [c for c in chain if not c["ran"]]
    text = f"{len(ran) - len(bad)} of {len(chain)} links hold"
    if bad:
        text += f"; FAILED: {'; '.join(c['link'] for c in bad)}"
    if missing:
        cmds = sorted({c["how"] for c in missing})
        text += f"; {len(missing)} not run ({', '.join(cmds)})"
    return text


def _resources_text(des: dict) -> str:
    t, u = des["total"], des["utilization"]
    return (f"{fmt.count(t.get('LUT'))} LUT ({fmt.sig(u.get('LUT'))} %), {fmt.count(t.get('FF'))} FF "
            f"({fmt.sig(u.get('FF'))} %), {fmt.count(des.get('bram36'))} BRAM36 ({fmt.sig(u.get('BRAM36'))} %), "
            f"{fmt.count(t.get('DSP'))} DSP")


def _rate_text(des: dict) -> str:
    return (f"{fmt.per_s(des['frames_per_second'])} at {des['clock_mhz']:g} MHz (interval "
            f"{fmt.count(des['interval_cycles'])} cycles); latency {fmt.count(des['latency_cycles'])} cycles "
            f"({fmt.micro(des['latency_us'])})")


def _folding_text(des: dict) -> str:
    """Where the folding came from; after ``--search``, what the synthesized candidates measured."""
    tried = des.get("folding_search") or []
    kept = next((t for t in tried if t.get("selected")), None)
    if not kept:
        return des["folding_source"]
    return (f"measured search: {len(tried)} foldings synthesized, kept the {kept['origin']} one "
            f"({fmt.count(kept['LUT'])} LUT; the estimate's first: {fmt.count(tried[0]['LUT'])} LUT)")


def _ratio(a: Any, b: Any) -> str:
    return fmt.ratio(a / b) if a is not None and b else fmt.MISSING


def _timing_text(t: dict) -> str:
    """The design's Fmax estimate, whether it meets the clock (as ``sbnn synth`` judged it), and its slowest
    stage, in one line."""
    fm, crit = t.get("fmax_mhz_estimate"), t.get("critical_instance")
    if fm is None:
        return fmt.MISSING
    path = (t.get("instances") or {}).get(crit) or {}
    text = f"Fmax {fmt.sig(fm)} MHz"
    if t.get("meets_clock") is not None and t.get("clock_mhz"):
        text += (f" ({'meets' if t['meets_clock'] else 'does NOT meet'} {fmt.sig(t['clock_mhz'])} MHz with a "
                 f"{t['clock_margin_ns']:g} ns margin)")
    if crit:
        text += f"; slowest stage {crit}" + (f", {path['levels']} LUT levels" if "levels" in path else "")
    return text + "; from Yosys' netlist, not a timing sign-off"


def glance_rows(info: dict[str, Any]) -> list[list[str]]:
    """The few lines a reader needs first (also what ``sbnn report`` prints)."""
    acc, des, base = info["accuracy"], info["design"], info["baseline"]
    ran = [c["stage"] for c in info["chain"] if c["ran"]]
    rows = [["accuracy, float model (PyTorch, test split)", _mark(fmt.pct(acc["float"]), info, "train")],
            ["accuracy, bit-exact (integer simulator)", _mark(f"{fmt.pct(acc['bit_exact'])} on "
             f"{fmt.count(acc['bit_exact_samples'])} test images", info, acc["bit_exact_stage"])
             if acc["bit_exact"] is not None else fmt.MISSING],
            ["verification chain", _mark(verification_summary(info["chain"]), info, *ran)]]
    if des and des.get("total"):
        rows.append([f"resources ({TOOLS.get(des.get('tool'), des.get('tool'))}, "
                     f"{des['device'].get('name', des['device'].get('part'))})",
                     _mark(_resources_text(des), info, "synth")])
    if des and des.get("folding_source"):
        rows.append(["folding", _mark(_folding_text(des), info, "hw")])
    if des and des.get("interval_cycles"):
        rows.append(["throughput", _mark(_rate_text(des), info, "hw")])
        bott = next((r for r in info["layers"] if r.get("bottleneck")), None)
        if bott:
            rows.append(["bottleneck", _mark(f"{des['bottleneck_stage']} (layer {bott['layer']}): "
                                             f"{fmt.count(des['bottleneck_cycles'])} clocks/frame", info, "hw")])
    for key, value in ((des or {}).get("timing") or {}).items():
        if isinstance(value, dict):  # Yosys' netlist estimate: one line, its per-stage paths stay in synth/
            rows.append(["timing (estimate)", _mark(_timing_text(value), info, "synth")])
        else:
            rows.append([f"timing: {key}", _mark(fmt.sig(value) if isinstance(value, (int, float)) else str(value),
                                                 info, "synth")])
    if base and base.get("total") and des and des.get("total"):
        b = base["total"]
        rows.append(["dense baseline, same frames/s", _mark(
            f"{fmt.count(b.get('LUT'))} LUT, {fmt.count(b.get('FF'))} FF, {fmt.count(base.get('bram36'))} BRAM36 at "
            f"{fmt.per_s(base.get('frames_per_second'))}: this design needs "
            f"{_ratio(des['total'].get('LUT'), b.get('LUT'))} its LUTs and "
            + (f"{_ratio(des.get('bram36'), base.get('bram36'))} its BRAM" if base.get("bram36") else
               f"{fmt.count(des.get('bram36'))} BRAM36 where it needs none"), info, "synth", *BASE)])
    elif des and des.get("total"):
        rows.append(["dense baseline, same frames/s", "not made (sbnn report --baseline dense)"])
    return rows


def _describe(info: dict) -> str:
    m = info["model"]
    parts = [p for p in (m["dataset"], m["arch"], METHODS.get(m["method"], m["method"])) if p]
    if m["method"] in ("ab-closed", "ab-learned") and m["sparsity"] is not None:
        parts.append(f"target {fmt.pct(m['sparsity'])} zero bits")
    if m["structure"] and m["structure"] != "none":
        parts.append(f"mask structure {m['structure']}")
    if m["epochs"]:
        parts.append(f"{m['epochs']} epochs")
    return ", ".join(parts) or "no training record"


def _chain(page: Page, info: dict) -> None:
    page.section("Verification chain")
    page.para("Each stage is compared with the previous one with == on the integer outputs of real inputs; the "
              "float training model by its predicted class, on every input that is not a tie (an input where float32 "
              "rounding may legitimately flip a bit: counted in the detail).")
    body = [[c["link"], fmt.count(c.get("samples")) if c["ran"] and c.get("samples") is not None else
             fmt.MISSING, _mark(_link_result(c), info, c["stage"]) if c["ran"] else _link_result(c),
             c.get("note") or ("" if c["ran"] else f"run '{c['how']}'")] for c in info["chain"]]
    page.table(["link", "samples", "result", "detail"], body, left=1)


def _resources(page: Page, info: dict, des: dict, base: dict | None) -> None:
    page.section("Resources against the device")
    dev = des["device"]
    head = ["resource", "used", f"of the {dev.get('name', dev.get('part'))}", "utilisation"]
    if base and base.get("total"):
        head += ["dense baseline", "baseline utilisation"]
    body, pcts = [], []
    for label, key in plots_run.RESOURCES:
        used = plots_run.used(des, key)
        row = [label, _mark(fmt.count(used), info, "synth"), fmt.count(dev.get(key)),
               _mark(fmt.pct(des["utilization"].get(key, 0) / 100), info, "synth")]
        if len(head) > 4:
            row += [_mark(fmt.count(plots_run.used(base, key)), info, *BASE),
                    _mark(fmt.pct(base["utilization"].get(key, 0) / 100), info, *BASE)]
        body.append(row)
        pcts.append(des["utilization"].get(key))
    page.table(head, body, bars=(3, pcts))
    verdict = "Fits the device." if des.get("fits") else "Does NOT fit the device."
    tool = TOOLS.get(des.get("tool"), des.get("tool"))
    page.para(f"{verdict} {tool} synthesis of the whole accelerator (AXI glue and FIFOs included); "
              "LUT-RAM and shift registers count as the LUTs they occupy."
              + (" The dense baseline is the same network with every MVU on the XNOR datapath, folded by the same "
                 "automatic search for at least this design's frames/s, same clock and synthesis; that search ranks "
                 "foldings by the generator's logic estimate, which does not count weight ROMs mapped to LUTs."
                 if base and base.get("total") else ""))


def _layers(page: Page, info: dict, base: dict | None) -> None:
    des = info["design"]
    page.section("Per layer")
    page.para(f"Clocks per frame of each layer against the interval ({fmt.count(des.get('interval_cycles'))} "
              "cycles: the slowest stage sets it), its implementation (PE x SIMD and datapath, from hw/folding.json), "
              "the fraction of zero weight bits and the mask structure the export recorded, and its resources.")
    bres = {r["layer"]: r for r in (base or {}).get("synth_layers", [])}
    head = ["layer", "op", "PE x SIMD", "datapath", "zero bits", "mask structure", "clocks/frame", "of interval",
            "LUT", "FF", "BRAM36"] + (["dense baseline LUT"] if bres else [])
    sources = ["hw"] * 4 + ["export"] * 2 + ["hw"] * 2 + ["synth"] * 3 + [BASE[1]]
    head = [_mark(h, info, src) for h, src in zip(head, sources)]
    body = []
    for r in info["layers"]:
        impl, res = r.get("impl") or {}, r.get("resources") or {}
        dp = " ".join(str(impl[k]) for k in ("style", "gather", "coding") if impl.get(k))
        share = fmt.pct(r["clocks"] / des["interval_cycles"]) if des.get("interval_cycles") else fmt.MISSING
        row = [r["layer"] + (" (bottleneck)" if r.get("bottleneck") else ""), r.get("kind", fmt.MISSING),
               f"{impl['PE']} x {impl['SIMD']}" if "PE" in impl else fmt.MISSING, dp or fmt.MISSING,
               fmt.pct(r.get("zero_bits")), r.get("structure") or fmt.MISSING, fmt.count(r["clocks"]), share,
               fmt.count(res.get("LUT")), fmt.count(res.get("FF")), fmt.count(res.get("BRAM36"))]
        if bres:
            row.append(fmt.count(bres.get(r["layer"], {}).get("LUT")))
        body.append(row)
    page.table(head, body)


def _state(status: str | None, reason: str) -> str:
    if status in ("stale", "modified"):
        return f"{status.upper()}: {reason}"
    return status or "present"


def _fig_stale(info: dict, *stages: str) -> str | None:
    """Why a figure drawn from ``stages`` is not current (None when they all are)."""
    bad = [s for s in stages if s in info["stale"]]
    return (f"drawn from {', '.join(b + '/' for b in bad)}, which {'is' if len(bad) == 1 else 'are'} not current "
            "(see the warning at the top)") if bad else None


def run_page(run: Path, out: Path) -> tuple[str, str]:
    """Write the figures of ``run`` into ``out``; returns the page as (Markdown, HTML body)."""
    info = read_run(run)
    if not any(s["present"] for s in info["stages"]):
        raise ConfigError(f"{run} holds no stage results (train/, export/, hw/, synth/, sim/): nothing to report")
    des, base = info["design"], info["baseline"]
    page = Page(f"Run {run}")
    page.para(_describe(info) + (f"; one point of the sweep in {run.parent}" if info["in_sweep"] else ""))
    warning = stale_warning(info)
    if warning:
        page.note(warning)
    page.section("At a glance")
    page.table(["what", "value"], glance_rows(info))
    _chain(page, info)
    synth_cmd = f"sbnn synth --run {run}"
    again = f"sbnn report --run {run}" + (" --baseline dense" if base else "")
    if des and des.get("total"):
        _resources(page, info, des, base)
        plots_run.utilisation(des, base, out)
        page.figure("utilisation.png", "Each resource of the accelerator as a share of the device's capacity"
                    + (", next to the dense XNOR baseline folded for the same frames/s" if base else "") + ".",
                    f"{synth_cmd}; {again}", _fig_stale(info, "synth", *(BASE if base else ())))
    if des and des.get("stages"):
        _layers(page, info, base)
        plots_run.layer_clocks(des, out)
        page.figure("layer_clocks.png", "Clocks per frame of every pipeline stage (cycle model, hw/cycles.json) "
                    "against the interval; the bottleneck in red.", f"{synth_cmd}; {again}", _fig_stale(info, "hw"))
    elif info["layers"]:  # exported, not synthesized: what the export says of each layer
        page.section("Per layer")
        page.table(["layer", _mark("zero bits", info, "export"), _mark("mask structure", info, "export")],
                   [[r["layer"], fmt.pct(r.get("zero_bits")), r.get("structure") or fmt.MISSING] for r in info["layers"]])
    if any(r.get("zero_bits") is not None for r in info["layers"]):
        plots_run.layer_zero_bits(info["layers"], out)
        page.figure("layer_zero_bits.png", "Fraction of zero weight bits of every MVU, as exported "
                    "(export/verify.json), labelled with its mask structure.", f"sbnn export --run {run}; {again}",
                    _fig_stale(info, "export"))
    if des and des.get("synth_layers"):
        plots_run.layer_resources(des, base, out)
        page.figure("layer_resources.png", "LUTs and flip-flops per layer (Yosys, per module instance)"
                    + (", next to the dense baseline's" if base else "") + ".", f"{synth_cmd}; {again}",
                    _fig_stale(info, "synth", *(BASE if base else ())))
    page.section("Stages and files")
    page.para("State: current (its manifest matches its inputs and files), stale (its inputs changed since it "
              "ran, or it was made from a stage that is not current), modified (its own files changed since), "
              "unrecorded (files without a manifest, from an older sbnn or made by hand: taken as they are).")
    body = [[s["stage"], s["file"], _state(s["status"], s["reason"]) if s["present"]
             else f"missing ('{s['command']}')"] for s in info["stages"]]
    if base:
        st = next((info["stale"][k] for k in BASE if k in info["stale"]), None)
        body.append(["dense baseline", f"{DENSE_BASELINE_DIR}/synth/report.json",
                     _state(st.state, st.reason) if st else stage_status(run / DENSE_BASELINE_DIR, "synth") or "present"])
    page.table(["stage", "file", "state"], body)
    return page.markdown(), page.html()
