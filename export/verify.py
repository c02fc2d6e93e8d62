"""The checks ``sbnn export`` runs before it accepts its own output.

Three kinds of evidence, all recorded in ``<run>/export/verify.json``:

* structural: the IR lowered from the QONNX file equals the IR folded directly from the checkpoint;
* integer exactness (``==``): the integer PyTorch network, the QONNX execution and the bit-exact
  simulator give identical integer scores on every sample;
* agreement with the float training model: its argmax equals the simulator's on every input that is
  not a tie. An input is a tie when some pre-sign value of the float model, or the margin between its
  two best logits, is within ``eps`` of zero: float32 rounding may then legitimately flip a bit.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sbnn.ir import MVU, IRModel, MaxPool, Threshold


def ir_differences(a: IRModel, b: IRModel) -> list[str]:
    """Human-readable differences between two IR models (empty when they are the same network).

    The informational per-layer ``scale`` is not compared: a QONNX integer network has unit scales.
    """
    diffs = []
    if a.input != b.input:
        diffs.append(f"input {a.input} != {b.input}")
    if len(a.layers) != len(b.layers):
        return diffs + [f"{len(a.layers)} layers != {len(b.layers)} layers"]
    for la, lb in zip(a.layers, b.layers):
        where = f"layer {la.name}"
        if type(la) is not type(lb) or la.name != lb.name:
            diffs.append(f"{where}: {type(la).__name__} {la.name} != {type(lb).__name__} {lb.name}")
            continue
        if isinstance(la, Threshold):
            if not (np.array_equal(la.thresholds, lb.thresholds) and np.array_equal(la.directions, lb.directions)):
                diffs.append(f"{where}: thresholds differ")
        elif isinstance(la, MaxPool):
            if (la.in_shape, la.kernel) != (lb.in_shape, lb.kernel):
                diffs.append(f"{where}: pool geometry differs")
        elif isinstance(la, MVU):
            for f in ("kind", "in_shape", "out_channels", "in_type", "w0", "w1", "kernel", "pad", "pad_value"):
                if getattr(la, f) != getattr(lb, f):
                    diffs.append(f"{where}: {f} {getattr(la, f)} != {getattr(lb, f)}")
            if not np.array_equal(la.weight_bits, lb.weight_bits):
                diffs.append(f"{where}: weight bits differ ({int((la.weight_bits != lb.weight_bits).sum())} positions)")
            for f in ("thresholds", "directions"):
                va, vb = getattr(la, f), getattr(lb, f)
                if (va is None) != (vb is None) or (va is not None and not np.array_equal(va, vb)):
                    diffs.append(f"{where}: {f} differ")
    if not (np.allclose(a.head.gain, b.head.gain, rtol=1e-6) and np.allclose(a.head.bias, b.head.bias, rtol=1e-6, atol=1e-9)):
        diffs.append("head differs")
    return diffs


def integer_equality(name_a: str, a: np.ndarray, name_b: str, b: np.ndarray) -> dict:
    """== on integer score arrays; the first mismatching sample is kept for debugging."""
    a = np.asarray(a)
    b = np.asarray(b)
    same = a.shape == b.shape
    rows = np.all(a == b, axis=tuple(range(1, a.ndim))) if same else np.zeros(len(a), bool)
    bad = np.flatnonzero(~rows)
    return {
        "compared": f"{name_a} == {name_b}",
        "samples": int(len(a)),
        "equal": bool(same and rows.all()),
        "mismatching_samples": int(len(bad)),
        "first_mismatch": int(bad[0]) if len(bad) else None,
        "max_abs_difference": float(np.max(np.abs(a.astype(np.float64) - b))) if same and a.size else None,
    }


@torch.no_grad()
def float_model_agreement(model: nn.Module, x_nchw: np.ndarray, sim_logits: np.ndarray, eps: float = 1e-4,
                          batch: int = 500) -> dict:
    """Argmax agreement of the float training model with the simulator, with tie accounting."""
    pre_sign: list[torch.Tensor] = []
    hooks = []
    for block in getattr(model, "blocks", lambda: [])():
        if block.act is not None:
            hooks.append(block.act.register_forward_pre_hook(lambda m, inp: pre_sign.append(inp[0])))
    preds, ties = [], []
    try:
        for start in range(0, len(x_nchw), batch):
            pre_sign.clear()
            xb = torch.from_numpy(np.asarray(x_nchw[start : start + batch], dtype=np.float32))
            logits = model(xb)
            near = torch.zeros(len(xb), dtype=torch.bool)
            for z in pre_sign:
                near |= (z.abs() <= eps).reshape(len(xb), -1).any(dim=1)
            top2 = torch.topk(logits, 2, dim=1).values
            near |= (top2[:, 0] - top2[:, 1]) <= eps * (1 + top2[:, 0].abs())
            preds.append(logits.argmax(1).numpy())
            ties.append(near.numpy())
    finally:
        for h in hooks:
            h.remove()
    pred = np.concatenate(preds)
    tie = np.concatenate(ties)
    sim_pred = np.argmax(sim_logits, axis=1)
    agree = pred == sim_pred
    return {
        "samples": int(len(pred)),
        "ties": int(tie.sum()),
        "agree_non_tie": int((agree & ~tie).sum()),
        "disagree_non_tie": int((~agree & ~tie).sum()),
        "disagree_tie": int((~agree & tie).sum()),
        "eps": eps,
        "ok": bool(((~agree) & ~tie).sum() == 0),
    }
