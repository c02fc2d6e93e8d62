"""The report page of one run: at a glance (accuracy, verification, resources, throughput, bottleneck, dense
baseline), the verification chain link by link, resources against the device, per-layer clocks, zero bits,
mask structure and resources, and the stages with the files read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sbnn import fmt
from sbnn.errors import ConfigError
from sbnn.report import plots_run
from sbnn.report.details import read_run
from sbnn.report.page import Page
from sbnn.runs import DENSE_BASELINE_DIR

TOOLS = {"yosys": "Yosys", "vivado": "Vivado"}
METHODS = {"bnn": "dense BNN", "ab-closed": "{α,β} closed form", "ab-learned": "{α,β} learned (EC)",
           "sd-bnn": "SD-BNN"}


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


def _ratio(a: Any, b: Any) -> str:
    return fmt.ratio(a / b) if a is not None and b else fmt.MISSING


def glance_rows(info: dict[str, Any]) -> list[list[str]]:
    """The few lines a reader needs first (also what ``sbnn report`` prints)."""
    acc, des, base = info["accuracy"], info["design"], info["baseline"]
    rows = [["accuracy, float model (PyTorch, test split)", fmt.pct(acc["float"])],
            ["accuracy, bit-exact (integer simulator)", f"{fmt.pct(acc['bit_exact'])} on "
             f"{fmt.count(acc['bit_exact_samples'])} test images" if acc["bit_exact"] is not None else fmt.MISSING],
            ["verification chain", verification_summary(info["chain"])]]
    if des and des.get("total"):
        rows.append([f"resources ({TOOLS.get(des.get('tool'), des.get('tool'))}, "
                     f"{des['device'].get('name', des['device'].get('part'))})",
                     _resources_text(des)])
    if des and des.get("interval_cycles"):
        rows.append(["throughput", _rate_text(des)])
        bott = next((r for r in info["layers"] if r.get("bottleneck")), None)
        if bott:
            rows.append(["bottleneck", f"{des['bottleneck_stage']} (layer {bott['layer']}): "
                                       f"{fmt.count(des['bottleneck_cycles'])} clocks/frame"])
    for key, value in ((des or {}).get("timing") or {}).items():
        rows.append([f"timing: {key}", str(value) if not isinstance(value, (int, float)) else fmt.sig(value)])
    if base and base.get("total") and des and des.get("total"):
        b = base["total"]
        rows.append(["dense baseline, same frames/s", f"{fmt.count(b.get('LUT'))} LUT, {fmt.count(b.get('FF'))} FF, "
                     f"{fmt.count(base.get('bram36'))} BRAM36 at {fmt.per_s(base.get('frames_per_second'))}: this "
                     f"design needs {_ratio(des['total'].get('LUT'), b.get('LUT'))} its LUTs and "
                     + (f"{_ratio(des.get('bram36'), base.get('bram36'))} its BRAM" if base.get("bram36") else
                        f"{fmt.count(des.get('bram36'))} BRAM36 where it needs none")])
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
             fmt.MISSING, _link_result(c),
             c.get("note") or ("" if c["ran"] else f"run '{c['how']}'")] for c in info["chain"]]
    page.table(["link", "samples", "result", "detail"], body, left=1)


def _resources(page: Page, des: dict, base: dict | None) -> None:
    page.section("Resources against the device")
    dev = des["device"]
    head = ["resource", "used", f"of the {dev.get('name', dev.get('part'))}", "utilisation"]
    if base and base.get("total"):
        head += ["dense baseline", "baseline utilisation"]
    body, pcts = [], []
    for label, key in plots_run.RESOURCES:
        used = plots_run.used(des, key)
        row = [label, fmt.count(used), fmt.count(dev.get(key)), fmt.pct(des["utilization"].get(key, 0) / 100)]
        if len(head) > 4:
            row += [fmt.count(plots_run.used(base, key)), fmt.pct(base["utilization"].get(key, 0) / 100)]
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


def run_page(run: Path, out: Path) -> tuple[str, str]:
    """Write the figures of ``run`` into ``out``; returns the page as (Markdown, HTML body)."""
    info = read_run(run)
    if not any(s["present"] for s in info["stages"]):
        raise ConfigError(f"{run} holds no stage results (train/, export/, hw/, synth/, sim/): nothing to report")
    des, base = info["design"], info["baseline"]
    page = Page(f"Run {run}")
    page.para(_describe(info) + (f"; one point of the sweep in {run.parent}" if info["in_sweep"] else ""))
    stale = [s for s in info["stages"] if s["status"] and s["status"] not in ("ok", "current", "done")]
    for s in stale:
        page.note(f"{s['stage'].upper()} IS {s['status'].upper()}: its results below may not match the stages "
                  f"before it; run '{s['command']}' again.")
    page.section("At a glance")
    page.table(["what", "value"], glance_rows(info))
    _chain(page, info)
    synth_cmd = f"sbnn synth --run {run}"
    again = f"sbnn report --run {run}" + (" --baseline dense" if base else "")
    if des and des.get("total"):
        _resources(page, des, base)
        plots_run.utilisation(des, base, out)
        page.figure("utilisation.png", "Each resource of the accelerator as a share of the device's capacity"
                    + (", next to the dense XNOR baseline folded for the same frames/s" if base else "") + ".",
                    f"{synth_cmd}; {again}")
    if des and des.get("stages"):
        _layers(page, info, base)
        plots_run.layer_clocks(des, out)
        page.figure("layer_clocks.png", "Clocks per frame of every pipeline stage (cycle model, hw/cycles.json) "
                    "against the interval; the bottleneck in red.", f"{synth_cmd}; {again}")
    elif info["layers"]:  # exported, not synthesized: what the export says of each layer
        page.section("Per layer")
        page.table(["layer", "zero bits", "mask structure"],
                   [[r["layer"], fmt.pct(r.get("zero_bits")), r.get("structure") or fmt.MISSING] for r in info["layers"]])
    if any(r.get("zero_bits") is not None for r in info["layers"]):
        plots_run.layer_zero_bits(info["layers"], out)
        page.figure("layer_zero_bits.png", "Fraction of zero weight bits of every MVU, as exported "
                    "(export/verify.json), labelled with its mask structure.", f"sbnn export --run {run}; {again}")
    if des and des.get("synth_layers"):
        plots_run.layer_resources(des, base, out)
        page.figure("layer_resources.png", "LUTs and flip-flops per layer (Yosys, per module instance)"
                    + (", next to the dense baseline's" if base else "") + ".", f"{synth_cmd}; {again}")
    page.section("Stages and files")
    body = [[s["stage"], s["file"], (s["status"] or "present") if s["present"] else f"missing ('{s['command']}')"]
            for s in info["stages"]]
    if base:
        body.append(["dense baseline", f"{DENSE_BASELINE_DIR}/synth/report.json", "present"])
    page.table(["stage", "file", "state"], body)
    return page.markdown(), page.html()
