"""Shared fixtures. Nothing here sets a multiprocessing start method: importing Lava does
(fork), and it fails if one was set first."""
from __future__ import annotations

# Lava sets the multiprocessing start method to "fork" at import and fails if any other library
# (scikit-learn/joblib, torch) fixed the context first; import it before anything else so the
# tests that call Lava's own functions in-process can. Lava *runs* happen in a child process.
try:
    import lava.magma.core.process.process  # noqa: F401,E402
    HAVE_LAVA = True
except ImportError:             # the Lava-free tier (Python > 3.10: `make test-core`)
    HAVE_LAVA = False

import os

import numpy as np
import pytest

from ff_neuro.model import InputEncoding, LabelEmbedding, Layer, Network


def random_net(seed: int = 0, sizes=(20, 16, 8), v_decay: float = 410 / 4096,
               threshold: float = 1.0, bias: bool = False, w_std: float = 0.5,
               n_classes: int = 4, time_steps: int = 8) -> Network:
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers.append(Layer.dense(
            weight=rng.normal(0.0, w_std, (n_out, n_in)), threshold=threshold, v_decay=v_decay,
            bias=rng.normal(0.0, 0.1, n_out) if bias else None))
    return Network(layers=layers, label_embedding=LabelEmbedding(n_classes=n_classes),
                   encoder=InputEncoding(time_steps=time_steps))


def ff_net(layers, **kw) -> Network:
    """A Forward-Forward network of ``layers`` with the default label embedding."""
    kw.setdefault("label_embedding", LabelEmbedding())
    return Network(layers=layers, **kw)


def reseal(path, content: bool = True) -> None:
    """Make an edited model file's checksums match again (its content digest, then the header),
    as a writer that knows the format would, so that the field validation behind them is what
    answers. ``content=False``: the header only (for files whose content cannot be read)."""
    import h5py
    from ff_neuro.model.io import DIGEST_ATTR, content_digest, write_header
    if content:
        with h5py.File(path, "r+") as f:
            f.attrs[DIGEST_ATTR] = content_digest(f)
    write_header(path)


def random_spikes(seed: int, T: int, B: int, n: int, p: float = 0.3) -> np.ndarray:
    return (np.random.default_rng(seed).random((T, B, n)) < p).astype(np.uint8)


def pytest_configure(config):
    config.addinivalue_line("markers", "lava: needs Lava (the lava extra, Python 3.10)")


def pytest_collection_modifyitems(config, items):
    """Without Lava, the tests marked ``lava`` are deselected (reported, not skipped): the
    Lava-free tier runs everything else."""
    if HAVE_LAVA:
        return
    keep = [i for i in items if "lava" not in i.keywords]
    dropped = [i for i in items if "lava" in i.keywords]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(scope="session", autouse=True)
def _lava_log_dir(tmp_path_factory):
    """Failed Lava runs leave their details in a log folder: the tests' go to pytest's."""
    os.environ["FF_NEURO_LOG_DIR"] = str(tmp_path_factory.mktemp("lava-logs"))


@pytest.fixture(scope="session")
def digits():
    from ff_neuro.data import load_digits
    return load_digits()
