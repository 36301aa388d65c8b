"""Parity report: the same inputs through every backend, compared spike by spike.

Backends by registry name (:mod:`ff_neuro.run`): ``float`` (float64), ``emulator`` (Loihi fixed
point), ``lava-fixed`` (the NetX export on Lava's bit-accurate models) and ``lava-float`` (the
float model as Lava ``Dense``/``Conv`` + ``LIFReset``). Every network kind runs its default
readout (a label sweep: every candidate label; one pass otherwise). For each pair the report
gives the fraction of equal spike bits over (run, layer, step, neuron), mismatches per layer and
time step, the first divergence, and the agreement of predictions; and each backend's
accuracy.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Sequence

import numpy as np

from .fileio import save_figure
from .model.network import Network
from .run import FIXED_POINT, available, canonical, get_backend, infer
from .run.inference import InferenceResult

#: Pairs compared when both sides ran.
PAIRS = (("float", "emulator"), ("emulator", "lava-fixed"), ("float", "lava-fixed"),
         ("float", "lava-float"), ("lava-float", "lava-fixed"))
BACKENDS = ("float", "emulator", "lava-fixed", "lava-float")


@dataclass
class PairReport:
    """Spike-level comparison of two backends on the same inputs.

    ``spike_agreement``: the fraction of equal spike bits over (run, layer, step, neuron);
    ``prediction_agreement``: the fraction of equal predictions; ``mismatches``: differing
    spike bits per layer and step; ``first_divergence``: the earliest step (then the lowest
    layer) where the two differ, or None.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.parity import PairReport
        >>> p = PairReport(spike_agreement=1.0, prediction_agreement=1.0,
        ...                mismatches=np.zeros((2, 8), np.int64), first_divergence=None)
        >>> p.to_dict()["total_mismatches"], p.to_dict()["mismatches_per_layer"]
        (0, [0, 0])
    """

    spike_agreement: float
    prediction_agreement: float
    mismatches: np.ndarray  # (L, T): differing spike bits per layer and step
    first_divergence: Optional[dict]

    def to_dict(self) -> dict:
        return {"spike_agreement": self.spike_agreement,
                "prediction_agreement": self.prediction_agreement,
                "mismatches_per_layer_step": self.mismatches.tolist(),
                "mismatches_per_layer": self.mismatches.sum(axis=1).tolist(),
                "total_mismatches": int(self.mismatches.sum()),
                "first_divergence": self.first_divergence}


def compare(a: InferenceResult, b: InferenceResult) -> PairReport:
    """Compare two inference results' spikes (``(T, R, *shape)`` per layer) and predictions.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> ds = ffn.load_dataset("digits")
        >>> from ff_neuro.parity import compare
        >>> from ff_neuro.run import get_backend, infer
        >>> a = infer(get_backend("emulator"), qnet, ds.x_test[:10], keep_spikes=True)
        >>> b = infer(get_backend("emulator", engine="numpy"), qnet, ds.x_test[:10],
        ...           keep_spikes=True)
        >>> pair = compare(a, b)                # the emulator's two engines: identical spikes
        >>> pair.spike_agreement, pair.prediction_agreement, pair.first_divergence
        (1.0, 1.0, None)
    """
    L = len(a.spikes)
    T = a.spikes[0].shape[0]
    mism = np.zeros((L, T), dtype=np.int64)
    equal = total = 0
    for k, (x, y) in enumerate(zip(a.spikes, b.spikes)):
        if x.shape != y.shape:
            raise ValueError(f"layer {k}: spike shapes differ {x.shape} vs {y.shape}")
        diff = x != y
        mism[k] = diff.reshape(T, -1).sum(axis=1)
        equal += diff.size - int(diff.sum())
        total += diff.size
    first = None
    for t in range(T):  # earliest step, then lowest layer, with any mismatch
        ks = np.flatnonzero(mism[:, t])
        if ks.size:
            k = int(ks[0])
            sa, sb = a.spikes[k][t], b.spikes[k][t]
            idx = np.argwhere(sa.reshape(sa.shape[0], -1) != sb.reshape(sb.shape[0], -1))[0]
            run = int(idx[0])
            first = {"step": t, "layer": k, "sample": run // a.runs_per_sample,
                     "neuron": int(idx[1])}
            if a.runs_per_sample > 1:
                first["label"] = run % a.runs_per_sample
            break
    return PairReport(spike_agreement=equal / total if total else 1.0,
                      prediction_agreement=float(np.mean(a.predictions == b.predictions)),
                      mismatches=mism, first_divergence=first)


@dataclass
class ParityReport:
    """What :func:`run_parity` measured: each backend's accuracy and time, and a
    :class:`PairReport` per compared pair (``pairs["float_vs_emulator"]``, ...).
    ``format()`` gives the table, ``to_dict()`` the numbers, ``plot(path)`` a heat map of
    the mismatching spikes per pair.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> ds = ffn.load_dataset("digits")
        >>> from ff_neuro.parity import run_parity
        >>> rep = run_parity(qnet, ds.x_test[:10], ds.y_test[:10], backends=("float", "emulator"))
        >>> print(rep.format())
        parity on 10 samples (x all candidate labels)
        <BLANKLINE>
        backend               accuracy   seconds
        float                   0.1000       ...
        emulator                0.1000       ...
        <BLANKLINE>
        pair                                  spike agreement  pred. agreement  first divergence
        float_vs_emulator 0.997266 1.0000  step 0, layer 0, sample 2, label 6
        <BLANKLINE>
        mismatching spike bits per layer (rows) and step (columns), float_vs_emulator:
          layer 0: 2 3 2 4 5 4 6 9
        >>> sorted(rep.to_dict())
        ['accuracy', 'lava_ms_per_step', 'lava_runs', 'pairs', 'readout', 'samples', 'seconds']
        >>> rep.plot("parity.png").name
        'parity.png'
    """

    samples: int
    readout: str
    accuracy: Dict[str, float]
    pairs: Dict[str, PairReport] = field(default_factory=dict)
    seconds: Dict[str, float] = field(default_factory=dict)
    lava_ms_per_step: Dict[str, float] = field(default_factory=dict)
    lava: Dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {"samples": self.samples, "readout": self.readout, "accuracy": self.accuracy,
             "seconds": self.seconds, "lava_ms_per_step": self.lava_ms_per_step,
             "lava_runs": self.lava, "pairs": {}}
        for name, p in self.pairs.items():
            d["pairs"][name] = p.to_dict()
        return d

    def format(self) -> str:
        runs = " (x all candidate labels)" if self.readout == "sweep" else " (one pass)"
        lines = [f"parity on {self.samples} samples{runs}", "",
                 f"{'backend':<20}{'accuracy':>10}{'seconds':>10}"]
        for name, acc in self.accuracy.items():
            lines.append(f"{name:<20}{acc:>10.4f}{self.seconds.get(name, float('nan')):>10.1f}")
        lines += ["", f"{'pair':<36}{'spike agreement':>17}{'pred. agreement':>17}  "
                      f"first divergence"]
        for name, p in self.pairs.items():
            fd = p.first_divergence
            where = "none" if fd is None else (
                f"step {fd['step']}, layer {fd['layer']}, sample {fd['sample']}"
                + (f", label {fd['label']}" if "label" in fd else ""))
            lines.append(f"{name:<36}{p.spike_agreement:>17.6f}{p.prediction_agreement:>17.4f}"
                         f"  {where}")
        for name, p in self.pairs.items():
            if p.mismatches.sum():
                lines.append(f"\nmismatching spike bits per layer (rows) and step (columns), "
                             f"{name}:")
                for k, row in enumerate(p.mismatches):
                    lines.append(f"  layer {k}: " + " ".join(str(int(v)) for v in row))
        return "\n".join(lines)

    def plot(self, path) -> Path:
        """Heat maps of mismatching spikes over (layer, step), one panel per pair."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        names = list(self.pairs)
        fig, axes = plt.subplots(1, max(1, len(names)), figsize=(4.2 * max(1, len(names)), 3.2),
                                 squeeze=False)
        for ax, name in zip(axes[0], names):
            p = self.pairs[name]
            im = ax.imshow(p.mismatches, aspect="auto", cmap="magma_r", vmin=0,
                           vmax=max(1, int(p.mismatches.max())), interpolation="nearest")
            ax.set_title(f"{name}\nagreement {p.spike_agreement:.6f}", fontsize=9)
            ax.set_xlabel("time step")
            ax.set_ylabel("layer")
            ax.set_yticks(range(p.mismatches.shape[0]))
            fig.colorbar(im, ax=ax, label="mismatching spikes")
        return save_figure(fig, path)


def run_parity(net: Network, x: np.ndarray, y: np.ndarray,
               backends: Sequence[str] = BACKENDS, timeout_s: float = 600.0,
               log=None, readout: Optional[str] = None,
               workers: Optional[int] = None, results: Optional[dict] = None,
               skip_failed=None) -> ParityReport:
    """Classify ``x`` on every backend (registry names or aliases) with identical inputs and
    compare them spike by spike (``readout``: a kind name, default the network's;
    ``workers``: parallel Lava runs, default half the cores available, the same report).
    ``results``: a dict that gets every backend's :class:`InferenceResult` (spikes kept);
    ``skip_failed(name, exc)``: called when a backend's run raises; returning True leaves that
    backend out instead of raising.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> ds = ffn.load_dataset("digits")
        >>> from ff_neuro.parity import run_parity
        >>> rep = run_parity(qnet, ds.x_test[:10], ds.y_test[:10], backends=("float", "emulator"))
        >>> pair = rep.pairs["float_vs_emulator"]     # the float layers vs their Loihi integers
        >>> round(pair.spike_agreement, 4), pair.prediction_agreement
        (0.9973, 1.0)
        >>> pair.first_divergence
        {'step': 0, 'layer': 0, 'sample': 2, 'neuron': 15, 'label': 6}

    The emulator against Lava's bit-accurate models (needs Lava)::

        >>> rep = run_parity(qnet, ds.x_test[:10], ds.y_test[:10],
        ...                  backends=("emulator", "lava-fixed"))        # doctest: +SKIP
        >>> rep.pairs["emulator_vs_lava-fixed"].spike_agreement          # doctest: +SKIP
        1.0
    """
    names = list(dict.fromkeys(canonical(b) for b in backends))
    if not any(a in names and b in names for a, b in PAIRS):
        pairs = "; ".join(f"{a},{b}" for a, b in PAIRS)
        raise ValueError(f"parity compares two backends of a pair ({pairs}); the backends "
                         f"given ({','.join(names) or 'none'}) form no pair")
    for name in names:
        ok, why = available(name)
        if not ok:
            raise ValueError(f"backend {name} cannot run here: {why}")
    if net.quantized is None and any(b in FIXED_POINT for b in names):
        raise ValueError("parity needs a quantized model (ff-neuro quantize)")
    r = net.get_readout(readout)
    results = {} if results is None else results
    report = ParityReport(samples=int(x.shape[0]), readout=r.kind, accuracy={})
    for name in names:
        if log:
            runs = f" x {net.n_classes} labels" if r.kind == "sweep" else ""
            log(f"running {name} on {x.shape[0]} samples{runs}")
        be = get_backend(name, timeout_s=timeout_s, workers=workers)
        t = time.perf_counter()
        try:
            results[name] = infer(be, net, x, r, keep_spikes=True, chunk=x.shape[0])
        except Exception as exc:
            if skip_failed is not None and skip_failed(name, exc):
                continue
            raise
        report.seconds[name] = time.perf_counter() - t
        report.accuracy[name] = results[name].accuracy(y)
        if name.startswith("lava") and be.stats is not None:
            report.lava_ms_per_step[name] = be.stats.ms_per_step
            report.lava[name] = be.stats.to_dict()
    for a, b in PAIRS:
        if a in results and b in results:
            report.pairs[f"{a}_vs_{b}"] = compare(results[a], results[b])
    return report
