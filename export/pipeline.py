"""``sbnn export`` as an ordered list of plain steps over one context.

For an sbnn checkpoint: load -> fold to IR -> pick real samples -> write QONNX (Brevitas) ->
lower the QONNX back to IR -> verify -> commit. For a foreign QONNX file the first steps are
replaced by reading and lowering that file. Outputs are assembled in a temporary folder that replaces
``<run>/export/`` only when every check has passed, so a failed export never leaves a valid-looking
IR behind.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from sbnn import runs
from sbnn.data import load_dataset
from sbnn.errors import ExportError, SbnnError
from sbnn.export.config import ExportConfig
from sbnn.export.layout import nchw_to_nhwc
from sbnn.ir import IRModel, save
from sbnn.runs import RunDir, write_json
from sbnn.sim.bitexact import Simulator

Step = Callable[["Context"], None]


@dataclass
class Context:
    run: RunDir
    cfg: ExportConfig
    out: Path
    log: Callable[[str], None]
    trained: object | None = None  # the float training model
    meta: dict = field(default_factory=dict)
    ir_direct: IRModel | None = None
    ir: IRModel | None = None
    lowered: object | None = None
    qonnx_path: Path | None = None
    x_nchw: np.ndarray | None = None  # real samples, graph input units
    y: np.ndarray | None = None
    is_test: np.ndarray | None = None
    x_ir: np.ndarray | None = None  # the same samples as IR input (NHWC integers)
    report: dict = field(default_factory=dict)


def step_load_checkpoint(ctx: Context) -> None:
    from sbnn.training.trainer import load_trained

    ctx.trained, tcfg, ctx.meta = load_trained(ctx.run)
    ctx.report["source"] = {"checkpoint": str(ctx.run.path / "train" / runs.CHECKPOINT), "arch": tcfg.model.arch,
                            "method": tcfg.quant.method, "sparsity_target": tcfg.quant.sparsity}
    ctx.meta["data_dir"] = tcfg.data.data_dir


def step_fold(ctx: Context) -> None:
    from sbnn.export.deploy import ir_from_trained

    ctx.ir_direct = ir_from_trained(ctx.trained, ctx.meta, name=ctx.run.path.name or "sbnn")


def step_samples(ctx: Context) -> None:
    """The first N test images, topped up with training images when the test set is smaller."""
    name = ctx.meta.get("dataset") if ctx.meta else ctx.cfg.dataset
    if name is None:
        raise ExportError("real inputs are needed to verify a foreign model: pass --dataset (and --data-dir)")
    ds = load_dataset(name, ctx.cfg.data_dir or ctx.meta.get("data_dir"), download=False)
    n = ctx.cfg.samples
    x = np.concatenate([ds.x_test, ds.x_train])[:n]
    ctx.y = np.concatenate([ds.y_test, ds.y_train])[:n]
    ctx.is_test = np.arange(len(x)) < len(ds.x_test)
    ctx.x_nchw = x.astype(np.float32) * ctx.cfg.input_prescale
    ctx.report["samples"] = {"dataset": name, "count": int(len(x)), "test_images": int(ctx.is_test.sum())}


def step_write_qonnx(ctx: Context) -> None:
    from sbnn.export.qonnx_io import export_ir_qonnx

    ctx.qonnx_path = ctx.out / runs.QONNX
    t0 = time.perf_counter()
    export_ir_qonnx(ctx.ir_direct, ctx.qonnx_path)
    ctx.report["qonnx"] = {"file": runs.QONNX, "seconds": round(time.perf_counter() - t0, 2)}


def step_lower(ctx: Context) -> None:
    from sbnn.export.lower import lower

    src = ctx.qonnx_path if ctx.qonnx_path else Path(ctx.cfg.qonnx)
    ctx.lowered = lower(src, input_bits=ctx.cfg.input_bits, input_signed=ctx.cfg.input_signed,
                        input_scale=ctx.cfg.input_scale, name=ctx.ir_direct.name if ctx.ir_direct else None)
    ctx.ir = ctx.lowered.model
    if ctx.ir_direct is not None:  # carry what the integer graph does not hold: real scales, names
        ctx.ir.classes, ctx.ir.provenance = ctx.ir_direct.classes, ctx.ir_direct.provenance
        for a, b in zip(ctx.ir.mvus, ctx.ir_direct.mvus):
            a.scale = b.scale
            ctx.report.setdefault("structure", {})[a.name] = {"configured": b.structure, "detected": a.structure}
            a.structure = b.structure  # the trained structure is recorded (save() checks the bits keep it)


def step_verify(ctx: Context) -> None:
    from sbnn.export import verify
    from sbnn.export.qonnx_io import QonnxRunner
    from sbnn.export.qonnx_read import load_qonnx

    rep = ctx.report.setdefault("verification", {})
    if ctx.ir_direct is not None:
        diffs = verify.ir_differences(ctx.ir_direct, ctx.ir)
        rep["lowered_ir_equals_folded_ir"] = {"equal": not diffs, "differences": diffs[:20]}
    runner = QonnxRunner(load_qonnx(ctx.qonnx_path or ctx.cfg.qonnx), batch=ctx.cfg.batch)
    want = [] if ctx.lowered.input_tensor == runner.base.graph.input[0].name else [ctx.lowered.input_tensor]
    t0 = time.perf_counter()
    qout = runner.run(ctx.x_nchw, want)
    rep["qonnx_seconds"] = round(time.perf_counter() - t0, 2)
    x_in = qout[ctx.lowered.input_tensor] if want else ctx.x_nchw
    x_int = np.rint(x_in / ctx.lowered.input_scale)
    ctx.x_ir = nchw_to_nhwc(x_int.reshape(len(x_int), *_nchw(ctx.ir))).astype(np.int64)
    sim = Simulator(ctx.ir).run(ctx.x_ir)
    qscores = qout["output"].reshape(len(x_int), -1)
    if ctx.ir_direct is not None:
        rep["qonnx_equals_sim"] = verify.integer_equality("qonnx", qscores, "sim", sim.scores)
        import torch

        from sbnn.export.torch_ir import IRNet

        with torch.no_grad():
            tscores = IRNet(ctx.ir_direct).eval()(torch.from_numpy(ctx.x_nchw)).numpy()
        rep["torch_int_equals_qonnx"] = verify.integer_equality("torch integer network", tscores, "qonnx", qscores)
        rep["float_model_vs_sim"] = verify.float_model_agreement(ctx.trained, ctx.x_nchw, sim.logits, ctx.cfg.tie_eps)
    else:  # foreign graph: its float ops may round differently near thresholds; compare logits argmax
        qlogits = qscores.astype(np.float64)
        rep["qonnx_argmax_equals_sim"] = {"samples": len(qlogits),
                                          "agree": int((qlogits.argmax(1) == sim.logits.argmax(1)).sum())}
        rep["qonnx_vs_sim_logits_max_abs"] = float(np.max(np.abs(qlogits - sim.logits)))
    pred = sim.predictions
    test = ctx.is_test
    ctx.report["accuracy"] = {"sim_test_accuracy": float((pred[test] == ctx.y[test]).mean()) if test.any() else None,
                              "test_samples": int(test.sum())}
    failures = []
    if ctx.ir_direct is not None:
        if not rep["lowered_ir_equals_folded_ir"]["equal"]:
            failures.append("the IR lowered from QONNX differs from the folded checkpoint: "
                            + "; ".join(rep["lowered_ir_equals_folded_ir"]["differences"][:3]))
        for key in ("qonnx_equals_sim", "torch_int_equals_qonnx"):
            if not rep[key]["equal"]:
                failures.append(f"{rep[key]['compared']} fails on {rep[key]['mismatching_samples']} samples")
        if not rep["float_model_vs_sim"]["ok"]:
            failures.append(f"the float model disagrees with the simulator on {rep['float_model_vs_sim']['disagree_non_tie']} "
                            "non-tie inputs")
    rep["passed"] = not failures
    if failures:
        write_json(ctx.out / runs.VERIFY, ctx.report)
        where = ctx.run.path / ".export.failed" / runs.VERIFY
        raise ExportError("verification failed: " + " | ".join(failures) + f" (details: {where})")


def _nchw(ir: IRModel) -> tuple[int, int, int]:
    h, w, c = ir.input.shape
    return (c, h, w)


def step_commit(ctx: Context) -> None:
    save(ctx.ir, ctx.out / runs.IR_STEM)
    np.savez_compressed(ctx.out / runs.SAMPLES, x=ctx.x_ir.astype(np.int32), y=ctx.y, is_test=ctx.is_test)
    ctx.cfg.save(ctx.out / runs.CONFIG)
    ir = ctx.ir
    ctx.report["ir"] = {"layers": [f"{type(layer).__name__}:{layer.name}" for layer in ir.layers],
                        "sparsity": {m.name: round(m.sparsity, 4) for m in ir.mvus},
                        "levels": {m.name: [m.w0, m.w1] for m in ir.mvus},
                        "structure": {m.name: m.structure for m in ir.mvus}}
    write_json(ctx.out / runs.VERIFY, ctx.report)


CHECKPOINT_STEPS: list[Step] = [step_load_checkpoint, step_fold, step_samples, step_write_qonnx, step_lower,
                                step_verify, step_commit]
FOREIGN_STEPS: list[Step] = [step_lower, step_samples, step_verify, step_commit]


def up_to_date(run: RunDir, cfg: ExportConfig) -> bool:
    out = run.path / "export"
    ckpt = run.path / "train" / runs.CHECKPOINT
    needed = [out / runs.IR, out / runs.VERIFY, out / runs.CONFIG]
    if cfg.qonnx or not all(p.exists() for p in needed) or not ckpt.exists():
        return False
    if needed[0].stat().st_mtime < ckpt.stat().st_mtime:
        return False
    try:
        return ExportConfig.load(needed[2]) == cfg
    except SbnnError:  # an unreadable or foreign config: export again
        return False


def export(run: RunDir, cfg: ExportConfig, *, force: bool = False, log: Callable[[str], None] = print) -> dict:
    """Run the export steps into a temporary folder, then replace <run>/export with it."""
    final = run.path / "export"
    if not force and up_to_date(run, cfg):
        log(f"export is up to date: {final} (use --force to redo it)")
        from sbnn.runs import read_json

        return read_json(final / runs.VERIFY)
    tmp = run.path / ".export.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    ctx = Context(run, cfg, tmp, log)
    steps = FOREIGN_STEPS if cfg.qonnx else CHECKPOINT_STEPS
    failed = run.path / ".export.failed"
    try:
        for step in steps:
            t0 = time.perf_counter()
            step(ctx)
            log(f"  {step.__name__.removeprefix('step_'):<16} {time.perf_counter() - t0:6.2f} s")
    except BaseException:
        # an earlier export no longer matches what was asked for: never leave it looking valid
        shutil.rmtree(final, ignore_errors=True)
        shutil.rmtree(failed, ignore_errors=True)
        if (tmp / runs.VERIFY).exists():
            tmp.rename(failed)  # keep the evidence of a failed verification
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(final, ignore_errors=True)
    shutil.rmtree(failed, ignore_errors=True)
    tmp.rename(final)
    return ctx.report
