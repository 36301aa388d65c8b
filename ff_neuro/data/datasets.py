"""Datasets for ff-neuro: a validated container and offline loaders.

Nothing here ever touches the network. The available sources are

* ``"digits"``: scikit-learn's bundled 8x8 handwritten digits (always present),
* ``"fashion-mnist"``: Fashion-MNIST from the Debian/Ubuntu package
  ``dataset-fashion-mnist`` (installed under :data:`FASHION_MNIST_DIR`) or
  from any directory given with ``--data-dir``,
* ``"idx"``: any directory holding the four MNIST-style IDX files.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np

from ff_neuro.data.idx import read_idx

__all__ = [
    "DATASETS",
    "FASHION_MNIST_DIR",
    "Dataset",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_idx_dir",
]

PathLike = Union[str, "os.PathLike[str]"]

#: Where the Debian/Ubuntu package ``dataset-fashion-mnist`` installs the
#: four gzip-compressed IDX files (``train-images-idx3-ubyte.gz`` etc.).
FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

#: Dataset names accepted by :func:`load_dataset` (an existing directory path
#: is accepted as well and read with :func:`load_idx_dir`).
DATASETS: tuple[str, ...] = ("digits", "fashion-mnist", "idx")

_ALIASES = {"fashion_mnist": "fashion-mnist"}


def _check_split(split: str, x: object, y: object) -> None:
    """Validate one (x, y) split, raising ``ValueError`` with a clear message."""
    if not isinstance(x, np.ndarray) or not isinstance(y, np.ndarray):
        raise ValueError(f"x_{split} and y_{split} must be numpy arrays")
    if x.dtype != np.float32:
        raise ValueError(f"x_{split} must be float32, got {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"x_{split} must have shape (N, D), got {x.shape}")
    if y.dtype != np.int64:
        raise ValueError(f"y_{split} must be int64, got {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"y_{split} must have shape (N,), got {y.shape}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x_{split} has {x.shape[0]} samples but y_{split} has {y.shape[0]} labels"
        )
    if x.size == 0:
        return
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x_{split} values must be finite (found NaN or inf)")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"x_{split} values must lie in [0, 1], got range [{lo}, {hi}]")


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A classification dataset with a fixed train/test split.

    Instances are validated on construction; fields cannot be reassigned
    (the arrays themselves are ordinary numpy arrays and should be treated
    as read-only). Equality is identity, since array fields have no single
    truth value.

    Attributes
    ----------
    name : str
        Short dataset name, e.g. ``"digits"`` or ``"fashion-mnist"``.
    x_train : numpy.ndarray
        Training inputs, ``float32``, shape ``(N_train, D)``, values in [0, 1].
    y_train : numpy.ndarray
        Training labels, ``int64``, shape ``(N_train,)``, in ``[0, n_classes)``.
    x_test : numpy.ndarray
        Test inputs, ``float32``, shape ``(N_test, D)``, values in [0, 1].
    y_test : numpy.ndarray
        Test labels, ``int64``, shape ``(N_test,)``, in ``[0, n_classes)``.
    n_classes : int
        Number of classes (at least 2).
    image_shape : tuple of int
        Shape of one input before flattening, e.g. ``(28, 28)``;
        ``prod(image_shape) == D``.
    source : str
        Human-readable provenance (file directory or library function).

    Raises
    ------
    ValueError
        If any field has the wrong type, dtype, shape or value range.

    Examples
    --------
    >>> import numpy as np
    >>> from ff_neuro.data import Dataset
    >>> rng = np.random.default_rng(0)
    >>> ds = Dataset(name="toy", x_train=rng.random((8, 4), dtype=np.float32),
    ...              y_train=np.arange(8) % 2, x_test=rng.random((2, 4), dtype=np.float32),
    ...              y_test=np.array([0, 1]), n_classes=2, image_shape=(2, 2), source="random")
    >>> ds
    Dataset(name='toy', n_train=8, n_test=2, n_features=4, n_classes=2, image_shape=(2, 2),
    source='random')
    >>> Dataset(name="toy", x_train=2 * ds.x_train, y_train=ds.y_train, x_test=ds.x_test,
    ...         y_test=ds.y_test, n_classes=2, image_shape=(2, 2), source="random")
    Traceback (most recent call last):
    ...
    ValueError: x_train values must lie in [0, 1], got range [...]
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    image_shape: tuple[int, ...]
    source: str
    path: Optional[str] = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.source, str):
            raise ValueError(f"source must be a string, got {type(self.source).__name__}")
        _check_split("train", self.x_train, self.y_train)
        _check_split("test", self.x_test, self.y_test)
        if self.x_train.shape[1] != self.x_test.shape[1]:
            raise ValueError(
                f"x_train has {self.x_train.shape[1]} features but x_test has "
                f"{self.x_test.shape[1]}"
            )
        if (
            not isinstance(self.n_classes, (int, np.integer))
            or isinstance(self.n_classes, bool)
            or self.n_classes < 2
        ):
            raise ValueError(f"n_classes must be an integer >= 2, got {self.n_classes!r}")
        for split, y in (("train", self.y_train), ("test", self.y_test)):
            if y.size and (y.min() < 0 or y.max() >= self.n_classes):
                raise ValueError(
                    f"y_{split} labels must lie in [0, {self.n_classes}), "
                    f"got range [{y.min()}, {y.max()}]"
                )
        present = np.unique(self.y_train)
        if self.y_train.size and present.size < 2:
            raise ValueError(
                f"the training labels hold a single class ({present[0]}): classification "
                "needs at least two classes"
            )
        shape = self.image_shape
        if (
            not isinstance(shape, tuple)
            or not shape
            or not all(isinstance(s, (int, np.integer)) and s > 0 for s in shape)
        ):
            raise ValueError(
                f"image_shape must be a non-empty tuple of positive ints, got {shape!r}"
            )
        if int(np.prod(shape)) != self.x_train.shape[1]:
            raise ValueError(
                f"image_shape {shape} has {int(np.prod(shape))} elements but the "
                f"inputs have {self.x_train.shape[1]} features"
            )

    def describe(self) -> dict:
        """What a model records about the data it was trained on (and the next stage uses to
        load it again): name, shape, classes, sizes, source and, for IDX files, the folder.

        Example::

            >>> from ff_neuro.data import load_digits
            >>> record = load_digits().describe()
            >>> record["name"], record["n_features"], record["image_shape"], record["n_test"]
            ('digits', 64, [8, 8], 450)
        """
        d = {"name": self.name, "n_features": self.n_features, "n_classes": self.n_classes,
             "image_shape": list(self.image_shape), "n_train": self.n_train,
             "n_test": self.n_test, "source": self.source}
        if self.path:
            d["path"] = self.path
        return d

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, n_train={self.n_train}, n_test={self.n_test}, "
            f"n_features={self.n_features}, n_classes={self.n_classes}, "
            f"image_shape={self.image_shape}, source={self.source!r})"
        )

    @property
    def n_features(self) -> int:
        """Number of input features ``D`` (flattened image size)."""
        return int(self.x_train.shape[1])

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test samples."""
        return int(self.x_test.shape[0])

    def subset(self, n_train: Optional[int] = None, n_test: Optional[int] = None) -> "Dataset":
        """Return a dataset holding the first samples of each split.

        Parameters
        ----------
        n_train : int, optional
            Number of leading training samples to keep; ``None`` keeps all.
        n_test : int, optional
            Number of leading test samples to keep; ``None`` keeps all.

        Returns
        -------
        Dataset
            New dataset (array views, no copy) with the same metadata.

        Raises
        ------
        ValueError
            If a count is negative or larger than the split.

        Examples
        --------
        >>> from ff_neuro.data import load_digits
        >>> small = load_digits().subset(n_train=100, n_test=50)
        >>> small.n_train, small.n_test, small.n_classes
        (100, 50, 10)
        """
        n_tr = self._count("n_train", n_train, self.n_train)
        n_te = self._count("n_test", n_test, self.n_test)
        return dataclasses.replace(
            self,
            x_train=self.x_train[:n_tr],
            y_train=self.y_train[:n_tr],
            x_test=self.x_test[:n_te],
            y_test=self.y_test[:n_te],
        )

    def _count(self, label: str, n: Optional[int], available: int) -> int:
        """Validate a subset size, returning ``available`` for ``None``."""
        if n is None:
            return available
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            raise ValueError(f"{label} must be an int or None, got {n!r}")
        if not 0 <= n <= available:
            raise ValueError(
                f"{label}={n} is out of range: dataset {self.name!r} has {available} samples"
            )
        return int(n)


def load_digits(seed: int = 0, test_fraction: float = 0.25) -> Dataset:
    """Load scikit-learn's bundled 8x8 handwritten digits.

    The 1797 images ship inside scikit-learn, so no download is involved.
    Pixels (0..16) are divided by 16 into [0, 1] and the data are split with a
    stratified, seeded :func:`sklearn.model_selection.train_test_split`.

    Parameters
    ----------
    seed : int, default 0
        ``random_state`` of the split; equal seeds give identical splits.
    test_fraction : float, default 0.25
        Fraction of samples in the test split, strictly between 0 and 1.

    Returns
    -------
    Dataset
        ``name="digits"``, 10 classes, ``image_shape=(8, 8)``, 64 features.

    Raises
    ------
    ValueError
        If ``test_fraction`` is not in (0, 1).

    Examples
    --------
    >>> from ff_neuro.data import load_digits
    >>> ds = load_digits()
    >>> ds.x_train.shape, ds.x_train.dtype, float(ds.x_train.max()), ds.n_test
    ((1347, 64), dtype('float32'), 1.0, 450)
    >>> ds.y_test[:5], load_digits(seed=1).y_test[:5]      # another seed, another split
    (array([2, 0, 4, 9, 4]), array([4, 7, 9, 6, 6]))
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    from sklearn.datasets import load_digits as _sk_load_digits
    from sklearn.model_selection import train_test_split

    bunch = _sk_load_digits()
    x = (np.asarray(bunch.data, dtype=np.float64) / 16.0).astype(np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, stratify=y, random_state=seed
    )
    return Dataset(
        name="digits",
        x_train=np.ascontiguousarray(x_train),
        y_train=np.ascontiguousarray(y_train),
        x_test=np.ascontiguousarray(x_test),
        y_test=np.ascontiguousarray(y_test),
        n_classes=10,
        image_shape=(8, 8),
        source=f"sklearn.datasets.load_digits (bundled; stratified split, seed={seed}, "
        f"test_fraction={test_fraction})",
    )


#: (role, canonical file stem) of the four MNIST-style IDX files.
_IDX_FILES = (
    ("train images", "train-images-idx3-ubyte"),
    ("train labels", "train-labels-idx1-ubyte"),
    ("test images", "t10k-images-idx3-ubyte"),
    ("test labels", "t10k-labels-idx1-ubyte"),
)


def _candidates(stem: str) -> list[str]:
    """File names accepted for ``stem``: dash or dot style, plain or ``.gz``."""
    dotted = stem.replace("-idx", ".idx")  # train-images.idx3-ubyte (LeCun mirror style)
    return [stem, stem + ".gz", dotted, dotted + ".gz"]


def _data_dir_hint() -> str:
    """How to point ff-neuro at a data directory (appended to error messages)."""
    return (
        "Point to a directory holding these files with --data-dir DIR "
        "(data_dir=DIR in Python)."
    )


def _find_idx_files(directory: Path) -> dict[str, Path]:
    """Locate the four IDX files in ``directory`` or raise ``FileNotFoundError``."""
    if not directory.is_dir():
        looked = ", ".join(stem for _, stem in _IDX_FILES)
        raise FileNotFoundError(
            f"IDX data directory {str(directory)!r} does not exist (or is not a "
            f"directory); expected it to hold {looked} (each optionally .gz). "
            + _data_dir_hint()
        )
    found: dict[str, Path] = {}
    missing: list[str] = []
    for role, stem in _IDX_FILES:
        for name in _candidates(stem):
            if (directory / name).is_file():
                found[role] = directory / name
                break
        else:
            missing.append(" or ".join(_candidates(stem)))
    if missing:
        raise FileNotFoundError(
            f"IDX data directory {str(directory)!r} is missing files; looked for: "
            + "; ".join(missing)
            + ". "
            + _data_dir_hint()
        )
    return found


def _scale_images(train: np.ndarray, test: np.ndarray, directory: Path) -> tuple[np.ndarray, ...]:
    """Flatten image stacks to ``(N, D)`` float32 in [0, 1].

    ``uint8`` is divided by 255; other dtypes by the global maximum over both
    splits, unless all values already lie in [0, 1].
    """
    xs = [a.reshape(a.shape[0], -1).astype(np.float32) for a in (train, test)]
    if train.dtype == np.uint8 and test.dtype == np.uint8:
        scale = 255.0
    else:
        lo = min((float(x.min()) for x in xs if x.size), default=0.0)
        hi = max((float(x.max()) for x in xs if x.size), default=0.0)
        if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0.0:
            raise ValueError(
                f"{directory}: images must be non-negative and finite to scale into "
                f"[0, 1], got range [{lo}, {hi}]"
            )
        scale = hi if hi > 1.0 else 1.0
    if scale != 1.0:
        for x in xs:
            x /= np.float32(scale)
            np.minimum(x, 1.0, out=x)  # guard float32 rounding just above 1
    return tuple(xs)


def load_idx_dir(path: PathLike, name: Optional[str] = None) -> Dataset:
    """Load a directory holding the four MNIST-style IDX files.

    Accepted names for each file are the canonical ones
    (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), the dotted
    variant (``train-images.idx3-ubyte``), each optionally with ``.gz``.

    Parameters
    ----------
    path : str or os.PathLike
        The directory.
    name : str, optional
        Dataset name; defaults to the directory's base name.

    Returns
    -------
    Dataset
        Images flattened to ``(N, H*W)`` float32 in [0, 1] (``uint8`` divided
        by 255, other dtypes by their maximum); ``image_shape`` from the file;
        ``n_classes = max(label) + 1`` (at least 2); every class must have training samples.

    Raises
    ------
    FileNotFoundError
        If the directory or one of the files is missing; the message lists
        the directory, the names looked for and the ``--data-dir`` option.
    ValueError
        If a file is corrupt or the files are inconsistent with each other.

    Examples
    --------
    A folder with 20 training and 6 test images of 4x4 pixels, 3 classes:

    >>> import os
    >>> import numpy as np
    >>> from ff_neuro.data import load_idx_dir, write_idx
    >>> rng = np.random.default_rng(0)
    >>> os.makedirs("tiny", exist_ok=True)
    >>> write_idx("tiny/train-images-idx3-ubyte", rng.integers(0, 256, (20, 4, 4), np.uint8))
    >>> write_idx("tiny/train-labels-idx1-ubyte", np.arange(20, dtype=np.uint8) % 3)
    >>> write_idx("tiny/t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (6, 4, 4), np.uint8))
    >>> write_idx("tiny/t10k-labels-idx1-ubyte.gz", np.arange(6, dtype=np.uint8) % 3)
    >>> load_idx_dir("tiny")
    Dataset(name='tiny', n_train=20, n_test=6, n_features=16, n_classes=3, image_shape=(4, 4),
    source='IDX files in .../tiny')
    """
    directory = Path(path).expanduser()
    files = _find_idx_files(directory)
    arrays = {role: read_idx(p) for role, p in files.items()}
    images_tr, labels_tr = arrays["train images"], arrays["train labels"]
    images_te, labels_te = arrays["test images"], arrays["test labels"]

    for role in ("train images", "test images"):
        if arrays[role].ndim < 2:
            raise ValueError(
                f"{files[role]}: images need at least 2 dims (N, ...), got {arrays[role].shape}"
            )
    for role in ("train labels", "test labels"):
        lab = arrays[role]
        if lab.ndim != 1 or lab.dtype.kind not in "iu":
            raise ValueError(
                f"{files[role]}: labels must be a 1-D integer array, got "
                f"shape {lab.shape} dtype {lab.dtype}"
            )
        if lab.size and lab.min() < 0:
            raise ValueError(f"{files[role]}: labels must be non-negative, min is {lab.min()}")
    if images_tr.shape[1:] != images_te.shape[1:]:
        raise ValueError(
            f"{directory}: train images are {images_tr.shape[1:]} but test images are "
            f"{images_te.shape[1:]}"
        )
    for split, imgs, labs in (("train", images_tr, labels_tr), ("test", images_te, labels_te)):
        if imgs.shape[0] != labs.shape[0]:
            raise ValueError(
                f"{directory}: {split} has {imgs.shape[0]} images but {labs.shape[0]} labels"
            )

    x_train, x_test = _scale_images(images_tr, images_te, directory)
    max_label = max((int(lab.max()) for lab in (labels_tr, labels_te) if lab.size), default=0)
    missing = np.setdiff1d(np.arange(max_label + 1), labels_tr)
    if labels_tr.size and missing.size and np.unique(labels_tr).size >= 2:
        gaps = ", ".join(str(int(m)) for m in missing[:5]) + (", ..." if missing.size > 5 else "")
        raise ValueError(
            f"{files['train labels']}: labels must be the classes 0..C-1, each with training "
            f"samples; the labels reach {max_label} but classes {gaps} ({missing.size} of "
            f"{max_label + 1}) have no training sample"
        )
    resolved = directory.resolve()
    return Dataset(
        name=name or resolved.name or str(resolved),
        x_train=x_train,
        y_train=labels_tr.astype(np.int64),
        x_test=x_test,
        y_test=labels_te.astype(np.int64),
        n_classes=max(max_label + 1, 2),
        image_shape=tuple(int(s) for s in images_tr.shape[1:]),
        source=f"IDX files in {resolved}",
        path=str(resolved),
    )


def load_fashion_mnist(data_dir: Optional[PathLike] = None) -> Dataset:
    """Load Fashion-MNIST (60000 train / 10000 test, 28x28, 10 classes).

    Never downloads. By default reads :data:`FASHION_MNIST_DIR`, where the
    Debian/Ubuntu package ``dataset-fashion-mnist`` installs
    ``{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz``.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Directory with the four IDX files (plain or ``.gz``). A parent
        directory containing a ``fashion-mnist`` subdirectory also works
        (e.g. ``/usr/share/datasets``).

    Returns
    -------
    Dataset
        ``name="fashion-mnist"``.

    Raises
    ------
    FileNotFoundError
        If the files are not found; the message explains how to install the
        Debian package or pass ``--data-dir``.

    Examples
    --------
    >>> from ff_neuro.data import load_fashion_mnist
    >>> ds = load_fashion_mnist()                     # doctest: +SKIP
    >>> ds.n_train, ds.n_test, ds.image_shape         # doctest: +SKIP
    (60000, 10000, (28, 28))
    >>> load_fashion_mnist("no-such-folder")
    Traceback (most recent call last):
    ...
    FileNotFoundError: Fashion-MNIST not found in 'no-such-folder' (ff-neuro never downloads
    data). Install it with `apt-get install -y dataset-fashion-mnist` ...
    """
    directory = Path(data_dir if data_dir is not None else FASHION_MNIST_DIR).expanduser()
    nested = directory / "fashion-mnist"
    if nested.is_dir() and not any(
        (directory / n).is_file() for n in _candidates(_IDX_FILES[0][1])
    ):
        directory = nested
    try:
        return load_idx_dir(directory, name="fashion-mnist")
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"Fashion-MNIST not found in {str(directory)!r} (ff-neuro never downloads data). "
            "Install it with `apt-get install -y dataset-fashion-mnist` (Debian/Ubuntu "
            f"package, installs into {FASHION_MNIST_DIR}) or pass --data-dir DIR pointing to "
            f"a directory with the four IDX files. Details: {exc}"
        ) from exc


def load_dataset(name: str, data_dir: Optional[PathLike] = None, seed: int = 0) -> Dataset:
    """Load a dataset by name.

    Parameters
    ----------
    name : str
        One of :data:`DATASETS` (``"digits"``, ``"fashion-mnist"`` -- alias
        ``"fashion_mnist"`` -- or ``"idx"``), case-insensitive, or the path of
        an existing directory of IDX files.
    data_dir : str or os.PathLike, optional
        Data directory for ``"fashion-mnist"`` (default
        :data:`FASHION_MNIST_DIR`) and ``"idx"`` (required); refused for
        ``"digits"`` (built in).
    seed : int, default 0
        Split seed for ``"digits"``; the IDX datasets have a fixed split.

    Returns
    -------
    Dataset

    Raises
    ------
    ValueError
        For an unknown name (the message lists the choices), or ``"idx"``
        without ``data_dir``.
    FileNotFoundError
        If the data files are missing.

    Examples
    --------
    >>> import ff_neuro as ffn
    >>> ffn.load_dataset("digits")
    Dataset(name='digits', n_train=1347, n_test=450, n_features=64, n_classes=10,
    image_shape=(8, 8), source='sklearn.datasets.load_digits (bundled; stratified split,
    seed=0, test_fraction=0.25)')
    >>> ffn.load_dataset("cifar")
    Traceback (most recent call last):
    ...
    ValueError: unknown dataset 'cifar'; choose one of digits, fashion-mnist, idx (or
    'fashion_mnist'), or give the path of a directory of IDX files
    """
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key == "digits":
        if data_dir is not None:
            raise ValueError(
                "the digits dataset is built in (scikit-learn); --data-dir (data_dir) applies "
                "to IDX datasets: fashion-mnist, idx or a directory of IDX files"
            )
        return load_digits(seed=seed)
    if key == "fashion-mnist":
        return load_fashion_mnist(data_dir)
    if key == "idx":
        if data_dir is None:
            raise ValueError(
                "dataset 'idx' needs a directory of IDX files: pass --data-dir DIR "
                "(data_dir=DIR in Python)"
            )
        return load_idx_dir(data_dir)
    if os.path.isdir(os.path.expanduser(name)):
        return load_idx_dir(name)
    raise ValueError(
        f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} "
        "(or 'fashion_mnist'), or give the path of a directory of IDX files"
    )


def dataset_from_record(record: dict, data_dir: Optional[PathLike] = None) -> Dataset:
    """The dataset a model was trained on, from the record it keeps (``Network.dataset``, see
    :meth:`Dataset.describe`): a built-in name, Fashion-MNIST (from ``data_dir``, else the folder
    it was read from, else the default one) or a folder of IDX files (its recorded path, or
    ``data_dir``).

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.data import dataset_from_record
        >>> from ff_neuro.model import Layer, SpikeCountReadout
        >>> ds = ffn.load_dataset("digits")
        >>> net = ffn.Network([Layer.dense(weight=np.ones((10, 64)), threshold=4.0)],
        ...                   readouts=[SpikeCountReadout(n_classes=10)], dataset=ds.describe())
        >>> dataset_from_record(ffn.load(ffn.save(net, "model.h5")).dataset).name
        'digits'
    """
    name = str(record.get("name") or "digits")
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    path = record.get("path")
    if key == "digits":
        return load_dataset(name, data_dir)
    if key == "fashion-mnist":
        if data_dir is None and path and os.path.isdir(path):
            data_dir = path
        return load_dataset(name, data_dir)
    if data_dir is not None:
        return load_idx_dir(data_dir, name=name)
    if path and os.path.isdir(path):
        return load_idx_dir(path, name=name)
    raise FileNotFoundError(
        f"the model was trained on {name!r} ({record.get('source') or 'no source recorded'}), "
        "which is not found here: pass --dataset DIR (or --data-dir DIR) with its IDX files"
    )
