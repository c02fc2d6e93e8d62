"""The embedded scikit-learn digits: form, split and independence from the data directory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sbnn.data import Dataset, load_dataset


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits")


def test_shapes_dtypes_and_sizes(digits: Dataset) -> None:
    assert digits.name == "digits"
    assert digits.x_train.dtype == np.uint8 and digits.x_test.dtype == np.uint8
    assert digits.y_train.dtype == np.int64 and digits.y_test.dtype == np.int64
    assert digits.x_train.shape[1:] == digits.x_test.shape[1:] == (1, 8, 8)
    assert digits.shape == (1, 8, 8)
    assert digits.num_classes == 10 and digits.classes == tuple("0123456789")
    assert digits.pixel_max == 16
    assert len(digits.x_train) + len(digits.x_test) == 1797
    assert len(digits.x_test) == 359  # round(0.2 * n) summed over the ten classes
    assert len(digits.y_train) == len(digits.x_train) and len(digits.y_test) == len(digits.x_test)


def test_values_are_0_to_16(digits: Dataset) -> None:
    for x in (digits.x_train, digits.x_test):
        assert x.min() == 0 and x.max() == 16


def test_split_is_deterministic() -> None:
    a, b = load_dataset("digits"), load_dataset("digits")
    for field in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_split_is_stratified(digits: Dataset) -> None:
    total = np.bincount(load_digits().target, minlength=10)
    test = np.bincount(digits.y_test, minlength=10)
    train = np.bincount(digits.y_train, minlength=10)
    np.testing.assert_array_equal(test, np.round(0.2 * total).astype(int))
    np.testing.assert_array_equal(train + test, total)


def test_split_is_a_partition_of_sklearn_data(digits: Dataset) -> None:
    bunch = load_digits()
    original = np.concatenate([bunch.images.reshape(-1, 64), bunch.target[:, None]], axis=1).astype(np.int64)
    ours = np.concatenate([
        np.concatenate([digits.x_train.reshape(-1, 64), digits.y_train[:, None]], axis=1),
        np.concatenate([digits.x_test.reshape(-1, 64), digits.y_test[:, None]], axis=1),
    ]).astype(np.int64)
    sort = lambda rows: rows[np.lexsort(rows.T[::-1])]  # noqa: E731
    np.testing.assert_array_equal(sort(original), sort(ours))


def test_digits_ignores_data_dir(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    data = load_dataset("digits", not_a_dir, download=True)
    assert data.x_train.shape[0] > 0
    assert not (tmp_path / "env-data-dir").exists()
