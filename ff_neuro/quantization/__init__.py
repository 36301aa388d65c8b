"""Quantization: float FF network -> Loihi fixed point, as Lava's ``fixed_pt`` models define it.

Per layer one scale ``s`` maps weights, threshold and bias into integer units together, so the
ratio that decides spiking (``W x + b`` vs ``threshold``) is kept::

    s        = weight_max / max|W|          (the largest weight uses the full 8-bit range)
    W_q      = clip(round(s * W), -256, 254)
    vth      = round(s * threshold)          (unsigned 17-bit)
    bias_q   = round(s * bias)               (signed 13-bit mantissa, NetX bias_exp = 6)
    v_decay  = round(4096 * (1 - beta)),  i_decay = 4096 (du = 1)

If ``s * threshold`` would overflow 17 bits the scale is reduced. The report compares firing
rates of float and fixed point on calibration inputs and flags silent or saturated layers:
quantization must never kill activity silently.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from ..config import QuantConfig
from ..model.primitives import DECAY_UNITY, FFNetwork, QuantizedDense, SpikingDense

VTH_MAX = 2**17 - 1
#: relative threshold rounding error above which :func:`quantize` warns
VTH_ERROR_WARN = 0.05
BIAS_MIN, BIAS_MAX = -4096, 4095


class QuantizationError(ValueError):
    """The network cannot be represented in Loihi fixed point."""


class QuantizationWarning(UserWarning):
    """A quantized layer lost (or saturated) its activity."""


@dataclass
class LayerQuantReport:
    layer: int
    scale: float
    vth: int
    v_decay: int
    weight_min: int
    weight_max: int
    bits_used: int
    clipped_fraction: float
    weight_rmse: float
    #: relative error of the integer threshold, ``vth / (scale * threshold) - 1``
    vth_error: float
    rate_float: Optional[float] = None
    rate_fixed: Optional[float] = None
    silent: bool = False
    saturated: bool = False

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class QuantReport:
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


def bits_used(w: np.ndarray) -> int:
    """Signed bits needed for the integer weights ``w`` (sign included)."""
    m = int(np.max(np.abs(w))) if w.size else 0
    return int(m).bit_length() + 1


#: Largest summed input of a neuron: ``a << 6`` must stay below Lava's 24-bit current.
CURRENT_MAX = 2**17 - 1


def integer_parameters(weight: np.ndarray, threshold: float, bias: Optional[np.ndarray],
                       cfg: QuantConfig, max_row_input: Optional[float] = None) -> tuple:
    """One layer's joint scale and integer parameters: ``(scale, vth, W_q, bias_q)``.

    The scale maps the largest weight to ``cfg.weight_max``, and is capped so that the largest
    possible summed input ``max_row_input`` (graded inputs) fits the 24-bit current, the
    threshold fits ``VTH_MAX`` and the biases fit ``BIAS_MAX``. Dense and conv layers share it.
    """
    wmax = float(np.max(np.abs(weight))) if weight.size else 0.0
    if wmax == 0.0:
        raise QuantizationError(
            "a layer has all-zero weights: it can never spike; retrain or remove it")
    scale, limit = cfg.weight_max / wmax, f"the {cfg.weight_max}-step weight range"
    if max_row_input is not None and CURRENT_MAX / max_row_input < scale:
        scale, limit = CURRENT_MAX / max_row_input, "Lava's 24-bit current (largest input sum)"
    if scale * threshold > VTH_MAX:
        scale = VTH_MAX / threshold
    if bias is not None:
        bmax = float(np.max(np.abs(bias)))
        if bmax * scale > BIAS_MAX:
            scale, limit = BIAS_MAX / bmax, "the 13-bit bias"
    vth = int(round(scale * threshold))
    if vth < 1:
        raise QuantizationError(
            f"threshold {threshold:g} rounds to 0 at scale {scale:.3g} (set by {limit}): the "
            f"largest |weight| ({wmax:.4g}) is {wmax / threshold:.0f}x the threshold, more than "
            f"an integer threshold >= 1 leaves room for ({2 * cfg.weight_max}x); train with "
            "smaller weights (lower learning rate) or a larger threshold")
    w_q = np.clip(np.round(scale * weight), -256, 254).astype(np.int32)
    bias_q = None
    if bias is not None:
        bias_q = np.clip(np.round(scale * bias), BIAS_MIN, BIAS_MAX).astype(np.int32)
    return scale, vth, w_q, bias_q


def quantize_layer(layer: SpikingDense, cfg: QuantConfig, input_levels: int = 1) -> QuantizedDense:
    """Quantize one layer. ``input_levels > 1``: the layer receives graded messages
    ``g = levels * x`` (layer 0 of a graded-input net): the integer weights apply to ``g``, so
    the layer is quantized as ``W / levels``, and the scale is also capped so that the largest
    possible input, ``sum_j |W_q,ij| * levels``, fits Lava's 24-bit current (``a << 6 < 2**23``).
    """
    if input_levels > 1:
        layer = SpikingDense(weight=layer.weight / input_levels, threshold=layer.threshold,
                             v_decay=layer.v_decay, bias=layer.bias)
    row_sum = (float(np.max(np.sum(np.abs(layer.weight), axis=1))) * input_levels
               if input_levels > 1 and layer.weight.size else None)
    scale, vth, w_q, bias_q = integer_parameters(layer.weight, layer.threshold, layer.bias, cfg,
                                                 row_sum)
    return QuantizedDense(weight=w_q, vth=vth,
                          v_decay=int(round(layer.v_decay * DECAY_UNITY)),
                          i_decay=DECAY_UNITY, bias_mant=bias_q, scale=scale)


def threshold_error(q, layer, what: str, k: int) -> float:
    """Relative error ``vth / (scale * threshold) - 1`` of quantized layer ``q``'s integer
    threshold (``layer``: its float original); warns above :data:`VTH_ERROR_WARN`."""
    exact = q.scale * layer.threshold
    err = q.vth / exact - 1.0
    if abs(err) > VTH_ERROR_WARN:
        wq = int(np.max(np.abs(q.weight)))
        warnings.warn(
            f"{what} {k}: the threshold becomes vth = {q.vth} from {exact:.3g} "
            f"({100 * err:+.0f} %), because the largest integer weight ({wq}) is "
            f"{wq / exact:.0f}x the exact threshold; spikes may change: compare accuracy on the "
            "emulator", QuantizationWarning, stacklevel=3)
    return err


def quantize(net: FFNetwork, cfg: Optional[QuantConfig] = None,
             calibration_spikes: Optional[np.ndarray] = None) -> tuple:
    """Quantize every layer; returns ``(net_with_quantized, QuantReport)``.

    ``calibration_spikes`` (T, B, n_in) are run through the float (torch) and fixed-point
    (emulator) backends to compare firing rates; a layer that falls silent or saturates raises a
    :class:`QuantizationWarning` (and is flagged in the report).
    """
    cfg = cfg or QuantConfig()
    qlayers = [quantize_layer(l, cfg, net.encoding.levels if k == 0 else 1)
               for k, l in enumerate(net.layers)]
    out = dataclasses.replace(net, quantized=qlayers)
    report = QuantReport()
    for k, (f, q) in enumerate(zip(net.layers, qlayers)):
        levels = net.encoding.levels if k == 0 else 1
        ideal = q.scale * f.weight / levels
        clipped = float(np.mean((ideal > 254.5) | (ideal < -256.5)))
        rmse = float(np.sqrt(np.mean((q.weight * levels / q.scale - f.weight) ** 2)))
        report.layers.append(LayerQuantReport(
            layer=k, scale=q.scale, vth=q.vth, v_decay=q.v_decay,
            weight_min=int(q.weight.min()), weight_max=int(q.weight.max()),
            bits_used=bits_used(q.weight), clipped_fraction=clipped, weight_rmse=rmse,
            vth_error=threshold_error(q, f, "layer", k)))
    if calibration_spikes is not None:
        from ..run.emulator import EmulatorBackend
        from ..run.torch_backend import TorchBackend
        rf = TorchBackend().run(out, calibration_spikes).spikes
        rq = EmulatorBackend().run(out, calibration_spikes).spikes
        flag_rates(report, [float(s.mean()) for s in rf], [float(s.mean()) for s in rq],
                   cfg.silent_rate, "layer")
    return out, report


def flag_rates(report, rates_float, rates_fixed, silent_rate: float, what: str) -> None:
    """Record each layer's float and fixed-point firing rates (spikes per neuron and step) in
    ``report`` and warn (:class:`QuantizationWarning`) when a layer goes silent or saturates."""
    for k, rep in enumerate(report.layers):
        rep.rate_float, rep.rate_fixed = rates_float[k], rates_fixed[k]
        rep.silent = rep.rate_fixed < silent_rate
        rep.saturated = rep.rate_fixed > 1.0 - silent_rate
        if rep.silent:
            warnings.warn(
                f"{what} {k} is silent after quantization (fixed-point firing rate "
                f"{rep.rate_fixed:.2e}, float {rep.rate_float:.2e}); FF goodness is lost",
                QuantizationWarning, stacklevel=3)
        elif rep.saturated:
            warnings.warn(f"{what} {k} fires at every step after quantization",
                          QuantizationWarning, stacklevel=3)
