"""FFGAF-SNN channel allocation over classes (seed 001, eq. 1-4), class-aware or uniform.

Every trainable block's output channels are split into one contiguous group per class (the
channel-wise competitive loss, eq. 5-6, compares the groups' goodness). Class-aware allocation
gives more channels to classes that are harder to tell apart::

    f_c      = mean_{i: y_i = c} f_i                                     (eq. 1, class means)
    S_{c,c'} = f_c . f_c' / (|f_c| |f_c'|)                               (eq. 2, cosine)
    s~_c     = (sum_c' S_{c,c'} - mu_s) / sigma_s                        (eq. 3, z-score)
    n_c      = floor( (s~_c - min s~ + phi) / sum_c (s~_c - min s~ + phi) * C_total )   (eq. 4)

with ``phi = 2`` (the paper's value) and ``f_i`` the flattened input image (the paper says
"feature vectors" without naming them; pixels are the features every dataset has). The floors of
eq. 4 leave ``C_total - sum_c n_c`` channels over (between 0 and K - 1); they go one each to the
classes with the largest fractional parts (largest-remainder rounding, ties to the lower class
index), so the counts sum exactly to the budget and each differs from eq. 4's real-valued share
by less than one channel. Uniform allocation: ``C_total // K`` each, the remainder one each to
the first classes.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

ALLOCATIONS = ("class-aware", "uniform")


def class_similarity(features: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Eq. 1-2: cosine similarity matrix ``(K, K)`` of the class-mean feature vectors."""
    f = np.asarray(features, dtype=np.float64).reshape(len(labels), -1)
    y = np.asarray(labels)
    means = np.zeros((n_classes, f.shape[1]))
    for c in range(n_classes):
        sel = y == c
        if not sel.any():
            raise ValueError(f"class {c} has no samples; cannot compute its mean feature")
        means[c] = f[sel].mean(axis=0)
    norms = np.linalg.norm(means, axis=1)
    if np.any(norms == 0):
        raise ValueError("a class-mean feature vector is zero; cosine similarity undefined")
    unit = means / norms[:, None]
    return unit @ unit.T


def complexity_scores(similarity: np.ndarray) -> np.ndarray:
    """Eq. 3: row sums of the similarity matrix, standardised to zero mean, unit variance
    (population standard deviation; all-equal sums give all-zero scores)."""
    sums = np.asarray(similarity, dtype=np.float64).sum(axis=1)
    sd = sums.std()
    return (sums - sums.mean()) / sd if sd > 0 else np.zeros_like(sums)


def eq4_shares(scores: np.ndarray, total: int, phi: float = 2.0) -> np.ndarray:
    """Eq. 4 before the floor: the real-valued channel share of each class (sums to ``total``)."""
    if phi <= 0:
        raise ValueError("phi must be > 0")
    s = np.asarray(scores, dtype=np.float64)
    w = s - s.min() + phi
    return w / w.sum() * total


def largest_remainder(shares: np.ndarray, total: int) -> np.ndarray:
    """``floor(shares)`` (eq. 4) plus one channel each for the largest fractional parts, so the
    counts sum to ``total``."""
    shares = np.asarray(shares, dtype=np.float64)
    counts = np.floor(shares + 1e-9).astype(np.int64)
    left = int(total - counts.sum())
    if left < 0 or left > len(shares):
        raise ValueError(f"shares do not sum to {total}")
    frac = shares - counts
    order = np.lexsort((np.arange(len(shares)), -frac))   # largest fraction, then lower index
    counts[order[:left]] += 1
    return counts


def uniform_allocation(total: int, n_classes: int) -> np.ndarray:
    """``total // K`` channels per class, the remainder one each to the first classes."""
    if total < n_classes:
        raise ValueError(f"a budget of {total} channels cannot give each of {n_classes} "
                         "classes a channel")
    counts = np.full(n_classes, total // n_classes, dtype=np.int64)
    counts[: total % n_classes] += 1
    return counts


def class_aware_allocation(scores: np.ndarray, total: int, phi: float = 2.0) -> np.ndarray:
    """Eq. 4 with largest-remainder rounding; every class keeps at least one channel."""
    k = len(scores)
    if total < k:
        raise ValueError(f"a budget of {total} channels cannot give each of {k} classes a "
                         "channel")
    counts = largest_remainder(eq4_shares(scores, total, phi), total)
    while counts.min() < 1:   # only for budgets close to K: take from the largest group
        counts[np.argmax(counts)] -= 1
        counts[np.argmin(counts)] += 1
    return counts


def allocate(kind: str, total: int, n_classes: int,
             scores: Optional[np.ndarray] = None, phi: float = 2.0) -> np.ndarray:
    """Channel counts per class for a block of ``total`` channels."""
    if kind == "uniform":
        return uniform_allocation(total, n_classes)
    if kind == "class-aware":
        if scores is None:
            raise ValueError("class-aware allocation needs the complexity scores (eq. 3)")
        return class_aware_allocation(scores, total, phi)
    raise ValueError(f"unknown allocation {kind!r} ({'|'.join(ALLOCATIONS)})")


def class_groups(counts: np.ndarray) -> np.ndarray:
    """Contiguous groups in class order: the class index of each channel, ``(sum(counts),)``."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.repeat(np.arange(len(counts)), counts)
