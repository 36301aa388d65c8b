"""Offline datasets for ff-neuro: IDX file I/O and dataset loaders.

Nothing in this package downloads data. See :func:`load_dataset` for the
available datasets.
"""

from ff_neuro.data.datasets import (
    DATASETS,
    FASHION_MNIST_DIR,
    Dataset,
    dataset_from_record,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_idx_dir,
)
from ff_neuro.data.idx import IDX_DTYPES, read_idx, write_idx

__all__ = [
    "DATASETS",
    "FASHION_MNIST_DIR",
    "IDX_DTYPES",
    "Dataset",
    "dataset_from_record",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_idx_dir",
    "read_idx",
    "write_idx",
]
