"""Latent analytics of a network's hidden activity: per-layer Hoyer sparsity and separability
indices (Terres-Escudero et al., 2024, eqs. 9 and 10) and a t-SNE map of the last layer.

The network runs on the float backend with a neutral label (the label inputs do not give the
class away). Silent layers (no spike for any sample) and saturated layers (every neuron fires
every step) are reported as such, with no index that would be undefined; a t-SNE map needs
spike counts that differ between samples and is skipped, with the reason, when they do not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

#: fewest samples the indices and the map are computed on (5 nearest neighbours each)
MIN_SAMPLES = 10


@dataclass
class LayerAnalytics:
    """One hidden layer's figures over the samples analysed."""

    layer: int
    rate: float                    # mean spikes per neuron per time step
    state: str                     # "active", "silent" or "saturated"
    hoyer: Optional[float]         # None: no sample has any spike in the layer
    separability: Optional[float]  # None: every sample has the same spike counts

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class LatentAnalysis:
    layers: List[LayerAnalytics]
    counts: List[np.ndarray] = field(repr=False)  # per layer (Q, n) spike counts
    labels: np.ndarray = field(repr=False)

    @property
    def tsne_skip_reason(self) -> Optional[str]:
        """Why the last layer has no t-SNE map (None: it has one)."""
        c = self.counts[-1]
        if len(np.unique(c, axis=0)) >= 2:
            return None
        last = self.layers[-1]
        what = {"silent": "is silent (no spike for any sample)",
                "saturated": "is saturated (every neuron fires at every step)"}.get(
            last.state, "gives every sample the same spike counts")
        return f"no t-SNE map: layer {last.layer} {what}"


def _state(rate: float) -> str:
    return "silent" if rate == 0.0 else "saturated" if rate == 1.0 else "active"


def analyze_latents(net, x: np.ndarray, y: np.ndarray) -> LatentAnalysis:
    """Run ``net`` (float backend, neutral label) on test samples ``x`` (labels ``y``, at least
    :data:`MIN_SAMPLES`) and compute each hidden layer's rate, Hoyer and separability indices."""
    from . import checks
    from .encoding import network_inputs
    from .run import TEST_SEED_OFFSET, get_backend
    from .training.hebbian import hoyer_index, separability_index
    x = net.check_inputs(x)
    y = net.check_labels(y, len(x))
    checks.integer("the number of samples", len(y), low=MIN_SAMPLES)
    inp = network_inputs(net, x, seed_offset=TEST_SEED_OFFSET, sample_ids=np.arange(len(y)))
    counts = [c.reshape(len(c), -1) for c in get_backend("float").run(net, inp).counts()]
    layers = []
    for k, c in enumerate(counts):
        f = c.astype(np.float64) / net.time_steps
        rate = float(f.mean())
        h = hoyer_index(f) if f.shape[1] >= 2 else np.full(len(f), np.nan)
        varied = len(np.unique(c, axis=0)) >= 2
        layers.append(LayerAnalytics(
            layer=k, rate=rate, state=_state(rate),
            hoyer=float(np.nanmean(h)) if np.isfinite(h).any() else None,
            separability=float(separability_index(f, y)) if varied else None))
    return LatentAnalysis(layers=layers, counts=counts, labels=np.asarray(y))


def tsne_figure(analysis: LatentAnalysis, seed: int = 0):
    """A matplotlib figure of the t-SNE map of the last layer's spike counts; None (see
    ``analysis.tsne_skip_reason``) when the counts are the same for every sample."""
    if analysis.tsne_skip_reason is not None:
        return None
    from sklearn.manifold import TSNE
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    c = analysis.counts[-1].astype(np.float64)
    y = analysis.labels
    emb = TSNE(n_components=2, random_state=seed, init="pca",
               perplexity=min(30, max(5, len(y) // 4))).fit_transform(c)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    sc = ax.scatter(emb[:, 0], emb[:, 1], c=y, cmap="tab10", s=6)
    ax.legend(*sc.legend_elements(), fontsize=7, title="label", loc="best")
    ax.set_title(f"t-SNE of layer {len(analysis.counts)} spike counts ({len(y)} test samples)")
    ax.set_xticks([])
    ax.set_yticks([])
    return fig
