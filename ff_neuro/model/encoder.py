"""Encoders: how a sample becomes the input messages of a network's first layer.

* :class:`InputEncoding`: pixels as binary rate-coded spikes, or as graded spikes carrying the
  value (direct current), at every one of ``time_steps`` steps; the input keeps the data's
  shape (flat features, or ``(C, H, W)`` for a conv first layer).
* :class:`AnalogConvEncoder`: FFGAF's analog first block, run on the host: a convolution whose
  quantised output levels are sent as graded spikes.
* :class:`LabelEmbedding`: how a Forward-Forward network sees a candidate label (extra inputs
  beside the image, or pixels overlaid).

Every encoder says how many steps a sample lasts (``time_steps``), how wide its messages are
(``message_bits``, ``max_message``) and what a message stands for to the float network
(:meth:`input_weight`: the first layer's weights as applied to integer messages).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import checks
from .synapse import conv_out_size, shape_tuple


#: The input encodings: rate-coded spikes, the value as a graded spike at every step, or a
#: sequence of frames (one per step).
KINDS = ("rate", "graded", "sequence")


@dataclass
class InputEncoding:
    """How analog inputs in [0, 1] become spikes.

    ``kind = "rate"``: binary spikes, Bernoulli rate coding, ``x_spike[t, i] ~
    Bernoulli(clip(gain * x_i, 0, 1))`` for ``t < time_steps``, drawn from a seeded counter-based
    generator; every backend is fed the same spike array.

    ``kind = "graded"``: graded (multi-bit) spikes carrying the analog value at every step (the
    static image as direct current, as in Ghader et al.), quantized to ``levels`` steps:
    ``g[t, i] = round(clip(gain * x_i, 0, 1) * levels)``; the network sees ``g / levels``. On
    Loihi this is NetX's ``input_message_bits = bit_length(levels)``.

    ``kind = "sequence"``: a sample is a sequence of ``time_steps`` frames, one per step (an
    image read row by row, a recording): its ``time_steps * n`` values are frame ``t`` =
    values ``[t n, (t + 1) n)``, each sent as a graded spike ``round(clip(gain * x, 0, 1) *
    levels)`` (binary spikes for ``levels = 1``: values of at least 0.5 spike).

    Example::

        >>> from ff_neuro.model import InputEncoding
        >>> InputEncoding(time_steps=8).message_bits          # binary rate-coded spikes
        0
        >>> enc = InputEncoding(kind="graded", time_steps=8, levels=15)
        >>> enc.message_bits, enc.max_message                 # 4-bit graded spikes
        (4, 15)
        >>> enc.input_weight([[1.5, 3.0]])                    # a message g stands for g / 15
        array([[0.1, 0.2]])
        >>> rows = InputEncoding(kind="sequence", time_steps=28, levels=15)   # 28 rows of 28
        >>> rows.features(28), rows.message_bits
        (784, 4)
    """

    kind: str = "rate"
    time_steps: int = 16
    gain: float = 1.0
    seed: int = 0
    levels: int = 1

    type_name: ClassVar[str] = "input_encoding"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown input encoding {self.kind!r} ({'|'.join(KINDS)})")
        self.time_steps = checks.time_steps("time_steps", self.time_steps)
        self.gain = checks.finite("gain", self.gain, low=0.0, low_open=True,
                                  high=checks.MAX_PARAMETER)
        self.seed = checks.seed("seed", self.seed)
        self.levels = checks.integer("levels", self.levels)
        if self.kind == "rate":
            self.levels = 1
        elif not 1 <= self.levels <= 255:
            raise ValueError("graded encoding needs 1 <= levels <= 255 (8-bit input messages)")

    @property
    def message_bits(self) -> int:
        """Bits per input message (0 = binary spikes, NetX's convention)."""
        return 0 if self.levels == 1 else int(self.levels).bit_length()

    @property
    def max_message(self) -> int:
        """The largest input message (1 for binary spikes)."""
        return self.levels

    def input_weight(self, weight: np.ndarray) -> np.ndarray:
        """The first layer's weight as applied to integer messages, in the dtype given: graded
        messages ``g`` stand for ``g / levels`` (the expression Lava's floating_pt Dense
        evaluates)."""
        w = np.asarray(weight)
        return w / self.levels if self.kind != "rate" else w

    def features(self, n_in: int) -> int:
        """Values of one sample for a first layer of ``n_in`` inputs: ``n_in``, or
        ``time_steps * n_in`` for a sequence."""
        return n_in * self.time_steps if self.kind == "sequence" else n_in

    def to_dict(self) -> dict:
        return {"kind": self.kind, "time_steps": self.time_steps, "gain": self.gain,
                "seed": self.seed, "levels": self.levels}

    @classmethod
    def from_dict(cls, d: dict) -> "InputEncoding":
        return cls(**{k: d[k] for k in ("kind", "time_steps", "gain", "seed", "levels") if k in d})


@dataclass
class AnalogConvEncoder:
    """FFGAF's first (analog) block, run on the HOST: conv + folded batch norm + improved ReLU.

    For an image ``x`` (N, C, H, W) in [0, 1]::

        z = conv2d(x, weight, stride, padding) + bias            # batch norm folded in
        k = clip(floor(z * L / clip + shift), 0, L)              # integer level, 0..L
        a = k * clip / L                                         # FFGAF eq. 13

    Eq. 13 of Xu et al. (FFGAF-SNN): ``a = lambda * clip((1/L) * floor(z L / lambda + phi), 0,
    1)`` with ``lambda = clip`` (the layer's scale), ``L = levels`` and ``phi = shift`` (Bu et
    al.'s quantisation-clip-floor-shift activation; 0.5 by default). :meth:`forward` returns the
    integer levels ``k`` (uint8): they go to the chip as graded spikes of payload ``k`` at every
    one of ``time_steps`` steps (NetX ``input_message_bits = bit_length(levels)``); the spiking
    layer after the encoder therefore sees ``k * clip / levels``.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import AnalogConvEncoder
        >>> enc = AnalogConvEncoder(weight=np.full((2, 1, 3, 3), 0.2), bias=np.zeros(2),
        ...                         in_shape=(1, 8, 8), levels=8, time_steps=4)
        >>> enc.out_shape, enc.message_bits, enc.macs()
        ((2, 8, 8), 4, 1152)
        >>> k = enc.forward(np.ones((1, 1, 8, 8)))           # a white image
        >>> k.dtype, k[0, 0, :2, :3]                         # corner 0.8 -> 6; inside clipped
        (dtype('uint8'), array([[6, 8, 8],
               [8, 8, 8]], dtype=uint8))
    """

    weight: np.ndarray
    bias: np.ndarray
    stride: int = 1
    padding: int = 1
    levels: int = 8
    clip: float = 1.0
    in_shape: tuple = (1, 28, 28)
    shift: float = 0.5
    time_steps: int = 10

    type_name: ClassVar[str] = "analog_conv_encoder"

    def __post_init__(self) -> None:
        self.weight = checks.parameters("encoder weight", self.weight).astype(np.float32)
        self.in_shape = shape_tuple(self.in_shape, "in_shape")
        if len(self.in_shape) != 3:
            raise ValueError(f"in_shape must be (C, H, W), got {self.in_shape}")
        if self.weight.ndim != 4 or self.weight.shape[1] != self.in_shape[0]:
            raise ValueError(f"encoder weight must be (C_out, {self.in_shape[0]}, kh, kw), got "
                             f"{self.weight.shape}")
        self.stride = checks.integer("encoder stride", self.stride)
        self.padding = checks.integer("encoder padding", self.padding)
        if self.stride < 1 or self.padding < 0:
            raise ValueError("encoder: need stride >= 1 and padding >= 0")
        h = conv_out_size(self.in_shape[1], self.weight.shape[2], self.stride, self.padding)
        w = conv_out_size(self.in_shape[2], self.weight.shape[3], self.stride, self.padding)
        if h < 1 or w < 1:
            raise ValueError(f"encoder kernel {self.weight.shape[2:]} does not fit input "
                             f"{self.in_shape}")
        self._out = (int(self.weight.shape[0]), h, w)
        self.bias = checks.parameters("encoder bias", self.bias).astype(np.float32)
        if self.bias.shape != (self.weight.shape[0],):
            raise ValueError(f"bias must have shape ({self.weight.shape[0]},), got "
                             f"{self.bias.shape}")
        self.levels = checks.integer("levels", self.levels)
        if not 1 <= self.levels <= 255:
            raise ValueError("levels must be in 1..255 (8-bit graded spikes)")
        self.clip = checks.positive("clip", self.clip)
        self.shift = checks.finite("shift", self.shift)
        self.time_steps = checks.time_steps("time_steps", self.time_steps)

    @property
    def out_shape(self) -> tuple:
        return self._out

    @property
    def message_bits(self) -> int:
        """Bits per graded input message (NetX ``input_message_bits``)."""
        return int(self.levels).bit_length()

    @property
    def max_message(self) -> int:
        return self.levels

    def input_weight(self, weight: np.ndarray) -> np.ndarray:
        """The first spiking layer's float64 weight as applied to the levels ``k``:
        ``W * clip / levels``."""
        return np.asarray(weight, dtype=np.float64) * (self.clip / self.levels)

    def macs(self) -> int:
        """Multiply-accumulates of one encoding (once per inference: the image is static)."""
        return int(np.prod(self.out_shape)) * int(np.prod(self.weight.shape[1:]))

    def preactivation(self, x: np.ndarray) -> np.ndarray:
        """``z = conv2d(x, W) + b`` in float32 (torch), (N, C_out, H_out, W_out)."""
        import torch
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 4 or tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(f"encoder input must be (N, {self.in_shape}), got {x.shape}")
        with torch.no_grad():
            z = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(self.weight),
                                           torch.from_numpy(self.bias), stride=self.stride,
                                           padding=self.padding)
        return z.numpy()

    def levels_from_preactivation(self, z: np.ndarray) -> np.ndarray:
        """Eq. 13 as integers: ``k = clip(floor(z L / clip + shift), 0, L)`` (uint8)."""
        k = np.floor(np.asarray(z, dtype=np.float32) * np.float32(self.levels / self.clip)
                     + np.float32(self.shift))
        return np.clip(k, 0, self.levels).astype(np.uint8)

    def forward(self, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """Images (N, C, H, W) -> integer levels ``k`` (N, C_out, H_out, W_out) uint8."""
        x = np.asarray(x, dtype=np.float32)
        out = [self.levels_from_preactivation(self.preactivation(x[i:i + batch_size]))
               for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros((0,) + self.out_shape, np.uint8)

    def activation(self, x: np.ndarray) -> np.ndarray:
        """Float output ``a = k * clip / L`` (what the first spiking layer receives)."""
        return self.forward(x).astype(np.float32) * np.float32(self.clip / self.levels)

    def to_dict(self) -> dict:
        return {"weight": self.weight, "bias": self.bias, "stride": self.stride,
                "padding": self.padding, "levels": self.levels, "clip": self.clip,
                "in_shape": list(self.in_shape), "shift": self.shift,
                "time_steps": self.time_steps}

    @classmethod
    def from_dict(cls, d: dict) -> "AnalogConvEncoder":
        return cls(weight=d["weight"], bias=d["bias"], stride=d["stride"], padding=d["padding"],
                   levels=d["levels"], clip=d["clip"], in_shape=d["in_shape"],
                   shift=d.get("shift", 0.5), time_steps=d.get("time_steps", 10))


@dataclass
class LabelEmbedding:
    """How the class label enters the input (Forward-Forward's supervised trick).

    ``kind = "append"``: ``n_classes`` extra inputs, one-hot, set to ``amplitude`` (a value of 1
    spikes at every step under rate coding). ``kind = "overlay"`` (Hinton, Ghader et al.): the
    first ``n_classes`` inputs are replaced by the one-hot label at ``amplitude``.
    ``kind = "code"`` (Terres-Escudero et al.): ``code_bits`` extra inputs carrying a random
    binary code per class, each bit 1 with probability ``code_p``, drawn from
    ``default_rng(code_seed)`` (the codes are regenerated from these three numbers).

    Example::

        >>> from ff_neuro.model import LabelEmbedding
        >>> emb = LabelEmbedding(n_classes=3)
        >>> emb.width, emb.input_size(64)                    # 64 pixels + 3 label inputs
        (3, 67)
        >>> emb.vectors()
        array([[1., 0., 0.],
               [0., 1., 0.],
               [0., 0., 1.]], dtype=float32)
        >>> LabelEmbedding(kind="code", n_classes=3, code_bits=8).vectors().shape
        (3, 8)
    """

    kind: str = "append"
    n_classes: int = 10
    amplitude: float = 1.0
    code_bits: int = 100
    code_p: float = 0.3
    code_seed: int = 0

    type_name: ClassVar[str] = "label_embedding"

    def __post_init__(self) -> None:
        if self.kind not in ("append", "overlay", "code"):
            raise ValueError(f"unknown label embedding {self.kind!r} (append|overlay|code)")
        self.n_classes = checks.integer("n_classes", self.n_classes, low=2, high=1_000_000)
        self.amplitude = checks.finite("amplitude", self.amplitude, low=0.0,
                                       high=checks.MAX_PARAMETER)
        self.code_bits = checks.count("code_bits", self.code_bits, high=1_000_000)
        self.code_p = checks.finite("code_p", self.code_p, low=0.0, high=1.0, low_open=True,
                                    high_open=True)
        self.code_seed = checks.seed("code_seed", self.code_seed)
        if self.kind == "code" and (self.code_bits < 1 or not 0 < self.code_p < 1):
            raise ValueError("code embedding needs code_bits >= 1 and 0 < code_p < 1")

    @property
    def width(self) -> int:
        """Number of label inputs."""
        return self.code_bits if self.kind == "code" else self.n_classes

    def vectors(self) -> np.ndarray:
        """``(n_classes, width)`` values of the label inputs for each class."""
        if self.kind == "code":
            rng = np.random.default_rng(self.code_seed)
            codes = (rng.random((self.n_classes, self.code_bits)) < self.code_p)
            return self.amplitude * codes.astype(np.float32)
        return self.amplitude * np.eye(self.n_classes, dtype=np.float32)

    def input_size(self, n_features: int) -> int:
        return n_features if self.kind == "overlay" else n_features + self.width

    def to_dict(self) -> dict:
        return {"kind": self.kind, "n_classes": self.n_classes, "amplitude": self.amplitude,
                "code_bits": self.code_bits, "code_p": self.code_p, "code_seed": self.code_seed}

    @classmethod
    def from_dict(cls, d: dict) -> "LabelEmbedding":
        return cls(**{k: d[k] for k in ("kind", "n_classes", "amplitude", "code_bits", "code_p",
                                        "code_seed") if k in d})
