"""Float backend: the trained network in float64 (the reference the others are compared to).

Every layer, dense or conv, computes its synaptic activation with torch (``linear`` or
``conv2d``) for all time steps at once, then the float LIF of
:mod:`ff_neuro.model.neuron` step by step (:func:`ff_neuro.run.lif.float_lif_step`): the
dynamics of snnTorch ``Leaky(reset_mechanism="zero", reset_delay=False)`` and of Lava's
``floating_pt`` LIF, which also computes in float64, so the two agree spike for spike. Layer 0
applies its weights to the encoder's integer messages as the encoder says
(:meth:`~ff_neuro.model.InputEncoding.input_weight`: graded ``g`` stands for ``g / levels``).
"""
from __future__ import annotations

import time
from typing import List

import numpy as np
import torch

from ..model.layer import Layer
from ..model.network import Network
from ..model.synapse import Conv2d
from .backend import Backend, LayerSpikes, RunStats
from .lif import float_lif_step


def layer_weight(net: Network, k: int, layers=None) -> np.ndarray:
    """Layer ``k``'s float64 weight as applied to its input messages (layer 0: through the
    encoder's :meth:`input_weight`)."""
    w = (layers or net.layers)[k].weight.astype(np.float64)
    return net.encoder.input_weight(w) if k == 0 else w


def conv_steps(x: torch.Tensor, w: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    """conv2d over (T, B, C, H, W) -> (T, B, C', H', W')."""
    T, B = x.shape[:2]
    y = torch.nn.functional.conv2d(x.reshape((T * B,) + x.shape[2:]), w, stride=stride,
                                   padding=padding)
    return y.reshape((T, B) + y.shape[1:])


def synaptic_current(layer: Layer, w: np.ndarray, x: torch.Tensor) -> torch.Tensor:
    """``x`` (T, B, *in_shape) float64 -> activation plus bias (T, B, *out_shape) float64."""
    syn = layer.synapse
    wt = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float64))
    if isinstance(syn, Conv2d):
        cur = conv_steps(x, wt, syn.stride, syn.padding)
        if syn.bias is not None:
            cur = cur + torch.from_numpy(syn.bias.astype(np.float64))[None, None, :, None, None]
        return cur
    bias = None if syn.bias is None else torch.from_numpy(syn.bias.astype(np.float64))
    return torch.nn.functional.linear(x.reshape(x.shape[:2] + (-1,)), wt, bias)


def run_float_layer(layer: Layer, w: np.ndarray, x: torch.Tensor) -> torch.Tensor:
    """One float layer over all steps: ``x`` (T, B, *in_shape) -> spikes (T, B, *out_shape)
    uint8. The activations of all ``T`` steps are one torch call; only the membrane loops."""
    cur = synaptic_current(layer, w, x)
    v = torch.zeros_like(cur[0])
    out = torch.empty(cur.shape, dtype=torch.uint8)
    keep = 1.0 - layer.neuron.v_decay
    for t in range(cur.shape[0]):
        out[t] = float_lif_step(v, cur[t], keep, layer.neuron.threshold)
    return out


class FloatBackend(Backend):
    """Float dynamics of the network's float layers, in float64 (dense and conv alike)."""

    name = "float"

    def __init__(self, batch_size: int = 4096):
        self.batch_size = int(batch_size)

    @torch.no_grad()
    def run(self, net: Network, spikes: np.ndarray) -> LayerSpikes:
        t0 = time.perf_counter()
        spikes = self.check_input(net, spikes)
        weights = [layer_weight(net, k) for k in range(len(net.layers))]
        outs: List[List[np.ndarray]] = [[] for _ in net.layers]
        for start in range(0, spikes.shape[1], self.batch_size):
            x = torch.from_numpy(spikes[:, start:start + self.batch_size].astype(np.float64))
            for k, layer in enumerate(net.layers):
                s = run_float_layer(layer, weights[k], x)
                outs[k].append(s.numpy())
                x = s.to(torch.float64)
        self.stats = RunStats(self.name, int(spikes.shape[1]), int(spikes.shape[0]),
                              time.perf_counter() - t0)
        return LayerSpikes([np.concatenate(o, axis=1) for o in outs])
