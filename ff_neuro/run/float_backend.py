"""Float backend: the trained network in float64 (the reference the others are compared to).

Every layer, dense or conv, computes its synaptic activation with torch (``linear`` or
``conv2d``) for all time steps at once, then the float LIF of
:mod:`ff_neuro.model.neuron` step by step (:func:`ff_neuro.run.lif.float_lif_step`, with the
recurrent synapse where the layer has one): the dynamics of snnTorch's ``Leaky``, ``Synaptic``,
``RLeaky`` and ``RSynaptic``, in the order they compute (so float64 runs agree spike for spike),
and of Lava's ``floating_pt`` LIF and ff-neuro's own Lava neuron. Layer 0
applies its weights to the encoder's integer messages as the encoder says
(:meth:`~ff_neuro.model.InputEncoding.input_weight`: graded ``g`` stands for ``g / levels``).
"""
from __future__ import annotations

import time
from typing import List, Optional

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


def conv_steps(x: torch.Tensor, w: torch.Tensor, stride, padding, dilation=1) -> torch.Tensor:
    """conv2d over (T, B, C, H, W) -> (T, B, C', H', W') (``stride``, ``padding``,
    ``dilation``: integers or ``(y, x)`` pairs)."""
    T, B = x.shape[:2]
    y = torch.nn.functional.conv2d(x.reshape((T * B,) + x.shape[2:]), w, stride=stride,
                                   padding=padding, dilation=dilation)
    return y.reshape((T, B) + y.shape[1:])


def synaptic_current(layer: Layer, w: np.ndarray, x: torch.Tensor,
                     bias: bool = True) -> torch.Tensor:
    """``x`` (T, B, *in_shape) float64 -> activation plus bias (T, B, *out_shape) float64
    (``bias=False``: without it)."""
    syn = layer.synapse
    wt = torch.from_numpy(np.ascontiguousarray(w, dtype=np.float64))
    b = syn.bias if bias else None
    if isinstance(syn, Conv2d):
        cur = conv_steps(x, wt, syn.stride, syn.padding, syn.dilation)
        if b is not None:
            cur = cur + torch.from_numpy(b.astype(np.float64))[None, None, :, None, None]
        return cur
    bias_t = None if b is None else torch.from_numpy(b.astype(np.float64))
    return torch.nn.functional.linear(x.reshape(x.shape[:2] + (-1,)), wt, bias_t)


def _tensor(value, shape) -> "torch.Tensor | float":
    """A neuron parameter as a float or a float64 tensor broadcast to ``shape``."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(np.broadcast_to(value, shape), dtype=np.float64))
    return float(value)


def run_float_layer(layer: Layer, w: np.ndarray, x: torch.Tensor,
                    peaks: Optional[list] = None) -> torch.Tensor:
    """One float layer over all steps: ``x`` (T, B, *in_shape) -> spikes (T, B, *out_shape)
    uint8. The feed-forward activations of all ``T`` steps are one torch call; the neuron (and
    the recurrent synapse, which needs the previous step's spikes) loops over time, in the
    order :func:`~ff_neuro.run.lif.float_lif_step` gives. ``peaks``: a list that gets the
    largest ``|i|`` the neuron's current reaches (0 for a neuron without current memory)."""
    n = layer.neuron
    shape = layer.out_shape
    bias_v = None
    if n.current_memory and n.bias_in == "membrane" and layer.bias is not None:
        bias_v = _tensor(layer.neuron_bias().astype(np.float64), shape)
    cur = synaptic_current(layer, w, x, bias=bias_v is None)
    v = torch.zeros_like(cur[0])
    out = torch.empty(cur.shape, dtype=torch.uint8)
    keep, thr = _tensor(n.beta, shape), _tensor(n.threshold, shape)
    if layer.plain and not n.current_memory:
        for t in range(cur.shape[0]):
            out[t] = float_lif_step(v, cur[t], keep, thr)
        if peaks is not None:
            peaks.append(0.0)
        return out
    i = torch.zeros_like(v) if n.current_memory else None
    i_keep = _tensor(n.alpha, shape) if n.current_memory else None
    rec = layer.recurrent
    if rec is not None:
        w_rec = torch.from_numpy(rec.weight.astype(np.float64))
        b_rec = None if rec.bias is None else torch.from_numpy(rec.bias.astype(np.float64))
    s = torch.zeros_like(v)
    peak = 0.0
    for t in range(cur.shape[0]):
        r = None if rec is None else torch.nn.functional.linear(s, w_rec, b_rec)
        spk = float_lif_step(v, cur[t], keep, thr, rec=r, i=i, i_keep=i_keep, bias_v=bias_v,
                             reset=n.reset, reset_delay=n.reset_delay)
        out[t] = spk
        s = spk.to(torch.float64)
        if peaks is not None and i is not None and i.numel():
            peak = max(peak, float(i.abs().max()))
    if peaks is not None:
        peaks.append(peak)
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

    @torch.no_grad()
    def current_peaks(self, net: Network, spikes: np.ndarray) -> List[float]:
        """The largest ``|i|`` each layer's current reaches on inputs ``spikes`` (float units;
        0 for layers without current memory): what the quantizer sizes Loihi's 24-bit current
        by."""
        spikes = self.check_input(net, spikes)
        weights = [layer_weight(net, k) for k in range(len(net.layers))]
        peaks = [0.0] * len(net.layers)
        for start in range(0, spikes.shape[1], self.batch_size):
            x = torch.from_numpy(spikes[:, start:start + self.batch_size].astype(np.float64))
            for k, layer in enumerate(net.layers):
                got: list = []
                x = run_float_layer(layer, weights[k], x, got).to(torch.float64)
                peaks[k] = max(peaks[k], got[0])
        return peaks
