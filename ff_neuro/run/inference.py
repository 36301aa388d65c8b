"""Forward-Forward inference by label sweep, on any backend."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import numpy as np

from ..encoding import sweep_inputs_factored
from ..model.primitives import FFNetwork
from .backend import Backend, LayerSpikes

#: Seed offset of test-time input spikes (training draws its own offsets).
TEST_SEED_OFFSET = 10_000_000


def goodness(counts: List[np.ndarray], time_steps: int, kind: str = "mean_sq") -> np.ndarray:
    """Per-layer goodness ``G_k = mean_j (count_j / T)^2`` (``kind="sum_sq"``: sum over
    neurons): returns ``(L, B)``."""
    sq = []
    for c in counts:     # sum of squared counts, in integers when the counts are integers
        c = c.astype(np.int64) if np.issubdtype(c.dtype, np.integer) else c.astype(np.float64)
        sq.append(np.einsum("bj,bj->b", c, c))
    return goodness_from_sums(sq, [c.shape[1] for c in counts], time_steps, kind)


def goodness_from_sums(sq: List[np.ndarray], widths: List[int], time_steps: int,
                       kind: str = "mean_sq") -> np.ndarray:
    """:func:`goodness` from each layer's ``sum_j count_j**2`` (see
    :meth:`LayerSpikes.sum_sq_counts`) and width ``n_k``: ``(L, B)``."""
    out = []
    for s, n in zip(sq, widths):
        g = np.asarray(s).astype(np.float64) / time_steps ** 2
        out.append(g / n if kind == "mean_sq" else g)
    return np.stack(out)


def symmetric_goodness(counts: List[np.ndarray], time_steps: int,
                       eps: float = 0.01) -> np.ndarray:
    """Per-layer symmetric goodness (P_sym of Hebbian FFA) from spike counts ``(B, n_k)``: the
    first half of a layer is its positive population, the second its negative one;
    ``(G+ + eps) / (G+ + G- + 2 eps)``, ``G+-`` the sums of ``(count / T)^2`` over the halves.
    Returns ``(L, B)``."""
    out = []
    for c in counts:
        r = np.asarray(c, dtype=np.float64) / time_steps
        h = r.shape[1] // 2
        gp = np.einsum("bj,bj->b", r[:, :h], r[:, :h])
        gn = np.einsum("bj,bj->b", r[:, h:], r[:, h:])
        out.append((gp + eps) / (gp + gn + 2 * eps))
    return np.stack(out)


@dataclass
class SweepResult:
    """Result of a label sweep over ``N`` samples and ``C`` candidate labels.

    ``goodness``: (L, N, C) per-layer goodness; ``predictions``: (N,); ``spikes``: the backend's
    per-layer spikes reshaped to ``(T, N, C, n_k)`` when kept.
    """

    goodness: np.ndarray
    predictions: np.ndarray
    spikes: Optional[List[np.ndarray]] = None
    #: mean number of input spikes per run (one sample, one candidate label), as fed
    input_spikes_per_run: float = 0.0

    def accuracy(self, labels: np.ndarray) -> float:
        return float(np.mean(self.predictions == np.asarray(labels)))


def predict_from_goodness(g: np.ndarray, from_layer: int = 0) -> np.ndarray:
    """argmax over candidate labels of goodness summed over layers ``>= from_layer``."""
    return np.argmax(g[from_layer:].sum(axis=0), axis=1)


def label_sweep(backend: Backend, net: FFNetwork, x: np.ndarray, *, keep_spikes: bool = False,
                chunk: int = 256, seed_offset: int = TEST_SEED_OFFSET,
                sample_ids: Optional[np.ndarray] = None) -> SweepResult:
    """Run every candidate label for every sample of ``x`` (N, D) on ``backend``.

    Input spikes come from :func:`ff_neuro.encoding.sweep_inputs_factored` with the model's encoding and
    one generator per sample (``sample_ids``, default ``0..N-1``: the index in the test split), so
    every backend sees identical spikes for the same sample whatever the chunking.
    """
    T = net.encoding.time_steps
    C = net.n_classes
    goods, kept = [], []
    symmetric = net.goodness == "symmetric"  # needs each half's counts, not one sum
    n_input_spikes = 0
    for start in range(0, x.shape[0], chunk):
        xs = x[start:start + chunk]
        ids = np.arange(start, start + xs.shape[0]) if sample_ids is None else sample_ids[start:start + chunk]
        img, lab = sweep_inputs_factored(xs, net.label_embedding, net.encoding,
                                         seed_offset=seed_offset, sample_ids=ids)
        n = xs.shape[0]
        # graded: one event per message; image and label inputs are disjoint
        n_input_spikes += C * int(np.count_nonzero(img)) + n * int(np.count_nonzero(lab))
        if keep_spikes or symmetric:
            res: LayerSpikes = backend.run_factored(net, img, lab)
            if keep_spikes:
                kept.append([s.reshape(T, n, C, s.shape[-1]) for s in res.spikes])
        if symmetric:
            g = symmetric_goodness(res.counts(), T, net.goodness_eps)
        else:
            sq = res.sum_sq_counts() if keep_spikes else backend.sum_sq_counts_factored(
                net, img, lab)
            g = goodness_from_sums(sq, [layer.n_out for layer in net.layers], T, net.goodness)
        g = g.reshape(len(net.layers), n, C)
        goods.append(g)
    g = np.concatenate(goods, axis=1)
    spikes = None
    if keep_spikes:
        spikes = [np.concatenate([k[i] for k in kept], axis=1) for i in range(len(net.layers))]
    return SweepResult(goodness=g, predictions=predict_from_goodness(g, net.goodness_from_layer),
                       spikes=spikes,
                       input_spikes_per_run=n_input_spikes / max(1, x.shape[0] * C))
