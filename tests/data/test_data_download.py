"""The downloader, for real against a loopback HTTP server started by each test."""

from __future__ import annotations

import gzip
import hashlib
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from sbnn.data import download, load_dataset, registry
from sbnn.errors import DataError


def _serve_mnist(server, helpers: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, name: str = "mnist",
                 prefix: str | None = None) -> dict[str, bytes]:
    """Serve a synthetic IDX set at ``/<name>/<file>`` and register its true hashes."""
    arrays = helpers.idx_arrays(seed=3)
    files = helpers.idx_file_bytes(arrays)
    for filename, data in files.items():
        server.routes[f"/{prefix or name}/{filename}"] = helpers.Route(data)
    monkeypatch.setitem(registry.REGISTRY, name, tuple(helpers.spec_for(f, d) for f, d in files.items()))
    return files


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_download_success_via_mirror(server, helpers, monkeypatch, tmp_path: Path) -> None:
    files = _serve_mnist(server, helpers, monkeypatch)
    monkeypatch.setenv("SBNN_DATA_MIRROR", server.url + "/")
    written = download("mnist", tmp_path, progress=False)
    assert [p.name for p in written] == list(files)
    assert _leftovers(tmp_path / "mnist") == sorted(files)
    for filename, data in files.items():
        assert (tmp_path / "mnist" / filename).read_bytes() == data
    assert download("mnist", tmp_path, progress=True) == [], "complete sets are not fetched again"
    assert len(server.requests) == 4


def test_load_dataset_downloads_then_loads(server, helpers, monkeypatch, tmp_path: Path) -> None:
    _serve_mnist(server, helpers, monkeypatch, name="fashion-mnist")
    monkeypatch.setenv("SBNN_DATA_MIRROR", server.url)
    data = load_dataset("fashion-mnist", tmp_path / "new" / "dir", progress=False)
    expected = helpers.idx_arrays(seed=3)
    np.testing.assert_array_equal(data.x_train[:, 0], expected["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(data.y_test, expected["t10k-labels-idx1-ubyte.gz"])


def test_only_missing_files_are_fetched(server, helpers, monkeypatch, tmp_path: Path) -> None:
    files = _serve_mnist(server, helpers, monkeypatch)
    monkeypatch.setenv("SBNN_DATA_MIRROR", server.url)
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(files["train-images-idx3-ubyte.gz"])
    (tmp_path / "mnist" / "train-labels-idx1-ubyte").write_bytes(gzip.decompress(files["train-labels-idx1-ubyte.gz"]))
    download("mnist", tmp_path, progress=False)
    assert sorted(server.requests) == ["/mnist/t10k-images-idx3-ubyte.gz", "/mnist/t10k-labels-idx1-ubyte.gz"]
    load_dataset("mnist", tmp_path, download=False)


def test_official_urls_in_order_without_mirror(server, helpers, monkeypatch, tmp_path: Path) -> None:
    """The first mirror answers 404, the second delivers: the user never notices."""
    files = helpers.idx_file_bytes(helpers.idx_arrays(seed=4))
    specs = []
    for filename, data in files.items():
        server.routes[f"/second/{filename}"] = helpers.Route(data)
        urls = (f"{server.url}/first/{filename}", f"{server.url}/second/{filename}")
        specs.append(helpers.spec_for(filename, data, *urls))
    monkeypatch.setitem(registry.REGISTRY, "mnist", tuple(specs))
    download("mnist", tmp_path, progress=False)
    assert _leftovers(tmp_path / "mnist") == sorted(files)
    assert server.requests[:2] == ["/first/train-images-idx3-ubyte.gz", "/second/train-images-idx3-ubyte.gz"]


def test_checksum_mismatch_leaves_nothing(server, helpers, monkeypatch, tmp_path: Path) -> None:
    files = _serve_mnist(server, helpers, monkeypatch)
    good = files["train-images-idx3-ubyte.gz"]
    evil = bytes(len(good))
    server.routes["/mnist/train-images-idx3-ubyte.gz"] = helpers.Route(evil)
    monkeypatch.setenv("SBNN_DATA_MIRROR", server.url)
    with pytest.raises(DataError) as info:
        download("mnist", tmp_path, progress=False)
    message = str(info.value)
    assert "SHA-256 mismatch" in message
    assert hashlib.sha256(good).hexdigest() in message and hashlib.sha256(evil).hexdigest() in message
    assert _leftovers(tmp_path / "mnist") == []


def test_connection_closed_before_content_length(server, helpers, monkeypatch, tmp_path: Path) -> None:
    files = _serve_mnist(server, helpers, monkeypatch)
    data = files["train-images-idx3-ubyte.gz"]
    server.routes["/mnist/train-images-idx3-ubyte.gz"] = helpers.Route(data[: len(data) // 3], announced=len(data))
    monkeypatch.setenv("SBNN_DATA_MIRROR", server.url)
    with pytest.raises(DataError, match="truncated download"):
        download("mnist", tmp_path, progress=False)
    assert _leftovers(tmp_path / "mnist") == []


def test_file_shorter_than_registry(server, helpers, monkeypatch, tmp_path: Path) -> None:
    files = _serve_mnist(server, helpers, monkeypatch)
    data = files["t10k-labels-idx1-ubyte.gz"]
    server.routes["/mnist/t10k-labels-idx1-ubyte.gz"] = helpers.Route(data[:-5])
    monkeypatch.setenv("SBNN_DATA_MIRROR", server.url)
    with pytest.raises(DataError, match=f"truncated download: got {len(data) - 5} of {len(data)} bytes") as info:
        download("mnist", tmp_path, progress=False)
    assert _leftovers(tmp_path / "mnist") == ["t10k-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz",
                                              "train-labels-idx1-ubyte.gz"]
    assert str(tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz") in str(info.value)


def test_file_longer_than_registry(server, helpers, monkeypatch, tmp_path: Path) -> None:
    files = _serve_mnist(server, helpers, monkeypatch)
    server.routes["/mnist/train-images-idx3-ubyte.gz"] = helpers.Route(files["train-images-idx3-ubyte.gz"] + b"x" * 10)
    monkeypatch.setenv("SBNN_DATA_MIRROR", server.url)
    with pytest.raises(DataError, match="more than the expected"):
        download("mnist", tmp_path, progress=False)
    assert _leftovers(tmp_path / "mnist") == []


def test_http_404(server, helpers, monkeypatch, tmp_path: Path) -> None:
    _serve_mnist(server, helpers, monkeypatch, prefix="elsewhere")
    monkeypatch.setenv("SBNN_DATA_MIRROR", server.url)
    with pytest.raises(DataError, match="HTTP 404") as info:
        load_dataset("mnist", tmp_path, progress=False)
    for filename in helpers.IDX_NAMES:
        assert str(tmp_path / "mnist" / filename) in str(info.value)
    assert _leftovers(tmp_path / "mnist") == []


def test_offline_lists_missing_paths(helpers, monkeypatch, tmp_path: Path, closed_port_url: str) -> None:
    monkeypatch.setenv("SBNN_DATA_MIRROR", closed_port_url)
    with pytest.raises(DataError, match="cannot connect") as info:
        load_dataset("mnist", tmp_path, progress=False)
    message = str(info.value)
    for filename in helpers.IDX_NAMES:
        assert str(tmp_path / "mnist" / filename) in message
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/" in message and "\n" not in message
    assert _leftovers(tmp_path / "mnist") == []


def test_download_false_never_touches_network(monkeypatch, tmp_path: Path) -> None:
    def no_network(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("download=False must not open a connection")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    with pytest.raises(DataError, match="is missing files") as info:
        load_dataset("cifar10", tmp_path, download=False)
    assert str(tmp_path / "cifar10" / "cifar-10-python.tar.gz") in str(info.value)
    assert not (tmp_path / "cifar10").exists()


def test_stale_part_file_is_not_a_file(server, helpers, monkeypatch, tmp_path: Path) -> None:
    files = _serve_mnist(server, helpers, monkeypatch)
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "train-images-idx3-ubyte.gz.part").write_bytes(b"half a file from a crash")
    monkeypatch.setenv("SBNN_DATA_MIRROR", server.url)
    download("mnist", tmp_path, progress=False)
    assert _leftovers(tmp_path / "mnist") == sorted(files)


def test_cifar_tarball_download(server, helpers, monkeypatch, tmp_path: Path) -> None:
    fixture = helpers.cifar_members(seed=2)
    tarball = helpers.cifar_tarball_bytes(fixture.members)
    server.routes["/cifar10/cifar-10-python.tar.gz"] = helpers.Route(tarball)
    monkeypatch.setitem(registry.REGISTRY, "cifar10", (helpers.spec_for("cifar-10-python.tar.gz", tarball),))
    monkeypatch.setenv("SBNN_DATA_MIRROR", server.url)
    data = load_dataset("cifar10", tmp_path, progress=False)
    np.testing.assert_array_equal(data.x_train, fixture.x_train)
    assert _leftovers(tmp_path / "cifar10") == ["cifar-10-python.tar.gz"]


def test_invalid_mirror_url(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SBNN_DATA_MIRROR", "not-a-url")
    with pytest.raises(DataError, match="SBNN_DATA_MIRROR='not-a-url' is not an http"):
        download("mnist", tmp_path, progress=False)
    assert _leftovers(tmp_path / "mnist") == []


def test_malformed_registry_url(helpers, monkeypatch, tmp_path: Path) -> None:
    spec = helpers.spec_for("cifar-10-python.tar.gz", b"x", "no-scheme/cifar-10-python.tar.gz")
    monkeypatch.setitem(registry.REGISTRY, "cifar10", (spec,))
    with pytest.raises(DataError, match="invalid URL"):
        download("cifar10", tmp_path, progress=False)


def test_unwritable_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DataError, match="cannot create data directory"):
        download("mnist", blocker / "sub", progress=False)
    with pytest.raises(DataError, match="not a directory"):
        (tmp_path / "d").mkdir()
        (tmp_path / "d" / "mnist").write_text("x")
        load_dataset("mnist", tmp_path / "d", progress=False)


def test_progress_bar_on_a_terminal(server, helpers, monkeypatch, tmp_path: Path) -> None:
    import io
    import sys

    class FakeTerminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    files = _serve_mnist(server, helpers, monkeypatch)
    monkeypatch.setenv("SBNN_DATA_MIRROR", server.url)
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    download("mnist", tmp_path, progress=True)
    assert "train-images-idx3-ubyte.gz" in terminal.getvalue()
    assert _leftovers(tmp_path / "mnist") == sorted(files)
