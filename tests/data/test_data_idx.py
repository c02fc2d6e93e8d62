"""IDX reading and writing, corrupted files, and MNIST-style loading from a local folder."""

from __future__ import annotations

import gzip
import struct
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sbnn.data import load_dataset
from sbnn.data.idx import encode_idx, read_idx, write_idx
from sbnn.errors import DataError

DTYPE_CODES = {"u1": 0x08, "i1": 0x09, ">i2": 0x0B, ">i4": 0x0C, ">f4": 0x0D, ">f8": 0x0E}


def reference_idx(array: np.ndarray, code: int, big_endian: str) -> bytes:
    """An IDX encoder written independently of sbnn's, straight from the format description."""
    header = struct.pack(">BBBB", 0, 0, code, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=big_endian).tobytes()


@st.composite
def idx_arrays(draw: st.DrawFn) -> tuple[np.ndarray, str]:
    big_endian = draw(st.sampled_from(sorted(DTYPE_CODES)))
    native = np.dtype(big_endian).newbyteorder("=")
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5))
    return draw(hnp.arrays(native, shape)), big_endian


@settings(max_examples=60, deadline=None)
@given(idx_arrays(), st.booleans())
def test_idx_round_trip(case: tuple[np.ndarray, str], compress: bool) -> None:
    array, big_endian = case
    data = encode_idx(array)
    assert data == reference_idx(array, DTYPE_CODES[big_endian], big_endian)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_idx(Path(tmp) / ("a.idx.gz" if compress else "a.idx"), array)
        assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
        back = read_idx(path)
    assert back.shape == array.shape and back.dtype == array.dtype.newbyteorder("=")
    np.testing.assert_array_equal(back, array)


def test_reader_matches_handwritten_bytes(tmp_path: Path) -> None:
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = b"\x00\x00\x08\x03" + struct.pack(">III", 2, 3, 4) + images.tobytes()
    (tmp_path / "x.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "x").write_bytes(raw)
    np.testing.assert_array_equal(read_idx(tmp_path / "x.gz", magic=0x803), images)
    np.testing.assert_array_equal(read_idx(tmp_path / "x", magic=0x803), images)


def _corrupt(path: Path, raw: bytes, *, gz: bool = True) -> Path:
    path.write_bytes(gzip.compress(raw) if gz else raw)
    return path


@pytest.mark.parametrize(
    ("raw", "gz", "fragment"),
    [
        (b"\x12\x34\x08\x03" + struct.pack(">III", 1, 2, 2) + bytes(4), True, "bad magic"),
        (b"\x00\x00\x07\x01" + struct.pack(">I", 1) + bytes(1), True, "bad magic"),
        (b"\x00\x00\x08\x03" + struct.pack(">III", 2, 2, 2) + bytes(7), True, "truncated"),
        (b"\x00\x00\x08\x03" + struct.pack(">III", 1, 2, 2) + bytes(5), True, "longer than"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 5), True, "truncated inside its header"),
        (b"\x00\x00", True, "too short"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 3) + bytes(3), False, "not a gzip file"),
    ],
)
def test_corrupted_idx_raises_data_error_naming_file(tmp_path: Path, raw: bytes, gz: bool, fragment: str) -> None:
    path = _corrupt(tmp_path / "bad-idx1-ubyte.gz", raw, gz=gz)
    with pytest.raises(DataError, match=fragment) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_truncated_gzip_stream(tmp_path: Path) -> None:
    data = gzip.compress(encode_idx(np.ones((50, 9, 9), np.uint8)))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="corrupted or truncated gzip") as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_wrong_magic_for_role(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "labels.gz", np.zeros((3, 2), np.uint8))
    with pytest.raises(DataError, match="expected 0x00000801"):
        read_idx(path, magic=0x801)


def test_writer_rejects_unsupported_dtype(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot write dtype"):
        write_idx(tmp_path / "a", np.zeros(3, np.uint64))


@pytest.mark.parametrize("compress", [True, False])
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_load_local_idx_set(make_idx_dir: Callable, name: str, compress: bool) -> None:
    data_dir, arrays = make_idx_dir(name, compress=compress)
    data = load_dataset(name, data_dir, download=False)
    a = list(arrays.values())
    np.testing.assert_array_equal(data.x_train[:, 0], a[0])
    np.testing.assert_array_equal(data.y_train, a[1].astype(np.int64))
    np.testing.assert_array_equal(data.x_test[:, 0], a[2])
    np.testing.assert_array_equal(data.y_test, a[3].astype(np.int64))
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64
    assert data.shape == (1, 28, 28) and data.pixel_max == 255 and data.num_classes == 10
    assert data.x_train.flags.writeable
    assert sorted(p.name for p in (data_dir / name).iterdir()) == sorted(
        n if compress else n.removesuffix(".gz") for n in arrays
    ), "loading must not write anything next to the data"


def test_fashion_mnist_class_names(make_idx_dir: Callable) -> None:
    data_dir, _ = make_idx_dir("fashion-mnist")
    assert load_dataset("fashion-mnist", data_dir, download=False).classes[9] == "Ankle boot"


def test_count_mismatch(make_idx_dir: Callable) -> None:
    data_dir, arrays = make_idx_dir("mnist")
    labels = data_dir / "mnist" / "train-labels-idx1-ubyte.gz"
    write_idx(labels, arrays["train-labels-idx1-ubyte.gz"][:-1])
    with pytest.raises(DataError, match="do not match") as info:
        load_dataset("mnist", data_dir, download=False)
    assert str(labels) in str(info.value)


def test_labels_out_of_range(make_idx_dir: Callable) -> None:
    data_dir, arrays = make_idx_dir("mnist")
    labels = data_dir / "mnist" / "t10k-labels-idx1-ubyte.gz"
    bad = arrays["t10k-labels-idx1-ubyte.gz"].copy()
    bad[2] = 10
    write_idx(labels, bad)
    with pytest.raises(DataError, match=r"outside 0\.\.9") as info:
        load_dataset("mnist", data_dir, download=False)
    assert str(labels) in str(info.value)


def test_images_where_labels_belong(make_idx_dir: Callable) -> None:
    data_dir, arrays = make_idx_dir("mnist")
    labels = data_dir / "mnist" / "train-labels-idx1-ubyte.gz"
    write_idx(labels, arrays["train-images-idx3-ubyte.gz"])
    with pytest.raises(DataError, match="expected 0x00000801") as info:
        load_dataset("mnist", data_dir, download=False)
    assert str(labels) in str(info.value)


def test_not_gzip_under_gz_name(make_idx_dir: Callable) -> None:
    data_dir, arrays = make_idx_dir("mnist")
    images = data_dir / "mnist" / "train-images-idx3-ubyte.gz"
    images.write_bytes(encode_idx(arrays["train-images-idx3-ubyte.gz"]))
    with pytest.raises(DataError, match="not a gzip file") as info:
        load_dataset("mnist", data_dir, download=False)
    assert str(images) in str(info.value)


def test_missing_file_without_download_names_paths(make_idx_dir: Callable) -> None:
    data_dir, _ = make_idx_dir("mnist")
    (data_dir / "mnist" / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DataError) as info:
        load_dataset("mnist", data_dir, download=False)
    message = str(info.value)
    assert str(data_dir / "mnist" / "t10k-images-idx3-ubyte.gz") in message
    assert "train-images" not in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in message
    assert "\n" not in message


def _shared_fashion_mnist() -> Path | None:
    repo = Path(__file__).resolve().parents[2]
    for candidate in (repo.parent / "shared" / "data", repo / "shared" / "data"):
        if all((candidate / "fashion-mnist" / n).is_file() for n in (
            "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
        )):
            return candidate
    return None


SHARED = _shared_fashion_mnist()


@pytest.mark.skipif(
    SHARED is None, reason="the offline Fashion-MNIST copy (../shared/data/fashion-mnist) is not on this machine"
)
def test_shared_offline_fashion_mnist_loads_fast() -> None:
    assert SHARED is not None
    start = time.perf_counter()
    data = load_dataset("fashion-mnist", SHARED, download=False)
    elapsed = time.perf_counter() - start
    assert data.x_train.shape == (60000, 1, 28, 28) and data.x_test.shape == (10000, 1, 28, 28)
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(data.y_train), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(data.y_test), [1000] * 10)
    assert data.x_train.max() == 255
    assert elapsed < 10, f"loading Fashion-MNIST took {elapsed:.1f} s; the budget is about 2 s"
