"""NIR export of a :class:`~ff_neuro.model.conv.ConvFFNetwork` (FFGAF-SNN and other conv nets).

Graph (a chain, one ``conv<k> -> neuron<k>`` pair per spiking layer)::

    input --> conv0 --> neuron0 --> conv1 --> neuron1 --> ... --> output
    Input     Conv2d    IF / LIF                                  Output
    (C, H, W) of the encoder's output

``conv<k>`` is ``nir.Conv2d`` (PyTorch layout ``(C_out, C_in, kh, kw)``, cross-correlation,
stride, padding, dilation 1, one group, bias per output channel; zeros when the layer has none);
``neuron<k>`` is ``nir.IF`` (``v_decay = 0``, FFGAF's IF neurons) or ``nir.LIF``, with per-neuron
arrays of shape ``(C_out, H_out, W_out)``. The neuron mapping is the dense one
(:mod:`ff_neuro.export.nir_export`): with step ``dt``, ``IF: r = 1 / dt``; ``LIF: tau = dt /
v_decay, r = 1 / v_decay``; ``v_reset = 0``, strict threshold, reset to zero.

What NIR has no node for is in the graph's ``metadata``:

* ``host_encoder``: FFGAF's analog first block, which runs on the host, with its parameters
  (``weight``, ``bias``, ``stride``, ``padding``, ``levels``, ``clip``, ``shift``, ``in_shape``)
  and equation. The graph's ``input`` is the encoder's output ``a = k * clip / levels``, the
  same value at every one of ``time_steps`` steps.
* the readout: ``n_classes``, ``time_steps``, ``predict_layers`` and, on each neuron node,
  ``class_groups`` (the class of every output channel): prediction is the argmax over classes of
  the mean squared spike rate of each class's channels, summed over ``predict_layers``.

Float parameters only: the quantized conv layers' integer semantics are those of
:mod:`ff_neuro.export.netx` (NetX ``conv`` layers), which Lava runs bit-exactly.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import nir
import numpy as np

from ff_neuro.fileio import PathLike, atomic_path
from ff_neuro.model.conv import AnalogConvEncoder, ConvFFNetwork, SpikingConv2d

from .nir_export import (NIR_FORMAT_VERSION, TIME_CONVENTION, _chain, _meta, _neuron,
                         _neuron_params, _uniform)

EQUATIONS = ("u[t] = conv2d(x[t], W, stride, padding); v[t] = (1 - v_decay) * v[t-1] + u[t] + "
             "bias; s[t] = v[t] > threshold; v[t] = 0 where s[t]  (IF when v_decay = 0: "
             "r = 1 / dt; LIF: tau = dt / v_decay, r = 1 / v_decay)")
ENCODER_EQUATION = ("z = conv2d(image, weight, stride, padding) + bias; k = clip(floor(z * "
                    "levels / clip + shift), 0, levels); input a = k * clip / levels at every "
                    "step (FFGAF eq. 13, on the host)")


def conv_to_nir(net: ConvFFNetwork, dt: float = 1.0) -> nir.NIRGraph:
    """``net``'s spiking layers as a NIR graph, its host encoder and readout as metadata."""
    dt = float(dt)
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be a positive finite number, got {dt}")
    enc = net.encoder
    nodes = {"input": nir.Input(input_type={"input": np.array(enc.out_shape)})}
    edges, prev = [], "input"
    for k, (layer, groups) in enumerate(zip(net.layers, net.class_groups)):
        out = tuple(layer.out_shape)
        bias = (np.zeros(layer.weight.shape[0], np.float32) if layer.bias is None
                else np.asarray(layer.bias, np.float32))
        nodes[f"conv{k}"] = nir.Conv2d(
            input_shape=tuple(layer.in_shape[1:]), weight=layer.weight.astype(np.float32),
            stride=layer.stride, padding=layer.padding, dilation=1, groups=1, bias=bias,
            metadata={"layer": k, "has_bias": layer.bias is not None})
        meta = {"layer": k, "dt": dt, "threshold": float(layer.threshold),
                "v_decay": float(layer.v_decay),
                "class_groups": np.asarray(groups, dtype=np.int64)}
        nodes[f"neuron{k}"] = _neuron(out, float(layer.threshold), float(layer.v_decay), dt,
                                      np.float64, meta)
        edges += [(prev, f"conv{k}"), (f"conv{k}", f"neuron{k}")]
        prev = f"neuron{k}"
    nodes["output"] = nir.Output(output_type={"output": np.array(net.layers[-1].out_shape)})
    edges.append((prev, "output"))
    metadata = {
        "producer": "ff-neuro", "ff_neuro_nir_format": NIR_FORMAT_VERSION, "kind": "conv",
        "quantized": False, "dt": dt, "discretization": "forward_euler",
        "equations": EQUATIONS, "time_convention": TIME_CONVENTION,
        "host_encoder": {"weight": enc.weight, "bias": enc.bias, "stride": enc.stride,
                         "padding": enc.padding, "levels": enc.levels, "clip": enc.clip,
                         "shift": enc.shift, "in_shape": np.array(enc.in_shape),
                         "equation": ENCODER_EQUATION},
        "n_classes": int(net.n_classes), "time_steps": int(net.time_steps),
        "predict_layers": np.array(net.predict_layers, dtype=np.int64),
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def _pair(v, what: str, name: str) -> int:
    a = np.atleast_1d(np.asarray(v))
    if a.size not in (1, 2) or not np.all(a == a.flat[0]):
        raise ValueError(f"{name}: {what} must be the same along both axes, got {a.tolist()}")
    return int(a.flat[0])


def conv_from_nir(graph: nir.NIRGraph, dt: Optional[float] = None) -> ConvFFNetwork:
    """The inverse of :func:`conv_to_nir`: the :class:`ConvFFNetwork` (float). Needs the
    metadata ff-neuro writes (host encoder, readout); raises ValueError for other graphs."""
    g = graph.metadata if isinstance(graph.metadata, dict) else {}
    if g.get("kind") != "conv" or "host_encoder" not in g:
        raise ValueError("not an ff-neuro conv graph (its metadata has no host_encoder)")
    dt = float(g.get("dt", 1.0) if dt is None else dt)
    e = g["host_encoder"]
    enc = AnalogConvEncoder(weight=e["weight"], bias=e["bias"], stride=int(e["stride"]),
                            padding=int(e["padding"]), levels=int(e["levels"]),
                            clip=float(e["clip"]), shift=float(e["shift"]),
                            in_shape=tuple(int(s) for s in e["in_shape"]))
    body = _chain(graph)[1:-1]
    if not body or len(body) % 2:
        raise ValueError("expected input -> (Conv2d -> IF|LIF)+ -> output")
    layers, groups, shape = [], [], enc.out_shape
    for k in range(0, len(body), 2):
        cname, nname = body[k], body[k + 1]
        conv, neu = graph.nodes[cname], graph.nodes[nname]
        if not isinstance(conv, nir.Conv2d):
            raise ValueError(f"{cname!r}: expected Conv2d, got {type(conv).__name__}")
        if not isinstance(neu, (nir.IF, nir.LIF)):
            raise ValueError(f"{nname!r}: expected IF or LIF, got {type(neu).__name__}")
        if _pair(conv.dilation, "dilation", cname) != 1 or int(conv.groups) != 1:
            raise ValueError(f"{cname!r}: dilation and groups must be 1")
        gain, decay = _neuron_params(neu, nname, dt)
        md = _meta(neu, "v_decay")
        v_decay = float(md) if md is not None else decay
        if abs(v_decay - decay) > 1e-9:
            raise ValueError(f"{nname!r}: metadata v_decay disagrees with tau")
        w, b = np.asarray(conv.weight, np.float32), np.asarray(conv.bias, np.float32)
        if not np.isclose(gain, 1.0, rtol=1e-9, atol=0.0):
            w, b = w * np.float32(gain), b * np.float32(gain)
        has_bias = _meta(conv, "has_bias")
        th = _meta(neu, "threshold")
        layer = SpikingConv2d(
            weight=w, threshold=float(th if th is not None
                                      else _uniform(neu.v_threshold, "v_threshold", nname)),
            in_shape=shape, v_decay=v_decay, stride=_pair(conv.stride, "stride", cname),
            padding=_pair(conv.padding, "padding", cname),
            bias=None if has_bias is False else b)
        layers.append(layer)
        cg = (neu.metadata or {}).get("class_groups")
        if cg is None:
            raise ValueError(f"{nname!r}: no class_groups in its metadata (the readout needs "
                             "the class of every channel)")
        groups.append(np.asarray(cg, dtype=np.int64))
        shape = layer.out_shape
    return ConvFFNetwork(encoder=enc, layers=layers, class_groups=groups,
                         n_classes=int(g["n_classes"]), time_steps=int(g["time_steps"]),
                         predict_layers=tuple(int(p) for p in np.atleast_1d(g["predict_layers"])),
                         dataset={}, training={"imported_from": "nir"})


def write_conv_nir(net: ConvFFNetwork, path: PathLike, dt: float = 1.0) -> Path:
    """Write ``conv_to_nir(net, dt)`` with ``nir.write`` (atomically); read back with
    ``nir.read`` and :func:`conv_from_nir`."""
    graph = conv_to_nir(net, dt=dt)
    path = Path(path)
    with atomic_path(path) as tmp:
        nir.write(tmp, graph)
    return path
