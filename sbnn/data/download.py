"""Fetching the standard files of a data set, verified and atomically, with the standard library only.

Each file streams into ``<file>.part`` next to its final place and is renamed (``os.replace``) only
after its size and SHA-256 match the registry, so an interrupted or corrupted transfer can never be
mistaken for a good file later; on any failure the ``.part`` file is removed. When no mirror can
deliver, the error tells the user exactly which files to put where, so an offline machine can be
served by hand.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from sbnn.data.layout import dataset_dir, ensure_directory, missing_files, missing_message
from sbnn.data.registry import MIRROR_ENV, FileSpec, check_name
from sbnn.errors import DataError

TIMEOUT_S = 30.0
"""Seconds to wait for a connection or for the next chunk; a stalled mirror then fails instead of hanging."""

CHUNK_BYTES = 1 << 20
USER_AGENT = "sbnn-data/0.1 (+python urllib)"


class _Failure(Exception):
    """A reason why one URL did not deliver a good file; the caller moves on to the next mirror."""


def source_urls(name: str, spec: FileSpec) -> tuple[str, ...]:
    """The URLs to try for ``spec``: ``$SBNN_DATA_MIRROR/<name>/<file>`` if set, else the official mirrors."""
    base = os.environ.get(MIRROR_ENV, "").strip()
    if base:
        if not base.lower().startswith(("http://", "https://")):
            raise DataError(f"{MIRROR_ENV}={base!r} is not an http:// or https:// URL; fix or unset it")
        return (f"{base.rstrip('/')}/{name}/{spec.filename}",)
    return spec.urls


def _progress_bar(spec: FileSpec, total: int | None, progress: bool) -> tqdm:
    """A byte counter on stderr, silent when asked or when stderr is a log file rather than a terminal."""
    enabled = progress and sys.stderr is not None and sys.stderr.isatty()
    return tqdm(total=total, desc=spec.filename, unit="B", unit_scale=True, unit_divisor=1024,
                disable=not enabled, leave=False)


def _stream(url: str, part: Path, spec: FileSpec, *, progress: bool, timeout: float) -> None:
    """Copy ``url`` into ``part`` and check it; raises ``_Failure`` with a one-line reason."""
    digest = hashlib.sha256()
    received = 0
    announced: int | None = None
    try:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length", "")
            announced = int(length) if length.strip().isdigit() else None
            with open(part, "wb") as out, _progress_bar(spec, announced or spec.size, progress) as bar:
                while chunk := response.read(CHUNK_BYTES):
                    received += len(chunk)
                    if received > spec.size:
                        raise _Failure(f"server sent more than the expected {spec.size} bytes")
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except urllib.error.HTTPError as exc:
        exc.close()
        raise _Failure(f"HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise _Failure(f"cannot connect ({exc.reason})") from exc
    except http.client.IncompleteRead as exc:
        raise _Failure(f"truncated download: connection closed after {received + len(exc.partial)} bytes") from exc
    except (http.client.HTTPException, TimeoutError, ConnectionError) as exc:
        raise _Failure(f"transfer failed ({type(exc).__name__}: {exc})") from exc
    except ValueError as exc:  # a malformed URL in the registry
        raise _Failure(f"invalid URL ({exc})") from exc
    except OSError as exc:
        raise _Failure(f"I/O error ({exc.strerror or exc})") from exc
    if announced is not None and received < announced:
        raise _Failure(f"truncated download: got {received} of the {announced} bytes the server announced")
    if received < spec.size:
        raise _Failure(f"truncated download: got {received} of {spec.size} bytes")
    got = digest.hexdigest()
    if got != spec.sha256:
        raise _Failure(f"SHA-256 mismatch: expected {spec.sha256}, got {got}")


def fetch_file(
    spec: FileSpec, urls: tuple[str, ...], dest: Path, *, progress: bool = True, timeout: float = TIMEOUT_S
) -> Path:
    """Download ``spec`` to ``dest`` from the first of ``urls`` that delivers the right bytes.

    Raises ``DataError`` listing every URL tried with its reason; leaves neither ``dest`` nor
    ``dest.part`` behind on failure (``dest`` itself is touched only by the final atomic rename).
    """
    part = dest.with_name(dest.name + ".part")
    reasons = []
    for url in urls:
        try:
            _stream(url, part, spec, progress=progress, timeout=timeout)
            os.replace(part, dest)
            return dest
        except _Failure as exc:
            reasons.append(f"{url}: {exc}")
        except OSError as exc:  # os.replace failed: nothing useful to retry from another mirror
            reasons.append(f"{url}: cannot move the download into place ({exc.strerror or exc})")
            break
        finally:
            with contextlib.suppress(OSError):  # a leftover is named .part, so it never passes for the file
                part.unlink(missing_ok=True)
    raise DataError(f"cannot download {dest.name}: {'; '.join(reasons)}")


def download(
    name: str, data_dir: str | os.PathLike[str] | None = None, *, progress: bool = True
) -> list[Path]:
    """Fetch the missing standard files of `name` into <data_dir>/<name>/ and verify SHA-256.

    Returns the paths written (empty when everything is already there, and always for ``digits``).
    Stops at the first file no mirror can deliver, because the next ones would fail the same way
    (offline, proxy) and each failure can cost a full timeout.
    """
    directory = dataset_dir(check_name(name), data_dir)
    missing = missing_files(name, directory)
    if not missing:
        return []
    ensure_directory(directory)
    written: list[Path] = []
    for index, spec in enumerate(missing):
        try:
            written.append(fetch_file(spec, source_urls(name, spec), directory / spec.filename, progress=progress))
        except DataError as exc:
            raise DataError(f"{exc}. {missing_message(name, directory, missing[index:])}") from exc
    return written
