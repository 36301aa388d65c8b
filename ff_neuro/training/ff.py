"""Spiking Forward-Forward training (Hinton 2022; spiking FF as in Ghader et al. 2025).

Each layer is trained on its own objective: goodness ``G = mean_j (count_j / T)^2`` of its spike
counts should be high for positive data (image + true label) and low for negative data (image +
a wrong label). Surrogate gradients flow through time *inside* a layer only; the next layer's
input spikes are detached, so no gradient crosses layers (no backpropagation through the net).

Neurons are snnTorch ``Leaky`` with reset to zero and no reset delay (``make_leaky``), exactly
Lava's LIF with du = 1, and ``v_decay`` lies on Loihi's 1/4096 grid, so the trained model
deploys unchanged.
"""
from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..config import FFTrainConfig
from ..data import Dataset
from ..encoding import encode
from ..model.primitives import DECAY_UNITY, FFNetwork, InputEncoding, LabelEmbedding, SpikingDense
from ..run.torch_backend import make_leaky, run_layer


def ff_loss(g_pos: torch.Tensor, g_neg: torch.Tensor, kind: str, alpha: float) -> torch.Tensor:
    """Layer-local FF loss on the goodness gap ``dG = G+ - G-`` (per sample, then averaged).

    swish (Ghader et al.): ``silu(-alpha * dG)``; symba (Lee & Song): ``softplus(-alpha * dG)``.
    """
    d = g_pos - g_neg
    if kind == "swish":
        return F.silu(-alpha * d).mean()
    if kind == "symba":
        return F.softplus(-alpha * d).mean()
    raise ValueError(f"unknown loss {kind!r}")


def random_wrong_labels(y: np.ndarray, n_classes: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly drawn label different from ``y`` for every sample."""
    return (y + rng.integers(1, n_classes, size=y.shape)) % n_classes


def quantized_v_decay(beta: float) -> float:
    """``1 - beta`` rounded to Loihi's 12-bit decay grid."""
    return round((1.0 - beta) * DECAY_UNITY) / DECAY_UNITY


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class TrainHistory:
    """Per-epoch loss, mean goodness of positive/negative data and wall time."""

    loss: List[float] = field(default_factory=list)
    g_pos: List[List[float]] = field(default_factory=list)
    g_neg: List[List[float]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"loss": self.loss, "g_pos": self.g_pos, "g_neg": self.g_neg,
                "seconds": self.seconds}


class FFTrainer:
    """Trains a spiking FF MLP on a :class:`~ff_neuro.data.Dataset` and returns an FFNetwork."""

    def __init__(self, cfg: FFTrainConfig, dataset: Dataset):
        self.cfg = cfg
        self.ds = dataset
        self.emb = LabelEmbedding(kind=cfg.label_embedding, n_classes=dataset.n_classes)
        self.enc = InputEncoding(kind=cfg.encoding, time_steps=cfg.time_steps, gain=cfg.gain,
                                 seed=cfg.encoding_seed, levels=cfg.levels)
        self.v_decay = quantized_v_decay(cfg.beta)
        seed_everything(cfg.seed)
        sizes = [self.emb.input_size(dataset.n_features)] + list(cfg.hidden)
        self.weights = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            # Kaiming-uniform-like init scaled so that rate-coded inputs reach threshold.
            bound = cfg.weight_scale * np.sqrt(3.0 / n_in) * 2.0
            w = (torch.rand(n_out, n_in) * 2 - 1) * bound
            self.weights.append(torch.nn.Parameter(w))
        self.leakies = [make_leaky(cfg.threshold, 1.0 - self.v_decay, cfg.surrogate_slope)
                        for _ in self.weights]
        self.opt = torch.optim.Adam(self.weights, lr=cfg.lr)
        self.history = TrainHistory()

    def _goodness(self, spk: torch.Tensor) -> torch.Tensor:
        rate = spk.sum(0) / self.cfg.time_steps
        return (rate ** 2).mean(dim=1)

    def train_step(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator,
                   seed_offset: int):
        cfg = self.cfg
        y_neg = random_wrong_labels(y, self.ds.n_classes, rng)
        pos = encode(x, y, self.emb, self.enc, seed_offset=seed_offset)
        neg = encode(x, y_neg, self.emb, self.enc, seed_offset=seed_offset)
        inp = torch.from_numpy(np.concatenate([pos, neg], axis=1).astype(np.float32))
        if self.enc.levels > 1:  # graded messages g stand for g / levels
            inp = inp / self.enc.levels
        b = x.shape[0]
        total = torch.zeros(())
        gp, gn = [], []
        for w, leaky in zip(self.weights, self.leakies):
            spk = run_layer(w, None, leaky, inp)
            g = self._goodness(spk)
            total = total + ff_loss(g[:b], g[b:], cfg.loss, cfg.alpha)
            gp.append(float(g[:b].mean()))
            gn.append(float(g[b:].mean()))
            inp = spk.detach()  # layer-local: no gradient crosses layers
        self.opt.zero_grad()
        total.backward()
        self.opt.step()
        return float(total), gp, gn

    def fit(self, progress: bool = True,
            on_epoch: Optional[Callable[[int, float], None]] = None) -> FFNetwork:
        cfg = self.cfg
        rng = np.random.default_rng(cfg.seed)
        n = self.ds.x_train.shape[0]
        t0 = time.perf_counter()
        bar = tqdm(range(cfg.epochs), desc="FF training", unit="epoch", disable=not progress,
                   leave=False)
        step = 0
        for epoch in bar:
            order = rng.permutation(n)
            losses, gps, gns = [], [], []
            for start in range(0, n, cfg.batch_size):
                idx = order[start:start + cfg.batch_size]
                loss, gp, gn = self.train_step(self.ds.x_train[idx], self.ds.y_train[idx], rng,
                                               seed_offset=step + 1)
                step += 1
                losses.append(loss)
                gps.append(gp)
                gns.append(gn)
            self.history.loss.append(float(np.mean(losses)))
            self.history.g_pos.append(np.mean(gps, axis=0).tolist())
            self.history.g_neg.append(np.mean(gns, axis=0).tolist())
            bar.set_postfix(loss=f"{self.history.loss[-1]:.4f}",
                            dG=f"{np.mean(gps) - np.mean(gns):.3f}")
            if on_epoch is not None:
                on_epoch(epoch, self.history.loss[-1])
        self.history.seconds = time.perf_counter() - t0
        return self.network()

    def network(self) -> FFNetwork:
        layers = [SpikingDense(weight=w.detach().numpy().copy(), threshold=self.cfg.threshold,
                               v_decay=self.v_decay) for w in self.weights]
        ds = self.ds
        return FFNetwork(
            layers=layers, encoding=self.enc, label_embedding=self.emb,
            goodness_from_layer=self.cfg.goodness_from_layer,
            dataset={"name": ds.name, "n_features": ds.n_features, "n_classes": ds.n_classes,
                     "image_shape": list(ds.image_shape), "n_train": int(ds.x_train.shape[0]),
                     "n_test": int(ds.x_test.shape[0]), "source": ds.source},
            training={"algorithm": "ff", "config": self.cfg.to_dict(),
                      "history": self.history.to_dict()},
        )


def train_ff(dataset: Dataset, cfg: Optional[FFTrainConfig] = None,
             progress: bool = True) -> FFNetwork:
    """Train a spiking FF network on ``dataset`` with ``cfg`` (defaults: FFTrainConfig())."""
    return FFTrainer(cfg or FFTrainConfig(), dataset).fit(progress=progress)
