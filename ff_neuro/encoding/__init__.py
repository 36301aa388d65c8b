"""Encoding: label embedding and analog -> spike conversion, shared by every backend.

The same functions produce the inputs for training (torch), the fixed-point emulator and the
Lava runs, so backends are compared on identical spikes.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..model.primitives import InputEncoding, LabelEmbedding


def embed_labels(x: np.ndarray, labels: np.ndarray, emb: LabelEmbedding) -> np.ndarray:
    """Return analog inputs with the label embedded, shape ``(N, emb.input_size(D))``.

    Parameters
    ----------
    x : (N, D) array in [0, 1]
    labels : (N,) integer labels in ``[0, emb.n_classes)``
    """
    x = np.asarray(x, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    if x.ndim != 2 or labels.shape != (x.shape[0],):
        raise ValueError(f"expected x (N, D) and labels (N,), got {x.shape} and {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= emb.n_classes):
        raise ValueError(f"labels must lie in [0, {emb.n_classes})")
    n = x.shape[0]
    onehot = np.zeros((n, emb.n_classes), dtype=np.float32)
    onehot[np.arange(n), labels] = emb.amplitude
    if emb.kind == "append":
        return np.concatenate([x, onehot], axis=1)
    out = x.copy()
    if x.shape[1] < emb.n_classes:
        raise ValueError("overlay embedding needs at least n_classes input features")
    out[:, : emb.n_classes] = onehot
    return out


def image_spikes(x: np.ndarray, enc: InputEncoding, seed_offset: int = 0,
                 sample_ids: Optional[np.ndarray] = None) -> np.ndarray:
    """Rate-code analog features: ``(T, N, D)`` uint8 spikes, Bernoulli(clip(gain * x, 0, 1)).

    Without ``sample_ids`` one generator seeded ``(enc.seed, seed_offset)`` draws the whole batch
    (fast; used in training). With ``sample_ids`` each sample ``i`` gets its own generator seeded
    ``(enc.seed, seed_offset, sample_ids[i])``, so a sample's spikes do not depend on which
    other samples share the batch: evaluation uses this, and every backend sees the same spikes.
    """
    x = np.asarray(x, dtype=np.float32)
    p = np.clip(enc.gain * x, 0.0, 1.0)
    if enc.kind == "graded":  # deterministic: the analog value, quantized, at every step
        g = np.round(p * enc.levels).astype(np.uint8)
        return np.ascontiguousarray(np.broadcast_to(g[None], (enc.time_steps,) + x.shape))
    if sample_ids is None:
        rng = np.random.default_rng([enc.seed, seed_offset])
        u = rng.random((enc.time_steps,) + x.shape, dtype=np.float32)
        return (u < p[None]).astype(np.uint8)
    sample_ids = np.asarray(sample_ids, dtype=np.int64)
    if sample_ids.shape != (x.shape[0],):
        raise ValueError("sample_ids must have one id per sample")
    out = np.empty((enc.time_steps,) + x.shape, dtype=np.uint8)
    for i, sid in enumerate(sample_ids):
        rng = np.random.default_rng([enc.seed, seed_offset, int(sid)])
        out[:, i] = rng.random((enc.time_steps, x.shape[1]), dtype=np.float32) < p[i][None]
    return out


def label_spikes(labels: np.ndarray, emb: LabelEmbedding, enc: InputEncoding) -> np.ndarray:
    """Spikes of the label inputs: ``(T, N, n_classes)`` uint8 (graded: ``round(p * levels)``
    at every step).

    The one-hot label input has value ``amplitude``; rate coding with ``p = clip(gain *
    amplitude, 0, 1)`` is applied deterministically (``p >= 1`` spikes every step, ``p <= 0``
    never; fractional ``p`` spikes regularly every ``1/p`` steps) so that every candidate label of
    a sweep gets the same drive.
    """
    labels = np.asarray(labels, dtype=np.int64)
    p = float(np.clip(enc.gain * emb.amplitude, 0.0, 1.0))
    if enc.kind == "graded":
        out = np.zeros((enc.time_steps, labels.shape[0], emb.n_classes), dtype=np.uint8)
        out[:, np.arange(labels.shape[0]), labels] = int(round(p * enc.levels))
        return out
    t = np.arange(enc.time_steps)
    # Regular spikes: spike when floor((t + 1) * p) increases.
    fires = (np.floor((t + 1) * p) > np.floor(t * p)).astype(np.uint8)
    out = np.zeros((enc.time_steps, labels.shape[0], emb.n_classes), dtype=np.uint8)
    out[:, np.arange(labels.shape[0]), labels] = fires[:, None]
    return out


def encode(x: np.ndarray, labels: np.ndarray, emb: LabelEmbedding, enc: InputEncoding,
           seed_offset: int = 0, sample_ids: Optional[np.ndarray] = None) -> np.ndarray:
    """Input spikes ``(T, N, n_inputs)`` uint8 for images ``x`` with ``labels`` embedded.

    Image pixels are Bernoulli rate coded (seeded), label inputs are regular (see
    :func:`label_spikes`). For ``overlay`` embedding the first ``n_classes`` pixels are replaced.
    """
    img = image_spikes(x, enc, seed_offset, sample_ids)
    lab = label_spikes(labels, emb, enc)
    if emb.kind == "append":
        return np.concatenate([img, lab], axis=2)
    img = img.copy()
    img[:, :, : emb.n_classes] = lab
    return img


def sweep_inputs(x: np.ndarray, emb: LabelEmbedding, enc: InputEncoding,
                 seed_offset: int = 0, sample_ids: Optional[np.ndarray] = None) -> np.ndarray:
    """Inputs for the label sweep: ``(T, N, C, n_inputs)``, candidate label ``c`` in slot ``c``.

    The image spikes are drawn once per sample and shared by all candidate labels, so the only
    difference between the ``C`` runs of a sample is the label.
    """
    img = image_spikes(x, enc, seed_offset, sample_ids)  # (T, N, D)
    T, N, _ = img.shape
    C = emb.n_classes
    cand = np.arange(C)
    lab = label_spikes(cand, emb, enc)  # (T, C, C)
    if emb.kind == "append":
        return np.concatenate([np.broadcast_to(img[:, :, None, :], (T, N, C, img.shape[2])),
                               np.broadcast_to(lab[:, None, :, :], (T, N, C, C))], axis=3)
    out = np.repeat(img[:, :, None, :], C, axis=2)
    out[:, :, :, :C] = lab[:, None, :, :]
    return out
