"""The public surface of sbnn.data: names, data directory, registry table and Dataset checks."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import sbnn.data
from sbnn.data import DATASETS, Dataset, FileSpec, dataset_files, load_dataset, resolve_data_dir
from sbnn.data.registry import REGISTRY
from sbnn.errors import DataError, SbnnError


def test_public_names() -> None:
    assert DATASETS == ("digits", "mnist", "fashion-mnist", "cifar10")
    assert set(sbnn.data.__all__) >= {"DATASETS", "Dataset", "FileSpec", "dataset_files", "download",
                                       "load_dataset", "resolve_data_dir"}


@pytest.mark.parametrize("name", ["MNIST", "imagenet", "", "fashion_mnist"])
def test_unknown_name_lists_valid_ones(name: str) -> None:
    with pytest.raises(DataError) as info:
        load_dataset(name)
    assert isinstance(info.value, SbnnError)
    for valid in DATASETS:
        assert valid in str(info.value)
    with pytest.raises(DataError):
        dataset_files(name)


def test_resolve_data_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SBNN_DATA_DIR", str(tmp_path / "from-env"))
    assert resolve_data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert resolve_data_dir(str(tmp_path / "explicit")) == tmp_path / "explicit"
    assert resolve_data_dir() == tmp_path / "from-env"
    monkeypatch.delenv("SBNN_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_dir() == tmp_path / "home" / ".cache" / "sbnn" / "data"
    monkeypatch.chdir(tmp_path)
    assert resolve_data_dir("rel") == tmp_path / "rel"
    assert resolve_data_dir("~/x") == tmp_path / "home" / "x"


def test_registry_is_a_plain_complete_table() -> None:
    assert set(REGISTRY) == set(DATASETS)
    assert dataset_files("digits") == []
    idx_names = ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert [s.filename for s in dataset_files("mnist")] == idx_names
    assert [s.filename for s in dataset_files("fashion-mnist")] == idx_names
    assert [s.filename for s in dataset_files("cifar10")] == ["cifar-10-python.tar.gz"]
    for name in DATASETS:
        for spec in dataset_files(name):
            assert isinstance(spec, FileSpec)
            assert re.fullmatch(r"[0-9a-f]{64}", spec.sha256)
            assert spec.size > 0
            assert spec.urls and all(u.endswith("/" + spec.filename) or u.endswith(spec.filename) for u in spec.urls)
    assert dataset_files("mnist")[0].urls[0] == "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz"
    assert dataset_files("mnist")[0].urls[1] == "http://yann.lecun.com/exdb/mnist/train-images-idx3-ubyte.gz"
    assert dataset_files("fashion-mnist")[3].urls == (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-labels-idx1-ubyte.gz",)
    assert dataset_files("cifar10")[0].urls == ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)


def _arrays(n: int = 4) -> dict[str, np.ndarray]:
    return dict(x_train=np.zeros((n, 1, 2, 2), np.uint8), y_train=np.zeros(n, np.int64),
                x_test=np.zeros((2, 1, 2, 2), np.uint8), y_test=np.ones(2, np.int64))


def test_dataset_properties() -> None:
    data = Dataset(name="t", classes=("a", "b"), pixel_max=255, **_arrays())
    assert data.shape == (1, 2, 2) and data.num_classes == 2
    with pytest.raises(AttributeError):
        data.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"x_train": np.zeros((4, 1, 2, 2), np.float32)}, "x_train must be uint8"),
        ({"x_test": np.zeros((2, 2, 2), np.uint8)}, "x_test must be uint8"),
        ({"y_train": np.zeros(4, np.int32)}, "y_train must be int64"),
        ({"y_test": np.zeros(3, np.int64)}, "y_test must be int64"),
        ({"y_test": np.full(2, 2, np.int64)}, "labels outside 0..1"),
        ({"x_test": np.zeros((2, 1, 3, 3), np.uint8)}, "differ in shape"),
    ],
)
def test_dataset_rejects_malformed_arrays(change: dict[str, np.ndarray], fragment: str) -> None:
    with pytest.raises(DataError, match=fragment):
        Dataset(name="t", classes=("a", "b"), pixel_max=255, **{**_arrays(), **change})
