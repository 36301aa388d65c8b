"""One-pass linear readout: classify from hidden spike counts with a neutral label.

The label sweep costs one run per candidate label. The readout instead runs the network once
with a *neutral* label (every label input at ``amplitude / n_classes``, Hinton 2022) and feeds the
spike rates of the hidden layers (``>= goodness_from_layer``) to a softmax-regression classifier
fitted on the training set (scikit-learn ``LogisticRegression``)::

    logits = W_r @ concat_k(count_k / T) + b_r,     prediction = argmax(logits)

The readout runs on the host (``C x H`` MACs per inference); the spiking part runs on any
backend, so its accuracy can be compared across torch, emulator and Lava.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..encoding import combine, image_spikes, neutral_label_spikes
from ..model.primitives import FFNetwork, LinearReadout
from .backend import Backend
from .inference import TEST_SEED_OFFSET

#: Seed offset of the training-set draws used to fit the readout.
READOUT_SEED_OFFSET = 30_000_000


def neutral_inputs(net: FFNetwork, x: np.ndarray, seed_offset: int,
                   sample_ids: Optional[np.ndarray] = None) -> np.ndarray:
    """Input spikes ``(T, N, n_in)`` with a neutral label (mean of all class vectors)."""
    img = image_spikes(x, net.encoding, seed_offset, sample_ids)
    lab = neutral_label_spikes(x.shape[0], net.label_embedding, net.encoding)
    return combine(img, lab, net.label_embedding)


def hidden_features(backend: Backend, net: FFNetwork, x: np.ndarray, from_layer: int,
                    seed_offset: int = TEST_SEED_OFFSET, chunk: int = 1024) -> np.ndarray:
    """Spike rates of layers ``>= from_layer`` for neutral-label inputs: ``(N, H)``."""
    T = net.encoding.time_steps
    feats = []
    for start in range(0, x.shape[0], chunk):
        xs = x[start:start + chunk]
        inp = neutral_inputs(net, xs, seed_offset, np.arange(start, start + xs.shape[0]))
        counts = backend.run(net, inp).counts()
        feats.append(np.concatenate(counts[from_layer:], axis=1) / T)
    return np.concatenate(feats, axis=0)


def fit_readout(backend: Backend, net: FFNetwork, x_train: np.ndarray, y_train: np.ndarray,
                from_layer: Optional[int] = None, c: float = 1.0) -> LinearReadout:
    """Fit the readout on hidden rates of the training set (neutral label, one pass)."""
    from sklearn.linear_model import LogisticRegression
    from_layer = net.goodness_from_layer if from_layer is None else from_layer
    f = hidden_features(backend, net, x_train, from_layer, seed_offset=READOUT_SEED_OFFSET)
    clf = LogisticRegression(C=c, max_iter=2000)
    clf.fit(f, y_train)
    return LinearReadout(weight=clf.coef_, bias=clf.intercept_, from_layer=from_layer)


def readout_accuracy(backend: Backend, net: FFNetwork, readout: LinearReadout, x: np.ndarray,
                     y: np.ndarray, chunk: int = 1024) -> float:
    f = hidden_features(backend, net, x, readout.from_layer, chunk=chunk)
    return float(np.mean(readout.predict(f) == y))
