"""AXI4-Stream formats: packing round trips, byte layout, JSON, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sbnn.errors import ConfigError, HardwareError
from sbnn.hw.stream import StreamFormat, byte_width, field_bits, pack_input, unpack_output


def _fmt(shape=(2, 3, 4), bits=8, signed=False, ppb=1, out_elems=10, field=16, out_beats=1):
    return StreamFormat(shape, bits, signed, ppb, out_elems, field, True, out_beats)


def test_byte_layout_is_little_endian_lsb_first():
    fmt = _fmt(shape=(1, 2, 2), bits=4, ppb=2)
    data = pack_input(fmt, np.array([[[[1, 2], [3, 15]]]]))
    assert fmt.in_width == 16 and data.tolist() == [[0x21, 0xF3]]
    bip = _fmt(shape=(1, 1, 10), bits=1)
    assert pack_input(bip, np.array([[[[1, 0, 0, 0, 0, 0, 0, 0, 1, 1]]]])).tolist() == [[0x01, 0x03]]


@given(bits=st.integers(1, 12), signed=st.booleans(), c=st.integers(1, 5), hw=st.sampled_from([(1, 1), (2, 3), (4, 4)]),
       seed=st.integers(0, 10**6))
def test_pack_unpack_round_trip(bits, signed, c, hw, seed):
    signed = signed and bits > 1
    fmt = StreamFormat((*hw, c), bits, signed, 1, c, bits, signed, hw[0] * hw[1])
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    x = np.random.default_rng(seed).integers(lo, hi + 1, size=(3, *hw, c))
    beats = pack_input(fmt, x)
    assert beats.shape == (3 * fmt.in_beats, fmt.in_width // 8)
    # the output side reads the same layout (one pixel per beat)
    assert np.array_equal(unpack_output(fmt, beats), x.reshape(3, -1))


def test_widths_fields_and_json(tmp_path):
    assert byte_width(1) == 8 and byte_width(9) == 16 and field_bits(5) == 8 and field_bits(17) == 32
    with pytest.raises(HardwareError):
        field_bits(40)
    fmt = _fmt()
    assert StreamFormat.load(fmt.save(tmp_path / "s.json")) == fmt
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ConfigError, match="not a valid stream"):
        StreamFormat.load(tmp_path / "bad.json")


def test_bad_inputs_are_clear_errors():
    fmt = _fmt()
    with pytest.raises(ConfigError, match="shape"):
        pack_input(fmt, np.zeros((1, 3, 3, 4)))
    with pytest.raises(ConfigError, match="outside"):
        pack_input(fmt, np.full((1, 2, 3, 4), 256))
    with pytest.raises(ConfigError, match="bytes"):
        unpack_output(fmt, np.zeros((1, 3), np.uint8))


@given(c=st.integers(1, 3), ppb=st.sampled_from([1, 2]), seed=st.integers(0, 10**6))
def test_input_order_is_applied_by_the_packing(c, ppb, seed):
    """A design with ``in_order`` gets element ``in_order[j]`` of the flattened image as stream element j:
    the bytes equal those of the permuted image packed without an order."""
    rng = np.random.default_rng(seed)
    shape = (2, 4, c)
    order = rng.permutation(8 * c)
    plain = _fmt(shape=shape, ppb=ppb)
    fmt = StreamFormat(shape, 8, False, ppb, 10, 16, True, 1, in_order=tuple(int(v) for v in order))
    x = rng.integers(0, 256, size=(3, *shape))
    moved = x.reshape(3, -1)[:, order].reshape(x.shape)
    assert np.array_equal(pack_input(fmt, x), pack_input(plain, moved))
    if not np.array_equal(order, np.arange(order.size)):  # distinct values: a moved element changes the bytes
        distinct = np.arange(8 * c).reshape(1, *shape)
        assert not np.array_equal(pack_input(fmt, distinct), pack_input(plain, distinct))


def test_input_order_travels_in_json(tmp_path):
    fmt = StreamFormat((1, 2, 2), 8, False, 1, 10, 16, True, 1, in_order=(3, 1, 0, 2))
    back = StreamFormat.load(fmt.save(tmp_path / "s.json"))
    assert back == fmt and back.in_order == (3, 1, 0, 2)
    old = fmt.to_json()
    del old["in_order"]  # a stream.json written before the field existed: (h, w, c) order
    assert StreamFormat.from_json(old).in_order is None
