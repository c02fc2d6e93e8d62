"""Reader for the CIFAR-10 "python version": pickled batches, unpacked or inside the official tarball.

Pickle can run arbitrary code, and a data directory or a mirror is not a trusted source, so batches
are unpickled with an allow-list that admits only what batches contain: dicts, lists, bytes,
numbers and numpy arrays, as pickled by Python 2 (the official files) or Python 3 (copies).
Reading members straight out of the tarball avoids unpacking 170 MB next to it.
"""

from __future__ import annotations

import io
import pickle
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sbnn.data.layout import CIFAR_FOLDER, CIFAR_MEMBERS, cifar_folder_complete
from sbnn.errors import DataError

CifarArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple[str, ...]]
"""x_train, y_train, x_test, y_test and the class names."""

TARBALL = "cifar-10-python.tar.gz"
IMAGE_SHAPE = (3, 32, 32)
ROW_BYTES = 3 * 32 * 32

_ALLOWED_GLOBALS = {
    ("_codecs", "encode"),  # bytes in protocol-2 pickles written by Python 3
    ("numpy._core.numeric", "_frombuffer"),  # arrays in protocol-5 pickles
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _BatchUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the numpy globals an array needs (``numpy.core`` is numpy 1.x's name)."""

    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core"):]
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def unpickle(data: bytes, source: str) -> dict[bytes, Any]:
    """Decode one pickled batch; every failure names ``source`` and says what to do."""
    try:
        obj = _BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:  # pickle raises many unrelated types on garbage input
        raise DataError(f"CIFAR-10 file {source} is corrupted ({type(exc).__name__}: {exc}); re-download it") from exc
    if not isinstance(obj, dict):
        raise DataError(f"CIFAR-10 file {source} holds a {type(obj).__name__}, not a batch dict; re-download it")
    return obj


def parse_batch(batch: dict[bytes, Any], source: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 3, 32, 32) uint8 and labels (N,) int64 of one batch, after checking the layout."""
    data, labels = batch.get(b"data"), batch.get(b"labels")
    if data is None or labels is None:
        raise DataError(f"CIFAR-10 file {source} lacks the b'data' or b'labels' entry; re-download it")
    data = np.asarray(data)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != ROW_BYTES:
        raise DataError(
            f"CIFAR-10 file {source} has data of shape {data.shape} and dtype {data.dtype}, "
            f"expected (N, {ROW_BYTES}) uint8; re-download it"
        )
    try:
        y = np.asarray(labels, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise DataError(f"CIFAR-10 file {source} has non-integer labels; re-download it") from exc
    if y.shape[0] != data.shape[0]:
        raise DataError(f"CIFAR-10 file {source} has {data.shape[0]} images but {y.shape[0]} labels; re-download it")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise DataError(f"CIFAR-10 file {source} has labels outside 0..9; re-download it")
    # Rows are the red, green and blue planes one after the other, i.e. already channel-first.
    return data.reshape((-1, *IMAGE_SHAPE)), y


def parse_meta(meta: dict[bytes, Any], source: str) -> tuple[str, ...]:
    """The ten class names of ``batches.meta``."""
    names = meta.get(b"label_names")
    if not isinstance(names, list) or len(names) != 10 or not all(isinstance(n, (bytes, str)) for n in names):
        raise DataError(f"CIFAR-10 file {source} lacks a list of 10 label_names; re-download it")
    return tuple(n.decode("utf-8", "replace") if isinstance(n, bytes) else n for n in names)


def _assemble(read: Callable[[str], tuple[bytes, str]]) -> CifarArrays:
    """Load every member through ``read(member) -> (bytes, source name)``: folder and tarball share it."""
    parts = []
    for member in CIFAR_MEMBERS[:5]:
        data, source = read(member)
        parts.append(parse_batch(unpickle(data, source), source))
    data, source = read("test_batch")
    x_test, y_test = parse_batch(unpickle(data, source), source)
    data, source = read("batches.meta")
    classes = parse_meta(unpickle(data, source), source)
    x_train = np.concatenate([x for x, _ in parts])
    y_train = np.concatenate([y for _, y in parts])
    return x_train, y_train, x_test, y_test, classes


def load_cifar10_folder(folder: Path) -> CifarArrays:
    """Load the unpacked ``cifar-10-batches-py`` folder."""

    def read(member: str) -> tuple[bytes, str]:
        path = folder / member
        try:
            return path.read_bytes(), str(path)
        except OSError as exc:
            raise DataError(f"cannot read CIFAR-10 file {path}: {exc.strerror or exc}") from exc

    return _assemble(read)


def _tar_member(archive: tarfile.TarFile, tarball: Path, member: str) -> tuple[bytes, str]:
    """The bytes of one batch inside the tarball, named ``<tarball>:<member>`` in errors."""
    source = f"{tarball}:{CIFAR_FOLDER}/{member}"
    try:
        handle = archive.extractfile(f"{CIFAR_FOLDER}/{member}")
        if handle is None:
            raise DataError(f"CIFAR-10 archive member {source} is not a regular file; re-download the archive")
        return handle.read(), source
    except KeyError as exc:
        raise DataError(f"CIFAR-10 archive {tarball} has no member {CIFAR_FOLDER}/{member}; re-download it") from exc
    except (OSError, tarfile.TarError, EOFError, ValueError) as exc:
        raise DataError(f"CIFAR-10 archive {tarball} is corrupted at {member} ({exc}); re-download it") from exc


def load_cifar10_tarball(tarball: Path) -> CifarArrays:
    """Load the batches directly from the official tarball, without unpacking it."""
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            return _assemble(lambda member: _tar_member(archive, tarball, member))
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise DataError(f"CIFAR-10 archive {tarball} is not a readable tar.gz ({exc}); re-download it") from exc


def load_cifar10(directory: Path) -> CifarArrays:
    """Load CIFAR-10 from ``directory``: the unpacked folder when complete, else the tarball."""
    if cifar_folder_complete(directory):
        return load_cifar10_folder(directory / CIFAR_FOLDER)
    return load_cifar10_tarball(directory / TARBALL)
