"""Parity report: the same inputs through every backend, compared spike by spike.

Backends: ``float`` (snnTorch, float64), ``emulator`` (Loihi fixed point, numpy),
``lava_fixed_pt`` (NetX on Lava's bit-accurate models) and ``lava_floating_pt`` (the float model
as Lava Dense + LIFReset). For each pair the report gives the fraction of equal spike bits over
(sample, label, layer, step, neuron), mismatches per layer and time step, the first divergence,
and the agreement of predictions; and each backend's accuracy.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from .fileio import save_figure
from .model.primitives import FFNetwork
from .run.inference import SweepResult, label_sweep

#: Pairs compared when both sides ran, named as in the JSON report.
PAIRS = (("float", "emulator"), ("emulator", "lava_fixed_pt"),
         ("float", "lava_floating_pt"), ("lava_floating_pt", "lava_fixed_pt"))
BACKENDS = ("float", "emulator", "lava_fixed_pt", "lava_floating_pt")


def make_backend(name: str, timeout_s: float = 600.0):
    """Backend object for a parity name."""
    if name == "float":
        from .run.torch_backend import TorchBackend
        return TorchBackend()
    if name == "emulator":
        from .run.emulator import EmulatorBackend
        return EmulatorBackend()
    from .export.lava_runner import LavaBackend
    if name == "lava_fixed_pt":
        return LavaBackend("fixed_pt", timeout_s=timeout_s)
    if name == "lava_floating_pt":
        return LavaBackend("floating_pt", timeout_s=timeout_s)
    raise ValueError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})")


@dataclass
class PairReport:
    """Spike-level comparison of two backends on the same sweep inputs."""

    spike_agreement: float
    prediction_agreement: float
    mismatches: np.ndarray  # (L, T): differing spike bits per layer and step
    first_divergence: Optional[dict]

    def to_dict(self) -> dict:
        return {"spike_agreement": self.spike_agreement,
                "prediction_agreement": self.prediction_agreement,
                "mismatches_per_layer_step": self.mismatches.tolist(),
                "total_mismatches": int(self.mismatches.sum()),
                "first_divergence": self.first_divergence}


def compare(a: SweepResult, b: SweepResult) -> PairReport:
    """Compare two sweeps' spikes (``(T, N, C, n_k)`` per layer) and predictions."""
    L = len(a.spikes)
    T = a.spikes[0].shape[0]
    mism = np.zeros((L, T), dtype=np.int64)
    equal = total = 0
    first = None
    for k, (x, y) in enumerate(zip(a.spikes, b.spikes)):
        if x.shape != y.shape:
            raise ValueError(f"layer {k}: spike shapes differ {x.shape} vs {y.shape}")
        diff = x != y
        mism[k] = diff.reshape(T, -1).sum(axis=1)
        equal += diff.size - int(diff.sum())
        total += diff.size
    # First divergence: earliest step, then lowest layer, with any mismatch.
    for t in range(T):
        ks = np.flatnonzero(mism[:, t])
        if ks.size:
            k = int(ks[0])
            idx = np.argwhere(a.spikes[k][t] != b.spikes[k][t])[0]
            first = {"step": t, "layer": k, "sample": int(idx[0]), "label": int(idx[1]),
                     "neuron": int(idx[2])}
            break
    return PairReport(spike_agreement=equal / total if total else 1.0,
                      prediction_agreement=float(np.mean(a.predictions == b.predictions)),
                      mismatches=mism, first_divergence=first)


@dataclass
class ParityReport:
    samples: int
    accuracy: Dict[str, float]
    pairs: Dict[str, PairReport] = field(default_factory=dict)
    seconds: Dict[str, float] = field(default_factory=dict)
    lava_ms_per_step: Dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {"samples": self.samples, "accuracy": self.accuracy, "seconds": self.seconds,
             "lava_ms_per_step": self.lava_ms_per_step}
        for name, p in self.pairs.items():
            d[name] = p.to_dict()
        return d

    def format(self) -> str:
        lines = [f"parity on {self.samples} samples (x all candidate labels)", "",
                 f"{'backend':<20}{'accuracy':>10}{'seconds':>10}"]
        for name, acc in self.accuracy.items():
            lines.append(f"{name:<20}{acc:>10.4f}{self.seconds.get(name, float('nan')):>10.1f}")
        lines += ["", f"{'pair':<36}{'spike agreement':>17}{'pred. agreement':>17}  "
                      f"first divergence"]
        for name, p in self.pairs.items():
            fd = "none" if p.first_divergence is None else \
                "step {step}, layer {layer}, sample {sample}, label {label}".format(
                    **p.first_divergence)
            lines.append(f"{name:<36}{p.spike_agreement:>17.6f}{p.prediction_agreement:>17.4f}"
                         f"  {fd}")
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


def run_parity(net: FFNetwork, x: np.ndarray, y: np.ndarray,
               backends: Sequence[str] = BACKENDS, timeout_s: float = 600.0,
               log=None) -> ParityReport:
    """Label-sweep ``x`` on every backend with identical input spikes and compare them."""
    import time
    if net.quantized is None and any(b in ("emulator", "lava_fixed_pt") for b in backends):
        raise ValueError("parity needs a quantized model (ff-neuro quantize)")
    results: Dict[str, SweepResult] = {}
    report = ParityReport(samples=int(x.shape[0]), accuracy={})
    for name in backends:
        if log:
            log(f"running {name} on {x.shape[0]} samples x {net.n_classes} labels")
        be = make_backend(name, timeout_s)
        t = time.perf_counter()
        results[name] = label_sweep(be, net, x, keep_spikes=True, chunk=x.shape[0])
        report.seconds[name] = time.perf_counter() - t
        report.accuracy[name] = results[name].accuracy(y)
        stats = getattr(be, "last_stats", None)
        if stats is not None:
            report.lava_ms_per_step[name] = stats.ms_per_step
    for a, b in PAIRS:
        if a in results and b in results:
            report.pairs[f"{a}_vs_{b}"] = compare(results[a], results[b])
    return report
