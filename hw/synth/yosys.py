"""Synthesis for the Zynq-7020 with Yosys (``synth_xilinx -family xc7``), per layer, with utilisation.

The hierarchy is kept (one module instance per pipeline stage and FIFO), and Yosys' JSON ``stat`` is read
per module, so every layer gets its own LUT / FF / CARRY4 / LUTRAM / SRL / BRAM / DSP counts. LUT-RAM and
SRL primitives are converted to the LUTs they occupy (as Vivado's "Slice LUTs" does). The mapped netlist
(``write_json``) gives every stage's logic depth and an Fmax estimate (:mod:`sbnn.hw.synth.timing`).
Results are cached by the hash of the Verilog and the script, because the WebAssembly Yosys is slow-ish.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
from pathlib import Path

from sbnn.errors import HardwareError
from sbnn.fmt import duration
from sbnn.hw.rtl import prims
from sbnn.hw.rtl.design import Design
from sbnn.hw.synth.report import SynthReport, add, classify, group_layers
from sbnn.hw.synth.timing import TIMING_VERSION, analyze
from sbnn.runs import write_atomic, write_json
from sbnn.tools import ToolError, ToolTimeout, cache_dir, require_tool

#: ABC9 scripts. "fast" skips ABC's AIG rewriting and don't-care optimisation (&dc2, &dch, &mfs): on big
#: unrolled popcounts (all channels sharing the same inputs) it is 20-40x faster for ~10-30 % more LUTs.
ABC_SCRIPTS = {"default": None, "fast": "+&st;&if,-W,300,-v"}
#: popcount inputs of unrolled layers (weights x input bits) above which the default ABC script takes minutes (an
#: unrolled dense 64 x 64 layer, 4,096 inputs, takes ~8 min with it); the fast script takes roughly
#: FAST_S_PER_INPUT seconds per input on a busy 2-core machine (unrolled 256 x 256 layers, benchmarks/hw_sparsity.py:
#: 65,536 inputs 135-253 s, 6,554 inputs 22-67 s by the load)
SLOW_UNROLLED_INPUTS = 2_000
FAST_S_PER_INPUT = 0.004


def unrolled_inputs(design: Design) -> int:
    """Popcount inputs of the design's unrolled MVUs (their b = 1 weights, or all weights of a dense one, times
    the input bits): what makes Yosys' logic optimisation slow."""
    total = 0
    for st in design.stages:
        if st.plan is None or st.plan.style != "unrolled":
            continue
        layer = design.model.layers[st.layer]
        ops = int(layer.weight_bits.sum()) if st.plan.skip_zeros else layer.out_channels * layer.in_features
        total += ops * layer.in_type.bits
    return total


def choose_abc(design: Design, abc: str) -> tuple[str, str | None]:
    """The ABC script for ``abc`` ("auto": "fast" for designs the default script takes minutes on) and, for
    such designs, a sentence to say up front."""
    n = unrolled_inputs(design)
    if n <= SLOW_UNROLLED_INPUTS:
        return ("default" if abc == "auto" else abc), None
    fast = duration(30 + n * FAST_S_PER_INPUT)
    if abc in ("auto", "fast"):
        return "fast", (f"unrolled layers with {n:,} popcount inputs: synthesis takes minutes (about {fast} on 2 idle "
                        "cores); using the fast ABC script (10-30 % more LUTs; --set yosys_abc=default for the slower, "
                        "smaller result)")
    return abc, (f"unrolled layers with {n:,} popcount inputs and the default ABC script: synthesis may take well over "
                 f"10 minutes (--set yosys_abc=fast: about {fast})")


#: the mapped netlist of the design's own modules (for :mod:`sbnn.hw.synth.timing`)
NETLIST = "netlist.json"


def yosys_script(design: Design, files: list[str], stat_json: str, options: str = "", abc: str = "default") -> str:
    if abc not in ABC_SCRIPTS:
        raise HardwareError(f"unknown ABC script {abc!r} (use one of {', '.join(ABC_SCRIPTS)})")
    reads = "\n".join(f"read_verilog {f}" for f in files)
    if any(prims.is_model(f) for f in files):  # instantiated primitives: known before the hierarchy check
        reads = "read_verilog -lib +/xilinx/cells_sim.v\n" + reads
    pad = f'scratchpad -set abc9.script "{ABC_SCRIPTS[abc]}"\n' if ABC_SCRIPTS[abc] else ""
    return (f"{reads}\n{pad}hierarchy -check -top {design.top}\n"
            f"synth_xilinx -family xc7 -top {design.top} -noiopad {options}\n"
            f"tee -q -o {stat_json} stat -json\n"
            f"select *\nwrite_json -selected -noscopeinfo {NETLIST}\nselect -clear\n")


def _script_and_cache(design: Design, options: str, abc: str) -> tuple[str, Path]:
    """The Yosys script of ``design`` and the cache file of its result (keyed by the RTL, script and tool)."""
    script = yosys_script(design, list(design.files), "stat.json", options, abc)
    yosys = require_tool("yosys", "synthesize the generated RTL")
    key = hashlib.sha256((design.digest + script + yosys.origin).encode()).hexdigest()[:20]
    return script, cache_dir() / "synth" / f"{key}.json"


def is_cached(design: Design, options: str = "", abc: str = "default") -> bool:
    """Whether the synthesis of ``design`` with this script is in the cache (it then returns at once)."""
    return _script_and_cache(design, options, abc)[1].exists()


def run_yosys(design: Design, rtl_dir: str | Path, options: str = "", timeout: float | None = None,
              use_cache: bool = True, abc: str = "default") -> SynthReport:
    """Synthesize ``design`` (its Verilog already written in ``rtl_dir``) and read the per-module stats."""
    rtl_dir = Path(rtl_dir)
    script, cpath = _script_and_cache(design, options, abc)
    yosys = require_tool("yosys", "synthesize the generated RTL")
    npath = cpath.with_suffix(".netlist.json.gz")  # kept so that a new timing model needs no new synthesis
    if use_cache and cpath.exists():
        try:
            data = json.loads(cpath.read_text())
            timing = data.get("timing", {}).get(TIMING_VERSION)
            if timing is None:
                timing = _timing(design, gzip.decompress(npath.read_bytes()))
                data.setdefault("timing", {})[TIMING_VERSION] = timing
                write_json(cpath, data)
            rep = _report(design, data["stat"], "yosys", data.get("elapsed_s", 0.0), timing)
            rep.cached = True
            return rep
        except (ValueError, KeyError, OSError):
            pass
    write_atomic(rtl_dir / "synth.ys", script)
    t0 = time.time()
    try:
        yosys.run(["-q", "-l", "yosys.log", "-s", "synth.ys"], cwd=rtl_dir, timeout=timeout)
    except ToolTimeout:
        raise HardwareError(f"Yosys synthesis took longer than {timeout} s") from None
    except ToolError as exc:
        raise HardwareError(f"Yosys synthesis failed: {exc}") from None
    elapsed = time.time() - t0
    stat = json.loads((rtl_dir / "stat.json").read_text())
    netlist = rtl_dir / NETLIST
    try:
        raw = netlist.read_bytes()
    finally:
        netlist.unlink(missing_ok=True)  # large: the cache keeps it compressed, the report what matters
    timing = _timing(design, raw)
    if use_cache:
        try:
            npath.parent.mkdir(parents=True, exist_ok=True)
            npath.write_bytes(gzip.compress(raw, 6))
            write_json(cpath, {"stat": stat, "elapsed_s": elapsed, "timing": {TIMING_VERSION: timing}})
        except OSError:
            pass
    return _report(design, stat, "yosys", elapsed, timing)


def _timing(design: Design, netlist: bytes) -> dict[str, dict]:
    try:
        return {k: v.to_json() for k, v in analyze(json.loads(netlist), design.top,
                                                    {n[:-2] for n in design.files}).items()}
    except ValueError as exc:
        raise HardwareError(f"timing analysis of the Yosys netlist failed: {exc}") from None


def _report(design: Design, stat: dict, tool: str, elapsed: float, timing: dict | None = None) -> SynthReport:
    mods = {name.lstrip("\\"): m for name, m in stat["modules"].items()}
    own = {name: classify(m.get("num_cells_by_type", {})) for name, m in mods.items()}
    top = design.top
    if top not in mods:
        raise HardwareError(f"synthesis report has no module {top!r}")
    instances = {"(top)": own[top]}
    total = dict(own[top])
    for sub, n in mods[top].get("num_cells_by_type", {}).items():
        if sub in mods:
            # every generated module is instantiated once; its instance is u_<module minus the design prefix>
            inst = "u_" + sub[len(design.name) + 1 :]
            instances[inst] = own[sub]
            for _ in range(n):
                total = add(total, _subtree(sub, mods, own))
    return SynthReport(tool, top, instances, total, group_layers(design, instances, timing or {}), elapsed,
                       timing=timing or {})


def _subtree(name: str, mods: dict, own: dict) -> dict[str, int]:
    tot = dict(own[name])
    for sub, n in mods[name].get("num_cells_by_type", {}).items():
        if sub in mods:
            for _ in range(n):
                tot = add(tot, _subtree(sub, mods, own))
    return tot
