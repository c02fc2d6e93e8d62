"""Index-order conversions between PyTorch/ONNX (NCHW, c-h-w flatten) and the IR (channels last).

The IR streams maps channels last, as the hardware does, so conv windows are flattened in
(ky, kx, c) order and a dense layer after a map reads it in (h, w, c) order. ONNX and PyTorch use
(c, ky, kx) and (c, h, w). These functions are the only place where that permutation is written.
"""

from __future__ import annotations

import numpy as np


def conv_to_ir(w: np.ndarray) -> np.ndarray:
    """(M, C, k, k) -> (M, k*k*C) in (ky, kx, c) order."""
    m = w.shape[0]
    return np.ascontiguousarray(w.transpose(0, 2, 3, 1)).reshape(m, -1)


def conv_from_ir(w: np.ndarray, in_ch: int, k: int) -> np.ndarray:
    """(M, k*k*C) in (ky, kx, c) order -> (M, C, k, k)."""
    m = w.shape[0]
    return np.ascontiguousarray(w.reshape(m, k, k, in_ch).transpose(0, 3, 1, 2))


def dense_to_ir(w: np.ndarray, shape_hwc: tuple[int, int, int]) -> np.ndarray:
    """(M, K) with inputs in (c, h, w) order -> (M, K) in (h, w, c) order."""
    h, wd, c = shape_hwc
    m = w.shape[0]
    return np.ascontiguousarray(w.reshape(m, c, h, wd).transpose(0, 2, 3, 1)).reshape(m, -1)


def dense_from_ir(w: np.ndarray, shape_hwc: tuple[int, int, int]) -> np.ndarray:
    """(M, K) in (h, w, c) order -> (M, K) in (c, h, w) order."""
    h, wd, c = shape_hwc
    m = w.shape[0]
    return np.ascontiguousarray(w.reshape(m, h, wd, c).transpose(0, 3, 1, 2)).reshape(m, -1)


def nchw_to_nhwc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x).transpose(0, 2, 3, 1))


def nhwc_to_nchw(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x).transpose(0, 3, 1, 2))
