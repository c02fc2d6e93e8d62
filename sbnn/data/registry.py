"""The table of data sets sbnn knows and of the standard files each one is made of.

The table is plain module-level data on purpose: it is what a reviewer checks against the upstream
releases, what the error messages quote, and what tests replace (``monkeypatch.setitem(REGISTRY,
...)``) to serve synthetic files with their own hashes. Nothing here touches the disk or the network.

Provenance of the checksums (SHA-256 and size of the exact bytes the official mirrors serve):

* MNIST: ``tensorflow/datasets``, ``tensorflow_datasets/url_checksums/mnist.txt`` (commit 31f1255e,
  size and SHA-256 per file of the CVDF copy of Yann LeCun's release); the same four SHA-256 values
  are listed for ``http://yann.lecun.com/exdb/mnist`` in torchvision's prototype
  ``datasets/_builtin/mnist.py`` (``MNIST._CHECKSUMS``). The ossci-datasets S3 bucket (torchvision's
  mirror) serves those same files.
* Fashion-MNIST: ``tensorflow/datasets``, ``tensorflow_datasets/url_checksums/fashion_mnist.txt``
  (commit 333639b3, size and SHA-256 of the ``fashion-mnist.s3-website.eu-central-1`` URLs used
  here); the same SHA-256 values are in torchvision's prototype ``FashionMNIST._CHECKSUMS``.
* CIFAR-10: SHA-256 from ``tensorflow/datasets``, ``tensorflow_datasets/url_checksums/cifar10.csv``
  (commit 2740d30f) and Keras ``datasets/cifar10.py`` (``file_hash=``); the size, 170,498,071 bytes,
  is the Content-Length the Toronto server sends (recorded in many public download logs, e.g. the
  Keras examples) and the ``size`` attribute of Nervana neon's CIFAR-10 loader.
"""

from __future__ import annotations

from dataclasses import dataclass

from sbnn.errors import DataError

DATASETS: tuple[str, ...] = ("digits", "mnist", "fashion-mnist", "cifar10")
"""Every data set name :func:`sbnn.data.load_dataset` accepts, the embedded default first."""

MIRROR_ENV = "SBNN_DATA_MIRROR"
"""Environment variable naming a base URL that replaces the official mirrors (a proxy or a cache);
a file is then fetched as ``<base>/<data set>/<file>``."""

DATA_DIR_ENV = "SBNN_DATA_DIR"
"""Environment variable naming the data directory when ``--data-dir`` is not given."""


@dataclass(frozen=True)
class FileSpec:
    """One standard file of a data set, as published upstream.

    ``urls`` are tried in order; ``size`` and ``sha256`` describe the exact bytes served there, so a
    download is accepted only if both match.
    """

    filename: str
    sha256: str
    size: int
    urls: tuple[str, ...]


MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
FASHION_MNIST_MIRRORS: tuple[str, ...] = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"

IDX_FILES: tuple[str, ...] = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
"""The four IDX files of MNIST and Fashion-MNIST, in the order train images/labels, test images/labels."""


def _idx_spec(filename: str, size: int, sha256: str, mirrors: tuple[str, ...]) -> FileSpec:
    return FileSpec(filename, sha256, size, tuple(base + filename for base in mirrors))


REGISTRY: dict[str, tuple[FileSpec, ...]] = {
    "digits": (),  # bundled with scikit-learn: no file to fetch
    "mnist": (
        _idx_spec("train-images-idx3-ubyte.gz", 9912422,
                  "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", MNIST_MIRRORS),
        _idx_spec("train-labels-idx1-ubyte.gz", 28881,
                  "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", MNIST_MIRRORS),
        _idx_spec("t10k-images-idx3-ubyte.gz", 1648877,
                  "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", MNIST_MIRRORS),
        _idx_spec("t10k-labels-idx1-ubyte.gz", 4542,
                  "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", MNIST_MIRRORS),
    ),
    "fashion-mnist": (
        _idx_spec("train-images-idx3-ubyte.gz", 26421880,
                  "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", FASHION_MNIST_MIRRORS),
        _idx_spec("train-labels-idx1-ubyte.gz", 29515,
                  "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", FASHION_MNIST_MIRRORS),
        _idx_spec("t10k-images-idx3-ubyte.gz", 4422102,
                  "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", FASHION_MNIST_MIRRORS),
        _idx_spec("t10k-labels-idx1-ubyte.gz", 5148,
                  "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", FASHION_MNIST_MIRRORS),
    ),
    "cifar10": (
        FileSpec("cifar-10-python.tar.gz",
                 "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce", 170498071,
                 (CIFAR10_URL,)),
    ),
}
"""Standard files per data set, looked up at call time (so tests can substitute entries)."""

CLASSES: dict[str, tuple[str, ...]] = {
    "digits": tuple(str(d) for d in range(10)),
    "mnist": tuple(str(d) for d in range(10)),
    "fashion-mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer",
                "dog", "frog", "horse", "ship", "truck"),
}
"""Human-readable class names in label order (CIFAR-10 takes its names from ``batches.meta``)."""


def check_name(name: str) -> str:
    """Return ``name`` if sbnn knows it; the error lists the alternatives so a typo is a one-step fix."""
    if name not in DATASETS:
        raise DataError(f"unknown data set {name!r}: choose one of {', '.join(DATASETS)}")
    return name


def dataset_files(name: str) -> list[FileSpec]:
    """The standard files of ``name`` (empty for ``digits``, which ships with scikit-learn)."""
    return list(REGISTRY[check_name(name)])
