"""Logic depth and Fmax estimate of the main job's designs: does every stage fit the clock the frames/s
figures assume?

The designs: the main job's trained IR (stored for the RTL digests, ``benchmarks/results/rtl_digests/``)
through ``sbnn synth`` with the options of the digest runs (the IR's folding, ``--target-fps 200000``,
``--style dense``, ``--style auto --target-fps 100000``, ``--gather full``, segmented gap codes, a folding
file) at ``--clock-mhz`` 100 (and, with ``--clock-mhz``, another clock). Each is synthesized with Yosys; the
report gives every stage's longest register-to-register path in LUT levels and its delay under the delay
model of :mod:`sbnn.arch.depth` (an estimate: no placement or routing), and the generator's pipelining of
each folded MVU (``decode``, ``sum_regs``).

    python benchmarks/hw_timing.py                    # all designs at 100 MHz (~30-60 min cold on 2 busy cores)
    python benchmarks/hw_timing.py --designs main,main_fps200k --clock-mhz 150
    python benchmarks/hw_timing.py --no-synth         # the generator's pipelining and estimates only (seconds)
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import machine
from hw_common import save
from rtl_digests import FOLDING_FILE, IR_DIR, MAIN_RUNS

from sbnn.arch.depth import CLOCK_MARGIN_NS, DELAYS_NS, budget_ns, meets


def run_design(work: Path, name: str, args: list[str], clock: float, synth: bool) -> dict:
    from sbnn.hw.config import HwConfig
    from sbnn.hw.stage import run_stage
    from sbnn.runs import RunDir

    run = work / name
    (run / "export").mkdir(parents=True, exist_ok=True)
    for f in ("ir.json", "ir.npz"):
        shutil.copy2(IR_DIR / f, run / "export" / f)
    kw: dict = {"clock_mhz": clock, "synth": synth, "report_only": True}
    it = iter(args)
    for a in it:
        key = {"--target-fps": "target_fps", "--style": "style", "--gather": "gather", "--folding": "folding"}.get(a)
        if key:
            kw[key] = next(it)
        elif a == "--set":
            k, v = next(it).split("=", 1)
            kw[k] = v
    t0 = time.time()
    res = run_stage(RunDir(run), HwConfig(**kw))
    rows = []
    timing = res.synth.timing if res.synth else {}
    for st in res.design.stages:
        if st.kind == "load":
            continue
        row = {"stage": st.name, "kind": st.kind}
        if st.folded:
            row.update(style=st.plan.style, PE=st.plan.pe, SIMD=st.plan.simd, coding=st.plan.coding,
                       gather=st.plan.gather if st.plan.style == "sparse" else None,
                       decode=int(st.info.get("decode", 0)), sum_regs=int(st.info.get("sum_regs", 0)),
                       estimate_ns=st.info.get("path_ns"))
        t = timing.get(f"u_{st.name}")
        if t:
            row.update(levels=t["levels"], carry4=t["carry4"], delay_ns=t["delay_ns"], fmax_mhz=t["fmax_mhz_estimate"],
                       path=t["path"])
        rows.append(row)
    fm = res.synth.fmax_mhz if res.synth else None
    crit = res.synth.critical() if res.synth else None
    return {"design": name, "args": args, "clock_mhz": clock, "interval_cycles": res.cycles["interval_cycles"],
            "latency_cycles": res.cycles["latency_cycles"], "frames_per_second": res.cycles["frames_per_second"],
            "LUT": res.synth.total["LUT"] if res.synth else None, "FF": res.synth.total["FF"] if res.synth else None,
            "fmax_mhz_estimate": fm, "critical": crit[0] if crit else None,
            "meets": None if fm is None else meets(1000.0 / fm, clock),
            "stages": rows, "seconds": round(time.time() - t0, 1)}


def markdown(results: list[dict]) -> str:
    d = DELAYS_NS
    lines = ["# Logic depth and Fmax estimate of the main job's designs", "",
             "Yosys 0.70 `synth_xilinx` netlist; per stage the longest register-to-register path ending in it. "
             f"Delay model (an **estimate**, `sbnn.arch.depth`): flip-flop clock-to-out {d['ff_clk_to_q']} ns, "
             f"BRAM {d['bram_clk_to_q']} ns, LUT {d['lut']} ns + net {d['net']} ns per level, CARRY4 "
             f"{d['carry_in']} ns in / {d['carry_bypass']} ns per bypass, setup {d['setup']} ns; a stage meets a clock "
             f"when its delay + {CLOCK_MARGIN_NS} ns fits the period. No placement or routing: Vivado's timing is "
             "the real figure.", "",
             "| design | clock MHz | interval (cycles) | frames/s at the clock | LUT | FF | Fmax est. (MHz) | slowest "
             "stage | meets |", "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in results:
        fm = f"{r['fmax_mhz_estimate']:.0f}" if r["fmax_mhz_estimate"] else "-"
        lines.append(f"| {r['design']} | {r['clock_mhz']:g} | {r['interval_cycles']:,} | {r['frames_per_second']:,.0f} | "
                     f"{r['LUT'] or '-'} | {r['FF'] or '-'} | {fm} | {r['critical'] or '-'} | "
                     f"{'-' if r['meets'] is None else 'yes' if r['meets'] else '**no**'} |")
    lines += ["", "Per MVU: the generator's pipelining (decode = stages of decoded next-word registers, sum = register "
              "before the adder trees), its estimate, and the netlist's path:", "",
              "| design | stage | PE | SIMD | style / coding / gather | decode | sum | est. ns | levels | CARRY4 | ns | "
              "Fmax est. |", "|---|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for s in r["stages"]:
            if "PE" not in s:
                continue
            kind = f"{s['style']} / {s['coding']}" + (f" / {s['gather']}" if s.get("gather") else "")
            lines.append(f"| {r['design']} | {s['stage']} | {s['PE']} | {s['SIMD']} | {kind} | "
                         f"{s['decode'] or ''} | {s['sum_regs'] or ''} | {s['estimate_ns']} | "
                         f"{s.get('levels', '-')} | {s.get('carry4', '-')} | {s.get('delay_ns', '-')} | "
                         f"{s.get('fmax_mhz', '-')} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", help=f"comma-separated subset of {', '.join(MAIN_RUNS)}")
    ap.add_argument("--clock-mhz", type=float, default=100.0)
    ap.add_argument("--no-synth", action="store_true", help="the generator's pipelining and estimates only")
    args = ap.parse_args()
    names = args.designs.split(",") if args.designs else list(MAIN_RUNS)
    unknown = [n for n in names if n not in MAIN_RUNS]
    if unknown:
        print(f"unknown design(s): {', '.join(unknown)}", file=sys.stderr)
        return 2
    results = []
    with tempfile.TemporaryDirectory(prefix="sbnn-timing-") as tmp:
        fold = Path(tmp) / "fold.json"
        fold.write_text(json.dumps(FOLDING_FILE))
        for name in names:
            r = run_design(Path(tmp), name, [a.format(folding=fold) for a in MAIN_RUNS[name]], args.clock_mhz,
                           not args.no_synth)
            r["args"] = [a.replace(str(fold), "<folding file>") for a in r["args"]]
            print(f"{name}: Fmax estimate {r['fmax_mhz_estimate']} MHz ({r['critical']}), {r['seconds']} s",
                  file=sys.stderr, flush=True)
            results.append(r)
    suffix = "" if args.clock_mhz == 100 else f"_{args.clock_mhz:g}mhz"
    save(f"hw_timing{suffix}", {"machine": machine(), "clock_mhz": args.clock_mhz, "budget_ns": budget_ns(args.clock_mhz),
                               "delays_ns": DELAYS_NS, "designs": results}, markdown(results))
    return 0 if all(r["meets"] is not False for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
