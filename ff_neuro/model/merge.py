"""Merge independently trained FF networks into one wider network (an ensemble in one model).

FF layers learn locally, so ``M`` networks trained on their own (different seeds, one per CPU
core) can be run side by side as one network whose layers are the members' layers stacked::

    layer 0:   W = [W_1; W_2; ...; W_M]          (n_1 + ... + n_M, n_in)   shared input
    layer k>0: W = blockdiag(W_1, ..., W_M)      no synapse between members

Neurons do not interact within a layer, so every member's spikes in the merged network are
exactly its own spikes, and the merged goodness is the members' goodness combined:
``sum_sq`` adds them, ``mean_sq`` averages them weighted by width (equal widths: the plain mean,
so the label sweep predicts ``argmax_c sum_m G_m(c)``, the ensemble vote). The merged model is an
ordinary :class:`Network`: it quantizes, exports and runs on every backend unchanged. The
zero blocks are real synapses of weight 0 to a dense backend (Lava ``Dense``, the emulator, the
energy model's synapse count), which a sparse mapping could skip.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from .layer import Layer
from .network import Network
from .readout import LabelSweep
from .synapse import Dense


def _embedding_key(net: Network) -> tuple:
    """What the label inputs are (kind and values), not how they were generated: two "append"
    embeddings made with different code seeds are the same inputs."""
    e = net.label_embedding
    return None if e is None else (e.kind, e.n_classes, e.vectors().tobytes())


def merge_networks(nets: Sequence[Network]) -> Network:
    """One :class:`Network` running ``nets`` side by side (see the module docstring).

    The members must be float Forward-Forward networks of dense layers with the same depth,
    input encoding, label embedding, label-sweep goodness (``mean_sq`` or ``sum_sq``) and
    ``from_layer``, and per-layer threshold and ``v_decay``, and no two members may have the
    same weights. Quantization and the linear readout are not carried over (:func:`dropped`
    names what a merge leaves out): quantize the merged network and fit its readout again.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import LabelEmbedding, Layer
        >>> from ff_neuro.model.merge import merge_networks
        >>> def member(seed):                   # stand-ins for networks trained with two seeds
        ...     w = np.random.default_rng(seed).normal(0, 0.5, (8, 24))
        ...     return ffn.Network([Layer.dense(weight=w, threshold=1.0)],
        ...                        label_embedding=LabelEmbedding(n_classes=4))
        >>> a, b = member(0), member(1)
        >>> merged = merge_networks([a, b])
        >>> merged.sizes, merged.training["member_sizes"]
        ([24, 16], [[24, 8], [24, 8]])

    Its label-sweep goodness is the members' mean, spike for spike::

        >>> from ff_neuro.run import get_backend, infer
        >>> x = ffn.load_dataset("digits").x_test[:5, :20]
        >>> be = get_backend("float")
        >>> g = [infer(be, n, x).scores for n in (a, b, merged)]
        >>> bool(np.allclose(g[2], (g[0] + g[1]) / 2))
        True
    """
    nets = list(nets)
    if len(nets) < 2:
        raise ValueError("merging needs at least two networks")
    first = nets[0]
    for i, n in enumerate(nets):
        if n.label_sweep is None:
            raise ValueError(f"network {i} is not a Forward-Forward network (no label sweep)")
        for k, layer in enumerate(n.layers):
            if not isinstance(layer.synapse, Dense):
                raise ValueError(f"network {i} layer {k} is not a dense spiking layer")
    s0 = first.label_sweep
    for i, n in enumerate(nets[1:], start=1):
        s = n.label_sweep
        for what, a, b in (("depth", len(first.layers), len(n.layers)),
                           ("input size", first.layers[0].n_in, n.layers[0].n_in),
                           ("input encoding", first.encoder, n.encoder),
                           ("label embedding", _embedding_key(first), _embedding_key(n)),
                           ("goodness", s0.goodness, s.goodness),
                           ("goodness_from_layer", s0.from_layer, s.from_layer)):
            if a != b:
                shown = "" if what == "label embedding" else f": {b} vs {a}"
                raise ValueError(f"network {i} differs from network 0 in {what}{shown}")
        for k, (la, lb) in enumerate(zip(first.layers, n.layers)):
            if la.neuron != lb.neuron:
                raise ValueError(f"network {i} layer {k} has another threshold or v_decay than "
                                 "network 0; merged neurons share one per layer")
    for i, n in enumerate(nets[1:], start=1):
        for j in range(i):
            if all(np.array_equal(a.weight, b.weight)
                   for a, b in zip(nets[j].layers, n.layers)):
                raise ValueError(f"network {i} has the same weights as network {j}: an "
                                 "ensemble of copies votes like one member")
    if s0.goodness not in ("mean_sq", "sum_sq"):
        raise ValueError(f"cannot merge {s0.goodness!r} goodness (its halves would mix)")
    layers = []
    for k in range(len(first.layers)):
        members = [n.layers[k] for n in nets]
        if k == 0:
            w = np.concatenate([m.weight for m in members], axis=0)
        else:
            w = np.zeros((sum(m.n_out for m in members), sum(m.n_in for m in members)),
                         dtype=np.float32)
            r = c = 0
            for m in members:
                w[r:r + m.n_out, c:c + m.n_in] = m.weight
                r, c = r + m.n_out, c + m.n_in
        bias = None
        if any(m.bias is not None for m in members):
            bias = np.concatenate([m.bias if m.bias is not None
                                   else np.zeros(m.n_out, np.float32) for m in members])
        layers.append(Layer(Dense(weight=w, bias=bias), replace(first.layers[k].neuron)))
    return Network(layers=layers, encoder=first.encoder,
                   label_embedding=first.label_embedding,
                   readouts=[LabelSweep(goodness=s0.goodness, from_layer=s0.from_layer,
                                        eps=s0.eps)],
                   dataset=dict(first.dataset),
                   training={"algorithm": "ff-merged",
                             "members": [dict(n.training) for n in nets],
                             "member_sizes": [n.sizes for n in nets]})


def dropped(nets: Sequence[Network]) -> list:
    """What :func:`merge_networks` leaves out of ``nets``: ``"quantization"`` when a member is
    quantized, ``"linear readout"`` when a member has one.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import LabelEmbedding, Layer
        >>> from ff_neuro.model.merge import dropped
        >>> net = ffn.Network([Layer.dense(weight=np.full((8, 24), 0.1), threshold=1.0)],
        ...                   label_embedding=LabelEmbedding(n_classes=4))
        >>> qnet, _ = ffn.quantize(net)
        >>> dropped([net, qnet])
        ['quantization']
    """
    out = []
    if any(n.quantized is not None for n in nets):
        out.append("quantization")
    if any(r.kind == "linear" for n in nets for r in n.readouts):
        out.append("linear readout")
    return out
