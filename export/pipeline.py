"""``sbnn export`` as an ordered list of plain steps over one context.

For an sbnn checkpoint: load -> fold to IR -> pick real samples -> write QONNX (Brevitas) ->
lower the QONNX back to IR -> verify -> commit. For a foreign QONNX file the first steps are
replaced by reading and lowering that file. Outputs are assembled in a staging folder that replaces
``<run>/export/`` only when every check has passed (:class:`sbnn.provenance.Staging`), with a manifest of
the checkpoint (or QONNX file) and config they came from, so a failed export never touches the last good
one, and a later training makes it visibly stale.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from sbnn import provenance, runlock, runs
from sbnn.data import load_dataset
from sbnn.errors import ExportError
from sbnn.export.config import ExportConfig
from sbnn.export.layout import nchw_to_nhwc
from sbnn.ir import IRModel, save
from sbnn.runs import RunDir, read_json, write_json
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
    if ctx.ir_direct is None:
        qscores, flips = _foreign_run(ctx, runner, want)
    else:
        qout = runner.run(ctx.x_nchw, want)
        x_in = qout[ctx.lowered.input_tensor] if want else ctx.x_nchw
        ctx.x_ir = ir_inputs(ctx.ir, x_in, ctx.lowered.input_scale)
        qscores = qout["output"].reshape(len(ctx.x_ir), -1)
    rep["qonnx_seconds"] = round(time.perf_counter() - t0, 2)
    sim = Simulator(ctx.ir).run(ctx.x_ir)
    if ctx.ir_direct is not None:
        rep["qonnx_equals_sim"] = verify.integer_equality("qonnx", qscores, "sim", sim.scores)
        import torch

        from sbnn.export.torch_ir import IRNet

        with torch.no_grad():
            tscores = IRNet(ctx.ir_direct).eval()(torch.from_numpy(ctx.x_nchw)).numpy()
        rep["torch_int_equals_qonnx"] = verify.integer_equality("torch integer network", tscores, "qonnx", qscores)
        rep["float_model_vs_sim"] = verify.float_model_agreement(ctx.trained, ctx.x_nchw, sim.logits, ctx.cfg.tie_eps)
    else:  # foreign graph: float32 may round a sign near 0 differently; everything else must agree
        qlogits = qscores.astype(np.float64)
        rep["qonnx_argmax_equals_sim"] = {"samples": len(qlogits),
                                          "agree": int((qlogits.argmax(1) == sim.logits.argmax(1)).sum())}
        rep["qonnx_vs_sim_logits_max_abs"] = float(np.max(np.abs(qlogits - sim.logits), initial=0.0))
        rep["qonnx_vs_sim"] = verify.foreign_agreement(qlogits, sim.logits, ctx.ir.head.gain, flips)
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
    else:
        a = rep["qonnx_vs_sim"]
        if a["bits_differ_non_tie"]:
            failures.append(f"a layer of the simulator differs from QONNX's on {a['bits_differ_non_tie']} of {a['samples']} "
                            "inputs where float rounding cannot explain it")
        if a["beyond_tolerance"]:
            failures.append(f"the simulator's logits differ from QONNX's by more than {a['tolerance']:.4g} (half a score "
                            f"step) on {a['beyond_tolerance']} of {a['samples']} inputs (max {a['max_abs_difference']:.4g})")
        if a["argmax_disagree_non_tie"]:
            failures.append(f"the simulator's class differs from QONNX's on {a['argmax_disagree_non_tie']} non-tie inputs")
    rep["passed"] = not failures
    if failures:
        write_json(ctx.out / runs.VERIFY, ctx.report)
        where = runs.aside(ctx.run.path, "export", "failed") / runs.VERIFY
        raise ExportError("verification failed: " + " | ".join(failures) + f" (details: {where})")


def _foreign_run(ctx: Context, runner, want: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """QONNX and the simulator batch by batch on a foreign graph: the graph's scores, the IR inputs (into
    ``ctx.x_ir``) and, per sample, how the graph's signs compare with the simulator's bits
    (:func:`sbnn.export.verify.first_flips`)."""
    from sbnn.export import verify

    signs = ctx.lowered.pre_sign
    tensors = list(dict.fromkeys(want + [t for t, _, _ in signs]))
    sim = Simulator(ctx.ir)
    scores, xs, flips = [], [], []
    for out in runner.batches(ctx.x_nchw, tensors):
        x_in = out[ctx.lowered.input_tensor] if want else ctx.x_nchw[sum(len(x) for x in xs):][: len(out["output"])]
        x_ir = ir_inputs(ctx.ir, x_in, ctx.lowered.input_scale)
        trace = sim.run(x_ir, trace=True).trace
        flips.append(verify.first_flips([out[t] for t, _, _ in signs], [sh for _, sh, _ in signs],
                                        [trace[name] for _, _, name in signs], ctx.cfg.tie_eps))
        scores.append(out["output"].reshape(len(x_ir), -1))
        xs.append(x_ir)
    ctx.x_ir = np.concatenate(xs)
    return np.concatenate(scores), np.concatenate(flips)


def ir_inputs(ir: IRModel, x_in: np.ndarray, scale: float) -> np.ndarray:
    """The graph input (``integer * scale``) as the IR's NHWC integers; inputs that are not integers in those
    units, or that the IR's input type cannot hold, are an error that names the flags to fix."""
    x = np.asarray(x_in, dtype=np.float64) / scale
    x_int = np.rint(x)
    off = float(np.abs(x - x_int).max(initial=0.0))
    flags = ("set --input-prescale (data-set pixel -> graph input) and --input-scale / --input-bits (graph input = "
             "integer * scale)")
    if off > 1e-3:
        raise ExportError(f"the graph input is not an integer multiple of the input scale {scale:.6g} (off by up to "
                          f"{off:.3g}): {flags} to match the model")
    lo, hi = ir.input.type.value_range()
    if ir.input.type.bipolar:
        lo = 0  # the IR takes bipolar inputs as bits
    if x_int.size and (x_int.min() < lo or x_int.max() > hi):
        t = ir.input.type
        kind = "bipolar (bits 0/1)" if t.bipolar else f"{t.bits}-bit {'signed' if t.signed else 'unsigned'}"
        raise ExportError(f"the inputs reach {x_int.min():g}..{x_int.max():g} in units of {scale:.6g}, beyond the IR's "
                          f"{kind} input range {lo}..{hi}: {flags} to match the model")
    return nchw_to_nhwc(x_int.reshape(len(x_int), *_nchw(ir))).astype(np.int64)


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
    outputs = [runs.IR, f"{runs.IR_STEM}.npz", runs.SAMPLES, runs.CONFIG, runs.VERIFY]
    if ctx.qonnx_path is not None:
        outputs.append(runs.QONNX)
    provenance.record(ctx.out, "export", export_inputs(ctx.run, ctx.cfg), outputs, config=ctx.cfg)


def export_inputs(run: RunDir, cfg: ExportConfig) -> dict[str, str]:
    """What an export reads: the run's checkpoint, or the foreign QONNX file."""
    if cfg.qonnx:
        return provenance.external(cfg.qonnx)
    return provenance.inputs(run, [f"train/{runs.CHECKPOINT}"])


CHECKPOINT_STEPS: list[Step] = [step_load_checkpoint, step_fold, step_samples, step_write_qonnx, step_lower,
                                step_verify, step_commit]
FOREIGN_STEPS: list[Step] = [step_lower, step_samples, step_verify, step_commit]


def up_to_date(run: RunDir, cfg: ExportConfig) -> bool:
    """The export's manifest matches its files, the same config, and the checkpoint (or QONNX file) it read."""
    m = provenance.read(run, "export")
    if m is None or m.config != provenance.config_digest(cfg):
        return False
    if provenance.check(run, "export").state != "current":
        return False
    source = Path(cfg.qonnx) if cfg.qonnx else run.path / "train" / runs.CHECKPOINT
    if not source.is_file():
        return False
    want = provenance.external(source) if cfg.qonnx else provenance.inputs(run, [f"train/{runs.CHECKPOINT}"])
    return all(m.inputs.get(k) == v for k, v in want.items())


def export(run: RunDir, cfg: ExportConfig, *, force: bool = False, log: Callable[[str], None] = print) -> dict:
    """Run the export steps into a staging folder that replaces <run>/export only when every check passed;
    a failure of any kind leaves the previous export (and its manifest) as it was. Holds the run's lock."""
    with runlock.locked(run):
        final = run.path / "export"
        if not force and up_to_date(run, cfg):
            log(f"export is up to date: {final} (use --force to redo it)")
            return read_json(final / runs.VERIFY)
        staging = provenance.Staging(run, "export")
        ctx = Context(run, cfg, staging.begin(), log)
        steps = FOREIGN_STEPS if cfg.qonnx else CHECKPOINT_STEPS
        try:
            for step in steps:
                t0 = time.perf_counter()
                step(ctx)
                log(f"  {step.__name__.removeprefix('step_'):<16} {time.perf_counter() - t0:6.2f} s")
        except BaseException:
            staging.discard(keep=(ctx.out / runs.VERIFY).exists())  # keep the evidence of a failed verification
            raise
        staging.commit()
        return ctx.report
