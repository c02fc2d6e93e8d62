"""hls4ml projects for the xc7z020: conversion, g++ C simulation against the bit-exact simulator, and
the vendor HLS build with its report read into :class:`sbnn.hw.synth.report.SynthReport`.

Only ``build()`` needs a vendor tool; conversion, writing and ``compile()``/``predict()`` (g++ with
hls4ml's bundled ``ap_types``) run anywhere, so the csim == sim check is an ordinary test.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sbnn.arch.device import DEVICE
from sbnn.errors import ConfigError, HardwareError, ToolNotFound
from sbnn.hw.hls4ml.lower import Lowered, lower
from sbnn.hw.synth.report import RESOURCES, SynthReport
from sbnn.ir.model import IRModel
from sbnn.tools import ToolError, ToolTimeout, find_tool

#: hls4ml backends this path writes projects for
BACKENDS = ("Vitis", "Vivado", "VivadoAccelerator")
PROJECT = "sbnn"


def boards() -> dict[str, dict]:
    """Boards known to hls4ml's VivadoAccelerator backend (name -> part and block-design scripts)."""
    import hls4ml.backends.vivado_accelerator as va

    return json.loads((Path(va.__file__).parent / "supported_boards.json").read_text())


def board_part(board: str) -> str:
    known = boards()
    if board not in known:
        raise ConfigError(f"unknown board {board!r} for the hls4ml backend (known: {', '.join(sorted(known))})")
    return known[board]["part"]


def hls_config(low: Lowered, trace: bool = False) -> dict:
    """hls4ml's HLSConfig: Latency strategy, ReuseFactor 1 (constant weights: HLS drops the zeros),
    integer precisions from :mod:`sbnn.hw.hls4ml.lower` for every layer (the model default is never used
    by a layer that computes; it is wide only as a guard)."""
    names = {layer["name"] for layer in low.layers}
    per_layer: dict[str, dict] = {n: {"Trace": trace} for n in names}
    for name, prec in low.precisions.items():
        per_layer[name]["Precision"] = dict(prec) if len(prec) > 1 else prec["result"]
    return {"Model": {"Precision": "ap_int<32>", "ReuseFactor": 1, "Strategy": "Latency",
                      "BramFactor": 1_000_000_000}, "LayerName": per_layer}


def convert(model: IRModel, out_dir: str | Path, *, backend: str = "Vitis", board: str = "pynq-z2",
            clock_mhz: float = 100.0, trace: bool = False):
    """The hls4ml ModelGraph of ``model`` (project written to ``out_dir`` by ``write``/``compile``)."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown hls4ml backend {backend!r} (use one of {', '.join(BACKENDS)})")
    try:
        from hls4ml.model.graph import ModelGraph
        from hls4ml.utils.config import create_config
    except ImportError:
        raise ToolNotFound("hls4ml is not installed: pip install 'sbnn[hls]' (hls4ml 1.3.0)") from None
    part = board_part(board)
    low = lower(model)
    kwargs = {"board": board} if backend == "VivadoAccelerator" else {"part": part}
    if backend == "VivadoAccelerator":
        # float AXI words (hls4ml 1.3 writes ap types into the wrapper as "fixed<..>", which does not compile);
        # a float holds every integer below 2**24 exactly
        bound = max(model.layers[-1].acc_bound(), 1 << model.input.type.bits)
        if bound >= 1 << 24:
            raise HardwareError(f"hls4ml VivadoAccelerator backend: scores up to {bound} do not fit the float AXI "
                                "words exactly; use the Vitis or Vivado backend")
    cfg = create_config(output_dir=str(out_dir), project_name=PROJECT, backend=backend, io_type="io_stream",
                        clock_period=round(1000.0 / clock_mhz, 3), **kwargs)
    cfg["HLSConfig"] = hls_config(low, trace)
    # complete partitioning of every constant weight array (hls4ml's default stops at 4096 elements), so
    # each weight is a separate constant that HLS can fold away when it is 0
    cfg["MaximumSize"] = max([4096] + [row["weights"] for row in weight_stats(low)])
    with contextlib.redirect_stdout(io.StringIO()):  # hls4ml prints every layer
        hm = ModelGraph.from_layer_list(cfg, low.layers)
    _fix_binary_types(hm, model, low)
    return hm, low


#: hls4ml layers that only move values: a 1-bit XNOR input must stay XNOR through them
_PASS_THROUGH = ("ZeroPadding2D", "Reshape", "Pooling2D")


def _fix_binary_types(hm, model: IRModel, low: Lowered) -> None:
    """Keep bipolar streams in hls4ml's 1-bit XNOR type through the layers hls4ml inserts or copies
    (the ZeroPadding2D before a padded conv gets the model default precision otherwise), then check every
    MVU that reads bits really gets XNOR data: 0/1 products would be silently wrong."""
    from hls4ml.model.types import XnorPrecisionType

    changed = False
    if model.input.type.bipolar:  # a bipolar model input: bit 1 = +1, bit 0 = -1, like every other bit stream
        from hls4ml.backends.fpga.fpga_types import APTypeConverter

        hm.get_input_variables()[0].type.precision = APTypeConverter().convert(XnorPrecisionType())
        changed = True
    for layer in hm.get_layers():
        src = layer.get_input_node()
        if layer.class_name in _PASS_THROUGH and src is not None and \
                isinstance(src.get_output_variable().type.precision, XnorPrecisionType):
            layer.get_output_variable().type.precision = src.get_output_variable().type.precision
            changed = True
    if changed:  # the C++ config structs (product type) were formatted during conversion: format them again
        from hls4ml.model.flow import get_backend_flows

        name = hm.config.backend.name
        flows = [f for b in (name, "Vivado") for f in get_backend_flows(b) if f.endswith(":apply_templates")]
        hm.apply_flow(flows[0], reapply="single")  # VivadoAccelerator uses Vivado's templates
    graph = {layer.name: layer for layer in hm.get_layers()}
    for ir_layer in model.mvus:
        if not ir_layer.in_type.bipolar:
            continue
        first = low.ir_map[ir_layer.name]
        name = next(n for n in first if n.endswith("_p") or n == ir_layer.name)
        prec = graph[name].get_input_variable().type.precision
        if not isinstance(prec, XnorPrecisionType):
            raise HardwareError(f"hls4ml backend: the bits into {name} are typed {prec}, not hls4ml's 1-bit XNOR "
                                "type; they would be read as 0/1 instead of -1/+1")


def weight_stats(low: Lowered) -> list[dict]:
    """Per hls4ml layer: constant weights and how many are non-zero (what survives HLS constant folding)."""
    rows = []
    for layer in low.layers:
        if "weight_data" in layer:
            w = np.asarray(layer["weight_data"])
            rows.append({"layer": layer["name"], "weights": int(w.size), "nonzero": int(np.count_nonzero(w))})
    return rows


@dataclass
class CsimResult:
    """g++ C simulation vs the bit-exact simulator on the same inputs."""

    n: int
    equal: int
    max_abs_diff: int
    compile_s: float
    predict_s: float
    first_mismatch: int | None = None

    @property
    def exact(self) -> bool:
        return self.equal == self.n

    def to_json(self) -> dict:
        return {"inputs": self.n, "equal": self.equal, "exact": self.exact, "max_abs_diff": self.max_abs_diff,
                "compile_s": round(self.compile_s, 2), "predict_s": round(self.predict_s, 3),
                "first_mismatch": self.first_mismatch}


def predict_scores(hm, model: IRModel, x: np.ndarray) -> np.ndarray:
    """Integer scores of the compiled C model for integer images ``x`` (N, H, W, C)."""
    y = hm.predict(np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(x.shape[0], *model.input.shape)))
    y = np.asarray(y, dtype=np.float64).reshape(x.shape[0], -1)
    scores = np.rint(y).astype(np.int64)
    if not np.array_equal(scores, y):
        raise HardwareError("hls4ml C simulation returned non-integer scores")
    return scores


def trace_outputs(hm, model: IRModel, low: Lowered, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every IR layer's output as the C simulation computes it (needs ``convert(..., trace=True)``), in the
    simulator's layout (bits as 0/1 with "<=" input channels un-inverted), for layer-by-layer comparison."""
    xin = np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(x.shape[0], *model.input.shape))
    with contextlib.redirect_stdout(io.StringIO()):
        _, tr = hm.trace(xin)
    out = {}
    for ir_name, names in low.ir_map.items():
        last = names[-1]
        key = f"bnbt_{last[:-len('_sign')]}_bn" if last.endswith("_sign") else last
        if key in tr:
            val = np.rint(np.asarray(tr[key], dtype=np.float64).reshape(x.shape[0], -1)).astype(np.int64)
            if ir_name in low.inverted:
                c = model.input.shape[2]
                view = val.reshape(x.shape[0], -1, c)
                view[:, :, low.inverted[ir_name]] ^= 1
            out[ir_name] = val
    return out


def csim_check(hm, model: IRModel, x: np.ndarray) -> CsimResult:
    """``hm.compile()`` (g++) then compare every score with ``sbnn.sim.bitexact``, with ==."""
    from sbnn.sim.bitexact import simulate

    if shutil.which("g++") is None:
        raise ToolNotFound("g++ not found: hls4ml's C simulation compiles the project with g++ (apt install g++)")
    t0 = time.time()
    with contextlib.redirect_stdout(io.StringIO()):
        hm.compile()
    t1 = time.time()
    got = predict_scores(hm, model, x)
    t2 = time.time()
    ref = simulate(model, x).scores
    same = np.all(got == ref, axis=1)
    bad = np.flatnonzero(~same)
    return CsimResult(int(x.shape[0]), int(same.sum()), int(np.abs(got - ref).max()) if got.size else 0,
                      t1 - t0, t2 - t1, int(bad[0]) if bad.size else None)


# --------------------------------------------------------------------------------------------- vendor build
#: build_opt.tcl of hls4ml's Vitis flow: C synthesis only (csim is done with g++ by csim_check)
_VITIS_OPTS = ("array set opt {\n    reset 0\n    csim 0\n    synth 1\n    cosim 0\n    validation 0\n"
               "    export {export}\n    vsynth 0\n    fifo_opt 0\n}}\n")


def build_commands(backend: str) -> list[list[str]]:
    """The vendor commands that build an hls4ml project (run in the project directory)."""
    if backend == "Vitis":
        return [["vitis-run", "--tcl", "build_prj.tcl", "--mode", "hls"]]
    export = int(backend == "VivadoAccelerator")
    cmds = [["vivado_hls", "-f", "build_prj.tcl", f"reset=0 csim=0 synth=1 cosim=0 validation=0 export={export} "
             "vsynth=0 fifo_opt=0"]]
    if backend == "VivadoAccelerator":  # the pynq-z2 block design + bitstream around the exported IP
        cmds.append(["vivado", "-mode", "batch", "-source", "design.tcl"])
    return cmds


def instructions(prj_dir: Path, backend: str) -> str:
    """What to run on a machine with the vendor tools."""
    quoted = [" ".join(c if " " not in c else f'"{c}"' for c in cmd) for cmd in build_commands(backend)]
    lines = [f"cd {prj_dir}"] + quoted
    return "\n".join(lines)


def build(prj_dir: Path, backend: str, timeout: float | None = None) -> SynthReport:
    """C synthesis with the vendor tool (Vitis HLS / Vivado HLS); ToolNotFound when it is absent."""
    cmds = build_commands(backend)
    tools = [find_tool(cmd[0]) for cmd in cmds[:1]]
    if tools[0] is None:
        raise ToolNotFound(f"{cmds[0][0]} not found: the hls4ml {backend} build needs "
                           f"{'Vitis HLS' if backend == 'Vitis' else 'Vivado HLS'} on PATH; the project is in "
                           f"{prj_dir} (run there: {' '.join(cmds[0][:3])} ...)")
    if backend == "Vitis":
        (prj_dir / "build_opt.tcl").write_text(_VITIS_OPTS.format(export=0))
    t0 = time.time()
    try:
        tools[0].run(cmds[0][1:], cwd=prj_dir, timeout=timeout)
    except ToolTimeout:
        raise HardwareError(f"hls4ml {backend} build took longer than {timeout} s") from None
    except ToolError as exc:
        raise HardwareError(f"hls4ml {backend} build failed: {exc}") from None
    return read_report(prj_dir, time.time() - t0, tool=f"hls4ml-{backend}")


_XML_KEYS = {"LUT": ("LUT",), "FF": ("FF",), "BRAM18": ("BRAM_18K",), "DSP": ("DSP48E", "DSP")}


def parse_csynth_xml(text: str) -> dict[str, int]:
    """Resources of one ``*_csynth.xml`` (Vivado HLS / Vitis HLS) in SynthReport's resource keys."""
    root = ET.fromstring(text)
    res = root.find("AreaEstimates/Resources")
    if res is None:
        raise HardwareError("HLS report has no AreaEstimates/Resources")
    out = dict.fromkeys(RESOURCES, 0)
    for key, tags in _XML_KEYS.items():
        for tag in tags:
            node = res.find(tag)
            if node is not None and node.text and node.text.strip().isdigit():
                out[key] = int(node.text)
                break
    out["LUT_logic"] = out["LUT"]
    return out


def read_report(prj_dir: Path, elapsed: float = 0.0, tool: str = "hls4ml") -> SynthReport:
    """The C-synthesis report of an hls4ml project: the top function's total, every sub-function's own."""
    reports = sorted(prj_dir.glob(f"{PROJECT}_prj/solution1/syn/report/*_csynth.xml"))
    top = [p for p in reports if p.name == f"{PROJECT}_csynth.xml"]
    if not top:
        raise HardwareError(f"no HLS synthesis report under {prj_dir}/{PROJECT}_prj (did the build run?)")
    total = parse_csynth_xml(top[0].read_text())
    instances = {p.name[: -len("_csynth.xml")]: parse_csynth_xml(p.read_text()) for p in reports if p not in top}
    layers = [{"layer": name, "units": [name], **vals} for name, vals in instances.items()]
    return SynthReport(tool, PROJECT, instances, total, layers, elapsed)


__all__ = ["BACKENDS", "DEVICE", "CsimResult", "board_part", "boards", "build", "build_commands", "convert",
           "csim_check", "hls_config", "instructions", "parse_csynth_xml", "predict_scores", "read_report",
           "trace_outputs", "weight_stats"]
