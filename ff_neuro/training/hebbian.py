"""Hebbian Forward-Forward (Terres-Escudero et al., "Emerging NeoHebbian Dynamics in
Forward-Forward Learning", seed 003; public notebook erikberter/Hebbian_FFA).

With the squared Euclidean goodness ``G(l) = sum_j l_j^2`` the FF gradient of a layer is a
*three-factor* (neo-Hebbian) rule: a modulatory signal ``M`` times the post-synaptic output trace
``l_j`` times the pre-synaptic input ``x_i`` (paper eq. 2-4). No autograd is used: the update is
computed in closed form with numpy, vectorised over the batch and the neurons (or with torch on
a GPU: :mod:`ff_neuro.training.hebbian_torch`).

Per sample and time step ``t = 0 .. T-1`` (one presentation; the state starts at zero)::

    v[t]  = (1 - v_decay) v[t-1] + W x[t]            # the LIF of ff_neuro.model.LIF (du = 1)
    s[t]  = v[t] > threshold;  v[t] = 0 where s[t]    # reset to zero
    l[t]  = trace(l[t-1], s[t])                        # output trace, paper appendix A
    G     = sum_j l_j[t]^2                             # goodness of the trace

Output traces (appendix A; ``tau_o = trace_tau``, ``mu = trace_scale``)::

    LI       l[t] = tau_o l[t-1] + mu s[t]            (eq. 11; default mu = 1 - tau_o)
    ReLU     l[t] =       l[t-1] + mu s[t]            (eq. 13; default mu = 1 / T: l = count/T)
    Hard-LI  l[t] = s[t] + tau_o (1 - s[t]) l[t-1]    (eq. 12; a spike sets the trace to 1)

Probabilities and the updates they give (eq. 5 / 6). ``y = 1`` for a positive sample (true label
embedded), ``y = 0`` for a negative one (wrong label). The update ascends ``log P(target)``; the
constant factor ``2 alpha`` of the exact gradient is absorbed into the learning rate, as in eq. 5::

    sigmoid    P = sigmoid(alpha (G - theta))
               dW_ij = M l_j x_i,   M = y - P
                     = (1 - P) l_j x_i            positive sample  (eq. 5)
                     = -(1 - (1 - P)) l_j x_i     negative sample  (same rule for P_neg = 1 - P)

    symmetric  neurons j < H/2 form the positive half, the rest the negative half;
               G+ = sum_{j < H/2} l_j^2,  G- = sum_{j >= H/2} l_j^2
               P = (G+ + eps) / (G+ + G- + 2 eps)                     (P_sym)
               positive sample, positive half:  M_j = (1 - P) / (G+ + eps)      (eq. 6)
               negative sample, negative half:  M_j = (1 - P_neg) / (G- + eps), P_neg = 1 - P
               the other half (cross term):     M_j = -1 / (G+ + G- + 2 eps)
               dW_ij = M_j l_j x_i

Eq. 6 states the own-polarity term; the cross term is the rest of the same derivative
(``d log P / d G- = -1 / (G+ + G-)``), applied by the authors' notebook too; ``cross_term =
False`` drops it. ``eps`` (0.01 in the notebook) keeps the ratio finite for a silent layer and
vanishes for ``eps -> 0``.

Updates happen only at steps ``t >= update_from_step`` (the paper's late window, the notebook's
``t > 15``). ``x_i`` is the input spike ``x_i[t]`` (``presynaptic="spike"``, as the notebook) or an
input trace of the same kind as the output trace (``"trace"``). Batched mode (``batch_size = K``)
runs the ``K`` samples in parallel on the same weights and combines their updates
(``batch_reduce = "mean"``: the ``1/K sum_k`` of eq. 1, or ``"sum"``) into one update event.
``update_every = "step"``: one update event per step of the window (``dw/dt`` of eq. 2, the
notebook); ``"presentation"``: the window's steps are summed and applied once per sample (or batch).

Eligibility trace (eq. 7 / 8), one step per update event, ``tau_e = 0`` disables it::

    e <- e + (1 - tau_e) (dW - e)
    W <- W + eta e

Positive or negative is drawn 50/50 per sample; the negative label is ``(y + U{1..C-1}) mod C``.
Inputs are rate coded by :mod:`ff_neuro.encoding` (Bernoulli ``gain * pixel``; label inputs
regular, as :func:`ff_neuro.run.label_sweep` feeds them), so training and inference see the same
kind of spikes. Between samples the state is reset to zero (the notebook's 20 silent steps leave
``0.85^20 ~ 4 %`` of the membrane potential).

Inference: label sweep, argmax over candidate labels of ``G`` (sigmoid: monotone in ``P``) or of
``P_sym``. :meth:`HebbianTrainer.network` returns a :class:`Network` whose ``label_sweep``
scores spike counts: ``P_sym`` of each layer's halves (``goodness="symmetric"``, the default for
the symmetric probability) or ``sum_j (count_j / T)^2`` ("sum_sq", sigmoid). Both equal the trace
versions for the ReLU trace with ``mu = 1/T`` and approximate them for LI / Hard-LI traces
(which weight recent spikes more); :meth:`HebbianTrainer.predict` computes the trace-based
``argmax P_sym`` itself.

:class:`AnalogFFA` is the analog baseline of the paper: ReLU layers on the expected spike rates
``gain * input``, the same goodness and probabilities, Adam on ``-log P(target)``.

Latent analytics: :func:`hoyer_index` (eq. 9) and :func:`separability_index` (eq. 10).

Speed: online (K = 1) training on Fashion-MNIST-sized inputs (784 + 100 inputs, 200 neurons,
T = 23) ran at ~840-1070 samples/s on one core of a busy 2-core machine, i.e. ~1 min per 60k-sample
epoch (the authors' notebook: ~31 min); K = 50: ~4400 samples/s.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
from tqdm import tqdm

from ..data import Dataset
from ..encoding import encode, sweep_inputs
from ..model import InputEncoding, LabelEmbedding, LabelSweep, Layer, Network
from ..fileio import PathLike, atomic_path
from .common import quantized_v_decay, random_wrong_labels
from .trainer import Callback, callbacks_stop

TRACES = ("li", "relu", "hard_li")
PROBABILITIES = ("sigmoid", "symmetric")
HEBBIAN_EMBEDDINGS = ("code", "append", "overlay")

#: Seed offset of the input spikes of :meth:`HebbianTrainer.predict` (as label_sweep's default).
_TEST_SEED_OFFSET = 10_000_000


@dataclass
class HebbianConfig:
    """Hebbian FFA training (seed 003). Defaults follow the paper / its notebook.

    Attributes
    ----------
    hidden : spiking layer sizes (the paper: one layer of 200); each layer learns locally
    time_steps : T, steps per sample (the notebook runs 23)
    update_from_step : weights are updated only at steps ``t >= update_from_step``; None: the
        last 7 steps, ``max(0, time_steps - 7)`` (16 for T = 23, the paper's)
    threshold : LIF threshold
    beta : membrane decay per step, stored as ``v_decay = round((1 - beta) 4096) / 4096``
    trace : output trace, "li" | "relu" | "hard_li" (appendix A)
    trace_tau : trace decay tau_o (LI, Hard-LI)
    trace_scale : trace increment mu; None: LI ``1 - tau_o``, ReLU ``1 / T``, Hard-LI 1 (unused)
    probability : "sigmoid" (P = sigmoid(alpha (G - theta))) or "symmetric" (P_sym, split layer)
    theta, alpha : sigmoid threshold and sharpness
    eps : regulariser of the symmetric probability
    cross_term : symmetric only: also apply ``-1/(G+ + G-)`` to the other half
    tau_e : eligibility-trace decay (eq. 7); 0 disables it (W += eta dW)
    lr : eta (symmetric: ~1; sigmoid: ~0.1 worked better in short Fashion-MNIST runs)
    lr_decay_to : None (constant eta), or eta decays linearly over the epochs from ``lr``
        (first epoch) to ``lr * lr_decay_to`` (last epoch, ``epochs``); per-sample SGD ends
        noisy without it
    weight_decay : lambda; after every presentation (one sample online, one batch of K) the
        weights shrink, ``W <- (1 - eta lambda) W`` (0: off, as in the paper). Without it the
        weights grow to hundreds of times the threshold. Decay shrinks the bulk of the
        weights, not the largest ones (the rule pushes a few synapses harder); on the
        Fashion-MNIST validation split lambda 3e-6 / 3e-5 left accuracy unchanged (tuning
        R9 in ``benchmarks/results/hebbian_fashion.json``). Trainer only: the Lava on-chip
        rule has no decay term.
    batch_size : K; 1 = online
    batch_reduce : combine the K updates by "mean" (eq. 1) or "sum"
    update_every : "step" (an update event per step of the window) or "presentation"
    presynaptic : x_i = input "spike" or input "trace" (same kind as the output trace)
    epochs : passes over the training set
    label_embedding : "code" (random binary code, Lee et al.), "append" or "overlay" (one-hot)
    code_bits, code_p : size and bit probability of the code
    gain : rate-coding gain, p = clip(gain * value, 0, 1) (0.25 in the paper)
    init_std : initial weights ~ N(0, init_std^2) (the notebook: N(0, 1))
    analog_lr : Adam learning rate of the analog baseline (:class:`AnalogFFA`)
    eval_samples : training samples whose label-sweep accuracy is logged per epoch
    seed : weights, polarity / negative labels and the label code
    encoding_seed : input spikes
    """

    hidden: Tuple[int, ...] = (200,)
    time_steps: int = 23
    update_from_step: Optional[int] = None
    threshold: float = 2.0
    beta: float = 0.85
    trace: str = "li"
    trace_tau: float = 0.85
    trace_scale: Optional[float] = None
    probability: str = "symmetric"
    theta: float = 2.0
    alpha: float = 6.0
    eps: float = 0.01
    cross_term: bool = True
    tau_e: float = 0.9
    lr: float = 1.0
    lr_decay_to: Optional[float] = None
    weight_decay: float = 0.0
    batch_size: int = 1
    batch_reduce: str = "mean"
    update_every: str = "step"
    presynaptic: str = "spike"
    epochs: int = 1
    label_embedding: str = "code"
    code_bits: int = 100
    code_p: float = 0.3
    gain: float = 0.25
    init_std: float = 1.0
    analog_lr: float = 0.01
    eval_samples: int = 0
    seed: int = 0
    encoding_seed: int = 1234

    def __post_init__(self) -> None:
        from .. import checks
        from ..config import layer_sizes
        self.hidden = layer_sizes(self.hidden)
        self.time_steps = checks.time_steps("time_steps", self.time_steps)
        for name in ("threshold", "lr", "alpha", "eps", "gain", "init_std", "analog_lr"):
            checks.positive(name, getattr(self, name))
        for name in ("beta", "trace_tau", "tau_e"):
            checks.fraction(name, getattr(self, name))
        checks.finite("theta", self.theta)
        checks.finite("weight_decay", self.weight_decay, low=0.0)
        if self.trace_scale is not None:
            checks.positive("trace_scale", self.trace_scale)
        if self.lr_decay_to is not None:
            checks.fraction("lr_decay_to", self.lr_decay_to)
        self.code_bits = checks.count("code_bits", self.code_bits)
        checks.finite("code_p", self.code_p, low=0.0, high=1.0, low_open=True, high_open=True)
        self.eval_samples = checks.integer("eval_samples", self.eval_samples, low=0)
        for name in ("seed", "encoding_seed"):
            setattr(self, name, checks.seed(name, getattr(self, name)))
        for name, value, choices in (("trace", self.trace, TRACES),
                                     ("probability", self.probability, PROBABILITIES),
                                     ("label_embedding", self.label_embedding,
                                      HEBBIAN_EMBEDDINGS),
                                     ("batch_reduce", self.batch_reduce, ("mean", "sum")),
                                     ("update_every", self.update_every,
                                      ("step", "presentation")),
                                     ("presynaptic", self.presynaptic, ("spike", "trace"))):
            if value not in choices:
                raise ValueError(f"unknown {name} {value!r} ({'|'.join(choices)})")
        for name in ("time_steps", "batch_size", "epochs"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
            setattr(self, name, int(getattr(self, name)))
        if self.update_from_step is None:
            self.update_from_step = max(0, self.time_steps - 7)
        self.update_from_step = int(self.update_from_step)
        if not 0 <= self.update_from_step < self.time_steps:
            raise ValueError(f"update_from_step must lie in [0, time_steps = {self.time_steps}),"
                             f" got {self.update_from_step} (no step would update)")
        if not self.threshold > 0:
            raise ValueError(f"threshold must be > 0, got {self.threshold}")
        for name in ("beta", "trace_tau"):
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)}")
        if not 0.0 <= self.tau_e < 1.0:
            raise ValueError(f"tau_e must lie in [0, 1) (0 disables the eligibility trace), "
                             f"got {self.tau_e}")
        if self.trace_scale is not None and not self.trace_scale > 0:
            raise ValueError(f"trace_scale must be > 0 (or None for the default), "
                             f"got {self.trace_scale}")
        for name in ("lr", "alpha", "eps", "gain", "init_std", "analog_lr"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.lr_decay_to is not None and not 0.0 <= float(self.lr_decay_to) <= 1.0:
            raise ValueError(f"lr_decay_to must lie in [0, 1] (or None), got {self.lr_decay_to}")
        if not 0.0 <= self.weight_decay * self.lr < 1.0:
            raise ValueError(f"weight_decay must be >= 0 with lr * weight_decay < 1, "
                             f"got {self.weight_decay} (lr {self.lr})")
        if self.probability == "symmetric" and any(h < 2 or h % 2 for h in self.hidden):
            raise ValueError(f"the symmetric probability splits each layer into a positive and "
                             f"a negative half: layer sizes must be even, got {self.hidden}")
        if self.label_embedding == "code" and (int(self.code_bits) < 1
                                               or not 0 < self.code_p < 1):
            raise ValueError("code embedding needs code_bits >= 1 and 0 < code_p < 1")
        if int(self.eval_samples) < 0:
            raise ValueError("eval_samples must be >= 0")

    def lr_factor(self, epoch: int) -> float:
        """The learning-rate factor of epoch ``epoch`` (0-based): 1 at the first epoch, linear
        to ``lr_decay_to`` at the last of ``epochs``; 1 throughout without decay."""
        if self.lr_decay_to is None or self.epochs < 2:
            return 1.0
        return 1.0 - (1.0 - float(self.lr_decay_to)) * epoch / (self.epochs - 1)

    def mu(self) -> float:
        """The trace increment actually used."""
        if self.trace_scale is not None:
            return float(self.trace_scale)
        return {"li": 1.0 - self.trace_tau, "relu": 1.0 / self.time_steps, "hard_li": 1.0}[
            self.trace]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


# ------------------------------------------------------------------------------------------
# The rule itself: traces, goodness, probabilities, modulators (numpy, vectorised)
# ------------------------------------------------------------------------------------------
def trace_step(l: np.ndarray, s: np.ndarray, kind: str, tau: float, mu: float) -> np.ndarray:
    """One step of an output trace (appendix A), ``s`` the spikes (0/1) of this step."""
    if kind == "li":
        return tau * l + mu * s
    if kind == "relu":
        return l + mu * s
    if kind == "hard_li":
        return np.where(s > 0, np.float32(1.0), tau * l).astype(l.dtype, copy=False)
    raise ValueError(f"unknown trace {kind!r}")


def probability(l: np.ndarray, kind: str, theta: float = 2.0, alpha: float = 6.0,
                eps: float = 0.01) -> np.ndarray:
    """``P`` of being positive data for traces ``l`` (B, H): sigmoid ``sigmoid(alpha (G -
    theta))`` or symmetric ``(G+ + eps) / (G+ + G- + 2 eps)``; returns (B,)."""
    l = np.asarray(l, dtype=np.float64)
    if kind == "sigmoid":
        g = (l * l).sum(axis=-1)
        return 1.0 / (1.0 + np.exp(-alpha * (g - theta)))
    h = l.shape[-1] // 2
    gp = (l[..., :h] ** 2).sum(axis=-1)
    gn = (l[..., h:] ** 2).sum(axis=-1)
    return (gp + eps) / (gp + gn + 2 * eps)


def modulator(l: np.ndarray, positive: np.ndarray, kind: str, theta: float = 2.0,
              alpha: float = 6.0, eps: float = 0.01, cross_term: bool = True) -> np.ndarray:
    """The third factor ``M`` (B, H) of ``dW_ij = M_j l_j x_i`` (eq. 5 / 6, module docstring).

    ``l``: output traces (B, H); ``positive``: (B,) 1 for positive, 0 for negative samples.
    """
    l = np.asarray(l, dtype=np.float64)
    y = np.asarray(positive, dtype=np.float64).reshape(-1)
    B, H = l.shape
    if kind == "sigmoid":
        p = probability(l, "sigmoid", theta, alpha)
        return np.broadcast_to((y - p)[:, None], (B, H))
    h = H // 2
    gp = (l[:, :h] ** 2).sum(axis=1)
    gn = (l[:, h:] ** 2).sum(axis=1)
    total = gp + gn + 2 * eps
    p = (gp + eps) / total                          # P_sym
    own_pos = (1.0 - p) / (gp + eps)                # positive sample, positive half (eq. 6)
    own_neg = p / (gn + eps)                        # negative sample: (1 - P_neg) / G-
    cross = -1.0 / total if cross_term else np.zeros_like(total)
    m = np.empty((B, H))
    m[:, :h] = np.where(y > 0, own_pos, cross)[:, None]
    m[:, h:] = np.where(y > 0, cross, own_neg)[:, None]
    return m


def hebbian_update(x: np.ndarray, l: np.ndarray, positive: np.ndarray, kind: str,
                   reduce: str = "mean", **kw) -> np.ndarray:
    """``dW`` (H, n_in) of one update event from inputs ``x`` (B, n_in), traces ``l`` (B, H):
    ``dW_ji = reduce_k M_kj l_kj x_ki`` (``reduce``: mean over the batch, eq. 1, or sum)."""
    l = np.asarray(l, dtype=np.float64)
    ml = modulator(l, positive, kind, **kw) * l
    dw = ml.T @ np.asarray(x, dtype=np.float64)
    return dw / l.shape[0] if reduce == "mean" else dw


def eligibility_step(e: np.ndarray, dw: np.ndarray, w: np.ndarray, tau_e: float,
                     eta: float) -> Tuple[np.ndarray, np.ndarray]:
    """Eq. 7 / 8: ``e <- e + (1 - tau_e)(dW - e)``, ``W <- W + eta e``; returns (e, W)."""
    e = e + (1.0 - tau_e) * (dw - e)
    return e, w + eta * e


# ------------------------------------------------------------------------------------------
# Latent analytics
# ------------------------------------------------------------------------------------------
def hoyer_index(activity: np.ndarray):
    """Hoyer sparsity (eq. 9): ``(sqrt(n) - |l|_1 / |l|_2) / (sqrt(n) - 1)``.

    1 for a vector with one active unit, 0 for a constant (non-zero) vector. ``activity``: a
    vector (returns a float) or (N, n) rows (returns (N,)); an all-zero row gives NaN (the index
    is undefined), so average with ``np.nanmean``.
    """
    a = np.asarray(activity, dtype=np.float64)
    if a.ndim not in (1, 2):
        raise ValueError(f"activity must be a vector or (N, n) rows, got shape {a.shape}")
    n = a.shape[-1]
    if n < 2:
        raise ValueError("the Hoyer index needs at least 2 units")
    l1 = np.abs(a).sum(axis=-1)
    l2 = np.sqrt((a * a).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        h = (np.sqrt(n) - l1 / l2) / (np.sqrt(n) - 1.0)
    h = np.where(l2 > 0, h, np.nan)
    return float(h) if a.ndim == 1 else h


def separability_index(features: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Separability index (eq. 10): mean over samples of the fraction of each sample's ``k``
    Euclidean nearest neighbours (itself excluded) that share its label."""
    from sklearn.neighbors import NearestNeighbors
    f = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    if f.ndim != 2 or y.shape != (f.shape[0],):
        raise ValueError(f"expected features (Q, n) and labels (Q,), got {f.shape}, {y.shape}")
    if not 1 <= k < f.shape[0]:
        raise ValueError(f"k must lie in [1, Q) = [1, {f.shape[0]}), got {k}")
    idx = NearestNeighbors(n_neighbors=k + 1).fit(f).kneighbors(f, return_distance=False)
    q = np.arange(f.shape[0])
    # drop the sample itself (not necessarily first among duplicates), else the farthest one
    is_self = idx == q[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones_like(idx, dtype=bool)
    keep[q, drop] = False
    nb = idx[keep].reshape(f.shape[0], k)
    return float(np.mean(y[nb] == y[:, None]))


# ------------------------------------------------------------------------------------------
# Trainer
# ------------------------------------------------------------------------------------------
@dataclass
class HebbianHistory:
    """Per epoch: mean P at the last step for positive / negative samples, the fraction of
    samples classified right by ``P > 0.5`` (the notebook's running accuracy), mean firing rate,
    label-sweep accuracy on ``eval_samples``, seconds and samples/s."""

    p_pos: List[float] = field(default_factory=list)
    p_neg: List[float] = field(default_factory=list)
    pn_accuracy: List[float] = field(default_factory=list)
    rate: List[List[float]] = field(default_factory=list)
    train_accuracy: List[Optional[float]] = field(default_factory=list)
    epoch_seconds: List[float] = field(default_factory=list)
    samples_per_second: List[float] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


#: the engines of :class:`HebbianTrainer`
ENGINES = ("auto", "numpy", "torch")


class HebbianTrainer:
    """Trains spiking layers with the Hebbian FF rule; :meth:`network` gives a Network.

    Weights are kept transposed, ``WT[k]`` (n_in, n_out), float32; ``e[k]`` likewise.

    ``device``: where the rule runs (``"cpu"``, ``"cuda"``, ``"cuda:1"``; one that is not there
    is a RuntimeError before training). ``engine``: ``"numpy"`` (the CPU, with a sparse online
    path), ``"torch"`` (:mod:`ff_neuro.training.hebbian_torch`: the weights and the time loop
    on ``device``; on the CPU it runs what a GPU runs), ``"auto"``: numpy on the CPU, torch
    elsewhere. With torch, ``WT`` and ``e`` are torch tensors on the device; checkpoints and
    :meth:`network` hold numpy arrays either way, so a run resumes on another device.

    Example::

        >>> from ff_neuro.data import load_digits
        >>> tr = HebbianTrainer(HebbianConfig(hidden=(16,), batch_size=32), load_digits(),
        ...                     engine="torch")
        >>> tr.engine, str(tr.device), type(tr.WT[0]).__name__
        ('torch', 'cpu', 'Tensor')
    """

    def __init__(self, cfg: HebbianConfig, dataset: Dataset, device="cpu",
                 engine: str = "auto"):
        from .distributed import resolve_device
        if engine not in ENGINES:
            raise ValueError(f"unknown Hebbian engine {engine!r} ({'|'.join(ENGINES)})")
        self.device = resolve_device(device)
        if engine == "auto":
            engine = "numpy" if self.device.type == "cpu" else "torch"
        if engine == "numpy" and self.device.type != "cpu":
            raise ValueError(f"device {str(device)!r}: the numpy engine runs on the CPU; use "
                             "engine='torch' (or 'auto') on another device")
        #: "numpy" or "torch"
        self.engine = engine
        self.cfg = cfg
        self.ds = dataset
        self.emb = LabelEmbedding(kind=cfg.label_embedding, n_classes=dataset.n_classes,
                                  code_bits=cfg.code_bits, code_p=cfg.code_p,
                                  code_seed=cfg.seed)
        self.enc = InputEncoding(kind="rate", time_steps=cfg.time_steps, gain=cfg.gain,
                                 seed=cfg.encoding_seed)
        self.v_decay = quantized_v_decay(cfg.beta)
        self.beta = np.float32(1.0 - self.v_decay)
        self.mu = cfg.mu()
        #: the learning rate of the current epoch (``cfg.lr`` times ``cfg.lr_factor``)
        self.lr = float(cfg.lr)
        self.sizes = [self.emb.input_size(dataset.n_features)] + list(cfg.hidden)
        rng = np.random.default_rng([cfg.seed, 7])
        self.WT = [(rng.standard_normal((n_in, n_out)) * cfg.init_std).astype(np.float32)
                   for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:])]
        self.e = [np.zeros_like(w) for w in self.WT] if cfg.tau_e > 0 else None
        self.history = HebbianHistory()
        self.epochs_done = 0
        #: online (B = 1, spike inputs): sparse row updates and the lazy eligibility trace; the
        #: dense path (False) gives the same weights up to rounding (tested)
        self.sparse_online = True
        self._mod_kw = dict(theta=cfg.theta, alpha=cfg.alpha, eps=cfg.eps)
        self._torch = None
        if engine == "torch":
            import torch
            from .hebbian_torch import TorchEngine
            self._torch = TorchEngine(self, self.device)
            self.WT = [torch.as_tensor(w, device=self.device) for w in self.WT]
            if self.e is not None:
                self.e = [torch.zeros_like(w) for w in self.WT]

    def weights_t(self) -> List[np.ndarray]:
        """The weights ``WT`` as numpy arrays (n_in, n_out), whatever the engine (copies for
        torch)."""
        return [_numpy(w) for w in self.WT]

    # -- one presentation of a batch ----------------------------------------------------------
    def _trace(self, l: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Advance trace ``l`` in place by spikes ``s`` (0/1 float32); returns ``l``."""
        c = self.cfg
        if c.trace == "li":
            l *= np.float32(c.trace_tau)
            l += np.float32(self.mu) * s
        elif c.trace == "relu":
            l += np.float32(self.mu) * s
        else:  # hard-LI: 1 where a spike, tau_o l elsewhere
            l *= np.float32(c.trace_tau)
            np.maximum(l, s, out=l)
        return l

    def _ml(self, l: np.ndarray, pol: np.ndarray) -> np.ndarray:
        """``M * l`` (B, H) float32 for one step (a lean form of :func:`modulator`)."""
        c = self.cfg
        if c.probability == "sigmoid":
            g = np.einsum("bh,bh->b", l, l, dtype=np.float64)
            p = 1.0 / (1.0 + np.exp(-c.alpha * (g - c.theta)))
            return ((pol - p).astype(np.float32))[:, None] * l
        h = l.shape[1] // 2
        sq = l * l
        gp = sq[:, :h].sum(axis=1, dtype=np.float64)
        gn = sq[:, h:].sum(axis=1, dtype=np.float64)
        total = gp + gn + 2 * c.eps
        p = (gp + c.eps) / total
        cross = -1.0 / total if c.cross_term else np.zeros_like(total)
        ypos = pol > 0
        ml = l.copy()
        ml[:, :h] *= np.where(ypos, (1.0 - p) / (gp + c.eps), cross).astype(np.float32)[:, None]
        ml[:, h:] *= np.where(ypos, cross, p / (gn + c.eps)).astype(np.float32)[:, None]
        return ml

    def _apply(self, k: int, x: np.ndarray, ml: np.ndarray, n_terms: int,
               rows: Optional[np.ndarray] = None) -> None:
        """One update event on layer ``k``: ``dW = x^T ml`` (reduced), then eq. 7 / 8.
        ``rows``: the active inputs when ``x`` is one binary spike vector (sparse path)."""
        c = self.cfg
        scale = 1.0 / n_terms if c.batch_reduce == "mean" else 1.0
        w = self.WT[k]
        if self.e is None:  # W += eta dW
            if rows is not None:
                w[rows] += np.float32(self.lr * scale) * ml[0]
            else:
                w += np.float32(self.lr * scale) * (x.T @ ml)
            return
        e = self.e[k]
        e *= np.float32(c.tau_e)
        if rows is not None:
            e[rows] += np.float32((1.0 - c.tau_e) * scale) * ml[0]
        else:
            e += np.float32((1.0 - c.tau_e) * scale) * (x.T @ ml)
        w += np.float32(self.lr) * e

    def _advance_trace(self, l: np.ndarray, seq: np.ndarray) -> None:
        """Advance trace ``l`` (B, H) in place over spikes ``seq`` (n, B, H), vectorised:
        LI ``tau^n l + mu sum_i tau^(n-1-i) s_i``; ReLU ``l + mu sum_i s_i``; Hard-LI
        ``tau^(n-1-last spike)``, or ``tau^n l`` without a spike."""
        c = self.cfg
        n = seq.shape[0]
        if n == 0:
            return
        tau = c.trace_tau
        if c.trace == "relu":
            l += np.float32(self.mu) * seq.sum(axis=0, dtype=np.float32)
        elif c.trace == "li":
            coef = (self.mu * tau ** np.arange(n - 1, -1, -1)).astype(np.float32)
            l *= np.float32(tau ** n)
            l += np.tensordot(coef, seq, axes=1)
        else:
            fired = seq.any(axis=0)
            since = np.argmax(seq[::-1] > 0, axis=0)  # steps since the last spike
            decayed = (tau ** since).astype(np.float32)
            l[...] = np.where(fired, decayed, np.float32(tau ** n) * l)

    def _scan(self, cur: np.ndarray, v: np.ndarray, l: np.ndarray) -> np.ndarray:
        """LIF over the steps of ``cur`` (t, B, H), then the trace; state updated in place;
        returns the spikes (t, B, H) float32."""
        n = cur.shape[0]
        fired = np.empty(cur.shape, dtype=bool)
        th = np.float32(self.cfg.threshold)
        for t in range(n):
            v *= self.beta
            v += cur[t]
            np.greater(v, th, out=fired[t])
            np.putmask(v, fired[t], 0.0)
        out = fired.astype(np.float32)
        self._advance_trace(l, out)
        return out

    def present(self, X: np.ndarray, positive: Optional[np.ndarray] = None,
                learn: bool = True) -> List[np.ndarray]:
        """Present a batch: ``X`` (T, B, n_in) input spikes, ``positive`` (B,) polarity.

        With ``learn`` the weights are updated per the rule (all B samples on the same weights);
        returns the output traces of every layer at the last step, [(B, n_k)].

        Steps before the update window (all steps without ``learn``) see constant weights: one
        matmul per layer and a LIF scan. Online (B = 1, spike inputs) the window's sparse updates
        use a lazy form of the eligibility trace, exact up to rounding: during the window
        ``e = a E`` and ``W = W' + b E`` with scalars ``a, b``, so an update touches only the rows
        of the inputs that spiked (``a <- tau_e a; E[R] += u / a; W'[R] -= b u / a;
        b <- b + eta a``), and the dense ``W += b E; E *= a`` runs once per sample.
        """
        c = self.cfg
        T, B, _ = X.shape
        L = len(self.WT)
        if learn and positive is None:
            raise ValueError("learning needs the polarity of every sample")
        if self._torch is not None:
            return self._torch.present(X, positive, learn)
        pol = None if positive is None else np.asarray(positive, dtype=np.float64).reshape(B)
        per_step = learn and c.update_every == "step"
        t0 = c.update_from_step if per_step else T
        pre_trace = c.presynaptic == "trace"
        v = [np.zeros((B, n), np.float32) for n in self.sizes[1:]]
        l = [np.zeros((B, n), np.float32) for n in self.sizes[1:]]
        lp = [np.zeros((B, n), np.float32) for n in self.sizes[:-1]] if pre_trace else None
        if learn and not per_step:
            self._present_accumulated(X, pol, v, l, lp)
            return l
        # steps before the window: constant weights
        inp = X[:t0].astype(np.float32)
        for k in range(L if t0 > 0 else 0):
            if pre_trace:
                self._advance_trace(lp[k], inp)
            cur = (inp.reshape(t0 * B, -1) @ self.WT[k]).reshape(t0, B, -1)
            inp = self._scan(cur, v[k], l[k])
        if t0 == T:
            return l
        # the update window: per step, every layer
        th = np.float32(c.threshold)
        sparse = B == 1 and not pre_trace and self.sparse_online
        lazy = learn and sparse and self.e is not None
        a = [1.0] * L
        b = [0.0] * L
        for t in range(t0, T):
            x = X[t].astype(np.float32)
            for k in range(L):
                w = self.WT[k]
                rows = None
                if sparse:
                    rows = np.flatnonzero(x[0])
                    cur = w[rows].sum(axis=0, keepdims=True)
                    if b[k]:
                        cur += np.float32(b[k]) * self.e[k][rows].sum(axis=0, keepdims=True)
                else:
                    cur = x @ w
                if pre_trace:
                    xk = self._trace(lp[k], x).copy()
                else:
                    xk = x
                vk = v[k]
                vk *= self.beta
                vk += cur
                fired = vk > th
                np.putmask(vk, fired, 0.0)
                x = fired.astype(np.float32)
                self._trace(l[k], x)
                if not learn:
                    continue
                ml = self._ml(l[k], pol)
                if lazy:
                    a[k] *= c.tau_e
                    delta = np.float32((1.0 - c.tau_e) / a[k]) * ml[0]
                    self.e[k][rows] += delta
                    w[rows] -= np.float32(b[k]) * delta
                    b[k] += self.lr * a[k]
                    if a[k] < 0.05:  # long windows: fold early to keep float32 precision
                        self._fold(k, a[k], b[k])
                        a[k], b[k] = 1.0, 0.0
                else:
                    self._apply(k, xk, ml, B, rows)
        if lazy:
            for k in range(L):
                self._fold(k, a[k], b[k])
        return l

    def _fold(self, k: int, a: float, b: float) -> None:
        """End of the lazy eligibility form: ``W = W' + b E``, ``e = a E``."""
        if b:
            self.WT[k] += np.float32(b) * self.e[k]
        if a != 1.0:
            self.e[k] *= np.float32(a)

    def _present_accumulated(self, X, pol, v, l, lp) -> None:
        """``update_every = "presentation"``: weights constant over the presentation, the rule
        summed over the window's steps and applied once (one update event)."""
        c = self.cfg
        T, B, _ = X.shape
        t0 = c.update_from_step
        win = T - t0
        th = np.float32(c.threshold)
        inp = X.astype(np.float32)
        acc = []
        for k in range(len(self.WT)):
            if lp is not None:
                pre = np.empty_like(inp)
                for t in range(T):
                    pre[t] = self._trace(lp[k], inp[t])
            else:
                pre = inp
            cur = (inp.reshape(T * B, -1) @ self.WT[k]).reshape(T, B, -1)
            out = np.empty(cur.shape, dtype=np.float32)
            ml = np.empty((win, B, cur.shape[2]), np.float32)
            vk = v[k]
            for t in range(T):
                vk *= self.beta
                vk += cur[t]
                fired = vk > th
                np.putmask(vk, fired, 0.0)
                out[t] = fired
                self._trace(l[k], out[t])
                if t >= t0:
                    ml[t - t0] = self._ml(l[k], pol)
            acc.append(pre[t0:].reshape(win * B, -1).T @ ml.reshape(win * B, -1))
            inp = out
        for k, dw in enumerate(acc):
            self._apply_dense(k, dw, B)

    def _apply_dense(self, k: int, dw: np.ndarray, B: int) -> None:
        c = self.cfg
        scale = np.float32(1.0 / B if c.batch_reduce == "mean" else 1.0)
        if self.e is None:
            self.WT[k] += np.float32(self.lr) * scale * dw
            return
        e = self.e[k]
        e *= np.float32(c.tau_e)
        e += np.float32(1.0 - c.tau_e) * scale * dw
        self.WT[k] += np.float32(self.lr) * e

    # -- inputs ---------------------------------------------------------------------------------
    def inputs(self, x: np.ndarray, labels: np.ndarray, seed_offset: int = 0) -> np.ndarray:
        """Input spikes (T, N, n_in): Bernoulli image spikes, regular label spikes."""
        return encode(x, labels, self.emb, self.enc, seed_offset=seed_offset)

    # -- training -------------------------------------------------------------------------------
    def train_epoch(self, epoch: int, max_samples: Optional[int] = None) -> dict:
        """One pass (random order, 50/50 positive / negative); returns the epoch's stats.

        Randomness comes from ``default_rng([seed, epoch])``; BLAS runs on one thread."""
        c = self.cfg
        self.lr = c.lr * c.lr_factor(epoch)
        n = self.ds.n_train if max_samples is None else min(max_samples, self.ds.n_train)
        rng = np.random.default_rng([c.seed, epoch])
        order = rng.permutation(self.ds.n_train)[:n]
        K = c.batch_size
        chunk = K * max(1, 256 // K)
        shrink = np.float32(1.0 - self.lr * c.weight_decay)
        p_last, pols, rates = [], [], []
        t_start = time.perf_counter()
        with _one_blas_thread():
            for ci, start in enumerate(range(0, n, chunk)):
                idx = order[start:start + chunk]
                y = self.ds.y_train[idx]
                positive = (rng.random(len(idx)) < 0.5).astype(np.float64)
                lab = np.where(positive > 0, y, random_wrong_labels(y, self.ds.n_classes, rng))
                X = self.inputs(self.ds.x_train[idx], lab,
                                seed_offset=epoch * 1_000_003 + ci + 1)
                if self._torch is not None:      # to the device once per chunk
                    import torch
                    X = torch.as_tensor(X, device=self.device).to(torch.float32)
                for b in range(0, len(idx), K):
                    traces = self.present(X[:, b:b + K], positive[b:b + K], learn=True)
                    if shrink != 1.0:
                        for w in self.WT:
                            w *= float(shrink)
                    p_last.append(probability(traces[-1], c.probability, **self._mod_kw))
                    rates.append([float(np.mean(tr > 0)) for tr in traces])
                pols.append(positive)
        secs = time.perf_counter() - t_start
        p = np.concatenate(p_last)
        pol = np.concatenate(pols) > 0
        return {"p_pos": float(p[pol].mean()) if pol.any() else float("nan"),
                "p_neg": float(p[~pol].mean()) if (~pol).any() else float("nan"),
                "pn_accuracy": float(np.mean((p > 0.5) == pol)),
                "rate": np.mean(rates, axis=0).tolist(),
                "seconds": secs, "samples_per_second": n / secs if secs > 0 else float("inf")}

    def fit(self, progress: bool = True, callbacks: Sequence[Callback] = (),
            checkpoint: Optional[PathLike] = None, resume: bool = False,
            checkpoint_every: int = 1, max_seconds: Optional[float] = None,
            stop_after: Optional[int] = None) -> Network:
        """Train for ``cfg.epochs`` epochs and return :meth:`network`: the
        :class:`~ff_neuro.training.trainer.Trainer` protocol (checkpoint and ``resume``,
        ``max_seconds`` of training time, ``stop_after`` epochs, ``callbacks``). Each epoch
        draws its randomness from ``(seed, epoch)``, so a resumed run gives the same weights
        as an uninterrupted one.

        Example::

            >>> from ff_neuro.data import load_digits
            >>> tr = HebbianTrainer(HebbianConfig(hidden=(16,), epochs=1), load_digits())
            >>> net = tr.fit(progress=False)
            >>> tr.epochs_done
            1
        """
        c = self.cfg
        if resume:
            if checkpoint is None or not Path(checkpoint).exists():
                raise FileNotFoundError(f"no checkpoint to resume from: {checkpoint}")
            self.load_checkpoint(checkpoint)
        bar = tqdm(total=c.epochs, initial=self.epochs_done, desc="Hebbian FF", unit="epoch",
                   disable=not progress, leave=False, dynamic_ncols=True)
        last = c.epochs if stop_after is None else min(c.epochs, int(stop_after))
        for cb in callbacks:
            cb.on_fit_start(self)
        for epoch in range(self.epochs_done, last):
            if max_seconds is not None and self.history.seconds >= max_seconds:
                break
            st = self.train_epoch(epoch)
            h = self.history
            h.p_pos.append(st["p_pos"])
            h.p_neg.append(st["p_neg"])
            h.pn_accuracy.append(st["pn_accuracy"])
            h.rate.append(st["rate"])
            h.epoch_seconds.append(st["seconds"])
            h.samples_per_second.append(st["samples_per_second"])
            acc = None
            if c.eval_samples > 0:
                m = min(c.eval_samples, self.ds.n_train)
                acc = self.accuracy(self.ds.x_train[:m], self.ds.y_train[:m])
            h.train_accuracy.append(acc)
            h.seconds += st["seconds"]
            self.epochs_done = epoch + 1
            post = {"P+": f"{st['p_pos']:.3f}", "P-": f"{st['p_neg']:.3f}",
                    "samples/s": f"{st['samples_per_second']:.0f}"}
            if acc is not None:
                post["train_acc"] = f"{acc:.3f}"
            bar.set_postfix(post)
            bar.update(1)
            due = checkpoint is not None and (self.epochs_done % checkpoint_every == 0
                                              or self.epochs_done == c.epochs)
            if due:              # before the callbacks: an exception there loses nothing
                self.save_checkpoint(checkpoint)
            if callbacks_stop(callbacks, self, epoch):
                if checkpoint is not None and not due:
                    self.save_checkpoint(checkpoint)
                break
        bar.close()
        for cb in callbacks:
            cb.on_fit_end(self)
        return self.network()

    def epoch_metrics(self) -> dict:
        """The last epoch's numbers: epoch, seconds, train_accuracy (label sweep on
        ``eval_samples``, None if 0), p_pos, p_neg, pn_accuracy."""
        h = self.history
        if not h.p_pos:
            return {"epoch": None, "seconds": h.seconds, "train_accuracy": None}
        return {"epoch": self.epochs_done - 1, "seconds": h.seconds,
                "train_accuracy": h.train_accuracy[-1], "p_pos": h.p_pos[-1],
                "p_neg": h.p_neg[-1], "pn_accuracy": h.pn_accuracy[-1]}

    def save_checkpoint(self, path: PathLike) -> Path:
        """Weights, eligibility traces, history and config in an HDF5 file (atomic; no
        pickle)."""
        import h5py
        path = Path(path)
        with atomic_path(path) as tmp:
            with h5py.File(tmp, "w") as f:
                f.attrs["format"] = "ff-neuro-hebbian-checkpoint"
                f.attrs["epochs_done"] = self.epochs_done
                f.attrs["config_json"] = json.dumps(self.cfg.to_dict())
                f.attrs["history_json"] = json.dumps(self.history.to_dict())
                for k, w in enumerate(self.WT):
                    f.create_dataset(f"layer/{k}/weight_t", data=_numpy(w))
                    if self.e is not None:
                        f.create_dataset(f"layer/{k}/eligibility", data=_numpy(self.e[k]))
        return path

    def load_checkpoint(self, path: PathLike) -> None:
        """Restore what :meth:`save_checkpoint` wrote (refused for another config)."""
        import h5py
        from .ff import check_checkpoint
        with h5py.File(path, "r") as f:
            check_checkpoint(f, path, "ff-neuro-hebbian-checkpoint", "a Hebbian",
                             self.cfg.to_dict())
            self.epochs_done = int(f.attrs["epochs_done"])
            self.history = HebbianHistory(**json.loads(f.attrs["history_json"]))
            for k in range(len(self.WT)):
                _assign(self.WT[k], f[f"layer/{k}/weight_t"][()])
                if self.e is not None:
                    _assign(self.e[k], f[f"layer/{k}/eligibility"][()])

    # -- inference and latents --------------------------------------------------------------------
    def scores(self, x: np.ndarray, chunk: int = 256, seed_offset: int = _TEST_SEED_OFFSET,
               sample_ids: Optional[np.ndarray] = None) -> np.ndarray:
        """Trace-based label sweep scores (N, C): summed over layers, ``G`` (sigmoid) or
        ``P_sym`` (symmetric), with the input spikes ``label_sweep`` feeds."""
        C = self.ds.n_classes
        T = self.cfg.time_steps
        out = []
        for start in range(0, x.shape[0], chunk):
            xs = x[start:start + chunk]
            ids = (np.arange(start, start + xs.shape[0]) if sample_ids is None
                   else np.asarray(sample_ids)[start:start + chunk])
            inp = sweep_inputs(xs, self.emb, self.enc, seed_offset=seed_offset, sample_ids=ids)
            traces = self.present(inp.reshape(T, xs.shape[0] * C, -1), learn=False)
            sc = np.zeros(xs.shape[0] * C)
            for tr in traces:
                if self.cfg.probability == "sigmoid":
                    sc += (tr.astype(np.float64) ** 2).sum(axis=1)
                else:
                    sc += probability(tr, "symmetric", eps=self.cfg.eps)
            out.append(sc.reshape(xs.shape[0], C))
        return np.concatenate(out)

    def predict(self, x: np.ndarray, **kw) -> np.ndarray:
        """argmax over labels of :meth:`scores` (exact ``argmax P_sym`` for symmetric)."""
        return np.argmax(self.scores(x, **kw), axis=1)

    def accuracy(self, x: np.ndarray, y: np.ndarray, **kw) -> float:
        return float(np.mean(self.predict(x, **kw) == np.asarray(y)))

    def latents(self, x: np.ndarray, labels: np.ndarray, layer: int = -1,
                seed_offset: int = _TEST_SEED_OFFSET) -> np.ndarray:
        """Output traces at the last step (N, n_k) with ``labels`` embedded (for
        :func:`hoyer_index` / :func:`separability_index`)."""
        inp = encode(x, labels, self.emb, self.enc, seed_offset,
                     sample_ids=np.arange(x.shape[0]))  # as label_sweep draws them
        return self.present(inp, learn=False)[layer]

    # -- export ------------------------------------------------------------------------------------
    def network(self, readout: Optional[str] = None) -> Network:
        """The trained layers as a :class:`Network`.

        ``readout`` (how the label sweep scores a candidate label):

        * "symmetric" (the default for the symmetric probability): every layer whole, each
          scored by ``P_sym`` of its halves from spike counts (``goodness="symmetric"``), the
          scores summed over layers: what :meth:`scores` computes from traces;
        * "all" (the default for sigmoid): every neuron of every layer counts
          (``goodness="sum_sq"``);
        * "positive": the last layer keeps its positive half only and is the only layer whose
          ``sum_sq`` goodness counts (``argmax G+``; a smaller network, but on Fashion-MNIST
          ~3.5 pp below ``P_sym``).
        """
        c = self.cfg
        readout = readout or ("symmetric" if c.probability == "symmetric" else "all")
        if readout not in ("symmetric", "all", "positive"):
            raise ValueError(f"unknown readout {readout!r} (symmetric|all|positive)")
        if readout != "all" and c.probability != "symmetric":
            raise ValueError(f"readout={readout!r} needs the symmetric probability")
        ws = [w.T.copy() for w in self.weights_t()]
        g_from = 0
        if readout == "positive":
            ws[-1] = ws[-1][: ws[-1].shape[0] // 2].copy()
            g_from = len(ws) - 1
        layers = [Layer.dense(weight=w, threshold=c.threshold, v_decay=self.v_decay)
                  for w in ws]
        ds = self.ds
        return Network(
            layers=layers, encoder=self.enc, label_embedding=self.emb,
            readouts=[LabelSweep(goodness="symmetric" if readout == "symmetric" else "sum_sq",
                                 from_layer=g_from, eps=c.eps)],
            dataset=ds.describe(),
            training={"algorithm": "hebbian", "config": c.to_dict(), "readout": readout,
                      "history": self.history.to_dict()},
        )


def _numpy(a) -> np.ndarray:
    """A numpy array of ``a`` (a numpy array, or a torch tensor on any device)."""
    if isinstance(a, np.ndarray):
        return a
    return a.detach().cpu().numpy()


def _assign(dst, src: np.ndarray) -> None:
    """``dst[...] = src`` for a numpy array or a torch tensor ``dst``."""
    if isinstance(dst, np.ndarray):
        dst[...] = src
    else:
        import torch
        dst.copy_(torch.as_tensor(np.asarray(src, dtype=np.float32)))


class _one_blas_thread:
    """Limit BLAS to one thread while training (the matmuls are small; extra threads only
    contend with other work on the machine). A no-op without threadpoolctl."""

    def __enter__(self):
        try:
            from threadpoolctl import threadpool_limits
            self._ctx = threadpool_limits(limits=1, user_api="blas")
        except Exception:  # pragma: no cover - threadpoolctl ships with scikit-learn
            self._ctx = None
        return self

    def __exit__(self, *exc):
        if self._ctx is not None:
            self._ctx.restore_original_limits()
        return False


def train_hebbian(dataset: Dataset, cfg: Optional[HebbianConfig] = None,
                  progress: bool = True) -> Network:
    """Train a Hebbian FF network on ``dataset`` (defaults: HebbianConfig())."""
    return HebbianTrainer(cfg or HebbianConfig(), dataset).fit(progress=progress)


# ------------------------------------------------------------------------------------------
# Analog baseline
# ------------------------------------------------------------------------------------------
class AnalogFFA:
    """Analog FFA baseline (paper section 4): ReLU layers, the same goodness and probability,
    Adam (``cfg.analog_lr``) on ``-[y log P + (1 - y) log(1 - P)]``, batch ``cfg.batch_size``.

    Input: the expected spike rates of the spiking model, ``gain * [image, label vector]``.
    Layers are trained locally (the next layer sees the detached, length-normalised activity,
    Hinton 2022). ``a_k = relu(W_k h_{k-1})``; ``G`` and ``P`` as in the module docstring.
    """

    def __init__(self, cfg: HebbianConfig, dataset: Dataset):
        import torch
        self.torch = torch
        self.cfg = cfg
        self.ds = dataset
        self.emb = LabelEmbedding(kind=cfg.label_embedding, n_classes=dataset.n_classes,
                                  code_bits=cfg.code_bits, code_p=cfg.code_p,
                                  code_seed=cfg.seed)
        sizes = [self.emb.input_size(dataset.n_features)] + list(cfg.hidden)
        gen = torch.Generator().manual_seed(cfg.seed)
        self.weights = [torch.nn.Parameter((torch.rand(o, i, generator=gen) * 2 - 1)
                                           * np.sqrt(3.0 / (i * cfg.gain)))
                        for i, o in zip(sizes[:-1], sizes[1:])]
        self.opt = torch.optim.Adam(self.weights, lr=cfg.analog_lr)
        self.history = {"loss": [], "train_accuracy": [], "epoch_seconds": []}

    def _input(self, x: np.ndarray, labels: np.ndarray):
        from ..encoding import embed_labels
        a = np.clip(self.cfg.gain * embed_labels(x, labels, self.emb), 0.0, 1.0)
        return self.torch.from_numpy(a.astype(np.float32))

    def _forward(self, h):
        acts = []
        for k, w in enumerate(self.weights):
            a = self.torch.relu(h @ w.T)
            acts.append(a)
            h = a.detach() / (a.detach().norm(dim=1, keepdim=True) + 1e-6)
        return acts

    def _log_probs(self, a):
        """(log P, log (1 - P)) per sample."""
        F = self.torch.nn.functional
        c = self.cfg
        if c.probability == "sigmoid":
            z = c.alpha * ((a * a).sum(1) - c.theta)
            return F.logsigmoid(z), F.logsigmoid(-z)
        h = a.shape[1] // 2
        gp = (a[:, :h] ** 2).sum(1) + c.eps
        gn = (a[:, h:] ** 2).sum(1) + c.eps
        tot = gp + gn
        return self.torch.log(gp / tot), self.torch.log(gn / tot)

    def fit(self, progress: bool = False) -> "AnalogFFA":
        """Train ``cfg.epochs`` epochs (torch on one thread: the batches are small)."""
        threads = self.torch.get_num_threads()
        self.torch.set_num_threads(1)
        try:
            return self._fit(progress)
        finally:
            self.torch.set_num_threads(threads)

    def _fit(self, progress: bool) -> "AnalogFFA":
        c = self.cfg
        n = self.ds.n_train
        for epoch in tqdm(range(c.epochs), disable=not progress, leave=False,
                          desc="analog FFA"):
            t0 = time.perf_counter()
            rng = np.random.default_rng([c.seed, epoch])
            order = rng.permutation(n)
            losses = []
            for start in range(0, n, c.batch_size):
                idx = order[start:start + c.batch_size]
                y = self.ds.y_train[idx]
                positive = rng.random(len(idx)) < 0.5
                lab = np.where(positive, y, random_wrong_labels(y, self.ds.n_classes, rng))
                pos = self.torch.from_numpy(positive.astype(np.float32))
                loss = 0.0
                for a in self._forward(self._input(self.ds.x_train[idx], lab)):
                    lp, lq = self._log_probs(a)
                    loss = loss - (pos * lp + (1 - pos) * lq).mean()
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
                losses.append(float(loss))
            self.history["loss"].append(float(np.mean(losses)))
            self.history["epoch_seconds"].append(time.perf_counter() - t0)
            m = min(c.eval_samples, n)
            self.history["train_accuracy"].append(
                self.accuracy(self.ds.x_train[:m], self.ds.y_train[:m]) if m else None)
        return self

    def scores(self, x: np.ndarray) -> np.ndarray:
        """(N, C): summed over layers, G (sigmoid) or P_sym (symmetric) per candidate label."""
        C = self.ds.n_classes
        N = x.shape[0]
        with self.torch.no_grad():
            xr = np.repeat(x, C, axis=0)
            labs = np.tile(np.arange(C), N)
            sc = 0.0
            for a in self._forward(self._input(xr, labs)):
                if self.cfg.probability == "sigmoid":
                    sc = sc + (a * a).sum(1)
                else:
                    sc = sc + self._log_probs(a)[0].exp()
            return sc.numpy().reshape(N, C)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self.scores(x), axis=1)

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        return float(np.mean(self.predict(x) == np.asarray(y)))

    def latents(self, x: np.ndarray, labels: np.ndarray, layer: int = -1) -> np.ndarray:
        with self.torch.no_grad():
            return self._forward(self._input(x, labels))[layer].numpy()
