"""FFGAF-SNN training (Xu et al., seed 001): convolutional spiking Forward-Forward without
gradient approximation, deployable as a :class:`~ff_neuro.model.Network`.

Blocks (each trained on its own loss; a block's input is detached, spikes carry no gradient)::

    encoder (host, analog):  a = w_j (x * K_j) + b_j                        (eq. 9)
                             z = thresh_e (a - mu_j) / sigma_j             (batch norm, eq. 10)
                             y = h(z; lambda_e, L_e, varphi_e)              (eq. 13)
                             -> graded spikes k = y L_e / lambda_e at every step
    hidden block l:          a[t] = w_j (x[t] * K_j) + b_j                  (eq. 9, per step)
                             a_n[t] = thresh (a[t] - mu_j) / sigma_j       (temporal norm., eq. 10)
                             Y = sum_t a_n[t]                               (eq. 8)
                             y = h(Y; lambda = theta T, L = T, varphi)      (eq. 13)
                             IF black box on a_n[t]: v += a_n[t]; s = v > theta; v = 0 where s
    improved ReLU (eq. 13):  h(z) = lambda clip(floor(z L / lambda + varphi) / L, 0, 1)
                             (straight-through floor: gradient 1 on (0, lambda), else 0)
    CwC loss (eq. 5-6):      G_{n,c} = mean over the channels of class c and positions of y^2;
                             L = cross_entropy(G, label)  (softmax over classes, as the
                             reference code's nn.CrossEntropyLoss on the goodness)

The IF neurons (no gradient) turn the per-step currents into the spikes the next block
receives. With ``lambda = theta T, L = T``, ``h(Y) = theta clip(floor(Y / theta + varphi), 0,
T)`` is theta times the spike count an IF neuron with reset by subtraction would give; reset to
zero (Lava's LIF) drops the residue above threshold, so real counts can be lower. The loss of a
hidden block sees either ``y = h(Y)`` (``loss_on="relu"``, the paper) or, by default
(``loss_on="spikes"``), the forward value ``theta * count`` of the black box with the gradient
of ``h(Y)`` (straight through): the loss then scores exactly what prediction counts. On digits
(tiny preset, 10 epochs, one seed) this took one-pass test accuracy from 0.784 to 0.947.

Normalisation statistics: per channel, over the batch and positions of the time-averaged
current ``A/T`` (``A = sum_t a[t]`` is one convolution of the summed input; the statistics of
the per-step currents would need T convolutions with gradients). Running statistics are used at
inference, where every normalisation is an affine map per channel: :meth:`FFGAFModel.folded`
folds it, the channel weights and biases into plain conv weights and biases, and the model's
inference (``eval``) runs exactly those folded parameters, i.e. the deployable network.

Prediction is one pass: spike counts of the spiking layers in ``predict_layers``, class-group
goodness ``G_c = mean_{j in c, positions} (count_j / T)^2`` summed over layers, argmax (the
:class:`~ff_neuro.model.Network` rule).

Training is resumable (HDF5 checkpoint of weights, statistics, Adam state, history; no pickle)
and bounded by ``max_seconds`` (checked after every batch).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..data import Dataset
from ..data.augment import augment_images
from ..fileio import PathLike, atomic_path
from ..model import AnalogConvEncoder, ClassGroups, Layer, Network
from ..model.readout import class_goodness
from .ffgaf_alloc import allocate, class_groups, class_similarity, complexity_scores
from .ff import check_checkpoint
from .ffgaf_config import FFGAFConfig
from .trainer import Callback, callbacks_stop

EPS = 1e-5


# -- components ------------------------------------------------------------------------------
def quantized_levels(z: torch.Tensor, clip: float, levels: int, shift: float) -> torch.Tensor:
    """Eq. 13 as integers: ``k = clip(floor(z L / lambda + varphi), 0, L)`` (float32 ops as
    :meth:`AnalogConvEncoder.levels_from_preactivation`)."""
    k = torch.floor(z * np.float32(levels / clip) + np.float32(shift))
    return torch.clamp(k, 0, levels)


def improved_relu(z: torch.Tensor, clip: float, levels: int, shift: float) -> torch.Tensor:
    """Eq. 13, ``lambda clip(floor(z L / lambda + varphi) / L, 0, 1)``; the forward value is
    ``k * (lambda / L)``, the gradient that of ``clamp(z, 0, lambda)`` (straight-through floor)."""
    hard = quantized_levels(z, clip, levels, shift) * np.float32(clip / levels)
    soft = torch.clamp(z, 0.0, clip)
    return soft + (hard - soft).detach()


def group_matrix(groups: np.ndarray, n_classes: int) -> torch.Tensor:
    """``(C, K)`` averaging matrix: ``M[j, c] = 1 / n_c`` if channel j belongs to class c."""
    groups = np.asarray(groups)
    m = np.zeros((len(groups), n_classes), dtype=np.float32)
    for c in range(n_classes):
        sel = groups == c
        if sel.any():
            m[sel, c] = 1.0 / sel.sum()
    return torch.from_numpy(m)


def cwc_goodness(y: torch.Tensor, gmat: torch.Tensor) -> torch.Tensor:
    """Eq. 5: ``G[n, c]`` = mean over class c's channels and all positions of ``y^2``."""
    per_channel = (y * y).flatten(2).mean(dim=2)          # (N, C)
    return per_channel @ gmat                             # (N, K)


def cwc_loss(goodness: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Eq. 6 as in the reference code: cross-entropy of softmax(G) against the label."""
    return F.cross_entropy(goodness, labels)


@torch.no_grad()
def if_neurons(current: torch.Tensor, threshold: float) -> torch.Tensor:
    """IF neurons (Lava semantics, v_decay = 0): ``v += I[t]; s = v > theta; v = 0 where s``.
    ``current``: (T, ...) -> spikes (T, ...) float32 0/1."""
    v = torch.zeros_like(current[0])
    out = torch.empty(current.shape, dtype=torch.bool, device=current.device)
    for t in range(current.shape[0]):
        v.add_(current[t])
        torch.gt(v, threshold, out=out[t])
        v.masked_fill_(out[t], 0.0)
    return out.to(current.dtype)


class _NormConv(torch.nn.Module):
    """conv (3x3, no bias) -> channel weight and bias (eq. 9) -> per-channel normalisation
    scaled by ``thresh`` (eq. 10), with running statistics for inference."""

    def __init__(self, c_in: int, c_out: int, stride: int, scale: float, momentum: float,
                 gen: torch.Generator):
        super().__init__()
        self.stride = stride
        self.scale = float(scale)
        self.momentum = float(momentum)
        bound = 1.0 / math.sqrt(c_in * 9)
        self.kernel = torch.nn.Parameter((torch.rand(c_out, c_in, 3, 3, generator=gen) * 2 - 1)
                                         * bound * math.sqrt(3.0))
        self.cw = torch.nn.Parameter(torch.full((c_out,), 0.5))
        self.cb = torch.nn.Parameter(torch.zeros(c_out))
        self.register_buffer("running_mean", torch.zeros(c_out))
        self.register_buffer("running_var", torch.ones(c_out))

    def affine(self, a_mean: torch.Tensor, train: bool):
        """Batch (train) or running (eval) statistics of ``a_mean`` -> (mu, 1/sigma)."""
        if train:
            mu = a_mean.mean(dim=(0, 2, 3))
            var = a_mean.var(dim=(0, 2, 3), unbiased=False)
            n = a_mean.numel() / a_mean.shape[1]
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mu.detach())
                self.running_var.mul_(1 - m).add_(m * var.detach() * n / max(n - 1, 1))
        else:
            mu, var = self.running_mean, self.running_var
        return mu, torch.rsqrt(var + EPS)

    def pre(self, x: torch.Tensor) -> torch.Tensor:
        """``a = w_j (x * K_j) + b_j``."""
        a = F.conv2d(x, self.kernel, stride=self.stride, padding=1)
        return a * self.cw[None, :, None, None] + self.cb[None, :, None, None]

    @torch.no_grad()
    def folded(self) -> tuple:
        """(weight, bias) of the inference map ``thresh (w (x * K) + b - mu) / sigma``."""
        g = self.scale * torch.rsqrt(self.running_var + EPS)
        w = self.kernel * (g * self.cw)[:, None, None, None]
        b = g * (self.cb - self.running_mean)
        return w.float().contiguous(), b.float().contiguous()


class EncoderBlock(_NormConv):
    """Analog encoding block: conv + batch norm (eq. 9-10) + improved ReLU (eq. 13)."""

    def __init__(self, c_in, c_out, stride, cfg: FFGAFConfig, gen):
        super().__init__(c_in, c_out, stride, cfg.enc_norm_scale, cfg.bn_momentum, gen)
        self.clip, self.levels, self.shift = float(cfg.enc_clip), int(cfg.enc_levels), \
            float(cfg.enc_shift)

    def forward(self, x: torch.Tensor, train: bool) -> torch.Tensor:
        if train:
            a = self.pre(x)
            mu, inv = self.affine(a, True)
            z = self.scale * (a - mu[None, :, None, None]) * inv[None, :, None, None]
        else:
            w, b = self.folded()
            z = F.conv2d(x, w, b, stride=self.stride, padding=1)
        return improved_relu(z, self.clip, self.levels, self.shift)


class HiddenBlock(_NormConv):
    """Hidden block: conv + temporal normalisation (eq. 8-10), improved ReLU for the loss, IF
    neurons as a frozen black box for the next block's input."""

    def __init__(self, c_in, c_out, stride, cfg: FFGAFConfig, gen):
        super().__init__(c_in, c_out, stride, cfg.norm_scale, cfg.bn_momentum, gen)
        self.T = int(cfg.time_steps)
        self.theta = float(cfg.if_threshold)
        self.shift = float(cfg.hidden_shift)
        self.loss_on = cfg.loss_on

    def forward(self, x: torch.Tensor, train: bool, constant: bool,
                dropout: float = 0.0, gen: Optional[torch.Generator] = None):
        """``x``: (N, C, H, W) presented at every step (``constant``) or (T, N, C, H, W).
        Returns (y = h(Y) for the loss, spikes (T, N, C', H', W')). In training, ``dropout``
        zeroes input elements (per step; a constant input keeps its mask over the steps) with
        that probability and scales the rest by 1 / (1 - p)."""
        T = self.T
        if train and dropout > 0:
            keep = torch.rand(x.shape, generator=gen, device=x.device) >= dropout
            x = x * keep / (1.0 - dropout)
        x_mean = x if constant else x.mean(dim=0)
        if train:
            a_mean = self.pre(x_mean)                     # time-averaged current, with grad
            mu, inv = self.affine(a_mean, True)
            y_sum = T * self.scale * (a_mean - mu[None, :, None, None]) * inv[None, :, None, None]
            g = (self.scale * inv).detach()
            w = self.kernel.detach() * (g * self.cw.detach())[:, None, None, None]
            b = g * (self.cb.detach() - mu.detach())
        else:
            w, b = self.folded()
            y_sum = None
        with torch.no_grad():
            if constant:
                cur = F.conv2d(x, w, b, stride=self.stride, padding=1)
                cur = cur.unsqueeze(0).expand((T,) + cur.shape)
            else:
                cur = F.conv2d(x.flatten(0, 1), w, b, stride=self.stride, padding=1)
                cur = cur.view((x.shape[0], x.shape[1]) + cur.shape[1:])
            spikes = if_neurons(cur, self.theta)
        if y_sum is None:
            y_sum = cur.sum(dim=0)
        y = improved_relu(y_sum, self.theta * T, T, self.shift)
        if self.loss_on == "spikes":
            # forward value: theta * spike count (what prediction uses); gradient: eq. 13's
            y = y + (self.theta * spikes.sum(dim=0) - y).detach()
        return y, spikes


class FFGAFModel(torch.nn.Module):
    """Encoder block + hidden blocks with their class groups."""

    def __init__(self, cfg: FFGAFConfig, in_shape: tuple, groups: List[np.ndarray],
                 n_classes: int):
        super().__init__()
        gen = torch.Generator().manual_seed(cfg.seed)
        self.cfg, self.in_shape, self.n_classes = cfg, tuple(in_shape), int(n_classes)
        self.groups = [np.asarray(g, dtype=np.int64) for g in groups]
        c_in = in_shape[0]
        blocks = []
        for i, (c, s) in enumerate(zip(cfg.channels, cfg.strides)):
            blk = (EncoderBlock if i == 0 else HiddenBlock)(c_in, c, s, cfg, gen)
            blocks.append(blk)
            c_in = c
        self.blocks = torch.nn.ModuleList(blocks)
        self.gmats = [group_matrix(g, n_classes) for g in self.groups]

    def to_device(self, device: torch.device) -> "FFGAFModel":
        """Move parameters, statistics and the class-group matrices to ``device``."""
        self.to(device)
        self.gmats = [m.to(device) for m in self.gmats]
        return self

    def run(self, x: torch.Tensor, train: bool, gen: Optional[torch.Generator] = None):
        """Every block on images ``x`` (N, C, H, W): list of ``y`` per block, list of spike
        trains per hidden block. Block inputs are detached (layer-local training); in
        training, hidden-block inputs get ``cfg.dropout`` (masks drawn from ``gen``)."""
        ys, spikes = [], []
        h = self.blocks[0](x, train)
        ys.append(h)
        inp, constant = h.detach(), True
        for blk in self.blocks[1:]:
            y, s = blk(inp, train, constant, self.cfg.dropout, gen)
            ys.append(y)
            spikes.append(s)
            inp, constant = s, False
        return ys, spikes

    def losses(self, x: torch.Tensor, labels: torch.Tensor,
               gen: Optional[torch.Generator] = None):
        ys, _ = self.run(x, train=True, gen=gen)
        goods = [cwc_goodness(y, m) for y, m in zip(ys, self.gmats)]
        return [cwc_loss(g, labels) for g in goods], goods

    @torch.no_grad()
    def spike_counts(self, x: torch.Tensor) -> List[np.ndarray]:
        """Inference (folded parameters): spike counts (N, C, H, W) per spiking layer."""
        _, spikes = self.run(x, train=False)
        return [s.sum(dim=0).cpu().numpy() for s in spikes]

    def goodness_from_counts(self, counts: List[np.ndarray]) -> np.ndarray:
        n_hidden = len(self.blocks) - 1
        layers = tuple(sorted({p % n_hidden for p in self.cfg.predict_layers}))
        return class_goodness(counts, self.groups[1:], self.n_classes, self.cfg.time_steps,
                              layers)


# -- training loop ---------------------------------------------------------------------------
@dataclass
class FFGAFHistory:
    loss: List[List[float]] = field(default_factory=list)       # per epoch, per block
    train_accuracy: List[List[float]] = field(default_factory=list)  # batch argmax G per block
    epoch_seconds: List[float] = field(default_factory=list)
    epochs_completed: float = 0.0
    seconds: float = 0.0
    stopped_by_budget: bool = False

    def to_dict(self) -> dict:
        return {"loss": self.loss, "train_accuracy": self.train_accuracy,
                "epoch_seconds": self.epoch_seconds, "epochs_completed": self.epochs_completed,
                "seconds": self.seconds, "stopped_by_budget": self.stopped_by_budget}

    @classmethod
    def from_dict(cls, d: dict) -> "FFGAFHistory":
        return cls(**{k: d[k] for k in ("loss", "train_accuracy", "epoch_seconds",
                                        "epochs_completed", "seconds", "stopped_by_budget")
                      if k in d})


def images(ds_x: np.ndarray, image_shape) -> np.ndarray:
    """Flattened dataset rows -> (N, C, H, W) float32 (grey images: C = 1)."""
    shape = tuple(image_shape)
    if len(shape) == 2:
        shape = (1,) + shape
    return np.ascontiguousarray(ds_x.reshape((len(ds_x),) + shape), dtype=np.float32)


class FFGAFTrainer:
    """Trains FFGAF-SNN on a :class:`~ff_neuro.data.Dataset`; :meth:`to_conv_network` gives the
    deployable :class:`~ff_neuro.model.Network`.

    ``device`` is a torch device ("cpu", "cuda", "cuda:1"). On a GPU the training images stay
    on the device and per-batch losses are read back once per epoch; convolutions use cuDNN's
    defaults (TF32 on Ampere and later), inference and :meth:`to_conv_network` are unchanged.
    Checkpoints hold CPU arrays, so a run can move between devices when it resumes."""

    def __init__(self, cfg: FFGAFConfig, dataset: Dataset, threads: Optional[int] = 2,
                 device: str = "cpu"):
        if threads:
            torch.set_num_threads(threads)
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {device!r} asked for, but torch sees no CUDA GPU "
                               f"(torch {torch.__version__}); use device='cpu'")
        self.cfg, self.ds = cfg, dataset
        self.x_train = images(dataset.x_train, dataset.image_shape)
        self.in_shape = self.x_train.shape[1:]
        k = dataset.n_classes
        n = min(cfg.feature_samples, len(dataset.y_train))
        self.similarity = class_similarity(dataset.x_train[:n], dataset.y_train[:n], k)
        self.scores = complexity_scores(self.similarity)
        self.counts = [allocate(cfg.allocation, c, k, self.scores, cfg.phi)
                       for c in cfg.channels]
        groups = [class_groups(c) for c in self.counts]
        torch.manual_seed(cfg.seed)
        self.model = FFGAFModel(cfg, self.in_shape, groups, k).to_device(self.device)
        self._x_dev = torch.from_numpy(self.x_train).to(self.device)
        self._y_dev = torch.from_numpy(np.asarray(dataset.y_train, dtype=np.int64)).to(self.device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.history = FFGAFHistory()
        self.epochs_done = 0
        self.steps_done = 0
        self._gen = None      # dropout masks: seeded per epoch in fit()

    def _lr(self, step: int, total: int) -> float:
        return self.cfg.lr * 0.5 * (1 + math.cos(math.pi * min(step, total) / max(total, 1)))

    def _step(self, xt: torch.Tensor, yt: torch.Tensor, lr: float) -> torch.Tensor:
        """One Adam step on a batch already on the device; returns the detached (2, blocks)
        tensor of losses and batch accuracies (no host synchronisation)."""
        for g in self.opt.param_groups:
            g["lr"] = lr
        losses, goods = self.model.losses(xt, yt, self._gen)
        self.opt.zero_grad()
        sum(losses).backward()
        self.opt.step()
        acc = torch.stack([(g.argmax(1) == yt).float().mean() for g in goods])
        return torch.stack([torch.stack(losses).detach(), acc])

    def train_step(self, x: np.ndarray, y: np.ndarray, lr: float):
        """One Adam step on the images ``x`` (N, C, H, W) with labels ``y``: (losses per
        block, batch accuracies per block)."""
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(self.device)
        yt = torch.from_numpy(np.asarray(y, dtype=np.int64)).to(self.device)
        out = self._step(xt, yt, lr).cpu().numpy()
        return out[0].tolist(), out[1].tolist()

    def fit(self, progress: bool = True, callbacks: Sequence[Callback] = (),
            checkpoint: Optional[PathLike] = None, resume: bool = False,
            checkpoint_every: int = 1, max_seconds: Optional[float] = None,
            stop_after: Optional[int] = None) -> Network:
        """Train for ``cfg.epochs`` epochs (continuing from ``checkpoint`` if ``resume``); with
        ``max_seconds`` stop after the first batch that ends past that training time (the
        partial epoch counts in ``history.epochs_completed``) and decay the learning rate by
        the larger of the step and the time fraction, so the cosine ends with the budget; with
        ``stop_after`` stop once that many epochs are done (an interruption: the learning-rate
        schedule still spans ``cfg.epochs``, so a resumed run continues it exactly);
        ``callbacks`` see every epoch and may stop. The
        :class:`~ff_neuro.training.trainer.Trainer` protocol.

        Example::

            >>> from ff_neuro.data import load_digits
            >>> from ff_neuro.training.ffgaf_config import FFGAFConfig
            >>> tr = FFGAFTrainer(FFGAFConfig.from_preset("micro", epochs=1), load_digits())
            >>> net = tr.fit(progress=False)
            >>> tr.epochs_done
            1
        """
        cfg = self.cfg
        if resume:
            if checkpoint is None or not Path(checkpoint).exists():
                raise FileNotFoundError(f"no checkpoint to resume from: {checkpoint}")
            self.load_checkpoint(checkpoint)
        n = len(self.x_train)
        n_batches = (n + cfg.batch_size - 1) // cfg.batch_size
        total_steps = n_batches * cfg.epochs
        bar = tqdm(total=cfg.epochs, initial=self.epochs_done, desc="FFGAF training",
                   unit="epoch", disable=not progress, leave=False, dynamic_ncols=True)
        h = self.history
        self.model.train()
        last = cfg.epochs if stop_after is None else min(cfg.epochs, int(stop_after))
        for cb in callbacks:
            cb.on_fit_start(self)
        for epoch in range(self.epochs_done, last):
            rng = np.random.default_rng([cfg.seed, epoch])
            order = rng.permutation(n)
            if cfg.dropout > 0:
                self._gen = torch.Generator(device=self.device)
                self._gen.manual_seed(int(rng.integers(2 ** 62)))
            t0 = time.perf_counter()
            stats = []
            stop = False
            for i, start in enumerate(range(0, n, cfg.batch_size)):
                idx_np = np.sort(order[start:start + cfg.batch_size])
                idx = torch.from_numpy(idx_np).to(self.device)
                if cfg.augment != "none":     # on the host: a batch of 128 images is cheap
                    xa = augment_images(self.ds.x_train[idx_np], self.ds.image_shape,
                                        cfg.augment, cfg.augment_shift, rng)
                    xb = torch.from_numpy(images(xa, self.ds.image_shape)).to(self.device)
                else:
                    xb = self._x_dev[idx]
                lr = self._lr(epoch * n_batches + i, total_steps)
                if max_seconds is not None:   # a budget: the cosine also follows the clock
                    frac = (h.seconds + time.perf_counter() - t0) / max_seconds
                    lr = min(lr, self._lr(frac * total_steps, total_steps))
                stats.append(self._step(xb, self._y_dev[idx], lr))
                if (max_seconds is not None
                        and h.seconds + time.perf_counter() - t0 >= max_seconds):
                    stop = i + 1 < n_batches
                    break
            stats = torch.stack(stats).cpu().numpy()      # (batches, 2, blocks): one sync
            losses = stats[:, 0]
            secs = time.perf_counter() - t0
            h.loss.append(losses.mean(axis=0).tolist())
            h.train_accuracy.append(stats[:, 1].mean(axis=0).tolist())
            h.epoch_seconds.append(secs)
            h.seconds += secs
            h.epochs_completed += len(losses) / n_batches
            h.stopped_by_budget = bool(stop)
            self.epochs_done = epoch + 1
            bar.set_postfix({"loss": f"{sum(h.loss[-1]):.3f}",
                             "acc(last block)": f"{h.train_accuracy[-1][-1]:.3f}",
                             "samples/s": f"{len(losses) * cfg.batch_size / secs:.0f}"})
            bar.update(1)
            due = checkpoint is not None and (self.epochs_done % checkpoint_every == 0
                                              or self.epochs_done == cfg.epochs or stop)
            if due:              # before the callbacks: an exception there loses nothing
                self.save_checkpoint(checkpoint)
            asked = callbacks_stop(callbacks, self, epoch)
            if asked and checkpoint is not None and not due:
                self.save_checkpoint(checkpoint)
            if asked or (max_seconds is not None and h.seconds >= max_seconds):
                break
        bar.close()
        for cb in callbacks:
            cb.on_fit_end(self)
        return self.to_conv_network()

    def network(self) -> Network:
        """The deployable conv network as trained so far (:meth:`to_conv_network`)."""
        return self.to_conv_network()

    def epoch_metrics(self) -> dict:
        """The last epoch's numbers: epoch, seconds, train_accuracy (the last block's running
        accuracy on the training batches), loss (summed over blocks), epochs_completed."""
        h = self.history
        if not h.loss:
            return {"epoch": None, "seconds": h.seconds, "train_accuracy": None}
        return {"epoch": self.epochs_done - 1, "seconds": h.seconds,
                "train_accuracy": float(h.train_accuracy[-1][-1]),
                "loss": float(sum(h.loss[-1])), "epochs_completed": h.epochs_completed}

    # -- inference ---------------------------------------------------------------------------
    def spike_counts(self, x_flat: np.ndarray, batch: int = 500) -> List[np.ndarray]:
        """Inference spike counts per spiking layer for dataset rows ``x_flat``."""
        x = images(x_flat, self.ds.image_shape)
        out = None
        for s in range(0, len(x), batch):
            c = self.model.spike_counts(torch.from_numpy(x[s:s + batch]).to(self.device))
            out = [[ci] for ci in c] if out is None else [o + [ci] for o, ci in zip(out, c)]
        return [np.concatenate(o) for o in out]

    def predict(self, x_flat: np.ndarray, batch: int = 500) -> np.ndarray:
        """One pass, class-group goodness of spike counts, argmax."""
        return np.argmax(self.model.goodness_from_counts(self.spike_counts(x_flat, batch)),
                         axis=1)

    def accuracy(self, x_flat: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.predict(x_flat) == np.asarray(y)))

    def layer_accuracies(self, x_flat: np.ndarray, y: np.ndarray,
                         counts: Optional[List[np.ndarray]] = None) -> List[float]:
        """Accuracy of each spiking layer's spike-count goodness alone."""
        counts = self.spike_counts(x_flat) if counts is None else counts
        return [float(np.mean(np.argmax(class_goodness(counts, self.model.groups[1:],
                                                       self.ds.n_classes, self.cfg.time_steps,
                                                       (l,)), axis=1) == y))
                for l in range(len(counts))]

    def evaluate(self, x_flat: np.ndarray, y: np.ndarray) -> dict:
        """One inference pass: accuracy (``predict_layers``) and accuracy per spiking layer."""
        counts = self.spike_counts(x_flat)
        pred = np.argmax(self.model.goodness_from_counts(counts), axis=1)
        return {"accuracy": float(np.mean(pred == y)),
                "accuracy_per_layer": self.layer_accuracies(x_flat, y, counts),
                "firing_rate_per_layer": [float(c.mean()) / self.cfg.time_steps
                                          for c in counts]}

    # -- deployment --------------------------------------------------------------------------
    def to_conv_network(self) -> Network:
        """Fold batch norm, temporal normalisation and channel weights into plain conv weights
        and biases: the :class:`Network` the model's inference mode computes."""
        cfg, m = self.cfg, self.model
        enc = m.blocks[0]
        w, b = enc.folded()
        encoder = AnalogConvEncoder(weight=w.cpu().numpy(), bias=b.cpu().numpy(),
                                    stride=enc.stride, padding=1, levels=enc.levels, clip=enc.clip,
                                    in_shape=tuple(self.in_shape), shift=enc.shift,
                                    time_steps=cfg.time_steps)
        layers, shape = [], encoder.out_shape
        for blk in m.blocks[1:]:
            w, b = blk.folded()
            layer = Layer.conv2d(weight=w.cpu().numpy(), threshold=blk.theta, in_shape=shape,
                                 v_decay=0.0, stride=blk.stride, padding=1,
                                 bias=b.cpu().numpy())
            layers.append(layer)
            shape = layer.out_shape
        ds = self.ds
        return Network(
            encoder=encoder, layers=layers,
            readouts=[ClassGroups([g.copy() for g in m.groups[1:]], n_classes=ds.n_classes,
                                  predict_layers=cfg.predict_layers)],
            dataset=ds.describe(),
            training={"algorithm": "ffgaf", "config": cfg.to_dict(),
                      "history": self.history.to_dict(),
                      "allocation": {"kind": cfg.allocation, "phi": cfg.phi,
                                     "complexity_scores": self.scores.tolist(),
                                     "channels_per_class": [c.tolist() for c in self.counts],
                                     "encoder_class_groups": m.groups[0].tolist()}})

    # -- checkpoints -------------------------------------------------------------------------
    def save_checkpoint(self, path: PathLike) -> Path:
        """Parameters, running statistics, Adam state, history and config (HDF5, atomic)."""
        import h5py
        path = Path(path)
        names = [k for k, _ in self.model.named_parameters()]
        with atomic_path(path) as tmp:
            with h5py.File(tmp, "w") as f:
                f.attrs["format"] = "ff-neuro-ffgaf-checkpoint"
                f.attrs["epochs_done"] = self.epochs_done
                f.attrs["config_json"] = json.dumps(self.cfg.to_dict())
                f.attrs["history_json"] = json.dumps(self.history.to_dict())
                for k, v in self.model.state_dict().items():
                    f.create_dataset(f"model/{k}", data=v.cpu().numpy())
                st = self.opt.state_dict()["state"]
                for i, name in enumerate(names):
                    if i in st:
                        g = f.create_group(f"adam/{name}")
                        g.create_dataset("exp_avg", data=st[i]["exp_avg"].cpu().numpy())
                        g.create_dataset("exp_avg_sq", data=st[i]["exp_avg_sq"].cpu().numpy())
                        g.attrs["step"] = float(st[i]["step"])
        return path

    def load_checkpoint(self, path: PathLike) -> None:
        import h5py
        with h5py.File(path, "r") as f:
            check_checkpoint(f, path, "ff-neuro-ffgaf-checkpoint", "an FFGAF",
                             self.cfg.to_dict())
            self.epochs_done = int(f.attrs["epochs_done"])
            self.history = FFGAFHistory.from_dict(json.loads(f.attrs["history_json"]))
            state = {k: torch.from_numpy(f[f"model/{k}"][()])
                     for k in self.model.state_dict()}
            self.model.load_state_dict(state)
            names = [k for k, _ in self.model.named_parameters()]
            opt_state = self.opt.state_dict()
            for i, name in enumerate(names):
                if f"adam/{name}" in f:
                    g = f[f"adam/{name}"]
                    opt_state["state"][i] = {
                        "step": torch.tensor(float(g.attrs["step"])),
                        "exp_avg": torch.from_numpy(g["exp_avg"][()]).to(self.device),
                        "exp_avg_sq": torch.from_numpy(g["exp_avg_sq"][()]).to(self.device)}
            self.opt.load_state_dict(opt_state)


def train_ffgaf(dataset: Dataset, cfg: Optional[FFGAFConfig] = None, progress: bool = True,
                max_seconds: Optional[float] = None) -> Network:
    """Train FFGAF-SNN on ``dataset`` and return the deployable Network."""
    return FFGAFTrainer(cfg or FFGAFConfig(), dataset).fit(progress=progress,
                                                           max_seconds=max_seconds)
