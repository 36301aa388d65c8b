"""Counter-based uniform numbers for per-sample rate coding.

Evaluation gives every sample its own random stream (so a sample's spikes do not depend on the
batch it is in, and every backend sees the same spikes). Seeding one numpy ``Generator`` per
sample costs more than drawing its numbers (~25 us per sample, half of a compiled label sweep's
encoding time), so the stream is a *counter-based* generator instead, as Philox in JAX and
numpy: uniform number ``k`` of sample ``s`` is a hash of ``(key, s, k)``, computed in parallel
with no state. The hash is splitmix64's finaliser (Steele et al. 2014; it passes BigCrush on
a counter); the uniform is its top 24 bits, as ``Generator.random(dtype=float32)`` takes them.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64

from .. import numba_setup  # noqa: F401  (fork-safe threading layer)

_GOLDEN = uint64(0x9E3779B97F4A7C15)


@njit(inline="always")
def _mix(z):
    z = (z ^ (z >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> uint64(27))) * uint64(0x94D049BB133111EB)
    return z ^ (z >> uint64(31))


@njit(parallel=True, cache=True)
def _bernoulli(p, key, ids, T, out):
    N, D = p.shape
    scale = np.float32(1.0 / 16777216.0)
    for n in prange(N):
        k = _mix(key ^ _mix(uint64(ids[n]) * _GOLDEN + _GOLDEN))
        for t in range(T):
            base = k + uint64(t * D) * _GOLDEN
            for i in range(D):
                h = _mix(base + uint64(i) * _GOLDEN)
                out[t, n, i] = np.float32(h >> uint64(40)) * scale < p[n, i]


def stream_key(*seeds: int) -> int:
    """One 64-bit key from integer seeds (order matters).

    Example::

        >>> from ff_neuro.encoding.counter_rng import stream_key
        >>> stream_key(0, 10_000_000)
        538066331717029299
        >>> stream_key(10_000_000, 0) == stream_key(0, 10_000_000)
        False
    """
    k = np.uint64(0x243F6A8885A308D3)
    with np.errstate(over="ignore"):
        for s in seeds:
            z = k ^ np.uint64(int(s) & 0xFFFFFFFFFFFFFFFF)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            k = z ^ (z >> np.uint64(31))
    return int(k)


def per_sample_bernoulli(p: np.ndarray, T: int, key: int, ids: np.ndarray) -> np.ndarray:
    """``(T, N, D)`` uint8 with ``out[t, n, i] = U(key, ids[n], t, i) < p[n, i]``, ``U`` uniform
    on [0, 1) in steps of 2**-24; ``p`` (N, D).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.encoding.counter_rng import per_sample_bernoulli, stream_key
        >>> key = stream_key(0, 10_000_000)
        >>> alone = per_sample_bernoulli(np.full((1, 5), 0.5), 4, key, ids=np.array([7]))
        >>> batch = per_sample_bernoulli(np.full((3, 5), 0.5), 4, key, ids=np.array([1, 7, 2]))
        >>> alone.shape, bool(np.array_equal(alone[:, 0], batch[:, 1]))   # sample 7's stream
        ((4, 1, 5), True)
    """
    p = np.ascontiguousarray(p, dtype=np.float32)
    out = np.empty((int(T),) + p.shape, np.uint8)
    _bernoulli(p, np.uint64(key), np.ascontiguousarray(ids, dtype=np.int64), int(T), out)
    return out
