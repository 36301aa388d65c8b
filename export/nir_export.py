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
the Euler step), so such layers are exported as NIR's ``IF`` (``dv/dt = r I``) with
``r = 1/dt``: ``v[t] = v[t-1] + dt * r * I[t] = v[t-1] + I[t]``. ``v_decay = 1`` gives
``tau = dt, r = 1``: ``v[t] = I[t]``, no memory.

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

from pathlib import Path
from typing import List, Optional

import nir
import numpy as np

from ff_neuro.fileio import PathLike, atomic_path
from ff_neuro.model import (AnalogConvEncoder, ClassGroups, Conv2d, Dense, InputEncoding,
                            LabelEmbedding, LabelSweep, Layer, LinearReadout, MembraneReadout,
                            Network, SpikeCountReadout)
from ff_neuro.model.neuron import DECAY_UNITY, LIF, LoihiLIF

#: Version of the metadata conventions below (bump when they change).
NIR_FORMAT_VERSION = 3
#: The time step written by default: snnTorch's NIR reader and writer assume 1e-4.
DEFAULT_DT = 1e-4
#: Time steps of the input encoding of a graph from another tool, when none is given.
DEFAULT_TIME_STEPS = 25
NO_DT = ("the graph does not say its time step dt (no 'dt' in its metadata), and its LIF time "
         "constants only mean something with one: pass dt (ff-neuro import --dt; snnTorch "
         "writes graphs for dt = 1e-4, Norse reads them with dt = 1e-3 by default)")

EQUATIONS = ("u[t] = W x[t] or conv2d(x[t], W, stride, padding); v[t] = (1 - v_decay) * v[t-1] "
             "+ u[t] + bias; s[t] = v[t] > threshold; v[t] = 0 where s[t]  (one step = dt; "
             "LIF: tau = dt / v_decay, r = 1 / v_decay; IF when v_decay = 0: r = 1 / dt)")
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


def _gain(v_decay_frac: float, dt: float) -> float:
    """NIR's ``r`` that makes the Euler step add the input with gain 1: ``tau / dt`` for a LIF,
    ``1 / dt`` for an IF."""
    return 1.0 / dt if v_decay_frac == 0.0 else 1.0 / v_decay_frac


def _neuron(shape, threshold, v_decay_frac: float, dt: float, th_dtype, metadata: dict,
            r_one: bool = False):
    """The NIR neuron whose forward-Euler step (length ``dt``) is our update; ``shape`` is the
    shape of its arrays (the layer's output shape). ``r_one``: ``r = 1`` (the caller folds
    :func:`_gain` into the weights)."""
    r = 1.0 if r_one else _gain(v_decay_frac, dt)
    if v_decay_frac == 0.0:
        return nir.IF(r=_full(shape, r, np.float64),
                      v_threshold=_full(shape, threshold, th_dtype),
                      v_reset=_full(shape, 0, th_dtype), metadata=metadata)
    return nir.LIF(tau=_full(shape, dt / v_decay_frac, np.float64),
                   r=_full(shape, r, np.float64),
                   v_leak=_full(shape, 0.0, np.float64),
                   v_threshold=_full(shape, threshold, th_dtype),
                   v_reset=_full(shape, 0, th_dtype), metadata=metadata)


def _synapse_node(layer: Layer, weight: np.ndarray, bias: Optional[np.ndarray], meta: dict):
    syn = layer.synapse
    if isinstance(syn, Conv2d):
        return nir.Conv2d(
            input_shape=tuple(syn.in_shape[1:]), weight=weight, stride=syn.stride,
            padding=syn.padding, dilation=1, groups=1,
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
        if quantized:
            n = layer.neuron
            if n.i_decay != DECAY_UNITY:
                raise ValueError(
                    f"layer {k}: i_decay = {n.i_decay} (current memory) cannot be exported: "
                    f"the NIR export supports du = 1 (i_decay = {DECAY_UNITY}) only")
            meta = {"layer": k, "dt": dt, "units": "loihi_integer", "scale": n.scale,
                    "v_decay": n.v_decay, "i_decay": n.i_decay, "vth": n.vth,
                    "decay_unity": DECAY_UNITY, "fixed_point": FIXED_POINT}
            syn = _synapse_node(layer, layer.weight.astype(np.int32),
                                None if layer.bias is None else layer.bias.astype(np.int32),
                                {"layer": k, "units": "loihi_integer", "scale": n.scale})
            neuron = _neuron(layer.out_shape, n.vth, n.v_decay / DECAY_UNITY, dt, np.int32, meta)
        else:
            n = layer.neuron
            meta = {"layer": k, "dt": dt, "units": "float", "v_decay": n.v_decay,
                    "threshold": n.threshold}
            g = _gain(n.v_decay, dt) if r_one else 1.0
            syn = _synapse_node(layer, (layer.weight * g).astype(np.float32),
                                None if layer.bias is None else
                                (layer.bias * g).astype(np.float32),
                                {"layer": k, "units": "float", "r_folded": bool(r_one)})
            neuron = _neuron(layer.out_shape, n.threshold, n.v_decay, dt, np.float64, meta,
                             r_one)
        if k in groups:
            neuron.metadata["class_groups"] = np.asarray(groups[k], dtype=np.int64)
        nodes[f"{kind}{k}"], nodes[f"neuron{k}"] = syn, neuron
        edges += [(prev, f"{kind}{k}"), (f"{kind}{k}", f"neuron{k}")]
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


def _chain(graph: nir.NIRGraph) -> List[str]:
    """Node names from the single Input to the single Output, following the edges."""
    inputs = [k for k, n in graph.nodes.items() if isinstance(n, nir.Input)]
    if len(inputs) != 1:
        raise ValueError(f"expected one Input node, found {len(inputs)}")
    succ: dict = {}
    for a, b in graph.edges:
        succ.setdefault(a, []).append(b)
    order = [inputs[0]]
    while not isinstance(graph.nodes[order[-1]], nir.Output):
        nxt = succ.get(order[-1], [])
        if len(nxt) != 1:
            raise ValueError(f"node {order[-1]!r} has {len(nxt)} successors: not a chain")
        if nxt[0] in order:
            raise ValueError(f"cycle at node {nxt[0]!r}")
        order.append(nxt[0])
    if len(order) != len(graph.nodes):
        raise ValueError("graph has nodes outside the input -> output chain")
    return order


def _uniform(a, what: str, name: str) -> float:
    a = np.asarray(a)
    if a.size == 0 or not np.all(a == a.flat[0]):
        raise ValueError(f"{name}: {what} must be the same for all neurons")
    return a.flat[0]


def _meta(node, key):
    v = (node.metadata or {}).get(key)
    return None if v is None else v.item() if isinstance(v, np.generic) else v


def _neuron_params(neu, nname: str, dt: float) -> tuple:
    """(input gain, dt / tau) of an IF or LIF node of ff-neuro's model (reset to zero, no
    leak potential, one tau and r for all neurons); the inverse of :func:`_neuron`."""
    if np.any(np.asarray(neu.v_reset) != 0):
        raise ValueError(f"{nname!r}: v_reset != 0 is not supported (reset to zero)")
    if isinstance(neu, nir.IF):
        return float(_uniform(neu.r, "r", nname)) * dt, 0.0
    if np.any(np.asarray(neu.v_leak) != 0):
        raise ValueError(f"{nname!r}: v_leak != 0 is not supported")
    tau = float(_uniform(neu.tau, "tau", nname))
    decay = dt / tau
    if np.asarray(neu.tau).dtype == np.float32:
        decay = _float32_decay(np.float32(tau), dt, decay)
    return float(_uniform(neu.r, "r", nname)) * dt / tau, decay


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


def _read_synapse(node, name: str, in_shape: tuple, gain: float, integer: bool):
    """A Dense or Conv2d from a Linear / Affine / Conv2d node, the neuron's input gain ``gain``
    folded into weight and bias."""
    if isinstance(node, nir.Conv2d):
        if _pair(node.dilation, "dilation", name) != 1 or int(node.groups) != 1:
            raise ValueError(f"{name!r}: dilation and groups must be 1")
        if isinstance(node.padding, str):
            raise ValueError(f"{name!r}: padding {node.padding!r} is not supported (give it "
                             "in pixels)")
        w, b = np.asarray(node.weight), np.asarray(node.bias)
        if _meta(node, "has_bias") is False:
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
    if not np.isclose(gain, 1.0, rtol=1e-6, atol=0.0):   # float32 graphs: r * dt / tau ~ 1
        w = w * gain
        b = None if b is None else b * gain
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


SUPPORTED = ("input -> ([Flatten] -> Linear | Affine | Conv2d -> LIF | IF)+ -> [Linear | "
             "Affine -> [LI]] -> output")


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
    why = {"CubaLIF": "synaptic-current neurons (current memory) are not deployed",
           "AvgPool2d": "pool in the model before export only in front of a Linear layer "
                        "(ff_neuro.from_snntorch folds that), or use a strided convolution",
           "SumPool2d": "use a strided convolution",
           "Threshold": "a bare threshold has no membrane",
           "Delay": "edges with delays are not supported"}.get(kind, "")
    return ValueError(f"{name!r}: NIR {kind} nodes are not supported"
                      + (f" ({why})" if why else "") + f"; ff-neuro deploys {SUPPORTED}")


def _read_chain(graph: nir.NIRGraph, dt: Optional[float] = None) -> tuple:
    """``(layers, membrane)``: the spiking layers of the chain and the non-spiking output layer
    after them as a :class:`MembraneReadout` (or None)."""
    gmeta = graph.metadata if isinstance(graph.metadata, dict) else {}
    quantized = bool(gmeta.get("quantized", False))
    order = _chain(graph)
    body = order[1:-1]
    if any(isinstance(graph.nodes[n], (nir.LIF, nir.IF, nir.LI)) for n in body):
        dt = _graph_dt(graph, dt)
    shape = tuple(int(s) for s in np.atleast_1d(graph.nodes[order[0]].input_type["input"]))
    layers: List[Layer] = []
    membrane = None
    i = 0
    while i < len(body):
        node = graph.nodes[body[i]]
        if isinstance(node, nir.Flatten):
            shape = (int(np.prod(shape)),)
            i += 1
            continue
        if not isinstance(node, (nir.Linear, nir.Affine, nir.Conv2d)):
            raise _unsupported(body[i], node)
        sname = body[i]
        nname = body[i + 1] if i + 1 < len(body) else None
        neu = graph.nodes[nname] if nname is not None else None
        if neu is None or isinstance(neu, nir.LI):
            # the non-spiking output layer: currents summed (no neuron) or a leaky integrator
            if (neu is not None and i + 2 != len(body)) or isinstance(node, nir.Conv2d):
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
            syn = _read_synapse(node, sname, shape, gain, False)
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
            break
        if not isinstance(neu, (nir.LIF, nir.IF)):
            raise _unsupported(nname, neu)
        gain, decay = _neuron_params(neu, nname, dt)
        syn = _read_synapse(node, sname, shape, gain, quantized)
        snapped = round(decay * DECAY_UNITY)
        if abs(decay * DECAY_UNITY - snapped) < 1e-9:
            decay = snapped / DECAY_UNITY
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"{nname!r}: dt / tau = {decay} is outside [0, 1]: is dt = "
                             f"{dt:g} the graph's time step? (snnTorch writes graphs for "
                             "dt = 1e-4; pass dt)")
        vth = _uniform(neu.v_threshold, "v_threshold", nname)
        md_decay, md_th = _meta(neu, "v_decay"), _meta(neu, "vth" if quantized else "threshold")
        if md_th is not None and not np.isclose(float(md_th), float(vth), rtol=1e-9, atol=0.0):
            raise ValueError(f"{nname!r}: metadata threshold disagrees with v_threshold")
        if quantized:
            v_decay = int(md_decay) if md_decay is not None else int(round(decay * DECAY_UNITY))
            if abs(v_decay / DECAY_UNITY - decay) > 1e-9:
                raise ValueError(f"{nname!r}: metadata v_decay disagrees with tau")
            scale = _meta(neu, "scale")
            neuron = LoihiLIF(vth=int(md_th) if md_th is not None else int(round(float(vth))),
                              v_decay=v_decay, scale=1.0 if scale is None else float(scale))
        else:
            v_decay = float(md_decay) if md_decay is not None else decay
            if abs(v_decay - decay) > 1e-9:
                raise ValueError(f"{nname!r}: metadata v_decay disagrees with tau")
            neuron = LIF(threshold=float(md_th) if md_th is not None else float(vth),
                         v_decay=v_decay)
        layers.append(Layer(syn, neuron))
        shape = tuple(syn.out_shape)
        i += 2
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


def _dequantized(q: Layer) -> Layer:
    """A float layer with the values a Loihi layer stands for (integers / scale)."""
    s = q.neuron.scale
    syn = q.synapse
    kw = dict(weight=syn.weight / s, bias=None if syn.bias is None else syn.bias / s)
    if isinstance(syn, Conv2d):
        syn = Conv2d(in_shape=syn.in_shape, stride=syn.stride, padding=syn.padding, **kw)
    else:
        syn = Dense(in_shape=syn.in_shape, **kw)
    return Layer(syn, LIF(threshold=q.neuron.vth / s, v_decay=q.neuron.v_decay / DECAY_UNITY))


def from_nir(graph: nir.NIRGraph, dt: Optional[float] = None, *,
             time_steps: int = DEFAULT_TIME_STEPS, encoding: str = "rate", levels: int = 1,
             gain: float = 1.0) -> Network:
    """A :class:`Network` from a NIR graph: written by ff-neuro (:func:`to_nir`: its encoder,
    label embedding and readouts come from the metadata) or by any other tool (snnTorch,
    Norse, Sinabs, ...).

    A graph from another tool gets the input encoding ``encoding`` (``"rate"`` or
    ``"graded"``, ``levels``, ``gain``) for ``time_steps`` steps, and its readout from its end:
    spike counts of the last spiking layer, or a non-spiking output layer (a trailing Linear /
    Affine, optionally followed by an ``LI``) read by its membrane. ``dt`` (the time step the
    graph's time constants refer to) defaults to the graph's metadata; a graph without one
    needs it: snnTorch writes graphs for ``dt = 1e-4``.

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
        layers, membrane = _read_chain(graph, dt)
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
    neurons = [graph.nodes[n] for n in _chain(graph) if isinstance(graph.nodes[n],
                                                                   (nir.LIF, nir.IF))]
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
        quantized, layers = layers, [_dequantized(q) for q in layers]
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
