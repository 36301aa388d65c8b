"""Quantization of a :class:`~ff_neuro.model.conv.ConvFFNetwork` to Loihi fixed point.

As for dense nets (:mod:`ff_neuro.quantization`), one scale ``s`` per spiking layer maps
weights, threshold and bias together::

    W_in     = W * clip / levels  (layer 0: it receives the encoder's integer levels k)
             = W                  (later layers: binary spikes)
    s        = weight_max / max|W_in|
    W_q      = clip(round(s * W_in), -256, 254)
    vth      = round(s * threshold),  bias_mant = round(s * bias),  v_decay = round(4096 dv)

``s`` is reduced if ``vth`` would overflow 17 bits or the bias 13 bits, and, for the
graded-input layer 0, so that the largest possible synaptic input ``max_c sum |W_q[c]| * levels``
stays below ``2**17`` (``a << 6`` then never wraps Lava's 24-bit current). NetX loads conv
weights unchanged (no ``weight_exp``), so ``W_q`` is exactly what the chip uses.

The report compares firing rates of float and fixed point on calibration images (training
data) and warns about silent or saturated layers, with the same :class:`LayerQuantReport`
rows as dense nets.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from ..config import QuantConfig
from ..model.conv import ConvFFNetwork, QuantizedConv2d, SpikingConv2d
from ..model.primitives import DECAY_UNITY
from . import (CURRENT_MAX, LayerQuantReport, QuantReport, bits_used, flag_rates,  # noqa: F401
               integer_parameters, threshold_error)


def input_weight(net: ConvFFNetwork, k: int) -> np.ndarray:
    """Layer ``k``'s float weight as applied to its input messages (layer 0: per level)."""
    w = net.layers[k].weight.astype(np.float64)
    return w * (net.encoder.clip / net.encoder.levels) if k == 0 else w


def quantize_conv_layer(layer: SpikingConv2d, w_in: np.ndarray, cfg: QuantConfig,
                        max_input: int = 1) -> QuantizedConv2d:
    """Quantize one layer whose input messages are integers in ``[0, max_input]``."""
    row = (float(np.max(np.sum(np.abs(w_in), axis=(1, 2, 3)))) * max_input
           if max_input > 1 and w_in.size else None)
    scale, vth, w_q, bias_q = integer_parameters(w_in, layer.threshold, layer.bias, cfg, row)
    return QuantizedConv2d(weight=w_q, vth=vth, v_decay=int(round(layer.v_decay * DECAY_UNITY)),
                           in_shape=layer.in_shape, stride=layer.stride, padding=layer.padding,
                           i_decay=DECAY_UNITY, bias_mant=bias_q, scale=scale)


def quantize_conv(net: ConvFFNetwork, cfg: Optional[QuantConfig] = None,
                  calibration_images: Optional[np.ndarray] = None) -> tuple:
    """Quantize every spiking layer; returns ``(net_with_quantized, QuantReport)``.

    ``calibration_images`` (N, C, H, W), training data: run through the float and the
    fixed-point backends to compare firing rates (a layer that falls silent or saturates raises
    a :class:`QuantizationWarning` and is flagged in the report).
    """
    cfg = cfg or QuantConfig()
    qlayers = []
    for k, layer in enumerate(net.layers):
        qlayers.append(quantize_conv_layer(layer, input_weight(net, k), cfg,
                                           net.encoder.levels if k == 0 else 1))
    out = dataclasses.replace(net, quantized=qlayers)
    report = QuantReport()
    for k, q in enumerate(qlayers):
        ideal = q.scale * input_weight(net, k)
        clipped = float(np.mean((ideal > 254.5) | (ideal < -256.5)))
        rmse = float(np.sqrt(np.mean((q.weight / q.scale - input_weight(net, k)) ** 2)))
        report.layers.append(LayerQuantReport(
            layer=k, scale=q.scale, vth=q.vth, v_decay=q.v_decay,
            weight_min=int(q.weight.min()), weight_max=int(q.weight.max()),
            bits_used=bits_used(q.weight), clipped_fraction=clipped, weight_rmse=rmse,
            vth_error=threshold_error(q, net.layers[k], "conv layer", k)))
    if calibration_images is not None:
        from ..run.conv import run_batches
        rf = run_batches(out, calibration_images, "float").counts
        rq = run_batches(out, calibration_images, "emulator").counts
        T = net.time_steps
        flag_rates(report, [float(c.mean()) / T for c in rf], [float(c.mean()) / T for c in rq],
                   cfg.silent_rate, "conv layer")
    return out, report
