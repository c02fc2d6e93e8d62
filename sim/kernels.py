"""The simulator's one hot loop: popcount(x & w) for every (input vector, weight row) pair.

Two implementations of the same function. The numba kernel (compiled once, cached on disk) runs a
64-bit AND + popcount per word on all cores and is what makes the bit-exact simulator faster than a
float PyTorch forward; the numpy version is the portable fallback and the cross-check in the tests.
``SBNN_SIM_KERNEL=numpy`` forces the fallback.
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


try:
    import numba
except ImportError:  # pragma: no cover - numba is a declared dependency
    numba = None

if numba is not None:

    @numba.njit(parallel=True, cache=True, nogil=True)
    def _popcount_matmul_numba(xp, wp, out):  # pragma: no cover - compiled
        v, words = xp.shape
        m = wp.shape[0]
        m1 = np.uint64(0x5555555555555555)
        m2 = np.uint64(0x3333333333333333)
        m4 = np.uint64(0x0F0F0F0F0F0F0F0F)
        h01 = np.uint64(0x0101010101010101)
        for i in numba.prange(v):
            for c in range(m):
                s = np.uint64(0)
                for k in range(words):
                    x = xp[i, k] & wp[c, k]
                    x = x - ((x >> np.uint64(1)) & m1)
                    x = (x & m2) + ((x >> np.uint64(2)) & m2)
                    x = (x + (x >> np.uint64(4))) & m4
                    s += (x * h01) >> np.uint64(56)
                out[i, c] = s


def backend() -> str:
    """The kernel in use: 'numba' unless unavailable or SBNN_SIM_KERNEL=numpy."""
    if os.environ.get("SBNN_SIM_KERNEL", "").lower() == "numpy" or numba is None:
        return "numpy"
    return "numba"


def popcount_matmul(xp: np.ndarray, wp: np.ndarray) -> np.ndarray:
    """``popcount(x_i & w_c)`` for all pairs: (V, words) x (M, words) uint64 -> (V, M) int64."""
    if backend() == "numpy":
        return popcount_matmul_numpy(xp, wp)
    out = np.empty((xp.shape[0], wp.shape[0]), dtype=np.int64)
    _popcount_matmul_numba(np.ascontiguousarray(xp), np.ascontiguousarray(wp), out)
    return out
