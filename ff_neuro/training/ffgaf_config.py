"""Configuration of FFGAF-SNN training (seed 001) and its size presets."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Tuple

from ..data.augment import AUGMENTS
from .ffgaf_alloc import ALLOCATIONS

#: the size presets: the recipes ``ffgaf-NAME`` (``ff_neuro/recipes/ffgaf-*.yaml``)
PRESETS = ("paper", "small", "tiny", "micro")


@dataclass
class FFGAFConfig:
    """FFGAF-SNN: an analog encoding block, then hidden blocks of conv + temporal normalisation
    + IF neurons (a frozen black box), each block trained on its own channel-wise competitive
    loss (no gradient crosses a block or a spike).

    Attributes
    ----------
    channels : output channels per block (the first is the analog encoder); each block's
        channels are split into class groups by ``allocation``
    strides : conv stride per block (3x3 kernels, padding 1)
    time_steps : T, steps of the spiking blocks
    allocation : "class-aware" (eq. 1-4, ``phi``) or "uniform"
    phi : eq. 4's uniformity parameter (2 in the paper)
    enc_norm_scale : ``thresh`` of eq. 10 for the encoder's batch norm
    enc_clip, enc_levels, enc_shift : eq. 13 for the encoder: lambda, L, varphi; its output
        ``k * clip / L`` goes to the chip as graded spikes ``k``
    norm_scale : ``thresh`` of eq. 10 for the hidden blocks' temporal normalisation
    if_threshold : IF threshold theta of the hidden blocks (float units); the improved ReLU of a
        hidden block uses lambda = theta * T and L = T, i.e. it is theta times the spike count a
        reset-by-subtraction neuron would give, clipped to [0, T]
    hidden_shift : varphi of eq. 13 for the hidden blocks
    loss_on : what a hidden block's CwC loss sees: "relu" (the paper: eq. 13 of the summed
        current) or "spikes" (forward value theta * spike count of the IF black box, gradient
        of eq. 13 as for "relu", so the loss sees exactly what prediction counts)
    predict_layers : spiking layers (0 = first hidden block) whose class-group goodness of spike
        counts is summed for prediction
    dropout : training-time dropout on each hidden block's input (probability of zeroing an
        input spike, survivors scaled by 1 / (1 - p); the reference code uses 0.5); the mask is
        drawn per element and step from a generator seeded by (seed, epoch), so a resumed run
        draws the same masks. Inference and the exported network have no dropout.
    augment, augment_shift : training-time image augmentation (:mod:`ff_neuro.data.augment`:
        "none", "flip", "shift", "flip+shift"; shift in whole pixels), drawn from the epoch's
        generator; the deployed network is the same kind of network either way
    lr, batch_size, epochs : Adam learning rate (cosine-decayed to 0 over ``epochs``), batch
    bn_momentum : running-statistics momentum of the normalisations (as torch BatchNorm)
    feature_samples : training samples used for the class similarity of eq. 1-3
    """

    channels: Tuple[int, ...] = (40, 120, 120, 240)
    strides: Tuple[int, ...] = (1, 2, 1, 2)
    time_steps: int = 10
    allocation: str = "class-aware"
    phi: float = 2.0
    enc_norm_scale: float = 2.0
    enc_clip: float = 8.0
    enc_levels: int = 8
    enc_shift: float = 0.5
    norm_scale: float = 1.0
    if_threshold: float = 1.5
    hidden_shift: float = 0.0
    predict_layers: Tuple[int, ...] = (-1,)
    loss_on: str = "spikes"
    dropout: float = 0.0
    augment: str = "none"
    augment_shift: int = 2
    lr: float = 0.01
    batch_size: int = 128
    epochs: int = 50
    bn_momentum: float = 0.1
    feature_samples: int = 10000
    seed: int = 0

    def __post_init__(self) -> None:
        from .. import checks
        for name in ("enc_clip", "if_threshold", "norm_scale", "enc_norm_scale", "lr", "phi"):
            checks.positive(name, getattr(self, name))
        checks.fraction("dropout", self.dropout, high_open=True)
        self.time_steps = checks.time_steps("time_steps", self.time_steps)
        for name in ("epochs", "batch_size"):
            setattr(self, name, checks.count(name, getattr(self, name)))
        self.seed = checks.seed("seed", self.seed)
        self.channels = tuple(int(c) for c in self.channels)
        self.strides = tuple(int(s) for s in self.strides)
        self.predict_layers = tuple(int(p) for p in self.predict_layers)
        if len(self.channels) < 2:
            raise ValueError("need an encoder block and at least one hidden block")
        if len(self.strides) != len(self.channels):
            raise ValueError(f"give one stride per block ({len(self.channels)})")
        if min(self.strides) < 1:
            raise ValueError("strides must be >= 1")
        if self.loss_on not in ("relu", "spikes"):
            raise ValueError(f"unknown loss_on {self.loss_on!r} (relu|spikes)")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.augment not in AUGMENTS:
            raise ValueError(f"unknown augment {self.augment!r} ({'|'.join(AUGMENTS)})")
        if int(self.augment_shift) < 0:
            raise ValueError("augment_shift must be >= 0")
        if self.allocation not in ALLOCATIONS:
            raise ValueError(f"unknown allocation {self.allocation!r} ({'|'.join(ALLOCATIONS)})")
        for name in ("time_steps", "epochs", "batch_size", "enc_levels"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1")
        if not 1 <= self.enc_levels <= 255:
            raise ValueError("enc_levels must be in 1..255 (graded spikes of at most 8 bits)")
        for name in ("enc_clip", "if_threshold", "norm_scale", "enc_norm_scale", "lr", "phi"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name} must be > 0")
        n_hidden = len(self.channels) - 1
        if not self.predict_layers or any(not -n_hidden <= p < n_hidden
                                          for p in self.predict_layers):
            raise ValueError(f"predict_layers must index the {n_hidden} spiking layers")

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "FFGAFConfig":
        """The recipe ``ffgaf-NAME`` (``paper``, ``small``, ``tiny``, ``micro``) with
        ``overrides`` (None values are ignored).

        Example::

            >>> FFGAFConfig.from_preset("micro", epochs=2).channels
            (20, 20, 20, 40)
        """
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r} ({'|'.join(PRESETS)})")
        from ..recipes import get_recipe
        return get_recipe(f"ffgaf-{name}").make_config(
            **{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("channels", "strides", "predict_layers"):
            d[k] = list(d[k])
        return d
