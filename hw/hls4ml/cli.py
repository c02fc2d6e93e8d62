"""Console summary of ``sbnn synth --backend hls4ml``."""

from __future__ import annotations

from sbnn import fmt
from sbnn.cliutil import console, print_table
from sbnn.hw.hls4ml.stage import Hls4mlResult


def summary(res: Hls4mlResult) -> None:
    low, c = res.lowering, res.csim
    rows = [[w["layer"], fmt.count(w["weights"]), fmt.count(w["nonzero"]), fmt.pct(1 - w["nonzero"] / max(w["weights"], 1)),
             str(low["precisions"].get(w["layer"], {}).get("result", ""))] for w in low["weights"]]
    print_table(f"hls4ml {low['backend']} project for {low['board']} ({low['part']}), io_stream, "
                "Latency strategy, ReuseFactor 1 (HLS drops the zero weights)",
                ["hls4ml layer", "weights", "non-zero", "skipped", "result type"], rows)
    console.print(f"C simulation (g++, {c.compile_s:.1f} s to compile) == bit-exact simulator on {c.equal:,} of "
                  f"{c.n:,} inputs", soft_wrap=True)
    if res.synth is not None:
        t, u = res.synth.total, res.synth.utilization()
        console.print(f"{res.synth.tool}: LUT {t['LUT']:,} ({u['LUT']:.1f}%), FF {t['FF']:,} ({u['FF']:.1f}%), "
                      f"BRAM18 {t['BRAM18']}, DSP {t['DSP']} -> see {res.out_dir / 'report.md'}", soft_wrap=True)
    else:
        console.print(f"no HLS build: {res.note}", soft_wrap=True)
    console.print(f"project: {res.project}", soft_wrap=True)
