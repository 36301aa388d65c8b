"""NIR export: an :class:`FFNetwork` as a Neuromorphic Intermediate Representation graph.

Graph (a chain, one branch per layer ``k``)::

    input --> fc0 --> neuron0 --> fc1 --> neuron1 --> ... --> output
    Input      Linear   LIF        ...                         Output
    (n_in,)    or Affine or IF                                 (n_out of the last layer)

``fc<k>`` is ``nir.Linear(W)`` (``nir.Affine(W, b)`` when the layer has a bias), ``W`` of shape
``(n_out, n_in)``; ``neuron<k>`` is ``nir.LIF`` (or ``nir.IF`` when ``v_decay == 0``).

Mapping of the neuron equations
-------------------------------
Ours (:class:`~ff_neuro.model.primitives.SpikingDense`, discrete time, du = 1)::

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

Everything else NIR cannot express is in ``metadata`` (NIR 1.0.8 nodes and graphs carry a
``metadata`` dict that ``nir.write``/``nir.read`` keep):

* graph: ``dt`` (the step NIR's time constants refer to; default 1: one step = one time unit),
  ``discretization = "forward_euler"``, the time convention (layer ``k`` sees layer ``k-1``'s
  spikes of the same step: NIR edges carry no delay), ``quantized``, and the readout NIR has no
  node for: input encoding, label embedding and ``goodness_from_layer`` of Forward-Forward.
* neuron nodes: the exact ``v_decay`` and ``threshold`` (``dt / tau`` is not always bit-exact in
  float64: for 640 of the 4096 Loihi decays ``1/(4096/k) != k/4096``), ``layer``, ``dt``.

:func:`from_nir` prefers the metadata values and otherwise derives them from ``tau``/``r``
(snapping ``dt / tau`` to the nearest multiple of 1/4096 when within 1e-9), so graphs from other
tools can be read too.

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
from typing import List, NamedTuple, Optional

import nir
import numpy as np

from ff_neuro.fileio import PathLike, atomic_path
from ff_neuro.model.primitives import DECAY_UNITY, FFNetwork

#: Version of the metadata conventions below (bump when they change).
NIR_FORMAT_VERSION = 1

EQUATIONS = ("v[t] = (1 - v_decay) * v[t-1] + W x[t] + bias; s[t] = v[t] > threshold; "
             "v[t] = 0 where s[t]  (one step = dt; LIF: tau = dt / v_decay, r = 1 / v_decay; "
             "IF when v_decay = 0: r = 1 / dt)")
FIXED_POINT = ("Lava fixed_pt LIF, du = 1: v[t] = sat24(trunc(v[t-1] * (4096 - v_decay) / 4096)"
               " + ((W_q x[t] + bias_mant) << 6)); s = v > vth << 6; v = 0 where s. "
               "NIR holds the mantissas; trunc and sat24 are not expressed.")
TIME_CONVENTION = ("layer k at step t sees layer k-1's spikes of the same step t (edges carry "
                   "no delay); state is reset between samples")


class NIRLayer(NamedTuple):
    """One layer as read back from a NIR graph (float or Loihi-integer units, see from_nir)."""

    weight: np.ndarray
    bias: Optional[np.ndarray]
    threshold: float
    v_decay: float


def _full(n, value, dtype) -> np.ndarray:
    return np.full(n, value, dtype=dtype)


def _neuron(n, threshold, v_decay_frac: float, dt: float, th_dtype, metadata: dict):
    """The NIR neuron whose forward-Euler step (length ``dt``) is our update; ``n`` is the
    number of neurons or the shape of their arrays (conv layers: ``(C, H, W)``)."""
    if v_decay_frac == 0.0:
        return nir.IF(r=_full(n, 1.0 / dt, np.float64),
                      v_threshold=_full(n, threshold, th_dtype),
                      v_reset=_full(n, 0, th_dtype), metadata=metadata)
    return nir.LIF(tau=_full(n, dt / v_decay_frac, np.float64),
                   r=_full(n, 1.0 / v_decay_frac, np.float64),
                   v_leak=_full(n, 0.0, np.float64),
                   v_threshold=_full(n, threshold, th_dtype),
                   v_reset=_full(n, 0, th_dtype), metadata=metadata)


def _synapses(weight: np.ndarray, bias: Optional[np.ndarray], metadata: dict):
    if bias is None:
        return nir.Linear(weight=weight, metadata=metadata)
    return nir.Affine(weight=weight, bias=bias, metadata=metadata)


def to_nir(net: FFNetwork, quantized: bool = False, dt: float = 1.0) -> nir.NIRGraph:
    """``net`` as a NIR graph (see the module docstring for the mapping).

    ``quantized=True`` exports the Loihi integers of ``net.quantized`` instead of the float
    layers. ``dt`` is the time step NIR's time constants refer to: 1 (default) makes one step
    one time unit; snnTorch's NIR importer assumes ``dt = 1e-4``.
    """
    dt = float(dt)
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive finite number, got {dt}")
    if quantized and net.quantized is None:
        raise ValueError("quantized NIR export needs a quantized model (run quantization first)")
    nodes = {"input": nir.Input(input_type={"input": np.array([net.layers[0].n_in])})}
    edges = []
    prev = "input"
    layers = net.quantized if quantized else net.layers
    for k, layer in enumerate(layers):
        if quantized:
            if layer.i_decay != DECAY_UNITY:
                raise ValueError(
                    f"layer {k}: i_decay = {layer.i_decay} (current memory) cannot be exported: "
                    f"the NIR export supports du = 1 (i_decay = {DECAY_UNITY}) only")
            meta = {"layer": k, "dt": dt, "units": "loihi_integer", "scale": layer.scale,
                    "v_decay": layer.v_decay, "i_decay": layer.i_decay, "vth": layer.vth,
                    "decay_unity": DECAY_UNITY, "fixed_point": FIXED_POINT}
            syn = _synapses(layer.weight.astype(np.int32),
                            None if layer.bias_mant is None else layer.bias_mant.astype(np.int32),
                            {"layer": k, "units": "loihi_integer", "scale": layer.scale})
            neuron = _neuron(layer.n_out, layer.vth, layer.v_decay / DECAY_UNITY, dt,
                             np.int32, meta)
        else:
            meta = {"layer": k, "dt": dt, "units": "float", "v_decay": layer.v_decay,
                    "threshold": layer.threshold}
            syn = _synapses(layer.weight.astype(np.float32),
                            None if layer.bias is None else layer.bias.astype(np.float32),
                            {"layer": k, "units": "float"})
            neuron = _neuron(layer.n_out, layer.threshold, layer.v_decay, dt, np.float64, meta)
        nodes[f"fc{k}"], nodes[f"neuron{k}"] = syn, neuron
        edges += [(prev, f"fc{k}"), (f"fc{k}", f"neuron{k}")]
        prev = f"neuron{k}"
    nodes["output"] = nir.Output(output_type={"output": np.array([layers[-1].n_out])})
    edges.append((prev, "output"))
    enc, lab = net.encoding, net.label_embedding
    metadata = {
        "producer": "ff-neuro", "ff_neuro_nir_format": NIR_FORMAT_VERSION,
        "quantized": bool(quantized), "dt": dt, "discretization": "forward_euler",
        "equations": EQUATIONS, "time_convention": TIME_CONVENTION,
        "encoding": {"kind": enc.kind, "time_steps": enc.time_steps, "gain": enc.gain,
                     "seed": enc.seed},
        "label_embedding": {"kind": lab.kind, "n_classes": lab.n_classes,
                            "amplitude": lab.amplitude},
        "goodness_from_layer": net.goodness_from_layer, "goodness": net.goodness,
        "goodness_eps": net.goodness_eps,
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


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
    return float(_uniform(neu.r, "r", nname)) * dt / tau, dt / tau


def from_nir(graph: nir.NIRGraph, dt: Optional[float] = None) -> List[NIRLayer]:
    """The inverse of :func:`to_nir`: ``(weight, bias, threshold, v_decay)`` per layer.

    Units follow the graph: for a quantized export (``graph.metadata["quantized"]``) the
    Loihi integers (int32 ``W_q``, int32 ``bias_mant`` or None, int ``vth``, int ``v_decay`` in
    1/4096); otherwise float32 weight and bias (or None), float threshold and ``v_decay`` in
    [0, 1]. ``dt`` defaults to the graph's metadata, else 1.

    Exact values come from the neuron metadata where present; otherwise ``v_decay = dt / tau``
    (snapped to a multiple of 1/4096 within 1e-9), and a neuron input gain ``c`` (``dt r / tau``
    for LIF, ``dt r`` for IF) different from 1 is folded into weight and bias. Raises
    ValueError for graphs outside ff-neuro's model (branches, ``v_leak`` or ``v_reset`` != 0,
    per-neuron thresholds or time constants, other node types).
    """
    gmeta = graph.metadata if isinstance(graph.metadata, dict) else {}
    quantized = bool(gmeta.get("quantized", False))
    if dt is None:
        dt = float(gmeta.get("dt", 1.0))
    order = _chain(graph)
    body = order[1:-1]
    if len(body) == 0 or len(body) % 2:
        raise ValueError("expected input -> (Linear|Affine -> LIF|IF)+ -> output")
    layers: List[NIRLayer] = []
    for k in range(0, len(body), 2):
        sname, nname = body[k], body[k + 1]
        syn, neu = graph.nodes[sname], graph.nodes[nname]
        if not isinstance(syn, (nir.Linear, nir.Affine)):
            raise ValueError(f"{sname!r}: expected Linear or Affine, got {type(syn).__name__}")
        if not isinstance(neu, (nir.LIF, nir.IF)):
            raise ValueError(f"{nname!r}: expected LIF or IF, got {type(neu).__name__}")
        w = np.asarray(syn.weight)
        b = np.asarray(syn.bias) if isinstance(syn, nir.Affine) else None
        if w.ndim != 2 or (b is not None and b.shape != (w.shape[0],)):
            raise ValueError(f"{sname!r}: weight must be (n_out, n_in) and bias (n_out,)")
        gain, decay = _neuron_params(neu, nname, dt)
        if not np.isclose(gain, 1.0, rtol=1e-9, atol=0.0):
            w = w * gain
            b = None if b is None else b * gain
        snapped = round(decay * DECAY_UNITY)
        if abs(decay * DECAY_UNITY - snapped) < 1e-9:
            decay = snapped / DECAY_UNITY
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"{nname!r}: dt / tau = {decay} is outside [0, 1]")
        vth = _uniform(neu.v_threshold, "v_threshold", nname)
        md_decay, md_th = _meta(neu, "v_decay"), _meta(neu, "vth" if quantized else "threshold")
        if md_th is not None and not np.isclose(float(md_th), float(vth), rtol=1e-9, atol=0.0):
            raise ValueError(f"{nname!r}: metadata threshold disagrees with v_threshold")
        if quantized:
            v_decay = int(md_decay) if md_decay is not None else int(round(decay * DECAY_UNITY))
            if abs(v_decay / DECAY_UNITY - decay) > 1e-9:
                raise ValueError(f"{nname!r}: metadata v_decay disagrees with tau")
            layers.append(NIRLayer(
                np.rint(w).astype(np.int32), None if b is None else np.rint(b).astype(np.int32),
                int(md_th) if md_th is not None else int(round(float(vth))), v_decay))
        else:
            v_decay = float(md_decay) if md_decay is not None else decay
            if abs(v_decay - decay) > 1e-9:
                raise ValueError(f"{nname!r}: metadata v_decay disagrees with tau")
            layers.append(NIRLayer(
                w.astype(np.float32), None if b is None else b.astype(np.float32),
                float(md_th) if md_th is not None else float(vth), v_decay))
    for k in range(1, len(layers)):
        if layers[k].weight.shape[1] != layers[k - 1].weight.shape[0]:
            raise ValueError(f"layer {k} input size does not match layer {k - 1} output size")
    return layers


def write_nir(net: FFNetwork, path: PathLike, quantized: bool = False,
              dt: float = 1.0) -> Path:
    """Write ``to_nir(net, quantized, dt)`` with ``nir.write`` (atomically); returns the path.

    ``nir.write`` is plain ``h5py.File(path, "w")`` and needs no particular suffix; ``.nir`` is
    the customary one. Read back with ``nir.read(path)``.
    """
    graph = to_nir(net, quantized=quantized, dt=dt)
    path = Path(path)
    with atomic_path(path) as tmp:
        nir.write(tmp, graph)
    return path
