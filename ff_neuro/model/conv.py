"""Convolutional primitives (FFGAF-SNN, seed 001): host encoder, spiking conv, fixed-point conv.

Same style as :mod:`ff_neuro.model.primitives`: each primitive states its update equations,
validates shapes in ``__post_init__`` and holds plain numpy data.

Shapes are PyTorch's: feature maps ``(C, H, W)``, weights ``(C_out, C_in, kh, kw)``, a run's
input ``(T, N, C, H, W)``. (Lava's ``Conv`` process uses ``(W, H, C)`` and ``(out, kh, kw, in)``;
the export and the Lava runner transpose, nothing else does.)

Time convention (as for dense nets): the encoder output ``k`` (integer levels) is presented at
every one of the ``T`` steps as graded spikes; spiking layer ``l`` at step ``t`` sees layer
``l-1``'s spikes of the same step ``t`` (Lava's one-step latency per layer is absorbed by the
staggered resets of :mod:`ff_neuro.export.lava_runner`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .primitives import DECAY_UNITY, check_neuron_fields


def conv_out_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """PyTorch / Lava output size: ``floor((size + 2 p - d (k - 1) - 1) / s) + 1``."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _shape3(shape, what: str) -> tuple:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"{what} must be a positive (C, H, W) triple, got {shape}")
    return shape


def _check_geometry(weight: np.ndarray, in_shape: tuple, stride: int, padding: int,
                    what: str) -> tuple:
    if weight.ndim != 4:
        raise ValueError(f"{what}: weight must be 4-D (C_out, C_in, kh, kw), got {weight.shape}")
    if weight.shape[1] != in_shape[0]:
        raise ValueError(f"{what}: weight expects {weight.shape[1]} input channels but in_shape "
                         f"has {in_shape[0]}")
    if stride < 1 or padding < 0:
        raise ValueError(f"{what}: need stride >= 1 and padding >= 0, got {stride}, {padding}")
    h = conv_out_size(in_shape[1], weight.shape[2], stride, padding)
    w = conv_out_size(in_shape[2], weight.shape[3], stride, padding)
    if h < 1 or w < 1:
        raise ValueError(f"{what}: kernel {weight.shape[2:]} does not fit input {in_shape} "
                         f"with padding {padding}")
    return (int(weight.shape[0]), h, w)


@dataclass
class AnalogConvEncoder:
    """FFGAF's first (analog) block, run on the HOST: conv + folded batch norm + improved ReLU.

    For an image ``x`` (N, C, H, W) in [0, 1]::

        z = conv2d(x, weight, stride, padding) + bias            # batch norm folded in
        k = clip(floor(z * L / clip + shift), 0, L)              # integer level, 0..L
        a = k * clip / L                                         # FFGAF eq. 13

    Eq. 13 of seed 001: ``a = lambda * clip((1/L) * floor(z L / lambda + phi), 0, 1)`` with
    ``lambda = clip`` (the layer's scale), ``L = levels`` and ``phi = shift`` (Bu et al.'s
    quantisation-clip-floor-shift activation; 0.5 by default). ``forward`` returns the integer
    levels ``k`` (uint8): they go to the chip as graded spikes of payload ``k`` at every step
    (NetX ``input_message_bits = bit_length(levels)``); the spiking layer after the encoder
    therefore sees ``k * clip / levels``.
    """

    weight: np.ndarray
    bias: np.ndarray
    stride: int = 1
    padding: int = 1
    levels: int = 8
    clip: float = 1.0
    in_shape: tuple = (1, 28, 28)
    shift: float = 0.5

    def __post_init__(self) -> None:
        self.weight = np.asarray(self.weight, dtype=np.float32)
        self.in_shape = _shape3(self.in_shape, "in_shape")
        self.stride, self.padding = int(self.stride), int(self.padding)
        self._out = _check_geometry(self.weight, self.in_shape, self.stride, self.padding,
                                    "AnalogConvEncoder")
        if not np.all(np.isfinite(self.weight)):
            raise ValueError("encoder weight contains NaN or inf")
        self.bias = np.asarray(self.bias, dtype=np.float32)
        if self.bias.shape != (self.weight.shape[0],):
            raise ValueError(f"bias must have shape ({self.weight.shape[0]},), got {self.bias.shape}")
        self.levels = int(self.levels)
        if not 1 <= self.levels <= 255:
            raise ValueError("levels must be in 1..255 (8-bit graded spikes)")
        self.clip = float(self.clip)
        if not self.clip > 0:
            raise ValueError(f"clip must be > 0, got {self.clip}")
        self.shift = float(self.shift)

    @property
    def out_shape(self) -> tuple:
        return self._out

    @property
    def message_bits(self) -> int:
        """Bits per graded input message (NetX ``input_message_bits``)."""
        return int(self.levels).bit_length()

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


class _ConvGeometry:
    """Shape properties shared by the conv layer primitives (``_out`` is set by
    :func:`_check_geometry` in ``__post_init__``)."""

    @property
    def out_shape(self) -> tuple:
        return self._out

    @property
    def kernel(self) -> tuple:
        return (int(self.weight.shape[2]), int(self.weight.shape[3]))

    @property
    def n_in(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def n_out(self) -> int:
        return int(np.prod(self.out_shape))


@dataclass
class SpikingConv2d(_ConvGeometry):
    """Conv synapses feeding IF/LIF neurons (Lava ``Conv`` + ``LIF``, du = 1).

    Per step ``t`` (``x[t]`` input spikes or graded values, shape ``in_shape = (C_in, H, W)``)::

        u[t] = conv2d(x[t], W, stride, padding)          # (C_out, H_out, W_out), du = 1
        v[t] = (1 - v_decay) * v[t-1] + u[t] + bias      # bias per output channel
        s[t] = v[t] > threshold                          # strict, as Lava
        v[t] = 0 where s[t]                              # reset to zero

    ``v_decay = 0``: integrate-and-fire neurons (FFGAF). No dilation, one group.
    """

    weight: np.ndarray
    threshold: float
    in_shape: tuple
    v_decay: float = 0.0
    stride: int = 1
    padding: int = 1
    bias: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        self.weight = np.asarray(self.weight, dtype=np.float32)
        self.in_shape = _shape3(self.in_shape, "in_shape")
        self.stride, self.padding = int(self.stride), int(self.padding)
        self._out = _check_geometry(self.weight, self.in_shape, self.stride, self.padding,
                                    "SpikingConv2d")
        check_neuron_fields(self, self.weight.shape[0])

    @property
    def beta(self) -> float:
        return 1.0 - self.v_decay


@dataclass
class QuantizedConv2d(_ConvGeometry):
    """A :class:`SpikingConv2d` in Loihi fixed point (Lava ``Conv`` fixed_pt + ``LIF`` fixed_pt).

    Integer dynamics per step (as :class:`~ff_neuro.model.primitives.QuantizedDense`)::

        a[t] = conv2d(x[t], W_q, stride, padding)                          # exact integers
        u[t] = wrap24(trunc(u[t-1] * (4096 - i_decay) / 4096) + (a[t] << 6))
        v[t] = sat24(trunc(v[t-1] * (4096 - v_decay) / 4096) + u[t] + (bias_mant << 6))
        s[t] = v[t] > (vth << 6);  v[t] = 0 where s[t]

    ``W_q ~ round(scale * W)`` (for the first layer ``W * clip / levels``, since it receives the
    integer levels ``k``), ``vth = round(scale * threshold)``.
    """

    weight: np.ndarray
    vth: int
    v_decay: int
    in_shape: tuple
    stride: int = 1
    padding: int = 1
    i_decay: int = DECAY_UNITY
    bias_mant: Optional[np.ndarray] = None
    scale: float = 1.0

    def __post_init__(self) -> None:
        w = np.asarray(self.weight)
        if not np.issubdtype(w.dtype, np.integer) and not np.all(w == np.round(w)):
            raise ValueError("quantized weights must be integers")
        if w.size and (w.min() < -256 or w.max() > 254):
            raise ValueError(f"quantized weights must lie in [-256, 254], got "
                             f"[{w.min()}, {w.max()}]")
        self.weight = w.astype(np.int32)
        self.in_shape = _shape3(self.in_shape, "in_shape")
        self.stride, self.padding = int(self.stride), int(self.padding)
        self._out = _check_geometry(self.weight, self.in_shape, self.stride, self.padding,
                                    "QuantizedConv2d")
        self.vth = int(self.vth)
        if not 0 <= self.vth < 2**17:
            raise ValueError(f"vth must be an unsigned 17-bit integer, got {self.vth}")
        self.v_decay, self.i_decay = int(self.v_decay), int(self.i_decay)
        for name, val in (("v_decay", self.v_decay), ("i_decay", self.i_decay)):
            if not 0 <= val <= DECAY_UNITY:
                raise ValueError(f"{name} must be in [0, 4096], got {val}")
        if self.bias_mant is not None:
            b = np.asarray(self.bias_mant)
            if b.shape != (self.weight.shape[0],):
                raise ValueError(f"bias_mant must have shape ({self.weight.shape[0]},)")
            if b.size and (b.min() < -4096 or b.max() > 4095):
                raise ValueError("bias_mant must be a signed 13-bit integer")
            self.bias_mant = b.astype(np.int32)
        self.scale = float(self.scale)


def class_goodness(counts: list, class_groups: list, n_classes: int, time_steps: int,
                   layers: tuple) -> np.ndarray:
    """Class-group goodness summed over ``layers``: ``(N, n_classes)`` float64.

    ``counts[l]`` is layer ``l``'s spike counts ``(N, C_out, H, W)`` (or flattened ``(N,
    C_out*H*W)``, channel-major); ``G_c = sum_l mean_{j in group c, positions} (count / T)^2``.
    A class without channels in a layer contributes 0 there.
    """
    g = None
    for l in layers:
        c = np.asarray(counts[l], dtype=np.float64)
        groups = np.asarray(class_groups[l])
        c = c.reshape(c.shape[0], len(groups), -1)
        per_ch = np.mean((c / time_steps) ** 2, axis=2)          # (N, C_out)
        gl = np.zeros((c.shape[0], n_classes))
        for cls in range(n_classes):
            sel = groups == cls
            if sel.any():
                gl[:, cls] = per_ch[:, sel].mean(axis=1)
        g = gl if g is None else g + gl
    return g


@dataclass
class ConvFFNetwork:
    """FFGAF-style network: host encoder -> spiking conv layers, predicted in ONE pass.

    The encoder's levels ``k`` are presented for ``time_steps`` steps; each spiking layer's
    output channels are split into class groups (``class_groups[l][j]`` = class of channel
    ``j``). Prediction: ``G_c = sum_{l in predict_layers} mean_{j in group c, positions}
    (count_j / T)^2`` and ``argmax_c G_c`` (see :func:`class_goodness`).
    """

    encoder: AnalogConvEncoder
    layers: list
    class_groups: list
    n_classes: int = 10
    time_steps: int = 10
    predict_layers: tuple = (-1,)
    dataset: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    quantized: Optional[list] = None

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("a conv network needs at least one spiking layer")
        self.n_classes = int(self.n_classes)
        self.time_steps = int(self.time_steps)
        if self.n_classes < 2 or self.time_steps < 1:
            raise ValueError("need n_classes >= 2 and time_steps >= 1")
        prev = self.encoder.out_shape
        for i, l in enumerate(self.layers):
            if not isinstance(l, SpikingConv2d):
                raise ValueError(f"layer {i} is {type(l).__name__}, expected SpikingConv2d")
            if l.in_shape != prev:
                raise ValueError(f"layer {i} expects input {l.in_shape} but gets {prev}")
            prev = l.out_shape
        if len(self.class_groups) != len(self.layers):
            raise ValueError("class_groups needs one (C_out,) array per spiking layer")
        groups = []
        for i, (g, l) in enumerate(zip(self.class_groups, self.layers)):
            g = np.asarray(g)
            if g.shape != (l.out_shape[0],) or not np.issubdtype(g.dtype, np.integer):
                raise ValueError(f"class_groups[{i}] must be an int array of shape "
                                 f"({l.out_shape[0]},), got {g.dtype} {g.shape}")
            if g.size and (g.min() < 0 or g.max() >= self.n_classes):
                raise ValueError(f"class_groups[{i}] has classes outside 0..{self.n_classes - 1}")
            groups.append(g.astype(np.int64))
        self.class_groups = groups
        n = len(self.layers)
        pl = tuple(int(p) for p in self.predict_layers)
        if not pl or any(not -n <= p < n for p in pl):
            raise ValueError(f"predict_layers {pl} out of range for {n} layers")
        self.predict_layers = tuple(sorted({p % n for p in pl}))
        if self.quantized is not None:
            self._check_quantized(self.quantized)

    def _check_quantized(self, qlayers: list) -> None:
        if len(qlayers) != len(self.layers):
            raise ValueError("quantized layers do not match the float layers")
        for q, f in zip(qlayers, self.layers):
            if (q.weight.shape != f.weight.shape or q.in_shape != f.in_shape
                    or q.stride != f.stride or q.padding != f.padding):
                raise ValueError("quantized conv layer geometry differs from the float one")

    @property
    def shapes(self) -> list:
        """[encoder out (C, H, W), layer 0 out, ..., layer L-1 out]."""
        return [self.encoder.out_shape] + [l.out_shape for l in self.layers]

    def goodness(self, counts: list) -> np.ndarray:
        """``(N, n_classes)`` class-group goodness from per-layer spike counts."""
        return class_goodness(counts, self.class_groups, self.n_classes, self.time_steps,
                              self.predict_layers)

    def predict_from_counts(self, counts: list) -> np.ndarray:
        return np.argmax(self.goodness(counts), axis=1)
