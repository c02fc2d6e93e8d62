"""The cycle report of a generated design (``<run>/hw/cycles.json`` and ``cycles.md``): per-stage clocks,
schedules and weight memory, latency, interval and frames per second, all from the cycle model."""

from __future__ import annotations

import dataclasses

from sbnn.arch.schedule import vector_clocks
from sbnn.hw.rtl.design import Design
from sbnn.ir.model import MVU


def cycles_report(design: Design, clock_mhz: float) -> dict:
    """Per-stage clocks, schedules and weight memory, plus latency / interval / frames per second."""
    perf = design.perf
    stages = []
    for st, depth in zip(design.stages, design.depths):
        layer = design.model.layers[st.layer]
        row = {"stage": st.name, "kind": st.kind, "layer": layer.name, "cycles_per_frame": st.cycles,
               "beats_in": st.in_beats, "beats_out": st.out_beats, "fifo_depth": depth,
               "fifo_bits": depth * st.out_width}
        if st.word_buffer is not None:  # a word buffer (the collector) and the MVU that reads it
            row["word_buffer"] = dataclasses.asdict(st.word_buffer)
        if st.holds:  # the MVU copies its input vector into its own register (its FIFO: a one-deep register)
            row["holds_input"] = True
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
            kind = f"{s['kind']} (holds its input)" if s.get("holds_input") else s["kind"]
            lines.append(f"| {s['stage']} | {kind} | {s['PE']} | {s['SIMD']} | {s['style']} | {s['coding']} | "
                         f"{s['clocks_per_vector']} | {s['cycles_per_frame']:,} | {s['weight_memory_bits']:,} "
                         f"({s['dense_weight_bits']:,}) | {s['fifo_depth']} |")
        elif s["kind"] == "load":
            plural = "s" if s["buffers"] > 1 else ""
            lines.append(f"| {s['stage']} | load ({s['banks']} RAM banks, {s['buffers']} buffer{plural}) "
                         f"| | | | | {s['clocks_per_vector']} | {s['cycles_per_frame']:,} | | (RAM) |")
        else:
            lines.append(f"| {s['stage']} | {s['kind']} | | | | | | {s['cycles_per_frame']:,} | | {s['fifo_depth']} |")
    return "\n".join(lines) + "\n"
