"""Encoding: label embedding and analog -> spike conversion, shared by every backend.

The same functions produce the inputs for training (torch), the fixed-point emulator and the
Lava runs, so backends are compared on identical spikes.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..model.encoder import AnalogConvEncoder, InputEncoding, LabelEmbedding


def embed_labels(x: np.ndarray, labels: np.ndarray, emb: LabelEmbedding) -> np.ndarray:
    """Return analog inputs with the label embedded, shape ``(N, emb.input_size(D))``.

    Parameters
    ----------
    x : (N, D) array in [0, 1]
    labels : (N,) integer labels in ``[0, emb.n_classes)``

    Examples
    --------
    >>> import numpy as np
    >>> from ff_neuro.encoding import embed_labels
    >>> from ff_neuro.model import LabelEmbedding
    >>> x = np.array([[0.2, 0.8], [1.0, 0.0]])
    >>> embed_labels(x, np.array([2, 0]), LabelEmbedding(n_classes=3))    # appended one-hot
    array([[0.2, 0.8, 0. , 0. , 1. ],
           [1. , 0. , 1. , 0. , 0. ]], dtype=float32)
    >>> overlay = LabelEmbedding(kind="overlay", n_classes=3)             # the first pixels
    >>> embed_labels(np.ones((1, 4)), np.array([1]), overlay)
    array([[0., 1., 0., 1.]], dtype=float32)
    """
    x = np.asarray(x, dtype=np.float32)
    labels = np.asarray(labels, dtype=np.int64)
    if x.ndim != 2 or labels.shape != (x.shape[0],):
        raise ValueError(f"expected x (N, D) and labels (N,), got {x.shape} and {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= emb.n_classes):
        raise ValueError(f"labels must lie in [0, {emb.n_classes})")
    vec = emb.vectors()[labels]
    if emb.kind != "overlay":
        return np.concatenate([x, vec], axis=1)
    out = x.copy()
    if x.shape[1] < emb.width:
        raise ValueError("overlay embedding needs at least n_classes input features")
    out[:, : emb.width] = vec
    return out


def image_spikes(x: np.ndarray, enc: InputEncoding, seed_offset: int = 0,
                 sample_ids: Optional[np.ndarray] = None) -> np.ndarray:
    """Rate-code analog features: ``(T, N, D)`` uint8 spikes, Bernoulli(clip(gain * x, 0, 1));
    graded: the quantized value at every step; sequence: frame ``t`` of each sample at step
    ``t``, ``(T, N, D / T)``.

    Without ``sample_ids`` one generator seeded ``(enc.seed, seed_offset)`` draws the whole batch
    (fast; used in training). With ``sample_ids`` each sample ``i`` gets its own stream, keyed
    by ``(enc.seed, seed_offset, sample_ids[i])`` (a counter-based generator,
    :mod:`ff_neuro.encoding.counter_rng`), so a sample's spikes do not depend on which other
    samples share the batch: evaluation uses this, and every backend sees the same spikes.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.encoding import image_spikes
        >>> from ff_neuro.model import InputEncoding
        >>> enc = InputEncoding(time_steps=8)
        >>> s = image_spikes(np.array([[0.0, 0.5, 1.0]]), enc, sample_ids=np.array([0]))
        >>> s.shape, s.dtype, s.sum(axis=0).tolist()             # (T, N, D); counts per pixel
        ((8, 1, 3), dtype('uint8'), [[0, 4, 8]])
        >>> batch = image_spikes(np.array([[0.5, 0.5, 1.0], [0.0, 0.5, 1.0]]), enc,
        ...                      sample_ids=np.array([5, 0]))
        >>> bool(np.array_equal(batch[:, 1], s[:, 0]))           # sample 0: the same spikes
        True
        >>> graded = InputEncoding(kind="graded", time_steps=4, levels=15)
        >>> image_spikes(np.array([[0.0, 0.5, 1.0]]), graded)[0]   # the value, every step
        array([[ 0,  8, 15]], dtype=uint8)
    """
    x = np.asarray(x, dtype=np.float32)
    p = np.clip(enc.gain * x, 0.0, 1.0)
    if enc.kind == "sequence":  # frame t at step t, quantized
        g = np.round(p * enc.levels).astype(np.uint8)
        g = g.reshape(x.shape[0], enc.time_steps, -1)
        return np.ascontiguousarray(g.transpose(1, 0, 2))
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
    from .counter_rng import per_sample_bernoulli, stream_key
    return per_sample_bernoulli(p, enc.time_steps, stream_key(enc.seed, seed_offset), sample_ids)


def value_spikes(values: np.ndarray, enc: InputEncoding) -> np.ndarray:
    """Deterministic spikes for label-input values ``(N, W)`` -> ``(T, N, W)`` uint8.

    Rate coding with ``p = clip(gain * value, 0, 1)`` applied *regularly* (a spike whenever
    ``floor((t + 1) p)`` increases: ``p = 1`` every step, ``p = 0.5`` every other step), so every
    candidate label of a sweep gets the same drive; graded encoding sends ``round(p * levels)``
    at every step.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.encoding import value_spikes
        >>> from ff_neuro.model import InputEncoding
        >>> value_spikes(np.array([[1.0, 0.5, 0.25]]), InputEncoding(time_steps=4))[:, 0]
        array([[1, 0, 0],
               [1, 1, 0],
               [1, 0, 0],
               [1, 1, 1]], dtype=uint8)
    """
    p = np.clip(enc.gain * np.asarray(values, dtype=np.float64), 0.0, 1.0)
    T = enc.time_steps
    if enc.kind == "graded":
        g = np.round(p * enc.levels).astype(np.uint8)
        return np.ascontiguousarray(np.broadcast_to(g[None], (T,) + g.shape))
    t = np.arange(T, dtype=np.float64).reshape((T,) + (1,) * p.ndim)
    return (np.floor((t + 1) * p[None]) > np.floor(t * p[None])).astype(np.uint8)


def label_spikes(labels: np.ndarray, emb: LabelEmbedding, enc: InputEncoding) -> np.ndarray:
    """Spikes of the label inputs for ``labels``: ``(T, N, emb.width)`` uint8
    (see :func:`value_spikes`; values from :meth:`LabelEmbedding.vectors`).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.encoding import label_spikes
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding
        >>> emb, enc = LabelEmbedding(n_classes=3), InputEncoding(time_steps=4)
        >>> label_spikes(np.array([1]), emb, enc)[:, 0]          # label 1: every step
        array([[0, 1, 0],
               [0, 1, 0],
               [0, 1, 0],
               [0, 1, 0]], dtype=uint8)
    """
    labels = np.asarray(labels, dtype=np.int64)
    return value_spikes(emb.vectors()[labels], enc)


def neutral_label_spikes(n: int, emb: LabelEmbedding, enc: InputEncoding) -> np.ndarray:
    """Spikes of a *neutral* label (the mean of all class vectors, Hinton 2022): ``(T, n, W)``.

    Example::

        >>> from ff_neuro.encoding import neutral_label_spikes
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding
        >>> s = neutral_label_spikes(1, LabelEmbedding(n_classes=2), InputEncoding(time_steps=4))
        >>> s[:, 0]                               # value 1/2 on every label input
        array([[0, 0],
               [1, 1],
               [0, 0],
               [1, 1]], dtype=uint8)
    """
    mean = emb.vectors().mean(axis=0, keepdims=True)
    return np.ascontiguousarray(np.broadcast_to(value_spikes(mean, enc),
                                                (enc.time_steps, n, emb.width)))


def combine(img: np.ndarray, lab: np.ndarray, emb: LabelEmbedding) -> np.ndarray:
    """Image spikes ``(T, N, D)`` + label spikes ``(T, N, W)`` -> input spikes.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.encoding import combine
        >>> from ff_neuro.model import LabelEmbedding
        >>> img, lab = np.zeros((4, 2, 5), np.uint8), np.ones((4, 2, 3), np.uint8)
        >>> combine(img, lab, LabelEmbedding(n_classes=3)).shape          # appended
        (4, 2, 8)
        >>> combine(img, lab, LabelEmbedding(kind="overlay", n_classes=3))[0, 0]
        array([1, 1, 1, 0, 0], dtype=uint8)
    """
    if emb.kind == "overlay":
        if img.shape[2] < emb.width:
            raise ValueError("overlay embedding needs at least n_classes input features")
        out = img.copy()
        out[:, :, : emb.width] = lab
        return out
    return np.concatenate([img, lab], axis=2)


def encode(x: np.ndarray, labels: np.ndarray, emb: LabelEmbedding, enc: InputEncoding,
           seed_offset: int = 0, sample_ids: Optional[np.ndarray] = None) -> np.ndarray:
    """Input spikes ``(T, N, n_inputs)`` uint8 for images ``x`` with ``labels`` embedded.

    Image pixels are Bernoulli rate coded (seeded), label inputs are regular (see
    :func:`label_spikes`). For ``overlay`` embedding the first ``n_classes`` pixels are replaced.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.encoding import encode
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding
        >>> x = np.array([[0.2, 0.8], [1.0, 0.0]])
        >>> s = encode(x, np.array([2, 0]), LabelEmbedding(n_classes=3),
        ...            InputEncoding(time_steps=4))
        >>> s.shape, s[:, 0, 2:].sum(axis=0).tolist()   # sample 0's label inputs: label 2
        ((4, 2, 5), [0, 0, 4])
    """
    return combine(image_spikes(x, enc, seed_offset, sample_ids), label_spikes(labels, emb, enc),
                   emb)


def sweep_inputs(x: np.ndarray, emb: LabelEmbedding, enc: InputEncoding,
                 seed_offset: int = 0, sample_ids: Optional[np.ndarray] = None) -> np.ndarray:
    """Inputs for the label sweep: ``(T, N, C, n_inputs)``, candidate label ``c`` in slot ``c``.

    The image spikes are drawn once per sample and shared by all candidate labels, so the only
    difference between the ``C`` runs of a sample is the label.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.encoding import sweep_inputs
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding
        >>> s = sweep_inputs(np.array([[0.2, 0.8]]), LabelEmbedding(n_classes=3),
        ...                  InputEncoding(time_steps=4))
        >>> s.shape                                # (T, N, C, n_inputs)
        (4, 1, 3, 5)
        >>> bool(np.array_equal(s[:, :, 0, :2], s[:, :, 2, :2]))    # one image for every label
        True
    """
    img = image_spikes(x, enc, seed_offset, sample_ids)  # (T, N, D)
    T, N, D = img.shape
    C, W = emb.n_classes, emb.width
    lab = label_spikes(np.arange(C), emb, enc)  # (T, C, W)
    if emb.kind != "overlay":
        return np.concatenate([np.broadcast_to(img[:, :, None, :], (T, N, C, D)),
                               np.broadcast_to(lab[:, None, :, :], (T, N, C, W))], axis=3)
    out = np.repeat(img[:, :, None, :], C, axis=2)
    out[:, :, :, :W] = lab[:, None, :, :]
    return out


def sweep_inputs_factored(x: np.ndarray, emb: LabelEmbedding, enc: InputEncoding,
                          seed_offset: int = 0, sample_ids: Optional[np.ndarray] = None):
    """:func:`sweep_inputs` in two shared parts: ``(img (T, N, n_inputs), lab (T, C, n_inputs))``
    with ``sweep_inputs(...)[:, n, c] == img[:, n] + lab[:, c]``.

    ``img`` holds the image spikes with the label inputs zero (for ``overlay``: the first
    ``n_classes`` pixels zeroed), ``lab`` the candidate labels' spikes with the image inputs zero.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.encoding import sweep_inputs, sweep_inputs_factored
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding
        >>> x = np.array([[0.2, 0.8], [1.0, 0.0]])
        >>> emb, enc = LabelEmbedding(n_classes=3), InputEncoding(time_steps=4)
        >>> img, lab = sweep_inputs_factored(x, emb, enc)
        >>> img.shape, lab.shape
        ((4, 2, 5), (4, 3, 5))
        >>> bool(np.array_equal(img[:, 1] + lab[:, 2], sweep_inputs(x, emb, enc)[:, 1, 2]))
        True
    """
    img = image_spikes(x, enc, seed_offset, sample_ids)  # (T, N, D)
    T, N, D = img.shape
    C, W = emb.n_classes, emb.width
    lab = label_spikes(np.arange(C), emb, enc)  # (T, C, W)
    if emb.kind == "overlay":
        if D < W:
            raise ValueError("overlay embedding needs at least n_classes input features")
        img[:, :, :W] = 0
        lab_full = np.zeros((T, C, D), np.uint8)
        lab_full[:, :, :W] = lab
        return img, lab_full
    img_full = np.zeros((T, N, D + W), np.uint8)
    img_full[:, :, :D] = img
    lab_full = np.zeros((T, C, D + W), np.uint8)
    lab_full[:, :, D:] = lab
    return img_full, lab_full



def images(x: np.ndarray, shape) -> np.ndarray:
    """Flat dataset rows ``(N, D)`` as ``(N, *shape)`` (e.g. a conv encoder's (C, H, W)).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.encoding import images
        >>> images(np.zeros((5, 64)), (1, 8, 8)).shape
        (5, 1, 8, 8)
    """
    x = np.asarray(x, dtype=np.float32)
    shape = tuple(int(s) for s in shape)
    if x.ndim == 2:
        if x.shape[1] != int(np.prod(shape)):
            raise ValueError(f"the dataset has {x.shape[1]} features; the model's input takes "
                             f"{shape} = {int(np.prod(shape))}")
        x = x.reshape((-1,) + shape)
    return x


def network_inputs(net, x: np.ndarray, labels: Optional[np.ndarray] = None,
                   seed_offset: int = 0, sample_ids: Optional[np.ndarray] = None) -> np.ndarray:
    """The input messages of ``net``'s first layer for samples ``x`` (N, D): ``(T, N,
    *input_shape)`` uint8, every backend's input.

    :class:`~ff_neuro.model.InputEncoding`: the image spikes of :func:`image_spikes`, and, for a
    network with a label embedding, the label inputs of ``labels`` (None: a *neutral* label,
    the mean of all class vectors, Hinton 2022). :class:`~ff_neuro.model.AnalogConvEncoder`:
    the host encoder's integer levels, the same at every step.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.encoding import network_inputs
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> net = ffn.Network([Layer.dense(weight=np.ones((4, 5)), threshold=1.0)],
        ...                   label_embedding=LabelEmbedding(n_classes=3),
        ...                   encoder=InputEncoding(time_steps=4))
        >>> x = np.array([[0.2, 0.8], [1.0, 0.0]])
        >>> network_inputs(net, x).shape                 # (T, N, 2 pixels + 3 label inputs)
        (4, 2, 5)
        >>> network_inputs(net, x)[:, 0, 2:]             # the neutral label: 1/3 each
        array([[0, 0, 0],
               [0, 0, 0],
               [1, 1, 1],
               [0, 0, 0]], dtype=uint8)
        >>> network_inputs(net, x, labels=np.array([2, 0]))[:, 0, 2:].sum(axis=0).tolist()
        [0, 0, 4]
    """
    enc = net.encoder
    shape = tuple(net.input_shape)
    if isinstance(enc, AnalogConvEncoder):
        k = enc.forward(images(x, enc.in_shape))
        return np.ascontiguousarray(np.broadcast_to(k[None], (enc.time_steps,) + k.shape))
    emb = net.label_embedding
    if emb is None:
        img = image_spikes(x, enc, seed_offset, sample_ids)
        return img.reshape(img.shape[:2] + shape)
    if labels is None:
        return combine(image_spikes(x, enc, seed_offset, sample_ids),
                       neutral_label_spikes(x.shape[0], emb, enc), emb)
    return encode(x, labels, emb, enc, seed_offset, sample_ids)
