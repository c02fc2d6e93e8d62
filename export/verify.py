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



def first_flips(q_values: list[np.ndarray], shifts: list[np.ndarray | None], sim_bits: list[np.ndarray],
                eps: float) -> np.ndarray:
    """Per sample, how the graph's signs compare with the simulator's bits, layer by layer: 0 = every bit
    equal; 1 = at the first layer that differs, every differing bit comes from a value within float32
    rounding of 0 (``eps`` times the sample's largest magnitude in that tensor: BatchNorm in float32 errs
    relative to its operands), a legitimate tie; 2 = a bit differs that rounding cannot explain.

    ``q_values`` are the graph's pre-sign tensors (NCHW, or (N, C)), ``sim_bits`` the simulator's outputs of
    the same layers (NHWC bits)."""
    n = len(sim_bits[0]) if sim_bits else 0
    status = np.zeros(n, dtype=np.int8)
    for value, shift, bits in zip(q_values, shifts, sim_bits):
        v = np.asarray(value, dtype=np.float64)
        if shift is not None:
            v = v - np.asarray(shift, dtype=np.float64).reshape((1, -1) + (1,) * (v.ndim - 2))
        if v.ndim == 4:
            v = v.transpose(0, 2, 3, 1)
        v = v.reshape(n, -1)
        differ = (v >= 0) != np.asarray(bits, dtype=bool).reshape(n, -1)
        near = np.abs(v) <= eps * np.maximum(1.0, np.abs(v).max(axis=1, initial=0.0))[:, None]
        first = (status == 0) & differ.any(axis=1)
        explained = ~(differ & ~near).any(axis=1)
        status[first & explained] = 1
        status[first & ~explained] = 2
    return status


def foreign_agreement(qonnx_logits: np.ndarray, sim_logits: np.ndarray, gain: np.ndarray, flips: np.ndarray) -> dict:
    """A foreign graph computes in float32 what the simulator computes in integers. On every sample whose bits
    all agree (``flips`` 0, see :func:`first_flips`) the logits must agree to within half a score step
    (``|gain|/2``: beyond it an integer score differs) and the classes must be equal unless the graph's top two
    logits are within one score step; a sample with a legitimate tie (``flips`` 1) is counted, one with a bit
    that rounding cannot explain (``flips`` 2) fails."""
    q = np.asarray(qonnx_logits, dtype=np.float64)
    s = np.asarray(sim_logits, dtype=np.float64)
    flips = np.asarray(flips)
    g = np.abs(np.asarray(gain, dtype=np.float64))
    g = g[g > 0]
    tol = 0.5 * float(g.min()) if g.size else 1e-6 * max(1.0, float(np.abs(q).max(initial=0.0)))
    diff = np.abs(q - s).max(axis=1) if q.size else np.zeros(len(q))
    top2 = np.sort(q, axis=1)[:, -2:] if q.shape[1] > 1 else np.zeros((len(q), 2))
    top_tie = (top2[:, 1] - top2[:, 0]) <= 2 * tol
    same_bits = flips == 0
    beyond = same_bits & (diff > tol)
    argmax_bad = same_bits & (q.argmax(1) != s.argmax(1)) & ~top_tie
    bad = beyond | argmax_bad | (flips == 2)
    return {
        "samples": int(len(q)),
        "tolerance": tol,
        "max_abs_difference": float(diff.max(initial=0.0)),
        "ties_sign": int((flips == 1).sum()),
        "ties_top2": int((same_bits & top_tie).sum()),
        "bits_differ_non_tie": int((flips == 2).sum()),
        "beyond_tolerance": int(beyond.sum()),
        "argmax_disagree_non_tie": int(argmax_bad.sum()),
        "first_bad_sample": int(np.flatnonzero(bad)[0]) if bad.any() else None,
        "ok": bool(not bad.any()),
    }
