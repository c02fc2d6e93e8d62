"""``sbnn synth``: generate the zero-skipping dataflow RTL of a run's IR and synthesize it for the xc7z020."""

from __future__ import annotations

import argparse

from sbnn import fmt
from sbnn.arch.options import BLOCK_ROMS, GATHER_CHOICES, STYLE_CHOICES
from sbnn.cliutil import add_run_args, console, print_table, step
from sbnn.errors import ConfigError
from sbnn.hw.options import BACKENDS, HLS4ML_BACKENDS, TOOLS
from sbnn.runs import RunDir


def add_parser(subparsers, name: str, help_text: str) -> None:
    p = subparsers.add_parser(name, help=help_text, description=(
        "Read <run>/export/ir.json, fold it, write <run>/hw/ (config.yaml, folding.json, rtl/, cycles.json, "
        "stream.json) and synthesize into <run>/synth/ (report.json, report.md)."))
    add_run_args(p)
    src = p.add_argument_group("folding (one source; default: the PE/SIMD stored in the IR; --folding with "
                               "--target-fps: the file's folding, FIFOs sized for that rate and the rate checked)")
    src.add_argument("--folding", metavar="JSON", help='FINN-style folding file: {"<layer>": {"PE": 4, "SIMD": 8}}')
    src.add_argument("--target-fps", type=float, metavar="N", help="choose the folding for N frames/s")
    src.add_argument("--search", type=int, metavar="K", help="with --target-fps: synthesize the estimate's K best "
                     "foldings (and their per-layer best combination) and keep the one with the fewest Yosys LUTs "
                     "that meets the clock by the timing estimate")
    src.add_argument("--unrolled", action="store_true", default=None, help="PE = M, SIMD = K for every layer")
    p.add_argument("--clock-mhz", type=float, metavar="F", help="clock for frames/s and --target-fps (default 100)")
    p.add_argument("--style", choices=STYLE_CHOICES, help="auto (default): per layer, the cheapest datapath its "
                   "mask allows at the folding; sparse: zero-weight skipping everywhere; dense: FINN-like XNOR "
                   "baseline everywhere; nm / block: zero-skipping for N:M / block:B masks (the IR's structure)")
    p.add_argument("--gather", choices=GATHER_CHOICES,
                   help="how sparse folded MVUs read their input vector (default auto: per layer, flip-flop "
                        "multiplexers or distributed RAM, whichever is cheaper)")
    p.add_argument("--tool", choices=TOOLS, help="synthesizer (default yosys)")
    p.add_argument("--force", action="store_true", help="synthesize again even when the cache holds this RTL's result, "
                   "and even when the capacity pre-check finds the design far too large for the device")
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
                           unrolled=args.unrolled, search=args.search, clock_mhz=args.clock_mhz, style=args.style,
                           gather=args.gather, tool=args.tool,
                           synth=args.synth, report_only=args.report_only, backend=args.backend,
                           hls4ml_backend=args.hls4ml_backend, hls4ml_board=args.board)

    if cfg.backend == "hls4ml" and cfg.search > 1:
        raise ConfigError(f"--search {cfg.search}: it searches sbnn's own RTL; drop --backend hls4ml")
    if cfg.backend == "hls4ml":
        from sbnn.hw.hls4ml.cli import summary
        from sbnn.hw.hls4ml.stage import run_hls4ml_stage

        summary(run_hls4ml_stage(RunDir(args.run), cfg, step))
        return 0
    res = run_stage(RunDir(args.run), cfg, step, force=args.force,
                    log=lambda msg: console.print(msg, soft_wrap=True, markup=False))
    _summary(res, cfg)
    return 0


def _datapath(s: dict, entry: dict | None = None) -> str:
    """An MVU stage's implementation in a few characters: "sparse lutram1", "dense", "sparse delta", "nm w:BRAM",
    "dense x:LUTRAM", "dense x:held" (``entry``: its folding entry; a weight memory placed in block RAM by the folding
    step or the file; an input vector read from a word buffer's distributed RAM, or held in the MVU's own register
    behind a one-deep FIFO: sbnn.sim.cycles.size_links)."""
    if "style" not in s:
        return ""
    parts = [s["style"]] + ([s["gather"]] if s.get("gather") else [])
    if s.get("coding") == "delta":
        parts.append("delta")
    if (entry or {}).get("weight_rom") in BLOCK_ROMS:
        parts.append("w:BRAM")
    if s.get("word_buffer"):  # reads its input slices from a word buffer (sbnn.arch.buffer)
        parts.append("x:LUTRAM")
    if s.get("holds_input"):
        parts.append("x:held")
    return " ".join(parts)


def _summary(res, cfg) -> None:
    """The per-layer table (short columns, folded to the console's width) and the totals against the device."""
    cyc = res.cycles
    syn = {row["layer"]: row for row in res.synth.layers} if res.synth else {}
    stages = [s for s in cyc["stages"] if s["kind"] in ("mvu", "threshold", "maxpool")]
    worst = max((s.get("layer_cycles_per_frame", s["cycles_per_frame"]) for s in stages), default=0)
    rows = []
    for s in stages:
        r = syn.get(s["layer"], {})
        clocks = s.get("layer_cycles_per_frame", s["cycles_per_frame"])
        rows.append([s["layer"], f"{s['PE']}x{s['SIMD']}" if "PE" in s else s["kind"], _datapath(s, res.folding.get(s["layer"])),
                     fmt.pct(s["sparsity"]) if "sparsity" in s else "",
                     fmt.count(clocks) + (" *" if clocks == worst else ""),
                     fmt.count(r.get("LUT")), fmt.count(r.get("FF")),
                     fmt.count(r["BRAM36"] + r["BRAM18"] / 2) if r else fmt.MISSING,
                     f"{r['fmax_mhz_estimate']:.0f}" if "fmax_mhz_estimate" in r else fmt.MISSING])
    print_table(f"{res.design.name}: folding from {res.folding_source}, style {cfg.style}",
                ["layer", "PE x SIMD", "datapath", "zero bits", "clocks/ frame", "LUT", "FF", "BRAM36", "Fmax est. MHz"], rows)
    console.print(f"* the slowest layer sets the interval: {fmt.count(cyc['interval_cycles'])} cycles = "
                  f"{fmt.per_s(cyc['frames_per_second'])} at {cyc['clock_mhz']:g} MHz; latency "
                  f"{fmt.count(cyc['latency_cycles'])} cycles ({fmt.micro(cyc['latency_us'])})", soft_wrap=True)
    if res.target_note:
        console.print(res.target_note, soft_wrap=True)
    if res.synth:
        t, u = res.synth.total, res.synth.utilization()
        verdict = "fits" if res.synth.fits else "DOES NOT FIT: " + ", ".join(res.synth.over())
        took = "cached" if res.synth.cached else fmt.duration(res.synth.elapsed_s)
        console.print(f"{res.synth.tool} ({took}): LUT {fmt.count(t['LUT'])} ({u['LUT']:.1f}%), FF {fmt.count(t['FF'])} "
                      f"({u['FF']:.1f}%), BRAM36 {t['BRAM36'] + t['BRAM18'] / 2:g} ({u['BRAM36']:.1f}%), DSP {t['DSP']} "
                      f"-> {verdict}", soft_wrap=True, markup=False)
        fm, crit = res.synth.fmax_mhz, res.synth.critical()
        if fm is not None:
            from sbnn.arch.depth import CLOCK_MARGIN_NS

            met = "meets" if res.synth.meets_clock(cfg.clock_mhz) else "does NOT meet"
            console.print(f"Fmax estimate {fm:.0f} MHz ({met} {cfg.clock_mhz:g} MHz with a {CLOCK_MARGIN_NS:g} ns margin; "
                          f"deepest path {crit[1]['levels']} LUT "
                          f"levels in {crit[0]}; an estimate from Yosys' netlist, not a timing sign-off)", markup=False)
    else:
        console.print("synthesis skipped (--no-synth)", soft_wrap=True)
