"""Fixtures for the data set tests: synthetic IDX and CIFAR files, and a loopback HTTP server.

Helpers reach the tests through the ``helpers`` fixture rather than imports, so the tests work
under any pytest import mode and never collide with another folder's conftest.

An autouse guard makes any attempt to reach a host other than 127.0.0.1 fail the test, so a
forgotten mirror override can never turn the test run into a real download.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import io
import pickle
import tarfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from sbnn.data.idx import encode_idx
from sbnn.data.registry import FileSpec

IDX_NAMES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real network, no user environment: only loopback URLs reach the real urlopen."""
    real_urlopen = urllib.request.urlopen

    def loopback_only(request, *args, **kwargs):  # type: ignore[no-untyped-def]
        url = request.full_url if isinstance(request, urllib.request.Request) else str(request)
        host = urllib.parse.urlsplit(url).hostname
        if host is not None and host != "127.0.0.1":
            raise AssertionError(f"test tried to reach the network: {url}")
        return real_urlopen(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", loopback_only)
    monkeypatch.delenv("SBNN_DATA_MIRROR", raising=False)
    monkeypatch.setenv("SBNN_DATA_DIR", str(tmp_path / "env-data-dir"))


def idx_arrays(seed: int = 0, n_train: int = 12, n_test: int = 5, side: int = 28) -> dict[str, np.ndarray]:
    """Random images and labels for the four IDX files, keyed by official file name."""
    rng = np.random.default_rng(seed)
    return {
        IDX_NAMES[0]: rng.integers(0, 256, (n_train, side, side), dtype=np.uint8),
        IDX_NAMES[1]: rng.integers(0, 10, n_train, dtype=np.uint8),
        IDX_NAMES[2]: rng.integers(0, 256, (n_test, side, side), dtype=np.uint8),
        IDX_NAMES[3]: rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def idx_file_bytes(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    """The gzipped IDX encoding of each array (deterministic: gzip mtime 0)."""
    return {name: gzip.compress(encode_idx(a), mtime=0) for name, a in arrays.items()}


def write_idx_set(directory: Path, arrays: dict[str, np.ndarray], *, compress: bool = True) -> None:
    """Write the four IDX files into ``directory``, gzipped under official names or raw without .gz."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        if compress:
            (directory / name).write_bytes(gzip.compress(encode_idx(array), mtime=0))
        else:
            (directory / name.removesuffix(".gz")).write_bytes(encode_idx(array))


def spec_for(filename: str, data: bytes, *urls: str) -> FileSpec:
    """A registry entry describing ``data`` exactly, as a test's own file."""
    return FileSpec(filename, hashlib.sha256(data).hexdigest(), len(data), tuple(urls) or (f"http://127.0.0.1:9/{filename}",))


@dataclass
class CifarFixture:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]
    members: dict[str, bytes] = field(default_factory=dict)


def cifar_members(seed: int = 0, rows: int = 3, test_rows: int = 4, protocol: int = 2) -> CifarFixture:
    """Pickled batches in the official layout: rows of 3072 bytes, red plane then green then blue."""
    rng = np.random.default_rng(seed)
    classes = tuple(f"class{i}" for i in range(10))
    members: dict[str, bytes] = {}
    xs, ys = [], []
    for i in range(1, 6):
        x = rng.integers(0, 256, (rows, 3, 32, 32), dtype=np.uint8)
        y = rng.integers(0, 10, rows).tolist()
        batch = {b"batch_label": b"training batch", b"labels": y, b"data": x.reshape(rows, 3072),
                 b"filenames": [b"f.png"] * rows}
        members[f"data_batch_{i}"] = pickle.dumps(batch, protocol=protocol)
        xs.append(x)
        ys.extend(y)
    x_test = rng.integers(0, 256, (test_rows, 3, 32, 32), dtype=np.uint8)
    y_test = rng.integers(0, 10, test_rows).tolist()
    test_batch = {b"labels": y_test, b"data": x_test.reshape(test_rows, 3072)}
    members["test_batch"] = pickle.dumps(test_batch, protocol=protocol)
    members["batches.meta"] = pickle.dumps(
        {b"label_names": [c.encode() for c in classes], b"num_cases_per_batch": rows}, protocol=protocol
    )
    return CifarFixture(
        np.concatenate(xs), np.asarray(ys, np.int64), x_test, np.asarray(y_test, np.int64), classes, members
    )


def write_cifar_folder(directory: Path, members: dict[str, bytes]) -> Path:
    folder = directory / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in members.items():
        (folder / name).write_bytes(data)
    return folder


def cifar_tarball_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@dataclass
class Route:
    """What the loopback server answers for one path: a body, and optionally a lying Content-Length."""

    body: bytes
    announced: int | None = None
    status: int = 200


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 whose routes tests set; it records the paths requested."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(self.path)
                route = owner.routes.get(self.path)
                if route is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", "application/octet-stream")
                announced = route.announced if route.announced is not None else len(route.body)
                self.send_header("Content-Length", str(announced))
                self.end_headers()
                self.wfile.write(route.body)
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:  # silence the test output
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    srv = LoopbackServer()
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL on which nothing listens: connecting is refused, like a machine offline."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def make_idx_dir(tmp_path: Path) -> Callable[..., tuple[Path, dict[str, np.ndarray]]]:
    """Build ``<tmp>/<data_dir>/<name>/`` with four synthetic IDX files; returns (data_dir, arrays)."""

    def make(
        name: str = "mnist", *, compress: bool = True, seed: int = 0, **shape: int
    ) -> tuple[Path, dict[str, np.ndarray]]:
        data_dir = tmp_path / f"data-{seed}-{int(compress)}"
        arrays = idx_arrays(seed, **shape)
        write_idx_set(data_dir / name, arrays, compress=compress)
        return data_dir, arrays

    return make


@pytest.fixture
def helpers() -> SimpleNamespace:
    """The builders above, for tests that assemble their own files."""
    return SimpleNamespace(
        IDX_NAMES=IDX_NAMES, Route=Route, idx_arrays=idx_arrays, idx_file_bytes=idx_file_bytes,
        write_idx_set=write_idx_set, spec_for=spec_for, cifar_members=cifar_members,
        write_cifar_folder=write_cifar_folder, cifar_tarball_bytes=cifar_tarball_bytes,
    )
