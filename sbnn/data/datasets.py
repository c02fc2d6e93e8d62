"""The :class:`Dataset` container and :func:`load_dataset`, the one entry point the pipeline uses.

Every data set comes back in the same form, uint8 images (N, C, H, W) and int64 labels, so the
training and hardware stages never branch on where the data came from. Nothing is cached on disk
besides the downloaded standard files: parsing them is fast enough (under a second for MNIST).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sbnn.data.cifar import load_cifar10
from sbnn.data.download import download as download_files
from sbnn.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from sbnn.data.layout import dataset_dir, idx_local_path, missing_files, missing_message
from sbnn.data.registry import CLASSES, IDX_FILES, check_name
from sbnn.errors import DataError

DIGITS_TEST_FRACTION = 0.2
DIGITS_SEED = 0


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split of labelled images, checked on construction so consumers can trust its form.

    ``eq=False`` because element-wise array comparison has no single truth value; compare fields.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    pixel_max: int

    def __post_init__(self) -> None:
        for split, x, y in (("train", self.x_train, self.y_train), ("test", self.x_test, self.y_test)):
            where = f"data set {self.name!r}: "
            if x.dtype != np.uint8 or x.ndim != 4:
                raise DataError(f"{where}x_{split} must be uint8 (N, C, H, W), got {x.dtype} {x.shape}")
            if y.dtype != np.int64 or y.shape != (x.shape[0],):
                raise DataError(f"{where}y_{split} must be int64 of shape ({x.shape[0]},), got {y.dtype} {y.shape}")
            if y.size and (y.min() < 0 or y.max() >= len(self.classes)):
                raise DataError(f"{where}y_{split} has labels outside 0..{len(self.classes) - 1}")
        if self.x_train.shape[1:] != self.x_test.shape[1:]:
            raise DataError(
                f"data set {self.name!r}: train images {self.x_train.shape[1:]} and "
                f"test images {self.x_test.shape[1:]} differ in shape"
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image, the input shape of the network."""
        c, h, w = self.x_train.shape[1:]
        return int(c), int(h), int(w)

    @property
    def num_classes(self) -> int:
        """Number of output classes of the network."""
        return len(self.classes)


def load_digits_dataset() -> Dataset:
    """scikit-learn's bundled 8x8 digits (values 0..16), split deterministically without any file I/O of ours.

    The split is stratified: for each class 0..9 in turn, the indices of that class are permuted
    with a single ``numpy.random.default_rng(0)`` generator and the first ``round(0.2 * n)`` of them
    go to the test set. Both sets keep the original order of scikit-learn's data (indices sorted),
    so the split is the same on every machine and every run.
    """
    from sklearn.datasets import load_digits  # deferred: importing scikit-learn costs ~1 s

    bunch = load_digits()
    images = np.asarray(bunch.images)
    labels = np.asarray(bunch.target, dtype=np.int64)
    x = np.rint(images).astype(np.uint8)[:, None, :, :]
    rng = np.random.default_rng(DIGITS_SEED)
    test_parts = []
    for cls in range(10):
        members = np.flatnonzero(labels == cls)
        n_test = round(DIGITS_TEST_FRACTION * members.size)
        test_parts.append(rng.permutation(members)[:n_test])
    test_idx = np.sort(np.concatenate(test_parts))
    train_mask = np.ones(labels.size, dtype=bool)
    train_mask[test_idx] = False
    return Dataset(
        name="digits",
        x_train=x[train_mask], y_train=labels[train_mask],
        x_test=x[test_idx], y_test=labels[test_idx],
        classes=CLASSES["digits"], pixel_max=16,
    )


def _read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 1, H, W) and labels (N,) of one split, after checking that they belong together."""
    images = read_idx(images_path, magic=IMAGES_MAGIC)
    labels = read_idx(labels_path, magic=LABELS_MAGIC)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"IDX files {images_path} ({images.shape[0]} images) and {labels_path} ({labels.shape[0]} labels) "
            "do not match; re-download them"
        )
    if labels.size and labels.max() > 9:
        raise DataError(
            f"IDX label file {labels_path} has labels outside 0..9 (max {int(labels.max())}); re-download it"
        )
    return images[:, None, :, :], labels.astype(np.int64)


def _load_idx_dataset(name: str, directory: Path) -> Dataset:
    """MNIST or Fashion-MNIST from the four IDX files in ``directory`` (gzipped or not)."""
    paths = []
    for filename in IDX_FILES:
        path = idx_local_path(directory, filename)
        if path is None:  # removed between the presence check and the read
            raise DataError(missing_message(name, directory, missing_files(name, directory)))
        paths.append(path)
    train_images, train_labels, test_images, test_labels = paths
    x_train, y_train = _read_pair(train_images, train_labels)
    x_test, y_test = _read_pair(test_images, test_labels)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(
            f"IDX files {train_images} and {test_images} hold images of different sizes "
            f"{x_train.shape[2:]} and {x_test.shape[2:]}; are they from the same data set?"
        )
    return Dataset(name, x_train, y_train, x_test, y_test, CLASSES[name], 255)


def load_dataset(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progress: bool = True,
) -> Dataset:
    """Unknown name -> DataError listing DATASETS. digits never touches the disk/network.

    Other sets are read from ``<data_dir>/<name>/`` (see :func:`resolve_data_dir`); files that are
    missing there are downloaded and verified first when ``download`` is true, otherwise the error
    says which files to put where. Local files are checked by format, not by checksum, so repackaged
    copies (such as an offline mirror) load as long as they are well-formed.
    """
    check_name(name)
    if name == "digits":
        return load_digits_dataset()
    directory = dataset_dir(name, data_dir)
    if directory.exists() and not directory.is_dir():
        raise DataError(f"{directory} is not a directory; move it away or choose another --data-dir")
    missing = missing_files(name, directory)
    if missing:
        if not download:
            raise DataError(missing_message(name, directory, missing))
        download_files(name, data_dir, progress=progress)
    if name == "cifar10":
        x_train, y_train, x_test, y_test, classes = load_cifar10(directory)
        ds = Dataset(name, x_train, y_train, x_test, y_test, classes, 255)
    else:
        ds = _load_idx_dataset(name, directory)
    for part, x in (("training", ds.x_train), ("test", ds.x_test)):
        if len(x) == 0:
            raise DataError(f"the {name} data set in {directory} has no {part} images: replace its files")
    return ds
