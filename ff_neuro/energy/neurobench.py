"""NeuroBench's static and workload metrics for a deployed ff-neuro network.

NeuroBench (Yik et al. 2025, Nature Communications) defines hardware-independent metrics of a
network and of its activity on a workload; its Python package (``neurobench``) computes them
from a torch model with hooks. :func:`neurobench_metrics` computes the same quantities from an
ff-neuro :class:`~ff_neuro.model.Network` and the per-neuron counts of one of its inference
runs, on any backend (float, the bit-exact emulator, Lava), so they describe the deployed
network. The definitions, as ``neurobench`` 2.3 implements them:

* **Footprint** (static): bytes of every parameter and buffer of the torch model. ff-neuro
  stores no torch model, so ``footprint_bytes`` counts what the float network stores, 4 bytes
  (float32) per value: every synaptic weight and bias, the recurrent weights, and each layer's
  neuron constants (threshold and membrane decay, and the current decay of current-based
  neurons; one value per layer or one per neuron, as stored). snnTorch's neuron layers
  (``Leaky``, ``RLeaky``, ``Synaptic``) keep two more buffers, ``graded_spikes_factor`` (float32)
  and ``reset_mechanism_val`` (int64), which NeuroBench counts and ff-neuro does not hold: 12
  bytes per layer more on an snnTorch model (their state buffers, ``mem`` and the like, are
  empty before a run and hold the last batch's state after one; NeuroBench counts them too).
  ``fixed_point_bytes`` is the deployed network at Loihi's bit widths: 8-bit weight
  mantissas, 13-bit bias mantissas, 17-bit thresholds and 12-bit decays, summed in bits and
  rounded up to bytes (no packing, index or header overhead; a layer's shared weight exponent
  not counted). ``parameters`` is NeuroBench's parameter count: weights and biases.
* **Connection sparsity** (static): zero weights over all weights of the connection layers
  (``nn.Linear``, ``nn.Conv*``, recurrent layers; biases and neuron constants excluded). Here:
  the deployed weights (the integer ones of a quantized network, where small float weights can
  round to zero), feed-forward and recurrent, and the weights of a membrane readout.
* **Activation sparsity** (workload): zero activations over all activations, over every
  spiking layer, time step and sample: ``1 - spikes / (neurons * T * runs)``.
* **Synaptic operations** (workload), per sample (one inference), summed over the time steps.
  At each step and for each connection layer NeuroBench binarises the layer's input (nonzero
  -> 1) and its weights (nonzero -> 1, bias dropped) and sums the layer's output: the number of
  (nonzero input, nonzero weight) pairs. ``Effective_ACs`` adds this up for the steps whose
  input holds only 0 and +-1 (spikes: an accumulate each), ``Effective_MACs`` for the others
  (graded values: a multiply-accumulate each). ``Dense`` is the same sum with every input and
  every weight set to 1: every synapse at every step, zero inputs included (a conv layer's
  padded positions excluded). A recurrent layer applies its weights at every step to the
  previous step's spikes, so the last step's spikes cause no operation (snnTorch's ``RLeaky``
  with ``reset_mechanism="zero"`` evaluates its recurrent layer twice per step, and NeuroBench
  counts both; ff-neuro counts the operations once, as the deployed network performs them).

The input of the first layer is graded unless the encoder sends binary spikes
(``max_message == 1``), as NeuroBench decides from the values (a graded step whose messages all
happen to be 0 or 1 would count as accumulates there). Counts are taken from the result's
per-neuron counts: an input that is nonzero ``k`` times reaches its nonzero weights ``k``
times, which is NeuroBench's per-step sum regrouped, exactly. A label-sweep inference (one run
per candidate label) counts every run, as an inference does. Work on the host (an analog conv
encoder, a linear readout) is not part of the spiking network and not counted; a membrane
readout (a non-spiking output layer on the chip, a trailing ``nn.Linear`` in snnTorch) is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, List, Optional

import numpy as np

from ..model.network import Network
from ..model.readout import MembraneReadout
from ..model.synapse import Conv2d
from .activity import layer_name

#: Loihi's fixed-point bit widths (Davies et al. 2018; Lava's fixed_pt LIF): weight mantissa,
#: bias mantissa, threshold mantissa, decay.
FIXED_POINT_BITS = {"weight": 8, "bias": 13, "threshold": 17, "decay": 12}
FLOAT_BYTES = 4  # float32, as a torch model stores its parameters


@dataclass
class NeuroBenchLayer:
    """One connection layer's synaptic operations per inference: ``operations`` (effective,
    ``kind`` ``"AC"`` for binary inputs, ``"MAC"`` for graded ones) and ``dense``; and its
    neurons' activity (``neurons`` per step, ``spikes`` per inference; 0 for a non-spiking
    output layer)."""

    name: str
    kind: str
    operations: float
    dense: float
    neurons: int = 0
    spikes: float = 0.0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class NeuroBenchMetrics:
    """NeuroBench's metrics of a deployed network (see the module docstring for each
    definition). Synaptic operations and spikes are per inference (all runs of one sample).

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.energy import neurobench_metrics
        >>> from ff_neuro.model import Layer, SpikeCountReadout
        >>> rng = np.random.default_rng(0)
        >>> w = rng.normal(0, 0.5, (10, 64)) * (rng.random((10, 64)) < 0.5)   # half pruned
        >>> net = ffn.Network([Layer.dense(weight=w, threshold=1.0, v_decay=0.125)],
        ...                   readouts=[SpikeCountReadout(n_classes=10)])
        >>> x = ffn.load_dataset("digits").x_test[:20]
        >>> r = ffn.infer(ffn.get_backend("float"), net, x)
        >>> m = neurobench_metrics(net, r, backend="float")
        >>> m.parameters, m.footprint_bytes                    # 640 weights, 2 neuron constants
        (640, 2568)
        >>> round(m.connection_sparsity, 2), m.dense            # 16 steps x 640 synapses
        (0.5, 10240.0)
        >>> m.effective_macs, m.effective_acs > 0               # rate-coded: spikes in
        (0.0, True)
    """

    footprint_bytes: int
    fixed_point_bytes: Optional[int]
    parameters: int
    connection_sparsity: float
    activation_sparsity: float
    effective_macs: float
    effective_acs: float
    dense: float
    layers: List[NeuroBenchLayer]
    samples: int
    runs_per_inference: int
    time_steps: int
    backend: str = ""
    notes: List[str] = field(default_factory=list)

    @property
    def synaptic_operations(self) -> dict:
        """NeuroBench's ``SynapticOperations`` result, under its keys."""
        return {"Effective_MACs": self.effective_macs, "Effective_ACs": self.effective_acs,
                "Dense": self.dense}

    def to_dict(self) -> dict[str, Any]:
        return {"footprint_bytes": self.footprint_bytes,
                "fixed_point_bytes": self.fixed_point_bytes, "parameters": self.parameters,
                "connection_sparsity": self.connection_sparsity,
                "activation_sparsity": self.activation_sparsity,
                "synaptic_operations": self.synaptic_operations,
                "samples": self.samples, "runs_per_inference": self.runs_per_inference,
                "time_steps": self.time_steps, "backend": self.backend,
                "layers": [layer.to_dict() for layer in self.layers], "notes": list(self.notes)}

    def format_table(self) -> str:
        """The metrics, then one row per connection layer."""
        fixed = "-" if self.fixed_point_bytes is None else f"{self.fixed_point_bytes:,} B"
        lines = [f"NeuroBench metrics ({self.samples} samples on {self.backend or 'a backend'}, "
                 f"{self.runs_per_inference} run(s) of {self.time_steps} steps per inference)",
                 f"footprint (float32)      {self.footprint_bytes:,} B",
                 f"footprint (fixed point)  {fixed}",
                 f"parameters               {self.parameters:,}",
                 f"connection sparsity      {self.connection_sparsity:.4f}",
                 f"activation sparsity      {self.activation_sparsity:.4f}",
                 f"synaptic operations      effective MACs {self.effective_macs:,.1f}, "
                 f"effective ACs {self.effective_acs:,.1f}, dense {self.dense:,.0f} "
                 "per inference", ""]
        head = ["layer", "ops", "effective", "dense", "neurons", "spikes"]
        rows = [[a.name, a.kind, f"{a.operations:,.1f}", f"{a.dense:,.0f}", f"{a.neurons:,}",
                 f"{a.spikes:,.1f}"] for a in self.layers]
        width = [max(len(r[i]) for r in [head] + rows) for i in range(len(head))]
        fmt = " | ".join("{:<%d}" % w if i < 2 else "{:>%d}" % w for i, w in enumerate(width))
        lines += [fmt.format(*head), "-+-".join("-" * w for w in width)]
        lines += [fmt.format(*r) for r in rows]
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format_table()


def _nonzero(a) -> np.ndarray:
    return np.asarray(a) != 0


def _conv_input_weight(syn: Conv2d, mask: np.ndarray) -> np.ndarray:
    """``g[c, h, w]``: nonzero weights an input event at ``(c, h, w)`` meets, over every output
    channel and position (``sum conv2d(x, mask) = sum x * g``, the gradient of the sum)."""
    import torch
    x = torch.zeros((1,) + tuple(syn.in_shape), dtype=torch.float64, requires_grad=True)
    w = torch.from_numpy(mask.astype(np.float64))
    torch.nn.functional.conv2d(x, w, stride=syn.stride, padding=syn.padding,
                               dilation=getattr(syn, "dilation", 1)).sum().backward()
    return x.grad[0].numpy()


def _connection(syn, events: np.ndarray, weight) -> tuple:
    """(effective operations summed over runs, dense operations per step) of synapse ``syn``
    with weights ``weight`` fed ``events`` (R, *in_shape): nonzero input counts per run."""
    mask = _nonzero(weight)
    ev = events.reshape(events.shape[0], -1).astype(np.float64)
    if isinstance(syn, Conv2d):
        g = _conv_input_weight(syn, mask).reshape(-1)
        dense = float(_conv_input_weight(syn, np.ones_like(mask)).sum())
    else:
        g = mask.sum(axis=0, dtype=np.float64)        # nonzero weights per input
        dense = float(mask.size)
    return float((ev @ g).sum()), dense


def _float_values(layer) -> int:
    """Values the float layer stores: weights, biases, recurrent weights, neuron constants."""
    syn, n = layer.synapse, layer.neuron
    v = syn.weight.size + (0 if syn.bias is None else np.size(syn.bias))
    if layer.recurrent is not None:
        v += layer.recurrent.weight.size + (0 if layer.recurrent.bias is None
                                            else np.size(layer.recurrent.bias))
    v += np.size(n.threshold) + np.size(n.v_decay)
    if n.current_memory:
        v += np.size(n.i_decay)
    return int(v)


def _fixed_bits(layer) -> int:
    """Bits of the quantized layer at Loihi's widths."""
    b = FIXED_POINT_BITS
    syn, n = layer.synapse, layer.neuron
    bits = syn.weight.size * b["weight"] + (0 if syn.bias is None else
                                            np.size(syn.bias) * b["bias"])
    if layer.recurrent is not None:
        bits += layer.recurrent.weight.size * b["weight"]
        if layer.recurrent.bias is not None:
            bits += np.size(layer.recurrent.bias) * b["bias"]
    bits += np.size(n.vth) * b["threshold"] + np.size(n.v_decay) * b["decay"]
    if n.current_memory:
        bits += np.size(n.i_decay) * b["decay"]
    return int(bits)


def _weights(layer) -> list:
    return [layer.synapse.weight] + ([layer.recurrent.weight] if layer.recurrent is not None
                                     else [])


def neurobench_metrics(net: Network, result, *, backend: str = "") -> NeuroBenchMetrics:
    """NeuroBench's footprint, connection sparsity, activation sparsity and synaptic operations
    (dense, effective MACs, effective ACs) of ``net`` from an inference ``result`` with
    per-neuron counts (``keep_counts=True`` for a label sweep; a one-pass inference always
    keeps them). The weights are the deployed ones (:meth:`Network.deployed_layers`); the
    result should come from a run of the same layers. See the module docstring for the
    definitions.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.energy import neurobench_metrics
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> x = ffn.load_dataset("digits").x_test[:20]
        >>> r = ffn.infer(ffn.get_backend("emulator"), qnet, x, keep_counts=True)
        >>> m = neurobench_metrics(qnet, r, backend="emulator")
        >>> m.runs_per_inference, m.dense                 # 10 labels x 8 steps x 1,184 synapses
        (10, 94720.0)
        >>> m.footprint_bytes, m.fixed_point_bytes        # float32 vs Loihi's bit widths
        (4744, 1188)
    """
    if result.counts is None or result.input_counts is None:
        raise ValueError("NeuroBench metrics are computed from per-neuron counts: run the "
                         "inference with keep_counts=True")
    layers = net.deployed_layers()
    T = net.time_steps
    N, C = result.samples, result.runs_per_sample
    runs = N * C
    if len(result.counts) != len(layers) or result.input_counts.shape[0] != runs:
        raise ValueError("the result does not come from a run of this network")
    notes = []
    recs: List[NeuroBenchLayer] = []
    raw = {"MAC": 0.0, "AC": 0.0}      # operations over all runs: integers, summed exactly
    binary_in = getattr(net.encoder, "max_message", 1) == 1
    for k, layer in enumerate(layers):
        ev = result.input_counts if k == 0 else result.counts[k - 1]
        ops, dense = _connection(layer.synapse, ev, layer.synapse.weight)
        spikes = float(result.counts[k].sum(dtype=np.int64))
        kind = "AC" if k > 0 or binary_in else "MAC"
        raw[kind] += ops
        recs.append(NeuroBenchLayer(
            name=layer_name(layer, k), kind=kind,
            operations=ops / N, dense=dense * T * C, neurons=int(layer.n_out),
            spikes=spikes / N))
        if layer.recurrent is not None:
            if result.spikes is not None:    # the last step's spikes reach no later step
                own = result.spikes[k][:-1].sum(axis=0, dtype=np.int64)
            else:
                own = result.counts[k]
                notes.append(f"{recs[-1].name}: recurrent operations counted from spike "
                             "counts, the last step's spikes included (at most one step's "
                             "spikes more than NeuroBench; keep_spikes=True makes it exact)")
            ops, dense = _connection(layer.recurrent, own, layer.recurrent.weight)
            raw["AC"] += ops
            recs.append(NeuroBenchLayer(name=recs[-1].name + " (recurrent)", kind="AC",
                                        operations=ops / N, dense=dense * T * C))
    readout = net.get_readout(result.readout)
    float_values = sum(_float_values(layer) for layer in net.layers)
    fixed_bits = (sum(_fixed_bits(layer) for layer in net.quantized)
                  if net.quantized is not None else None)
    n_params = sum(layer.synapse.parameters(bias=True) for layer in net.layers) + sum(
        layer.recurrent.parameters(bias=True) for layer in net.layers
        if layer.recurrent is not None)
    weights = [w for layer in layers for w in _weights(layer)]
    if isinstance(readout, MembraneReadout):
        deployed_q = net.quantized is not None and readout.weight_q is not None
        w = readout.weight_q if deployed_q else readout.weight
        ev = result.counts[-1]
        mask = _nonzero(w)
        ops = float((ev.reshape(ev.shape[0], -1).astype(np.float64)
                     @ mask.sum(axis=0, dtype=np.float64)).sum())
        raw["AC"] += ops
        recs.append(NeuroBenchLayer(name=f"out{len(layers) + 1} (membrane)", kind="AC",
                                    operations=ops / N, dense=float(mask.size) * T * C))
        weights.append(w)
        nb = 0 if readout.bias is None else np.size(readout.bias)
        n_params += int(readout.weight.size + nb)
        float_values += int(readout.weight.size + nb + (readout.beta != 1.0))
        if fixed_bits is not None and readout.weight_q is not None:
            b = FIXED_POINT_BITS
            fixed_bits += int(readout.weight_q.size * b["weight"] + nb * b["bias"]
                              + b["decay"])
    elif readout.kind == "linear":
        notes.append("the linear readout runs on the host: not counted")
    if hasattr(net.encoder, "macs"):
        notes.append("the analog conv encoder runs on the host: not counted")
    zeros = sum(int(np.count_nonzero(np.asarray(w) == 0)) for w in weights)
    total = sum(int(np.size(w)) for w in weights)
    spikes = sum(float(c.sum(dtype=np.int64)) for c in result.counts)
    slots = float(sum(layer.n_out for layer in layers)) * T * runs
    return NeuroBenchMetrics(
        footprint_bytes=float_values * FLOAT_BYTES,
        fixed_point_bytes=None if fixed_bits is None else math.ceil(fixed_bits / 8),
        parameters=int(n_params),
        connection_sparsity=zeros / total if total else 0.0,
        activation_sparsity=1.0 - spikes / slots if slots else 0.0,
        effective_macs=raw["MAC"] / N, effective_acs=raw["AC"] / N,
        dense=float(sum(a.dense for a in recs)), layers=recs, samples=N, runs_per_inference=C,
        time_steps=T, backend=backend, notes=notes)


__all__ = ["FIXED_POINT_BITS", "NeuroBenchLayer", "NeuroBenchMetrics", "neurobench_metrics"]
