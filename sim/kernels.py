"""The simulator's hot loop: masked popcounts and the zero-skipping accumulator, fused.

For input vectors ``x`` (packed bits) and weight rows ``b_c`` (packed bits) it evaluates

    S = 2 popcount(x) - K,   P_c = 2 popcount(x & b_c) - nnz_c,   acc = w0 S + (w1 - w0) P_c

and, for thresholded layers, the output bit ``acc >= thr_c`` (or ``<=``), without materialising the
accumulators. The numba kernels run a 64-bit AND + popcount per word on all cores; the numpy versions
are the portable fallback and the cross-check in the tests. ``SBNN_SIM_KERNEL=numpy`` forces them.
"""

from __future__ import annotations

import os

import numpy as np

#: bytes of the (vectors x channels x words) temporary per chunk in the numpy fallback
_CHUNK_BYTES = 1 << 21


def popcount_matmul_numpy(xp: np.ndarray, wp: np.ndarray) -> np.ndarray:
    """(V, words) x (M, words) uint64 -> (V, M) int64 popcounts, chunked numpy."""
    v, words = xp.shape
    m = wp.shape[0]
    out = np.empty((v, m), dtype=np.int64)
    rows = max(1, _CHUNK_BYTES // max(1, m * words * 8))
    for start in range(0, v, rows):
        block = xp[start : start + rows, None, :] & wp[None, :, :]
        np.sum(np.bitwise_count(block), axis=2, dtype=np.int64, out=out[start : start + rows])
    return out


def _accumulate_numpy(xp, wp, nnz, w0, d, k):
    s = 2 * np.bitwise_count(xp).sum(axis=1, dtype=np.int64) - k
    return w0 * s[:, None] + d * (2 * popcount_matmul_numpy(xp, wp) - nnz[None, :])


try:
    import numba
except ImportError:  # pragma: no cover - numba is a declared dependency
    numba = None

if numba is not None:

    @numba.njit(inline="always")
    def _popcount(x):  # pragma: no cover - compiled
        x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
        x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
        x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
        return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))

    @numba.njit(inline="always")
    def _store(i, c, acc, thr, up, scores, acc_out, bit_out):  # pragma: no cover - compiled
        if scores:
            acc_out[i, c] = acc
        else:
            bit_out[i, c] = acc >= thr[c] if up[c] else acc <= thr[c]

    @numba.njit(parallel=True, cache=True, nogil=True)
    def _mvu_numba(xp, wp, nnz, w0, d, k, thr, up, scores, acc_out, bit_out):  # pragma: no cover - compiled
        """Four input vectors per block share every weight word loaded (1.5x over one at a time)."""
        v, words = xp.shape
        m = wp.shape[0]
        for b in numba.prange((v + 3) // 4):
            i0 = 4 * b
            if i0 + 4 <= v:
                s0 = s1 = s2 = s3 = 0
                for j in range(words):
                    s0 += _popcount(xp[i0, j])
                    s1 += _popcount(xp[i0 + 1, j])
                    s2 += _popcount(xp[i0 + 2, j])
                    s3 += _popcount(xp[i0 + 3, j])
                s0, s1, s2, s3 = w0 * (2 * s0 - k), w0 * (2 * s1 - k), w0 * (2 * s2 - k), w0 * (2 * s3 - k)
                for c in range(m):
                    p0 = p1 = p2 = p3 = 0
                    for j in range(words):
                        wv = wp[c, j]
                        p0 += _popcount(xp[i0, j] & wv)
                        p1 += _popcount(xp[i0 + 1, j] & wv)
                        p2 += _popcount(xp[i0 + 2, j] & wv)
                        p3 += _popcount(xp[i0 + 3, j] & wv)
                    z = nnz[c]
                    _store(i0, c, s0 + d * (2 * p0 - z), thr, up, scores, acc_out, bit_out)
                    _store(i0 + 1, c, s1 + d * (2 * p1 - z), thr, up, scores, acc_out, bit_out)
                    _store(i0 + 2, c, s2 + d * (2 * p2 - z), thr, up, scores, acc_out, bit_out)
                    _store(i0 + 3, c, s3 + d * (2 * p3 - z), thr, up, scores, acc_out, bit_out)
            else:
                for i in range(i0, v):
                    s = 0
                    for j in range(words):
                        s += _popcount(xp[i, j])
                    s = w0 * (2 * s - k)
                    for c in range(m):
                        p = 0
                        for j in range(words):
                            p += _popcount(xp[i, j] & wp[c, j])
                        _store(i, c, s + d * (2 * p - nnz[c]), thr, up, scores, acc_out, bit_out)


def backend() -> str:
    """The kernel in use: 'numba' unless unavailable or SBNN_SIM_KERNEL=numpy."""
    if os.environ.get("SBNN_SIM_KERNEL", "").lower() == "numpy" or numba is None:
        return "numpy"
    return "numba"


def popcount_matmul(xp: np.ndarray, wp: np.ndarray) -> np.ndarray:
    """``popcount(x_i & w_c)`` for all pairs: (V, words) x (M, words) uint64 -> (V, M) int64."""
    if backend() == "numpy":
        return popcount_matmul_numpy(xp, wp)
    return accumulate(xp, wp, np.zeros(wp.shape[0], dtype=np.int64), 0, 1, 0) // 2  # acc = 2 pc here


def accumulate(xp: np.ndarray, wp: np.ndarray, nnz: np.ndarray, w0: int, d: int, k: int) -> np.ndarray:
    """Accumulators (V, M) int64 of bipolar inputs ``xp`` against weight bits ``wp``."""
    if backend() == "numpy":
        return _accumulate_numpy(xp, wp, nnz, w0, d, k)
    return _run_numba(xp, wp, nnz, w0, d, k, None, None)


def threshold(xp: np.ndarray, wp: np.ndarray, nnz: np.ndarray, w0: int, d: int, k: int, thr: np.ndarray,
              direction: np.ndarray) -> np.ndarray:
    """Output bits (V, M) of a thresholded layer, fused with the accumulation."""
    if backend() == "numpy":
        acc = _accumulate_numpy(xp, wp, nnz, w0, d, k)
        return np.where(direction > 0, acc >= thr, acc <= thr)
    return _run_numba(xp, wp, nnz, w0, d, k, thr, direction)


def _run_numba(xp, wp, nnz, w0, d, k, thr, direction):
    v, m = xp.shape[0], wp.shape[0]
    scores = thr is None
    acc_out = np.empty((v, m) if scores else (1, 1), dtype=np.int64)
    bit_out = np.empty((1, 1) if scores else (v, m), dtype=np.bool_)
    thr = np.zeros(m, dtype=np.int64) if scores else np.ascontiguousarray(thr, dtype=np.int64)
    up = np.ones(m, dtype=np.bool_) if direction is None else np.ascontiguousarray(direction > 0)
    _mvu_numba(np.ascontiguousarray(xp), np.ascontiguousarray(wp), np.ascontiguousarray(nnz, dtype=np.int64),
               int(w0), int(d), int(k), thr, up, scores, acc_out, bit_out)
    return acc_out if scores else bit_out
