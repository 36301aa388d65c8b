"""Float backend: the trained network in snnTorch (the reference the others are compared to)."""
from __future__ import annotations

from typing import List

import numpy as np
import snntorch as snn
import torch
from snntorch import surrogate

from ..model.primitives import FFNetwork, SpikingDense
from .backend import Backend, LayerSpikes


def make_leaky(layer_threshold: float, beta: float, slope: float = 10.0) -> snn.Leaky:
    """snnTorch ``Leaky`` configured to equal Lava's LIF with du = 1 (see SpikingDense)."""
    return snn.Leaky(beta=beta, threshold=layer_threshold, reset_mechanism="zero",
                     reset_delay=False, spike_grad=surrogate.fast_sigmoid(slope=slope))


def run_layer(weight: torch.Tensor, bias, leaky: snn.Leaky, x: torch.Tensor) -> torch.Tensor:
    """Run one spiking layer over all steps: ``x`` (T, B, n_in) -> spikes (T, B, n_out).

    The synaptic currents of all ``T`` steps are one matmul; only the membrane recurrence loops.
    """
    cur = torch.nn.functional.linear(x.to(weight.dtype), weight, bias)
    mem = torch.zeros_like(cur[0])
    out = []
    for t in range(cur.shape[0]):
        spk, mem = leaky(cur[t], mem)
        out.append(spk)
    return torch.stack(out)


def input_weight(net: FFNetwork, k: int) -> np.ndarray:
    """Layer ``k``'s weight (float64) as applied to its input messages: graded input values
    ``g`` stand for ``g / levels``, so layer 0 of a graded-input network uses ``W / levels``
    (the same expression Lava's floating_pt Dense evaluates)."""
    w = net.layers[k].weight.astype(np.float64)
    if k == 0 and net.encoding.kind == "graded":
        w = w / net.encoding.levels
    return w


class TorchBackend(Backend):
    """Float dynamics of :class:`SpikingDense` layers, computed with snnTorch ``Leaky``.

    Evaluation runs in float64 (training uses float32) so that it agrees spike for spike with
    Lava's ``floating_pt`` models, which compute in float64.
    """

    name = "torch"

    def __init__(self, batch_size: int = 4096):
        self.batch_size = batch_size

    @torch.no_grad()
    def run(self, net: FFNetwork, spikes: np.ndarray) -> LayerSpikes:
        spikes = self.check_input(net, spikes)
        layers: List[SpikingDense] = net.layers
        params = [(torch.from_numpy(input_weight(net, k)),
                   None if l.bias is None else torch.from_numpy(l.bias.astype(np.float64)),
                   make_leaky(l.threshold, l.beta)) for k, l in enumerate(layers)]
        outs: List[List[np.ndarray]] = [[] for _ in layers]
        for start in range(0, spikes.shape[1], self.batch_size):
            x = torch.from_numpy(spikes[:, start:start + self.batch_size].astype(np.float64))
            for k, (w, b, leaky) in enumerate(params):
                x = run_layer(w, b, leaky, x)
                outs[k].append(x.to(torch.uint8).numpy())
        return LayerSpikes([np.concatenate(o, axis=1) for o in outs])
