"""Tests for ff_neuro.data: IDX I/O, the Dataset container and the loaders."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from ff_neuro.data import (
    DATASETS,
    FASHION_MNIST_DIR,
    Dataset,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_idx_dir,
    read_idx,
    write_idx,
)

FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


# --------------------------------------------------------------------------- IDX


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path: Path, dtype: type, suffix: str) -> None:
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        array = rng.integers(info.min, info.max, size=(5, 3, 4), endpoint=True).astype(dtype)
    else:
        array = rng.standard_normal((5, 3, 4)).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype)
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    if suffix:
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temp file left


def test_idx_header_is_big_endian_spec(tmp_path: Path) -> None:
    path = tmp_path / "x.idx"
    write_idx(path, np.arange(6, dtype=np.int16).reshape(2, 3))
    raw = path.read_bytes()
    assert raw[:4] == bytes([0, 0, 0x0B, 2])
    assert raw[4:12] == (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
    assert raw[12:] == np.arange(6, dtype=">i2").tobytes()


def test_read_idx_detects_gzip_by_content(tmp_path: Path) -> None:
    array = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "v.gz", array)
    os.replace(tmp_path / "v.gz", tmp_path / "v-no-suffix")
    np.testing.assert_array_equal(read_idx(tmp_path / "v-no-suffix"), array)


def test_write_idx_rejects_unsupported_dtype(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="int64"):
        write_idx(tmp_path / "x.idx", np.zeros(3, dtype=np.int64))
    assert list(tmp_path.iterdir()) == []


def test_write_idx_replaces_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "x.idx"
    write_idx(path, np.zeros(100, dtype=np.uint8))
    write_idx(path, np.ones(2, dtype=np.uint8))
    np.testing.assert_array_equal(read_idx(path), [1, 1])


def test_read_idx_truncated_payload(tmp_path: Path) -> None:
    path = tmp_path / "t.idx"
    write_idx(path, np.zeros((4, 4), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(ValueError, match="t.idx") as err:
        read_idx(path)
    assert "payload" in str(err.value)


def test_read_idx_extra_payload(tmp_path: Path) -> None:
    path = tmp_path / "e.idx"
    write_idx(path, np.zeros((4, 4), dtype=np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(ValueError, match="e.idx"):
        read_idx(path)


def test_read_idx_truncated_gzip_payload(tmp_path: Path) -> None:
    path = tmp_path / "t.idx.gz"
    write_idx(path, np.zeros((4, 4), dtype=np.uint8))
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    path.write_bytes(gzip.compress(raw[:-3]))
    with pytest.raises(ValueError, match="t.idx.gz"):
        read_idx(path)


def test_read_idx_corrupt_gzip_stream(tmp_path: Path) -> None:
    path = tmp_path / "c.idx.gz"
    write_idx(path, np.arange(1000, dtype=np.int32))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match="c.idx.gz"):
        read_idx(path)


def test_read_idx_bad_magic(tmp_path: Path) -> None:
    path = tmp_path / "m.idx"
    write_idx(path, np.zeros(3, dtype=np.uint8))
    raw = bytearray(path.read_bytes())
    raw[0] = 0x42
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="m.idx.*magic"):
        read_idx(path)


def test_read_idx_bad_type_code_and_short_header(tmp_path: Path) -> None:
    path = tmp_path / "b.idx"
    path.write_bytes(bytes([0, 0, 0x0A, 1]) + (1).to_bytes(4, "big") + b"\x00")
    with pytest.raises(ValueError, match="type code 0x0A"):
        read_idx(path)
    path.write_bytes(bytes([0, 0, 0x08, 3]) + (1).to_bytes(4, "big"))
    with pytest.raises(ValueError, match="truncated IDX header"):
        read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match="b.idx"):
        read_idx(path)


def test_read_idx_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.idx")


# ----------------------------------------------------------------------- Dataset


def _tiny(**overrides: object) -> Dataset:
    fields: dict[str, object] = dict(
        name="tiny",
        x_train=np.full((4, 6), 0.5, dtype=np.float32),
        y_train=np.array([0, 1, 2, 1], dtype=np.int64),
        x_test=np.zeros((2, 6), dtype=np.float32),
        y_test=np.array([2, 0], dtype=np.int64),
        n_classes=3,
        image_shape=(2, 3),
        source="test",
    )
    fields.update(overrides)
    return Dataset(**fields)  # type: ignore[arg-type]


def test_dataset_properties_and_subset() -> None:
    ds = _tiny()
    assert (ds.n_features, ds.n_train, ds.n_test) == (6, 4, 2)
    sub = ds.subset(n_train=2)
    assert (sub.n_train, sub.n_test) == (2, 2)
    np.testing.assert_array_equal(sub.y_train, [0, 1])
    sub = ds.subset(n_train=3, n_test=1)
    assert (sub.n_train, sub.n_test, sub.name, sub.image_shape) == (3, 1, "tiny", (2, 3))
    np.testing.assert_array_equal(sub.y_test, [2])
    assert ds.subset().n_train == 4
    with pytest.raises(ValueError, match="n_train=5"):
        ds.subset(n_train=5)
    with pytest.raises(ValueError, match="n_test"):
        ds.subset(n_test=-1)
    with pytest.raises(AttributeError):
        ds.name = "other"  # type: ignore[misc]
    assert "n_train=4" in repr(ds)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"x_train": np.full((4, 6), 0.5, dtype=np.float64)}, "x_train must be float32"),
        ({"y_train": np.array([0, 1, 2, 1], dtype=np.int32)}, "y_train must be int64"),
        ({"x_train": np.full((4, 2, 3), 0.5, dtype=np.float32)}, r"shape \(N, D\)"),
        ({"y_test": np.array([0], dtype=np.int64)}, "2 samples but y_test has 1"),
        ({"x_test": np.full((2, 6), 1.5, dtype=np.float32)}, r"in \[0, 1\]"),
        ({"x_test": np.full((2, 6), np.nan, dtype=np.float32)}, "finite"),
        ({"x_test": np.zeros((2, 5), dtype=np.float32)}, "5"),
        ({"y_test": np.array([3, 0], dtype=np.int64)}, "labels must lie in"),
        ({"n_classes": 1}, "n_classes"),
        ({"image_shape": (3, 3)}, "image_shape"),
        ({"image_shape": [2, 3]}, "image_shape"),
        ({"name": ""}, "name"),
    ],
)
def test_dataset_validation(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _tiny(**overrides)


# ------------------------------------------------------------------------ digits


def test_digits_sizes_dtypes_and_range() -> None:
    ds = load_digits()
    assert ds.name == "digits"
    assert ds.n_train + ds.n_test == 1797
    assert ds.n_test == 450  # ceil(0.25 * 1797)
    assert ds.n_features == 64 and ds.image_shape == (8, 8) and ds.n_classes == 10
    for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        assert x.dtype == np.float32 and y.dtype == np.int64
        assert x.min() == 0.0 and x.max() == 1.0
        assert set(np.unique(y)) == set(range(10))
    # pixel levels are k/16
    np.testing.assert_array_equal(ds.x_train * 16, np.round(ds.x_train * 16))


def test_digits_split_is_stratified() -> None:
    ds = load_digits(seed=3)
    total = np.bincount(np.concatenate([ds.y_train, ds.y_test]), minlength=10)
    test = np.bincount(ds.y_test, minlength=10)
    assert np.all(np.abs(test - 0.25 * total) <= 1.0)


def test_digits_deterministic_and_seed_dependent() -> None:
    a, b, c = load_digits(seed=0), load_digits(seed=0), load_digits(seed=1)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert a.n_train == c.n_train
    assert not np.array_equal(a.x_train, c.x_train)
    # a different seed puts different samples in the test split
    rows_a = {r.tobytes() for r in a.x_test}
    rows_c = {r.tobytes() for r in c.x_test}
    assert rows_a != rows_c


def test_digits_test_fraction() -> None:
    ds = load_digits(test_fraction=0.5)
    assert ds.n_train + ds.n_test == 1797 and abs(ds.n_test - 898.5) <= 1
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits(test_fraction=1.0)


# ------------------------------------------------------------------- IDX folders


def _write_mnist_like(
    directory: Path, gz: bool, dotted: bool = False, n_train: int = 12, n_test: int = 5
) -> tuple[np.ndarray, ...]:
    """Write four small real IDX files (uint8 5x4 images, 3 classes)."""
    rng = np.random.default_rng(1)
    xtr = rng.integers(0, 256, size=(n_train, 5, 4), dtype=np.uint8)
    xte = rng.integers(0, 256, size=(n_test, 5, 4), dtype=np.uint8)
    xtr[0, 0, 0] = 255
    ytr = (np.arange(n_train) % 3).astype(np.uint8)
    yte = (np.arange(n_test) % 3).astype(np.uint8)
    directory.mkdir(parents=True, exist_ok=True)
    sep = "." if dotted else "-"
    ext = ".gz" if gz else ""
    write_idx(directory / f"train-images{sep}idx3-ubyte{ext}", xtr)
    write_idx(directory / f"train-labels{sep}idx1-ubyte{ext}", ytr)
    write_idx(directory / f"t10k-images{sep}idx3-ubyte{ext}", xte)
    write_idx(directory / f"t10k-labels{sep}idx1-ubyte{ext}", yte)
    return xtr, ytr, xte, yte


@pytest.mark.parametrize(("gz", "dotted"), [(False, False), (True, False), (False, True)])
def test_load_idx_dir(tmp_path: Path, gz: bool, dotted: bool) -> None:
    xtr, ytr, xte, yte = _write_mnist_like(tmp_path / "mini", gz=gz, dotted=dotted)
    ds = load_idx_dir(tmp_path / "mini")
    assert ds.name == "mini"
    assert (ds.n_train, ds.n_test, ds.n_features) == (12, 5, 20)
    assert ds.image_shape == (5, 4) and ds.n_classes == 3
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    np.testing.assert_allclose(ds.x_train, xtr.reshape(12, 20) / 255.0, rtol=1e-6)
    np.testing.assert_allclose(ds.x_test, xte.reshape(5, 20) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y_train, ytr)
    np.testing.assert_array_equal(ds.y_test, yte)
    assert ds.x_train.max() == 1.0
    assert str(tmp_path / "mini") in ds.source


def test_load_idx_dir_non_uint8_scaled_by_max(tmp_path: Path) -> None:
    d = tmp_path / "wide"
    d.mkdir()
    write_idx(d / "train-images-idx3-ubyte", np.array([[[0, 500]], [[1000, 250]]], np.int16))
    write_idx(d / "t10k-images-idx3-ubyte", np.array([[[2000, 0]]], np.int16))
    write_idx(d / "train-labels-idx1-ubyte", np.array([0, 1], np.uint8))
    write_idx(d / "t10k-labels-idx1-ubyte", np.array([0], np.uint8))
    ds = load_idx_dir(d, name="wide")
    np.testing.assert_allclose(ds.x_train, [[0.0, 0.25], [0.5, 0.125]])
    np.testing.assert_allclose(ds.x_test, [[1.0, 0.0]])
    assert ds.n_classes == 2 and ds.name == "wide"


def test_load_idx_dir_label_count_mismatch(tmp_path: Path) -> None:
    d = tmp_path / "bad"
    _write_mnist_like(d, gz=False)
    write_idx(d / "t10k-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="5 images but 4 labels"):
        load_idx_dir(d)


def test_load_idx_dir_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist"
    with pytest.raises(FileNotFoundError) as err:
        load_idx_dir(missing)
    msg = str(err.value)
    assert "--data-dir" in msg and str(missing) in msg
    assert "train-images-idx3-ubyte" in msg and "t10k-labels-idx1-ubyte" in msg


def test_load_idx_dir_missing_file(tmp_path: Path) -> None:
    d = tmp_path / "partial"
    _write_mnist_like(d, gz=True)
    (d / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError) as err:
        load_idx_dir(d)
    msg = str(err.value)
    assert "t10k-labels-idx1-ubyte" in msg and "--data-dir" in msg and str(d) in msg
    assert "train-images" not in msg  # only the missing file is listed


# ---------------------------------------------------------------- load_dataset


def test_load_dataset_dispatch(tmp_path: Path) -> None:
    assert DATASETS == ("digits", "fashion-mnist", "idx")
    ds = load_dataset("digits", seed=1)
    np.testing.assert_array_equal(ds.y_train, load_digits(seed=1).y_train)
    _write_mnist_like(tmp_path / "mini", gz=True)
    assert load_dataset("idx", data_dir=str(tmp_path / "mini")).n_train == 12
    assert load_dataset(str(tmp_path / "mini")).n_test == 5
    with pytest.raises(ValueError, match="data-dir"):
        load_dataset("idx")
    with pytest.raises(ValueError, match="digits.*fashion-mnist.*idx"):
        load_dataset("cifar-10")


def test_load_dataset_fashion_alias_uses_data_dir(tmp_path: Path) -> None:
    _write_mnist_like(tmp_path / "fm", gz=True)
    for alias in ("fashion-mnist", "fashion_mnist", "Fashion-MNIST"):
        ds = load_dataset(alias, data_dir=tmp_path / "fm")
        assert ds.name == "fashion-mnist" and ds.n_train == 12
    # a parent directory with a fashion-mnist/ subdirectory also works
    _write_mnist_like(tmp_path / "parent" / "fashion-mnist", gz=False)
    assert load_fashion_mnist(tmp_path / "parent").n_test == 5


def test_fashion_mnist_missing_message(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        load_fashion_mnist(data_dir=tmp_path / "bogus")
    msg = str(err.value)
    assert "apt-get install -y dataset-fashion-mnist" in msg
    assert "--data-dir" in msg and str(tmp_path / "bogus") in msg
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_dataset("fashion-mnist", data_dir=str(tmp_path))


@pytest.mark.skipif(
    not all((Path(FASHION_MNIST_DIR) / f).is_file() for f in FASHION_FILES),
    reason=f"Fashion-MNIST not installed in {FASHION_MNIST_DIR} "
    "(apt-get install -y dataset-fashion-mnist)",
)
def test_real_fashion_mnist() -> None:
    ds = load_fashion_mnist()
    assert (ds.n_train, ds.n_test, ds.n_features, ds.n_classes) == (60000, 10000, 784, 10)
    assert ds.image_shape == (28, 28) and ds.name == "fashion-mnist"
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() == 1.0
    np.testing.assert_array_equal(np.bincount(ds.y_train), np.full(10, 6000))
    np.testing.assert_array_equal(np.bincount(ds.y_test), np.full(10, 1000))
