"""Schedules of the structured-mask styles: N:M (``nm``) and block (``block``) words decode back to the
mask, their clocks and memory follow the formulas, they refuse layers they cannot read, the folding step
offers them where the mask allows; and ``row`` masks give folds of equal length through the existing gathers.

The RTL regressions (tests/hw/test_hw_rtl_layers.py, test_hw_rtl_hypothesis.py) check these schedules
against Verilator; these tests pin their formulas.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sbnn.arch import folding
from sbnn.arch.impl import LayerImpl, parse, to_json
from sbnn.arch.schedule import kept_blocks, plan_mvu, resolve_impl, schedule
from sbnn.errors import HardwareError
from sbnn.hw.rtl.block import block_words
from sbnn.hw.rtl.nm import nm_words
from sbnn.ir.model import Head, InputSpec, IRModel
from sbnn.ir.synthetic import random_mvu


def _layer(k: int, m: int, structure: str, sparsity: float = 0.5, pe: int = 1, simd: int = 1, seed: int = 0):
    return random_mvu(np.random.default_rng(seed), "l", "dense", (1, 1, k), m, sparsity=sparsity, pe=pe, simd=simd,
                      structure=structure)


def _fields(word: int, n: int, bits: int) -> list[int]:
    return [(word >> (i * bits)) & ((1 << bits) - 1) for i in range(n)]


def _nm_case(draw):
    g = draw(st.sampled_from([2, 3, 4, 8, 16]))
    n = draw(st.integers(1, g - 1))
    k = draw(st.sampled_from([g * draw(st.integers(1, 6)), draw(st.integers(2, 70))]))
    simds = [s for s in range(1, k + 1) if k % s == 0 and (s % g == 0 or s == k)]
    m = draw(st.integers(1, 6))
    pe = draw(st.sampled_from([d for d in range(1, m + 1) if m % d == 0]))
    return g, n, k, draw(st.sampled_from(simds)), m, pe


@given(case=st.data(), seed=st.integers(0, 10**6))
def test_nm_words_decode_to_the_mask(case, seed):
    g, n, k, simd, m, pe = _nm_case(case.draw)
    layer = _layer(k, m, f"{n}:{g}", pe=pe, simd=simd, seed=seed)
    p = plan_mvu(layer, "nm")
    if pe == m and simd == k:
        assert p.style == "unrolled" and p.skip_zeros  # an unrolled N:M layer is the zero-skipping wiring
        return
    assert p.style == "nm" and p.skip_zeros and p.T == (m // pe) * (k // simd)
    assert p.slots == n * -(-simd // g) and p.code_bits == max(1, (g - 1).bit_length())
    assert p.memory_bits == p.T * pe * p.slots * p.code_bits
    words = nm_words(layer, p)
    assert len(words) == p.T
    got = np.zeros_like(layer.weight_bits)
    for t, word in enumerate(words):
        f, sf = divmod(t, k // simd)
        codes = _fields(word, pe * p.slots, p.code_bits)
        for lane, c in enumerate(p.folds[f]):
            for s in range(p.slots):
                lo = sf * simd + (s // n) * g
                glen = min(g, (sf + 1) * simd - lo)
                code = codes[lane * p.slots + s]
                if code < glen:  # a pick; codes past the group read the tail's zero padding (empty slots)
                    assert not got[c, lo + code], "an input picked twice"
                    got[c, lo + code] = True
    assert np.array_equal(got, layer.weight_bits)


@given(b=st.sampled_from([2, 3, 4, 8]), k=st.integers(4, 90), m=st.integers(1, 6), sparsity=st.floats(0, 1),
       data=st.data(), seed=st.integers(0, 10**6))
def test_block_words_decode_to_the_mask(b, k, m, sparsity, data, seed):
    simd = data.draw(st.sampled_from([s for s in range(1, k + 1) if k % s == 0 and (s % b == 0 or s == k)]))
    pe = data.draw(st.sampled_from([d for d in range(1, m + 1) if m % d == 0]))
    layer = _layer(k, m, f"block:{b}", sparsity, pe, simd, seed)
    p = plan_mvu(layer, "block")
    if pe == m and simd == k:
        assert p.style == "unrolled"
        return
    kept = kept_blocks(layer.weight_bits, b)
    assert np.all(kept == kept[0])  # every row keeps as many blocks: no fold waits for a heavier lane
    assert p.slots == -(-simd // b) and np.all(p.words == max(1, -(-int(kept[0]) // p.slots)))
    words = block_words(layer, p)
    assert len(words) == p.T == (m // pe) * max(1, -(-int(kept[0]) // p.slots))
    got = np.zeros_like(layer.weight_bits)
    t = 0
    for f in range(p.folds.shape[0]):
        for _ in range(int(p.words[f])):
            codes = _fields(words[t], pe * p.slots, p.code_bits)
            t += 1
            for lane, c in enumerate(p.folds[f]):
                for code in codes[lane * p.slots:(lane + 1) * p.slots]:
                    if code:
                        assert not got[c, (code - 1) * b], "a block read twice"
                        got[c, (code - 1) * b:code * b] = True
    assert np.array_equal(got, layer.weight_bits)


@pytest.mark.parametrize("structure, ratio", [("1:8", 3 / 8), ("1:16", 4 / 16), ("2:8", 6 / 8), ("1:4", 2 / 4)])
def test_nm_weight_memory_and_clocks_against_dense(structure, ratio):
    """The issue's formula: N:M weight memory is N/G x log2(G) bits per dense bit, at the dense clocks."""
    layer = _layer(256, 256, structure, pe=4, simd=32)
    nm, dense = plan_mvu(layer, "nm"), plan_mvu(layer, "dense")
    assert nm.T == dense.T == 64 * 8
    assert nm.memory_bits == pytest.approx(ratio * dense.memory_bits)


def test_block_clocks_scale_with_kept_blocks():
    t = {s: plan_mvu(_layer(256, 64, "block:8", s, pe=8, simd=32), "block").T for s in (0.0, 0.5, 0.875)}
    assert t == {0.0: 8 * 8, 0.5: 8 * 4, 0.875: 8 * 1}


def test_structured_styles_refuse_what_they_cannot_read():
    nm = _layer(64, 8, "1:8", pe=2, simd=16)
    for bad, match in ((_layer(64, 8, "none", pe=2, simd=16), "style nm needs an N:M mask structure, the IR records "
                                                              "'none'"),
                       (_layer(64, 8, "1:8", pe=2, simd=4), r"SIMD must be a multiple of 8 that divides K = 64, or K "
                                                            r"itself; got SIMD = 4")):
        with pytest.raises(HardwareError, match=match):
            plan_mvu(bad, "nm")
        with pytest.raises(HardwareError, match=match):
            schedule(bad, LayerImpl(bad.pe, bad.simd, "nm"))
    with pytest.raises(HardwareError, match="style block needs a block:B mask structure"):
        plan_mvu(nm, "block")
    with pytest.raises(HardwareError, match="multiple of 4"):
        resolve_impl(_layer(64, 8, "block:4", pe=2, simd=2), "block")
    # a tail group (G does not divide K): only one word per channel holds whole groups
    tail = _layer(30, 6, "2:8", pe=3, simd=30)
    assert plan_mvu(tail, "nm").T == 2
    tail.simd = 10
    with pytest.raises(HardwareError, match="or K itself"):
        plan_mvu(tail, "nm")


@pytest.mark.parametrize("gather", ["full", "lutram", "lutram1"])
def test_row_masks_give_folds_of_equal_length(gather):
    """Equal counts per row: every lane of every fold needs ceil(nnz / SIMD) words, so no fold waits for a
    heavier lane and T is (M / PE) ceil(nnz / SIMD) - the schedule and the cost model see it as it is."""
    layer = _layer(200, 24, "row", 0.9, pe=4, simd=4)
    nnz = int(layer.nnz[0])
    assert np.all(layer.nnz == nnz)
    p = plan_mvu(layer, coding="index", gather=gather)
    assert np.all(p.words == -(-nnz // 4)) and p.T == 6 * -(-nnz // 4)


def _model(structures: list[str], k: int = 128, m: int = 32) -> IRModel:
    rng = np.random.default_rng(5)
    layers = [random_mvu(rng, f"mvu{i}", "dense", (1, 1, k if i == 0 else m), m, structure=s, sparsity=0.875)
              for i, s in enumerate(structures)]
    layers.append(random_mvu(rng, "out", "dense", (1, 1, m), 4, output=True, sparsity=0.5))
    return IRModel("s", InputSpec((1, 1, k), layers[0].in_type), layers, Head(np.ones(4), np.zeros(4))).validate()


def test_the_folding_step_offers_structured_styles_where_the_mask_allows():
    model = _model(["1:8", "block:8", "row"])
    nm, blk, row = model.mvus[:3]
    for layer, want in ((nm, {"nm"}), (blk, {"block"}), (row, set())):
        layer = folding.apply(model, {layer.name: {"PE": 4, "SIMD": 16}}).mvus[model.mvus.index(layer)]
        styles = {p.style for p in folding.gather_plans(layer, "auto", "auto")}
        assert styles - {"sparse", "dense"} == want
    # an N:M layer at a SIMD that splits its groups: no N:M plan
    odd = folding.apply(model, {nm.name: {"PE": 4, "SIMD": 4}}).mvus[0]
    assert "nm" not in {p.style for p in folding.gather_plans(odd, "auto", "auto")}
    # every structured style the mask allows, at a target rate: the written folding names it and reads back
    res = folding.auto(folding.apply(model, {}), 200_000, style="auto", gather="auto")
    assert res.met
    folded, impls = folding.resolve(model, res.folding, style="auto", gather="auto", target=res.target_cycles)
    assert {i.style for i in impls.values()} <= {"sparse", "dense", "nm", "block"}
    assert parse(to_json(impls)) == {n: {k.upper() if k in ("PE", "SIMD") else k: v for k, v in e.items()}
                                     for n, e in to_json(impls).items()}


def test_an_explicit_structured_style_on_other_masks_is_one_clear_error():
    model = _model(["1:8", "none"])
    with pytest.raises(HardwareError, match=r"layer 'mvu1': style nm needs an N:M mask structure"):
        folding.auto(model, 100_000, style="nm", gather="auto")
    with pytest.raises(HardwareError, match=r"layer 'mvu0': style nm \(1:8\) reads whole groups"):
        folding.choose_modes(model, style="nm")  # the IR's SIMD = 1 splits the groups
    with pytest.raises(HardwareError, match=r"layer 'mvu1': style nm needs"):
        folding.choose_modes(folding.apply(model, {"mvu0": {"SIMD": 16}}), style="nm")
    only = _model(["1:8"])
    only = IRModel("o", only.input, [only.layers[0]], Head(np.ones(32), np.zeros(32)))
    only.layers[0].thresholds = only.layers[0].directions = None
    res = folding.auto(only, 50_000, style="nm")
    assert res.met and res.folding["mvu0"]["style"] == "nm" and res.folding["mvu0"]["SIMD"] % 8 == 0
