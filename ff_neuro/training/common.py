"""Small pieces the training rules share, without torch (the configuration and ``--help``
paths import them)."""
from __future__ import annotations

import numpy as np

from ..model.neuron import DECAY_UNITY


def random_wrong_labels(y: np.ndarray, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly drawn label different from ``y`` for every sample."""
    return (y + rng.integers(1, n_classes, size=y.shape)) % n_classes


def quantized_v_decay(beta: float) -> float:
    """``1 - beta`` rounded to Loihi's 12-bit decay grid."""
    return round((1.0 - beta) * DECAY_UNITY) / DECAY_UNITY
