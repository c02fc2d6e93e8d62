"""``sbnn synth``: generate the zero-skipping dataflow RTL of a run's IR and synthesize it for the xc7z020."""

from __future__ import annotations

import argparse

from sbnn.arch.options import GATHER_CHOICES, STYLE_CHOICES
from sbnn.cliutil import add_run_args, console, show_progress, table
from sbnn.hw.options import BACKENDS, HLS4ML_BACKENDS, TOOLS
from sbnn.runs import RunDir


def add_parser(subparsers, name: str, help_text: str) -> None:
    p = subparsers.add_parser(name, help=help_text, description=(
        "Read <run>/export/ir.json, fold it, write <run>/hw/ (config.yaml, folding.json, rtl/, cycles.json, "
        "stream.json) and synthesize into <run>/synth/ (report.json, report.md)."))
    add_run_args(p)
    src = p.add_argument_group("folding (one source; default: the PE/SIMD stored in the IR)")
    src.add_argument("--folding", metavar="JSON", help='FINN-style folding file: {"<layer>": {"PE": 4, "SIMD": 8}}')
    src.add_argument("--target-fps", type=float, metavar="N", help="choose the folding for N frames/s")
    src.add_argument("--unrolled", action="store_true", default=None, help="PE = M, SIMD = K for every layer")
    p.add_argument("--clock-mhz", type=float, metavar="F", help="clock for frames/s and --target-fps (default 100)")
    p.add_argument("--style", choices=STYLE_CHOICES, help="sparse: zero-weight skipping (default); "
                   "dense: FINN-like XNOR baseline; auto: per layer, whichever is cheaper")
    p.add_argument("--gather", choices=GATHER_CHOICES,
                   help="how sparse folded MVUs read their input vector (default auto: per layer, flip-flop "
                        "multiplexers or distributed RAM, whichever is cheaper)")
    p.add_argument("--tool", choices=TOOLS, help="synthesizer (default yosys)")
    p.add_argument("--force", action="store_true", help="synthesize again even when the cache holds this RTL's result")
    p.add_argument("--backend", choices=BACKENDS, help="rtl: sbnn's Verilog (default); hls4ml: an "
                   "hls4ml project in <run>/hls4ml/, C-simulated against the bit-exact simulator")
    p.add_argument("--hls4ml-backend", choices=HLS4ML_BACKENDS,
                   help="hls4ml backend (default Vitis)")
    p.add_argument("--board", help="board for --backend hls4ml (default pynq-z2)")
    p.add_argument("--no-synth", dest="synth", action="store_const", const=False, help="only generate RTL and cycles")
    p.add_argument("--report-only", action="store_const", const=True,
                   help="write the report of a design that does not fit the device without failing")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from sbnn.hw.config import HwConfig
    from sbnn.hw.stage import run_stage

    cfg = HwConfig.resolve(args.config, args.overrides, folding=args.folding, target_fps=args.target_fps,
                           unrolled=args.unrolled, clock_mhz=args.clock_mhz, style=args.style, gather=args.gather,
                           tool=args.tool,
                           synth=args.synth, report_only=args.report_only, backend=args.backend,
                           hls4ml_backend=args.hls4ml_backend, hls4ml_board=args.board)

    def status(msg: str):
        import contextlib

        return console.status(msg) if show_progress() else contextlib.nullcontext()

    if cfg.backend == "hls4ml":
        from sbnn.hw.hls4ml.cli import summary
        from sbnn.hw.hls4ml.stage import run_hls4ml_stage

        summary(run_hls4ml_stage(RunDir(args.run), cfg, status))
        return 0
    res = run_stage(RunDir(args.run), cfg, status, force=args.force)
    _summary(res, cfg)
    return 0


def _summary(res, cfg) -> None:
    cyc = res.cycles
    syn = {row["layer"]: row for row in res.synth.layers} if res.synth else {}
    rows = []
    for s in cyc["stages"]:
        if s["kind"] != "mvu" and s["kind"] != "threshold" and s["kind"] != "maxpool":
            continue
        r = syn.get(s["layer"], {})
        rows.append([s["layer"], s["kind"], s.get("PE", ""), s.get("SIMD", ""),
                     f"{s['style']}/{s['coding']}" + (f"/{s['gather']}" if s.get("gather") else "") if "style" in s else "",
                     f"{s['sparsity']:.2f}" if "sparsity" in s else "",
                     f"{s.get('layer_cycles_per_frame', s['cycles_per_frame']):,}",
                     f"{s['weight_memory_bits']:,}" if "weight_memory_bits" in s else "",
                     r.get("LUT", "-"), r.get("FF", "-"), (r.get("BRAM36", 0) + r.get("BRAM18", 0) / 2) if r else "-",
                     r.get("levels", "-"), f"{r['fmax_mhz_estimate']:.0f}" if "fmax_mhz_estimate" in r else "-"])
    title = (f"{res.design.name}: folding from {res.folding_source}; latency {cyc['latency_cycles']:,} cycles "
             f"({cyc['latency_us']:.2f} us), {cyc['frames_per_second']:,.0f} frames/s at {cyc['clock_mhz']:g} MHz")
    console.print(table(title, ["layer", "kind", "PE", "SIMD", "style", "sparsity", "cycles/frame", "weight bits",
                                "LUT", "FF", "BRAM36", "levels", "Fmax est."], rows))
    if res.synth:
        t, u = res.synth.total, res.synth.utilization()
        verdict = "fits" if res.synth.fits else "DOES NOT FIT: " + ", ".join(res.synth.over())
        console.print(f"{res.synth.tool}: LUT {t['LUT']:,} ({u['LUT']:.1f}%), FF {t['FF']:,} ({u['FF']:.1f}%), "
                      f"BRAM36 {t['BRAM36'] + t['BRAM18'] / 2:g} ({u['BRAM36']:.1f}%), DSP {t['DSP']} -> {verdict}",
                      soft_wrap=True)
        fm, crit = res.synth.fmax_mhz, res.synth.critical()
        if fm is not None:
            from sbnn.arch.depth import meets

            met = "meets" if meets(crit[1]["delay_ns"], cfg.clock_mhz) else "does NOT meet"
            console.print(f"Fmax estimate {fm:.0f} MHz ({met} {cfg.clock_mhz:g} MHz; deepest path {crit[1]['levels']} LUT "
                          f"levels in {crit[0]}; an estimate from Yosys' netlist, not a timing sign-off)", soft_wrap=True)
    else:
        console.print("synthesis skipped (--no-synth)", soft_wrap=True)
