"""Random but valid IR layers and models, for property tests, RTL regressions and benchmarks.

Weights get an exact sparsity (fraction of zero bits) and optional all-zero rows/columns; thresholds
are drawn from the layer's reachable accumulator range with both compare directions, so generated
designs exercise every path of the simulator and the hardware.
"""

from __future__ import annotations

import numpy as np

from sbnn.ir.fold import DOWN, UP
from sbnn.ir.model import BIPOLAR, MVU, Head, InputSpec, IRModel, MaxPool, Threshold, ValueType
from sbnn.ir.structure import group_order
from sbnn.ir.structure import parse as parse_structure


def random_bits(rng: np.random.Generator, m: int, k: int, sparsity: float,
                zero_rows: int = 0, zero_cols: int = 0) -> np.ndarray:
    """(m, k) bool with exactly round(sparsity * m * k) zeros, then forced all-zero rows/columns."""
    n = m * k
    zeros = int(round(sparsity * n))
    flat = np.ones(n, dtype=bool)
    flat[rng.permutation(n)[:zeros]] = False
    bits = flat.reshape(m, k)
    if zero_rows:
        bits[rng.choice(m, size=min(zero_rows, m), replace=False)] = False
    if zero_cols:
        bits[:, rng.choice(k, size=min(zero_cols, k), replace=False)] = False
    return bits


def random_structured_bits(rng: np.random.Generator, m: int, k: int, structure: str, sparsity: float = 0.5) -> np.ndarray:
    """(m, k) bool that satisfies ``structure`` (sbnn.ir.structure) with random positions: ``row`` and
    ``block:B`` zero ``round(sparsity * K)`` inputs / ``round(sparsity * G)`` of the G blocks of every row,
    ``N:M`` sets N random ones per group (``min(N, t)`` in a tail group of t inputs)."""
    st = parse_structure(structure)
    if st.kind == "none":
        return random_bits(rng, m, k, sparsity)
    if st.kind == "row":
        zeros = int(round(sparsity * k))
        return np.argsort(rng.random((m, k)), axis=1).argsort(axis=1) >= zeros
    size = st.size
    groups = -(-k // size)
    if st.kind == "nm":
        keys = rng.random((m, groups * size))
        keys[:, k:] = -1.0  # inputs past K are never chosen
        ranks = keys.reshape(m, groups, size).argsort(axis=2).argsort(axis=2)
        grouped = (ranks >= size - st.n).reshape(m, groups * size)[:, :k]
        order = group_order(k, st)  # interleaved: grouped[:, j] is input order[j]
        if order is None:
            return grouped
        out = np.empty_like(grouped)
        out[:, order] = grouped
        return out
    kept = np.argsort(rng.random((m, groups)), axis=1).argsort(axis=1) >= int(round(sparsity * groups))
    return np.repeat(kept, size, axis=1)[:, :k]


def random_levels(rng: np.random.Generator) -> tuple[int, int]:
    """A random valid weight level pair: BNN {-1,+1}, {0,1}, or {R, R + 2**F}."""
    choice = rng.integers(0, 3)
    if choice == 0:
        return -1, 1
    if choice == 1:
        return 0, 1
    f = int(rng.integers(1, 5))
    r = int(rng.integers(-(1 << f), 1 << f))
    d = 1 << f
    while d > 1 and r % 2 == 0:  # lowest terms, as the IR requires
        r, d = r // 2, d // 2
    return r, r + d


def random_thresholds(rng: np.random.Generator, layer: MVU, spread: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Thresholds near the typical accumulator scale, both directions, some constant channels."""
    m = layer.out_channels
    bound = layer.acc_bound()
    typical = max(1, int(np.sqrt(layer.in_features)) * max(abs(layer.w0), abs(layer.w1)))
    if not layer.in_type.bipolar:
        typical *= max(abs(v) for v in layer.in_type.value_range())
    thr = rng.integers(-int(spread * typical) - 1, int(spread * typical) + 2, size=m)
    dirs = np.where(rng.random(m) < 0.25, DOWN, UP).astype(np.int8)
    const = rng.random(m) < 0.05
    thr = np.where(const, np.where(rng.random(m) < 0.5, -bound, bound + 1), thr)
    dirs = np.where(const, UP, dirs).astype(np.int8)
    return np.clip(thr, -bound - 1, bound + 1).astype(np.int64), dirs


def random_mvu(rng: np.random.Generator, name: str, kind: str, in_shape, out_channels: int, *,
               sparsity: float = 0.5, in_type: ValueType = BIPOLAR, kernel: int = 3, pad: int = 1,
               output: bool = False, levels: tuple[int, int] | None = None, pe: int = 1, simd: int = 1,
               zero_rows: int = 0, zero_cols: int = 0, structure: str = "none") -> MVU:
    """A random MVU; ``output=True`` makes it a score layer (no thresholds); a ``structure`` other than
    none draws its mask with :func:`random_structured_bits` and records it (no forced zero rows/columns)."""
    h, w, c = in_shape
    if kind == "dense":
        kernel, pad = 1, 0
    k = kernel * kernel * c if kind == "conv" else h * w * c
    w0, w1 = levels if levels is not None else random_levels(rng)
    if parse_structure(structure).kind == "none":
        bits = random_bits(rng, out_channels, k, sparsity, zero_rows, zero_cols)
    elif zero_rows or zero_cols:
        raise ValueError("forced zero rows/columns would break the mask structure")
    else:
        bits = random_structured_bits(rng, out_channels, k, structure, sparsity)
    layer = MVU(
        name=name, kind=kind, in_shape=tuple(in_shape), out_channels=out_channels, in_type=in_type,
        weight_bits=bits, w0=w0, w1=w1, kernel=kernel, pad=pad, pad_value=-1 if in_type.bipolar else 0, pe=pe,
        simd=simd, structure=str(parse_structure(structure)),
    )
    if not output:
        layer.thresholds, layer.directions = random_thresholds(rng, layer)
    return layer


def random_input(rng: np.random.Generator, spec: InputSpec, n: int) -> np.ndarray:
    """n random integer images for an input spec."""
    lo, hi = spec.type.value_range()
    if spec.type.bipolar:
        return rng.integers(0, 2, size=(n, *spec.shape)).astype(np.int64)
    return rng.integers(lo, hi + 1, size=(n, *spec.shape)).astype(np.int64)


def random_model(rng: np.random.Generator, *, input_shape=(8, 8, 1), input_bits: int = 8, binarize_input: bool = True,
                 convs: tuple[int, ...] = (8,), pool: bool = True, dense: tuple[int, ...] = (16,), classes: int = 10,
                 sparsity: float = 0.5, name: str = "random") -> IRModel:
    """A small CNV-style chain: [threshold] -> conv* -> [pool] -> dense* -> score layer."""
    spec = InputSpec(tuple(input_shape), ValueType(input_bits, False))
    layers = []
    shape = tuple(input_shape)
    vtype = spec.type
    if binarize_input:
        lo, hi = vtype.value_range()
        c = shape[2]
        layers.append(Threshold("input", shape, rng.integers(lo + 1, hi + 1, size=c).astype(np.int64),
                                np.full(c, UP, dtype=np.int8)))
        vtype = BIPOLAR
    # canonical names, as export/lower produce them: input, mvu<i>, pool<j>
    for i, ch in enumerate(convs):
        layer = random_mvu(rng, f"mvu{i}", "conv", shape, ch, sparsity=sparsity, in_type=vtype)
        layers.append(layer)
        shape, vtype = layer.out_shape, BIPOLAR
    if pool and convs and shape[0] % 2 == 0 and shape[1] % 2 == 0:
        layers.append(MaxPool("pool0", shape, 2))
        shape = layers[-1].out_shape
    for i, units in enumerate(dense):
        layer = random_mvu(rng, f"mvu{len(convs) + i}", "dense", shape, units, sparsity=sparsity, in_type=vtype)
        layers.append(layer)
        shape, vtype = layer.out_shape, BIPOLAR
    last = random_mvu(rng, f"mvu{len(convs) + len(dense)}", "dense", shape, classes, sparsity=sparsity,
                      in_type=vtype, output=True)
    layers.append(last)
    head = Head(np.ones(classes), np.zeros(classes))
    return IRModel(name, spec, layers, head).validate()
