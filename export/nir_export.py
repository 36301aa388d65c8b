"""NIR export and import: a :class:`~ff_neuro.model.Network` as a Neuromorphic Intermediate
Representation graph, and back. One loop over the layers, dense and conv alike.

Graph (a chain; per layer ``k`` a synapse node and a neuron node)::

    input --> fc0 | conv0 --> neuron0 --> [flatten1] --> fc1 --> neuron1 --> ... --> output
    Input     Linear, Affine  LIF or IF    Flatten        ...                         Output
              or Conv2d

``fc<k>`` is ``nir.Linear(W)`` (``nir.Affine(W, b)`` when the layer has a bias), ``W`` of shape
``(n_out, n_in)``; ``conv<k>`` is ``nir.Conv2d`` (PyTorch layout ``(C_out, C_in, kh, kw)``,
cross-correlation, stride, padding, dilation 1, one group, a bias per output channel: zeros
when the layer has none, with ``metadata["has_bias"] = False``); a dense layer after a conv
layer is preceded by ``flatten<k>`` (``nir.Flatten``, ``start_dim=0``: NIR shapes have no batch
axis) over the conv output in (C, H, W) order. ``neuron<k>`` is ``nir.LIF`` (or ``nir.IF`` when
``v_decay == 0``) with arrays of the layer's output shape.

Mapping of the neuron equations
-------------------------------
Ours (:class:`~ff_neuro.model.neuron.LIF`, discrete time, du = 1)::

    v[t] = (1 - v_decay) * v[t-1] + I[t],      I[t] = W x[t] + b
    s[t] = v[t] > threshold;   v[t] = 0 where s[t]

NIR's ``LIF`` is the ODE ``tau dv/dt = (v_leak - v) + r I`` with ``z = v > v_threshold`` and
``v = v_reset`` where ``z``. One forward-Euler step of length ``dt`` gives::

    v[t] = (1 - dt/tau) * v[t-1] + (dt/tau) * v_leak + (dt/tau) * r * I[t]

so the two agree exactly (then threshold, strict ``>``, and reset) when::

    tau = dt / v_decay     (dt/tau = v_decay)
    r   = 1 / v_decay      (= tau/dt: the input gain (dt/tau) * r is 1, as our update adds I)
    v_leak = 0,  v_reset = 0,  v_threshold = threshold

This is the convention snnTorch's own exporter uses for ``Leaky`` (``tau = dt/(1-beta)``,
``r = tau/dt``). ``v_decay = 0`` (no leak) would need ``tau = r = inf`` (``inf * 0`` is NaN in
the Euler step), so such layers are exported as NIR's ``IF`` with ``r = 1``: the tools that
run IF graphs (Sinabs, Norse, snnTorch, lava-dl) integrate ``r I`` once per step,
``v[t] = v[t-1] + r I[t]``, and so does the reader. ``v_decay = 1`` gives ``tau = dt, r = 1``:
``v[t] = I[t]``, no memory.

Current-based neurons (``i_decay < 1``) are NIR's ``CubaLIF`` with ``tau_syn = dt / i_decay``
and ``w_in = 1 / i_decay``, so that ``I += dt/tau_syn (-I + w_in x)`` is
``I[t] = (1 - i_decay) I[t-1] + x[t]``, and ``tau_mem``, ``r`` as for ``LIF``. A recurrent
synapse is a ``Linear`` (or ``Affine``) node ``rec<k>`` with edges ``neuron<k> -> rec<k> ->
neuron<k>``: the layer's spikes of the previous step. How a neuron resets (to zero or by
subtraction, at once or one step later) NIR cannot say: it is in the neuron's metadata
(``reset``, ``reset_delay``, ``bias_in``), and :func:`from_nir` takes it as an option for graphs
from other tools.

Readers that ignore ``r`` (Norse) get the same dynamics from ``r_one=True``: every neuron is
written with ``r = 1`` and its gain ``r`` is folded into the weights and bias before it.

Networks trained with backprop through time end in a readout NIR can carry: spike counts of
the last spiking layer (nothing to add), or a non-spiking output layer (membrane readout):
``fc<L>`` (Linear / Affine) and, when it leaks (``beta < 1``), ``li<L>`` (NIR's ``LI``,
``tau = dt / (1 - beta)``, ``r = tau / dt``); with ``beta = 1`` the graph's output is the
layer's current at every step, summed by the readout. Graphs from other tools with such an
ending are read the same way.

Everything else NIR cannot express is in ``metadata`` (NIR 1.0.8 nodes and graphs carry a
``metadata`` dict that ``nir.write``/``nir.read`` keep):

* graph: ``dt`` (the step NIR's time constants refer to; default 1e-4, the step snnTorch's
  NIR reader assumes),
  ``discretization = "forward_euler"``, the time convention (layer ``k`` sees layer ``k-1``'s
  spikes of the same step: NIR edges carry no delay), ``quantized``, and the readout NIR has no
  node for: the encoder (``encoding``, or ``host_encoder`` for FFGAF's analog conv block, whose
  output ``a = k * clip / levels`` is the graph's input at every step), the label embedding and
  the readouts (``readouts``: a list of dicts, the default first; for Forward-Forward
  networks also ``goodness``, ``goodness_from_layer`` and ``goodness_eps``).
* neuron nodes: the exact ``v_decay`` and ``threshold`` (``dt / tau`` is not always bit-exact in
  float64: for 640 of the 4096 Loihi decays ``1/(4096/k) != k/4096``), ``layer``, ``dt``, and
  for class-group readouts the class of every output channel (``class_groups``).

:func:`read_layers` prefers the metadata values and otherwise derives them from ``tau``/``r``
(snapping ``dt / tau`` to the nearest multiple of 1/4096 when within 1e-9), so graphs from other
tools can be read too; :func:`from_nir` rebuilds the whole network from ff-neuro's metadata.

Quantized export (``quantized=True``)
-------------------------------------
The same structure with the Loihi integers of ``net.quantized``: ``W = W_q``, ``b = bias_mant``,
``v_threshold = vth`` (int32 arrays: *integer-scaled*, i.e. float values times the layer's
``scale``, which is stored in the node metadata), ``tau = dt * 4096 / v_decay`` and
``r = 4096 / v_decay``. Lava's fixed-point model shifts activation, bias and threshold all by 6
bits, so in units of the mantissa the update is the one above with ``v_decay / 4096``; what NIR
cannot express -- truncation toward zero of the decayed voltage, 24-bit saturation -- is named in
the metadata (``fixed_point``), with the integer ``v_decay``, ``i_decay``, ``vth`` and ``scale``.
An ODE simulator running the quantized graph therefore approximates the emulator closely but not
bit for bit. Layers with current memory (``i_decay != 4096``) are refused: ff-neuro models have
du = 1, and NIR's ``CubaLIF`` leaves the order of the current/voltage updates open.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import List, Optional

import nir
import numpy as np

from ff_neuro.fileio import PathLike, atomic_path
from ff_neuro.model import (AnalogConvEncoder, ClassGroups, Conv2d, Dense, InputEncoding,
                            LabelEmbedding, LabelSweep, Layer, LinearReadout, MembraneReadout,
                            Network, SpikeCountReadout)
from ff_neuro.model.neuron import DECAY_UNITY, LIF, LoihiLIF
from ff_neuro.model.synapse import fold_pool_after_conv, fold_pool_before_conv
from ff_neuro.quantization import dequantize_layer

#: Version of the metadata conventions below (bump when they change).
NIR_FORMAT_VERSION = 4
#: The time step written by default: snnTorch's NIR reader and writer assume 1e-4.
DEFAULT_DT = 1e-4
#: Time steps of the input encoding of a graph from another tool, when none is given.
DEFAULT_TIME_STEPS = 25
NO_DT = ("the graph does not say its time step dt (no 'dt' in its metadata), and its LIF time "
         "constants only mean something with one: pass dt (ff-neuro import --dt; snnTorch "
         "writes graphs for dt = 1e-4, Norse reads them with dt = 1e-3 by default)")

EQUATIONS = ("u[t] = W x[t] or conv2d(x[t], W, stride, padding); v[t] = (1 - v_decay) * v[t-1] "
             "+ u[t] + bias; s[t] = v[t] > threshold; v[t] = 0 where s[t]  (one step = dt; "
             "LIF: tau = dt / v_decay, r = 1 / v_decay; IF when v_decay = 0: r = 1, v += r I per "
             "step)")
FIXED_POINT = ("Lava fixed_pt LIF, du = 1: v[t] = sat24(trunc(v[t-1] * (4096 - v_decay) / 4096)"
               " + ((W_q x[t] + bias_mant) << 6)); s = v > vth << 6; v = 0 where s. "
               "NIR holds the mantissas; trunc and sat24 are not expressed.")
TIME_CONVENTION = ("layer k at step t sees layer k-1's spikes of the same step t (edges carry "
                   "no delay); state is reset between samples")
ENCODER_EQUATION = ("z = conv2d(image, weight, stride, padding) + bias; k = clip(floor(z * "
                    "levels / clip + shift), 0, levels); input a = k * clip / levels at every "
                    "step (FFGAF eq. 13, on the host)")


def _full(shape, value, dtype) -> np.ndarray:
    return np.full(shape, value, dtype=dtype)


def _gain(v_decay_frac, dt: float):
    """NIR's ``r`` that makes a step add the input with gain 1: ``tau / dt = 1 / v_decay`` for
    a LIF, 1 for an IF (which integrates ``r I`` per step); per neuron where ``v_decay`` is an
    array."""
    d = np.asarray(v_decay_frac, dtype=np.float64)
    with np.errstate(divide="ignore"):
        g = np.where(d == 0.0, 1.0, 1.0 / np.where(d == 0.0, 1.0, d))
    return float(g) if g.ndim == 0 else g


def _neuron(shape, threshold, v_decay_frac, dt: float, th_dtype, metadata: dict,
            r_one: bool = False, i_decay_frac=1.0):
    """The NIR neuron whose forward-Euler step (length ``dt``) is our update; ``shape`` is the
    shape of its arrays (the layer's output shape). ``r_one``: ``r = 1`` (the caller folds
    :func:`_gain` into the weights). With current memory (``i_decay < 1``) a ``CubaLIF``:
    ``tau_syn = dt / i_decay``, ``w_in = 1 / i_decay`` (so ``I += dt/tau_syn (-I + w_in x)``
    is ``I = (1 - i_decay) I + x``)."""
    d = np.asarray(v_decay_frac, dtype=np.float64)
    r = 1.0 if r_one else _gain(v_decay_frac, dt)
    if np.any(np.asarray(i_decay_frac) != 1.0):
        if np.any(d == 0.0):
            raise ValueError("a current-based neuron without membrane leak (v_decay = 0) has "
                             "no NIR node (CubaLIF needs a finite tau_mem)")
        di = np.asarray(i_decay_frac, dtype=np.float64)
        return nir.CubaLIF(tau_syn=_full(shape, dt / di, np.float64),
                           tau_mem=_full(shape, dt / d, np.float64),
                           r=_full(shape, r, np.float64), v_leak=_full(shape, 0.0, np.float64),
                           v_threshold=_full(shape, threshold, th_dtype),
                           v_reset=_full(shape, 0, th_dtype),
                           w_in=_full(shape, 1.0 / di, np.float64), metadata=metadata)
    if np.all(d == 0.0):
        return nir.IF(r=_full(shape, r, np.float64),
                      v_threshold=_full(shape, threshold, th_dtype),
                      v_reset=_full(shape, 0, th_dtype), metadata=metadata)
    if np.any(d == 0.0):
        raise ValueError("per-neuron decays with some v_decay = 0 have no NIR node (LIF needs "
                         "a finite tau for every neuron)")
    return nir.LIF(tau=_full(shape, dt / d, np.float64),
                   r=_full(shape, r, np.float64),
                   v_leak=_full(shape, 0.0, np.float64),
                   v_threshold=_full(shape, threshold, th_dtype),
                   v_reset=_full(shape, 0, th_dtype), metadata=metadata)


def _synapse_node(layer: Layer, weight: np.ndarray, bias: Optional[np.ndarray], meta: dict):
    syn = layer.synapse
    if isinstance(syn, Conv2d):
        return nir.Conv2d(
            input_shape=tuple(syn.in_shape[1:]), weight=weight, stride=syn.stride,
            padding=syn.padding, dilation=syn.dilation, groups=1,
            bias=np.zeros(syn.channels, weight.dtype) if bias is None else bias,
            metadata={**meta, "has_bias": bias is not None})
    if bias is None:
        return nir.Linear(weight=weight, metadata=meta)
    return nir.Affine(weight=weight, bias=bias, metadata=meta)


def _encoder_metadata(net: Network) -> dict:
    enc = net.encoder
    if isinstance(enc, AnalogConvEncoder):
        return {"host_encoder": {**enc.to_dict(), "in_shape": np.array(enc.in_shape),
                                 "equation": ENCODER_EQUATION},
                "time_steps": int(enc.time_steps)}
    return {"encoding": enc.to_dict()}


def _readout_metadata(r) -> dict:
    if isinstance(r, ClassGroups):   # the groups themselves go on the neuron nodes
        return {"type": r.type_name, "n_classes": r.n_classes,
                "predict_layers": np.array(r.predict_layers, dtype=np.int64)}
    if isinstance(r, MembraneReadout):  # its layer is in the graph (the nodes after the last
        return {"type": r.type_name, "beta": r.beta}   # spiking layer)
    return {"type": r.type_name, **r.to_dict()}


def to_nir(net: Network, quantized: bool = False, dt: Optional[float] = None,
           r_one: bool = False) -> nir.NIRGraph:
    """``net`` as a NIR graph (see the module docstring for the mapping).

    ``quantized=True`` exports the Loihi integers of ``net.quantized`` instead of the float
    layers. ``dt`` is the time step NIR's time constants refer to; the default (None:
    :data:`DEFAULT_DT`, 1e-4) is the one snnTorch's NIR reader assumes. ``r_one=True`` writes
    every neuron with ``r = 1`` and folds the input gain ``r`` into the weights and biases
    before it, for readers that ignore ``r`` (Norse); read such a graph with Norse's
    ``from_nir(graph, dt=dt)``.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network(
        ...     [Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0, v_decay=0.125),
        ...      Layer.dense(weight=rng.normal(0, 0.5, (8, 16)), threshold=1.0, v_decay=0.125)],
        ...     label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> graph = ffn.to_nir(net)
        >>> list(graph.nodes)
        ['input', 'fc0', 'neuron0', 'fc1', 'neuron1', 'output']
        >>> lif = graph.nodes["neuron0"]           # tau = dt / v_decay, r = 1 / v_decay
        >>> type(lif).__name__, float(lif.tau[0]), float(lif.r[0]), graph.metadata["dt"]
        ('LIF', 0.0008, 8.0, 0.0001)
        >>> qnet, _ = ffn.quantize(net)
        >>> ffn.to_nir(qnet, quantized=True).nodes["fc0"].weight.dtype    # Loihi integers
        dtype('int32')
    """
    dt = DEFAULT_DT if dt is None else float(dt)
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive finite number, got {dt}")
    if quantized and net.quantized is None:
        raise ValueError("quantized NIR export needs a quantized model (run quantization first)")
    if quantized and r_one:
        raise ValueError("r_one folds the input gain into the weights, which then are no "
                         "longer Loihi integers: export the float model with r_one")
    layers = net.quantized if quantized else net.layers
    groups = {}
    for r in net.readouts:
        if isinstance(r, ClassGroups):
            groups = dict(enumerate(r.class_groups))
    nodes = {"input": nir.Input(input_type={"input": np.array(layers[0].in_shape)})}
    edges = []
    prev, prev_shape = "input", tuple(layers[0].in_shape)
    for k, layer in enumerate(layers):
        kind = "conv" if isinstance(layer.synapse, Conv2d) else "fc"
        if kind == "fc" and len(prev_shape) > 1:
            nodes[f"flatten{k}"] = nir.Flatten(input_type={"input": np.array(prev_shape)},
                                               start_dim=0, end_dim=-1)
            edges.append((prev, f"flatten{k}"))
            prev = f"flatten{k}"
        n = layer.neuron
        if n.current_memory and n.bias_in == "membrane" and layer.bias is not None:
            raise ValueError(f"layer {k}: a current-based neuron with its bias in the membrane "
                             "has no NIR form (CubaLIF takes the bias with its input current)")
        mode = {key: value for key, value in (("reset", n.reset),
                                              ("reset_delay", n.reset_delay),
                                              ("bias_in", n.bias_in))}
        rec = layer.recurrent
        if quantized:
            if n.current_memory:
                raise ValueError(
                    f"layer {k}: i_decay = {n.i_decay} (current memory) cannot be exported in "
                    f"integers: the quantized NIR export supports du = 1 (i_decay = "
                    f"{DECAY_UNITY}) only; export the float model")
            meta = {"layer": k, "dt": dt, "units": "loihi_integer", "scale": n.scale,
                    "v_decay": n.v_decay, "i_decay": n.i_decay, "vth": n.vth,
                    "decay_unity": DECAY_UNITY, "fixed_point": FIXED_POINT, **mode}
            syn = _synapse_node(layer, layer.weight.astype(np.int32),
                                None if layer.bias is None else layer.bias.astype(np.int32),
                                {"layer": k, "units": "loihi_integer", "scale": n.scale})
            neuron = _neuron(layer.out_shape, n.vth, np.asarray(n.v_decay) / DECAY_UNITY, dt,
                             np.int32, meta)
            if rec is not None:
                rec_node = nir.Linear(weight=rec.weight.astype(np.int32),
                                      metadata={"layer": k, "units": "loihi_integer",
                                                "weight_exp": rec.weight_exp,
                                                "recurrent": True})
        else:
            meta = {"layer": k, "dt": dt, "units": "float", "v_decay": n.v_decay,
                    "threshold": n.threshold, **mode}
            if n.current_memory:
                meta["i_decay"] = n.i_decay
            g = _gain(n.v_decay, dt) if r_one else 1.0
            g_rows = np.broadcast_to(g, layer.out_shape).reshape(layer.synapse.channels, -1)[:, 0] \
                if np.ndim(g) else g
            gw = g_rows.reshape((-1,) + (1,) * (layer.weight.ndim - 1)) if np.ndim(g) else g
            syn = _synapse_node(layer, (layer.weight * gw).astype(np.float32),
                                None if layer.bias is None else
                                (layer.bias * g_rows).astype(np.float32),
                                {"layer": k, "units": "float", "r_folded": bool(r_one)})
            neuron = _neuron(layer.out_shape, n.threshold, n.v_decay, dt, np.float64, meta,
                             r_one, n.i_decay)
            if rec is not None:
                gr = np.reshape(g_rows, (-1, 1)) if np.ndim(g) else g
                w = (rec.weight * gr).astype(np.float32)
                rmeta = {"layer": k, "units": "float", "recurrent": True}
                rec_node = nir.Linear(weight=w, metadata=rmeta) if rec.bias is None else \
                    nir.Affine(weight=w, bias=(rec.bias * np.ravel(g_rows)).astype(np.float32),
                               metadata=rmeta)
        if k in groups:
            neuron.metadata["class_groups"] = np.asarray(groups[k], dtype=np.int64)
        nodes[f"{kind}{k}"], nodes[f"neuron{k}"] = syn, neuron
        edges += [(prev, f"{kind}{k}"), (f"{kind}{k}", f"neuron{k}")]
        if rec is not None:     # the layer's own spikes back to its input (one step later)
            nodes[f"rec{k}"] = rec_node
            edges += [(f"neuron{k}", f"rec{k}"), (f"rec{k}", f"neuron{k}")]
        prev, prev_shape = f"neuron{k}", tuple(layer.out_shape)
    for r in net.readouts:
        if isinstance(r, MembraneReadout):
            prev, prev_shape = _membrane_nodes(r, len(layers), prev, nodes, edges, quantized,
                                               dt, r_one)
            break
    nodes["output"] = nir.Output(output_type={"output": np.array(prev_shape)})
    edges.append((prev, "output"))
    metadata = {
        "producer": "ff-neuro", "ff_neuro_nir_format": NIR_FORMAT_VERSION,
        "quantized": bool(quantized), "dt": dt, "discretization": "forward_euler",
        "equations": EQUATIONS, "time_convention": TIME_CONVENTION,
        "n_classes": int(net.n_classes), **_encoder_metadata(net),
        "readouts": {str(i): _readout_metadata(r) for i, r in enumerate(net.readouts)},
    }
    if net.label_embedding is not None:
        metadata["label_embedding"] = net.label_embedding.to_dict()
    sweep = net.label_sweep
    if sweep is not None:
        metadata.update(goodness_from_layer=sweep.from_layer, goodness=sweep.goodness,
                        goodness_eps=sweep.eps)
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def _membrane_nodes(r: MembraneReadout, k: int, prev: str, nodes: dict, edges: list,
                    quantized: bool, dt: float, r_one: bool) -> tuple:
    """The non-spiking output layer of a membrane readout: ``fc<k>`` (Linear / Affine), then,
    for ``beta < 1``, ``li<k>`` (NIR's leaky integrator ``LI``: ``tau = dt / (1 - beta)``,
    ``r = tau / dt``). With ``beta = 1`` the graph's output is the layer's current at every
    step, which the readout sums."""
    if quantized:
        if not r.quantized:
            raise ValueError("the membrane readout has no fixed-point twin: quantize the model")
        w, b = r.weight_q.astype(np.int32), None if r.bias_q is None else r.bias_q.astype(
            np.int32)
        decay = r.v_decay_q / DECAY_UNITY
        meta = {"layer": k, "units": "loihi_integer", "scale": r.scale,
                "v_decay": r.v_decay_q, "readout": "membrane"}
    else:
        w, b, decay = r.weight, r.bias, 1.0 - r.beta
        meta = {"layer": k, "units": "float", "beta": r.beta, "readout": "membrane"}
    g = 1.0 / decay if (r_one and decay > 0) else 1.0
    w = (w * g).astype(np.float32) if not quantized else w
    b = None if b is None else ((b * g).astype(np.float32) if not quantized else b)
    nodes[f"fc{k}"] = nir.Linear(weight=w, metadata=meta) if b is None else \
        nir.Affine(weight=w, bias=b, metadata=meta)
    edges.append((prev, f"fc{k}"))
    prev = f"fc{k}"
    if decay > 0:
        n = w.shape[0]
        nodes[f"li{k}"] = nir.LI(tau=_full(n, dt / decay, np.float64),
                                 r=_full(n, 1.0 if r_one else 1.0 / decay, np.float64),
                                 v_leak=_full(n, 0.0, np.float64), metadata=meta)
        edges.append((prev, f"li{k}"))
        prev = f"li{k}"
    return prev, (int(w.shape[0]),)


def _flatten_subgraphs(graph: nir.NIRGraph) -> nir.NIRGraph:
    """``graph`` with every ``NIRGraph`` node replaced by its nodes (named ``sub.name``): an
    edge into the subgraph goes to what its Input feeds, an edge out of it leaves from what
    feeds its Output."""
    if not any(isinstance(n, nir.NIRGraph) for n in graph.nodes.values()):
        return graph
    nodes, edges, entry, exit_ = {}, [], {}, {}
    for name, node in graph.nodes.items():
        if not isinstance(node, nir.NIRGraph):
            nodes[name] = node
            continue
        sub = _flatten_subgraphs(node)
        ins = {k for k, n in sub.nodes.items() if isinstance(n, nir.Input)}
        outs = {k for k, n in sub.nodes.items() if isinstance(n, nir.Output)}
        entry[name] = [f"{name}.{b}" for a, b in sub.edges if a in ins]
        exit_[name] = [f"{name}.{a}" for a, b in sub.edges if b in outs]
        for k, n in sub.nodes.items():
            if k not in ins and k not in outs:
                nodes[f"{name}.{k}"] = n
        edges += [(f"{name}.{a}", f"{name}.{b}") for a, b in sub.edges
                  if a not in ins and b not in outs]
    for a, b in graph.edges:
        for src in exit_.get(a, [a]):
            for dst in entry.get(b, [b]):
                edges.append((src, dst))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=graph.metadata, type_check=False)


def _chain(graph: nir.NIRGraph) -> tuple:
    """``(order, recurrent)``: node names from the single Input to the single Output following
    the edges, and the recurrent synapses: ``recurrent[neuron] = name`` for a Linear / Affine
    node fed by that neuron alone and feeding it alone (a layer's own spikes back to its
    input, one step later). Other branches, merges and cycles are refused."""
    inputs = [k for k, n in graph.nodes.items() if isinstance(n, nir.Input)]
    if len(inputs) != 1:
        raise ValueError(f"expected one Input node, found {len(inputs)}")
    succ: dict = {}
    pred: dict = {}
    for a, b in graph.edges:
        succ.setdefault(a, []).append(b)
        pred.setdefault(b, []).append(a)
    recurrent = {}
    for name, node in graph.nodes.items():
        if isinstance(node, (nir.Linear, nir.Affine)) and len(pred.get(name, [])) == 1 and \
                succ.get(name) == pred.get(name) and \
                isinstance(graph.nodes[pred[name][0]], (nir.LIF, nir.CubaLIF, nir.IF)):
            recurrent[pred[name][0]] = name
    rec_nodes = set(recurrent.values())
    order = [inputs[0]]
    while not isinstance(graph.nodes[order[-1]], nir.Output):
        nxt = [n for n in succ.get(order[-1], []) if n not in rec_nodes]
        if len(nxt) != 1:
            raise ValueError(f"node {order[-1]!r} has {len(nxt)} successors: not a chain (a "
                             "layer's own recurrent synapse aside); ff-neuro deploys chains "
                             "of layers")
        if nxt[0] in order:
            raise ValueError(f"cycle at node {nxt[0]!r} that is not a layer's own recurrent "
                             "synapse (Linear or Affine from a neuron back to it)")
        others = [p for p in pred.get(nxt[0], []) if p not in rec_nodes and p != order[-1]]
        if others:
            raise ValueError(f"node {nxt[0]!r} sums the outputs of several nodes "
                             f"({', '.join([order[-1]] + others)}): not a chain")
        order.append(nxt[0])
    if len(order) + len(rec_nodes) != len(graph.nodes):
        raise ValueError("graph has nodes outside the input -> output chain")
    return order, recurrent


def _uniform(a, what: str, name: str) -> float:
    a = np.asarray(a)
    if a.size == 0 or not np.all(a == a.flat[0]):
        raise ValueError(f"{name}: {what} must be the same for all neurons")
    return a.flat[0]


def _meta(node, key):
    v = (node.metadata or {}).get(key)
    if isinstance(v, np.ndarray) and v.ndim == 0:
        v = v[()]
    if isinstance(v, bytes):
        return v.decode()
    return None if v is None else v.item() if isinstance(v, np.generic) else v


def _scalar_or_array(a):
    """One value when every neuron shares it, else the array (float64)."""
    a = np.asarray(a, dtype=np.float64)
    return float(a.flat[0]) if a.size and np.all(a == a.flat[0]) else a


def _decay(dt: float, tau, name: str, what: str):
    """``dt / tau`` (per neuron where ``tau`` varies), snapped to a multiple of 1/4096 when
    within 1e-9, a float32 ``tau`` read as snnTorch's ``dt / (1 - beta)``."""
    tau_a = np.asarray(tau)
    d = dt / tau_a.astype(np.float64)
    if tau_a.dtype == np.float32 and np.all(tau_a == tau_a.flat[0]):
        d = np.full(d.shape, _float32_decay(np.float32(tau_a.flat[0]), dt, float(d.flat[0])))
    snapped = np.round(d * DECAY_UNITY)
    d = np.where(np.abs(d * DECAY_UNITY - snapped) < 1e-9, snapped / DECAY_UNITY, d)
    if not (np.all(d >= 0) and np.all(d <= 1)):
        raise ValueError(f"{name!r}: dt / {what} = {float(np.max(d)):g} is outside [0, 1]: is "
                         f"dt = {dt:g} the graph's time step? (snnTorch writes graphs for "
                         "dt = 1e-4; pass dt)")
    return _scalar_or_array(d)


def _float32_decay(tau32: np.float32, dt: float, decay: float) -> float:
    """``1 - beta`` for a float32 ``tau``: the float32 ``beta`` whose ``tau = dt / (1 - beta)``
    in float32 (snnTorch's writer) is ``tau32``, searched around ``1 - dt / tau``; else
    ``decay``. It recovers a float32 ``beta`` exactly where ``dt / tau`` is off by the float32
    rounding of ``tau``."""
    c = np.float32(1.0 - decay)
    cands = [c]
    lo = hi = c
    for _ in range(8):
        lo, hi = np.nextafter(lo, np.float32(0)), np.nextafter(hi, np.float32(1))
        cands += [lo, hi]
    with np.errstate(divide="ignore", over="ignore"):
        for b in cands:
            if np.float32(dt) / (np.float32(1) - b) == tau32:
                return 1.0 - float(b)
    return decay


def _pair(v, what: str, name: str) -> int:
    a = np.atleast_1d(np.asarray(v))
    if a.size not in (1, 2) or not np.all(a == a.flat[0]):
        raise ValueError(f"{name}: {what} must be the same along both axes, got {a.tolist()}")
    return int(a.flat[0])


def _neuron_params(neu, nname: str, dt: float, ours_v3: bool = False) -> tuple:
    """``(input gain per neuron, v_decay, i_decay)`` of a LIF, CubaLIF or IF node, discretised
    by forward Euler with step ``dt`` as Norse and snnTorch do (NIR's equations)::

        LIF:      v += dt/tau (v_leak - v + r I)                gain dt r / tau
        CubaLIF:  I += dt/tau_syn (-I + w_in x);  v += dt/tau_mem (v_leak - v + r I)
                                                 gain (dt w_in / tau_syn) (dt r / tau_mem)
        IF:       v += r I   (per step, as Sinabs, Norse and snnTorch integrate it)

    ``v_leak`` and ``v_reset`` must be 0."""
    if np.any(np.asarray(neu.v_reset) != 0):
        raise ValueError(f"{nname!r}: v_reset != 0 is not supported (the neuron resets to zero "
                         "or by subtraction)")
    if isinstance(neu, nir.IF):
        r = np.asarray(neu.r, dtype=np.float64)
        return (r * dt if ours_v3 else r), 0.0, 1.0
    if np.any(np.asarray(neu.v_leak) != 0):
        raise ValueError(f"{nname!r}: v_leak != 0 is not supported (no leak potential on "
                         "Loihi)")
    if isinstance(neu, nir.CubaLIF):
        v_decay = _decay(dt, neu.tau_mem, nname, "tau_mem")
        i_decay = _decay(dt, neu.tau_syn, nname, "tau_syn")
        gain = (dt * np.asarray(neu.w_in, np.float64) / np.asarray(neu.tau_syn, np.float64)) * \
            (dt * np.asarray(neu.r, np.float64) / np.asarray(neu.tau_mem, np.float64))
        return gain, v_decay, i_decay
    v_decay = _decay(dt, neu.tau, nname, "tau")
    return dt * np.asarray(neu.r, np.float64) / np.asarray(neu.tau, np.float64), v_decay, 1.0


def _read_synapse(node, name: str, in_shape: tuple, gain, integer: bool):
    """A Dense or Conv2d from a Linear / Affine / Conv2d node, the neurons' input gain ``gain``
    (a number, or one per neuron: per output channel for a conv layer) folded into weight and
    bias."""
    if isinstance(node, nir.Conv2d):
        if _pair(node.dilation, "dilation", name) != 1 or int(node.groups) != 1:
            raise ValueError(f"{name!r}: dilation and groups must be 1")
        if isinstance(node.padding, str):
            raise ValueError(f"{name!r}: padding {node.padding!r} is not supported (give it "
                             "in pixels)")
        w, b = np.asarray(node.weight), np.asarray(node.bias)
        if _meta(node, "has_bias") is False or (_meta(node, "has_bias") is None
                                                and not np.any(b)):
            b = None
        geometry = dict(stride=_pair(node.stride, "stride", name),
                        padding=_pair(node.padding, "padding", name))
        if len(in_shape) != 3:
            raise ValueError(f"{name!r}: a conv layer needs a (C, H, W) input, got {in_shape}")
    elif isinstance(node, (nir.Linear, nir.Affine)):
        w = np.asarray(node.weight)
        b = np.asarray(node.bias) if isinstance(node, nir.Affine) else None
        if w.ndim != 2 or (b is not None and b.shape != (w.shape[0],)):
            raise ValueError(f"{name!r}: weight must be (n_out, n_in) and bias (n_out,)")
        geometry = None
    else:
        raise ValueError(f"{name!r}: expected Linear, Affine or Conv2d, got "
                         f"{type(node).__name__}")
    g = np.asarray(gain, dtype=np.float64)
    if not np.allclose(g, 1.0, rtol=1e-6, atol=0.0):   # float32 graphs: r * dt / tau ~ 1
        if g.ndim and geometry is not None:
            per = g.reshape(w.shape[0], -1)
            if not np.all(per == per[:, :1]):
                raise ValueError(f"{name!r}: the neurons' input gain varies within a channel; "
                                 "a conv layer shares it per output channel")
            g = per[:, 0]
        gw = g.reshape((-1,) + (1,) * (w.ndim - 1)) if g.ndim else g
        w = w * gw
        b = None if b is None else b * g
    if integer:
        w = np.rint(w).astype(np.int32)
        b = None if b is None else np.rint(b).astype(np.int32)
    else:
        w = w.astype(np.float32)
        b = None if b is None else b.astype(np.float32)
    if geometry is not None:
        return Conv2d(weight=w, bias=b, in_shape=in_shape, **geometry)
    if int(np.prod(in_shape)) != w.shape[1]:
        raise ValueError(f"{name!r}: takes {w.shape[1]} inputs, gets {in_shape}")
    return Dense(weight=w, bias=b, in_shape=in_shape)


#: What the NIR reader deploys, one row per node type, as data (the docs' support table is
#: generated from it): ``(node, status, how)``.
NIR_SUPPORT = [
    ("Input, Output", "exact", "the graph's ends"),
    ("Linear, Affine", "exact", "Dense synapse (Affine's bias: the layer's bias); from a neuron "
     "back to itself: its recurrent synapse"),
    ("Conv2d", "exact", "Conv2d synapse: square stride and padding in pixels, dilation and "
     "groups 1"),
    ("Flatten", "exact", "implicit: a dense layer reads a conv output in (C, H, W) order"),
    ("SumPool2d, AvgPool2d", "exact", "folded into the next Linear or Conv2d, or into the "
     "Conv2d before the neuron; non-overlapping windows without padding"),
    ("Scale", "exact", "folded into the neighbouring synapse"),
    ("LIF", "exact with an option", "LIF, forward Euler with the given dt; the reset "
     "(NIR cannot say it) is an import option: --reset zero|subtract, --reset-delay"),
    ("CubaLIF", "exact with an option", "current-based LIF (i_decay = dt / tau_syn), the bias "
     "in the current; reset as for LIF"),
    ("IF", "exact with an option", "integrate-and-fire, v += r I per step (as Sinabs, Norse "
     "and snnTorch integrate it); reset as for LIF"),
    ("LI", "exact", "after the last Linear / Affine: a membrane readout"),
    ("NIRGraph", "exact", "a subgraph: its nodes are read in place"),
    ("Delay", "refused", "no delays yet: Lava's DelayDense (up to 63 steps) would need one "
     "synapse per delay"),
    ("Threshold, I, CubaLI, Conv1d", "refused", "no Loihi neuron computes them in ff-neuro"),
    ("LIF/CubaLIF/IF with v_leak or v_reset != 0", "refused", "Loihi's neuron has neither"),
]

SUPPORTED = ("input -> ([Flatten | SumPool2d | AvgPool2d | Scale] -> Linear | Affine | Conv2d "
             "-> [SumPool2d | AvgPool2d | Scale] -> LIF | CubaLIF | IF [<-> Linear | Affine])+ "
             "-> [Linear | Affine -> [LI]] -> output")


def _graph_dt(graph: nir.NIRGraph, dt: Optional[float]) -> float:
    """``dt`` if given, else the graph's metadata ``dt``; a ValueError saying what to do when
    neither exists."""
    if dt is None:
        gmeta = graph.metadata if isinstance(graph.metadata, dict) else {}
        dt = gmeta.get("dt")
        if dt is None:
            raise ValueError(NO_DT)
    dt = float(np.asarray(dt))
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive finite number, got {dt}")
    return dt


def _unsupported(name: str, node) -> ValueError:
    kind = type(node).__name__
    why = {row[0]: row[2] for row in NIR_SUPPORT if row[1] == "refused"}
    why = next((v for k, v in why.items() if kind in k.replace(",", " ").split()), "")
    return ValueError(f"{name!r}: NIR {kind} nodes are not supported"
                      + (f" ({why})" if why else "") + f"; ff-neuro deploys {SUPPORTED}")


def _pool(node, name: str) -> tuple:
    """``(q, "sum" | "avg")`` of a SumPool2d / AvgPool2d node that folds."""
    q = _pair(node.kernel_size, "kernel_size", name)
    if _pair(node.stride, "stride", name) != q or np.any(np.asarray(node.padding) != 0):
        raise ValueError(f"{name!r}: only non-overlapping pooling without padding (stride = "
                         "kernel_size) folds into a synapse")
    return q, "sum" if isinstance(node, nir.SumPool2d) else "avg"


def _apply_pre(x: np.ndarray, shape: tuple, op: tuple) -> tuple:
    """One Flatten / pooling / Scale step on a batch of inputs ``x`` (n, *shape)."""
    if op[0] == "flatten":
        return x.reshape(len(x), -1), (int(np.prod(shape)),)
    if op[0] == "scale":
        return x * np.broadcast_to(op[1], shape)[None], shape
    q, kind = op[1], op[2]
    c, h, w = shape
    y = x[:, :, :h // q * q, :w // q * q].reshape(len(x), c, h // q, q, w // q, q).sum((3, 5))
    return (y / (q * q) if kind == "avg" else y), (c, h // q, w // q)


def _fold_pre(syn, pre: list, shape: tuple, name: str):
    """The synapse ``syn`` (read for the shape after ``pre``) on the input before ``pre``
    (Flatten, pooling, Scale nodes), exactly."""
    if not pre:
        return syn
    if isinstance(syn, Dense):
        n = int(np.prod(shape))
        x, s = np.eye(n).reshape((n,) + tuple(shape)), tuple(shape)
        for op in pre:
            x, s = _apply_pre(x, s, op)
        w = (x.reshape(n, -1) @ syn.weight.astype(np.float64).T).T
        return Dense(weight=w.astype(np.float32), bias=syn.bias, in_shape=tuple(shape))
    w = syn.weight.astype(np.float64)
    pools = [op for op in pre if op[0] == "pool"]
    for op in pre:
        if op[0] == "scale":
            s = np.broadcast_to(op[1], shape if not pools else syn.in_shape)
            per = s.reshape(s.shape[0], -1)
            if not np.all(per == per[:, :1]):
                raise ValueError(f"{name!r}: a Scale before a conv layer must be one value per "
                                 "channel")
            w = w * per[:, 0][None, :, None, None]
        elif op[0] == "flatten":
            raise ValueError(f"{name!r}: a Flatten before a conv layer")
    if len(pools) > 1:
        raise ValueError(f"{name!r}: two pooling nodes before a conv layer; merge them")
    if pools:
        return fold_pool_before_conv(w, shape, pools[0][1], pools[0][2], syn.stride,
                                     syn.padding, syn.bias)
    return Conv2d(weight=w.astype(np.float32), bias=syn.bias, in_shape=syn.in_shape,
                  stride=syn.stride, padding=syn.padding)


def _fold_mid(syn, mid: list, name: str):
    """Pooling and Scale nodes between a synapse and its neuron, folded into the synapse."""
    for op in mid:
        if op[0] == "pool":
            if not isinstance(syn, Conv2d):
                raise ValueError(f"{name!r}: pooling between a Linear layer and its neuron")
            syn = fold_pool_after_conv(syn, op[1], op[2])
        elif op[0] == "scale":
            s = np.broadcast_to(op[1], syn.out_shape).astype(np.float64)
            if isinstance(syn, Conv2d):
                per = s.reshape(s.shape[0], -1)
                if not np.all(per == per[:, :1]):
                    raise ValueError(f"{name!r}: a Scale after a conv layer must be one value "
                                     "per channel")
                s = per[:, 0]
            kw = dict(weight=(syn.weight * s.reshape((-1,) + (1,) * (syn.weight.ndim - 1)))
                      .astype(np.float32),
                      bias=None if syn.bias is None else (syn.bias * s).astype(np.float32))
            syn = dataclasses.replace(syn, **kw)
        else:
            raise ValueError(f"{name!r}: a Flatten between a synapse and its neuron")
    return syn


def _read_chain(graph: nir.NIRGraph, dt: Optional[float] = None, reset: str = "zero",
                reset_delay: bool = False) -> tuple:
    """``(layers, membrane)``: the spiking layers of the chain and the non-spiking output layer
    after them as a :class:`MembraneReadout` (or None). ``reset``, ``reset_delay``: the reset
    of neurons whose node's metadata does not say it (NIR cannot)."""
    graph = _flatten_subgraphs(graph)
    gmeta = graph.metadata if isinstance(graph.metadata, dict) else {}
    quantized = bool(gmeta.get("quantized", False))
    ours_v3 = gmeta.get("producer") == "ff-neuro" and \
        int(gmeta.get("ff_neuro_nir_format", 0)) <= 3
    order, recurrent = _chain(graph)
    body = order[1:-1]
    if any(isinstance(graph.nodes[n], (nir.LIF, nir.CubaLIF, nir.LI)) for n in body):
        dt = _graph_dt(graph, dt)
    elif ours_v3 and any(isinstance(graph.nodes[n], nir.IF) for n in body):
        dt = _graph_dt(graph, dt)
    shape = tuple(int(s) for s in np.atleast_1d(graph.nodes[order[0]].input_type["input"]))
    layers: List[Layer] = []
    membrane = None
    pre: list = []
    i = 0
    while i < len(body):
        node = graph.nodes[body[i]]
        if isinstance(node, (nir.Flatten, nir.SumPool2d, nir.AvgPool2d, nir.Scale)):
            pre.append(("flatten",) if isinstance(node, nir.Flatten) else
                       ("scale", np.asarray(node.scale, np.float64))
                       if isinstance(node, nir.Scale) else ("pool",) + _pool(node, body[i]))
            i += 1
            continue
        if not isinstance(node, (nir.Linear, nir.Affine, nir.Conv2d)):
            raise _unsupported(body[i], node)
        sname = body[i]
        in_shape, s = shape, shape
        for op in pre:                      # the shape the synapse node reads
            _, s = _apply_pre(np.zeros((1,) + tuple(s)), s, op)
        i += 1
        mid = []
        while i < len(body) and isinstance(graph.nodes[body[i]],
                                           (nir.SumPool2d, nir.AvgPool2d, nir.Scale)):
            n2 = graph.nodes[body[i]]
            mid.append(("scale", np.asarray(n2.scale, np.float64)) if isinstance(n2, nir.Scale)
                       else ("pool",) + _pool(n2, body[i]))
            i += 1
        nname = body[i] if i < len(body) else None
        neu = graph.nodes[nname] if nname is not None else None
        if neu is None or isinstance(neu, nir.LI):
            # the non-spiking output layer: currents summed (no neuron) or a leaky integrator
            if (neu is not None and i + 1 != len(body)) or isinstance(node, nir.Conv2d) \
                    or mid:
                raise ValueError(f"{sname!r}: a non-spiking layer (no neuron or LI) is only "
                                 f"supported as the dense output layer; ff-neuro deploys "
                                 f"{SUPPORTED}")
            if not layers:
                raise ValueError(f"the graph has no spiking layer; ff-neuro deploys {SUPPORTED}")
            gain, beta = 1.0, 1.0
            if neu is not None:
                if np.any(np.asarray(neu.v_leak) != 0):
                    raise ValueError(f"{nname!r}: v_leak != 0 is not supported")
                tau = float(_uniform(neu.tau, "tau", nname))
                gain = float(_uniform(neu.r, "r", nname)) * dt / tau
                beta = 1.0 - dt / tau
                md = _meta(neu, "beta")
                if md is not None and abs(float(md) - beta) < 1e-9:
                    beta = float(md)
                if not 0.0 <= beta <= 1.0:
                    raise ValueError(f"{nname!r}: dt / tau = {dt / tau} is outside [0, 1]: "
                                     f"is dt = {dt:g} the graph's time step?")
            syn = _fold_pre(_read_synapse(node, sname, s, gain, False), pre, in_shape, sname)
            w = syn.weight.astype(np.float64)
            b = None if syn.bias is None else syn.bias.astype(np.float64)
            if quantized:
                scale = float(_meta(node, "scale") or 1.0)
                v_decay_q = _meta(node, "v_decay")
                membrane = MembraneReadout(
                    weight=w / scale, bias=None if b is None else b / scale, beta=beta,
                    weight_q=np.rint(w).astype(np.int64),
                    bias_q=None if b is None else np.rint(b).astype(np.int64),
                    v_decay_q=int(v_decay_q) if v_decay_q is not None
                    else int(round((1 - beta) * DECAY_UNITY)), scale=scale)
            else:
                membrane = MembraneReadout(weight=w, bias=b, beta=beta)
            pre = []
            break
        if not isinstance(neu, (nir.LIF, nir.CubaLIF, nir.IF)):
            raise _unsupported(nname, neu)
        gain, decay, i_decay = _neuron_params(neu, nname, dt, ours_v3)
        if quantized and (pre or mid):
            raise ValueError(f"{sname!r}: pooling or Scale nodes in a quantized graph")
        syn = _read_synapse(node, sname, s, gain, quantized)
        if not quantized:
            syn = _fold_mid(_fold_pre(syn, pre, in_shape, sname), mid, sname)
        pre = []
        rec = None
        if nname in recurrent:
            rnode = graph.nodes[recurrent[nname]]
            rsyn = _read_synapse(rnode, recurrent[nname], tuple(syn.out_shape), gain, quantized)
            rec = Dense(weight=rsyn.weight, bias=rsyn.bias,
                        weight_exp=int(_meta(rnode, "weight_exp") or 0) if quantized else 0)
        vth = _scalar_or_array(neu.v_threshold)
        mode = {"reset": str(_meta(neu, "reset") or reset),
                "reset_delay": bool(_meta(neu, "reset_delay") if _meta(neu, "reset_delay")
                                    is not None else reset_delay)}
        md_decay, md_th = _meta(neu, "v_decay"), _meta(neu, "vth" if quantized else "threshold")
        if md_th is not None and not np.allclose(np.asarray(md_th, np.float64),
                                                 np.asarray(vth, np.float64), rtol=1e-9,
                                                 atol=0.0):
            raise ValueError(f"{nname!r}: metadata threshold disagrees with v_threshold")
        if quantized:
            v_decay = md_decay if md_decay is not None else \
                np.round(np.asarray(decay) * DECAY_UNITY).astype(np.int64)
            if np.any(np.abs(np.asarray(v_decay) / DECAY_UNITY - decay) > 1e-9):
                raise ValueError(f"{nname!r}: metadata v_decay disagrees with tau")
            scale = _meta(neu, "scale")
            i_dec = _meta(neu, "i_decay")
            neuron = LoihiLIF(vth=md_th if md_th is not None else np.rint(vth).astype(np.int64),
                              v_decay=v_decay, scale=1.0 if scale is None else float(scale),
                              i_decay=DECAY_UNITY if i_dec is None else i_dec,
                              bias_in=str(_meta(neu, "bias_in") or "membrane"), **mode)
        else:
            v_decay = md_decay if md_decay is not None else decay
            if np.any(np.abs(np.asarray(v_decay, np.float64) - decay) > 1e-9):
                raise ValueError(f"{nname!r}: metadata v_decay disagrees with tau")
            memory = bool(np.any(np.asarray(i_decay) != 1.0))
            neuron = LIF(threshold=md_th if md_th is not None else vth, v_decay=v_decay,
                         i_decay=i_decay, bias_in=str(_meta(neu, "bias_in") or
                                                      ("current" if memory else "membrane")),
                         **mode)
        layers.append(Layer(syn, neuron, recurrent=rec))
        shape = tuple(syn.out_shape)
        i += 1
    if pre:
        raise ValueError(f"the graph ends with {', '.join(op[0] for op in pre)} nodes: end "
                         "with a layer")
    if not layers:
        raise ValueError(f"the graph has no spiking layer; ff-neuro deploys {SUPPORTED}")
    return layers, membrane


def read_layers(graph: nir.NIRGraph, dt: Optional[float] = None) -> List[Layer]:
    """The spiking layers of a NIR chain (see :data:`SUPPORTED`), the inverse of
    :func:`to_nir`; a non-spiking output layer after them is the membrane readout of
    :func:`from_nir`.

    Units follow the graph: for a quantized export (``graph.metadata["quantized"]``) Loihi
    layers (:class:`LoihiLIF`, integer weights and bias mantissas); otherwise float layers
    (:class:`LIF`). ``dt`` defaults to the graph's metadata; a graph without one needs it.

    Exact values come from the neuron metadata where present; otherwise ``v_decay = dt / tau``
    (snapped to a multiple of 1/4096 within 1e-9), and a neuron input gain ``c`` (``dt r / tau``
    for LIF, ``dt r`` for IF) different from 1 is folded into weight and bias. Raises
    ValueError for graphs outside ff-neuro's model (branches, ``v_leak`` or ``v_reset`` != 0,
    per-neuron thresholds or time constants, other node types), naming the node.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network(
        ...     [Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0, v_decay=0.125),
        ...      Layer.dense(weight=rng.normal(0, 0.5, (8, 16)), threshold=1.0, v_decay=0.125)],
        ...     label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> from ff_neuro.export.nir_export import read_layers
        >>> [(layer.n_out, layer.neuron.v_decay) for layer in read_layers(ffn.to_nir(net))]
        [(16, 0.125), (8, 0.125)]
    """
    return _read_chain(graph, dt)[0]


def read_graph(path: PathLike) -> nir.NIRGraph:
    """``nir.read(path)``; a graph whose node types fail NIR's own type check (Rockpool writes
    such files: an ``Output`` of shape ``[1, 1, 1]`` after a one-neuron LIF) is read again with
    the check off, with a warning that names the mismatch.

    Example::

        >>> from ff_neuro.export.nir_export import read_graph
        >>> g = read_graph("lif_rockpool.nir")                     # doctest: +SKIP
    """
    import warnings
    try:
        return nir.read(path)
    except ValueError as exc:
        if "type" not in str(exc).lower():
            raise
        warnings.warn(f"{path}: the graph fails NIR's type check ({str(exc).splitlines()[0]}); "
                      "read with type_check=False", UserWarning, stacklevel=2)
        return nir.read(path, type_check=False)


def from_nir(graph: nir.NIRGraph, dt: Optional[float] = None, *,
             time_steps: int = DEFAULT_TIME_STEPS, encoding: str = "rate", levels: int = 1,
             gain: float = 1.0, reset: str = "zero", reset_delay: bool = False) -> Network:
    """A :class:`Network` from a NIR graph: written by ff-neuro (:func:`to_nir`: its encoder,
    label embedding and readouts come from the metadata) or by any other tool (snnTorch,
    Norse, Sinabs, ...).

    A graph from another tool gets the input encoding ``encoding`` (``"rate"`` or
    ``"graded"``, ``levels``, ``gain``) for ``time_steps`` steps, and its readout from its end:
    spike counts of the last spiking layer, or a non-spiking output layer (a trailing Linear /
    Affine, optionally followed by an ``LI``) read by its membrane. ``dt`` (the time step the
    graph's time constants refer to) defaults to the graph's metadata; a graph without one
    needs it: snnTorch writes graphs for ``dt = 1e-4``. NIR cannot say how a neuron resets:
    ``reset`` (``"zero"``, NIR's ``v_reset = 0``, or ``"subtract"``) and ``reset_delay`` (the
    reset one step later, snnTorch's ``reset_delay=True``) say it for graphs from other tools
    (ff-neuro's own graphs carry it in their metadata). Recurrent layers (a Linear / Affine
    from a neuron back to itself), ``CubaLIF``, pooling, ``Scale`` and subgraphs are read as
    :data:`NIR_SUPPORT` lists.

    A quantized ff-neuro graph gives a network whose ``quantized`` layers are the graph's and
    whose float layers are their values divided by each layer's ``scale``.

    Example::

        >>> import nir
        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> net = ffn.from_nir(nir.read("snntorch_model.nir"), dt=1e-4)   # doctest: +SKIP

    A graph of another tool, here written by hand: snnTorch's ``Leaky(beta=0.875)`` after a
    ``Linear(64, 10)``, in NIR's convention for ``dt = 1e-4``::

        >>> dt, beta = 1e-4, 0.875
        >>> tau = dt / (1 - beta)
        >>> w = np.random.default_rng(0).normal(0, 0.5, (10, 64)).astype(np.float32)
        >>> graph = nir.NIRGraph(
        ...     nodes={"input": nir.Input(input_type={"input": np.array([64])}),
        ...            "fc": nir.Linear(weight=w),
        ...            "lif": nir.LIF(tau=np.full(10, tau), r=np.full(10, tau / dt),
        ...                           v_leak=np.zeros(10), v_threshold=np.ones(10)),
        ...            "output": nir.Output(output_type={"output": np.array([10])})},
        ...     edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
        >>> net = ffn.from_nir(graph, dt=dt, time_steps=25)
        >>> net.sizes, net.layers[0].neuron, net.readout.kind
        ([64, 10], LIF(threshold=1.0, v_decay=0.125), 'spike-count')

    A graph ff-neuro wrote comes back whole (encoder, label embedding, readouts)::

        >>> rng = np.random.default_rng(0)
        >>> ours = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                 v_decay=0.125)],
        ...                    label_embedding=LabelEmbedding(),
        ...                    encoder=InputEncoding(time_steps=8))
        >>> back = ffn.from_nir(ffn.to_nir(ours))
        >>> back.readout.kind, back.time_steps, bool(np.array_equal(back.layers[0].weight,
        ...                                                         ours.layers[0].weight))
        ('sweep', 8, True)
    """
    g = graph.metadata if isinstance(graph.metadata, dict) else {}
    ours = g.get("producer") == "ff-neuro" and "readouts" in g
    if not ours:
        layers, membrane = _read_chain(graph, dt, reset, reset_delay)
        readout = membrane if membrane is not None else \
            SpikeCountReadout(n_classes=layers[-1].n_out)
        return Network(layers=layers,
                       encoder=InputEncoding(kind=encoding, time_steps=time_steps, gain=gain,
                                             levels=levels),
                       readouts=[readout], n_classes=readout.n_classes,
                       training={"imported_from": "nir", "producer": str(g.get("producer",
                                                                              "unknown"))})
    if dt is None and "dt" not in g:
        dt = 1.0                  # ff-neuro graphs before the dt default was written
    layers, membrane = _read_chain(graph, dt)
    if "host_encoder" in g:
        e = dict(g["host_encoder"])
        e.pop("equation", None)
        e.setdefault("time_steps", g.get("time_steps", 10))
        encoder = AnalogConvEncoder.from_dict(e)
    else:
        encoder = InputEncoding.from_dict(g["encoding"])
    emb = LabelEmbedding.from_dict(g["label_embedding"]) if "label_embedding" in g else None
    neurons = [graph.nodes[n] for n in _chain(_flatten_subgraphs(graph))[0]
               if isinstance(graph.nodes[n], (nir.LIF, nir.CubaLIF, nir.IF))]
    readouts = []
    for key in sorted(g["readouts"], key=int):
        d = dict(g["readouts"][key])
        kind = str(d.pop("type"))
        if kind == LabelSweep.type_name:
            readouts.append(LabelSweep.from_dict(d))
        elif kind == LinearReadout.type_name:
            readouts.append(LinearReadout.from_dict(d))
        elif kind == SpikeCountReadout.type_name:
            readouts.append(SpikeCountReadout.from_dict(d))
        elif kind == MembraneReadout.type_name:
            if membrane is None:
                raise ValueError("the metadata names a membrane readout but the graph has no "
                                 "non-spiking output layer")
            readouts.append(membrane)
        elif kind == ClassGroups.type_name:
            groups = []
            for k, neu in enumerate(neurons):
                cg = (neu.metadata or {}).get("class_groups")
                if cg is None:
                    raise ValueError(f"neuron{k}: no class_groups in its metadata (the readout "
                                     "needs the class of every channel)")
                groups.append(np.asarray(cg, dtype=np.int64))
            readouts.append(ClassGroups(groups, n_classes=int(d["n_classes"]),
                                        predict_layers=tuple(np.atleast_1d(d["predict_layers"]))))
        else:
            raise ValueError(f"unknown readout {kind!r} in the graph's metadata")
    quantized = None
    if bool(g.get("quantized", False)):
        quantized, layers = layers, [dequantize_layer(q, encoder if k == 0 else None)
                                     for k, q in enumerate(layers)]
    return Network(layers=layers, encoder=encoder, label_embedding=emb, readouts=readouts,
                   n_classes=int(g["n_classes"]), quantized=quantized,
                   training={"imported_from": "nir"})


def write_nir(net: Network, path: PathLike, quantized: bool = False,
              dt: Optional[float] = None, r_one: bool = False) -> Path:
    """Write ``to_nir(net, quantized, dt, r_one)`` with ``nir.write`` (atomically); returns the
    path.

    ``nir.write`` is plain ``h5py.File(path, "w")`` and needs no particular suffix; ``.nir`` is
    the customary one. Read back with ``nir.read(path)`` and :func:`from_nir`.

    Example::

        >>> import nir
        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network(
        ...     [Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0, v_decay=0.125),
        ...      Layer.dense(weight=rng.normal(0, 0.5, (8, 16)), threshold=1.0, v_decay=0.125)],
        ...     label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> ffn.write_nir(net, "model.nir").name
        'model.nir'
        >>> ffn.from_nir(nir.read("model.nir")).sizes
        [74, 16, 8]
    """
    graph = to_nir(net, quantized=quantized, dt=dt, r_one=r_one)
    path = Path(path)
    with atomic_path(path) as tmp:
        nir.write(tmp, graph)
    return path
