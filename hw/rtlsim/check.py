"""The RTL check of ``sbnn sim --rtl``: the design ``sbnn synth`` wrote, run in Verilator on the run's
samples, against the bit-exact simulator's scores and the cycle model.

The design is regenerated from what ``sbnn synth`` wrote - ``<run>/hw/folding.json`` (every MVU's
:class:`~sbnn.arch.impl.LayerImpl`, whole) and ``config.yaml`` (the design-wide knobs) - and must be
byte-identical to ``<run>/hw/rtl/``; otherwise the check refuses to run a design that is not the one on
disk. A run without ``hw/`` simulates the IR's own folding.
"""

from __future__ import annotations

import numpy as np

from sbnn import runs
from sbnn.arch import impl as impl_file
from sbnn.errors import ConfigError, HardwareError
from sbnn.hw.config import HwConfig
from sbnn.hw.rtl.design import Design, generate
from sbnn.hw.rtlsim.api import run_design
from sbnn.hw.stage import resolve_folding
from sbnn.ir.model import IRModel
from sbnn.runs import RunDir


def synthesized_design(run: RunDir, ir: IRModel) -> tuple[Design, str]:
    """The design of ``run`` and where it comes from: the one ``sbnn synth`` wrote (checked against its
    Verilog), or the IR's folding when the run has none."""
    hw = run.path / "hw"
    fold_file, cfg_file = hw / runs.FOLDING, hw / runs.CONFIG
    if not (fold_file.exists() and cfg_file.exists()):
        return generate(ir), "the IR's folding (run 'sbnn synth' first to simulate its design)"
    cfg = HwConfig.load(cfg_file)
    folded, impls, _ = resolve_folding(ir, cfg, impl_file.load(fold_file), str(fold_file))
    design = generate(folded, cfg.gen_options(), impls=impls)
    rtl = hw / runs.RTL
    written = {f.name: f.read_text() for f in rtl.glob("*.v")} if rtl.is_dir() else {}
    if written != design.files:
        raise ConfigError(f"the RTL in {rtl} is not what {hw}/{runs.CONFIG} and {runs.FOLDING} generate "
                          "(edited by hand, or written by another sbnn version): run 'sbnn synth' again")
    return design, str(fold_file)


def check_rtl(run: RunDir, ir: IRModel, x: np.ndarray, scores: np.ndarray) -> dict:
    """Run the run's design on ``x``: scores == ``scores`` (the bit-exact simulator's), latency and interval
    == the cycle model. Returns the ``rtl`` entry of ``<run>/sim/report.json``."""
    if x.ndim != 4 or x.shape[0] < 1:
        raise HardwareError(f"expected a batch of images (N, H, W, C), got shape {x.shape}")
    design, source = synthesized_design(run, ir)
    res = run_design(design, x, run.stage("sim") / runs.RTL_BUILD)
    equal_rows = np.all(np.asarray(res.scores) == scores, axis=1)
    return {"samples": int(len(x)), "equal": bool(equal_rows.all()), "mismatches": int((~equal_rows).sum()),
            "latency": int(res.latency), "interval": int(res.interval), "model_latency": int(res.model_latency),
            "model_interval": int(res.model_interval), "timing_equals_cycle_model": bool(res.timing_exact),
            "design": source}
