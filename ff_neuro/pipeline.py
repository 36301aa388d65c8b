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
from .encoding import encode
from .energy import EnergyReport, SpikingLayerActivity, snn_energy
from .model.primitives import FFNetwork
from .quantization import QuantReport, quantize
from .run.backend import Backend
from .run.emulator import EmulatorBackend
from .run.inference import SweepResult, label_sweep
from .run.torch_backend import TorchBackend

#: Seed offset for calibration spikes (distinct from training and test draws).
CALIBRATION_SEED_OFFSET = 20_000_000


def calibration_spikes(net: FFNetwork, ds: Dataset, n: int) -> np.ndarray:
    """Positive-data input spikes of the first ``n`` training samples: ``(T, n, n_in)``."""
    n = min(n, ds.x_train.shape[0])
    return encode(ds.x_train[:n], ds.y_train[:n], net.label_embedding, net.encoding,
                  seed_offset=CALIBRATION_SEED_OFFSET)


def quantize_for_dataset(net: FFNetwork, ds: Dataset,
                         cfg: Optional[QuantConfig] = None):
    """Quantize ``net`` calibrated on ``ds``'s training data: ``(qnet, QuantReport)``."""
    cfg = cfg or QuantConfig()
    return quantize(net, cfg, calibration_spikes(net, ds, cfg.calibration_samples))


def spike_agreement(a: List[np.ndarray], b: List[np.ndarray]) -> float:
    """Fraction of equal spike bits over all (sample, layer, step, neuron) entries."""
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        raise ValueError(f"spike records differ in layers or shapes: "
                         f"{[x.shape for x in a]} vs {[y.shape for y in b]}")
    equal = sum(int(np.count_nonzero(x == y)) for x, y in zip(a, b))
    total = sum(x.size for x in a)
    return equal / total if total else 1.0


def measured_energy(net: FFNetwork, input_spikes_per_run: float,
                    layer_spikes_per_run: List[float], profile: str,
                    runs_per_inference: int, readout: bool = False) -> EnergyReport:
    """Energy per inference from spike counts measured on a run of the deployed model.

    Layer 0's input spikes are the encoded input spikes; layer ``k``'s are layer ``k-1``'s
    output spikes; all per run (one sample, one label). The label sweep costs ``n_classes`` runs
    per inference; the linear readout one run plus its ``C x H`` MACs on the host (priced with
    the profile's ANN accounting, one weight fetch and one MAC per weight).
    """
    T = net.encoding.time_steps
    in_counts = [float(input_spikes_per_run)] + [float(c) for c in layer_spikes_per_run[:-1]]
    acts = [SpikingLayerActivity(name=f"lif{k + 1}", n_in=l.n_in, n_out=l.n_out, time_steps=T,
                                 input_spikes=in_counts[k], output_spikes=layer_spikes_per_run[k])
            for k, l in enumerate(net.layers)]
    rep = snn_energy(acts, profile, runs_per_inference=runs_per_inference)
    if readout:
        if net.readout is None:
            raise ValueError("the model has no linear readout")
        from .energy import ann_mlp_energy
        h = net.readout.weight.shape[1]
        try:
            host = ann_mlp_energy([h, net.n_classes], profile, names=["readout (host)"]).layers[0]
            rep.layers.append(host)
        except ValueError:  # a per-event chip profile prices no ANN arithmetic
            rep.notes.append(f"the host readout ({h} x {net.n_classes} MACs) is not priced: "
                             f"this chip profile has no ANN arithmetic")
    return rep


@dataclass
class MeasuredCounts:
    """Spike counts per run measured on a backend, enough to price any profile."""

    input_spikes_per_run: float
    layer_spikes_per_run: List[float]
    runs_per_inference: int
    mode: str
    readout: bool = False

    def report(self, net: FFNetwork, profile: str) -> EnergyReport:
        rep = measured_energy(net, self.input_spikes_per_run, self.layer_spikes_per_run,
                              profile, self.runs_per_inference, readout=self.readout)
        if self.mode == "training":
            extra = self.runs_per_inference - 2
            rep.notes.append(
                "training: one positive and one negative pass per sample"
                + (f", plus {extra} hard-negative mining passes (one per candidate label)"
                   if extra else "")
                + "; the surrogate-gradient weight update runs off-chip and is not priced")
        return rep


def sweep_counts(sweep: SweepResult, y: Optional[np.ndarray], n_classes: int,
                 mode: str = "inference", hard_negatives: bool = False) -> MeasuredCounts:
    """Counts per run from a label sweep. ``inference``: the sweep (``n_classes`` runs);
    ``training``: the positive run (true label) and a negative run (mean over wrong labels),
    plus ``n_classes`` mining runs per sample when the model was trained with hard negatives."""
    if sweep.spikes is None:
        raise ValueError("needs the sweep's spikes (label_sweep(..., keep_spikes=True))")
    T, N, C, _ = sweep.spikes[0].shape
    if mode == "inference":
        return MeasuredCounts(sweep.input_spikes_per_run,
                              [float(s.sum(dtype=np.int64)) / (N * C) for s in sweep.spikes],
                              runs_per_inference=n_classes, mode=mode)
    if mode != "training":
        raise ValueError(f"unknown mode {mode!r} (inference|training)")
    pos = np.zeros((N, C), dtype=bool)
    pos[np.arange(N), np.asarray(y)] = True
    layer = []
    for s in sweep.spikes:
        per_run = s.sum(axis=(0, 3), dtype=np.int64)  # (N, C)
        layer.append(float(per_run[pos].mean() + per_run[~pos].mean()) / 2)
    # Input spikes: the label part differs by label only in position, so the mean is the same.
    if hard_negatives:  # mining runs every candidate label: price those runs at sweep means
        sweep_mean = [float(s.sum(dtype=np.int64)) / (N * C) for s in sweep.spikes]
        layer = [(2 * a + n_classes * b) / (2 + n_classes) for a, b in zip(layer, sweep_mean)]
    return MeasuredCounts(sweep.input_spikes_per_run, layer,
                          runs_per_inference=2 + (n_classes if hard_negatives else 0), mode=mode)


def sweep_energy(net: FFNetwork, sweep: SweepResult, profile: str) -> EnergyReport:
    """Energy per inference of the label sweep, from spike counts measured in ``sweep``."""
    return sweep_counts(sweep, None, net.n_classes).report(net, profile)


def readout_counts(net: FFNetwork, backend: Backend, x: np.ndarray) -> MeasuredCounts:
    """Counts per run of the one-pass linear readout (neutral label), measured on ``backend``."""
    from .run.inference import TEST_SEED_OFFSET
    from .run.readout import neutral_inputs
    inp = neutral_inputs(net, x, TEST_SEED_OFFSET, np.arange(x.shape[0]))
    res = backend.run(net, inp)
    n = x.shape[0]
    return MeasuredCounts(float(np.count_nonzero(inp)) / n,
                          [float(s.sum(dtype=np.int64)) / n for s in res.spikes],
                          runs_per_inference=1, mode="inference", readout=True)


def readout_energy(net: FFNetwork, backend: Backend, x: np.ndarray, profile: str) -> EnergyReport:
    """Energy per inference with the one-pass linear readout, counts measured on ``backend``."""
    return readout_counts(net, backend, x).report(net, profile)


def attach_readout(net: FFNetwork, ds: Dataset, backend: Optional[Backend] = None,
                   from_layer: Optional[int] = None) -> FFNetwork:
    """Fit the one-pass linear readout on ``ds``'s training set and store it in ``net``."""
    from .run.readout import fit_readout
    net.readout = fit_readout(backend or TorchBackend(), net, ds.x_train, ds.y_train,
                              from_layer=from_layer)
    return net


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
            lines.append(f"Lava: {self.lava_stats['n_steps']} steps in one compile, "
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
    from .export.lava_runner import LavaBackend
    from .export.netx import write_netx
    from .model.hdf5 import save_model
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
    r_float = label_sweep(TorchBackend(), qnet, ds.x_test)
    r_emu = label_sweep(EmulatorBackend(), qnet, ds.x_test)
    timings["evaluate"] = time.perf_counter() - t

    t = time.perf_counter()
    n_lava = min(cfg.lava_samples, ds.x_test.shape[0])
    log(f"[4/5] running {n_lava} test samples x {net.n_classes} labels on Lava fixed_pt "
        f"(one compile)")
    lava = lava_backend or LavaBackend(timeout_s=cfg.lava_timeout_s)
    x_l, y_l = ds.x_test[:n_lava], ds.y_test[:n_lava]
    r_lava = label_sweep(lava, qnet, x_l, keep_spikes=True, chunk=n_lava)
    r_emu_l = label_sweep(EmulatorBackend(), qnet, x_l, keep_spikes=True, chunk=n_lava)
    stats = getattr(lava, "last_stats", None)
    log(f"      and the linear readout: {n_lava} samples, one run each")
    from .run.readout import readout_accuracy
    ro_acc = {"float": readout_accuracy(TorchBackend(), qnet, qnet.readout, ds.x_test, ds.y_test),
              "emulator": readout_accuracy(EmulatorBackend(), qnet, qnet.readout, ds.x_test,
                                           ds.y_test),
              "lava_fixed_pt": readout_accuracy(lava, qnet, qnet.readout, x_l, y_l,
                                                chunk=n_lava)}
    timings["lava"] = time.perf_counter() - t

    log("[5/5] energy from the Lava runs' spike counts")
    energy = sweep_energy(qnet, r_lava, cfg.profile)
    ro_energy = readout_energy(qnet, lava, x_l, cfg.profile)
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
