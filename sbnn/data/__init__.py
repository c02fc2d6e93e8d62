"""Data sets for sbnn: the embedded scikit-learn digits, MNIST, Fashion-MNIST and CIFAR-10.

Every set loads as a :class:`Dataset` of uint8 images (N, C, H, W) and int64 labels. Files live in
``<data_dir>/<name>/`` (``--data-dir``, else ``$SBNN_DATA_DIR``, else ``~/.cache/sbnn/data``) under
their official names; missing ones are downloaded from the official mirrors (or
``$SBNN_DATA_MIRROR``) and verified by SHA-256, and every failure is a one-line
:class:`sbnn.errors.DataError` saying what to do.
"""

from sbnn.data.datasets import Dataset, load_dataset
from sbnn.data.download import download
from sbnn.data.layout import resolve_data_dir
from sbnn.data.registry import DATASETS, FileSpec, dataset_files

__all__ = ["DATASETS", "Dataset", "FileSpec", "dataset_files", "download", "load_dataset", "resolve_data_dir"]
