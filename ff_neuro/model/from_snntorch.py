"""Bring your own snnTorch network: an ``nn.Sequential`` of snnTorch and torch layers as an
ff-neuro :class:`~ff_neuro.model.Network`, ready to quantize, export, run on every backend,
compare and price like a network trained here.

What maps, and how (each exactly: the float backend reproduces the module's spikes)::

    nn.Linear(n_in, n_out[, bias])        -> Dense synapse (weight, bias)
    nn.Conv2d(c_in, c_out, k, stride, padding[, bias])
                                          -> Conv2d synapse (square stride and padding,
                                             dilation 1, one group, zero padding)
    nn.Flatten                            -> implicit: a dense layer reads a conv output
                                             flattened in (C, H, W) order
    nn.AvgPool2d before a Linear          -> folded into that layer's weights (pooling and the
                                             weights are both linear maps of the spikes)
    nn.Identity, nn.Dropout               -> nothing (Dropout is the identity at inference)
    snn.Leaky(beta, threshold, reset_mechanism="zero")
                                          -> LIF(threshold, v_decay = 1 - beta)

A synapse followed by a ``Leaky`` is one layer. snnTorch's ``reset_delay`` (default True) only
delays *when* a spiking neuron's membrane is cleared, not its spikes: with reset to zero both
settings fire at the same steps, so both map. The end of the module decides the readout:

* a spiking ``Leaky`` with one neuron per class: :class:`SpikeCountReadout` (the class whose
  neuron spikes most; ``snntorch.functional.ce_rate_loss`` / ``mse_count_loss`` training);
* a trailing ``nn.Linear`` without a neuron: :class:`MembraneReadout` with ``beta = 1`` (its
  output currents summed over time);
* ``snn.Leaky(reset_mechanism="none")`` at the end: :class:`MembraneReadout` with its ``beta``
  (the final membrane; ``ce_max_membrane_loss``-style training reads the membrane too).

Everything else is refused with a :class:`ConversionError` naming the module and what would
make it deployable: reset by subtraction (Loihi's LIF resets to zero), per-neuron ``beta`` or
thresholds, graded spikes, lateral inhibition, state quantization, synaptic-current,
recurrent or alpha neurons, max pooling, pooling before a conv layer, two synapses in a row,
and modules that are not an ``nn.Sequential`` (their forward order cannot be read from the
module; give the layers as ``nn.Sequential(...)`` with ``init_hidden=True`` neurons, or export
the module to NIR with ``snntorch.export_to_nir`` and use :func:`ff_neuro.export.from_nir`).
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from .encoder import InputEncoding
from .layer import Layer
from .network import Network
from .neuron import LIF
from .readout import MembraneReadout, SpikeCountReadout
from .synapse import Conv2d, Dense

#: time steps of the input encoding when none is given (snnTorch's tutorials use 25)
DEFAULT_TIME_STEPS = 25


class ConversionError(ValueError):
    """A module, or a setting of one, that ff-neuro cannot map exactly onto Loihi's LIF.

    Example::

        >>> import torch, snntorch as snn
        >>> import ff_neuro as ffn
        >>> module = torch.nn.Sequential(torch.nn.Linear(4, 2),
        ...                              snn.Leaky(beta=0.9, init_hidden=True))
        >>> ffn.from_snntorch(module, input_shape=(4,))     # snnTorch resets by subtraction
        Traceback (most recent call last):
        ...
        ff_neuro.model.from_snntorch.ConversionError: module [1] (Leaky):
        snn.Leaky(reset_mechanism='subtract') cannot be deployed exactly: Loihi's and Lava's LIF
        reset the membrane to zero; retrain with reset_mechanism='zero'
    """


def _leaves(module, path: str = "") -> list:
    import torch
    out = []
    for name, child in module.named_children():
        p = f"{path}.{name}" if path else name
        if isinstance(child, torch.nn.Sequential):
            out += _leaves(child, p)
        else:
            out.append((p, child))
    return out


def _uniform(value, what: str, where: str) -> float:
    import torch
    a = value.detach().cpu().double().numpy() if isinstance(value, torch.Tensor) \
        else np.asarray(value, dtype=np.float64)
    if a.size == 0:
        raise ConversionError(f"{where}: {what} is empty")
    if not np.all(a == a.flat[0]):
        raise ConversionError(
            f"{where}: per-neuron {what} values ({a.size} different ones) cannot be deployed: "
            f"ff-neuro's layers share one {what}; train with a single {what}")
    return float(a.flat[0])


def _neuron(mod, where: str) -> tuple:
    """``(LIF or None, beta, reset)`` of an ``snn.Leaky``; refusals for what does not map."""
    reset = getattr(mod, "reset_mechanism", "subtract")
    if reset == "subtract":
        raise ConversionError(
            f"{where}: snn.Leaky(reset_mechanism='subtract') cannot be deployed exactly: "
            "Loihi's and Lava's LIF reset the membrane to zero; retrain with "
            "reset_mechanism='zero'")
    if getattr(mod, "inhibition", False):
        raise ConversionError(f"{where}: snn.Leaky(inhibition=True) (winner-take-all across a "
                              "layer) has no equivalent in Loihi's LIF; retrain without it")
    if getattr(mod, "state_quant", False):
        raise ConversionError(f"{where}: snn.Leaky(state_quant=...) is not supported; ff-neuro "
                              "quantizes to Loihi fixed point itself (ff_neuro.quantize)")
    g = _uniform(mod.graded_spikes_factor, "graded_spikes_factor", where)
    if g != 1.0:
        raise ConversionError(f"{where}: graded_spikes_factor = {g:g}: Loihi's LIF emits "
                              "binary spikes; retrain with graded_spikes_factor=1")
    beta = min(max(_uniform(mod.beta, "beta", where), 0.0), 1.0)   # snnTorch clamps beta
    thr = _uniform(mod.threshold, "threshold", where)
    if reset == "none":
        return None, beta, reset
    if not thr > 0:
        raise ConversionError(f"{where}: threshold {thr:g} must be > 0")
    return LIF(threshold=thr, v_decay=1.0 - beta), beta, reset


def _pair(v, what: str, where: str) -> int:
    a = (v, v) if isinstance(v, int) else tuple(v)
    if len(a) != 2 or a[0] != a[1] or not isinstance(a[0], int):
        raise ConversionError(f"{where}: {what} {v!r} must be one integer for both axes")
    return int(a[0])


def _synapse(mod, where: str, shape: tuple, pre: list):
    """A Dense or Conv2d for ``mod`` reading ``shape``; ``pre`` (Flatten / AvgPool2d modules
    between the previous layer and this one) folded in."""
    import torch
    pools = [m for m in pre if isinstance(m, torch.nn.AvgPool2d)]
    if isinstance(mod, torch.nn.Conv2d):
        if pools:
            raise ConversionError(f"{where}: average pooling before a conv layer is not "
                                  "supported; use a strided convolution instead")
        if len(shape) != 3:
            raise ConversionError(f"{where}: Conv2d needs a (C, H, W) input, gets {shape}")
        if mod.groups != 1 or _pair(mod.dilation, "dilation", where) != 1:
            raise ConversionError(f"{where}: Conv2d with groups or dilation other than 1 is "
                                  "not supported")
        if isinstance(mod.padding, str) or mod.padding_mode != "zeros":
            raise ConversionError(f"{where}: Conv2d padding must be given in pixels with "
                                  f"padding_mode='zeros' (got {mod.padding!r}, "
                                  f"{mod.padding_mode!r})")
        w = mod.weight.detach().cpu().numpy().astype(np.float32)
        b = None if mod.bias is None else mod.bias.detach().cpu().numpy().astype(np.float32)
        return Conv2d(weight=w, bias=b, in_shape=tuple(shape),
                      stride=_pair(mod.stride, "stride", where),
                      padding=_pair(mod.padding, "padding", where))
    w = mod.weight.detach().cpu().double()
    b = None if mod.bias is None else mod.bias.detach().cpu().numpy().astype(np.float32)
    if pools:
        # the linear map spikes -> (pooling, flatten) -> weights, column by column
        n = int(np.prod(shape))
        with torch.no_grad():
            x = torch.eye(n, dtype=torch.float64).reshape((n,) + tuple(shape))
            for m in pre:
                x = m(x) if isinstance(m, torch.nn.AvgPool2d) else x
            x = x.reshape(n, -1)
            if x.shape[1] != w.shape[1]:
                raise ConversionError(f"{where}: takes {w.shape[1]} inputs, the pooled input "
                                      f"has {x.shape[1]}")
            w = (x @ w.T).T
    elif int(np.prod(shape)) != w.shape[1]:
        raise ConversionError(f"{where}: Linear takes {w.shape[1]} inputs, gets "
                              f"{int(np.prod(shape))} {tuple(shape)}")
    return Dense(weight=w.numpy().astype(np.float32), bias=b, in_shape=tuple(shape))


def from_snntorch(module, input_shape: Sequence[int], *, time_steps: int = DEFAULT_TIME_STEPS,
                  encoding: str = "rate", gain: float = 1.0, levels: int = 1, seed: int = 0,
                  dataset=None, name: Optional[str] = None) -> Network:
    """An snnTorch ``nn.Sequential`` as an ff-neuro :class:`Network` (see the module docstring
    for what maps).

    ``input_shape``: one sample's input, ``(n_in,)`` or ``(C, H, W)``. The encoder turns data in
    [0, 1] into the network's input: ``encoding="rate"`` (Bernoulli spikes, as
    ``snntorch.spikegen.rate``) or ``"graded"`` (the value at every step in ``levels`` steps),
    for ``time_steps`` steps. The readout follows from the module's last layers. ``dataset``
    (a :class:`ff_neuro.data.Dataset`, optional) is recorded in the model, so that the
    command-line tools evaluate the saved model on it by default.

    Example::

        >>> import torch, snntorch as snn
        >>> import ff_neuro as ffn
        >>> module = torch.nn.Sequential(
        ...     torch.nn.Linear(64, 32), snn.Leaky(beta=0.9, reset_mechanism="zero",
        ...                                        init_hidden=True),
        ...     torch.nn.Linear(32, 10), snn.Leaky(beta=0.9, reset_mechanism="zero",
        ...                                        init_hidden=True))
        >>> net = ffn.from_snntorch(module, input_shape=(64,), time_steps=25)
        >>> net.readout.kind, [layer.n_out for layer in net.layers]
        ('spike-count', [32, 10])
        >>> qnet, _ = ffn.quantize(net)                     # then as any ff-neuro network

    A trailing ``nn.Linear`` without a neuron becomes a membrane readout::

        >>> module = torch.nn.Sequential(
        ...     torch.nn.Linear(64, 32), snn.Leaky(beta=0.9, reset_mechanism="zero",
        ...                                        init_hidden=True),
        ...     torch.nn.Linear(32, 10))
        >>> net = ffn.from_snntorch(module, input_shape=(64,))
        >>> net.readout.kind, net.readout.beta, net.sizes
        ('membrane', 1.0, [64, 32])
    """
    import torch
    import snntorch as snn
    if not isinstance(module, torch.nn.Sequential):
        raise ConversionError(
            f"from_snntorch reads an nn.Sequential (snnTorch's init_hidden=True style), got "
            f"{type(module).__name__}: its forward order cannot be read from the module. Give "
            "the layers as nn.Sequential(...), or export it with snntorch.export_to_nir and "
            "load the graph with ff_neuro.from_nir")
    shape = tuple(int(s) for s in input_shape)
    if not shape or any(s < 1 for s in shape) or len(shape) not in (1, 3):
        raise ConversionError(f"input_shape must be (n_in,) or (C, H, W), got {input_shape!r}")
    leaves = _leaves(module)
    if not leaves:
        raise ConversionError("the module has no layers")
    layers: List[Layer] = []
    pre: list = []
    pending = None              # (synapse, where) waiting for its neuron
    readout = None
    for i, (where, mod) in enumerate(leaves):
        last = i == len(leaves) - 1
        where = f"module [{where}] ({type(mod).__name__})"
        if isinstance(mod, (torch.nn.Identity, torch.nn.Dropout)):
            continue
        if isinstance(mod, torch.nn.Flatten):
            pre.append(mod)
            continue
        if isinstance(mod, torch.nn.AvgPool2d):
            if pending is not None:
                raise ConversionError(f"{where}: pooling between a synapse and its neuron is "
                                      "not supported")
            if mod.padding != 0 or mod.ceil_mode:
                raise ConversionError(f"{where}: AvgPool2d with padding or ceil_mode is not "
                                      "supported")
            pre.append(mod)
            continue
        if isinstance(mod, (torch.nn.MaxPool2d, torch.nn.AdaptiveMaxPool2d)):
            raise ConversionError(f"{where}: max pooling over spikes has no synapse equivalent "
                                  "on Loihi; use AvgPool2d before a Linear layer, or a strided "
                                  "convolution")
        if isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d)):
            if pending is not None:
                raise ConversionError(
                    f"{where}: two synapses in a row ({pending[1]} has no neuron); every "
                    "Linear or Conv2d but the last needs an snn.Leaky after it")
            if isinstance(mod, torch.nn.Linear) and len(shape) == 3 and \
                    not any(isinstance(m, torch.nn.Flatten) for m in pre):
                raise ConversionError(f"{where}: a Linear layer after a (C, H, W) output needs "
                                      "an nn.Flatten before it")
            # a dense layer reads a (C, H, W) input flattened, as nn.Flatten does
            pending = (_synapse(mod, where, shape, pre), where)
            pre = []
            continue
        if isinstance(mod, snn.Leaky) and type(mod) is snn.Leaky:
            if pending is None:
                raise ConversionError(f"{where}: an snn.Leaky needs a Linear or Conv2d before "
                                      "it (its input current)")
            if pre:
                raise ConversionError(f"{where}: Flatten or pooling between a synapse and its "
                                      "neuron is not supported")
            neuron, beta, reset = _neuron(mod, where)
            syn = pending[0]
            pending = None
            if neuron is None:          # reset_mechanism="none": a non-spiking integrator
                if not last or isinstance(syn, Conv2d):
                    raise ConversionError(
                        f"{where}: snn.Leaky(reset_mechanism='none') never spikes, so it can "
                        "only be the output layer after a Linear, read by its membrane")
                readout = MembraneReadout(weight=syn.weight, bias=syn.bias, beta=beta)
                continue
            layers.append(Layer(syn, neuron))
            shape = tuple(layers[-1].out_shape)
            continue
        if isinstance(mod, snn.SpikingNeuron) or type(mod).__module__.startswith("snntorch"):
            raise ConversionError(
                f"{where}: {type(mod).__name__} is not supported: Loihi's LIF as ff-neuro "
                "deploys it has no synaptic-current, recurrent or alpha dynamics; use "
                "snn.Leaky(reset_mechanism='zero')")
        raise ConversionError(f"{where}: {type(mod).__name__} has no exact Loihi mapping "
                              "(supported: Linear, Conv2d, Flatten, AvgPool2d before a Linear, "
                              "Identity, Dropout, snn.Leaky)")
    if pending is not None:
        syn, where = pending
        if not isinstance(syn, Dense):
            raise ConversionError(f"{where}: a conv layer cannot be the output without a "
                                  "neuron; end with a Linear layer")
        readout = MembraneReadout(weight=syn.weight, bias=syn.bias, beta=1.0)
    elif pre:
        raise ConversionError("the module ends with Flatten or pooling: end with a layer")
    if not layers:
        raise ConversionError("the module has no spiking layer (a Linear or Conv2d followed "
                              "by snn.Leaky)")
    if readout is None:
        readout = SpikeCountReadout(n_classes=layers[-1].n_out)
    if isinstance(readout, MembraneReadout) and readout.n_in != layers[-1].n_out:
        raise ConversionError(f"the output layer takes {readout.n_in} inputs, the last "
                              f"spiking layer has {layers[-1].n_out} neurons")
    enc = InputEncoding(kind=encoding, time_steps=time_steps, gain=gain, seed=seed,
                        levels=levels)
    net = Network(layers=layers, encoder=enc, readouts=[readout], n_classes=readout.n_classes,
                  dataset={} if dataset is None else dataset.describe(),
                  training={"imported_from": "snntorch", "source": name or
                            type(module).__name__})
    if dataset is not None:
        net.check_dataset(dataset)
    return net
