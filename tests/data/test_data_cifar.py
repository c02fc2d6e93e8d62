"""CIFAR-10 from the unpacked folder or straight from the tarball, and corrupted batches."""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from sbnn.data import load_dataset
from sbnn.errors import DataError


def _check(data, fixture) -> None:  # type: ignore[no-untyped-def]
    np.testing.assert_array_equal(data.x_train, fixture.x_train)
    np.testing.assert_array_equal(data.y_train, fixture.y_train)
    np.testing.assert_array_equal(data.x_test, fixture.x_test)
    np.testing.assert_array_equal(data.y_test, fixture.y_test)
    assert data.x_train.dtype == np.uint8 and data.y_train.dtype == np.int64
    assert data.shape == (3, 32, 32) and data.pixel_max == 255
    assert data.classes == fixture.classes and data.num_classes == 10


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_folder_round_trip(tmp_path: Path, helpers: SimpleNamespace, protocol: int) -> None:
    fixture = helpers.cifar_members(protocol=protocol)
    helpers.write_cifar_folder(tmp_path / "cifar10", fixture.members)
    _check(load_dataset("cifar10", tmp_path, download=False), fixture)


def test_tarball_round_trip_without_extracting(tmp_path: Path, helpers: SimpleNamespace) -> None:
    fixture = helpers.cifar_members(seed=1)
    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "cifar-10-python.tar.gz").write_bytes(helpers.cifar_tarball_bytes(fixture.members))
    _check(load_dataset("cifar10", tmp_path, download=False), fixture)
    assert os.listdir(tmp_path / "cifar10") == ["cifar-10-python.tar.gz"]


def test_channel_order_is_chw(tmp_path: Path, helpers: SimpleNamespace) -> None:
    fixture = helpers.cifar_members()
    row = np.concatenate([np.full(1024, 10), np.full(1024, 20), np.full(1024, 30)]).astype(np.uint8)
    batch = pickle.loads(fixture.members["test_batch"], encoding="bytes")
    batch[b"data"][0] = row
    fixture.members["test_batch"] = pickle.dumps(batch, protocol=2)
    helpers.write_cifar_folder(tmp_path / "cifar10", fixture.members)
    data = load_dataset("cifar10", tmp_path, download=False)
    assert [int(data.x_test[0, c].mean()) for c in range(3)] == [10, 20, 30]


def test_complete_folder_wins_over_tarball(tmp_path: Path, helpers: SimpleNamespace) -> None:
    fixture = helpers.cifar_members()
    helpers.write_cifar_folder(tmp_path / "cifar10", fixture.members)
    (tmp_path / "cifar10" / "cifar-10-python.tar.gz").write_bytes(b"not a tarball")
    _check(load_dataset("cifar10", tmp_path, download=False), fixture)


def test_corrupted_pickle_names_file(tmp_path: Path, helpers: SimpleNamespace) -> None:
    fixture = helpers.cifar_members()
    fixture.members["data_batch_3"] = fixture.members["data_batch_3"][:100]
    folder = helpers.write_cifar_folder(tmp_path / "cifar10", fixture.members)
    with pytest.raises(DataError, match="corrupted") as info:
        load_dataset("cifar10", tmp_path, download=False)
    assert str(folder / "data_batch_3") in str(info.value)


def test_corrupted_member_in_tarball_names_member(tmp_path: Path, helpers: SimpleNamespace) -> None:
    fixture = helpers.cifar_members()
    fixture.members["test_batch"] = b"garbage"
    (tmp_path / "cifar10").mkdir()
    tarball = tmp_path / "cifar10" / "cifar-10-python.tar.gz"
    tarball.write_bytes(helpers.cifar_tarball_bytes(fixture.members))
    with pytest.raises(DataError, match="test_batch") as info:
        load_dataset("cifar10", tmp_path, download=False)
    assert str(tarball) in str(info.value)


def test_pickle_cannot_run_code(tmp_path: Path, helpers: SimpleNamespace) -> None:
    class Exploit:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.mkdir, (str(tmp_path / "pwned"),))

    fixture = helpers.cifar_members()
    fixture.members["data_batch_1"] = pickle.dumps({b"data": Exploit()}, protocol=2)
    helpers.write_cifar_folder(tmp_path / "cifar10", fixture.members)
    with pytest.raises(DataError, match="refusing to load"):
        load_dataset("cifar10", tmp_path, download=False)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("batch", "fragment"),
    [
        ({b"data": np.zeros((2, 3071), np.uint8), b"labels": [0, 1]}, "expected \\(N, 3072\\) uint8"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, "2 images but 1 labels"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]}, r"outside 0\.\.9"),
        ({b"labels": [0]}, "lacks"),
        ([1, 2, 3], "not a batch dict"),
    ],
)
def test_invalid_batch_layout(tmp_path: Path, helpers: SimpleNamespace, batch: object, fragment: str) -> None:
    fixture = helpers.cifar_members()
    fixture.members["data_batch_2"] = pickle.dumps(batch, protocol=2)
    folder = helpers.write_cifar_folder(tmp_path / "cifar10", fixture.members)
    with pytest.raises(DataError, match=fragment) as info:
        load_dataset("cifar10", tmp_path, download=False)
    assert str(folder / "data_batch_2") in str(info.value)


def test_bad_meta(tmp_path: Path, helpers: SimpleNamespace) -> None:
    fixture = helpers.cifar_members()
    fixture.members["batches.meta"] = pickle.dumps({b"label_names": [b"a"]}, protocol=2)
    helpers.write_cifar_folder(tmp_path / "cifar10", fixture.members)
    with pytest.raises(DataError, match="label_names"):
        load_dataset("cifar10", tmp_path, download=False)


def test_tarball_not_gzip(tmp_path: Path) -> None:
    (tmp_path / "cifar10").mkdir()
    tarball = tmp_path / "cifar10" / "cifar-10-python.tar.gz"
    tarball.write_bytes(b"<html>proxy login page</html>")
    with pytest.raises(DataError, match=r"not a readable tar\.gz") as info:
        load_dataset("cifar10", tmp_path, download=False)
    assert str(tarball) in str(info.value)


def test_tarball_missing_member(tmp_path: Path, helpers: SimpleNamespace) -> None:
    fixture = helpers.cifar_members()
    del fixture.members["data_batch_5"]
    (tmp_path / "cifar10").mkdir()
    (tmp_path / "cifar10" / "cifar-10-python.tar.gz").write_bytes(helpers.cifar_tarball_bytes(fixture.members))
    with pytest.raises(DataError, match="has no member cifar-10-batches-py/data_batch_5"):
        load_dataset("cifar10", tmp_path, download=False)


def test_partial_folder_is_reported_missing(tmp_path: Path, helpers: SimpleNamespace) -> None:
    fixture = helpers.cifar_members()
    del fixture.members["test_batch"]
    helpers.write_cifar_folder(tmp_path / "cifar10", fixture.members)
    with pytest.raises(DataError) as info:
        load_dataset("cifar10", tmp_path, download=False)
    message = str(info.value)
    assert str(tmp_path / "cifar10" / "cifar-10-python.tar.gz") in message
    assert str(tmp_path / "cifar10" / "cifar-10-batches-py") in message
    assert "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz" in message


def test_numpy1_module_names_load_without_warnings(tmp_path: Path, helpers: SimpleNamespace) -> None:
    """The official batches name ``numpy.core.multiarray`` (numpy 1.x); numpy 2 calls it ``numpy._core``."""
    fixture = helpers.cifar_members()
    for name, data in fixture.members.items():
        assert b"numpy._core.multiarray" in data or name == "batches.meta"
        fixture.members[name] = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    helpers.write_cifar_folder(tmp_path / "cifar10", fixture.members)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check(load_dataset("cifar10", tmp_path, download=False), fixture)
