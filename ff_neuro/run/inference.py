"""Inference on any backend, through a network's readout.

* :func:`label_sweep`: Forward-Forward's sweep, one run per candidate label (shared image
  spikes, see :meth:`Backend.run_factored`);
* :func:`one_pass`: one run per sample (a neutral label when the network has a label
  embedding), read by class groups, the linear readout, the output layer's spike counts or a
  non-spiking output layer's membrane;
* :func:`infer`: whichever the readout needs, as one :class:`InferenceResult`.

Every backend sees identical inputs: spikes are drawn per sample from a counter-based
generator keyed by the sample's index (:func:`ff_neuro.encoding.image_spikes`), whatever the
chunking.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Union

import numpy as np

from ..encoding import network_inputs, sweep_inputs_factored
from ..model.network import Network, Readout
from ..model.readout import (ClassGroups, LabelSweep, LinearReadout, MembraneReadout,
                             SpikeCountReadout, goodness_from_sums)
from .backend import Backend, LayerSpikes

#: Seed offset of test-time input spikes (training draws its own offsets).
TEST_SEED_OFFSET = 10_000_000
#: Seed offset of the training-set draws used to fit the linear readout.
READOUT_SEED_OFFSET = 30_000_000


@dataclass
class InferenceResult:
    """What an inference over ``N`` samples measured.

    ``predictions`` (N,); ``scores``: the readout's per-class scores, (L, N, C) per-layer
    goodness for a label sweep, (N, C) class goodness or logits otherwise; ``runs_per_sample``:
    ``C`` for a label sweep, else 1. Run ``r = n * runs_per_sample + c`` is sample ``n`` (with
    candidate label ``c``). With ``keep_spikes``, ``spikes[k]`` is layer ``k``'s (T, R,
    *shape) uint8; with ``keep_counts``, ``counts[k]`` its spike counts per run (R, *shape)
    and ``input_counts`` the nonzero input messages per run (R, *input_shape), counted over the
    ``T`` steps. ``input_events_per_run``: mean nonzero input messages per run.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> ds = ffn.load_dataset("digits")
        >>> r = ffn.infer(ffn.get_backend("float"), net, ds.x_test[:20], keep_counts=True)
        >>> r.readout, r.samples, r.runs_per_sample, r.scores.shape    # (L, N, C) goodness
        ('sweep', 20, 10, (1, 20, 10))
        >>> r.counts[0].shape, r.input_counts.shape                     # per run: N x C runs
        ((200, 16), (200, 74))
        >>> acc = r.accuracy(ds.y_test[:20])                            # fraction right
    """

    readout: str
    predictions: np.ndarray
    scores: np.ndarray
    runs_per_sample: int = 1
    spikes: Optional[List[np.ndarray]] = None
    counts: Optional[List[np.ndarray]] = None
    input_counts: Optional[np.ndarray] = None
    input_events_per_run: float = 0.0

    @property
    def samples(self) -> int:
        return int(self.predictions.shape[0])

    def accuracy(self, labels: np.ndarray) -> float:
        """Fraction of ``labels`` (one per sample) predicted right."""
        labels = np.asarray(labels)
        if labels.shape != self.predictions.shape:
            raise ValueError(f"{self.predictions.shape[0]} predictions but labels of shape "
                             f"{labels.shape}")
        return float(np.mean(self.predictions == labels))

    def layer_spikes_per_run(self) -> List[float]:
        """Mean spikes per run of every layer (over all steps and neurons)."""
        runs = self.samples * self.runs_per_sample
        if self.counts is not None:
            return [float(c.sum(dtype=np.int64)) / runs for c in self.counts]
        if self.spikes is not None:
            return [float(s.sum(dtype=np.int64)) / runs for s in self.spikes]
        raise ValueError("needs the run's spikes or counts (keep_spikes or keep_counts)")


def _chunk(backend: Backend, chunk: Optional[int], n: int, default: int) -> int:
    if chunk is not None:
        return max(1, int(chunk))
    return max(1, n) if backend.prefers_one_call else default


def label_sweep(backend: Backend, net: Network, x: np.ndarray, *, keep_spikes: bool = False,
                keep_counts: bool = False, chunk: Optional[int] = None,
                seed_offset: int = TEST_SEED_OFFSET,
                sample_ids: Optional[np.ndarray] = None,
                readout: Optional[LabelSweep] = None) -> InferenceResult:
    """Run every candidate label for every sample of ``x`` (N, D) on ``backend``.

    Input spikes come from :func:`ff_neuro.encoding.sweep_inputs_factored` with the model's
    encoding and one generator per sample (``sample_ids``, default ``0..N-1``: the index in the
    test split), so every backend sees identical spikes for the same sample whatever the
    chunking. ``chunk``: samples per backend call (default 256; a Lava backend gets them all in
    one call, one compile).

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> from ff_neuro.run import get_backend, label_sweep
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> x = ffn.load_dataset("digits").x_test[:20]
        >>> fixed = label_sweep(get_backend("emulator"), qnet, x)
        >>> fixed.predictions[:5]
        array([9, 3, 3, 9, 6])
        >>> small_chunks = label_sweep(get_backend("emulator"), qnet, x, chunk=3)
        >>> bool(np.array_equal(small_chunks.scores, fixed.scores))    # chunking changes nothing
        True
    """
    sweep = readout or net.label_sweep
    if sweep is None or net.label_embedding is None:
        raise ValueError("this network has no label sweep readout (no label embedding)")
    x = net.check_inputs(x)
    T = net.time_steps
    C = net.n_classes
    chunk = _chunk(backend, chunk, x.shape[0], 256)
    goods, kept, counts, inputs = [], [], [], []
    symmetric = sweep.goodness == "symmetric"  # needs each half's counts, not one sum
    need_spikes = keep_spikes or keep_counts or symmetric
    n_input_spikes = 0
    for start in range(0, x.shape[0], chunk):
        xs = x[start:start + chunk]
        ids = (np.arange(start, start + xs.shape[0]) if sample_ids is None
               else sample_ids[start:start + chunk])
        img, lab = sweep_inputs_factored(xs, net.label_embedding, net.encoder,
                                         seed_offset=seed_offset, sample_ids=ids)
        n = xs.shape[0]
        # graded: one event per message; image and label inputs are disjoint
        n_input_spikes += C * int(np.count_nonzero(img)) + n * int(np.count_nonzero(lab))
        if need_spikes:
            res: LayerSpikes = backend.run_factored(net, img, lab)
            if keep_spikes:
                kept.append(res.spikes)
            if keep_counts or symmetric:
                layer_counts = res.counts()
            if keep_counts:
                counts.append(layer_counts)
                ic_img = (img > 0).sum(axis=0, dtype=np.int32)          # (n, D)
                ic_lab = (lab > 0).sum(axis=0, dtype=np.int32)          # (C, D)
                inputs.append((ic_img[:, None] + ic_lab[None]).reshape(n * C, -1))
        if symmetric:
            g = sweep.layer_goodness(layer_counts, T)
        else:
            sq = res.sum_sq_counts() if need_spikes else backend.sum_sq_counts_factored(
                net, img, lab)
            g = goodness_from_sums(sq, net.widths, T, sweep.goodness)
        goods.append(g.reshape(len(net.layers), n, C))
    g = np.concatenate(goods, axis=1)
    L = len(net.layers)
    return InferenceResult(
        readout=sweep.kind, predictions=sweep.predict_from_goodness(g), scores=g,
        runs_per_sample=C,
        spikes=[np.concatenate([k[i] for k in kept], axis=1) for i in range(L)]
        if keep_spikes else None,
        counts=[np.concatenate([k[i] for k in counts]) for i in range(L)]
        if keep_counts else None,
        input_counts=np.concatenate(inputs) if keep_counts else None,
        input_events_per_run=n_input_spikes / max(1, x.shape[0] * C))


def one_pass(backend: Backend, net: Network, x: np.ndarray, *,
             readout: Optional[Union[ClassGroups, LinearReadout, SpikeCountReadout,
                                     MembraneReadout]] = None,
             keep_spikes: bool = False, chunk: Optional[int] = None,
             seed_offset: int = TEST_SEED_OFFSET,
             sample_ids: Optional[np.ndarray] = None) -> InferenceResult:
    """One run per sample of ``x`` (N, D), read by ``readout`` (default: the network's first
    one-pass readout). A network with a label embedding gets a *neutral* label (every label
    input at the mean of the class vectors, Hinton 2022). Counts are always kept.

    A :class:`MembraneReadout` integrates the last layer's spikes of every run: in float on a
    float backend, with its Loihi integer twin on a fixed-point one (``backend.name`` in
    :data:`ff_neuro.run.FIXED_POINT`).

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import Layer, SpikeCountReadout
        >>> from ff_neuro.run import get_backend, one_pass
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (10, 64)), threshold=1.0)],
        ...                   readouts=[SpikeCountReadout(n_classes=10)])
        >>> x = ffn.load_dataset("digits").x_test[:20]
        >>> r = one_pass(get_backend("float"), net, x, keep_spikes=True)
        >>> r.readout, r.runs_per_sample, r.scores.shape, r.spikes[0].shape   # (T, N, n_out)
        ('spike-count', 1, (20, 10), (16, 20, 10))
    """
    from . import FIXED_POINT
    if readout is None:
        readout = next((r for r in net.readouts if not isinstance(r, LabelSweep)), None)
        if readout is None:
            raise ValueError("this network has no one-pass readout (spike count, membrane, "
                             "class groups or linear)")
    x = net.check_inputs(x)
    T = net.time_steps
    membrane = isinstance(readout, MembraneReadout)
    fixed = getattr(backend, "name", "") in FIXED_POINT
    if membrane and fixed and not readout.quantized:
        raise ValueError("the membrane readout has no fixed-point twin: quantize the model")
    chunk = _chunk(backend, chunk, x.shape[0], 1024)
    kept, counts, inputs, vm = [], [], [], []
    for start in range(0, x.shape[0], chunk):
        xs = x[start:start + chunk]
        ids = (np.arange(start, start + xs.shape[0]) if sample_ids is None
               else sample_ids[start:start + chunk])
        inp = network_inputs(net, xs, seed_offset=seed_offset, sample_ids=ids)
        res = backend.run(net, inp)
        counts.append(res.counts())
        inputs.append((inp > 0).sum(axis=0, dtype=np.int32))
        if membrane:
            vm.append(_membrane(readout, res.spikes[-1], fixed))
        if keep_spikes:
            kept.append(res.spikes)
    L = len(net.layers)
    counts = [np.concatenate([c[i] for c in counts]) for i in range(L)]
    input_counts = np.concatenate(inputs)
    if isinstance(readout, ClassGroups):
        scores = readout.goodness(counts, T)
        pred = np.argmax(scores, axis=1)
    elif isinstance(readout, LinearReadout):
        f = features(counts, readout.from_layer, T)
        scores = f @ readout.weight.T + readout.bias
        pred = readout.predict(f)
    elif isinstance(readout, SpikeCountReadout):
        scores = readout.scores(counts)
        pred = np.argmax(scores, axis=1)
    elif membrane:
        scores = np.concatenate(vm)
        pred = np.argmax(scores, axis=1)
    else:
        raise ValueError(f"{type(readout).__name__} is not a one-pass readout")
    return InferenceResult(
        readout=readout.kind, predictions=pred, scores=scores, runs_per_sample=1,
        spikes=[np.concatenate([k[i] for k in kept], axis=1) for i in range(L)]
        if keep_spikes else None,
        counts=counts, input_counts=input_counts,
        input_events_per_run=float(input_counts.sum(dtype=np.int64)) / max(1, x.shape[0]))


def _membrane(r: MembraneReadout, spikes: np.ndarray, fixed_point: bool) -> np.ndarray:
    """Final membrane ``(N, C)`` of the non-spiking output layer ``r`` over the last spiking
    layer's spikes ``(T, N, ...)``: float64, or Loihi integers with its twin (the equations of
    :class:`MembraneReadout`)."""
    s = spikes.reshape(spikes.shape[0], spikes.shape[1], -1)
    if fixed_point:
        from .lif import BIAS_EXP, decay, sat24
        w, b = r.weight_q.T, (0 if r.bias_q is None else r.bias_q)
        v = np.zeros((s.shape[1], r.n_classes), dtype=np.int64)
        for t in range(s.shape[0]):
            v = sat24(decay(v, r.v_decay_q) + ((s[t].astype(np.int64) @ w + b) << BIAS_EXP))
        return v
    w, b = r.weight.T, (0.0 if r.bias is None else r.bias)
    v = np.zeros((s.shape[1], r.n_classes), dtype=np.float64)
    for t in range(s.shape[0]):
        v = r.beta * v + (s[t].astype(np.float64) @ w + b)
    return v


def features(counts: List[np.ndarray], from_layer: int, time_steps: int) -> np.ndarray:
    """Spike rates of layers ``>= from_layer``, flattened and concatenated: ``(N, H)``.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.run.inference import features
        >>> counts = [np.array([[2, 0]]), np.array([[4, 4, 0]])]    # 2 layers, 1 run, T = 4
        >>> features(counts, from_layer=1, time_steps=4)
        array([[1., 1., 0.]])
    """
    return np.concatenate([c.reshape(c.shape[0], -1) for c in counts[from_layer:]],
                          axis=1) / time_steps


def infer(backend: Backend, net: Network, x: np.ndarray,
          readout: Union[None, str, Readout] = None, **kw) -> InferenceResult:
    """Classify ``x`` with ``readout`` (an object, a kind name such as ``"sweep"`` or
    ``"linear"``, or None: the network's default).

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> x = ffn.load_dataset("digits").x_test[:20]
        >>> on_chip = ffn.infer(ffn.get_backend("emulator"), qnet, x)   # bit-exact Loihi
        >>> in_float = ffn.infer(ffn.get_backend("float"), qnet, x)     # the float layers
        >>> on_chip.readout, bool(np.array_equal(on_chip.predictions, in_float.predictions))
        ('sweep', True)
        >>> ffn.infer(ffn.get_backend("lava-fixed"), qnet, x)           # doctest: +SKIP
    """
    r = net.get_readout(readout) if readout is None or isinstance(readout, str) else readout
    if isinstance(r, LabelSweep):
        return label_sweep(backend, net, x, readout=r, **kw)
    kw.pop("keep_counts", None)
    return one_pass(backend, net, x, readout=r, **kw)


def hidden_features(backend: Backend, net: Network, x: np.ndarray, from_layer: int,
                    seed_offset: int = TEST_SEED_OFFSET, chunk: int = 1024,
                    progress: bool = False) -> np.ndarray:
    """Spike rates of layers ``>= from_layer`` for one run per sample (neutral label):
    ``(N, H)``, what the linear readout reads (``progress``: a progress bar on stderr).

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> from ff_neuro.run import get_backend, hidden_features
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> x = ffn.load_dataset("digits").x_test[:20]
        >>> f = hidden_features(get_backend("float"), net, x, from_layer=0)
        >>> f.shape, float(f.min()) >= 0, float(f.max()) <= 1       # spikes per step
        ((20, 16), True, True)
    """
    x = net.check_inputs(x)
    T = net.time_steps
    feats = []
    starts = range(0, x.shape[0], chunk)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc="readout features", unit="chunk", leave=False)
    for start in starts:
        xs = x[start:start + chunk]
        inp = network_inputs(net, xs, seed_offset=seed_offset,
                             sample_ids=np.arange(start, start + xs.shape[0]))
        feats.append(features(backend.run(net, inp).counts(), from_layer, T))
    return np.concatenate(feats, axis=0)


def fit_readout(backend: Backend, net: Network, x_train: np.ndarray, y_train: np.ndarray,
                from_layer: Optional[int] = None, c: float = 1.0,
                progress: bool = False) -> LinearReadout:
    """Fit the linear readout on hidden rates of the training set (one run per sample):
    scikit-learn ``LogisticRegression`` (softmax regression). ``from_layer`` defaults to the
    label sweep's (else 0).

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> from ff_neuro.run import fit_readout, get_backend
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> ds = ffn.load_dataset("digits")
        >>> readout = fit_readout(get_backend("float"), net, ds.x_train[:200], ds.y_train[:200])
        >>> readout.weight.shape                                    # (classes, hidden neurons)
        (10, 16)
        >>> net.set_readout(readout)
        >>> r = ffn.infer(ffn.get_backend("float"), net, ds.x_test[:20], "linear")   # one pass
        >>> r.readout, r.runs_per_sample
        ('linear', 1)
    """
    from sklearn.linear_model import LogisticRegression
    if from_layer is None:
        from_layer = net.label_sweep.from_layer if net.label_sweep is not None else 0
    y_train = net.check_labels(y_train, len(x_train))
    if np.unique(y_train).size < 2:
        raise ValueError("the readout needs training samples of at least two classes")
    f = hidden_features(backend, net, x_train, from_layer, seed_offset=READOUT_SEED_OFFSET,
                        progress=progress)
    if progress:
        import sys
        print(f"fitting the linear readout (softmax regression on {f.shape[0]} x {f.shape[1]} "
              "spike rates)", file=sys.stderr, flush=True)
    clf = LogisticRegression(C=c, max_iter=2000)
    clf.fit(f, y_train)
    return LinearReadout(weight=clf.coef_, bias=clf.intercept_, from_layer=from_layer)
