"""Structured exact-count masks (row, N:M, block:B): exact counts, the structure holds, magnitude order within
each row/group/block, deterministic tie-breaks, and the IR's input order inside the quantizer."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sbnn.export import layout
from sbnn.ir import structure as S
from sbnn.training import formulas as F
from sbnn.training.quantizers import ClosedFormWeightQuant

rows_k = st.tuples(st.integers(1, 12), st.integers(1, 70))
sparsities = st.floats(min_value=0.0, max_value=0.99, allow_nan=False)


def latent(shape, seed, ties=False):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(shape, generator=g) * 0.05
    if ties:  # few distinct values -> many ties
        w = torch.round(w * 20) / 20
    return w


def assert_ordered(w: torch.Tensor, bits: torch.Tensor) -> None:
    """Within one segment: every one >= every zero, and of equal values the zeros come first (lower index)."""
    w, bits = w.tolist(), bits.tolist()
    ones = [x for x, b in zip(w, bits) if b]
    zeros = [x for x, b in zip(w, bits) if not b]
    if ones and zeros:
        assert max(zeros) <= min(ones)
        tied = max(zeros) if max(zeros) == min(ones) else None
        if tied is not None:
            idx = [i for i, x in enumerate(w) if x == tied]
            assert [bits[i] for i in idx] == sorted(bits[i] for i in idx)  # zeros before ones


@settings(max_examples=60, deadline=None)
@given(shape=rows_k, s=sparsities, seed=st.integers(0, 10_000), ties=st.booleans())
def test_row_mask_has_round_sK_zeros_in_every_row_at_the_smallest_weights(shape, s, seed, ties):
    w = latent(shape, seed, ties)
    bits = F.row_count_bits(w, s)
    assert ((~bits).sum(dim=1) == round(s * shape[1])).all()
    for r in range(shape[0]):
        assert_ordered(w[r], bits[r])
    assert S.holds(bits.numpy(), "row")


@settings(max_examples=80, deadline=None)
@given(shape=rows_k, m=st.integers(2, 17), data=st.data(), seed=st.integers(0, 10_000), ties=st.booleans())
def test_n_of_m_mask_has_n_ones_per_group_and_min_n_t_in_the_tail(shape, m, data, seed, ties):
    n = data.draw(st.integers(1, m))
    w = latent(shape, seed, ties)
    bits = F.n_of_m_bits(w, n, m)
    k = shape[1]
    for r in range(shape[0]):
        for g0 in range(0, k, m):
            seg = slice(g0, min(k, g0 + m))
            assert int(bits[r, seg].sum()) == min(n, seg.stop - seg.start)
            assert_ordered(w[r, seg], bits[r, seg])
    assert S.violation(bits.numpy(), f"{n}:{m}") is None


@settings(max_examples=60, deadline=None)
@given(shape=rows_k, b=st.integers(1, 12), s=sparsities, seed=st.integers(0, 10_000), ties=st.booleans())
def test_block_mask_keeps_whole_blocks_with_the_largest_means_and_an_exact_count(shape, b, s, seed, ties):
    w = latent(shape, seed, ties)
    bits = F.block_bits(w, s, b)
    k = shape[1]
    starts = list(range(0, k, b))
    for r in range(shape[0]):
        kept, means = [], []
        for g0 in starts:
            blk = bits[r, g0 : g0 + b]
            assert bool(blk.all()) or not bool(blk.any())  # whole blocks only
            kept.append(bool(blk[0]))
            means.append(float(w[r, g0 : g0 + b].sum()) / blk.numel())
        assert len(starts) - sum(kept) == round(s * len(starts))
        assert_ordered(torch.tensor(means, dtype=torch.float64), torch.tensor(kept))
    if b >= 2:
        assert S.holds(bits.numpy(), f"block:{b}")


def test_ties_are_broken_by_index_in_every_structure():
    w = torch.zeros(3, 16)  # all tied: the lower indices get the zeros
    assert F.row_count_bits(w, 0.75)[0].tolist() == [False] * 12 + [True] * 4
    assert F.n_of_m_bits(w, 1, 8)[0].tolist() == ([False] * 7 + [True]) * 2
    assert F.block_bits(w, 0.5, 4)[0].tolist() == [False] * 8 + [True] * 8
    g = latent((5, 40), 3, ties=True)
    for fn in (lambda x: F.row_count_bits(x, 0.8), lambda x: F.n_of_m_bits(x, 2, 16), lambda x: F.block_bits(x, 0.9, 8)):
        assert torch.equal(fn(g), fn(g.clone()))


@pytest.mark.parametrize("structure,sparsity,holds", [("row", 0.9, "row"), ("1:8", 0.875, "1:8"),
                                                      ("2:16", 0.875, "2:16"), ("block:8", 0.875, "block:8")])
def test_structured_bits_dispatches_and_the_ir_check_agrees(structure, sparsity, holds):
    w = latent((32, 144), 0)
    bits = F.structured_bits(w, sparsity, structure)
    assert S.holds(bits.numpy(), holds)
    assert abs(1 - float(bits.float().mean()) - sparsity) < 0.02
    assert S.detect(bits.numpy()) != S.NONE


@pytest.mark.parametrize("bad", [lambda: F.n_of_m_bits(torch.zeros(2, 8), 0, 8), lambda: F.n_of_m_bits(torch.zeros(2, 8), 9, 8),
                                 lambda: F.row_count_bits(torch.zeros(2, 8), 1.0),
                                 lambda: F.row_count_bits(torch.zeros(2, 2, 2), 0.5),
                                 lambda: F.structured_bits(torch.zeros(2, 8), 0.5, "none")])
def test_structured_masks_refuse_bad_arguments(bad):
    with pytest.raises(ValueError):
        bad()


def test_channels_first_index_is_the_layout_permutation():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(5, 3, 4, 4))
    assert np.array_equal(w.reshape(5, -1)[:, S.channels_first_index(4, 4, 3)], layout.conv_to_ir(w))
    d = rng.normal(size=(6, 7 * 2 * 3))
    assert np.array_equal(d[:, S.channels_first_index(2, 3, 7)], layout.dense_to_ir(d, (2, 3, 7)))


@pytest.mark.parametrize("structure", ["1:8", "2:16", "row", "block:8"])
def test_the_quantizer_builds_the_mask_in_the_ir_input_order(structure):
    """Conv windows are (ky, kx, c) and a dense layer after a map reads (h, w, c): the groups follow that order."""
    q = ClosedFormWeightQuant("clipped", 0.875, "l2", 6, structure=structure)
    w = latent((12, 16, 3, 3), 5)  # C = 16 channels: an (ky, kx) position holds two groups of 8
    ir = layout.conv_to_ir(q.bits(w).numpy())
    assert S.holds(ir, S.layer_structure(structure, 0.875))
    assert torch.equal(torch.from_numpy(ir), F.structured_bits(torch.from_numpy(layout.conv_to_ir(w.numpy())), 0.875,
                                                              S.layer_structure(structure, 0.875)))
    qd = ClosedFormWeightQuant("clipped", 0.875, "l2", 6, structure=structure, in_map=(16, 2, 3))
    d = latent((10, 16 * 2 * 3), 6)
    ir_d = layout.dense_to_ir(qd.bits(d).numpy(), (2, 3, 16))
    assert S.holds(ir_d, S.layer_structure(structure, 0.875))
    if structure != "row":  # the same mask read in PyTorch's channels-first order breaks the groups
        assert not S.holds(q.bits(w).reshape(12, -1).numpy(), structure)
        assert not S.holds(qd.bits(d).numpy(), structure)


def test_an_nm_quantizer_takes_its_layer_n_from_the_layer_sparsity():
    assert ClosedFormWeightQuant("clipped", 0.5, "l2", 6, structure="1:8").structure == "4:8"
    with pytest.raises(ValueError, match="whole number"):
        ClosedFormWeightQuant("clipped", 0.3, "l2", 6, structure="1:8")


@pytest.mark.parametrize("extra,want", [
    ({"quant.structure": "1:8"}, ["1:8", "1:8", "1:8"]),
    ({"quant.structure": "1:8", "quant.first_last_sparsity": 0.5}, ["4:8", "1:8", "4:8"]),
    ({"quant.structure": "1:8", "quant.first_last_structure": "row"}, ["row", "1:8", "row"]),
    ({"quant.structure": "2:16", "quant.first_last_structure": "1:4"}, ["1:4", "2:16", "1:4"]),
    ({"quant.structure": "none", "quant.sparsity": 0.9, "quant.first_last_structure": "block:4"},
     ["block:4", "none", "block:4"]),
    ({"quant.structure": "1:8", "quant.last_structure": "row"}, ["1:8", "1:8", "row"]),
    ({"quant.structure": "1:8", "quant.first_last_structure": "row", "quant.last_structure": "none"},
     ["row", "1:8", "none"]),
    ({"quant.structure": "1:8", "quant.first_last_sparsity": 0.5, "quant.last_structure": "2:4"}, ["4:8", "1:8", "2:4"]),
    ({"quant.structure": "1:8i"}, ["1:8i", "1:8i", "1:8i"]),
    ({"quant.structure": "1:8", "quant.first_last_structure": "2:16i"}, ["2:16i", "1:8", "2:16i"]),
])
def test_every_layer_gets_its_structure(extra, want):
    from sbnn.training.config import TrainConfig
    from sbnn.training.models import binary_layers, build_model, weight_quant_of

    values = {"model.arch": "mlp", "model.hidden": "[32,16]", "quant.method": "ab-closed", **extra}
    cfg = TrainConfig.resolve(overrides=[f"{k}={v}" for k, v in values.items()])
    model = build_model(cfg, (1, 8, 8), 10, 16, 8)
    layers = binary_layers(model)
    assert [weight_quant_of(layer).structure for layer in layers] == want  # two hidden layers and the score layer
    for layer in layers:
        q = weight_quant_of(layer)
        assert S.holds(q.bits(layer.weight).reshape(layer.weight.shape[0], -1).numpy(), q.structure)
