"""Quantization: a float network -> Loihi fixed point, one layer at a time, as Lava's
``fixed_pt`` models define it. Dense and conv layers alike.

Per layer one scale ``s`` maps weights, threshold and bias into integer units together, so the
ratio that decides spiking (``W x + b`` vs ``threshold``) is kept::

    W_in     = the weight as applied to the layer's integer input messages
               (layer 0 through its encoder: W / levels for graded spikes, W * clip / levels
               after the analog conv encoder; later layers: W)
    s        = weight_max / max|W_in|          (the largest weight uses the full 8-bit range)
    W_q      = clip(round(s * W_in), -256, 254)
    vth      = round(s * threshold)             (unsigned 17-bit)
    bias_q   = round(s * bias)                  (signed 13-bit mantissa, NetX bias_exp = 6)
    v_decay  = round(4096 * (1 - beta)),  i_decay = 4096 (du = 1)

``s`` is reduced if ``vth`` would overflow 17 bits or the bias 13 bits, and, for a layer whose
input messages are graded (up to ``L``), so that the largest possible synaptic input
``max_j sum_i |W_q[j, i]| * L`` stays below ``2**17`` (``a << 6`` then never wraps Lava's 24-bit
current).

A :class:`~ff_neuro.model.MembraneReadout` (a non-spiking output layer) gets its integer
twin too (:func:`quantize_membrane_readout`).

The report compares firing rates of the float and the fixed-point network on calibration inputs
(training data), run on two backends given by name (``float`` and ``emulator`` by default), and
flags silent or saturated layers: quantization must never kill activity silently.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import numpy as np

from ..config import QuantConfig
from ..model.layer import Layer
from ..model.network import Network
from ..model.neuron import DECAY_UNITY, LIF, VTH_MAX, LoihiLIF
from ..model.readout import MembraneReadout
from ..model.synapse import (BIAS_MAX, BIAS_MIN, WEIGHT_EXP_MAX, WEIGHT_EXP_MIN,
                              WEIGHT_MAX, WEIGHT_MIN, Conv2d, Dense)

#: relative threshold rounding error above which :func:`quantize` warns
VTH_ERROR_WARN = 0.05
#: Largest summed input of a neuron: ``a << 6`` must stay below Lava's 24-bit current.
CURRENT_MAX = 2**17 - 1
#: Headroom of a current-based layer's scale over the largest current seen on calibration data.
CALIBRATION_MARGIN = 2.0


class QuantizationError(ValueError):
    """The network cannot be represented in Loihi fixed point.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import Layer, SpikeCountReadout
        >>> from ff_neuro.quantization import QuantizationError
        >>> dead = ffn.Network([Layer.dense(weight=np.zeros((2, 4)), threshold=1.0)],
        ...                    readouts=[SpikeCountReadout(n_classes=2)])
        >>> try:
        ...     ffn.quantize(dead)
        ... except QuantizationError as exc:
        ...     print(exc)
        layer 0: a layer has all-zero weights: it can never spike; retrain or remove it
    """


class QuantizationWarning(UserWarning):
    """A quantized layer lost (or saturated) its activity.

    Example::

        >>> import warnings
        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import Layer, SpikeCountReadout
        >>> from ff_neuro.quantization import QuantizationWarning
        >>> net = ffn.Network([Layer.dense(weight=np.full((2, 4), 0.6), threshold=1.0)],
        ...                   readouts=[SpikeCountReadout(n_classes=2)])
        >>> silence = np.zeros((8, 1, 4), np.uint8)          # calibration without input spikes
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     _, report = ffn.quantize(net, calibration_inputs=silence)
        >>> caught[0].category is QuantizationWarning, report.layers[0].silent
        (True, True)
        >>> print(caught[0].message)
        layer 0 is silent after quantization (fixed-point firing rate 0.00e+00, float 0.00e+00);
        FF goodness is lost
    """


@dataclass
class LayerQuantReport:
    """How one layer was quantized: its ``scale`` (integer units per float unit), integer
    threshold ``vth`` and decay, the integer weight range and the ``bits_used``, the fraction
    of weights clipped, the weight and threshold rounding errors, and (with calibration inputs)
    its float and fixed-point firing rates with the ``silent`` / ``saturated`` flags.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import Layer, SpikeCountReadout
        >>> net = ffn.Network([Layer.dense(weight=np.full((2, 4), 0.6), threshold=1.0)],
        ...                   readouts=[SpikeCountReadout(n_classes=2)])
        >>> layer = ffn.quantize(net)[1].layers[0]
        >>> layer.vth, layer.weight_max, layer.bits_used, round(layer.vth_error, 5)
        (423, 254, 9, -0.00079)
    """

    layer: int
    scale: float
    vth: int
    v_decay: int
    weight_min: int
    weight_max: int
    bits_used: int
    clipped_fraction: float
    #: RMS error of the integer weights, in units of the weight applied to one input message
    weight_rmse: float
    #: relative error of the integer threshold, ``vth / (scale * threshold) - 1``
    vth_error: float
    rate_float: Optional[float] = None
    rate_fixed: Optional[float] = None
    silent: bool = False
    saturated: bool = False
    kind: str = "dense"

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class QuantReport:
    """What :func:`quantize` did, one :class:`LayerQuantReport` per layer; ``ok`` is False
    when a layer went silent or saturated on the calibration inputs.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import Layer, SpikeCountReadout
        >>> net = ffn.Network([Layer.dense(weight=np.full((2, 4), 0.6), threshold=1.0)],
        ...                   readouts=[SpikeCountReadout(n_classes=2)])
        >>> calibration = (np.random.default_rng(0).random((8, 4, 4)) < 0.3).astype(np.uint8)
        >>> _, report = ffn.quantize(net, calibration_inputs=calibration)   # (T, B, n_in)
        >>> print(report.format_table())
        layer     scale     vth    dv      W range bits  clip% rate float rate fixed  status
            0   423.333     423     0    [254,254]    9   0.00     0.4688     0.4688  ok
        bits: ...
        >>> report.ok, report.to_dict()["layers"][0]["rate_fixed"]
        (True, 0.46875)
    """

    layers: List[LayerQuantReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(l.silent or l.saturated for l in self.layers)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "layers": [l.to_dict() for l in self.layers]}

    def format_table(self) -> str:
        head = f"{'layer':>5} {'scale':>9} {'vth':>7} {'dv':>5} {'W range':>12} {'bits':>4} " \
               f"{'clip%':>6} {'rate float':>10} {'rate fixed':>10}  status"
        rows = [head]
        for l in self.layers:
            rf = "-" if l.rate_float is None else f"{l.rate_float:.4f}"
            rq = "-" if l.rate_fixed is None else f"{l.rate_fixed:.4f}"
            status = "SILENT" if l.silent else ("SATURATED" if l.saturated else "ok")
            rows.append(f"{l.layer:>5} {l.scale:>9.3f} {l.vth:>7} {l.v_decay:>5} "
                        f"{f'[{l.weight_min},{l.weight_max}]':>12} {l.bits_used:>4} "
                        f"{100 * l.clipped_fraction:>6.2f} {rf:>10} {rq:>10}  {status}")
        rows.append("bits: signed bits the integer weights use (sign included; Loihi: 8-bit "
                    "mantissa + sign); rates: spikes per neuron per step on calibration data")
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.format_table()

    def plot(self, path):
        """Firing rate per layer in float and in fixed point (calibration data) and the share
        of clipped weights: a PNG at ``path``."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        from ..fileio import save_figure
        x = np.arange(len(self.layers))
        rf = [np.nan if l.rate_float is None else l.rate_float for l in self.layers]
        rq = [np.nan if l.rate_fixed is None else l.rate_fixed for l in self.layers]
        fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.2))
        a.bar(x - 0.2, rf, 0.4, label="float")
        a.bar(x + 0.2, rq, 0.4, label="fixed point")
        a.set_xlabel("layer")
        a.set_ylabel("spikes per neuron per step")
        a.set_xticks(x)
        a.legend(fontsize=8)
        a.set_title("firing rates", fontsize=9)
        b.bar(x, [100 * l.clipped_fraction for l in self.layers], color="#dd8452")
        b.set_xlabel("layer")
        b.set_ylabel("% of weights clipped")
        b.set_xticks(x)
        b.set_title("quantization " + ("ok" if self.ok else "warnings"), fontsize=9)
        fig.tight_layout()
        return save_figure(fig, path)


def bits_used(w: np.ndarray) -> int:
    """Signed bits needed for the integer weights ``w`` (sign included).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.quantization import bits_used
        >>> bits_used(np.array([254, -3])), bits_used(np.array([7]))
        (9, 4)
    """
    m = int(np.max(np.abs(w))) if w.size else 0
    return int(m).bit_length() + 1


def integer_parameters(weight: np.ndarray, threshold: float, bias: Optional[np.ndarray],
                       cfg: QuantConfig, max_row_input: Optional[float] = None) -> tuple:
    """One layer's joint scale and integer parameters: ``(scale, vth, W_q, bias_q)``.

    The scale maps the largest weight to ``cfg.weight_max``, and is capped so that the largest
    possible summed input ``max_row_input`` (graded inputs) fits the 24-bit current, the
    threshold fits ``VTH_MAX`` and the biases fit ``BIAS_MAX``.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.config import QuantConfig
        >>> from ff_neuro.quantization import integer_parameters
        >>> scale, vth, w_q, bias_q = integer_parameters(np.array([[0.5, -0.25]]), threshold=1.0,
        ...                                              bias=None, cfg=QuantConfig())
        >>> scale, vth, w_q                     # 0.5 -> 254: threshold 1.0 -> 508
        (508.0, 508, array([[ 254, -127]], dtype=int32))
    """
    wmax = float(np.max(np.abs(weight))) if weight.size else 0.0
    if wmax == 0.0:
        raise QuantizationError(
            "a layer has all-zero weights: it can never spike; retrain or remove it")
    scale, limit = cfg.weight_max / wmax, f"the {cfg.weight_max}-step weight range"
    if max_row_input is not None and CURRENT_MAX / max_row_input < scale:
        scale, limit = CURRENT_MAX / max_row_input, "Lava's 24-bit current (largest input sum)"
    th_max = float(np.max(threshold))
    th_min = float(np.min(threshold))
    if scale * th_max > VTH_MAX:
        scale, limit = VTH_MAX / th_max, f"the 17-bit threshold ({th_max:g})"
    if bias is not None:
        bmax = float(np.max(np.abs(bias)))
        if bmax * scale > BIAS_MAX:
            scale, limit = BIAS_MAX / bmax, "the 13-bit bias"
    vth = np.round(scale * np.asarray(threshold, dtype=np.float64)).astype(np.int64)
    vth = int(vth) if vth.ndim == 0 else vth
    if np.min(vth) < 1:
        raise QuantizationError(
            f"threshold {th_min:g} rounds to 0 at scale {scale:.3g} (set by {limit}): the "
            f"largest |weight| ({wmax:.4g}) is {wmax / th_min:.0f}x the threshold, more than "
            f"an integer threshold >= 1 leaves room for ({2 * cfg.weight_max}x); train with "
            "smaller weights (lower learning rate) or a larger threshold")
    w_q = np.clip(np.round(scale * weight), -256, 254).astype(np.int32)
    if not w_q.any():
        raise QuantizationError(
            f"every weight rounds to 0 at scale {scale:.3g} (set by {limit}): the layer could "
            f"never spike; the threshold is {th_min / wmax:.3g}x the largest |weight| "
            f"({wmax:.4g}), so train with a lower threshold")
    bias_q = None
    if bias is not None:
        bias_q = np.clip(np.round(scale * bias), BIAS_MIN, BIAS_MAX).astype(np.int32)
    return scale, vth, w_q, bias_q


def message_weight(net: Network, k: int) -> np.ndarray:
    """Layer ``k``'s float weight as applied to its integer input messages (layer 0 through
    the encoder's :meth:`input_weight`). Dense weights stay float32 and conv weights are
    float64: the arithmetic the quantizer has always used, so re-quantizing a model gives the
    same integers.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import InputEncoding, Layer, SpikeCountReadout
        >>> from ff_neuro.quantization import message_weight
        >>> net = ffn.Network([Layer.dense(weight=np.full((2, 3), 0.3), threshold=1.0)],
        ...                   encoder=InputEncoding(kind="graded", levels=3),
        ...                   readouts=[SpikeCountReadout(n_classes=2)])
        >>> message_weight(net, 0).round(3)     # a graded message g stands for g / 3
        array([[0.1, 0.1, 0.1],
               [0.1, 0.1, 0.1]], dtype=float32)
    """
    layer = net.layers[k]
    w = layer.weight if not isinstance(layer.synapse, Conv2d) else layer.weight.astype(np.float64)
    return net.encoder.input_weight(w) if k == 0 else w


def quantize_layer(layer: Layer, w_in: np.ndarray, cfg: QuantConfig,
                   max_input: int = 1, current_peak: Optional[float] = None) -> Layer:
    """One float layer as a Loihi layer. ``w_in``: its weight as applied to its input messages
    (:func:`message_weight`), which are integers in ``[0, max_input]``. ``current_peak``: the
    largest ``|i|`` a current-based neuron's current reached on calibration data; the scale
    keeps twice that below Lava's 24-bit current, which wraps (without it: the worst case of
    every input of one sign at every step, which leaves little resolution to neurons whose
    current decays slowly).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.config import QuantConfig
        >>> from ff_neuro.model import Layer
        >>> from ff_neuro.quantization import quantize_layer
        >>> layer = Layer.dense(weight=np.array([[0.5, -0.25]]), threshold=1.0, v_decay=0.125)
        >>> q = quantize_layer(layer, layer.weight, QuantConfig())
        >>> q.quantized, q.weight, q.neuron.vth, q.neuron.v_decay
        (True, array([[ 254, -127]], dtype=int32), 508, 512)
    """
    n = layer.neuron
    bias = layer.bias
    rec = layer.recurrent
    if rec is not None and rec.bias is not None:
        # Lava's Dense has no bias: the recurrent synapse's bias joins the layer's
        bias = rec.bias.astype(np.float64) if bias is None else bias + rec.bias
    row_sum = None
    if max_input > 1 and w_in.size:
        row_sum = float(np.max(np.sum(np.abs(w_in.reshape(w_in.shape[0], -1)), axis=1))) \
            * max_input
    if not layer.plain:
        row_sum = _current_bound(layer, w_in, bias, max_input)
        if current_peak is not None and n.current_memory:
            row_sum = CALIBRATION_MARGIN * max(current_peak, 1e-12)
    scale, vth, w_q, bias_q = integer_parameters(w_in, n.threshold, bias, cfg, row_sum)
    syn = dataclasses.replace(layer.synapse, weight=w_q, bias=bias_q)
    e = _state_exponent(layer, scale, vth, bias, row_sum, cfg)
    if e:
        # the same 8-bit weights, shifted left by e in the synapse: the threshold, the bias
        # and the membrane in 2**e times finer units
        scale *= 2.0**e
        vth = np.round(scale * np.asarray(n.threshold, dtype=np.float64)).astype(np.int64)
        vth = int(vth) if vth.ndim == 0 else vth
        bias_q = None if bias is None else \
            np.clip(np.round(scale * np.asarray(bias)), BIAS_MIN, BIAS_MAX).astype(np.int32)
        syn = dataclasses.replace(layer.synapse, weight=w_q, bias=bias_q, weight_exp=e)
    return Layer(syn, LoihiLIF(vth=vth, v_decay=_decay_q(n.v_decay), i_decay=_decay_q(n.i_decay),
                               scale=scale, reset=n.reset, reset_delay=n.reset_delay,
                               bias_in=n.bias_in),
                 recurrent=None if rec is None else quantize_recurrent(rec.weight, scale))


def dequantize_layer(q: Layer, encoder=None) -> Layer:
    """The float layer a Loihi layer stands for: integers / ``scale``, decays / 4096, the
    recurrent weights with their exponent, the same resets (a model read from a file that
    holds only integers, such as NetX or a quantized NIR graph). ``encoder``: for layer 0, the
    network's encoder, whose messages the integer weights apply to (a graded message ``g``
    stands for ``g / levels``: the float weight is ``levels`` times the per-message one).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import Dense, Layer
        >>> from ff_neuro.quantization import dequantize_layer
        >>> q = Layer.loihi(Dense(weight=np.array([[128, -64]])), vth=256, v_decay=512,
        ...                 scale=256.0)
        >>> f = dequantize_layer(q)
        >>> f.weight.tolist(), f.neuron
        ([[0.5, -0.25]], LIF(threshold=1.0, v_decay=0.125))
    """
    n, s, syn = q.neuron, q.neuron.scale, q.synapse
    per_message = 1.0 if encoder is None else \
        float(np.asarray(encoder.input_weight(np.ones(1))).ravel()[0])
    kw = dict(weight=syn.weight / s / per_message,
              bias=None if syn.bias is None else syn.bias / s)
    if isinstance(syn, Conv2d):
        f = Conv2d(in_shape=syn.in_shape, stride=syn.stride, padding=syn.padding,
                   dilation=syn.dilation, **kw)
    else:
        f = Dense(in_shape=syn.in_shape, **kw)
    rec = None if q.recurrent is None else \
        Dense(weight=q.recurrent.weight * 2.0**q.recurrent.weight_exp / s)
    return Layer(f, LIF(threshold=np.asarray(n.vth) / s,
                        v_decay=np.asarray(n.v_decay) / DECAY_UNITY,
                        i_decay=np.asarray(n.i_decay) / DECAY_UNITY, reset=n.reset,
                        reset_delay=n.reset_delay, bias_in=n.bias_in), recurrent=rec)


def _state_exponent(layer: Layer, scale: float, vth, bias, row_sum, cfg: QuantConfig) -> int:
    """The weight exponent ``e`` (0..7) that gives a dense layer running as ff-neuro's own Lava
    neuron at least ``cfg.vth_min`` threshold steps, within the 17-bit threshold, the 13-bit
    bias and Lava's 24-bit current (0 for Lava's stock LIF and for conv layers: NetX and
    Lava's Conv carry no exponent)."""
    if layer.plain or isinstance(layer.synapse, Conv2d) or not cfg.vth_min:
        return 0
    lo = float(np.min(vth))
    if lo >= cfg.vth_min:
        return 0
    room = [cfg.vth_min / max(lo, 1.0), VTH_MAX / float(np.max(vth))]
    if bias is not None and np.any(bias):
        room.append(BIAS_MAX / (scale * float(np.max(np.abs(bias)))))
    if row_sum is not None:
        room.append(CURRENT_MAX / (scale * row_sum))
    e = int(np.floor(np.log2(max(min(room), 1.0))))
    return int(min(max(e, 0), WEIGHT_EXP_MAX))


def _decay_q(d):
    """A float decay (per step, in [0, 1]) in Loihi's 1/4096 units."""
    q = np.round(np.asarray(d, dtype=np.float64) * DECAY_UNITY).astype(np.int64)
    return int(q) if q.ndim == 0 else q


def _current_bound(layer: Layer, w_in: np.ndarray, bias, max_input: int) -> float:
    """The largest integer activation (in units of the weights) a neuron's current can
    accumulate: one step's largest input (every input of one sign active, the recurrent
    synapse's too, and a bias in the current) times ``1 / i_decay`` (the current's memory).
    The scale keeps it below Lava's 24-bit current, which wraps."""
    def one_sign(w: np.ndarray, m: int) -> np.ndarray:
        w = w.reshape(w.shape[0], -1).astype(np.float64)
        return np.maximum(np.clip(w, 0, None).sum(axis=1), np.clip(-w, 0, None).sum(axis=1)) * m
    per = one_sign(w_in, max_input)
    if layer.recurrent is not None:
        per = per + one_sign(layer.recurrent.weight, 1)
    if bias is not None and layer.neuron.bias_in == "current":
        per = per + np.abs(np.asarray(bias, dtype=np.float64))
    return float(per.max()) / max(float(np.min(layer.neuron.i_decay)), 1.0 / DECAY_UNITY)


def quantize_recurrent(weight: np.ndarray, scale: float) -> Dense:
    """A recurrent synapse in the layer's integer units (``scale``), with a weight exponent of
    its own: ``W_q * 2**weight_exp ~ scale * W``, ``W_q`` in [-256, 254]. The exponent is the
    smallest that fits the largest weight, so a recurrent matrix much larger (or smaller) than
    the feed-forward weights keeps its 8-bit resolution instead of clipping (or rounding to
    zero).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.quantization import quantize_recurrent
        >>> rec = quantize_recurrent(np.array([[0.0, 4.0], [-1.0, 0.02]]), scale=254.0)
        >>> rec.weight_exp, rec.weight.tolist()            # 4 * 254 needs 2**2
        (2, [[0, 254], [-64, 1]])
    """
    w = np.asarray(weight, dtype=np.float64) * scale
    wmax = float(np.max(np.abs(w))) if w.size else 0.0
    if wmax == 0.0:
        return Dense(weight=np.zeros(w.shape, np.int32))
    e = int(np.clip(np.ceil(np.log2(wmax / WEIGHT_MAX)), WEIGHT_EXP_MIN, WEIGHT_EXP_MAX))
    w_q = np.clip(np.round(w / 2.0**e), WEIGHT_MIN, WEIGHT_MAX).astype(np.int32)
    return Dense(weight=w_q, weight_exp=e)


def threshold_error(q: Layer, layer: Layer, k: int) -> float:
    """Relative error ``vth / (scale * threshold) - 1`` of quantized layer ``q``'s integer
    threshold (``layer``: its float original); warns above :data:`VTH_ERROR_WARN`.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.config import QuantConfig
        >>> from ff_neuro.model import Layer
        >>> from ff_neuro.quantization import quantize_layer, threshold_error
        >>> layer = Layer.dense(weight=np.array([[0.5, -0.25]]), threshold=1.0)
        >>> threshold_error(quantize_layer(layer, layer.weight, QuantConfig()), layer, 0)
        0.0
    """
    exact = q.neuron.scale * np.asarray(layer.neuron.threshold, dtype=np.float64)
    errs = np.asarray(q.neuron.vth / exact - 1.0)
    i = int(np.argmax(np.abs(errs)))            # the worst neuron of a per-neuron threshold
    err, exact = float(errs.flat[i]), float(np.broadcast_to(exact, errs.shape).flat[i])
    if abs(err) > VTH_ERROR_WARN:
        wq = int(np.max(np.abs(q.weight)))
        what = "conv layer" if isinstance(layer.synapse, Conv2d) else "layer"
        warnings.warn(
            f"{what} {k}: the threshold becomes vth = {round(exact * (1 + err))} from "
            f"{exact:.3g} "
            f"({100 * err:+.0f} %), because the largest integer weight ({wq}) is "
            f"{wq / exact:.0f}x the exact threshold; spikes may change: compare accuracy on the "
            "emulator", QuantizationWarning, stacklevel=3)
    return err


def firing_rates(net: Network, backend: str, inputs: np.ndarray) -> List[float]:
    """Spikes per neuron per step of every layer of ``net`` on ``backend`` (a registry name)
    for input messages ``inputs`` (T, B, *input_shape).

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import Layer, SpikeCountReadout
        >>> from ff_neuro.quantization import firing_rates
        >>> net = ffn.Network([Layer.dense(weight=np.full((2, 4), 0.6), threshold=1.0)],
        ...                   readouts=[SpikeCountReadout(n_classes=2)])
        >>> spikes = np.ones((8, 1, 4), np.uint8)           # every input, every step
        >>> firing_rates(net, "float", spikes)              # 2.4 > 1: a spike every step
        [1.0]
    """
    from ..run import get_backend
    return [float(s.mean()) for s in get_backend(backend).run(net, inputs).spikes]


def quantize(net: Network, cfg: Optional[QuantConfig] = None,
             calibration_inputs: Optional[np.ndarray] = None,
             backends: Sequence[str] = ("float", "emulator")) -> tuple:
    """Quantize every layer; returns ``(network with quantized layers, QuantReport)``.

    ``calibration_inputs`` (T, B, *input_shape), messages of training data: run through the
    float and the fixed-point network on ``backends`` (a float and a fixed-point backend by
    name) to compare firing rates; a layer that falls silent or saturates raises a
    :class:`QuantizationWarning` (and is flagged in the report). They also size the scale of
    current-based layers (recurrent ones included): twice the largest current the float
    network reaches on them stays within Lava's 24-bit current (:func:`quantize_layer`).

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, report = ffn.quantize(net)
        >>> q = qnet.quantized[0]
        >>> q.neuron.vth, q.neuron.v_decay, int(q.weight.min()), int(q.weight.max())
        (130, 512, -254, 200)

    With calibration inputs (training images as the network's input messages) the report
    compares the float and the fixed-point firing rates::

        >>> from ff_neuro.encoding import network_inputs
        >>> x = ffn.load_dataset("digits").x_train[:64]
        >>> qnet, report = ffn.quantize(net, calibration_inputs=network_inputs(net, x))
        >>> print(report)
        layer     scale     vth    dv      W range bits  clip% rate float rate fixed  status
            0   130.276     130   512   [-254,200]    9   0.00     0.2617     0.2616  ok
        bits: signed bits the integer weights use (sign included; ...
        >>> report.ok
        True

    A network that Loihi's integers cannot hold is refused with the reason::

        >>> big = ffn.Network([Layer.dense(weight=np.full((4, 24), 100.0), threshold=0.01)],
        ...                   label_embedding=LabelEmbedding(n_classes=4))
        >>> ffn.quantize(big)
        Traceback (most recent call last):
        ...
        ff_neuro.quantization.QuantizationError: layer 0: threshold 0.01 rounds to 0 at scale
        2.54 (set by the 254-step weight range): ...
    """
    cfg = cfg or QuantConfig()
    max_msg = net.encoder.max_message
    qlayers, report = [], QuantReport()
    peaks = [None] * len(net.layers)
    if calibration_inputs is not None and any(l.neuron.current_memory for l in net.layers):
        from ..run.float_backend import FloatBackend
        peaks = FloatBackend().current_peaks(net, calibration_inputs)
    for k, layer in enumerate(net.layers):
        w_in = message_weight(net, k)
        try:
            q = quantize_layer(layer, w_in, cfg, max_msg if k == 0 else 1, peaks[k])
        except QuantizationError as exc:
            raise QuantizationError(f"layer {k}: {exc}") from exc
        qlayers.append(q)
        ideal = q.neuron.scale * w_in
        report.layers.append(LayerQuantReport(
            layer=k, scale=q.neuron.scale, vth=int(np.median(q.neuron.vth)),
            v_decay=int(np.median(q.neuron.v_decay)),
            weight_min=int(q.weight.min()), weight_max=int(q.weight.max()),
            bits_used=bits_used(q.weight),
            clipped_fraction=float(np.mean((ideal > 254.5) | (ideal < -256.5))),
            weight_rmse=float(np.sqrt(np.mean((q.weight / q.neuron.scale - w_in) ** 2))),
            vth_error=threshold_error(q, layer, k), kind=layer.kind))
    readouts = [quantize_membrane_readout(r, net.time_steps, cfg)
                if isinstance(r, MembraneReadout) else r for r in net.readouts]
    out = dataclasses.replace(net, quantized=qlayers, readouts=readouts)
    if calibration_inputs is not None:
        float_name, fixed_name = backends
        flag_rates(report, firing_rates(out, float_name, calibration_inputs),
                   firing_rates(out, fixed_name, calibration_inputs), cfg.silent_rate)
    return out, report


def quantize_membrane_readout(r: MembraneReadout, time_steps: int,
                              cfg: Optional[QuantConfig] = None) -> MembraneReadout:
    """``r`` with its Loihi integer twin: one scale for weights and bias (the largest weight at
    ``cfg.weight_max``), lowered where the bias would overflow its 13-bit mantissa or the
    24-bit membrane could saturate within ``time_steps`` steps of the largest possible input
    (``v`` accumulates ``(W_q s + b_q) << 6`` every step); ``v_decay_q = round(4096 (1 -
    beta))`` as for the spiking layers.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import MembraneReadout
        >>> from ff_neuro.quantization import quantize_membrane_readout
        >>> r = MembraneReadout(weight=np.full((10, 32), 0.5), bias=np.full(10, 0.1))
        >>> q = quantize_membrane_readout(r, time_steps=8)
        >>> int(q.weight_q.max()), int(q.bias_q.max()), q.v_decay_q, round(q.scale, 1)
        (254, 51, 0, 508.0)
    """
    from ..run.lif import BIAS_EXP, UV_MAX
    cfg = cfg or QuantConfig()
    wmax = float(np.max(np.abs(r.weight)))
    if wmax == 0.0:
        raise QuantizationError("the membrane readout has all-zero weights")
    scale = cfg.weight_max / wmax
    row = np.sum(np.abs(r.weight), axis=1)
    if r.bias is not None:
        row = row + np.abs(r.bias)
        bmax = float(np.max(np.abs(r.bias)))
        if bmax * scale > BIAS_MAX:
            scale = BIAS_MAX / bmax
    worst = float(np.max(row)) * time_steps * 2**BIAS_EXP
    if worst * scale > UV_MAX - 1:
        scale = (UV_MAX - 1) / worst
    w_q = np.clip(np.round(scale * r.weight), -256, 254).astype(np.int64)
    if not w_q.any():
        raise QuantizationError("every membrane-readout weight rounds to 0")
    b_q = None if r.bias is None else \
        np.clip(np.round(scale * r.bias), BIAS_MIN, BIAS_MAX).astype(np.int64)
    return dataclasses.replace(r, weight_q=w_q, bias_q=b_q,
                               v_decay_q=int(round(DECAY_UNITY * (1.0 - r.beta))),
                               scale=float(scale))


def flag_rates(report: QuantReport, rates_float, rates_fixed, silent_rate: float) -> None:
    """Record each layer's float and fixed-point firing rates (spikes per neuron and step) in
    ``report`` and warn (:class:`QuantizationWarning`) when a layer goes silent or saturates.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import Layer, SpikeCountReadout
        >>> from ff_neuro.quantization import flag_rates
        >>> net = ffn.Network([Layer.dense(weight=np.full((2, 4), 0.6), threshold=1.0)],
        ...                   readouts=[SpikeCountReadout(n_classes=2)])
        >>> _, report = ffn.quantize(net)
        >>> flag_rates(report, rates_float=[0.21], rates_fixed=[0.2], silent_rate=0.001)
        >>> report.layers[0].rate_fixed, report.ok
        (0.2, True)
    """
    for k, rep in enumerate(report.layers):
        rep.rate_float, rep.rate_fixed = rates_float[k], rates_fixed[k]
        rep.silent = rep.rate_fixed < silent_rate
        rep.saturated = rep.rate_fixed > 1.0 - silent_rate
        what = "conv layer" if rep.kind == "conv2d" else "layer"
        if rep.silent:
            warnings.warn(
                f"{what} {k} is silent after quantization (fixed-point firing rate "
                f"{rep.rate_fixed:.2e}, float {rep.rate_float:.2e}); FF goodness is lost",
                QuantizationWarning, stacklevel=3)
        elif rep.saturated:
            warnings.warn(f"{what} {k} fires at every step after quantization",
                          QuantizationWarning, stacklevel=3)
