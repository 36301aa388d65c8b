"""The primitives a model is made of: one small dataclass each, equations in the docstring.

In the style of NIR's ``nir/ir``: every primitive states its update equations, validates its
shapes in ``__post_init__`` and holds plain numpy data, so a model file needs no pickle.

Time convention (all backends): a sample is presented for ``T`` steps; layer ``k`` at step ``t``
sees layer ``k-1``'s spikes of the same step ``t``. Lava's one-step latency per Dense is absorbed
by staggering each layer's reset by one step (see :mod:`ff_neuro.export.lava_runner`), so counts
over a window of ``T`` steps are identical on every backend.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

#: Loihi's decay constants are 12-bit fractions of 4096.
DECAY_UNITY = 4096


def check_neuron_fields(layer, n_out: int) -> None:
    """Validate and normalise a float spiking layer's ``weight`` (finite), ``threshold`` (> 0),
    ``v_decay`` (in [0, 1]) and ``bias`` (``(n_out,)`` or None), in place."""
    if not np.all(np.isfinite(layer.weight)):
        raise ValueError("weight contains NaN or inf")
    layer.threshold = float(layer.threshold)
    if not layer.threshold > 0:
        raise ValueError(f"threshold must be > 0, got {layer.threshold}")
    layer.v_decay = float(layer.v_decay)
    if not 0.0 <= layer.v_decay <= 1.0:
        raise ValueError(f"v_decay must be in [0, 1], got {layer.v_decay}")
    if layer.bias is not None:
        layer.bias = np.asarray(layer.bias, dtype=np.float32)
        if layer.bias.shape != (n_out,):
            raise ValueError(f"bias must have shape ({n_out},), got {layer.bias.shape}")


@dataclass
class SpikingDense:
    """Dense synapses feeding current-based LIF neurons (Lava ``Dense`` + ``LIF``, du = 1).

    Float dynamics, per time step ``t`` (``x[t]`` binary input spikes, shape ``(n_in,)``)::

        u[t] = W @ x[t]                               # du = 1: no current memory
        v[t] = (1 - v_decay) * v[t-1] + u[t] + bias   # v_decay = dv = 1 - beta
        s[t] = v[t] > threshold                       # strict, as Lava and snnTorch
        v[t] = 0 where s[t]                           # reset to zero, no refractory period

    This is snnTorch ``Leaky(beta=1 - v_decay, threshold, reset_mechanism="zero",
    reset_delay=False)`` fed by a ``Linear`` layer, and Lava's floating-point LIF with
    ``du = 1, dv = v_decay, vth = threshold``.

    Attributes
    ----------
    weight : (n_out, n_in) float array
    threshold : positive float
    v_decay : float in [0, 1], a multiple of 1/4096 so that Loihi represents it exactly
    bias : (n_out,) float array or None
    """

    weight: np.ndarray
    threshold: float
    v_decay: float
    bias: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        self.weight = np.asarray(self.weight, dtype=np.float32)
        if self.weight.ndim != 2:
            raise ValueError(f"weight must be 2-D (n_out, n_in), got shape {self.weight.shape}")
        check_neuron_fields(self, self.n_out)

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[0])

    @property
    def beta(self) -> float:
        """snnTorch's membrane decay factor."""
        return 1.0 - self.v_decay


@dataclass
class QuantizedDense:
    """A :class:`SpikingDense` in Loihi fixed point, as Lava's ``fixed_pt`` models run it.

    Integer dynamics per step (Lava ``PyDenseModelBitAcc`` + ``PyLifModelBitAcc``)::

        a[t] = W_q @ x[t]                                           # exact for |W_q| <= 254
        u[t] = trunc(u[t-1] * (4096 - i_decay) / 4096) + (a[t] << 6)   # 24-bit, wraps
        v[t] = trunc(v[t-1] * (4096 - v_decay) / 4096) + u[t] + (bias_mant << 6)  # saturates
        s[t] = v[t] > (vth << 6);  v[t] = 0 where s[t]

    ``trunc`` rounds toward zero. ``i_decay`` is NetX's ``iDecay`` (4096 = no current memory;
    Lava's ``du`` Var holds ``i_decay - 1``). ``scale`` maps float to integer units:
    ``W_q ~ round(scale * W)``, ``vth = round(scale * threshold)``.
    """

    weight: np.ndarray
    vth: int
    v_decay: int
    i_decay: int = DECAY_UNITY
    bias_mant: Optional[np.ndarray] = None
    scale: float = 1.0

    def __post_init__(self) -> None:
        w = np.asarray(self.weight)
        if w.ndim != 2:
            raise ValueError(f"weight must be 2-D (n_out, n_in), got shape {w.shape}")
        if not np.issubdtype(w.dtype, np.integer):
            if not np.all(w == np.round(w)):
                raise ValueError("quantized weights must be integers")
        if w.size and (w.min() < -256 or w.max() > 254):
            raise ValueError(
                f"quantized weights must lie in [-256, 254] (Loihi 8-bit mantissa with sign), "
                f"got [{w.min()}, {w.max()}]")
        self.weight = w.astype(np.int32)
        self.vth = int(self.vth)
        if not 0 <= self.vth < 2**17:
            raise ValueError(f"vth must be an unsigned 17-bit integer, got {self.vth}")
        self.v_decay = int(self.v_decay)
        self.i_decay = int(self.i_decay)
        for name, val in (("v_decay", self.v_decay), ("i_decay", self.i_decay)):
            if not 0 <= val <= DECAY_UNITY:
                raise ValueError(f"{name} must be in [0, 4096], got {val}")
        if self.bias_mant is not None:
            b = np.asarray(self.bias_mant)
            if b.shape != (self.n_out,):
                raise ValueError(f"bias_mant must have shape ({self.n_out},), got {b.shape}")
            if b.size and (b.min() < -4096 or b.max() > 4095):
                raise ValueError("bias_mant must be a signed 13-bit integer")
            self.bias_mant = b.astype(np.int32)
        self.scale = float(self.scale)

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[1])

    @property
    def n_out(self) -> int:
        return int(self.weight.shape[0])


@dataclass
class InputEncoding:
    """How analog inputs in [0, 1] become binary spikes.

    ``kind = "rate"``: binary spikes, Bernoulli rate coding, ``x_spike[t, i] ~
    Bernoulli(clip(gain * x_i, 0, 1))`` for ``t < time_steps``, drawn from a seeded
    ``numpy.random.default_rng``; every backend is fed the same spike array.

    ``kind = "graded"``: graded (multi-bit) spikes carrying the analog value at every step (the
    static image as direct current, as in Ghader et al.), quantized to ``levels`` steps:
    ``g[t, i] = round(clip(gain * x_i, 0, 1) * levels)``; the network sees ``g / levels``. On
    Loihi this is NetX's ``input_message_bits = ceil(log2(levels + 1))``.
    """

    kind: str = "rate"
    time_steps: int = 16
    gain: float = 1.0
    seed: int = 0
    levels: int = 1

    def __post_init__(self) -> None:
        if self.kind not in ("rate", "graded"):
            raise ValueError(f"unknown input encoding {self.kind!r} (rate|graded)")
        if int(self.time_steps) < 1:
            raise ValueError("time_steps must be >= 1")
        self.time_steps = int(self.time_steps)
        self.gain = float(self.gain)
        self.seed = int(self.seed)
        self.levels = int(self.levels)
        if self.kind == "rate":
            self.levels = 1
        elif not 1 <= self.levels <= 255:
            raise ValueError("graded encoding needs 1 <= levels <= 255 (8-bit input messages)")

    @property
    def message_bits(self) -> int:
        """Bits per input message (0 = binary spikes, NetX's convention)."""
        return 0 if self.kind == "rate" else int(self.levels).bit_length()


@dataclass
class LabelEmbedding:
    """How the class label enters the input (Forward-Forward's supervised trick).

    ``kind = "append"``: ``n_classes`` extra inputs, one-hot, set to ``amplitude`` (a value of 1
    spikes at every step under rate coding). ``kind = "overlay"`` (Hinton, Ghader et al.): the
    first ``n_classes`` inputs are replaced by the one-hot label at ``amplitude``.
    ``kind = "code"`` (Terres-Escudero et al.): ``code_bits`` extra inputs carrying a random
    binary code per class, each bit 1 with probability ``code_p``, drawn from
    ``default_rng(code_seed)`` (the codes are regenerated from these three numbers).
    """

    kind: str = "append"
    n_classes: int = 10
    amplitude: float = 1.0
    code_bits: int = 100
    code_p: float = 0.3
    code_seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in ("append", "overlay", "code"):
            raise ValueError(f"unknown label embedding {self.kind!r} (append|overlay|code)")
        if int(self.n_classes) < 2:
            raise ValueError("n_classes must be >= 2")
        self.n_classes = int(self.n_classes)
        self.amplitude = float(self.amplitude)
        self.code_bits = int(self.code_bits)
        self.code_p = float(self.code_p)
        self.code_seed = int(self.code_seed)
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


@dataclass
class LinearReadout:
    """One-pass readout: softmax regression on hidden spike rates (neutral label input).

    ``prediction = argmax(weight @ concat_{k >= from_layer}(count_k / T) + bias)``, with
    ``weight`` (C, H) where H is the number of neurons in layers ``from_layer..L-1``.
    """

    weight: np.ndarray
    bias: np.ndarray
    from_layer: int = 0

    def __post_init__(self) -> None:
        self.weight = np.asarray(self.weight, dtype=np.float64)
        self.bias = np.asarray(self.bias, dtype=np.float64)
        if self.weight.ndim != 2 or self.bias.shape != (self.weight.shape[0],):
            raise ValueError("readout weight must be (C, H) and bias (C,)")
        self.from_layer = int(self.from_layer)

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.argmax(features @ self.weight.T + self.bias, axis=1)


#: label-sweep goodness kinds of :class:`FFNetwork`
GOODNESS_KINDS = ("mean_sq", "sum_sq", "symmetric")


@dataclass
class FFNetwork:
    """A spiking Forward-Forward MLP: everything a later stage needs, in plain data.

    Inference (label sweep): for each candidate label ``c``, embed ``c``, run all layers for
    ``T`` steps and compute each layer's goodness ``G_k = mean_j (count_j / T)^2`` (``goodness =
    "mean_sq"``; ``"sum_sq"``: the sum over neurons) from its spike counts; predict
    ``argmax_c sum_{k >= goodness_from_layer} G_k``.

    ``goodness = "symmetric"`` (Hebbian FFA's split layer, Terres-Escudero et al. P_sym): each
    counted layer's first half is its positive and its second half its negative population,
    ``G_k = (G+ + eps) / (G+ + G- + 2 eps)`` with ``G+-`` the sum over the half of
    ``(count_j / T)^2`` and ``eps = goodness_eps``.
    """

    layers: list
    encoding: InputEncoding = field(default_factory=InputEncoding)
    label_embedding: LabelEmbedding = field(default_factory=LabelEmbedding)
    goodness_from_layer: int = 0
    goodness: str = "mean_sq"
    goodness_eps: float = 0.01
    dataset: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    quantized: Optional[list] = None
    readout: Optional[LinearReadout] = None

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("a network needs at least one layer")
        for i in range(1, len(self.layers)):
            if self.layers[i].n_in != self.layers[i - 1].n_out:
                raise ValueError(
                    f"layer {i} expects {self.layers[i].n_in} inputs but layer {i-1} has "
                    f"{self.layers[i-1].n_out} outputs")
        if not 0 <= self.goodness_from_layer < len(self.layers):
            raise ValueError("goodness_from_layer out of range")
        if self.goodness not in GOODNESS_KINDS:
            raise ValueError(f"unknown goodness {self.goodness!r} ({'|'.join(GOODNESS_KINDS)})")
        if self.goodness == "symmetric":
            odd = [k for k in range(self.goodness_from_layer, len(self.layers))
                   if self.layers[k].n_out % 2]
            if odd:
                raise ValueError(f"symmetric goodness splits each counted layer into a positive "
                                 f"and a negative half: layers {odd} have an odd width")
            if not self.goodness_eps > 0:
                raise ValueError(f"goodness_eps must be > 0, got {self.goodness_eps}")
        if self.quantized is not None:
            self._check_quantized(self.quantized)
        if self.readout is not None:
            h = sum(l.n_out for l in self.layers[self.readout.from_layer:])
            if self.readout.weight.shape != (self.n_classes, h):
                raise ValueError(f"readout weight must be ({self.n_classes}, {h}), got "
                                 f"{self.readout.weight.shape}")

    def _check_quantized(self, qlayers: list) -> None:
        if len(qlayers) != len(self.layers):
            raise ValueError("quantized layers do not match the float layers")
        for q, f in zip(qlayers, self.layers):
            if q.weight.shape != f.weight.shape:
                raise ValueError("quantized weight shape differs from the float one")

    @property
    def sizes(self) -> list:
        """[n_in, n_hidden_1, ..., n_hidden_L]."""
        return [self.layers[0].n_in] + [l.n_out for l in self.layers]

    @property
    def n_classes(self) -> int:
        return self.label_embedding.n_classes
