"""Where the files of each data set live on disk, and what to tell a user when some are missing.

A data set ``name`` lives in ``<data_dir>/<name>/``. MNIST-style sets accept each IDX file either
gzipped (the official name) or uncompressed (same name without ``.gz``), because many users have an
already unpacked copy. CIFAR-10 accepts either the official tarball or the folder it unpacks to.
"""

from __future__ import annotations

import os
from pathlib import Path

from sbnn.data.registry import DATA_DIR_ENV, REGISTRY, FileSpec, check_name
from sbnn.errors import DataError

CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_MEMBERS: tuple[str, ...] = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch", "batches.meta")
"""The files of the unpacked CIFAR-10 folder (also the member names inside the tarball, under ``CIFAR_FOLDER``)."""


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """--data-dir if given, else env SBNN_DATA_DIR, else ~/.cache/sbnn/data.

    The result is absolute so that error messages name a place the user can go to.
    """
    if data_dir is None or str(data_dir) == "":
        data_dir = os.environ.get(DATA_DIR_ENV) or Path.home() / ".cache" / "sbnn" / "data"
    return Path(data_dir).expanduser().absolute()


def dataset_dir(name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The folder that holds (or will hold) the files of ``name``."""
    return resolve_data_dir(data_dir) / check_name(name)


def idx_local_path(directory: Path, filename: str) -> Path | None:
    """The IDX file to read for ``filename``: the gzipped official name first, else the unpacked one."""
    gz = directory / filename
    if gz.is_file():
        return gz
    raw = directory / filename.removesuffix(".gz")
    return raw if raw.is_file() else None


def cifar_folder_complete(directory: Path) -> bool:
    """True when the unpacked CIFAR-10 folder holds every batch (a partial copy must not half-load)."""
    folder = directory / CIFAR_FOLDER
    return all((folder / member).is_file() for member in CIFAR_MEMBERS)


def missing_files(name: str, directory: Path) -> list[FileSpec]:
    """The standard files of ``name`` with no usable local stand-in in ``directory``."""
    specs = REGISTRY[check_name(name)]
    if name == "cifar10":
        if cifar_folder_complete(directory):
            return []
        return [s for s in specs if not (directory / s.filename).is_file()]
    return [s for s in specs if idx_local_path(directory, s.filename) is None]


def missing_message(name: str, directory: Path, missing: list[FileSpec]) -> str:
    """One line saying which files to put where and where to get them, for a user without network."""
    paths = ", ".join(str(directory / s.filename) for s in missing)
    if len(missing) == 1:
        sources = list(missing[0].urls)
    else:  # the files of one set share their folders on each mirror: name the folders once
        sources = list(dict.fromkeys(url.rsplit("/", 1)[0] + "/" for s in missing for url in s.urls))
    if name == "cifar10":
        alt = f" (or the unpacked folder {directory / CIFAR_FOLDER}/ with {', '.join(CIFAR_MEMBERS)})"
    else:
        alt = " (uncompressed copies named without .gz are accepted too)"
    return (
        f"data set {name!r} is missing files: put {paths}{alt}; "
        f"download from {' or '.join(sources)}; "
        f"or point --data-dir / {DATA_DIR_ENV} at a folder whose {name}/ subfolder holds them"
    )


def ensure_directory(directory: Path) -> None:
    """Create ``directory`` for downloads, turning permission or path problems into a DataError."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create data directory {directory}: {exc.strerror or exc}; "
            f"choose another one with --data-dir or {DATA_DIR_ENV}"
        ) from exc
