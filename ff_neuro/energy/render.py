"""Energy reports side by side: text table, CSV and a stacked bar chart per layer."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Dict

from ..fileio import atomic_path, save_figure
from .estimator import EnergyReport


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    return f"{v:.3f}" if abs(v) >= 0.001 else f"{v:.4g}"


def compare_table(reports: Dict[str, EnergyReport]) -> str:
    """One row per profile: parameters, memory, compute, total (mJ per inference)."""
    head = ("profile", "model", "params", "memory (mJ)", "compute (mJ)", "total (mJ)")
    rows = [head]
    for name, r in reports.items():
        rows.append((name, getattr(r, "model", ""), f"{r.parameters:,}", _fmt(r.memory_mJ),
                     _fmt(r.compute_mJ), _fmt(r.total_mJ)))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    lines = []
    for j, row in enumerate(rows):
        lines.append(" | ".join(str(c).ljust(w) if i < 2 else str(c).rjust(w)
                                for i, (c, w) in enumerate(zip(row, widths))))
        if j == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def write_csv(reports: Dict[str, EnergyReport], path) -> Path:
    """Per-profile, per-layer rows: parameters, counts and energies (pJ and mJ); the last two
    columns itemise the synaptic events through recurrent synapses and the current updates of
    current-based neurons (both included in ``synaptic_events`` / ``neuron_updates``)."""
    path = Path(path)
    fields = ["profile", "layer", "kind", "parameters", "synaptic_events", "weight_fetches",
              "macs", "accs", "neuron_updates", "memory_mJ", "compute_mJ", "total_mJ",
              "runs_per_inference", "rec_synaptic_events", "current_updates"]
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields)
            w.writeheader()
            for name, r in reports.items():
                for layer in r.layers:
                    d = layer.to_dict()
                    w.writerow({"profile": name, "layer": d["name"], "kind": d["kind"],
                                "parameters": d["parameters"],
                                "synaptic_events": d.get("synaptic_events", 0),
                                "weight_fetches": d["weight_fetches"], "macs": d["macs"],
                                "accs": d["accs"], "neuron_updates": d["neuron_updates"],
                                "memory_mJ": d["memory_mJ"], "compute_mJ": d["compute_mJ"],
                                "total_mJ": d["total_mJ"],
                                "runs_per_inference": r.runs_per_inference,
                                "rec_synaptic_events": d.get("rec_synaptic_events", 0),
                                "current_updates": d.get("current_updates", 0)})
                w.writerow({"profile": name, "layer": "TOTAL", "kind": "",
                            "parameters": r.parameters, "memory_mJ": r.memory_mJ,
                            "compute_mJ": r.compute_mJ, "total_mJ": r.total_mJ,
                            "runs_per_inference": r.runs_per_inference})
    return path


def plot_reports(reports: Dict[str, EnergyReport], path, title: str = "") -> Path:
    """Stacked bars (memory + compute) per layer, one panel per profile, mJ per inference."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    n = len(reports)
    fig, axes = plt.subplots(1, n, figsize=(max(4.0, 3.6 * n), 3.6), squeeze=False)
    for ax, (name, r) in zip(axes[0], reports.items()):
        labels = [l.name for l in r.layers]
        mem = np.array([l.memory_mJ for l in r.layers])
        comp = np.array([l.compute_mJ for l in r.layers])
        x = np.arange(len(labels))
        ax.bar(x, mem, label="memory access", color="#4c72b0")
        ax.bar(x, comp, bottom=mem, label="compute", color="#dd8452")
        ax.set_xticks(x)
        ax.set_xticklabels(labels, rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("mJ per inference")
        ax.set_title(f"{name}\ntotal {_fmt(r.total_mJ)} mJ", fontsize=9)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)
