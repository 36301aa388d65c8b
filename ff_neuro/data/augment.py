"""Training-time data augmentation for image datasets (flattened rows, pixels in [0, 1]).

FF networks overfit small image sets quickly: the 784-500-500 spiking FF model on
Fashion-MNIST reached 94.5 % on training data and 88.4 % on the test set after 261 epochs
(``benchmarks/results/ff_fashion_swish.json``). Random mirror images and small shifts are the standard
remedy for such a gap in image MLPs; they change only what the trainer sees, never the network,
so a model trained with them deploys exactly as one trained without.

Kinds (``FFTrainConfig.augment``):

* ``"flip"``: each image mirrored left-right with probability 1/2. Right for datasets whose
  classes are mirror-symmetric (clothing: Fashion-MNIST); wrong for digits or letters.
* ``"shift"``: each image moved by a random whole-pixel offset in ``[-s, s]`` along each axis,
  the uncovered border filled with 0 (``s = FFTrainConfig.augment_shift``).
* ``"flip+shift"``: both.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

AUGMENTS = ("none", "flip", "shift", "flip+shift")


def augment_images(x: np.ndarray, image_shape: Sequence[int], kind: str, shift: int,
                   rng: np.random.Generator) -> np.ndarray:
    """A randomly augmented copy of ``x`` ``(N, H*W)`` (``kind`` in :data:`AUGMENTS`).

    Draws from ``rng`` only when ``kind`` is not ``"none"``: ``N`` flip coins first, then
    ``2 N`` shift offsets, so a run is reproducible from its seed.
    """
    if kind not in AUGMENTS:
        raise ValueError(f"unknown augmentation {kind!r} ({'|'.join(AUGMENTS)})")
    if kind == "none":
        return x
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 2 or shape[0] * shape[1] != x.shape[1]:
        raise ValueError(f"augmentation needs 2-D images; image_shape {shape} does not match "
                         f"{x.shape[1]} features")
    n = x.shape[0]
    h, w = shape
    img = x.reshape(n, h, w)
    if "flip" in kind:
        flip = rng.random(n) < 0.5
        img = np.where(flip[:, None, None], img[:, :, ::-1], img)
    if "shift" in kind and shift > 0:
        s = int(shift)
        dy, dx = rng.integers(-s, s + 1, size=(2, n))
        padded = np.zeros((n, h + 2 * s, w + 2 * s), dtype=x.dtype)
        padded[:, s:s + h, s:s + w] = img
        # output pixel (i, j) of sample b reads padded[b, i + s - dy_b, j + s - dx_b]
        rows = (np.arange(h)[None, :] + s - dy[:, None])[:, :, None]
        cols = (np.arange(w)[None, :] + s - dx[:, None])[:, None, :]
        img = padded[np.arange(n)[:, None, None], rows, cols]
    return np.ascontiguousarray(img.reshape(n, h * w), dtype=x.dtype)
