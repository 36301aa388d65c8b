"""All configuration in one place (in the style of loeweX/Forward-Forward).

Each stage reads its settings from one dataclass here; the CLI maps flags onto them and the
model file stores the training config as JSON so a model records how it was made.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Optional, Tuple, Union

from . import checks
from .data.augment import AUGMENTS


LOSSES = ("swish", "symba", "hinton", "softmax")
NEGATIVES = ("random", "hard", "hybrid", "noise", "masking")
EMBEDDINGS = ("append", "overlay", "code")
GOODNESS = ("mean_sq", "sum_sq")


def per_layer_floats(text: str) -> Union[float, Tuple[float, ...]]:
    """Command-line form of a one-value-or-per-layer field: ``"0.99"`` -> 0.99,
    ``"0.9,0.99"`` -> (0.9, 0.99) (ValueError for anything else)."""
    try:
        values = tuple(float(t) for t in str(text).split(",") if t.strip())
    except ValueError:
        values = ()
    if not values:
        raise ValueError(f"expected a number or comma-separated numbers, got {text!r}")
    return values[0] if len(values) == 1 else values


def layer_sizes(hidden) -> Tuple[int, ...]:
    """Hidden layer sizes as a tuple of ints >= 1."""
    try:
        sizes = tuple(hidden)
    except TypeError:
        raise ValueError(f"hidden must be a sequence of layer sizes, got {hidden!r}") from None
    if not sizes:
        raise ValueError("hidden must list at least one layer size")
    return tuple(checks.count("a hidden layer size", h) for h in sizes)


def _one_or_per_layer(value, layers: int, what: str):
    """A float, or a tuple of one float per layer (from a list or tuple of ``layers``)."""
    if isinstance(value, (list, tuple)):
        value = tuple(float(v) for v in value)
        if len(value) != layers:
            raise ValueError(f"give one {what}, or one per layer ({layers})")
        return value
    return float(value)


@dataclass
class FFTrainConfig:
    """Spiking Forward-Forward training (layer-local, surrogate gradients inside a layer only).

    Attributes
    ----------
    hidden : sizes of the hidden spiking layers
    time_steps : T, steps each sample is presented
    threshold : LIF firing threshold (float units), one value or one per layer
    beta : membrane decay per step, one value or one per layer; stored as
        v_decay = round((1 - beta) * 4096) / 4096 so that Loihi represents it exactly
    goodness : "mean_sq" (mean over neurons of (count / T)^2, Ghader et al.) or "sum_sq" (sum)
    loss : on the goodness of positive (G+) and negative (G-) data:
        "swish" (Ghader et al.): silu(-alpha (G+ - G-));
        "symba" (Lee & Song): softplus(-alpha (G+ - G-));
        "hinton": -log sigmoid(alpha (G+ - theta)) - log sigmoid(-alpha (G- - theta));
        "softmax": cross-entropy of softmax(alpha G(c)) over every candidate label c against the
        true one (all wrong labels are the negatives, C passes per sample; what the label-sweep
        inference decides by). Still layer-local: each layer's loss sees only its own goodness.
        With ``softmax_negatives`` K > 0 the softmax runs over the true label and K wrong
        labels drawn uniformly without replacement (K + 1 passes per sample)
    alpha : loss sharpness
    label_smoothing : "softmax" loss only: cross-entropy against the one-hot target mixed with
        the uniform distribution over the candidates (weight ``label_smoothing``), which caps how
        far the true label's goodness is pushed above the others (a regulariser)
    theta : goodness threshold of the "hinton" loss
    softmax_negatives : wrong labels per sample of the "softmax" loss (0, or C - 1 or more:
        all of them)
    negatives : "random" wrong label (uniform over the other classes); "hard": a wrong label
        drawn with probability proportional to sqrt(goodness) of each wrong label under the
        current network (Ghader et al., Hinton; C extra forward passes per batch); label-free
        (ff-negative-samples): "hybrid" (two images mixed through a smooth random mask),
        "noise" (uniform noise image), "masking" (random patches zeroed), each with a random label
    label_embedding : "append" (one-hot inputs after the image), "overlay" (the first pixels,
        Hinton / Ghader), "code" (random binary codes appended, Terres-Escudero et al.)
    code_bits, code_p : size and bit probability of the "code" embedding
    gain : rate-coding gain, p = clip(gain * pixel, 0, 1)
    encoding : "rate" (binary Bernoulli spikes) or "graded" (the analog value as a graded spike
        at every step, quantized to ``levels``; Loihi graded spikes / NetX input_message_bits)
    levels : graded-spike levels (e.g. 15 = 4-bit messages)
    surrogate_slope : slope k of the fast-sigmoid surrogate gradient of a spike,
        ds/dv = 1 / (k |v - threshold| + 1)^2 (snnTorch's fast_sigmoid); smaller k passes
        gradient from membrane values further from the threshold. On Fashion-MNIST validation
        (benchmarks/results/ff_fashion_tuning.json) k = 2.5 beat 5, 10 and 25
    engine : "fused" (one autograd node per layer for the whole time loop, identical spikes and
        gradients to snnTorch) or "snntorch" (snnTorch Leaky step by step)
    matmul_precision : "auto" (the default), "fp32" or "bf16": with bf16 the synaptic matmuls
        (forward and the weight gradients) run in bfloat16 with fp32 accumulation while
        weights, membrane state, loss and optimizer stay fp32 (mixed precision, as GPU training
        does). Spikes are exact in bf16; weights and the analog first-layer inputs are rounded
        to 8 significant bits in the product. The trained model is fp32 either way. bf16 is
        several times faster where the hardware computes it (AVX512-BF16 or AMX CPUs,
        bf16-capable GPUs) and about 10x slower where it is emulated (AVX2 CPUs): "auto" picks
        bf16 only where it is native (:mod:`ff_neuro.training.precision`), and the trainer
        records its choice in the model's training record (benchmarks/ff_throughput.py measures
        every combination).
    lr_schedule : "constant", or "cosine": epoch ``e`` of ``epochs`` trains at
        ``lr * (1 + cos(pi e / epochs)) / 2`` (set ``epochs`` to what the time budget allows)
    augment : training-time augmentation of 2-D images (:mod:`ff_neuro.data.augment`): "none",
        "flip" (random left-right mirror; for mirror-symmetric classes such as clothing, not
        digits), "shift" (random offsets of up to ``augment_shift`` pixels), "flip+shift"
    augment_shift : largest shift in pixels of the "shift" augmentation
    dropout : training-time dropout probability on every layer's input: image inputs (the
        label inputs are kept) and the spikes of layer k into layer k + 1. A dropped input is
        silent for the whole presentation (one mask per sample and input, shared by the T
        steps and, for the image, by the positive and negative pass); kept inputs are scaled by
        1 / (1 - dropout) so that inference, which drops nothing, sees the same mean current.
    weight_decay : decoupled weight decay of AdamW (0: plain Adam)
    receptive_field : ``()`` (the first layer is fully connected), or ``(channels, kernel,
        stride)``: the first layer's neurons see ``kernel x kernel`` patches of the image,
        ``stride`` apart, in ``channels`` maps (:mod:`ff_neuro.training.receptive`); then
        ``hidden[0]`` must be ``channels * H' * W'``. The label inputs stay fully connected and
        the trained layer is an ordinary dense layer (zeros outside the patches)
    receptive_shared : with ``receptive_field``: True, every map's positions share one kernel
        (a convolution); False, each neuron has its own patch weights (locally connected)
    eval_samples : training samples whose label-sweep accuracy the progress bar shows per epoch
    """

    hidden: Tuple[int, ...] = (200, 200)
    time_steps: int = 16
    threshold: Union[float, Tuple[float, ...]] = 1.0
    beta: Union[float, Tuple[float, ...]] = 0.9
    goodness: str = "mean_sq"
    loss: str = "swish"
    alpha: float = 20.0
    theta: float = 0.2
    softmax_negatives: int = 0
    label_smoothing: float = 0.0
    negatives: str = "random"
    label_embedding: str = "append"
    code_bits: int = 100
    code_p: float = 0.3
    gain: float = 1.0
    encoding: str = "rate"
    levels: int = 15
    epochs: int = 40
    batch_size: int = 64
    lr: float = 2e-3
    weight_scale: float = 1.0
    surrogate_slope: float = 10.0
    goodness_from_layer: int = 0
    engine: str = "fused"
    matmul_precision: str = "auto"
    lr_schedule: str = "constant"
    augment: str = "none"
    augment_shift: int = 2
    dropout: float = 0.0
    weight_decay: float = 0.0
    receptive_field: Tuple[int, ...] = ()
    receptive_shared: bool = True
    eval_samples: int = 0
    seed: int = 0
    encoding_seed: int = 1234

    def __post_init__(self) -> None:
        self.hidden = layer_sizes(self.hidden)
        self.threshold = _one_or_per_layer(self.threshold, len(self.hidden), "threshold")
        for t in self.thresholds():
            checks.positive("threshold", t)
        self.beta = _one_or_per_layer(self.beta, len(self.hidden), "beta")
        for b in self.betas():
            checks.fraction("beta", b)
        self.time_steps = checks.time_steps("time_steps", self.time_steps)
        for name in ("epochs", "batch_size", "code_bits"):
            setattr(self, name, checks.count(name, getattr(self, name)))
        for name in ("alpha", "gain", "lr", "weight_scale", "surrogate_slope"):
            checks.positive(name, getattr(self, name))
        checks.finite("theta", self.theta)
        checks.finite("weight_decay", self.weight_decay, low=0.0)
        checks.fraction("dropout", self.dropout, high_open=True)
        checks.fraction("label_smoothing", self.label_smoothing, high_open=True)
        checks.finite("code_p", self.code_p, low=0.0, high=1.0, low_open=True, high_open=True)
        self.levels = checks.integer("levels", self.levels, low=1, high=255)
        for name in ("softmax_negatives", "augment_shift", "eval_samples", "goodness_from_layer"):
            setattr(self, name, checks.integer(name, getattr(self, name), low=0))
        for name in ("seed", "encoding_seed"):
            setattr(self, name, checks.seed(name, getattr(self, name)))
        for name, value, choices in (("loss", self.loss, LOSSES),
                                     ("negatives", self.negatives, NEGATIVES),
                                     ("label_embedding", self.label_embedding, EMBEDDINGS),
                                     ("goodness", self.goodness, GOODNESS),
                                     ("encoding", self.encoding, ("rate", "graded")),
                                     ("engine", self.engine, ("fused", "snntorch")),
                                     ("matmul_precision", self.matmul_precision,
                                      ("auto", "fp32", "bf16")),
                                     ("lr_schedule", self.lr_schedule,
                                      ("constant", "cosine")),
                                     ("augment", self.augment, AUGMENTS)):
            if value not in choices:
                raise ValueError(f"unknown {name} {value!r} ({'|'.join(choices)})")
        if int(self.augment_shift) < 0:
            raise ValueError("augment_shift must be >= 0")
        if self.loss == "softmax" and self.negatives != "random":
            raise ValueError("the softmax loss contrasts every wrong label; negatives="
                             f"{self.negatives!r} applies to the swish, symba and hinton losses")
        if self.softmax_negatives < 0:
            raise ValueError(f"softmax_negatives must be >= 0, got {self.softmax_negatives}")
        if self.softmax_negatives and self.loss != "softmax":
            raise ValueError("softmax_negatives applies to the softmax loss only")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.label_smoothing and self.loss != "softmax":
            raise ValueError("label_smoothing applies to the softmax loss only")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not all(0.0 <= b <= 1.0 for b in self.betas()):
            raise ValueError("beta must be in [0, 1]")
        if not self.surrogate_slope > 0:
            raise ValueError(f"surrogate_slope must be > 0, got {self.surrogate_slope}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        for name in ("time_steps", "epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1")
        self.receptive_field = tuple(int(v) for v in self.receptive_field)
        if self.receptive_field and len(self.receptive_field) != 3:
            raise ValueError("receptive_field is () or (channels, kernel, stride), got "
                             f"{self.receptive_field}")
        if not self.receptive_shared and not self.receptive_field:
            raise ValueError("a locally connected first layer needs receptive_field "
                             "(channels, kernel, stride); receptive_shared=False alone has no "
                             "patches")
        if not 0 <= self.goodness_from_layer < len(self.hidden):
            raise ValueError("goodness_from_layer must index a hidden layer")

    def lr_at(self, epoch: int) -> float:
        """The learning rate of epoch ``epoch`` (0-based) under ``lr_schedule``."""
        if self.lr_schedule == "cosine":
            return self.lr * 0.5 * (1.0 + math.cos(math.pi * epoch / self.epochs))
        return self.lr

    def thresholds(self) -> Tuple[float, ...]:
        """One threshold per layer."""
        if isinstance(self.threshold, tuple):
            return self.threshold
        return (float(self.threshold),) * len(self.hidden)

    def betas(self) -> Tuple[float, ...]:
        """One membrane decay per layer."""
        if isinstance(self.beta, tuple):
            return self.beta
        return (float(self.beta),) * len(self.hidden)

    def to_dict(self) -> dict:
        # tuples (hidden, per-layer threshold and beta, receptive_field) as JSON lists
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass
class QuantConfig:
    """Float -> Loihi fixed point.

    Attributes
    ----------
    weight_max : largest integer weight magnitude used (Loihi: [-256, 254] exact in NetX)
    calibration_samples : training samples whose firing rates are compared float vs fixed
    silent_rate : a layer whose mean firing rate falls below this is reported silent
    vth_min : dense layers that run as ff-neuro's own Lava neuron (other resets, current
        memory, recurrence) whose threshold would get fewer integer steps than this gain a
        weight exponent (``Dense.weight_exp``): the 8-bit weights stay, the membrane and the
        threshold get up to 2**7 times finer steps (Lava's decay truncates to whole units, which
        costs a coarse threshold most); 0 turns it off
    """

    weight_max: int = 254
    calibration_samples: int = 64
    silent_rate: float = 1e-3
    vth_min: int = 2048

    def __post_init__(self) -> None:
        self.weight_max = checks.integer("weight_max", self.weight_max, low=1, high=254)
        self.vth_min = checks.integer("vth_min", self.vth_min, low=0, high=2**17 - 1)
        self.calibration_samples = checks.count("calibration_samples", self.calibration_samples)
        checks.fraction("silent_rate", self.silent_rate, high_open=True)


@dataclass
class DemoConfig:
    """What ``ff-neuro demo`` runs."""

    #: fp32 matmuls: the demo's figures are the same on every machine
    train: FFTrainConfig = field(default_factory=lambda: FFTrainConfig(matmul_precision="fp32"))
    quant: QuantConfig = field(default_factory=QuantConfig)
    lava_samples: int = 100
    lava_timeout_s: float = 600.0
    profile: str = "ffgaf-table2"
    out_dir: str = "runs/demo"
    #: parallel Lava runs (None: half the CPU cores available)
    lava_workers: Optional[int] = None

    def __post_init__(self) -> None:
        self.lava_samples = checks.count("lava_samples", self.lava_samples)
        checks.positive("lava_timeout_s", self.lava_timeout_s)
        if self.lava_workers is not None:
            self.lava_workers = checks.count("lava_workers", self.lava_workers, high=256)
        if not str(self.profile).strip():
            raise ValueError("profile needs a name (see hardware_profiles/)")
