"""Atomic file writes: nothing half-written is ever left at the destination.

Every file ff-neuro writes (model HDF5, NetX HDF5, JSON results, plots) is written to a
temporary file in the destination directory and renamed over the target with ``os.replace``,
which is atomic on POSIX file systems. A crash mid-write leaves the previous file intact.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def clean_stale(path: PathLike) -> list:
    """Remove the temporary files that writers of ``path`` killed mid-write left behind (named
    ``.NAME.PID.*.tmp``, PID no longer running); returns the paths removed."""
    target = Path(path)
    removed = []
    try:
        candidates = list(target.parent.glob(f".{glob.escape(target.name)}.*.tmp"))
    except OSError:
        return removed
    for tmp in candidates:
        m = _TMP_NAME.fullmatch(tmp.name[len(target.name) + 1:])
        if m is None or _pid_alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed.append(tmp)
    return removed


#: the part of a temporary name after ".NAME": ".PID.RANDOM.tmp"
_TMP_NAME = re.compile(r"\.(\d+)\.[A-Za-z0-9_]+\.tmp")


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` if the block succeeds.

    The file gets the permissions of a newly created file (``0666`` less the umask); the
    temporary files of earlier writers killed mid-write are removed first (:func:`clean_stale`).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp",
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json(path: PathLike, obj: object) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def save_figure(fig, path: PathLike, dpi: int = 120) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt
    path = Path(path)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)
    return path


def foreign_hdf5_data(f) -> Optional[str]:
    """What in an open HDF5 file (h5py) is not the file's own data: the first link (soft or
    external), externally stored dataset or virtual dataset, described in a few words with its
    path; None when there is none. Model files and NetX files are refused for any (a file must
    not pull in another file's bytes), before their data is read."""
    import h5py

    def visit(group) -> Optional[str]:
        for key in group:
            link = group.get(key, getlink=True)
            if not isinstance(link, h5py.HardLink):
                return f"{group.name.rstrip('/')}/{key}: is a {type(link).__name__}"
            item = group[key]
            if isinstance(item, h5py.Group):
                found = visit(item)
                if found:
                    return found
            elif isinstance(item, h5py.Dataset):
                if item.external:
                    return (f"{item.name}: stored in external files "
                            f"{[e[0] for e in item.external]}")
                if item.is_virtual:
                    return f"{item.name}: a virtual dataset"
        return None

    return visit(f)
