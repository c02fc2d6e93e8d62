"""Option names of the hardware stage besides the per-layer choices of :mod:`sbnn.arch.options`, defined
once for :class:`sbnn.hw.config.HwConfig` and the ``sbnn synth`` command line (a light module: the CLI
imports it to build its parser)."""

from __future__ import annotations

from typing import Literal, get_args

Tool = Literal["yosys", "vivado"]
Backend = Literal["rtl", "hls4ml"]
Hls4mlBackend = Literal["Vitis", "Vivado", "VivadoAccelerator"]
#: Yosys' ABC9 script (see :data:`sbnn.hw.synth.yosys.ABC_SCRIPTS`; "auto": "fast" where "default" takes minutes)
AbcScript = Literal["auto", "default", "fast"]

TOOLS: tuple[str, ...] = get_args(Tool)
BACKENDS: tuple[str, ...] = get_args(Backend)
HLS4ML_BACKENDS: tuple[str, ...] = get_args(Hls4mlBackend)
