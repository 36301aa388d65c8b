"""Readouts: how a network's spikes become a class.

* :class:`LabelSweep` (Forward-Forward): run the network once per candidate label and pick the
  label whose run has the highest goodness (``n_classes`` runs per inference).
* :class:`ClassGroups` (FFGAF's channel-wise competition): each output channel of a layer
  belongs to one class; one run, the class whose channels fire most (squared rates) wins.
* :class:`LinearReadout`: one run (with a neutral label when the network has a label
  embedding), softmax regression on the spike rates of the later layers, on the host.
* :class:`SpikeCountReadout` (networks trained with backprop through time): one run, the class
  whose output neuron spikes most wins (snnTorch's rate-coded output).
* :class:`MembraneReadout`: a non-spiking output layer integrates the last spiking layer's
  spikes; the class with the highest final membrane wins (a trailing ``nn.Linear`` summed over
  time, or ``snn.Leaky(reset_mechanism="none")``).

A network lists its readouts; the first is its default. The functions here turn spike counts
into goodness and predictions; running the network is :mod:`ff_neuro.run`'s job.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, List, Optional, Sequence

import numpy as np

#: label-sweep goodness kinds
GOODNESS_KINDS = ("mean_sq", "sum_sq", "symmetric")


def goodness_from_sums(sq: Sequence[np.ndarray], widths: Sequence[int], time_steps: int,
                       kind: str = "mean_sq") -> np.ndarray:
    """Per-layer goodness ``(L, B)`` from each layer's ``sum_j count_j**2`` and width ``n_k``:
    ``G_k = mean_j (count_j / T)^2`` (``kind="mean_sq"``) or the sum over neurons (``sum_sq``).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model.readout import goodness_from_sums
        >>> goodness_from_sums([np.array([16, 8])], widths=[2], time_steps=4)  # 2 runs
        array([[0.5 , 0.25]])
    """
    out = []
    for s, n in zip(sq, widths):
        g = np.asarray(s).astype(np.float64) / time_steps ** 2
        out.append(g / n if kind == "mean_sq" else g)
    return np.stack(out)


def goodness(counts: Sequence[np.ndarray], time_steps: int, kind: str = "mean_sq") -> np.ndarray:
    """Per-layer goodness from spike counts ``(B, n_k)``: returns ``(L, B)``.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model.readout import goodness
        >>> counts = [np.array([[4, 0], [2, 2]])]        # one layer: 2 runs x 2 neurons, T = 4
        >>> goodness(counts, time_steps=4)               # mean of (count / T)**2
        array([[0.5 , 0.25]])
        >>> goodness(counts, time_steps=4, kind="sum_sq")
        array([[1. , 0.5]])
    """
    sq = []
    for c in counts:     # sum of squared counts, in integers when the counts are integers
        c = np.asarray(c)
        c = c.reshape(c.shape[0], -1)
        c = c.astype(np.int64) if np.issubdtype(c.dtype, np.integer) else c.astype(np.float64)
        sq.append(np.einsum("bj,bj->b", c, c))
    return goodness_from_sums(sq, [int(np.prod(np.shape(c)[1:])) for c in counts], time_steps,
                              kind)


def symmetric_goodness(counts: Sequence[np.ndarray], time_steps: int,
                       eps: float = 0.01) -> np.ndarray:
    """Per-layer symmetric goodness (P_sym of Hebbian FFA) from spike counts ``(B, n_k)``: the
    first half of a layer is its positive population, the second its negative one;
    ``(G+ + eps) / (G+ + G- + 2 eps)``, ``G+-`` the sums of ``(count / T)^2`` over the halves.
    Returns ``(L, B)``.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model.readout import symmetric_goodness
        >>> counts = [np.array([[4, 0], [1, 3]])]        # [positive half | negative half]
        >>> symmetric_goodness(counts, time_steps=4).round(3)
        array([[0.99 , 0.112]])
    """
    out = []
    for c in counts:
        r = np.asarray(c, dtype=np.float64).reshape(len(c), -1) / time_steps
        h = r.shape[1] // 2
        gp = np.einsum("bj,bj->b", r[:, :h], r[:, :h])
        gn = np.einsum("bj,bj->b", r[:, h:], r[:, h:])
        out.append((gp + eps) / (gp + gn + 2 * eps))
    return np.stack(out)


@dataclass
class LabelSweep:
    """Forward-Forward inference by label sweep.

    For each candidate label ``c``, embed ``c``, run all layers for ``T`` steps and compute each
    layer's goodness from its spike counts, ``G_k = mean_j (count_j / T)^2`` (``goodness =
    "mean_sq"``; ``"sum_sq"``: the sum over neurons); predict ``argmax_c sum_{k >= from_layer}
    G_k``.

    ``goodness = "symmetric"`` (Hebbian FFA's split layer, Terres-Escudero et al. P_sym): each
    counted layer's first half is its positive and its second half its negative population,
    ``G_k = (G+ + eps) / (G+ + G- + 2 eps)`` with ``G+-`` the sum over the half of
    ``(count_j / T)^2``.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import LabelSweep
        >>> g = np.array([[[0.1, 0.5, 0.2]],             # goodness (L=2 layers, N=1, C=3 labels)
        ...               [[0.3, 0.1, 0.1]]])
        >>> LabelSweep().predict_from_goodness(g)        # summed over both layers
        array([1])
        >>> LabelSweep(from_layer=1).predict_from_goodness(g)
        array([0])
    """

    goodness: str = "mean_sq"
    from_layer: int = 0
    eps: float = 0.01

    type_name: ClassVar[str] = "label_sweep"
    kind: ClassVar[str] = "sweep"

    def __post_init__(self) -> None:
        from .. import checks
        if self.goodness not in GOODNESS_KINDS:
            raise ValueError(f"unknown goodness {self.goodness!r} ({'|'.join(GOODNESS_KINDS)})")
        self.from_layer = checks.integer("from_layer", self.from_layer, low=0)
        self.eps = checks.finite("eps", self.eps, low=0.0, low_open=True,
                                 high=checks.MAX_PARAMETER)
        if self.goodness == "symmetric" and not self.eps > 0:
            raise ValueError(f"goodness eps must be > 0, got {self.eps}")

    def layer_goodness(self, counts: Sequence[np.ndarray], time_steps: int) -> np.ndarray:
        """``(L, B)`` goodness of every layer from spike counts."""
        if self.goodness == "symmetric":
            return symmetric_goodness(counts, time_steps, self.eps)
        return goodness(counts, time_steps, self.goodness)

    def predict_from_goodness(self, g: np.ndarray) -> np.ndarray:
        """``g`` (L, N, C) -> argmax over labels of goodness summed over layers ``>= from_layer``."""
        return np.argmax(g[self.from_layer:].sum(axis=0), axis=1)

    def to_dict(self) -> dict:
        return {"goodness": self.goodness, "from_layer": self.from_layer, "eps": self.eps}

    @classmethod
    def from_dict(cls, d: dict) -> "LabelSweep":
        return cls(goodness=d.get("goodness", "mean_sq"), from_layer=d.get("from_layer", 0),
                   eps=d.get("eps", 0.01))


def class_goodness(counts: Sequence[np.ndarray], class_groups: Sequence[np.ndarray],
                   n_classes: int, time_steps: int, layers: Sequence[int]) -> np.ndarray:
    """Class-group goodness summed over ``layers``: ``(N, n_classes)`` float64.

    ``counts[l]`` is layer ``l``'s spike counts ``(N, C_out, H, W)`` (or ``(N, n)`` for a dense
    layer, or flattened channel-major); ``G_c = sum_l mean_{j in group c, positions}
    (count / T)^2``. A class without channels in a layer contributes 0 there.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model.readout import class_goodness
        >>> counts = [np.array([[4, 2, 0, 1]])]           # one dense layer, one run, T = 4
        >>> class_goodness(counts, [np.array([0, 0, 1, 1])], n_classes=2, time_steps=4,
        ...                layers=[0])
        array([[0.625  , 0.03125]])
    """
    g = None
    for l in layers:
        c = np.asarray(counts[l], dtype=np.float64)
        groups = np.asarray(class_groups[l])
        c = c.reshape(c.shape[0], len(groups), -1)
        per_ch = np.mean((c / time_steps) ** 2, axis=2)          # (N, C_out)
        gl = np.zeros((c.shape[0], n_classes))
        for cls in range(n_classes):
            sel = groups == cls
            if sel.any():
                gl[:, cls] = per_ch[:, sel].mean(axis=1)
        g = gl if g is None else g + gl
    return g


@dataclass
class ClassGroups:
    """One-pass channel-wise competition (FFGAF, Xu et al.; CwComp).

    ``class_groups[l][j]`` is the class of output channel ``j`` of layer ``l`` (a dense layer's
    channels are its neurons). Prediction: ``G_c = sum_{l in predict_layers} mean_{j in group
    c, positions} (count_j / T)^2`` and ``argmax_c G_c`` (:func:`class_goodness`).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import ClassGroups
        >>> cg = ClassGroups([np.array([0, 0, 1, 1])], n_classes=2)   # neurons 0-1: class 0
        >>> counts = [np.array([[4, 2, 0, 1]])]
        >>> cg.predict_from_counts(counts, time_steps=4)
        array([0])
        >>> cg.predict_layers                   # the default (-1,): the last layer, here 0
        (0,)
    """

    class_groups: List[np.ndarray]
    n_classes: int = 10
    predict_layers: tuple = (-1,)

    type_name: ClassVar[str] = "class_groups"
    kind: ClassVar[str] = "class-groups"

    def __post_init__(self) -> None:
        from .. import checks
        self.n_classes = checks.integer("n_classes", self.n_classes, low=2, high=1_000_000)
        groups = []
        for i, g in enumerate(self.class_groups):
            g = np.asarray(g)
            if g.ndim != 1 or not np.issubdtype(g.dtype, np.integer):
                raise ValueError(f"class_groups[{i}] must be a 1-D int array, got {g.dtype} "
                                 f"{g.shape}")
            if g.size and (g.min() < 0 or g.max() >= self.n_classes):
                raise ValueError(f"class_groups[{i}] has classes outside 0..{self.n_classes - 1}")
            groups.append(g.astype(np.int64))
        self.class_groups = groups
        n = len(groups)
        pl = tuple(checks.integer("predict_layers", p)
                   for p in np.atleast_1d(self.predict_layers))
        if not pl or any(not -n <= p < n for p in pl):
            raise ValueError(f"predict_layers {pl} out of range for {n} layers")
        self.predict_layers = tuple(sorted({p % n for p in pl}))

    def goodness(self, counts: Sequence[np.ndarray], time_steps: int) -> np.ndarray:
        """``(N, n_classes)`` class-group goodness from per-layer spike counts."""
        return class_goodness(counts, self.class_groups, self.n_classes, time_steps,
                              self.predict_layers)

    def predict_from_counts(self, counts: Sequence[np.ndarray], time_steps: int) -> np.ndarray:
        return np.argmax(self.goodness(counts, time_steps), axis=1)

    def to_dict(self) -> dict:
        return {"class_groups": list(self.class_groups), "n_classes": self.n_classes,
                "predict_layers": list(self.predict_layers)}

    @classmethod
    def from_dict(cls, d: dict) -> "ClassGroups":
        return cls(class_groups=d["class_groups"], n_classes=d["n_classes"],
                   predict_layers=tuple(d["predict_layers"]))


@dataclass
class LinearReadout:
    """One-pass readout: softmax regression on hidden spike rates (neutral label input).

    ``prediction = argmax(weight @ concat_{k >= from_layer}(count_k / T) + bias)``, with
    ``weight`` (C, H) where H is the number of neurons in layers ``from_layer..L-1``. It runs on
    the host (``C x H`` multiply-accumulates per inference).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import LinearReadout
        >>> r = LinearReadout(weight=np.eye(2), bias=np.zeros(2))
        >>> r.n_classes, r.predict(np.array([[0.1, 0.9], [0.7, 0.2]]))    # spike rates
        (2, array([1, 0]))

    :func:`ff_neuro.run.fit_readout` fits one on a network's training-set spike rates.
    """

    weight: np.ndarray
    bias: np.ndarray
    from_layer: int = 0

    type_name: ClassVar[str] = "linear_readout"
    kind: ClassVar[str] = "linear"

    def __post_init__(self) -> None:
        from .. import checks
        checks.parameters("the linear readout's weight", self.weight)
        checks.parameters("the linear readout's bias", self.bias)
        self.weight = np.asarray(self.weight, dtype=np.float64)
        self.bias = np.asarray(self.bias, dtype=np.float64)
        if self.weight.ndim != 2 or self.bias.shape != (self.weight.shape[0],):
            raise ValueError("readout weight must be (C, H) and bias (C,)")
        self.from_layer = checks.integer("from_layer", self.from_layer, low=0)

    @property
    def n_classes(self) -> int:
        return int(self.weight.shape[0])

    def predict(self, features: np.ndarray) -> np.ndarray:
        return np.argmax(features @ self.weight.T + self.bias, axis=1)

    def to_dict(self) -> dict:
        return {"weight": self.weight, "bias": self.bias, "from_layer": self.from_layer}

    @classmethod
    def from_dict(cls, d: dict) -> "LinearReadout":
        return cls(weight=d["weight"], bias=d["bias"], from_layer=d.get("from_layer", 0))


@dataclass
class SpikeCountReadout:
    """One-pass readout of a network trained with backprop through time: the output layer (the
    last) has one neuron per class and the class whose neuron spikes most wins,
    ``prediction = argmax_c count_c`` (ties: the lowest class index, as ``torch.argmax``).
    Nothing runs on the host but the argmax. ``n_classes=1`` reads a network that is not a
    classifier (one output neuron, such as a single LIF neuron imported from NIR): its score is
    the neuron's spike count.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import SpikeCountReadout
        >>> r = SpikeCountReadout(n_classes=3)
        >>> counts = [np.zeros((2, 8)), np.array([[1, 5, 2], [3, 0, 0]])]   # 2 layers, 2 runs
        >>> r.scores(counts).argmax(axis=1)
        array([1, 0])
    """

    n_classes: int

    type_name: ClassVar[str] = "spike_count"
    kind: ClassVar[str] = "spike-count"

    def __post_init__(self) -> None:
        from .. import checks
        self.n_classes = checks.integer("n_classes", self.n_classes, low=1)

    def scores(self, counts: Sequence[np.ndarray]) -> np.ndarray:
        """``(N, C)`` spike counts of the output layer."""
        c = counts[-1]
        return c.reshape(c.shape[0], -1)

    def to_dict(self) -> dict:
        return {"n_classes": self.n_classes}

    @classmethod
    def from_dict(cls, d: dict) -> "SpikeCountReadout":
        return cls(n_classes=d["n_classes"])


@dataclass
class MembraneReadout:
    """A non-spiking output layer read by its final membrane potential.

    Over the last spiking layer's spikes ``s[t]`` (H neurons), per time step::

        v[t] = beta * v[t-1] + W s[t] + b          prediction = argmax_c v[T-1, c]

    ``beta = 1`` sums the output currents over time (a trailing ``nn.Linear`` whose outputs are
    summed, scores ``W counts + T b``); ``beta < 1`` is ``snn.Leaky(beta,
    reset_mechanism="none")`` read by its membrane at the last step. The layer never spikes, so
    it has no threshold. On Loihi it is a compartment whose threshold is never reached; its
    fixed-point twin (``weight_q``, ``bias_q``, ``v_decay_q``, set by
    :func:`ff_neuro.quantization.quantize`) runs Loihi's integer arithmetic::

        v[t] = sat24(decay(v[t-1], v_decay_q) + ((W_q s[t] + b_q) << 6))

    with the scale chosen so that ``v`` cannot saturate within ``T`` steps. Inference
    (:func:`ff_neuro.run.one_pass`) evaluates this layer from the spikes every backend returns
    (float arithmetic on float backends, the integer twin on fixed-point backends); energy
    prices it as an on-chip layer (its synaptic events and neuron updates).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import MembraneReadout
        >>> from ff_neuro.quantization import quantize_membrane_readout
        >>> r = MembraneReadout(weight=np.full((10, 32), 0.5), beta=0.875)
        >>> r.n_classes, r.n_in, r.quantized
        (10, 32, False)
        >>> q = quantize_membrane_readout(r, time_steps=8)
        >>> q.quantized, q.v_decay_q, int(q.weight_q.max())
        (True, 512, 254)
    """

    weight: np.ndarray
    bias: Optional[np.ndarray] = None
    beta: float = 1.0
    weight_q: Optional[np.ndarray] = None
    bias_q: Optional[np.ndarray] = None
    v_decay_q: Optional[int] = None
    scale: Optional[float] = None

    type_name: ClassVar[str] = "membrane_readout"
    kind: ClassVar[str] = "membrane"

    def __post_init__(self) -> None:
        from .. import checks
        checks.parameters("the membrane readout's weight", self.weight)
        self.weight = np.asarray(self.weight, dtype=np.float64)
        if self.weight.ndim != 2:
            raise ValueError(f"the membrane readout's weight must be (C, H), got "
                             f"{self.weight.shape}")
        if self.bias is not None:
            checks.parameters("the membrane readout's bias", self.bias)
            self.bias = np.asarray(self.bias, dtype=np.float64)
            if self.bias.shape != (self.weight.shape[0],):
                raise ValueError("the membrane readout's bias must be (C,)")
        self.beta = checks.finite("beta", self.beta, low=0.0, high=1.0)
        twin = (self.weight_q, self.v_decay_q, self.scale)
        if any(v is not None for v in twin) and any(v is None for v in twin):
            raise ValueError("the membrane readout's fixed-point twin needs weight_q, v_decay_q "
                             "and scale")
        if self.weight_q is not None:
            self.weight_q = np.asarray(self.weight_q).astype(np.int64)
            if self.weight_q.shape != self.weight.shape:
                raise ValueError("weight_q must have the weight's shape")
            if self.bias_q is not None:
                self.bias_q = np.asarray(self.bias_q).astype(np.int64)
                if self.bias_q.shape != (self.weight.shape[0],):
                    raise ValueError("bias_q must be (C,)")
            self.v_decay_q = checks.integer("v_decay_q", self.v_decay_q, low=0)
            if self.v_decay_q > 4096:
                raise ValueError(f"v_decay_q must be in [0, 4096], got {self.v_decay_q}")
            self.scale = checks.finite("scale", self.scale, low=0.0, low_open=True)

    @property
    def n_classes(self) -> int:
        return int(self.weight.shape[0])

    @property
    def n_in(self) -> int:
        return int(self.weight.shape[1])

    @property
    def quantized(self) -> bool:
        return self.weight_q is not None

    def to_dict(self) -> dict:
        return {"weight": self.weight, "bias": self.bias, "beta": self.beta,
                "weight_q": self.weight_q, "bias_q": self.bias_q, "v_decay_q": self.v_decay_q,
                "scale": self.scale}

    @classmethod
    def from_dict(cls, d: dict) -> "MembraneReadout":
        return cls(weight=d["weight"], bias=d.get("bias"), beta=d.get("beta", 1.0),
                   weight_q=d.get("weight_q"), bias_q=d.get("bias_q"),
                   v_decay_q=d.get("v_decay_q"), scale=d.get("scale"))


READOUT_KINDS = {c.kind: c for c in (LabelSweep, ClassGroups, LinearReadout, SpikeCountReadout,
                                     MembraneReadout)}
