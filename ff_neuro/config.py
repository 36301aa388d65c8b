"""All configuration in one place (in the style of loeweX/Forward-Forward).

Each stage reads its settings from one dataclass here; the CLI maps flags onto them and the
model file stores the training config as JSON so a model records how it was made.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Tuple


@dataclass
class FFTrainConfig:
    """Spiking Forward-Forward training (layer-local, surrogate gradients inside a layer only).

    Attributes
    ----------
    hidden : sizes of the hidden spiking layers
    time_steps : T, steps each sample is presented
    threshold : LIF firing threshold (float units)
    beta : membrane decay per step; stored as v_decay = round((1 - beta) * 4096) / 4096 so that
        Loihi represents it exactly
    loss : "swish" (Ghader et al.: silu(-alpha * (G+ - G-))) or "symba" (softplus(-alpha * dG))
    alpha : loss sharpness; goodness is mean squared spike *rate*, so dG lies in [-1, 1]
    negatives : "random" wrong label, drawn uniformly from the other classes
    label_embedding : "append" (one-hot inputs after the image) or "overlay" (first pixels)
    gain : rate-coding gain, p = clip(gain * pixel, 0, 1)
    encoding : "rate" (binary Bernoulli spikes) or "graded" (the analog value as a graded spike
        at every step, quantized to ``levels``; Loihi graded spikes / NetX input_message_bits)
    levels : graded-spike levels (e.g. 15 = 4-bit messages)
    """

    hidden: Tuple[int, ...] = (200, 200)
    time_steps: int = 16
    threshold: float = 1.0
    beta: float = 0.9
    loss: str = "swish"
    alpha: float = 20.0
    negatives: str = "random"
    label_embedding: str = "append"
    gain: float = 1.0
    encoding: str = "rate"
    levels: int = 15
    epochs: int = 40
    batch_size: int = 64
    lr: float = 2e-3
    weight_scale: float = 1.0
    surrogate_slope: float = 10.0
    goodness_from_layer: int = 0
    seed: int = 0
    encoding_seed: int = 1234

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError("hidden must list at least one positive layer size")
        if self.loss not in ("swish", "symba"):
            raise ValueError(f"unknown loss {self.loss!r} (swish|symba)")
        if self.encoding not in ("rate", "graded"):
            raise ValueError(f"unknown encoding {self.encoding!r} (rate|graded)")
        if self.negatives != "random":
            raise ValueError(f"unknown negatives {self.negatives!r} (random)")
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError("beta must be in [0, 1]")
        for name in ("time_steps", "epochs", "batch_size"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        return d


@dataclass
class QuantConfig:
    """Float -> Loihi fixed point.

    Attributes
    ----------
    weight_max : largest integer weight magnitude used (Loihi: [-256, 254] exact in NetX)
    calibration_samples : training samples whose firing rates are compared float vs fixed
    silent_rate : a layer whose mean firing rate falls below this is reported silent
    """

    weight_max: int = 254
    calibration_samples: int = 64
    silent_rate: float = 1e-3


@dataclass
class DemoConfig:
    """What ``ff-neuro demo`` runs."""

    train: FFTrainConfig = field(default_factory=FFTrainConfig)
    quant: QuantConfig = field(default_factory=QuantConfig)
    lava_samples: int = 100
    lava_timeout_s: float = 600.0
    profile: str = "ffgaf-table2"
    out_dir: str = "runs/demo"
