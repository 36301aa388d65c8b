"""From a run's spike counts to energy per inference: one path for dense and conv networks.

:func:`measure_activity` turns an :class:`~ff_neuro.run.InferenceResult` into a
:class:`NetworkActivity`: one :class:`~ff_neuro.energy.SpikingLayerActivity` record per layer
(mean input events, output spikes and synaptic events per run; conv layers' synaptic events
counted exactly per position) plus the work the host does per inference (the analog conv
encoder of FFGAF networks, the linear readout). :meth:`NetworkActivity.report` prices it on any
hardware profile with that profile's one cost model (:func:`~ff_neuro.energy.snn_energy`).

What is priced follows the readout: a label sweep costs ``n_classes`` runs per inference (no
host work); a one-pass readout one run, plus the linear readout's ``C x H``
multiply-accumulates on the host. A spike-count readout adds nothing (the output layer is the
last spiking layer); a membrane readout adds its non-spiking output layer as an on-chip layer
(the last layer's spikes reach its ``C`` neurons; it emits no spikes). Networks without a
label embedding have no label inputs to count. ``mode="training"`` prices Forward-Forward's
training passes instead: one positive and one negative run per sample (plus the hard-negative
mining runs when the model was trained so), the weight update off chip not included.

A layer with a recurrent synapse (:attr:`ff_neuro.model.Layer.recurrent`) is recorded as
``recurrent``: each of its output spikes also reaches its own ``n_out`` neurons one step later,
``rec_synops = output_spikes * n_out`` synaptic events per run, added to the layer's synaptic
events. Every spike counts, the last step's included: on Loihi the recurrent ``Dense``
delivers a spike at the next step, so the last step's spikes are delivered into the next
window's reset step, where ff-neuro's process drops them, but the chip still reads their
synapses. A layer of current-based neurons (``neuron.current_memory``) is recorded as
``current_memory``: its neurons update their current as well as their membrane at every step.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional

import numpy as np

from ..model.network import Network
from ..model.readout import LinearReadout, MembraneReadout
from ..model.synapse import Conv2d
from .estimator import (PJ_PER_MJ, EnergyReport, LayerCost, ProfileLike, SpikingLayerActivity,
                        ann_mlp_energy, snn_energy)
from .profiles import load_profile


@dataclass
class HostWork:
    """Arithmetic the host does once per inference (not on the chip): ``kind = "fc"``
    (``sizes = [n_in, n_out]``, one weight fetch and one MAC per weight) or ``"conv"``
    (``parameters`` read once, ``macs`` multiply-accumulates)."""

    name: str
    kind: str
    parameters: int
    macs: int
    sizes: Optional[List[int]] = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class NetworkActivity:
    """A network's measured activity per inference, ready to be priced on any profile.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.energy import measure_activity
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> from ff_neuro.run import get_backend, infer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> ds = ffn.load_dataset("digits")
        >>> r = infer(get_backend("emulator"), qnet, ds.x_test[:20], keep_counts=True)
        >>> activity = measure_activity(qnet, r, backend="emulator")
        >>> for profile in ("loihi", "ffgaf-table2"):           # one measurement, two chips
        ...     print(profile, round(activity.report(profile).total_pJ / 1e3, 1), "nJ")
        loihi 714.8 nJ
        ffgaf-table2 223.0 nJ
        >>> sorted(activity.to_dict())[:4]
        ['backend', 'host', 'input_spikes_per_run', 'layer_spikes_per_run']
    """

    layers: List[SpikingLayerActivity]
    runs_per_inference: int
    mode: str = "inference"
    readout: str = "sweep"
    host: List[HostWork] = field(default_factory=list)
    samples: int = 0
    backend: str = ""
    notes: List[str] = field(default_factory=list)

    @property
    def input_spikes_per_run(self) -> float:
        return self.layers[0].input_spikes

    @property
    def layer_spikes_per_run(self) -> List[float]:
        return [a.output_spikes for a in self.layers]

    def report(self, profile: ProfileLike, fit=None) -> EnergyReport:
        """Energy per inference on ``profile`` (its ``model`` selects the accounting). When the
        profile states a static power and a step time, the report adds the static energy of
        the inference's time steps (``time_steps x runs_per_inference``) on the chips the fit
        check ``fit`` (a :class:`~ff_neuro.energy.FitReport`) counts (one chip without it)."""
        prof = load_profile(profile)
        rep = snn_energy(self.layers, prof, runs_per_inference=self.runs_per_inference)
        if prof.has("static_power_W") and prof.has("step_time_us") and self.layers:
            chips = fit.chips_needed if fit is not None and fit.chips_needed else 1
            rep.add_static(prof.value("static_power_W"), prof.value("step_time_us"),
                           self.layers[0].time_steps * self.runs_per_inference, chips,
                           fit.total_cores if fit is not None else None)
        for h in self.host:
            cost = _host_cost(h, prof)
            if isinstance(cost, str):
                rep.notes.append(cost)
            elif h.kind == "conv":
                rep.layers.insert(0, cost)
            else:
                rep.layers.append(cost)
        rep.notes.extend(self.notes)
        return rep

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "readout": self.readout, "backend": self.backend,
                "samples": self.samples, "runs_per_inference": self.runs_per_inference,
                "input_spikes_per_run": self.input_spikes_per_run,
                "layer_spikes_per_run": self.layer_spikes_per_run,
                "layers": [a.to_dict() for a in self.layers],
                "host": [h.to_dict() for h in self.host]}


def _host_cost(h: HostWork, prof):
    """A host row on ``prof``, or a note saying why it is not priced."""
    if h.kind == "fc":
        try:
            return ann_mlp_energy(h.sizes, prof, names=[h.name]).layers[0]
        except ValueError:  # a per-event chip profile prices no ANN arithmetic
            return (f"the {h.name} ({h.sizes[0]} x {h.sizes[1]} MACs) is not priced: this chip "
                    "profile has no ANN arithmetic")
    if prof.model != "ffgaf":
        return (f"the {h.name} ({h.macs:,} MACs) runs on the host and is not priced on this "
                f"{prof.model} profile")
    mem = h.parameters * prof.value("sram_read_1MB_pJ")
    return LayerCost(name=h.name, kind="ann", parameters=h.parameters,
                     weight_fetches=h.parameters, macs=h.macs, accs=0, neuron_updates=0,
                     memory_pJ=mem, compute_pJ=h.macs * prof.mac_pJ)


def layer_name(layer, k: int) -> str:
    return f"conv{k + 1}" if isinstance(layer.synapse, Conv2d) else f"lif{k + 1}"


def _events(result, k: int) -> Optional[np.ndarray]:
    """Per-run input events of layer ``k`` (R, *in_shape), when the result kept counts."""
    if k == 0:
        return result.input_counts
    if result.counts is not None:
        return result.counts[k - 1]
    if result.spikes is not None:
        return result.spikes[k - 1].sum(axis=0, dtype=np.int32)
    return None


def measure_activity(net: Network, result, *, mode: str = "inference",
                     labels: Optional[np.ndarray] = None, hard_negatives: bool = False,
                     backend: str = "") -> NetworkActivity:
    """Per-layer activity of ``net`` from an inference ``result`` (its spikes or counts kept;
    conv layers need the per-position counts, ``keep_counts``).

    ``mode="training"`` (label-sweep results only, ``labels`` needed): per layer the mean of the
    positive run (true label) and of a negative run (mean over wrong labels), plus, with
    ``hard_negatives``, ``n_classes`` mining runs per sample priced at the sweep's means.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.energy import measure_activity
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> from ff_neuro.run import get_backend, infer
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> ds = ffn.load_dataset("digits")
        >>> r = infer(get_backend("emulator"), qnet, ds.x_test[:20], keep_counts=True)
        >>> activity = measure_activity(qnet, r, backend="emulator")
        >>> activity.runs_per_inference, round(activity.input_spikes_per_run, 2)
        (10, 163.35)
        >>> [round(v, 2) for v in activity.layer_spikes_per_run]   # spikes per run, layer 0
        [37.2]
        >>> print(activity.report("loihi2"))
        Energy per inference on profile 'loihi2' (10 runs per inference, included)
        Layer | Params | Memory (mJ) | Compute (mJ) | Total (mJ)
        ------+--------+-------------+--------------+-----------
        lif1  |  1,184 |       0.000 |        0.001 |      0.001
        ------+--------+-------------+--------------+-----------
        Total |  1,184 |       0.000 |        0.001 |      0.001
        Dynamic energy: 0.001 mJ (the table's total)
        Static energy:  2.838 mJ (0.232078 W static power x 1 chip x 80 steps x 152.845 us per step)
        Total energy:   2.838 mJ
        Note: per-event chip profile: ...
        Note: synaptic events counted as 'stored': ...
        >>> training = measure_activity(qnet, r, mode="training", labels=ds.y_test[:20])
        >>> training.runs_per_inference                 # one positive and one negative pass
        2
    """
    if mode not in ("inference", "training"):
        raise ValueError(f"unknown mode {mode!r} (inference|training)")
    layers = net.deployed_layers()
    T = net.time_steps
    N, C = result.samples, result.runs_per_sample
    out_spikes = result.layer_spikes_per_run()
    runs = net.runs_per_inference(net.get_readout(result.readout))
    notes = []
    if mode == "training":
        if result.readout != "sweep":
            raise ValueError("training energy needs a label-sweep result (Forward-Forward)")
        pos = np.zeros((N, C), dtype=bool)
        pos[np.arange(N), np.asarray(labels)] = True
        per_layer = []
        for k in range(len(layers)):
            ev = _events(result, k + 1)          # layer k's output counts per run
            per_run = ev.reshape(N, C, -1).sum(axis=2, dtype=np.int64)
            per_layer.append(float(per_run[pos].mean() + per_run[~pos].mean()) / 2)
        if hard_negatives:
            per_layer = [(2 * a + C * b) / (2 + C) for a, b in zip(per_layer, out_spikes)]
        out_spikes = per_layer
        runs = 2 + (C if hard_negatives else 0)
        extra = runs - 2
        notes.append("training: one positive and one negative pass per sample"
                     + (f", plus {extra} hard-negative mining passes (one per candidate label)"
                        if extra else "")
                     + "; the surrogate-gradient weight update runs off-chip and is not priced")
    acts = []
    in_spikes = [result.input_events_per_run] + out_spikes[:-1]
    for k, layer in enumerate(layers):
        kw = {}
        if isinstance(layer.synapse, Conv2d):
            if mode == "training":
                raise ValueError("training energy is priced for dense Forward-Forward networks")
            ev = _events(result, k)
            if ev is None:
                raise ValueError("conv layers are priced from per-position counts: run the "
                                 "inference with keep_counts=True")
            ev = ev.reshape((ev.shape[0],) + tuple(layer.in_shape))
            kw = dict(kind="conv2d", synops=float(np.mean(layer.synapse.synops(ev))),
                      synops_fanout=float(np.mean(layer.synapse.synops_fanout(ev))),
                      parameters=layer.synapse.parameters(bias=True),
                      synops_stored=float(np.mean(layer.synapse.synops_stored(ev))))
        elif mode == "inference":                # stored synapses: exact from per-input counts
            ev = _events(result, k)
            if ev is not None:
                kw["synops_stored"] = float(np.mean(layer.synapse.synops_stored(
                    ev.reshape(ev.shape[0], -1))))
        if layer.recurrent is not None:        # its own spikes, n_out events each
            kw["recurrent"] = True
            own = _events(result, k + 1) if mode == "inference" else None
            if own is not None:                 # stored: the recurrent weights' nonzeros
                kw["rec_synops_stored"] = float(np.mean(layer.recurrent.synops_stored(
                    own.reshape(own.shape[0], -1))))
        if layer.neuron.current_memory:         # CUBA: the current is a second state
            kw["current_memory"] = True
        acts.append(SpikingLayerActivity(
            name=layer_name(layer, k), n_in=layer.n_in, n_out=layer.n_out, time_steps=T,
            input_spikes=float(in_spikes[k]), output_spikes=float(out_spikes[k]), **kw))
    r = net.get_readout(result.readout)
    if isinstance(r, MembraneReadout) and mode == "inference":
        # a non-spiking output layer on the chip: every spike of the last layer reaches its
        # C neurons; it emits nothing
        acts.append(SpikingLayerActivity(
            name=f"out{len(layers) + 1} (membrane)", n_in=r.n_in, n_out=r.n_classes,
            time_steps=T, input_spikes=float(out_spikes[-1]), output_spikes=0.0))
    host = []
    enc = net.encoder
    if hasattr(enc, "macs"):                     # FFGAF's analog block runs on the host
        host.append(HostWork("encoder (host)", "conv", int(enc.weight.size + enc.bias.size),
                             enc.macs()))
    if isinstance(r, LinearReadout) and mode == "inference":
        h = r.weight.shape[1]
        host.append(HostWork("readout (host)", "fc", h * net.n_classes, h * net.n_classes,
                             [h, net.n_classes]))
    return NetworkActivity(layers=acts, runs_per_inference=runs, mode=mode,
                           readout=result.readout, host=host, samples=N, backend=backend,
                           notes=notes)


def ffgaf_rows(net: Network, activity: NetworkActivity, report: EnergyReport) -> list:
    """The rows of FFGAF Table 2 this measurement is comparable with, recomputed for ``net``:
    the CSNN-ours row for a network with conv layers priced on an ``ffgaf`` profile
    (:func:`csnn_row`); none otherwise."""
    if report.model != "ffgaf" or not any(a.kind == "conv2d" for a in activity.layers):
        return []
    return [csnn_row(net, activity, report)]


def csnn_row(net: Network, activity: NetworkActivity, report: EnergyReport) -> dict:
    """FFGAF Table 2's CSNN-ours row recomputed for ``net`` from measured counts (an ``ffgaf``
    report of a conv network), in the row format of :func:`ff_neuro.energy.ffgaf.ffgaf_table`
    (``published``: the paper's values)."""
    from .ffgaf import FFGAF_TABLE2
    _, p_params, p_mem, p_comp, p_total = FFGAF_TABLE2["CSNN-ours"]
    shapes = " -> ".join("x".join(map(str, s)) for s in
                         ([net.encoder.in_shape] if hasattr(net.encoder, "in_shape") else [])
                         + net.shapes)
    synops = sum(a.synaptic_events for a in activity.layers)
    fanout = sum(a.synops_fanout or a.synaptic_events for a in activity.layers)
    host = any(h.kind == "conv" for h in activity.host)
    return {"model": "CSNN (this model)", "type": "CSNN", "parameters": report.parameters,
            "memory_mJ": report.memory_mJ, "compute_mJ": report.compute_mJ,
            "total_mJ": report.total_mJ,
            "published": {"parameters": p_params, "memory_mJ": p_mem, "compute_mJ": p_comp,
                          "total_mJ": p_total},
            "basis": (f"{shapes}, T = {net.time_steps}; {synops:.4g} exact synaptic operations "
                      f"per inference (the fan-out approximation would give {fanout:.4g})"
                      + ("; the host encoder's MACs are included" if host else "")
                      + "; the published row is FFGAF's CIFAR-10 net (3x32x32 input)")}


__all__ = ["HostWork", "NetworkActivity", "csnn_row", "ffgaf_rows", "layer_name",
           "measure_activity",
           "PJ_PER_MJ"]
