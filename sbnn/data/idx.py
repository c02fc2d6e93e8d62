"""Reader and writer for the IDX format of MNIST and Fashion-MNIST.

IDX is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), one big-endian
uint32 per dimension, then the array in C order. The reader checks every part of that against the
file length before touching the payload, so a truncated download or a file of another kind fails
with a message naming the file instead of yielding a silently short data set.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from sbnn.errors import DataError

GZIP_MAGIC = b"\x1f\x8b"

IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
"""IDX type codes and the big-endian numpy dtypes they stand for."""

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def _read_bytes(path: Path) -> bytes:
    """The decompressed content of ``path``; gzip is recognised by name or by its magic bytes."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise DataError(f"cannot read IDX file {path}: {exc.strerror or exc}") from exc
    if path.suffix == ".gz" or data[:2] == GZIP_MAGIC:
        if data[:2] != GZIP_MAGIC:
            raise DataError(f"IDX file {path} is not a gzip file; re-download it or drop the .gz suffix if it is raw")
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"IDX file {path} is a corrupted or truncated gzip file ({exc}); re-download it") from exc
    return data


def parse_idx(data: bytes, source: str | Path = "<bytes>") -> np.ndarray:
    """Decode IDX ``data`` into a native-endian array; ``source`` names the file in error messages."""
    if len(data) < 4:
        raise DataError(f"IDX file {source} is too short ({len(data)} bytes) to hold a header; re-download it")
    zero, code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or code not in IDX_TYPES or ndim == 0:
        raise DataError(
            f"IDX file {source} has bad magic number 0x{int.from_bytes(data[:4], 'big'):08x}; "
            "it is not an IDX file (re-download it)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"IDX file {source} is truncated inside its header; re-download it")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_TYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    found = len(data) - header
    if found != expected:
        what = "truncated" if found < expected else "longer than its header says"
        raise DataError(
            f"IDX file {source} is {what}: dimensions {dims} need {expected} payload bytes, "
            f"found {found}; re-download it"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=True)


def read_idx(path: str | Path, *, magic: int | None = None) -> np.ndarray:
    """Read an IDX file (gzipped or raw); ``magic`` pins the type code and rank a caller relies on."""
    path = Path(path)
    data = _read_bytes(path)
    array = parse_idx(data, path)
    if magic is not None and int.from_bytes(data[:4], "big") != magic:
        raise DataError(
            f"IDX file {path} has magic number 0x{int.from_bytes(data[:4], 'big'):08x}, "
            f"expected 0x{magic:08x}; is it the right file?"
        )
    return array


def encode_idx(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array`` (used to write test fixtures and small custom data sets)."""
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise DataError(
            f"cannot write dtype {array.dtype} to IDX; use one of uint8, int8, int16, int32, float32, float64"
        )
    if array.ndim == 0 or array.ndim > 255:
        raise DataError(f"cannot write a {array.ndim}-dimensional array to IDX (1..255 dimensions)")
    code = codes[native]
    header = bytes((0, 0, code, array.ndim)) + np.asarray(array.shape, dtype=">u4").tobytes()
    return header + np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()


def write_idx(path: str | Path, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write ``array`` as IDX; gzipped when ``compress`` is true or, by default, when the name ends in .gz."""
    path = Path(path)
    data = encode_idx(array)
    if compress if compress is not None else path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=6, mtime=0)
    path.write_bytes(data)
    return path
