"""One network of layers: an encoder, a chain of layers (dense or conv, float and optionally
their Loihi twins), and its readouts.

Time convention (every backend): a sample is presented for ``T = encoder.time_steps`` steps;
layer ``k`` at step ``t`` sees layer ``k-1``'s spikes of the same step ``t``. Lava's one-step
latency per layer is absorbed by staggering each layer's reset by one step (see
:mod:`ff_neuro.run.lava`), so counts over a window of ``T`` steps are identical on every
backend.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import List, Optional, Union

import numpy as np

from .encoder import AnalogConvEncoder, InputEncoding, LabelEmbedding
from .layer import Layer
from .neuron import LoihiLIF
from .readout import (ClassGroups, LabelSweep, LinearReadout, MembraneReadout,
                      SpikeCountReadout)
from .synapse import Conv2d, Dense

Encoder = Union[InputEncoding, AnalogConvEncoder]
Readout = Union[LabelSweep, ClassGroups, LinearReadout, SpikeCountReadout, MembraneReadout]


@dataclass
class Network:
    """A spiking network: everything a later stage needs, in plain data.

    Attributes
    ----------
    layers : list of :class:`Layer`, float (the trained network). Layer ``k``'s input shape is
        layer ``k-1``'s output shape; a dense layer after a conv layer reads its output
        flattened in (C, H, W) order. A conv layer cannot follow a dense one.
    encoder : :class:`InputEncoding` (rate or graded spikes of the data, with the label inputs
        of ``label_embedding`` when there is one) or :class:`AnalogConvEncoder` (a host
        convolution whose levels are graded spikes into layer 0).
    label_embedding : :class:`LabelEmbedding` or None: Forward-Forward networks see a
        candidate label beside the image.
    readouts : how spikes become a class; the first is the default. Defaults to a
        :class:`LabelSweep` when there is a label embedding.
    n_classes : number of classes (taken from the label embedding or the readouts).
    quantized : the same layers in Loihi fixed point (:class:`LoihiLIF` neurons), or None.
    dataset, training : where the network came from (dataset name and shape; the training
        configuration and history), stored in the model file.

    Examples
    --------
    A Forward-Forward network for the 8x8 digits (64 pixels and 10 label inputs):

    >>> import numpy as np
    >>> import ff_neuro as ffn
    >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer, LinearReadout
    >>> rng = np.random.default_rng(0)
    >>> net = ffn.Network(
    ...     layers=[Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
    ...                         v_decay=0.125),
    ...             Layer.dense(weight=rng.normal(0, 0.5, (8, 16)), threshold=1.0,
    ...                         v_decay=0.125)],
    ...     label_embedding=LabelEmbedding(n_classes=10), encoder=InputEncoding(time_steps=8))
    >>> net.sizes, net.n_features, net.n_classes
    ([74, 16, 8], 64, 10)
    >>> net.readout.kind, net.runs_per_inference()      # a label sweep: one run per label
    ('sweep', 10)
    >>> net.set_readout(LinearReadout(weight=np.zeros((10, 24)), bias=np.zeros(10)))
    >>> [r.kind for r in net.readouts], net.runs_per_inference(net.get_readout("linear"))
    (['sweep', 'linear'], 1)
    >>> net.check_dataset(ffn.load_dataset("digits"))  # same features and classes: no error
    >>> net.check_inputs(np.zeros((5, 74)))
    Traceback (most recent call last):
    ...
    ValueError: samples must be an (N, 64) array with N >= 1 (this network takes 64 values per
    sample), got shape (5, 74)

    Without a label embedding a network needs a readout, e.g. one output neuron per class:

    >>> from ff_neuro.model import SpikeCountReadout
    >>> out = ffn.Network([Layer.dense(weight=np.ones((10, 64)), threshold=1.0)],
    ...                   readouts=[SpikeCountReadout(n_classes=10)])
    >>> out.sizes, out.readout.kind, out.runs_per_inference()
    ([64, 10], 'spike-count', 1)
    """

    layers: List[Layer]
    encoder: Encoder = field(default_factory=InputEncoding)
    label_embedding: Optional[LabelEmbedding] = None
    readouts: List[Readout] = field(default_factory=list)
    n_classes: Optional[int] = None
    quantized: Optional[List[Layer]] = None
    dataset: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.layers = list(self.layers)
        if not self.layers:
            raise ValueError("a network needs at least one layer")
        for name in ("dataset", "training"):
            if not isinstance(getattr(self, name), dict):
                raise TypeError(f"the {name} record must be a dict, got "
                                f"{type(getattr(self, name)).__name__}")
        if not isinstance(self.encoder, (InputEncoding, AnalogConvEncoder)):
            raise TypeError(f"encoder must be InputEncoding or AnalogConvEncoder, got "
                            f"{type(self.encoder).__name__}")
        if isinstance(self.encoder, AnalogConvEncoder) and self.label_embedding is not None:
            raise ValueError("a label embedding needs an InputEncoding (flat inputs)")
        if getattr(self.encoder, "kind", None) == "sequence" and self.label_embedding is not None:
            raise ValueError("a label embedding needs a rate or graded encoding, not a sequence")
        self.layers = self._chain(self.layers, "layer")
        for k, layer in enumerate(self.layers):
            if layer.quantized:
                raise ValueError(f"layer {k} is a Loihi layer: float layers go in `layers`, "
                                 "their Loihi twins in `quantized`")
        self.readouts = list(self.readouts)
        if not self.readouts:
            if self.label_embedding is None:
                raise ValueError("a network without a label embedding needs a readout "
                                 "(SpikeCountReadout, MembraneReadout, ClassGroups or "
                                 "LinearReadout)")
            self.readouts = [LabelSweep()]
        self.n_classes = self._classes()
        for r in self.readouts:
            self._check_readout(r)
        if self.quantized is not None:
            self.quantized = self._chain(list(self.quantized), "quantized layer")
            self._check_quantized(self.quantized)

    # -- validation ------------------------------------------------------------------------
    def _chain(self, layers: list, what: str) -> list:
        """Check the shapes line up; a flat dense layer after a conv layer gets that layer's
        (C, H, W) as its input shape (it reads it flattened)."""
        out = []
        prev = None
        if isinstance(self.encoder, AnalogConvEncoder):
            prev = self.encoder.out_shape
        for k, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"{what} {k} is {type(layer).__name__}, not a Layer")
            syn = layer.synapse
            if prev is not None:
                if int(np.prod(prev)) != syn.n_in:
                    raise ValueError(f"{what} {k} expects {syn.n_in} inputs {syn.in_shape} but "
                                     f"{'layer %d' % (k - 1) if k else 'the encoder'} has "
                                     f"{int(np.prod(prev))} outputs {tuple(prev)}")
                if isinstance(syn, Conv2d) and tuple(syn.in_shape) != tuple(prev):
                    raise ValueError(f"{what} {k} (conv) expects input {syn.in_shape} but gets "
                                     f"{tuple(prev)}")
                if isinstance(syn, Dense) and tuple(syn.in_shape) != tuple(prev):
                    layer = Layer(replace(syn, in_shape=tuple(prev)), layer.neuron)
            out.append(layer)
            prev = layer.out_shape
        return out

    def _classes(self) -> int:
        found = {}
        if self.label_embedding is not None:
            found["label embedding"] = self.label_embedding.n_classes
        for r in self.readouts:
            if isinstance(r, ClassGroups):
                found["class groups"] = r.n_classes
            elif isinstance(r, LinearReadout):
                found["linear readout"] = r.n_classes
            elif isinstance(r, SpikeCountReadout):
                found["spike-count readout"] = r.n_classes
            elif isinstance(r, MembraneReadout):
                found["membrane readout"] = r.n_classes
        if self.n_classes is not None:
            found["n_classes"] = int(self.n_classes)
        values = set(found.values())
        if len(values) > 1:
            raise ValueError(f"the number of classes disagrees: {found}")
        if not values:
            raise ValueError("the network does not say how many classes it has")
        return values.pop()

    def _check_readout(self, r) -> None:
        L = len(self.layers)
        if isinstance(r, LabelSweep):
            if self.label_embedding is None:
                raise ValueError("a label sweep needs a label embedding")
            if not 0 <= r.from_layer < L:
                raise ValueError("the label sweep's from_layer (goodness_from_layer) is out of "
                                 "range")
            if r.goodness == "symmetric":
                odd = [k for k in range(r.from_layer, L) if self.layers[k].n_out % 2]
                if odd:
                    raise ValueError(f"symmetric goodness splits each counted layer into a "
                                     f"positive and a negative half: layers {odd} have an odd "
                                     "width")
        elif isinstance(r, ClassGroups):
            if len(r.class_groups) != L:
                raise ValueError(f"class_groups needs one array per layer ({L}), got "
                                 f"{len(r.class_groups)}")
            for k, (g, layer) in enumerate(zip(r.class_groups, self.layers)):
                if g.shape != (layer.synapse.channels,):
                    raise ValueError(f"class_groups[{k}] must have one class per output "
                                     f"channel ({layer.synapse.channels}), got {g.shape}")
            if any(p >= L for p in r.predict_layers):
                raise ValueError("predict_layers out of range")
        elif isinstance(r, LinearReadout):
            if not 0 <= r.from_layer < L:
                raise ValueError("the linear readout's from_layer is out of range")
            h = sum(l.n_out for l in self.layers[r.from_layer:])
            if r.weight.shape != (self.n_classes, h):
                raise ValueError(f"readout weight must be ({self.n_classes}, {h}), got "
                                 f"{r.weight.shape}")
        elif isinstance(r, SpikeCountReadout):
            if self.layers[-1].n_out != r.n_classes:
                raise ValueError(f"a spike-count readout needs one output neuron per class: the "
                                 f"last layer has {self.layers[-1].n_out} neurons, the readout "
                                 f"{r.n_classes} classes")
        elif isinstance(r, MembraneReadout):
            if r.n_in != self.layers[-1].n_out:
                raise ValueError(f"the membrane readout takes {r.n_in} inputs but the last layer "
                                 f"has {self.layers[-1].n_out} neurons")
        else:
            raise TypeError(f"unknown readout {type(r).__name__}")

    def _check_quantized(self, qlayers: list) -> None:
        if len(qlayers) != len(self.layers):
            raise ValueError("quantized layers do not match the float layers")
        for k, (q, f) in enumerate(zip(qlayers, self.layers)):
            if not isinstance(q.neuron, LoihiLIF):
                raise ValueError(f"quantized layer {k} needs a LoihiLIF neuron")
            if type(q.synapse) is not type(f.synapse) or q.weight.shape != f.weight.shape:
                raise ValueError(f"quantized layer {k}'s synapse differs from the float one")
            if q.in_shape != f.in_shape or q.out_shape != f.out_shape:
                raise ValueError(f"quantized layer {k}'s geometry differs from the float one")
            if (q.recurrent is None) != (f.recurrent is None):
                raise ValueError(f"quantized layer {k} and its float layer differ in having a "
                                 "recurrent synapse")

    # -- shapes ----------------------------------------------------------------------------
    @property
    def time_steps(self) -> int:
        return self.encoder.time_steps

    @property
    def input_shape(self) -> tuple:
        """Shape of one time step's input messages to layer 0."""
        return self.layers[0].in_shape

    @property
    def shapes(self) -> list:
        """[input shape, layer 0 out, ..., layer L-1 out]."""
        return [self.input_shape] + [l.out_shape for l in self.layers]

    @property
    def sizes(self) -> list:
        """[n_in, n_1, ..., n_L]: neurons per layer, the input first."""
        return [self.layers[0].n_in] + [l.n_out for l in self.layers]

    @property
    def widths(self) -> list:
        return [l.n_out for l in self.layers]

    @property
    def n_features(self) -> int:
        """Values of one sample as a dataset holds it (the image, without label inputs)."""
        if isinstance(self.encoder, AnalogConvEncoder):
            return int(np.prod(self.encoder.in_shape))
        n = self.layers[0].n_in
        emb = self.label_embedding
        n = n if emb is None or emb.kind == "overlay" else n - emb.width
        return self.encoder.features(n)

    # -- data checks -------------------------------------------------------------------------
    def check_inputs(self, x: np.ndarray) -> np.ndarray:
        """``x`` as float32 samples ``(N, n_features)``, N >= 1, finite; else a ValueError."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] != self.n_features:
            raise ValueError(f"samples must be an (N, {self.n_features}) array with N >= 1 "
                             f"(this network takes {self.n_features} values per sample), got "
                             f"shape {x.shape}")
        if x.dtype.kind not in "biuf":
            raise ValueError(f"samples must be numbers, got {x.dtype}")
        x = x.astype(np.float32, copy=False)
        if not np.all(np.isfinite(x)):
            raise ValueError("samples contain NaN or inf")
        return x

    def check_labels(self, y: np.ndarray, n: Optional[int] = None) -> np.ndarray:
        """``y`` as int64 labels in ``[0, n_classes)`` (``n`` of them); else a ValueError."""
        y = np.asarray(y)
        if y.ndim != 1 or (n is not None and y.shape[0] != n):
            raise ValueError(f"labels must be a 1-D array{f' of {n}' if n is not None else ''},"
                             f" got shape {y.shape}")
        if y.size and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= self.n_classes):
            raise ValueError(f"labels must be integers in [0, {self.n_classes}) for this "
                             f"{self.n_classes}-class network, got {y.dtype} in "
                             f"[{y.min()}, {y.max()}]")
        return y.astype(np.int64, copy=False)

    def check_dataset(self, ds) -> None:
        """A :class:`~ff_neuro.data.Dataset` this network can run on: the same values per
        sample and the same classes; else a ValueError saying which differs."""
        if ds.n_features != self.n_features:
            raise ValueError(f"dataset {ds.name!r} has {ds.n_features} values per sample; this "
                             f"network takes {self.n_features}")
        if ds.n_classes != self.n_classes:
            raise ValueError(f"dataset {ds.name!r} has {ds.n_classes} classes (labels 0.."
                             f"{ds.n_classes - 1}); this network tells {self.n_classes}")

    # -- readouts --------------------------------------------------------------------------
    @property
    def readout(self) -> Readout:
        """The default readout (the first)."""
        return self.readouts[0]

    def get_readout(self, kind: Optional[str] = None) -> Readout:
        """The readout of ``kind`` (``"sweep"``, ``"class-groups"``, ``"linear"``,
        ``"spike-count"``, ``"membrane"``); None: the default."""
        if kind is None:
            return self.readout
        for r in self.readouts:
            if r.kind == kind:
                return r
        have = ", ".join(r.kind for r in self.readouts)
        raise ValueError(f"the model has no {kind} readout (it has: {have})")

    def set_readout(self, readout: Readout) -> None:
        """Add ``readout``, replacing one of the same kind (the default stays first)."""
        self._check_readout(readout)
        for i, r in enumerate(self.readouts):
            if r.kind == readout.kind:
                self.readouts[i] = readout
                return
        self.readouts.append(readout)

    @property
    def label_sweep(self) -> Optional[LabelSweep]:
        for r in self.readouts:
            if isinstance(r, LabelSweep):
                return r
        return None

    @property
    def linear_readout(self) -> Optional[LinearReadout]:
        for r in self.readouts:
            if isinstance(r, LinearReadout):
                return r
        return None

    def runs_per_inference(self, readout: Optional[Readout] = None) -> int:
        """Network runs per classified sample: ``n_classes`` for a label sweep, else 1."""
        r = self.readout if readout is None else readout
        return self.n_classes if isinstance(r, LabelSweep) else 1

    def deployed_layers(self) -> list:
        """The Loihi layers when quantized, else the float layers."""
        return self.quantized if self.quantized is not None else self.layers
