"""Bring your own snnTorch network: an ``nn.Sequential`` of snnTorch and torch layers as an
ff-neuro :class:`~ff_neuro.model.Network`, ready to quantize, export, run on every backend,
compare and price like a network trained here.

What maps, and how (each exactly: the float backend reproduces the module's spikes in float64;
:data:`SNNTORCH_SUPPORT` is this table as data)::

    nn.Linear(n_in, n_out[, bias])        -> Dense synapse (weight, bias)
    nn.Conv2d(c_in, c_out, k, stride, padding[, bias])
                                          -> Conv2d synapse (square stride and padding,
                                             dilation 1, one group, zero padding)
    nn.Flatten                            -> implicit: a dense layer reads a conv output
                                             flattened in (C, H, W) order
    nn.AvgPool2d, nn.LPPool2d(1) (sum)    -> folded into the next synapse (before a Linear or a
                                             Conv2d) or into the convolution before it (between
                                             a Conv2d and its neuron); non-overlapping windows
    nn.Identity, nn.Dropout               -> nothing (Dropout is the identity at inference)
    snn.Leaky(beta, threshold, reset_mechanism)
                                          -> LIF(threshold, v_decay = 1 - beta)
    snn.Synaptic(alpha, beta, ...)        -> LIF(..., i_decay = 1 - alpha): current-based
    snn.RLeaky / snn.RSynaptic(all_to_all=True, linear_features=n) or (all_to_all=False, V)
                                          -> the same neuron and a recurrent Dense synapse
                                             (``nn.Linear(n, n)`` with its bias, or diag(V))

Every reset of snnTorch 1.0 maps, to the neuron that computes what the module computes
(:class:`~ff_neuro.model.neuron.LIF` writes the equations): ``"subtract"`` with either
``reset_delay``; ``"zero"`` (``Leaky`` resets to zero identically with either delay;
``Synaptic``, ``RLeaky`` and ``RSynaptic`` with ``reset_delay=True`` hold the membrane at 0 for
the step after a spike). ``RSynaptic(reset_delay=False)`` resets with a delay in snnTorch 1.0
(its immediate reset writes local variables only), so it maps as ``reset_delay=True``.
``beta``, ``alpha`` and ``threshold`` may be per-neuron tensors. A synapse followed by a
neuron is one layer. The end of the module decides the readout:

* a spiking neuron layer with one neuron per class: :class:`SpikeCountReadout` (the class whose
  neuron spikes most; ``snntorch.functional.ce_rate_loss`` / ``mse_count_loss`` training);
* a trailing ``nn.Linear`` without a neuron: :class:`MembraneReadout` with ``beta = 1`` (its
  output currents summed over time);
* ``snn.Leaky(reset_mechanism="none")`` at the end: :class:`MembraneReadout` with its ``beta``
  (the final membrane; ``ce_max_membrane_loss``-style training reads the membrane too).

Everything else is refused with a :class:`ConversionError` naming the module and what would
make it deployable: graded spikes, lateral inhibition, state quantization, alpha and other
neurons, max pooling (no synapse computes a maximum), convolutional recurrence, two synapses
in a row, and modules that are not an ``nn.Sequential`` (their forward order cannot be read
from the module; give the layers as ``nn.Sequential(...)`` with ``init_hidden=True`` neurons,
or export the module to NIR with ``snntorch.export_to_nir`` and use
:func:`ff_neuro.export.from_nir`).
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np

from .encoder import InputEncoding
from .layer import Layer
from .network import Network
from .neuron import LIF
from .readout import MembraneReadout, SpikeCountReadout
from .synapse import Conv2d, Dense, fold_pool_after_conv, fold_pool_before_conv

#: time steps of the input encoding when none is given (snnTorch's tutorials use 25)
DEFAULT_TIME_STEPS = 25

#: What maps from snnTorch, as data (the docs' support table is generated from it):
#: ``(module, status, how)`` with status ``exact``, ``exact with an option`` or ``refused``.
SNNTORCH_SUPPORT = [
    ("nn.Linear", "exact", "Dense synapse (weight, bias)"),
    ("nn.Conv2d", "exact", "Conv2d synapse: square stride and padding, zero padding; "
     "dilation and groups other than 1 are refused"),
    ("nn.Flatten", "exact", "implicit: a dense layer reads a conv output in (C, H, W) order"),
    ("nn.AvgPool2d, nn.LPPool2d(norm_type=1)", "exact",
     "folded into the next Linear or Conv2d, or into the Conv2d before it; non-overlapping "
     "windows, the input a multiple of the window before a Conv2d"),
    ("nn.MaxPool2d", "refused", "no synapse computes a maximum: use AvgPool2d or a strided "
     "convolution"),
    ("nn.Identity, nn.Dropout", "exact", "nothing (the identity at inference)"),
    ("snn.Leaky", "exact", "LIF: reset zero, subtract (either reset_delay) or none (a "
     "membrane readout at the end); per-neuron beta and threshold"),
    ("snn.Synaptic", "exact", "current-based LIF (i_decay = 1 - alpha), every reset"),
    ("snn.RLeaky, snn.RSynaptic (linear_features, or all_to_all=False)", "exact",
     "the neuron plus a recurrent Dense synapse of the previous step's spikes"),
    ("snn.RLeaky, snn.RSynaptic (conv2d_channels)", "refused",
     "convolutional recurrence: Loihi would need the expanded n x n matrix; use a dense "
     "recurrent layer"),
    ("graded_spikes_factor != 1", "refused", "Loihi's LIF emits binary spikes"),
    ("inhibition=True", "refused", "winner-take-all across a layer has no Loihi equivalent"),
    ("state_quant", "refused", "ff-neuro quantizes to Loihi fixed point itself"),
    ("snn.Alpha, snn.Lapicque, snn.SLSTM, snn.SConv2dLSTM, ...", "refused",
     "no exact Loihi neuron; export to NIR if another tool reads them"),
]


class ConversionError(ValueError):
    """A module, or a setting of one, that ff-neuro cannot map exactly onto Loihi's LIF.

    Example::

        >>> import torch, snntorch as snn
        >>> import ff_neuro as ffn
        >>> module = torch.nn.Sequential(torch.nn.Linear(4, 2),
        ...                              snn.Leaky(beta=0.9, init_hidden=True,
        ...                                        graded_spikes_factor=2.0))
        >>> ffn.from_snntorch(module, input_shape=(4,))     # graded spikes
        Traceback (most recent call last):
        ...
        ff_neuro.model.from_snntorch.ConversionError: module [1] (Leaky): graded_spikes_factor
        = 2: Loihi's LIF emits binary spikes; retrain with graded_spikes_factor=1
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


def _array(value) -> np.ndarray:
    import torch
    return (value.detach().cpu().double().numpy() if isinstance(value, torch.Tensor)
            else np.asarray(value, dtype=np.float64))


def _per_neuron(value, what: str, where: str, shape: tuple, low=None, high=None):
    """A neuron parameter: a float when every neuron shares it, else an array of the layer's
    ``shape`` (snnTorch broadcasts the tensor against the layer's output)."""
    a = _array(value)
    if a.size == 0:
        raise ConversionError(f"{where}: {what} is empty")
    if low is not None:
        a = np.clip(a, low, high)               # snnTorch clamps beta and alpha to [0, 1]
    if np.all(a == a.flat[0]):
        return float(a.flat[0])
    try:
        return np.ascontiguousarray(np.broadcast_to(a, shape))
    except ValueError:
        raise ConversionError(f"{where}: per-neuron {what} of shape {a.shape} does not match "
                              f"the layer's output {shape}") from None


#: The spiking neurons that map, by class name (subclasses are not assumed to compute the same).
_NEURONS = ("Leaky", "Synaptic", "RLeaky", "RSynaptic")


def _reset(mod, kind: str, reset: str) -> tuple:
    """``(reset, reset_delay)`` of :class:`LIF` computing what the module computes."""
    delay = bool(getattr(mod, "reset_delay", True))
    if kind == "RSynaptic":
        delay = True                 # snnTorch 1.0: its immediate reset writes locals only
    if reset == "zero" and kind == "Leaky":
        delay = False                # Leaky clears the old membrane, then adds the input
    return reset, delay


def _recurrent(mod, kind: str, where: str, n: int, shape: tuple) -> Optional[Dense]:
    import torch
    if not kind.startswith("R"):
        return None
    if len(shape) != 1:
        raise ConversionError(f"{where}: a recurrent neuron after a conv layer "
                              "(convolutional recurrence) is not supported: Loihi would need "
                              "its expanded n x n matrix; use a dense recurrent layer")
    rec = mod.recurrent
    if isinstance(rec, torch.nn.Linear):
        w = rec.weight.detach().cpu().double().numpy()
        b = None if rec.bias is None else rec.bias.detach().cpu().double().numpy()
        if w.shape != (n, n):
            raise ConversionError(f"{where}: linear_features={w.shape[0]}, the layer has {n} "
                                  "neurons")
        return Dense(weight=w.astype(np.float32), bias=None if b is None else
                     b.astype(np.float32))
    if isinstance(rec, torch.nn.Conv2d):
        raise ConversionError(f"{where}: convolutional recurrence (conv2d_channels, "
                              "kernel_size) is not supported: Loihi would need its expanded "
                              "n x n matrix; use linear_features")
    v = np.broadcast_to(_array(mod.V), (n,))        # all_to_all=False: one-to-one, x * V
    return Dense(weight=np.diag(v).astype(np.float32))


def _neuron(mod, where: str, shape: tuple) -> tuple:
    """``(LIF or None, beta, recurrent Dense or None)`` of an snnTorch neuron; refusals for what
    does not map. ``None`` for ``reset_mechanism="none"`` (a non-spiking integrator)."""
    kind = type(mod).__name__
    reset = getattr(mod, "reset_mechanism", "subtract")
    if getattr(mod, "inhibition", False):
        raise ConversionError(f"{where}: snn.{kind}(inhibition=True) (winner-take-all across "
                              "a layer) has no equivalent in Loihi's LIF; retrain without it")
    if getattr(mod, "state_quant", False):
        raise ConversionError(f"{where}: snn.{kind}(state_quant=...) is not supported; "
                              "ff-neuro quantizes to Loihi fixed point itself "
                              "(ff_neuro.quantize)")
    g = _array(mod.graded_spikes_factor)
    if not np.all(g == 1.0):
        raise ConversionError(f"{where}: graded_spikes_factor = {g.flat[0]:g}: Loihi's LIF "
                              "emits binary spikes; retrain with graded_spikes_factor=1")
    n = int(np.prod(shape))
    beta = _per_neuron(mod.beta, "beta", where, shape, 0.0, 1.0)
    thr = _per_neuron(mod.threshold, "threshold", where, shape)
    alpha = (_per_neuron(mod.alpha, "alpha", where, shape, 0.0, 1.0)
             if kind in ("Synaptic", "RSynaptic") else 0.0)
    rec = _recurrent(mod, kind, where, n, shape)
    if reset == "none":
        if kind != "Leaky":
            raise ConversionError(f"{where}: snn.{kind}(reset_mechanism='none') is not "
                                  "supported as a readout; end with snn.Leaky("
                                  "reset_mechanism='none') or a Linear layer")
        if isinstance(beta, np.ndarray):
            raise ConversionError(f"{where}: a membrane readout shares one beta; train the "
                                  "output layer with a single beta")
        return None, beta, None
    if not np.all(np.asarray(thr) > 0):
        raise ConversionError(f"{where}: threshold {np.min(thr):g} must be > 0")
    reset, delay = _reset(mod, kind, reset)
    # snnTorch adds the Linear's bias to the input current; without current memory that is
    # the same as Lava's membrane bias, which the stock neuron has
    memory = bool(np.any(np.asarray(alpha) != 0.0))
    neuron = LIF(threshold=thr, v_decay=1.0 - np.asarray(beta), i_decay=1.0 - np.asarray(alpha),
                 reset=reset, reset_delay=delay, bias_in="current" if memory else "membrane")
    return neuron, beta, rec


def _pair(v, what: str, where: str) -> int:
    a = (v, v) if isinstance(v, int) else tuple(v)
    if len(a) != 2 or a[0] != a[1] or not isinstance(a[0], int):
        raise ConversionError(f"{where}: {what} {v!r} must be one integer for both axes")
    return int(a[0])


def _pool(mod, where: str) -> Optional[tuple]:
    """``(q, "sum" | "avg")`` for a pooling module that folds, None for another module;
    refusals for pooling that does not."""
    import torch
    if isinstance(mod, (torch.nn.MaxPool2d, torch.nn.AdaptiveMaxPool2d)):
        raise ConversionError(f"{where}: max pooling over spikes has no synapse equivalent "
                              "on Loihi; use AvgPool2d (or a sum pool) or a strided "
                              "convolution")
    if isinstance(mod, torch.nn.LPPool2d):
        if mod.norm_type != 1:
            raise ConversionError(f"{where}: LPPool2d(norm_type={mod.norm_type}) is not a sum "
                                  "pool; only norm_type=1 maps")
        kind = "sum"
    elif isinstance(mod, torch.nn.AvgPool2d):
        if mod.padding != 0 or mod.ceil_mode or mod.divisor_override:
            raise ConversionError(f"{where}: AvgPool2d with padding, ceil_mode or "
                                  "divisor_override is not supported")
        kind = "avg"
    else:
        return None
    q = _pair(mod.kernel_size, "kernel_size", where)
    stride = q if mod.stride is None else _pair(mod.stride, "stride", where)
    if stride != q:
        raise ConversionError(f"{where}: overlapping pooling (stride {stride} != kernel {q}) "
                              "does not fold into a synapse; use stride = kernel_size")
    return q, kind


def _synapse(mod, where: str, shape: tuple, pre: list):
    """A Dense or Conv2d for ``mod`` reading ``shape``; ``pre`` (Flatten and pooling modules
    between the previous layer and this one, as ``(module, pool or None)``) folded in."""
    import torch
    pools = [p for _, p in pre if p is not None]
    if isinstance(mod, torch.nn.Conv2d):
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
        stride = _pair(mod.stride, "stride", where)
        padding = _pair(mod.padding, "padding", where)
        if len(pools) > 1:
            raise ConversionError(f"{where}: two pooling layers before a Conv2d; merge them "
                                  "into one")
        if pools:
            q, kind = pools[0]
            try:
                return fold_pool_before_conv(w, shape, q, kind, stride, padding, b)
            except ValueError as exc:
                raise ConversionError(f"{where}: {exc}") from None
        return Conv2d(weight=w, bias=b, in_shape=tuple(shape), stride=stride, padding=padding)
    w = mod.weight.detach().cpu().double()
    b = None if mod.bias is None else mod.bias.detach().cpu().numpy().astype(np.float32)
    if pools:
        # the linear map spikes -> (pooling, flatten) -> weights, column by column
        n = int(np.prod(shape))
        with torch.no_grad():
            x = torch.eye(n, dtype=torch.float64).reshape((n,) + tuple(shape))
            for m, p in pre:
                if p is not None:
                    x = m(x)
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
        ...     torch.nn.Linear(64, 32), snn.Leaky(beta=0.9, init_hidden=True),
        ...     torch.nn.Linear(32, 10), snn.Leaky(beta=0.9, init_hidden=True))
        >>> net = ffn.from_snntorch(module, input_shape=(64,), time_steps=25)
        >>> net.readout.kind, [layer.n_out for layer in net.layers]
        ('spike-count', [32, 10])
        >>> net.layers[0].neuron.reset, net.layers[0].neuron.reset_delay   # snnTorch defaults
        ('subtract', True)
        >>> qnet, _ = ffn.quantize(net)                     # then as any ff-neuro network

    Current-based and recurrent neurons keep their dynamics::

        >>> module = torch.nn.Sequential(
        ...     torch.nn.Linear(64, 32),
        ...     snn.RSynaptic(alpha=0.8, beta=0.9, linear_features=32, init_hidden=True),
        ...     torch.nn.Linear(32, 10))
        >>> net = ffn.from_snntorch(module, input_shape=(64,))
        >>> layer = net.layers[0]
        >>> round(layer.neuron.alpha, 6), layer.recurrent.weight.shape, net.readout.kind
        (0.8, (32, 32), 'membrane')
    """
    import torch
    import snntorch as snn  # noqa: F401  (the modules below are snnTorch's)
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
            pre.append((mod, None))
            continue
        pool = _pool(mod, where)
        if pool is not None:
            if pending is not None:
                syn = pending[0]
                if not isinstance(syn, Conv2d):
                    raise ConversionError(f"{where}: pooling between a Linear layer and its "
                                          "neuron is not supported")
                try:
                    pending = (fold_pool_after_conv(syn, *pool), pending[1])
                except ValueError as exc:
                    raise ConversionError(f"{where}: {exc}") from None
                continue
            pre.append((mod, pool))
            continue
        if isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d)):
            if pending is not None:
                raise ConversionError(
                    f"{where}: two synapses in a row ({pending[1]} has no neuron); every "
                    "Linear or Conv2d but the last needs a spiking neuron after it")
            if isinstance(mod, torch.nn.Linear) and len(shape) == 3 and \
                    not any(isinstance(m, torch.nn.Flatten) for m, _ in pre):
                raise ConversionError(f"{where}: a Linear layer after a (C, H, W) output needs "
                                      "an nn.Flatten before it")
            # a dense layer reads a (C, H, W) input flattened, as nn.Flatten does
            pending = (_synapse(mod, where, shape, pre), where)
            pre = []
            continue
        if type(mod).__name__ in _NEURONS and type(mod).__module__.startswith("snntorch"):
            if pending is None:
                raise ConversionError(f"{where}: an snn.{type(mod).__name__} needs a Linear or "
                                      "Conv2d before it (its input current)")
            if pre:
                raise ConversionError(f"{where}: Flatten between a synapse and its neuron is "
                                      "not supported")
            syn = pending[0]
            neuron, beta, rec = _neuron(mod, where, tuple(syn.out_shape))
            pending = None
            if neuron is None:          # reset_mechanism="none": a non-spiking integrator
                if not last or isinstance(syn, Conv2d):
                    raise ConversionError(
                        f"{where}: snn.Leaky(reset_mechanism='none') never spikes, so it can "
                        "only be the output layer after a Linear, read by its membrane")
                readout = MembraneReadout(weight=syn.weight, bias=syn.bias, beta=beta)
                continue
            layers.append(Layer(syn, neuron, recurrent=rec))
            shape = tuple(layers[-1].out_shape)
            continue
        if isinstance(mod, snn.SpikingNeuron) or type(mod).__module__.startswith("snntorch"):
            raise ConversionError(
                f"{where}: {type(mod).__name__} is not supported: it has no exact Loihi "
                f"neuron; use {', '.join('snn.' + n for n in _NEURONS)}")
        raise ConversionError(f"{where}: {type(mod).__name__} has no exact Loihi mapping "
                              "(supported: Linear, Conv2d, Flatten, AvgPool2d, LPPool2d(1), "
                              "Identity, Dropout, snn.Leaky, snn.Synaptic, snn.RLeaky, "
                              "snn.RSynaptic)")
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
                              "by a spiking neuron)")
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
