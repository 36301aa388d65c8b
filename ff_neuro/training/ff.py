"""Spiking Forward-Forward training (Hinton 2022; spiking FF as in Ghader et al. 2025).

Each layer is trained on its own objective: goodness ``G`` of its spike counts (mean, or sum,
over neurons of ``(count / T)^2``) should be high for positive data (image + true label) and low
for negative data (pairwise losses), or the true label's goodness should win a softmax over the
candidate labels (``loss="softmax"``). Surrogate gradients flow through time *inside* a layer
only; the next layer's input spikes are detached, so no gradient crosses layers (no
backpropagation through the net).

Neurons are LIF with reset to zero and no reset delay: snnTorch ``Leaky`` (``engine="snntorch"``)
or the fused equivalent :func:`~ff_neuro.training.lif_scan.lif_counts` (``engine="fused"``, same
spikes and gradients, tested), i.e. exactly Lava's LIF with du = 1; ``v_decay`` lies on Loihi's
1/4096 grid, so the trained model deploys unchanged.

Engineering (issue: faster than a per-step snnTorch loop):
* the image part of the synaptic current is computed once for the positive and the negative
  pass (they share the image spikes) and, with graded (direct-current) input, once for all
  ``T`` steps; the label part is a few columns of the weight matrix;
* the time loop of a layer is one autograd node (``lif_counts``, compiled) whose
  differentiable output is the spike counts the loss sees: no ``(T, B, N)`` current is formed
  for a constant input, no ``(T, B, N)`` spike gradient at all, no membrane is stored (the
  backward pass recomputes it in cache), and no spikes of the last layer are formed; with bf16
  matmuls the spikes are written as bfloat16 straight away.

The first layer may have local receptive fields (``receptive_field``, :mod:`.receptive`):
shared kernels (a convolution) or locally connected patches (Hinton 2022), trained as such and
exported as the dense layer they unroll to.

Training is resumable: :meth:`FFTrainer.fit` with ``checkpoint=`` writes an HDF5 checkpoint
(weights, Adam state, history; no pickle) every ``checkpoint_every`` epochs, and ``resume=True``
continues from it. Randomness is drawn per epoch from ``default_rng([seed, epoch])``, so a resumed
run gives the same weights as an uninterrupted one.

Training runs on any torch device (``device="cuda"``: weights, optimizer state and the LIF time
loop on the GPU; the LIF loop is then :func:`~ff_neuro.training.lif_scan.lif_scan`'s torch loop,
the numba kernels being the CPU path), and data-parallel over processes started by torchrun
(``data_parallel=True``, :mod:`ff_neuro.training.distributed`): the same weights as one process
training the same global batches. Checkpoints hold CPU arrays, so a run resumes on another device
or another number of processes.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..config import FFTrainConfig
from ..data import Dataset
from ..data.augment import augment_images
from ..encoding import image_spikes, label_spikes
from ..fileio import PathLike, atomic_path
from ..model import DECAY_UNITY, InputEncoding, LabelEmbedding, LabelSweep, Layer, Network
from . import distributed
from .common import quantized_v_decay, random_wrong_labels  # noqa: F401 (also ff.X)
from .lif_scan import KERNELS, lif_counts, make_leaky
from .receptive import ReceptiveGrid, unroll
from .trainer import Callback, callbacks_stop


def ff_loss(g_pos: torch.Tensor, g_neg: torch.Tensor, kind: str, alpha: float,
            theta: float = 0.0) -> torch.Tensor:
    """Layer-local FF loss on positive / negative goodness (per sample, then averaged).

    swish (Ghader et al.): ``silu(-alpha (G+ - G-))``; symba (Lee & Song): ``softplus(-alpha
    (G+ - G-))``; hinton: ``softplus(-alpha (G+ - theta)) + softplus(alpha (G- - theta))``, the
    log-loss of ``p = sigmoid(alpha (G - theta))``.
    """
    if kind == "swish":
        return F.silu(-alpha * (g_pos - g_neg)).mean()
    if kind == "symba":
        return F.softplus(-alpha * (g_pos - g_neg)).mean()
    if kind == "hinton":
        return (F.softplus(-alpha * (g_pos - theta)) + F.softplus(alpha * (g_neg - theta))).mean()
    if kind == "softmax":
        raise ValueError("the softmax loss takes the goodness of every candidate label: "
                         "use softmax_loss")
    raise ValueError(f"unknown loss {kind!r}")


def softmax_loss(g: torch.Tensor, y: torch.Tensor, alpha: float,
                 label_smoothing: float = 0.0) -> torch.Tensor:
    """Layer-local multi-class FF loss: cross-entropy of ``softmax(alpha G)`` over the goodness
    ``g`` ``(B, C)`` of every candidate label, against the true labels ``y``."""
    return F.cross_entropy(alpha * g, y, label_smoothing=label_smoothing)


def softmax_candidates(y: np.ndarray, n_classes: int, k: int, rng: np.random.Generator):
    """Candidate labels ``(B, M)`` of the softmax loss and the column of the true label
    ``(B,)``: all ``n_classes`` labels in order (``k`` = 0), or the true label first and ``k``
    distinct wrong labels drawn uniformly."""
    y = np.asarray(y, dtype=np.int64)
    if k <= 0 or k >= n_classes - 1:
        cand = np.broadcast_to(np.arange(n_classes), (y.shape[0], n_classes))
        return cand, torch.from_numpy(y)
    offsets = np.argsort(rng.random((y.shape[0], n_classes - 1)), axis=1)[:, :k] + 1
    cand = np.concatenate([y[:, None], (y[:, None] + offsets) % n_classes], axis=1)
    return cand, torch.zeros(y.shape[0], dtype=torch.int64)


def hard_wrong_labels(goodness: np.ndarray, y: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:
    """Wrong labels drawn with probability proportional to ``sqrt(goodness)`` of each wrong
    label (``goodness``: (N, C) summed over layers), as Ghader et al.'s hard negatives."""
    w = np.sqrt(np.maximum(goodness, 0.0)) + 1e-12
    w[np.arange(len(y)), y] = 0.0
    p = w / w.sum(axis=1, keepdims=True)
    u = rng.random((len(y), 1))
    return np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), goodness.shape[1] - 1)


def corrupt_images(x: np.ndarray, kind: str, rng: np.random.Generator,
                   image_shape) -> np.ndarray:
    """Label-free negative images (ff-negative-samples): hybrid, noise or masking."""
    n, d = x.shape
    if kind == "noise":
        return rng.random((n, d), dtype=np.float32)
    shape = tuple(image_shape) if image_shape and int(np.prod(image_shape)) == d else (d,)
    if kind == "hybrid":
        # Hinton's hybrid: a smooth random mask mixes the image with another one.
        mask = rng.random((n,) + shape).astype(np.float32)
        if len(shape) == 2:
            k = np.array([0.25, 0.5, 0.25], dtype=np.float32)
            for _ in range(4):
                mask = (np.pad(mask, ((0, 0), (1, 1), (0, 0)), mode="edge")[:, :-2] * k[0]
                        + mask * k[1]
                        + np.pad(mask, ((0, 0), (1, 1), (0, 0)), mode="edge")[:, 2:] * k[2])
                mask = (np.pad(mask, ((0, 0), (0, 0), (1, 1)), mode="edge")[:, :, :-2] * k[0]
                        + mask * k[1]
                        + np.pad(mask, ((0, 0), (0, 0), (1, 1)), mode="edge")[:, :, 2:] * k[2])
        mask = (mask.reshape(n, d) > 0.5).astype(np.float32)
        other = x[rng.permutation(n)]
        return mask * x + (1 - mask) * other
    if kind == "masking":
        keep = (rng.random((n, d)) > 0.5).astype(np.float32)
        return x * keep
    raise ValueError(f"unknown label-free negative {kind!r}")


@dataclass
class TrainHistory:
    """Per-epoch loss, mean goodness of positive/negative data, accuracy and wall time."""

    loss: List[float] = field(default_factory=list)
    g_pos: List[List[float]] = field(default_factory=list)
    g_neg: List[List[float]] = field(default_factory=list)
    train_accuracy: List[Optional[float]] = field(default_factory=list)
    epoch_seconds: List[float] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"loss": self.loss, "g_pos": self.g_pos, "g_neg": self.g_neg,
                "train_accuracy": self.train_accuracy, "epoch_seconds": self.epoch_seconds,
                "seconds": self.seconds}

    @classmethod
    def from_dict(cls, d: dict) -> "TrainHistory":
        return cls(**{k: d[k] for k in ("loss", "g_pos", "g_neg", "train_accuracy",
                                        "epoch_seconds", "seconds") if k in d})


def check_checkpoint(f, path: PathLike, fmt: str, what: str, config: dict,
                     defaults: Optional[dict] = None) -> None:
    """Refuse to resume from an open checkpoint file ``f`` that is not of format ``fmt`` or was
    written with a config differing from ``config`` in anything but ``epochs``. A setting the
    checkpoint lacks (written before the option existed) counts as its value in ``defaults``."""
    if f.attrs.get("format") != fmt:
        raise ValueError(f"{path} is not {what} training checkpoint")
    saved = {**(defaults or {}), **json.loads(f.attrs["config_json"])}
    diff = [k for k in config if k != "epochs" and saved.get(k) != config[k]]
    if diff:
        raise ValueError(f"checkpoint {path} was made with a different config "
                         f"({', '.join(diff)}); resume needs the same settings")


def _take(a, rows: Optional[np.ndarray], axis: int = 0):
    """Rows ``rows`` of ``a`` (numpy or torch) along ``axis``; ``a`` itself for None."""
    if rows is None:
        return a
    if isinstance(a, torch.Tensor):
        return a.index_select(axis, torch.from_numpy(rows).to(a.device))
    return np.take(a, rows, axis=axis)


def _group_rows(sel, groups: int):
    """:meth:`FFTrainer._dropout`'s ``rows`` for ``groups`` stacked copies of a batch (the
    positive and negative halves, or the softmax candidates): ``None`` stays None."""
    if sel is None:
        return None
    n, rows = sel
    return groups * n, np.concatenate([g * n + rows for g in range(groups)])


class FFTrainer:
    """Trains a spiking FF MLP on a :class:`~ff_neuro.data.Dataset` and returns a Network.

    ``device``: the torch device of the weights, the optimizer state and the LIF time loop
    (``"cpu"``, ``"cuda"``, ``"cuda:1"``; one that is not there is a RuntimeError before
    training). ``data_parallel``: in a process torchrun started, train data-parallel with the
    other processes (:mod:`ff_neuro.training.distributed`); each process computes its shard of
    every batch, rank 0 writes the checkpoints; without torchrun it changes nothing.
    ``lif_kernel``: the LIF loop (:func:`~ff_neuro.training.lif_scan.lif_counts`'s ``kernel``:
    ``"torch"`` runs on the CPU the loop a GPU runs).

    Example::

        >>> from ff_neuro.data import load_digits
        >>> tr = FFTrainer(FFTrainConfig(hidden=(32,), epochs=1, time_steps=4), load_digits(),
        ...                device="cpu")
        >>> tr.fit(progress=False).sizes
        [74, 32]
    """

    def __init__(self, cfg: FFTrainConfig, dataset: Dataset, device="cpu",
                 data_parallel: bool = False, lif_kernel: str = "auto"):
        self.cfg = cfg
        self.ds = dataset
        if lif_kernel not in KERNELS:
            raise ValueError(f"unknown LIF kernel {lif_kernel!r} ({'|'.join(KERNELS)})")
        self.lif_kernel = lif_kernel
        # a device that is not there is refused here; data-parallel: join torchrun's group
        self.device = (distributed.init(device) if data_parallel
                       else distributed.resolve_device(device))
        self.data_parallel = bool(data_parallel) and distributed.world_size() > 1
        from .precision import resolve_precision
        #: the matmul precision this trainer runs (``auto`` resolved for its device) and why
        self.precision, self.precision_why = resolve_precision(cfg.matmul_precision,
                                                               self.device)
        self._n_feat = dataset.n_features
        self.emb = LabelEmbedding(kind=cfg.label_embedding, n_classes=dataset.n_classes,
                                  code_bits=cfg.code_bits, code_p=cfg.code_p,
                                  code_seed=cfg.seed)
        self.enc = InputEncoding(kind=cfg.encoding, time_steps=cfg.time_steps, gain=cfg.gain,
                                 seed=cfg.encoding_seed, levels=cfg.levels)
        # per layer: v_decay on Loihi's 12-bit grid, and the decay beta = 1 - v_decay it means
        self.v_decays = [quantized_v_decay(b) for b in cfg.betas()]
        self.betas = [1.0 - d for d in self.v_decays]
        self.thresholds = cfg.thresholds()
        torch.manual_seed(cfg.seed)
        sizes = [self.emb.input_size(dataset.n_features)] + list(cfg.hidden)
        gen = torch.Generator().manual_seed(cfg.seed)
        self.weights = []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            # Uniform init, scaled so that rate-coded inputs reach threshold from the start.
            bound = cfg.weight_scale * np.sqrt(3.0 / n_in) * 2.0
            w = (torch.rand(n_out, n_in, generator=gen) * 2 - 1) * bound
            self.weights.append(torch.nn.Parameter(w))
        self.kernels = None   # the shared receptive-field kernels (C, k, k), if any
        self._rf_index = self._rf_mask = None
        if cfg.receptive_field:
            self._init_receptive(gen)
        self.leakies = [make_leaky(th, b, cfg.surrogate_slope)
                        for th, b in zip(self.thresholds, self.betas)]
        if self.device.type != "cpu":
            self._to_device()
        params = self.weights + ([self.kernels] if self.kernels is not None else [])
        self._params = params
        self.opt = (torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
                    if cfg.weight_decay > 0 else torch.optim.Adam(params, lr=cfg.lr))
        self.history = TrainHistory()
        self.epochs_done = 0
        self._label_free = cfg.negatives in ("hybrid", "noise", "masking")

    def _init_receptive(self, gen: torch.Generator) -> None:
        """First layer with local receptive fields (:mod:`.receptive`): image weights drawn with
        the patch's fan-in, zero outside the patch; with shared kernels the image columns of
        ``weights[0]`` are unused in training (:meth:`_image_weights` unrolls the kernels)."""
        cfg, ds = self.cfg, self.ds
        if self.emb.kind == "overlay":
            raise ValueError("receptive_field needs the label inputs apart from the image "
                             "(label_embedding 'append' or 'code', not 'overlay')")
        ch, k, s = cfg.receptive_field
        grid = ReceptiveGrid(tuple(ds.image_shape), ch, k, s)
        if grid.n_neurons != cfg.hidden[0]:
            raise ValueError(
                f"receptive_field {cfg.receptive_field} on {tuple(ds.image_shape)} images gives "
                f"{ch} x {grid.out_shape[0]} x {grid.out_shape[1]} = {grid.n_neurons} neurons; "
                f"set hidden[0] = {grid.n_neurons} (got {cfg.hidden[0]})")
        bound = cfg.weight_scale * np.sqrt(3.0 / (k * k)) * 2.0
        index = grid.index()
        w = self.weights[0]
        with torch.no_grad():
            if cfg.receptive_shared:
                self.kernels = torch.nn.Parameter(
                    (torch.rand(ch, k, k, generator=gen) * 2 - 1) * bound)
                self._rf_index = torch.from_numpy(index)
                w[:, : self._n_feat] = 0.0
            else:
                mask = torch.from_numpy(index < ch * k * k)
                self._rf_mask = mask.float()
                fresh = (torch.rand(w.shape[0], self._n_feat, generator=gen) * 2 - 1) * bound
                w[:, : self._n_feat] = fresh * self._rf_mask

    def _to_device(self) -> None:
        """Move the parameters (drawn on the CPU: the same initial weights on every device), the
        receptive-field index and the snnTorch neurons to ``self.device``."""
        dev = self.device
        self.weights = [torch.nn.Parameter(w.detach().to(dev)) for w in self.weights]
        if self.kernels is not None:
            self.kernels = torch.nn.Parameter(self.kernels.detach().to(dev))
        if self._rf_index is not None:
            self._rf_index = self._rf_index.to(dev)
        if self._rf_mask is not None:
            self._rf_mask = self._rf_mask.to(dev)
        self.leakies = [leaky.to(dev) for leaky in self.leakies]

    def _float(self, a: np.ndarray) -> torch.Tensor:
        """``a`` (spikes or levels, uint8) as a float32 tensor on the device (the same values
        as ``a.astype(float32)``; a GPU gets the uint8 array and converts it there)."""
        if self.device.type == "cpu":
            return torch.from_numpy(a.astype(np.float32))
        return torch.from_numpy(np.ascontiguousarray(a)).to(self.device).float()

    def _image_weights(self) -> torch.Tensor:
        """The first layer's weights on the image pixels ``(N, D)``."""
        w = self.weights[0]
        if self.kernels is not None:
            return unroll(self.kernels, self._rf_index)
        if self._rf_mask is not None:   # locally connected: the gradient off the patch is 0
            return w[:, : self._n_feat] * self._rf_mask
        return w[:, : self._n_feat]

    # -- forward pieces ---------------------------------------------------------------------
    def _mm(self, x: torch.Tensor, w: torch.Tensor, current: bool = False) -> torch.Tensor:
        """``x @ w.T`` in the configured precision: fp32, except that a bf16 product that is a
        LIF layer's ``current`` stays bf16 for the fused engine (its kernels read bf16)."""
        if self.precision == "bf16":
            y = x.to(torch.bfloat16) @ w.to(torch.bfloat16).T
            return y if current and self.cfg.engine == "fused" else y.float()
        return x @ w.T

    def _spike_layer(self, k: int, current: torch.Tensor):
        """Spikes ``(T, B, N)`` (no gradient: the next layer sees them detached) and spike
        counts ``(B, N)`` (with gradient) of layer ``k``. ``current`` is ``(T, B, N)``, or
        ``(B, N)`` when it is the same at every step (graded input to layer 0). The fused
        engine forms no spikes for the last layer (None): nothing reads them."""
        T = self.cfg.time_steps
        if self.cfg.engine == "fused":
            last = k + 1 == len(self.weights)
            dtype = (None if last else torch.bfloat16 if self.precision == "bf16"
                     else torch.float32)
            return lif_counts(current, T, self.betas[k], self.thresholds[k],
                              self.cfg.surrogate_slope, spike_dtype=dtype,
                              kernel=self.lif_kernel)
        if current.dim() == 2:
            current = current.unsqueeze(0).expand(T, *current.shape)
        mem = torch.zeros_like(current[0])
        out = []
        for t in range(T):
            spk, mem = self.leakies[k](current[t], mem)
            out.append(spk)
        spk = torch.stack(out)
        return spk.detach(), spk.sum(0)

    def _goodness(self, counts: torch.Tensor) -> torch.Tensor:
        rate = counts / self.cfg.time_steps
        g = rate ** 2
        return g.mean(dim=1) if self.cfg.goodness == "mean_sq" else g.sum(dim=1)

    def _dropout(self, x: torch.Tensor, rng: Optional[np.random.Generator],
                 rows=None) -> torch.Tensor:
        """Inverted dropout of ``x`` (``(B, D)`` or ``(T, B, D)``) with one mask per sample and
        input, shared by the time steps; ``rng`` None (inference) or dropout 0: ``x`` itself.
        Not ``F.dropout``: that draws a mask per element (per time step) from torch's global
        generator, while the mask here holds for a whole presentation and comes from the
        epoch's numpy generator, so resumed runs stay exact. ``rows`` ``(n, index)``
        (data-parallel): the mask is drawn for the ``n`` rows of the whole batch and rows
        ``index`` of it are this process's, so every process draws what one process would."""
        p = self.cfg.dropout
        if rng is None or p <= 0:
            return x
        shape = x.shape[-2:] if rows is None else (rows[0], x.shape[-1])
        keep = torch.from_numpy(rng.random(shape, dtype=np.float32) >= p)
        if rows is not None:
            keep = keep[torch.from_numpy(rows[1])]
        return x * (keep.to(device=x.device, dtype=x.dtype) / (1.0 - p))

    def _image_current(self, img: np.ndarray, rng: Optional[np.random.Generator] = None,
                       rows=None) -> torch.Tensor:
        """Layer-0 current from the image inputs ``(T, B, D)``: one matmul for all steps
        ``(T, B, N)``, or, with graded (constant) input, one matmul for one step ``(B, N)``
        (the LIF layer takes it as constant over the steps). With the
        overlay embedding the first ``width`` pixels carry the label instead (they are left out
        here and added by :meth:`_label_current`). ``rng``: draw the training dropout mask
        (``rows``: see :meth:`_dropout`)."""
        w = self.weights[0]
        levels = self.enc.levels
        if self.emb.kind == "overlay":
            img = img.copy()
            img[:, :, : self.emb.width] = 0
            w_img = w
        else:
            w_img = self._image_weights()
        if self.enc.kind == "graded":
            x0 = self._float(img[0]) / levels
            return self._mm(self._dropout(x0, rng, rows), w_img)
        return self._mm(self._dropout(self._float(img), rng, rows), w_img)

    def _label_current(self, lab: np.ndarray) -> torch.Tensor:
        w = self.weights[0]
        w_lab = w[:, : self.emb.width] if self.emb.kind == "overlay" else w[:, self._n_feat:]
        if self.enc.kind == "graded":  # constant over the steps, like the image current
            return (self._float(lab[0]) / self.enc.levels) @ w_lab.T
        return self._float(lab) @ w_lab.T

    def _layer0_current(self, img: np.ndarray, labels: np.ndarray,
                        rng: Optional[np.random.Generator] = None, rows=None) -> torch.Tensor:
        lab = label_spikes(labels, self.emb, self.enc)
        return self._image_current(img, rng, rows) + self._label_current(lab)

    @torch.no_grad()
    def sweep_goodness(self, x: np.ndarray, seed_offset: int) -> np.ndarray:
        """Goodness summed over layers for every candidate label: ``(N, C)`` (hard negatives)."""
        return self._sweep(image_spikes(x, self.enc, seed_offset))

    def _hard_goodness(self, x: np.ndarray, img: np.ndarray, seed_offset: int,
                       rows: Optional[np.ndarray], share: float) -> np.ndarray:
        """:meth:`sweep_goodness` of the batch ``x`` (image spikes ``img``); data-parallel:
        each process sweeps its rows and the processes add up the ``(N, C)`` table."""
        if rows is None:
            return self.sweep_goodness(x, seed_offset)
        out = np.zeros((x.shape[0], self.ds.n_classes))
        if share > 0:
            out[rows] = self._sweep(img[:, rows])
        return distributed.all_reduce_(torch.from_numpy(out), "sum").numpy()

    @torch.no_grad()
    def _sweep(self, img: np.ndarray) -> np.ndarray:
        n = img.shape[1]
        a = self._image_current(img)
        out = np.zeros((n, self.ds.n_classes))
        for c in range(self.ds.n_classes):
            lab = label_spikes(np.full(n, c), self.emb, self.enc)
            cur = a + self._label_current(lab)
            for k in range(len(self.weights)):
                spk, counts = self._spike_layer(k, cur)
                if k >= self.cfg.goodness_from_layer:
                    out[:, c] += self._goodness(counts).cpu().numpy()
                if k + 1 < len(self.weights):
                    cur = self._mm(spk, self.weights[k + 1], current=True)
        return out

    def train_step(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator,
                   seed_offset: int):
        """One optimizer step on a batch; returns (loss, G+ per layer, G- per layer).

        Data-parallel, every process passes the same (global) batch and ``rng``: the random
        choices are drawn for the whole batch, so the stream does not depend on the number of
        processes; each process computes the loss of its rows (:func:`.distributed.shard`)
        times their share of the batch, and the gradients summed over the processes make the
        step one process takes on the whole batch."""
        cfg = self.cfg
        b = x.shape[0]
        rows, share = distributed.shard(b) if self.data_parallel else (None, 1.0)
        sel = None if rows is None else (b, rows)    # dropout: masks drawn for all b rows
        img = image_spikes(x, self.enc, seed_offset)
        if self._label_free:
            x_neg = corrupt_images(x, cfg.negatives, rng, self.ds.image_shape)
            y_neg = rng.integers(0, self.ds.n_classes, size=b)
            img_neg = image_spikes(x_neg, self.enc, seed_offset + 7_777_777)
            cur = torch.cat([self._layer0_current(_take(img, rows, 1), _take(y, rows), rng, sel),
                             self._layer0_current(_take(img_neg, rows, 1), _take(y_neg, rows),
                                                  rng, sel)], dim=-2)
        elif cfg.loss == "softmax":  # the image current once, one label current per candidate
            cand, target = softmax_candidates(y, self.ds.n_classes, cfg.softmax_negatives, rng)
            cand, target = _take(cand, rows), _take(target, rows).to(self.device)
            a = self._image_current(_take(img, rows, 1), rng, sel)
            lab = label_spikes(cand.T.reshape(-1), self.emb, self.enc)  # candidate-major
            cur = torch.cat([a] * cand.shape[1], dim=-2) + self._label_current(lab)
        else:
            if cfg.negatives == "hard":
                y_neg = hard_wrong_labels(self._hard_goodness(x, img, seed_offset, rows, share),
                                          y, rng)
            else:
                y_neg = random_wrong_labels(y, self.ds.n_classes, rng)
            # Positive and negative passes share the image spikes: one image matmul.
            a = self._image_current(_take(img, rows, 1), rng, sel)
            lab = label_spikes(np.concatenate([_take(y, rows), _take(y_neg, rows)]), self.emb,
                               self.enc)
            cur = torch.cat([a, a], dim=-2) + self._label_current(lab)
        if rows is not None:
            b = rows.size                       # the rows this process computes
        total = torch.zeros((), device=self.device)
        gp, gn = [], []
        for k in range(len(self.weights)):
            spk, counts = self._spike_layer(k, cur)
            g = self._goodness(counts)
            if cfg.loss == "softmax":
                g = g.view(-1, b).T  # (B, candidates)
                total = total + softmax_loss(g, target, cfg.alpha, cfg.label_smoothing)
                pos = g.gather(1, target[:, None]).detach()
                gp.append(float(pos.mean()))
                gn.append(float((g.detach().sum() - pos.sum()) / (g.numel() - b)))
            else:
                total = total + ff_loss(g[:b], g[b:], cfg.loss, cfg.alpha, cfg.theta)
                gp.append(float(g[:b].detach().mean()))
                gn.append(float(g[b:].detach().mean()))
            if k + 1 < len(self.weights):
                # layer-local: the next layer sees detached spikes, no gradient crosses layers
                cur = self._mm(self._dropout(spk, rng, _group_rows(sel, spk.shape[-2] // b)),
                               self.weights[k + 1], current=True)
        self.opt.zero_grad()
        if not self.data_parallel:
            total.backward()
            self.opt.step()
            return float(total.detach()), gp, gn
        (total * share).backward()
        # the processes' gradients and figures, weighted by their shares, summed in one go
        stats = torch.tensor([float(total.detach()), *gp, *gn], dtype=torch.float32) * share
        stats = distributed.all_reduce_gradients(self._params, stats).tolist()
        self.opt.step()
        n = len(gp)
        return stats[0], stats[1:1 + n], stats[1 + n:]

    # -- loop, progress, checkpoints ----------------------------------------------------------
    def _train_accuracy(self) -> Optional[float]:
        n = min(self.cfg.eval_samples, self.ds.x_train.shape[0])
        if n <= 0:
            return None
        from ..run import get_backend, label_sweep
        r = label_sweep(get_backend("float"), self.network(), self.ds.x_train[:n], chunk=n)
        return r.accuracy(self.ds.y_train[:n])

    def fit(self, progress: bool = True, callbacks: Sequence[Callback] = (),
            checkpoint: Optional[PathLike] = None, resume: bool = False,
            checkpoint_every: int = 1, max_seconds: Optional[float] = None,
            stop_after: Optional[int] = None) -> Network:
        """Train for ``cfg.epochs`` epochs (continuing from ``checkpoint`` if ``resume``);
        with ``max_seconds``, stop after the first epoch that ends past that training time;
        with ``stop_after``, pause once that many epochs are done (a later ``fit`` continues
        from there: the schedule is still the one over ``cfg.epochs``); ``callbacks`` see
        every epoch and may stop (:class:`~ff_neuro.training.trainer.Callback`). The
        :class:`~ff_neuro.training.trainer.Trainer` protocol.

        Example::

            >>> from ff_neuro.data import load_digits
            >>> tr = FFTrainer(FFTrainConfig(hidden=(32,), epochs=2, time_steps=4,
            ...                              eval_samples=0), load_digits())
            >>> net = tr.fit(progress=False, checkpoint="ff.ckpt.h5")
            >>> tr.epochs_done, net.sizes
            (2, [74, 32])
        """
        cfg = self.cfg
        if resume:
            if checkpoint is None or not Path(checkpoint).exists():
                raise FileNotFoundError(f"no checkpoint to resume from: {checkpoint}")
            self.load_checkpoint(checkpoint)
        n = self.ds.x_train.shape[0]
        n_batches = (n + cfg.batch_size - 1) // cfg.batch_size
        quiet = not progress or (self.data_parallel and distributed.rank() != 0)
        bar = tqdm(total=cfg.epochs, initial=self.epochs_done, desc="FF training",
                   unit="epoch", disable=quiet, leave=False, dynamic_ncols=True)
        if not quiet:
            tqdm.write(f"matmul precision: {self.precision} ({self.precision_why})",
                       file=sys.stderr)
        last = cfg.epochs if stop_after is None else min(cfg.epochs, int(stop_after))
        for cb in callbacks:
            cb.on_fit_start(self)
        for epoch in range(self.epochs_done, last):
            if max_seconds is not None and self.history.seconds >= max_seconds:
                break          # checked first: a fit() resumed or continued past it trains none
            rng = np.random.default_rng([cfg.seed, epoch])
            order = rng.permutation(n)
            for group in self.opt.param_groups:  # a function of the epoch: resume-safe
                group["lr"] = cfg.lr_at(epoch)
            t0 = time.perf_counter()
            losses, gps, gns = [], [], []
            for i, start in enumerate(range(0, n, cfg.batch_size)):
                idx = order[start:start + cfg.batch_size]
                x = augment_images(self.ds.x_train[idx], self.ds.image_shape, cfg.augment,
                                   cfg.augment_shift, rng)
                loss, gp, gn = self.train_step(x, self.ds.y_train[idx], rng,
                                               seed_offset=epoch * n_batches + i + 1)
                losses.append(loss)
                gps.append(gp)
                gns.append(gn)
            secs = time.perf_counter() - t0
            h = self.history
            h.loss.append(float(np.mean(losses)))
            h.g_pos.append(np.mean(gps, axis=0).tolist())
            h.g_neg.append(np.mean(gns, axis=0).tolist())
            h.epoch_seconds.append(secs)
            h.train_accuracy.append(self._train_accuracy())
            spent = time.perf_counter() - t0
            if self.data_parallel:  # the slowest process's times: one schedule, one stop
                secs, spent = distributed.agree_max(secs, spent)
                h.epoch_seconds[-1] = secs
            h.seconds += spent
            self.epochs_done = epoch + 1
            post = {"loss": f"{h.loss[-1]:.4f}", "dG": f"{np.mean(gps) - np.mean(gns):.3f}",
                    "samples/s": f"{n / secs:.0f}"}
            if h.train_accuracy[-1] is not None:
                post["train_acc"] = f"{h.train_accuracy[-1]:.3f}"
            bar.set_postfix(post)
            bar.update(1)
            due = checkpoint is not None and (self.epochs_done % checkpoint_every == 0
                                              or self.epochs_done == cfg.epochs)
            if due:              # before the callbacks: an exception there loses nothing
                self.save_checkpoint(checkpoint)
            stop = callbacks_stop(callbacks, self, epoch)
            if self.data_parallel:          # one process's callback stops them all
                stop = distributed.agree_any(stop)
            if stop:
                if checkpoint is not None and not due:
                    self.save_checkpoint(checkpoint)
                break
        bar.close()
        for cb in callbacks:
            cb.on_fit_end(self)
        return self.network()

    def epoch_metrics(self) -> dict:
        """The last epoch's numbers: epoch, seconds, train_accuracy, loss, goodness_gap
        (mean positive minus mean negative goodness, over layers)."""
        h = self.history
        if not h.loss:
            return {"epoch": None, "seconds": h.seconds, "train_accuracy": None}
        return {"epoch": self.epochs_done - 1, "seconds": h.seconds,
                "train_accuracy": h.train_accuracy[-1], "loss": h.loss[-1],
                "goodness_gap": float(np.mean(h.g_pos[-1]) - np.mean(h.g_neg[-1]))}

    def _named_params(self):
        """(checkpoint group, parameter) of everything the optimizer trains."""
        named = [(f"layer/{k}", w) for k, w in enumerate(self.weights)]
        if self.kernels is not None:
            named.append(("receptive_kernels", self.kernels))
        return named

    def save_checkpoint(self, path: PathLike) -> Path:
        """Weights, Adam state, history and config in an HDF5 file (atomic; no pickle), as CPU
        arrays (a run resumes on any device). Data-parallel, rank 0 writes it."""
        import h5py
        path = Path(path)
        if self.data_parallel and distributed.rank() != 0:
            return path
        with atomic_path(path) as tmp:
            with h5py.File(tmp, "w") as f:
                f.attrs["format"] = "ff-neuro-checkpoint"
                f.attrs["epochs_done"] = self.epochs_done
                f.attrs["config_json"] = json.dumps(self.cfg.to_dict())
                f.attrs["history_json"] = json.dumps(self.history.to_dict())
                for name, w in self._named_params():
                    g = f.create_group(name)
                    g.create_dataset("weight", data=w.detach().cpu().numpy())
                    st = self.opt.state.get(w, {})
                    if st:
                        g.create_dataset("exp_avg", data=st["exp_avg"].cpu().numpy())
                        g.create_dataset("exp_avg_sq", data=st["exp_avg_sq"].cpu().numpy())
                        g.attrs["step"] = float(st["step"])
        return path

    def load_checkpoint(self, path: PathLike) -> dict:
        """Restore weights, Adam state and history; returns the config the checkpoint was
        written with (its ``epochs``: the schedule that run had reached)."""
        import h5py
        with h5py.File(path, "r") as f:
            check_checkpoint(f, path, "ff-neuro-checkpoint", "an ff-neuro", self.cfg.to_dict(),
                             defaults=FFTrainConfig().to_dict())
            saved = json.loads(f.attrs["config_json"])
            self.epochs_done = int(f.attrs["epochs_done"])
            self.history = TrainHistory.from_dict(json.loads(f.attrs["history_json"]))
            for name, w in self._named_params():
                g = f[name]
                with torch.no_grad():
                    w.copy_(torch.from_numpy(g["weight"][()]))
                if "exp_avg" in g:
                    self.opt.state[w] = {
                        "step": torch.tensor(float(g.attrs["step"])),
                        "exp_avg": torch.from_numpy(g["exp_avg"][()]).to(self.device).clone(),
                        "exp_avg_sq": torch.from_numpy(g["exp_avg_sq"][()]).to(
                            self.device).clone()}
        return saved

    def network(self) -> Network:
        weights = [w.detach().cpu().numpy().copy() for w in self.weights]
        if self.cfg.receptive_field:
            with torch.no_grad():
                weights[0][:, : self._n_feat] = self._image_weights().cpu().numpy()
        layers = [Layer.dense(weight=w, threshold=th, v_decay=vd)
                  for w, th, vd in zip(weights, self.thresholds, self.v_decays)]
        ds = self.ds
        return Network(
            layers=layers, encoder=self.enc, label_embedding=self.emb,
            readouts=[LabelSweep(goodness=self.cfg.goodness,
                                 from_layer=self.cfg.goodness_from_layer)],
            dataset=ds.describe(),
            training={"algorithm": "ff", "config": self.cfg.to_dict(),
                      "matmul_precision": self.precision,
                      "matmul_precision_why": self.precision_why,
                      "history": self.history.to_dict()},
        )


def train_ff(dataset: Dataset, cfg: Optional[FFTrainConfig] = None,
             progress: bool = True) -> Network:
    """Train a spiking FF network on ``dataset`` with ``cfg`` (defaults: FFTrainConfig())."""
    return FFTrainer(cfg or FFTrainConfig(), dataset).fit(progress=progress)
