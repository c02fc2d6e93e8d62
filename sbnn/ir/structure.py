"""Mask structures of an MVU's weight bits: what they mean, how to check them, how to detect them.

A structure is a promise about where the 1 bits of a ``[M, K]`` weight matrix may lie, along the input
order the hardware streams (the IR's K order: (ky, kx, c) for conv windows, (h, w, c) for a dense layer
after a map). The promise is what lets an MVU read its inputs cheaply instead of gathering them:

* ``none``: any mask (a global exact count, as the unstructured closed form gives);
* ``row``: every row has the same number of 1 bits (balanced PE lanes);
* ``N:M``: every group of M consecutive inputs of a row holds exactly N ones. When M does not divide K
  the last, shorter group of ``t = K mod M`` inputs holds exactly ``min(N, t)`` ones: it is read like a
  full group whose missing inputs are never selected, so every group still needs at most N slots;
* ``N:Mi`` (interleaved N:M, M dividing K): the same with group g holding inputs g, g + K/M, g + 2K/M, ...
  Why: the first layer of an MLP reads pixels in raster order, where consecutive groups make every neuron
  spread its inputs evenly over the image; interleaved groups hold one pixel of each of M bands, so a neuron
  may look at one region (Fashion-MNIST SFC at 1:8: 85.50 % against 84.25 %, two seeds,
  ``benchmarks/results/train_structure_mlp.md``). The hardware reads the same groups through
  a fixed permutation of the input vector's wires (:func:`group_order`), which costs no logic;
* ``block:B``: the inputs of a row are cut into blocks of B consecutive inputs (the last one shorter when
  B does not divide K); each block is all ones (kept) or all zeros (skipped), and every row keeps the same
  number of blocks.

Training (``sbnn.training.formulas``) builds masks that hold these promises; the IR records one structure
per MVU and :func:`violation` checks it on load; lowering a foreign model records :func:`detect`'s
answer. No torch here: export, sim, hw and the tests share this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

#: the accepted spellings, for error messages and help texts
STRUCTURE_HELP = "none, row, N:M (e.g. 1:8, 2:16), N:Mi (interleaved, e.g. 1:8i) or block:B (e.g. block:8)"
#: the largest group (N:M) or block size that detect() tries
MAX_DETECT_SIZE = 64

_NM = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*(i?)\s*$")
_BLOCK = re.compile(r"^\s*block\s*:\s*(\d+)\s*$")


@dataclass(frozen=True)
class Structure:
    """A parsed structure: ``kind`` and its sizes (``n`` ones per group of ``size`` for N:M, the block
    size for block:B); ``interleaved``: N:M groups of inputs K/M apart (``N:Mi``)."""

    kind: Literal["none", "row", "nm", "block"]
    n: int = 0
    size: int = 0
    interleaved: bool = False

    def __str__(self) -> str:
        if self.kind == "nm":
            return f"{self.n}:{self.size}{'i' if self.interleaved else ''}"
        if self.kind == "block":
            return f"block:{self.size}"
        return self.kind


NONE = Structure("none")
ROW = Structure("row")


def parse(text: str | Structure) -> Structure:
    """``"none"``, ``"row"``, ``"N:M"`` / ``"N:Mi"`` (1 <= N <= M, M >= 2) or ``"block:B"`` (B >= 2); ValueError
    otherwise."""
    if isinstance(text, Structure):
        return text
    s = str(text).strip().lower()
    if s in ("none", "row"):
        return Structure(s)  # type: ignore[arg-type]
    nm = _NM.match(s)
    if nm:
        n, m = int(nm.group(1)), int(nm.group(2))
        if m < 2 or not 1 <= n <= m:
            raise ValueError(f"structure {text!r}: N:M needs M >= 2 and 1 <= N <= M")
        return Structure("nm", n, m, bool(nm.group(3)))
    block = _BLOCK.match(s)
    if block:
        b = int(block.group(1))
        if b < 2:
            raise ValueError(f"structure {text!r}: block:B needs B >= 2 (block:1 is 'row')")
        return Structure("block", 0, b)
    raise ValueError(f"unknown mask structure {text!r}; choose {STRUCTURE_HELP}")


def canonical(text: str | Structure) -> str:
    """The one spelling of a structure (``" 1 : 8"`` -> ``"1:8"``, ``"BLOCK:8"`` -> ``"block:8"``)."""
    return str(parse(text))


def slug(text: str | Structure) -> str:
    """A file-name-safe spelling for run directory names: ``1:8`` -> ``1of8``, ``1:8i`` -> ``1of8i``,
    ``block:8`` -> ``block8``."""
    st = parse(text)
    return f"{st.n}of{st.size}{'i' if st.interleaved else ''}" if st.kind == "nm" else str(st).replace(":", "")


def nm_zero_fraction(n: int, m: int) -> float:
    """Zero-bit fraction of an N:M mask when M divides K: ``1 - N/M``."""
    return 1.0 - n / m


def layer_structure(structure: str | Structure, sparsity: float) -> str:
    """The structure of one layer trained at ``sparsity``: N:M keeps its group size M and takes
    ``N = (1 - sparsity) * M`` (a denser first/last layer of an N:M network is N':M); ValueError when that
    is not a whole number of ones. Other structures are the same for every layer."""
    st = parse(structure)
    if st.kind != "nm":
        return str(st)
    n = (1.0 - sparsity) * st.size
    if abs(n - round(n)) > 1e-6 or round(n) < 1:
        raise ValueError(f"sparsity {sparsity:g} is not a whole number of ones per group of {st.size} "
                         f"(N = {n:g}); use a multiple of 1/{st.size}")
    return str(Structure("nm", int(round(n)), st.size, st.interleaved))


def group_order(k: int, structure: str | Structure) -> np.ndarray | None:
    """The input order in which ``structure``'s groups are consecutive: ``bits[:, order]`` has its N:M groups
    side by side (None: the IR's order already is). Interleaved N:M: position ``g * M + t`` holds input
    ``g + t * K / M``; ValueError when M does not divide K."""
    st = parse(structure)
    if not st.interleaved:
        return None
    if k % st.size:
        raise ValueError(f"interleaved {st} needs M = {st.size} to divide the layer's K = {k} inputs; use {st.n}:"
                         f"{st.size} or a group size that divides {k}")
    g = k // st.size
    return np.arange(k).reshape(st.size, g).T.reshape(-1)


def channels_first_index(h: int, w: int, c: int) -> np.ndarray:
    """For each position of the IR's (h, w, c) flatten, its index in the channels-first (c, h, w) flatten.

    A conv window is the (ky, kx, c) case. ``w_ir = w_torch[:, index]`` (``export/layout.py`` writes the
    same permutation for whole arrays; a test checks that they agree).
    """
    return np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)


def _group_sums(bits: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Ones per group of ``size`` consecutive inputs, [M, G], and each group's length, [G]."""
    m, k = bits.shape
    g = -(-k // size)
    padded = np.zeros((m, g * size), dtype=np.int64)
    padded[:, :k] = bits
    lengths = np.full(g, size, dtype=np.int64)
    lengths[-1] = k - (g - 1) * size
    return padded.reshape(m, g, size).sum(axis=2), lengths


def violation(bits: np.ndarray, structure: str | Structure) -> str | None:
    """Why the ``[M, K]`` bits do not satisfy ``structure`` (one short phrase), or None when they do."""
    st = parse(structure)
    bits = np.asarray(bits, dtype=bool)
    if st.kind == "none" or bits.size == 0:
        return None
    if st.kind == "row":
        nnz = bits.sum(axis=1)
        if np.any(nnz != nnz[0]):
            r = int(np.flatnonzero(nnz != nnz[0])[0])
            return f"rows hold different numbers of ones (row 0: {int(nnz[0])}, row {r}: {int(nnz[r])})"
        return None
    if st.kind == "nm":
        k = bits.shape[1]
        if st.interleaved and k % st.size:
            return f"interleaved {st} needs M to divide K = {k}"
        order = group_order(k, st)
        sums, lengths = _group_sums(bits if order is None else bits[:, order], st.size)
        want = np.minimum(st.n, lengths)
        bad = np.argwhere(sums != want[None, :])
        if bad.size:
            r, g = (int(v) for v in bad[0])
            where = (f"inputs {g}, {g + k // st.size}, ... (every {k // st.size}th)" if st.interleaved else
                     f"inputs {g * st.size}..{g * st.size + int(lengths[g]) - 1}")
            return f"row {r}, {where} hold {int(sums[r, g])} ones, {st} needs {int(want[g])}"
        return None
    sums, lengths = _group_sums(bits, st.size)
    partial = (sums != 0) & (sums != lengths[None, :])
    if partial.any():
        r, g = (int(v) for v in np.argwhere(partial)[0])
        return f"row {r}, block {g} (inputs {g * st.size}..{g * st.size + int(lengths[g]) - 1}) is partly kept"
    kept = (sums != 0).sum(axis=1)
    if np.any(kept != kept[0]):
        r = int(np.flatnonzero(kept != kept[0])[0])
        return f"rows keep different numbers of blocks (row 0: {int(kept[0])}, row {r}: {int(kept[r])})"
    return None


def holds(bits: np.ndarray, structure: str | Structure) -> bool:
    return violation(bits, structure) is None


def detect(bits: np.ndarray, max_size: int = MAX_DETECT_SIZE) -> Structure:
    """The strongest structure that ``bits`` [M, K] happen to satisfy, deterministically:

    1. ``N:M`` for the smallest M (2 <= M <= min(max_size, K // 2), so a row has at least two groups) with
       0 < N < M, N read off row 0's first group;
    2. ``block:B`` for the largest B (same range) where every row keeps the same number of blocks, at
       least one and not all of them;
    3. interleaved ``N:Mi`` for the smallest M dividing K (same range; the consecutive structures come
       first because a foreign model's masks are far likelier to have them);
    4. ``row`` when every row holds the same number of ones;
    5. ``none``.

    Row 0 is checked first, so a mask without structure costs one cheap pass per size.
    """
    bits = np.asarray(bits, dtype=bool)
    if bits.ndim != 2 or bits.size == 0:
        return NONE
    k = bits.shape[1]
    top = min(max_size, k // 2)
    for m in range(2, top + 1):
        n = int(bits[0, :m].sum())
        if 0 < n < m:
            st = Structure("nm", n, m)
            if holds(bits[:1], st) and holds(bits, st):
                return st
    for b in range(top, 1, -1):
        st = Structure("block", 0, b)
        kept = int((_group_sums(bits[:1], b)[0] != 0).sum())
        if 0 < kept < -(-k // b) and holds(bits[:1], st) and holds(bits, st):
            return st
    for m in range(2, top + 1):
        if k % m == 0:
            n = int(bits[0, :: k // m].sum())
            st = Structure("nm", n, m, True)
            if 0 < n < m and holds(bits[:1], st) and holds(bits, st):
                return st
    return ROW if holds(bits, ROW) else NONE
