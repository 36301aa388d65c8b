"""The whole chain as functions: data -> encoding -> training -> quantization -> export -> run
-> energy. The CLI (``ff-neuro demo``) and the tutorial notebook call these."""
from __future__ import annotations

import platform
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from .config import DemoConfig, QuantConfig
from .data import Dataset
from .encoding import network_inputs
from .energy import EnergyReport, measure_activity
from .model.network import Network
from .quantization import QuantReport, quantize
from .run import Backend, get_backend, label_sweep, one_pass
from .run.inference import fit_readout

#: Seed offset for calibration spikes (distinct from training and test draws).
CALIBRATION_SEED_OFFSET = 20_000_000


def calibration_inputs(net: Network, ds: Dataset, n: int) -> np.ndarray:
    """Input messages of the first ``n`` training samples, ``(T, n, *input_shape)``: positive
    data (the true label embedded) for a Forward-Forward network."""
    n = min(n, ds.x_train.shape[0])
    labels = ds.y_train[:n] if net.label_embedding is not None else None
    return network_inputs(net, ds.x_train[:n], labels=labels,
                          seed_offset=CALIBRATION_SEED_OFFSET)


def quantize_for_dataset(net: Network, ds: Dataset, cfg: Optional[QuantConfig] = None):
    """Quantize ``net`` calibrated on ``ds``'s training data: ``(qnet, QuantReport)``."""
    net.check_dataset(ds)
    cfg = cfg or QuantConfig()
    return quantize(net, cfg, calibration_inputs(net, ds, cfg.calibration_samples))


def spike_agreement(a: List[np.ndarray], b: List[np.ndarray]) -> float:
    """Fraction of equal spike bits over all (sample, layer, step, neuron) entries."""
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        raise ValueError(f"spike records differ in layers or shapes: "
                         f"{[x.shape for x in a]} vs {[y.shape for y in b]}")
    equal = sum(int(np.count_nonzero(x == y)) for x, y in zip(a, b))
    total = sum(x.size for x in a)
    return equal / total if total else 1.0


def attach_readout(net: Network, ds: Dataset, backend: Optional[Backend] = None,
                   from_layer: Optional[int] = None, progress: bool = False) -> Network:
    """Fit the one-pass linear readout on ``ds``'s training set (spike rates on ``backend``,
    default the float one) and add it to ``net``'s readouts."""
    net.check_dataset(ds)
    net.set_readout(fit_readout(backend or get_backend("float"), net, ds.x_train, ds.y_train,
                                from_layer=from_layer, progress=progress))
    return net


def readout_seconds(net: Network, ds: Dataset, probe: int = 2000) -> float:
    """How long :func:`attach_readout` will take on ``ds``, from a timed probe on ``probe``
    training samples (spike rates and the regression, both scaled to the whole set): what a
    training-time budget reserves for it."""
    from sklearn.linear_model import LogisticRegression

    from .run.inference import hidden_features
    n = min(probe, ds.x_train.shape[0])
    t = time.perf_counter()
    f = hidden_features(get_backend("float"), net, ds.x_train[:n], 0)
    t_features = time.perf_counter() - t
    t = time.perf_counter()
    if np.unique(ds.y_train[:n]).size > 1:
        LogisticRegression(max_iter=2000).fit(f, ds.y_train[:n])
    t_fit = time.perf_counter() - t
    return (t_features + t_fit) * ds.x_train.shape[0] / n


@dataclass
class DemoResult:
    """Everything ``ff-neuro demo`` measured."""

    dataset: str
    n_test: int
    accuracy: Dict[str, float]
    lava_samples: int
    lava_emulator_spike_agreement: float
    energy: EnergyReport
    quant_report: QuantReport
    timings: Dict[str, float] = field(default_factory=dict)
    lava_stats: Optional[dict] = None
    files: Dict[str, str] = field(default_factory=dict)
    readout: Optional[dict] = None

    def to_dict(self) -> dict:
        e = self.energy.to_dict()
        return {
            "dataset": self.dataset,
            "n_test": self.n_test,
            "accuracy": self.accuracy,
            "lava_samples": self.lava_samples,
            "lava_emulator_spike_agreement": self.lava_emulator_spike_agreement,
            "energy": {"profile": e["profile"], "parameters": e["parameters"],
                       "memory_mJ": e["memory_mJ"], "compute_mJ": e["compute_mJ"],
                       "total_mJ": e["total_mJ"], "runs_per_inference": e["runs_per_inference"],
                       "layers": e["layers"],
                       "measured_on": "lava_fixed_pt"},
            "readout": self.readout,
            "quantization": self.quant_report.to_dict(),
            "timings_s": self.timings,
            "lava": self.lava_stats,
            "files": self.files,
            "machine": {"platform": platform.platform(), "processor": platform.machine()},
        }

    def format(self) -> str:
        a = self.accuracy
        lines = [
            f"ff-neuro demo on {self.dataset} ({self.n_test} test samples)",
            "",
            f"{'backend':<34}{'test accuracy':>14}",
            f"{'float (snnTorch)':<34}{a['float']:>14.4f}",
            f"{'quantized, fixed-point emulator':<34}{a['emulator']:>14.4f}",
            f"{'  emulator on the Lava samples':<34}{a['emulator_on_lava_samples']:>14.4f}",
            f"{'Lava fixed_pt (Loihi2SimCfg)':<34}{a['lava_fixed_pt']:>14.4f}"
            f"   ({self.lava_samples} samples)",
            "",
            f"spike agreement emulator vs Lava: {self.lava_emulator_spike_agreement:.6f} "
            f"(all layers, steps, neurons, {self.lava_samples} samples x "
            f"{self.energy.runs_per_inference} labels)",
        ]
        if self.lava_stats:
            c = int(self.lava_stats.get("compiles", 1))
            lines.append(f"Lava: {self.lava_stats['n_steps']} steps in "
                         f"{'one compile' if c == 1 else f'{c} compiles'}, "
                         f"{self.lava_stats['ms_per_step']:.2f} ms/step")
        if self.readout:
            r = self.readout
            lines += ["", "inference mode          runs/inference   float  emulator  Lava fixed_pt"
                          "   energy (mJ)",
                      f"label sweep             {self.energy.runs_per_inference:>14}  "
                      f"{a['float']:.4f}    {a['emulator']:.4f}         {a['lava_fixed_pt']:.4f}"
                      f"   {self.energy.total_mJ:.4g}",
                      f"linear readout          {1:>14}  {r['accuracy']['float']:.4f}    "
                      f"{r['accuracy']['emulator']:.4f}         "
                      f"{r['accuracy']['lava_fixed_pt']:.4f}   {r['energy']['total_mJ']:.4g}",
                      "(Lava columns on the Lava samples; readout: softmax regression on hidden "
                      "spike rates with a neutral label, one run)"]
        lines += ["", "quantization:", self.quant_report.format_table(), "",
                  f"energy per inference ({self.energy.profile}; label sweep = "
                  f"{self.energy.runs_per_inference} runs; spike counts from the Lava run):",
                  self.energy.format_table()]
        if self.files:
            lines += [""] + [f"{k}: {v}" for k, v in self.files.items()]
        return "\n".join(lines)


def run_demo(ds: Dataset, cfg: Optional[DemoConfig] = None, progress: bool = True,
             lava_backend: Optional[Backend] = None, log=print) -> DemoResult:
    """Train, quantize, export, run on Lava and cost the FF-SNN on ``ds``."""
    from .export.netx import write_netx
    from .model.io import save_model
    from .training import FFTrainer

    cfg = cfg or DemoConfig()
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings = {}

    t = time.perf_counter()
    log(f"[1/5] training a spiking FF network {list(cfg.train.hidden)} on {ds.name} "
        f"({ds.x_train.shape[0]} samples, {cfg.train.epochs} epochs)")
    net = FFTrainer(cfg.train, ds).fit(progress=progress)

    log("      fitting the one-pass linear readout on hidden spike rates")
    attach_readout(net, ds)
    timings["train"] = time.perf_counter() - t

    t = time.perf_counter()
    log("[2/5] quantizing to Loihi fixed point")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        qnet, qrep = quantize_for_dataset(net, ds, cfg.quant)
    for w in caught:
        log(f"WARNING: {w.message}")
    model_path = save_model(qnet, out / "model.h5")
    netx_path = write_netx(qnet, out / "model.netx.h5")
    timings["quantize_export"] = time.perf_counter() - t

    t = time.perf_counter()
    log(f"[3/5] evaluating float and emulator on {ds.x_test.shape[0]} test samples")
    flt, emu = get_backend("float"), get_backend("emulator")
    r_float = label_sweep(flt, qnet, ds.x_test)
    r_emu = label_sweep(emu, qnet, ds.x_test)
    timings["evaluate"] = time.perf_counter() - t

    t = time.perf_counter()
    n_lava = min(cfg.lava_samples, ds.x_test.shape[0])
    lava = lava_backend or get_backend("lava-fixed", timeout_s=cfg.lava_timeout_s,
                                       workers=cfg.lava_workers)
    log(f"[4/5] running {n_lava} test samples x {net.n_classes} labels on Lava fixed_pt "
        f"({getattr(lava, 'workers', 1)} parallel runs)")
    x_l, y_l = ds.x_test[:n_lava], ds.y_test[:n_lava]
    r_lava = label_sweep(lava, qnet, x_l, keep_spikes=True, chunk=n_lava)
    r_emu_l = label_sweep(emu, qnet, x_l, keep_spikes=True, chunk=n_lava)
    stats = lava.stats
    log(f"      and the linear readout: {n_lava} samples, one run each")
    linear = qnet.get_readout("linear")
    ro_lava = one_pass(lava, qnet, x_l, readout=linear, chunk=n_lava)
    ro_acc = {"float": one_pass(flt, qnet, ds.x_test, readout=linear).accuracy(ds.y_test),
              "emulator": one_pass(emu, qnet, ds.x_test, readout=linear).accuracy(ds.y_test),
              "lava_fixed_pt": ro_lava.accuracy(y_l)}
    timings["lava"] = time.perf_counter() - t

    log("[5/5] energy from the Lava runs' spike counts")
    energy = measure_activity(qnet, r_lava, backend=lava.name).report(cfg.profile)
    ro_energy = measure_activity(qnet, ro_lava, backend=lava.name).report(cfg.profile)
    readout = {"accuracy": ro_acc, "runs_per_inference": 1,
               "energy": {k: v for k, v in ro_energy.to_dict().items() if k != "layers"}}
    return DemoResult(
        dataset=ds.name, n_test=int(ds.x_test.shape[0]),
        accuracy={"float": r_float.accuracy(ds.y_test), "emulator": r_emu.accuracy(ds.y_test),
                  "emulator_on_lava_samples": r_emu_l.accuracy(y_l),
                  "lava_fixed_pt": r_lava.accuracy(y_l)},
        lava_samples=n_lava,
        lava_emulator_spike_agreement=spike_agreement(r_emu_l.spikes, r_lava.spikes),
        energy=energy, quant_report=qrep, timings=timings,
        lava_stats=None if stats is None else stats.to_dict(), readout=readout,
        files={"model": str(model_path), "netx": str(netx_path)})
