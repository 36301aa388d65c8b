"""Reader and writer for the IDX file format used by MNIST and Fashion-MNIST.

An IDX file is a small header followed by a raw big-endian payload:

* two zero bytes (the magic prefix),
* one byte giving the element type (see :data:`IDX_DTYPES`),
* one byte giving the number of dimensions ``ndim``,
* ``ndim`` big-endian ``uint32`` dimension sizes,
* ``prod(dims)`` elements of the given type, big-endian, row-major.

Files may be gzip-compressed; :func:`read_idx` recognises compression from
the gzip magic bytes (whatever the file is called), and :func:`write_idx`
compresses when the target path ends in ``.gz``.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import Union

import numpy as np

__all__ = ["IDX_DTYPES", "read_idx", "write_idx"]

PathLike = Union[str, "os.PathLike[str]"]

#: IDX type code -> big-endian numpy dtype of the payload.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
_MAX_DIM = 2**32 - 1


def _code_for_dtype(dtype: np.dtype) -> int:
    """Return the IDX type code for ``dtype`` (byte order is ignored)."""
    for code, idx_dtype in IDX_DTYPES.items():
        if dtype.kind == idx_dtype.kind and dtype.itemsize == idx_dtype.itemsize:
            return code
    supported = ", ".join(str(d.newbyteorder("=")) for d in IDX_DTYPES.values())
    raise TypeError(f"IDX cannot store dtype {dtype}; supported dtypes: {supported}")


def _read_bytes(path: Path) -> bytes:
    """Read the whole file, decompressing it if it is gzip data."""
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt gzip stream ({exc})") from exc


def read_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a numpy array.

    Parameters
    ----------
    path : str or os.PathLike
        File to read. Gzip compression is detected from the content, so both
        ``train-images-idx3-ubyte`` and ``train-images-idx3-ubyte.gz`` work.

    Returns
    -------
    numpy.ndarray
        Array with the shape stored in the header and the native-endian
        version of the stored dtype (``uint8``, ``int8``, ``int16``,
        ``int32``, ``float32`` or ``float64``).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not valid IDX: bad magic, unknown type code, truncated
        header, or a payload whose size does not match the dimensions. The
        message names the file.

    Examples
    --------
    >>> import numpy as np
    >>> from ff_neuro.data import read_idx, write_idx
    >>> write_idx("labels.idx1-ubyte.gz", np.array([3, 1, 4], dtype=np.uint8))
    >>> read_idx("labels.idx1-ubyte.gz")
    array([3, 1, 4], dtype=uint8)
    >>> from pathlib import Path
    >>> _ = Path("notes.txt").write_text("hello")
    >>> read_idx("notes.txt")
    Traceback (most recent call last):
    ...
    ValueError: notes.txt: not an IDX file (bad magic 68656c6c, expected 0000xxyy)
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: not an IDX file (only {len(data)} bytes, header needs 4)")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{path}: not an IDX file (bad magic {data[:4].hex()}, expected 0000xxyy)"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X} (known: {known})")
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise ValueError(
            f"{path}: truncated IDX header ({len(data)} bytes, {ndim} dims need {header_size})"
        )
    dims = struct.unpack(f">{ndim}I", data[4:header_size])
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header_size
    if actual != expected:
        raise ValueError(
            f"{path}: IDX payload is {actual} bytes but dims {tuple(dims)} of "
            f"{dtype.newbyteorder('=')} need {expected} bytes (file truncated or corrupt)"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header_size).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path: PathLike, array: np.ndarray) -> None:
    """Write ``array`` to ``path`` in IDX format, atomically.

    The data are written to a temporary file in the target directory, which
    then replaces ``path`` with :func:`os.replace`, so readers never see a
    partially written file. A ``.gz`` suffix selects gzip compression (with a
    fixed timestamp, so output is byte-for-byte reproducible).

    Parameters
    ----------
    path : str or os.PathLike
        Destination file; its directory must exist.
    array : numpy.ndarray
        Array of dtype ``uint8``, ``int8``, ``int16``, ``int32``, ``float32``
        or ``float64`` (any byte order), with at most 255 dimensions each
        smaller than ``2**32``.

    Raises
    ------
    TypeError
        If the dtype cannot be represented in IDX.
    ValueError
        If the array has too many dimensions or a dimension is too large.

    Examples
    --------
    >>> import numpy as np
    >>> from ff_neuro.data import read_idx, write_idx
    >>> images = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    >>> write_idx("images.idx3-ubyte", images)
    >>> bool(np.array_equal(read_idx("images.idx3-ubyte"), images))
    True
    """
    path = Path(path)
    array = np.asarray(array)
    code = _code_for_dtype(array.dtype)
    if array.ndim > 255:
        raise ValueError(f"IDX supports at most 255 dimensions, got {array.ndim}")
    if any(d > _MAX_DIM for d in array.shape):
        raise ValueError(f"IDX dimensions must be < 2**32, got shape {array.shape}")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()

    from ..fileio import atomic_path
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        if path.suffix == ".gz":
            with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
                gz.write(header)
                gz.write(payload)
        else:
            fh.write(header)
            fh.write(payload)
        fh.flush()
        os.fsync(fh.fileno())
