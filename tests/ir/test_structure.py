"""Mask structures in the IR: parsing, the check, deterministic detection, and the file format (v2 records a
structure per MVU, v1 files still load, bits that break the recorded structure are refused)."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sbnn.errors import IRError
from sbnn.ir import load, save
from sbnn.ir import structure as S
from sbnn.ir.synthetic import random_input, random_model, random_structured_bits
from sbnn.sim.bitexact import simulate


@pytest.mark.parametrize("text,canonical", [("none", "none"), ("ROW", "row"), ("1:8", "1:8"), (" 2 : 16 ", "2:16"),
                                            ("8:8", "8:8"), ("block:8", "block:8"), ("Block : 4", "block:4"),
                                            ("1:8i", "1:8i"), (" 2 : 16 I", "2:16i")])
def test_parse_gives_one_spelling(text, canonical):
    assert S.canonical(text) == canonical
    assert S.canonical(S.parse(text)) == canonical


@pytest.mark.parametrize("text,message", [("0:8", "1 <= N <= M"), ("9:8", "1 <= N <= M"), ("1:1", "M >= 2"),
                                          ("block:1", "is 'row'"), ("block", "unknown"), ("2-4", "unknown"),
                                          ("", "unknown"), ("1:8ii", "unknown"), ("block:8i", "unknown")])
def test_parse_refuses_bad_spellings_with_one_line(text, message):
    with pytest.raises(ValueError, match=message) as err:
        S.parse(text)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("structure,sparsity,layer", [("1:8", 0.875, "1:8"), ("1:8", 0.5, "4:8"), ("2:16", 0.0, "16:16"),
                                                      ("row", 0.3, "row"), ("block:8", 0.9, "block:8"),
                                                      ("1:8i", 0.75, "2:8i")])
def test_layer_structure(structure, sparsity, layer):
    assert S.layer_structure(structure, sparsity) == layer


def test_layer_structure_refuses_a_fractional_n():
    with pytest.raises(ValueError, match="whole number"):
        S.layer_structure("1:8", 0.3)


structures = st.sampled_from(["row", "1:2", "1:4", "1:8", "2:8", "3:8", "1:16", "2:16", "3:5", "block:2", "block:4",
                              "block:8", "block:16"])


@settings(max_examples=80, deadline=None)
@given(structure=structures, m=st.integers(1, 10), k=st.integers(1, 80), s=st.floats(0.0, 0.95),
       seed=st.integers(0, 1000))
def test_random_structured_bits_hold_and_detection_is_at_least_as_strong(structure, m, k, s, seed):
    bits = random_structured_bits(np.random.default_rng(seed), m, k, structure, s)
    assert S.violation(bits, structure) is None
    found = S.detect(bits)
    assert S.holds(bits, found)  # detection only ever names a structure that holds
    st_ = S.parse(structure)
    if not (st_.kind == "block" and k % st_.size):  # a short tail block lets rows differ in ones
        assert found != S.NONE  # every other structure implies equal rows at least
    if st_.kind == "nm" and 0 < st_.n < st_.size and 2 * st_.size <= k:
        assert found.kind == "nm" and found.size <= st_.size  # the smallest M wins
    assert S.detect(bits) == found  # deterministic


@settings(max_examples=60, deadline=None)
@given(n_m=st.sampled_from([(1, 2), (1, 4), (1, 8), (3, 8), (2, 16), (5, 7)]), m=st.integers(1, 8),
       groups=st.integers(2, 12), seed=st.integers(0, 1000))
def test_interleaved_groups_are_the_consecutive_groups_of_the_permuted_inputs(n_m, m, groups, seed):
    n, size = n_m
    k = size * groups
    structure = f"{n}:{size}i"
    bits = random_structured_bits(np.random.default_rng(seed), m, k, structure)
    order = S.group_order(k, structure)
    assert sorted(order.tolist()) == list(range(k))  # a permutation
    assert S.holds(bits, structure) and S.holds(bits[:, order], f"{n}:{size}")
    for g in range(groups):  # group g: inputs g, g + K/M, ...: N ones each
        assert (bits[:, g::groups].sum(axis=1) == n).all()
    found = S.detect(bits)  # a consecutive structure may hold too and comes first; never none (equal rows)
    assert S.holds(bits, found) and found != S.NONE
    assert S.detect(bits) == found


def test_interleaved_needs_m_to_divide_k():
    with pytest.raises(ValueError, match="needs M = 8 to divide the layer's K = 30"):
        S.group_order(30, "1:8i")
    assert "divide K = 30" in S.violation(np.ones((2, 30), bool), "1:8i")
    assert S.group_order(30, "1:8") is None


def test_interleaved_detection_on_a_hand_made_mask():
    bits = np.zeros((3, 32), bool)  # 1:4i: group g = inputs g, g + 8, g + 16, g + 24; one 1 each
    for r in range(3):  # bands of unequal counts: no consecutive N:M, no blocks
        for g, t in enumerate([0, 0, 0, 1, 2, 3, 1, 2]):
            bits[r, g + 8 * ((t + r) % 4)] = True
    assert S.detect(bits) == S.Structure("nm", 1, 4, True)
    assert not S.holds(bits, "1:4")
    bits[1, 0 if not bits[1, 0] else 8] = True  # row 1, group 0 now holds 2 ones
    why = S.violation(bits, "1:4i")
    assert why is not None and "row 1" in why and "every 8th" in why


@pytest.mark.parametrize("structure", ["row", "1:8", "2:16", "block:8", "1:8i"])
def test_one_flipped_bit_breaks_the_structure_with_a_location(structure):
    bits = random_structured_bits(np.random.default_rng(1), 6, 64, structure, 0.875)
    bits[3, 17] = ~bits[3, 17]
    why = S.violation(bits, structure)
    assert why is not None and "row" in why and "\n" not in why


def test_detection_on_hand_made_masks():
    one_in_four = np.tile(np.array([0, 0, 1, 0], bool), (3, 8))  # 1:4 (and not 1:2)
    assert S.detect(one_in_four) == S.Structure("nm", 1, 4)
    blocks = np.zeros((4, 32), bool)
    for r, b in enumerate([0, 1, 2, 3]):  # each row keeps one block of 8 (and two of 4, which are no 8-blocks)
        blocks[r, 8 * b : 8 * b + 8] = True
    assert S.detect(blocks) == S.Structure("block", 0, 8)  # no N:M with M <= K/2, no 16-blocks
    blocks[:, 24:32] = blocks[:, 0:8]  # row 0 now keeps blocks 0 and 3: rows differ in count -> no block, no row
    assert S.detect(blocks) == S.NONE
    assert S.detect(np.ones((3, 10), bool)) == S.ROW  # all ones: every row equal, no grouping
    uneven = np.zeros((2, 10), bool)
    uneven[0, :3] = True
    assert S.detect(uneven) == S.NONE
    tail = np.zeros((2, 9), bool)  # 1:4 with a tail of one input: min(1, 1) = 1 one there
    tail[:, [1, 6, 8]] = True
    assert S.holds(tail, "1:4") and S.detect(tail) == S.Structure("nm", 1, 4)
    tail[:, 8] = False
    assert not S.holds(tail, "1:4")


def test_block_detection_prefers_the_largest_block():
    bits = random_structured_bits(np.random.default_rng(2), 8, 128, "block:16", 0.5)
    found = S.detect(bits)
    assert found.kind in ("nm", "block")
    if found.kind == "block":
        assert found.size >= 16


# --- the IR file -------------------------------------------------------------------------------------------


def structured_model(rng, structures=("1:8", "block:8", "row")):
    model = random_model(rng, input_shape=(6, 6, 8), convs=(16,), dense=(16,), classes=8)
    for layer, structure in zip(model.mvus, structures):
        m, k = layer.weight_bits.shape
        layer.weight_bits = random_structured_bits(rng, m, k, structure, 0.875)
        layer.structure = structure
    return model.validate()


def test_round_trip_keeps_structures_and_results(tmp_path):
    model = structured_model(np.random.default_rng(0))
    jpath, _ = save(model, tmp_path / "ir")
    meta = json.loads(jpath.read_text())
    assert meta["version"] == 2 and [lm.get("structure") for lm in meta["layers"] if "w0" in lm] == ["1:8", "block:8", "row"]
    again = load(jpath)
    assert [m.structure for m in again.mvus] == ["1:8", "block:8", "row"]
    x = random_input(np.random.default_rng(1), model.input, 32)
    assert np.array_equal(simulate(model, x).scores, simulate(again, x).scores)


def test_version_1_files_load_with_no_structure(tmp_path):
    model = structured_model(np.random.default_rng(0))
    jpath, _ = save(model, tmp_path / "ir")
    meta = json.loads(jpath.read_text())
    meta["version"] = 1
    for lm in meta["layers"]:
        lm.pop("structure", None)
    jpath.write_text(json.dumps(meta))
    assert [m.structure for m in load(jpath).mvus] == ["none", "none", "none"]


@pytest.mark.parametrize("claim,message", [("2:8", "mask structure 2:8"), ("1:4", "mask structure 1:4"),
                                           ("block:4", "partly kept"), ("3:2", "1 <= N <= M"), ("zigzag", "unknown")])
def test_a_structure_the_bits_do_not_have_is_refused_on_load(tmp_path, claim, message):
    jpath, _ = save(structured_model(np.random.default_rng(0)), tmp_path / "ir")
    meta = json.loads(jpath.read_text())
    meta["layers"][1]["structure"] = claim  # the conv layer holds 1:8 bits
    jpath.write_text(json.dumps(meta))
    with pytest.raises(IRError, match=message) as err:
        load(jpath)
    assert "\n" not in str(err.value)


def test_tampered_bits_are_refused(tmp_path):
    """Bits rewritten in the npz (with a matching checksum) that break the recorded structure: a clear error."""
    import hashlib
    import io

    model = structured_model(np.random.default_rng(0))
    model.mvus[0].weight_bits[2, 5] = ~model.mvus[0].weight_bits[2, 5]
    with pytest.raises(IRError, match="break the recorded mask structure 1:8"):
        model.validate()
    model.mvus[0].weight_bits[2, 5] = ~model.mvus[0].weight_bits[2, 5]
    jpath, npath = save(model, tmp_path / "ir")
    with np.load(npath) as npz:
        arrays = {k: npz[k] for k in npz.files}
    bits = np.unpackbits(arrays["mvu0/weights"], axis=1, bitorder="little")
    bits[0, 0] ^= 1
    arrays["mvu0/weights"] = np.packbits(bits, axis=1, bitorder="little")
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    npath.write_bytes(buf.getvalue())
    meta = json.loads(jpath.read_text())
    meta["arrays_sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    jpath.write_text(json.dumps(meta))
    with pytest.raises(IRError, match=r"layer 1 \('mvu0'\): weight bits break the recorded mask structure 1:8: row 0"):
        load(jpath)
