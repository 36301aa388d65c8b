"""Exact operation counts and energy of spiking convolutions, from a run's spike counts.

For a convolution (kernel ``kh x kw``, stride ``S``, padding ``P``, ``C_out`` output channels) an
input event at position ``(c, h, w)`` reaches every output neuron whose receptive field holds
``(h, w)``::

    reach_h[h] = #{ oh in [0, H_out) : 0 <= h + P - oh * S < kh }     (same for w)
    synops     = C_out * sum_{c, h, w} events[c, h, w] * reach_h[h] * reach_w[w]

``events`` are the input spikes (or nonzero graded messages) counted over all ``T`` steps. This
is NeuroBench's effective synaptic-operation count (binarised input, all-ones kernel, summed
output) computed per position, and it honours padding (border inputs reach fewer outputs) and
stride. Lemaire et al.'s fan-out approximation ``ceil(k / S)^2 * C_out`` per event ignores both;
for stride 2 and k = 3 it charges 4 reaches per event where the true mean is 9/4
(:func:`fanout_conv_synops` gives it for comparison).

Energy (``ffgaf`` profile, FFGAF Table 2's CSNN reading, docs/energy.md)::

    memory  [pJ] = parameters * sram_read_1MB_pJ                 (CSNN-ours: one read per parameter)
    compute [pJ] = synops * acc_per_synaptic_event * acc_pJ + neuron_updates * neuron_update_pJ

The host encoder (FFGAF's analog first block) is reported as its own ``host`` row: one MAC per
weight per output position, once per inference (the image is static), at ``mac_pJ``.

Energy (``per-event`` chip profiles: Loihi, Loihi 2, SpiNNaker 2, TrueNorth;
:func:`conv_energy_report`), per spiking layer, as for dense layers but with the exact synops::

    compute [pJ] = synops * synaptic_op_pJ + neuron_updates * neuron_update_pJ
                   + output_spikes * spike_pJ                     (memory 0: included per event)

The host encoder is not on the chip and is left out of a per-event report (its notes say so).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Optional, Sequence

import numpy as np

from .estimator import PJ_PER_MJ, EnergyReport, LayerCost, ProfileLike
from .profiles import load_profile

PUBLISHED_CSNN = {"memory_mJ": 0.043, "compute_mJ": 0.038, "total_mJ": 0.081,
                  "parameters": 433_600}


def conv_reach_1d(size: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """``reach[i]``: output positions along one axis whose window holds input ``i``."""
    out = (size + 2 * padding - kernel) // stride + 1
    i = np.arange(size)[:, None]
    o = np.arange(out)[None, :]
    off = i + padding - o * stride
    return ((off >= 0) & (off < kernel)).sum(axis=1)


def conv_reach(in_hw: Sequence[int], kernel: Sequence[int], stride: int, padding: int) -> np.ndarray:
    """``(H, W)`` map of output positions reached by an input event at each position."""
    rh = conv_reach_1d(int(in_hw[0]), int(kernel[0]), stride, padding)
    rw = conv_reach_1d(int(in_hw[1]), int(kernel[1]), stride, padding)
    return np.outer(rh, rw)


def exact_conv_synops(events: np.ndarray, kernel: Sequence[int], stride: int, padding: int,
                      out_channels: int) -> np.ndarray:
    """Exact synaptic operations per sample: ``events`` (N, C, H, W) (or (C, H, W)) -> (N,)."""
    ev = np.asarray(events, dtype=np.float64)
    squeeze = ev.ndim == 3
    if squeeze:
        ev = ev[None]
    reach = conv_reach(ev.shape[2:], kernel, stride, padding)
    out = out_channels * np.einsum("nchw,hw->n", ev, reach)
    return out[0] if squeeze else out


def fanout_conv_synops(events: np.ndarray, kernel: Sequence[int], stride: int,
                       out_channels: int) -> np.ndarray:
    """Lemaire et al.'s approximation: ``events * ceil(kh/S) * ceil(kw/S) * C_out`` per sample."""
    ev = np.asarray(events, dtype=np.float64)
    per = math.ceil(kernel[0] / stride) * math.ceil(kernel[1] / stride) * out_channels
    return ev.reshape(ev.shape[0], -1).sum(axis=1) * per if ev.ndim == 4 else ev.sum() * per


@dataclass
class ConvLayerActivity:
    """Measured activity of one spiking conv layer, means per inference (one run of T steps)."""

    name: str
    in_shape: tuple
    out_shape: tuple
    kernel: tuple
    stride: int
    padding: int
    time_steps: int
    parameters: int
    input_events: float        # input spikes / nonzero graded messages over T steps
    output_spikes: float
    synops: float              # exact, from the per-position counts
    synops_fanout: float       # ceil(k/S)^2 approximation, for comparison

    def to_dict(self) -> dict:
        d = asdict(self)
        d["in_shape"], d["out_shape"], d["kernel"] = (list(self.in_shape), list(self.out_shape),
                                                      list(self.kernel))
        return d


def conv_activity(net, input_counts: np.ndarray, counts: Sequence[np.ndarray]) -> list:
    """Per-layer activity of a ConvFFNetwork from a run's counts (see ``run.conv.run_batches``):
    ``input_counts`` (N, C, H, W) graded input events, ``counts[l]`` (N, C, H, W) spikes."""
    acts = []
    prev = np.asarray(input_counts)
    for k, layer in enumerate(net.layers):
        params = int(layer.weight.size + (layer.weight.shape[0] if layer.bias is not None else 0))
        syn = exact_conv_synops(prev, layer.kernel, layer.stride, layer.padding,
                                layer.out_shape[0])
        fan = fanout_conv_synops(prev, layer.kernel, layer.stride, layer.out_shape[0])
        acts.append(ConvLayerActivity(
            name=f"conv{k + 1}", in_shape=layer.in_shape, out_shape=layer.out_shape,
            kernel=layer.kernel, stride=layer.stride, padding=layer.padding,
            time_steps=net.time_steps, parameters=params,
            input_events=float(prev.reshape(len(prev), -1).sum(axis=1).mean()),
            output_spikes=float(np.asarray(counts[k]).reshape(len(prev), -1).sum(axis=1).mean()),
            synops=float(np.mean(syn)), synops_fanout=float(np.mean(fan))))
        prev = np.asarray(counts[k])
    return acts


def encoder_macs(encoder) -> int:
    """Dense MACs of the host encoder, once per inference: ``C_out H_out W_out C_in kh kw``."""
    return int(np.prod(encoder.out_shape)) * int(np.prod(encoder.weight.shape[1:]))


def conv_energy_table(net, activities: Sequence[ConvLayerActivity],
                      profile: ProfileLike = "ffgaf-table2",
                      include_host: bool = True) -> dict[str, Any]:
    """FFGAF-CSNN-style energy rows per layer (``ffgaf`` profile), plus the host encoder row.

    Returns ``{"profile", "layers": [...], "total": {...}, "published_csnn": {...},
    "notes": [...]}`` with every energy in mJ per inference (one pass, no label sweep).
    """
    prof = load_profile(profile)
    if prof.model != "ffgaf":
        raise ValueError(f"conv energy needs an 'ffgaf' profile, got {prof.name!r} ({prof.model})")
    sram = prof.value("sram_read_1MB_pJ")
    per_syn = prof.acc_per_synaptic_event * prof.acc_pJ
    rows = []
    for a in activities:
        updates = int(np.prod(a.out_shape)) * a.time_steps
        mem = a.parameters * sram
        comp = a.synops * per_syn + updates * prof.neuron_update_pJ
        rows.append({"layer": a.name, "where": "chip", "parameters": a.parameters,
                     "input_events": a.input_events, "output_spikes": a.output_spikes,
                     "synops": a.synops, "synops_fanout": a.synops_fanout,
                     "memory_mJ": mem / PJ_PER_MJ, "compute_mJ": comp / PJ_PER_MJ,
                     "total_mJ": (mem + comp) / PJ_PER_MJ,
                     "compute_fanout_mJ": (a.synops_fanout * per_syn
                                           + updates * prof.neuron_update_pJ) / PJ_PER_MJ})
    if include_host:
        enc = net.encoder
        params = int(enc.weight.size + enc.bias.size)
        macs = encoder_macs(enc)
        mem, comp = params * sram, macs * prof.mac_pJ
        rows.insert(0, {"layer": "encoder", "where": "host", "parameters": params,
                        "macs": macs, "memory_mJ": mem / PJ_PER_MJ, "compute_mJ": comp / PJ_PER_MJ,
                        "total_mJ": (mem + comp) / PJ_PER_MJ})
    total = {k: math.fsum(r[k] for r in rows) for k in ("memory_mJ", "compute_mJ", "total_mJ")}
    total["parameters"] = sum(r["parameters"] for r in rows)
    chip = [r for r in rows if r["where"] == "chip"]
    total_chip = {k: math.fsum(r[k] for r in chip) for k in ("memory_mJ", "compute_mJ", "total_mJ")}
    total_chip["synops"] = math.fsum(r["synops"] for r in chip)
    total_chip["synops_fanout"] = math.fsum(r["synops_fanout"] for r in chip)
    csnn = csnn_row(net, total, total_chip, sram, per_syn, prof.mac_pJ, include_host)
    return {"profile": prof.name, "layers": rows, "total": total, "total_chip": total_chip,
            "csnn_row": csnn,
            "published_csnn": dict(PUBLISHED_CSNN),
            "notes": [
                "CSNN-ours reading of FFGAF Table 2: memory = parameters x "
                f"{sram:g} pJ (one 1 MB SRAM read each), compute = exact synaptic operations x "
                f"{prof.acc_per_synaptic_event:g} x {prof.acc_pJ:g} pJ",
                "synops counted from the run's per-position spike counts (padding and stride "
                "honoured); synops_fanout = ceil(k/S)^2 x C_out per event, for comparison",
                "the encoder (analog first block) runs on the host: one MAC per weight per output "
                f"position at {prof.mac_pJ:g} pJ, once per inference",
                "published CSNN-ours (0.043 / 0.038 / 0.081 mJ) is a CIFAR-10 net (3x32x32 input, "
                "433,600 parameters); ours is the model evaluated here, on its own dataset"]}


def csnn_row(net, total: dict, total_chip: dict, sram_pJ: float, per_syn_pJ: float,
             mac_pJ: float, include_host: bool) -> dict:
    """FFGAF Table 2's CSNN-ours row recomputed for ``net`` from measured counts, in the row
    format of :func:`ff_neuro.energy.ffgaf.ffgaf_table` (``published`` = the paper's values)."""
    from .ffgaf import FFGAF_TABLE2
    _, p_params, p_mem, p_comp, p_total = FFGAF_TABLE2["CSNN-ours"]
    shapes = " -> ".join("x".join(map(str, s)) for s in [net.encoder.in_shape] + net.shapes)
    host = (f"; the host encoder's MACs at {mac_pJ:g} pJ are included" if include_host
            else "; the host encoder is not included")
    return {"model": "CSNN (this model)", "type": "CSNN", "parameters": total["parameters"],
            "memory_mJ": total["memory_mJ"], "compute_mJ": total["compute_mJ"],
            "total_mJ": total["total_mJ"],
            "published": {"parameters": p_params, "memory_mJ": p_mem, "compute_mJ": p_comp,
                          "total_mJ": p_total},
            "basis": (f"{shapes}, T = {net.time_steps}; memory = parameters x {sram_pJ:g} pJ, "
                      f"compute = {total_chip['synops']:.4g} exact synaptic operations per "
                      f"inference x {per_syn_pJ:g} pJ (fan-out approximation would give "
                      f"{total_chip['synops_fanout']:.4g}){host}; the published row is FFGAF's "
                      "CIFAR-10 net (3x32x32 input)")}


def format_conv_energy(table: dict) -> str:
    """Text table of :func:`conv_energy_table`."""
    head = (f"{'layer':<8} {'where':<5} {'params':>9} {'in events':>11} {'synops':>13} "
            f"{'fan-out synops':>15} {'memory mJ':>10} {'compute mJ':>11} {'total mJ':>10}")
    lines = [f"energy per inference (profile {table['profile']}, one pass)", head]
    for r in table["layers"]:
        ev = f"{r['input_events']:.1f}" if "input_events" in r else "-"
        syn = f"{r['synops']:.0f}" if "synops" in r else f"{r['macs']} MAC"
        fan = f"{r['synops_fanout']:.0f}" if "synops_fanout" in r else "-"
        lines.append(f"{r['layer']:<8} {r['where']:<5} {r['parameters']:>9,} {ev:>11} {syn:>13} "
                     f"{fan:>15} {r['memory_mJ']:>10.5f} {r['compute_mJ']:>11.5f} "
                     f"{r['total_mJ']:>10.5f}")
    t, c, p = table["total"], table["total_chip"], table["published_csnn"]
    lines.append(f"{'total':<8} {'':<5} {t['parameters']:>9,} {'':>11} {c['synops']:>13.0f} "
                 f"{c['synops_fanout']:>15.0f} {t['memory_mJ']:>10.5f} {t['compute_mJ']:>11.5f} "
                 f"{t['total_mJ']:>10.5f}")
    lines.append(f"chip only (spiking layers): memory {c['memory_mJ']:.5f}, compute "
                 f"{c['compute_mJ']:.5f}, total {c['total_mJ']:.5f} mJ;  FFGAF CSNN-ours "
                 f"published: {p['memory_mJ']} / {p['compute_mJ']} / {p['total_mJ']} mJ")
    lines += [f"note: {n}" for n in table["notes"]]
    if "csnn_row" in table:
        from .ffgaf import format_ffgaf_table
        lines += ["", format_ffgaf_table([table["csnn_row"]], decimals=4)]
    return "\n".join(lines)


def check_conv_profile(profile: ProfileLike):
    """The profile, if conv models can be priced on it (``ffgaf`` or ``per-event``); else a
    ValueError saying which can."""
    prof = load_profile(profile)
    if prof.model not in ("ffgaf", "per-event"):
        raise ValueError(f"profile {prof.name!r} ({prof.model}): conv models are priced on "
                         "'ffgaf' profiles (e.g. ffgaf-table2) and 'per-event' chip profiles "
                         "(loihi, loihi2, spinnaker2, truenorth)")
    return prof


def conv_energy_report(net, activities: Sequence[ConvLayerActivity],
                       profile: ProfileLike = "ffgaf-table2") -> EnergyReport:
    """:class:`~ff_neuro.energy.estimator.EnergyReport` of a conv network's one-pass inference
    on an ``ffgaf`` profile (the rows of :func:`conv_energy_table`, host encoder included) or a
    ``per-event`` chip profile (spiking layers only), so conv models can be priced side by side
    (``ff-neuro energy --compare``). A ``lemaire`` profile raises ``ValueError``: Lemaire et
    al.'s model prices data movement of a specific dataflow, which is not modelled for conv."""
    prof = load_profile(profile)
    if prof.model == "ffgaf":
        table = conv_energy_table(net, activities, prof)
        acts = {a.name: a for a in activities}
        rep = EnergyReport(profile=prof.name, model="ffgaf", notes=list(table["notes"]))
        for r in table["layers"]:
            if r["where"] == "host":
                rep.layers.append(LayerCost(
                    name="encoder (host)", kind="ann", parameters=r["parameters"],
                    weight_fetches=r["parameters"], macs=r["macs"], accs=0, neuron_updates=0,
                    memory_pJ=r["memory_mJ"] * PJ_PER_MJ, compute_pJ=r["compute_mJ"] * PJ_PER_MJ))
                continue
            a = acts[r["layer"]]
            rep.layers.append(LayerCost(
                name=a.name, kind="snn", parameters=a.parameters, weight_fetches=a.parameters,
                macs=0, accs=a.synops * prof.acc_per_synaptic_event,
                neuron_updates=int(np.prod(a.out_shape)) * a.time_steps,
                memory_pJ=r["memory_mJ"] * PJ_PER_MJ, compute_pJ=r["compute_mJ"] * PJ_PER_MJ,
                synaptic_events=a.synops))
        return rep
    check_conv_profile(prof)
    e_syn, e_neu, e_spk = (prof.value(k) for k in ("synaptic_op_pJ", "neuron_update_pJ",
                                                   "spike_pJ"))
    rep = EnergyReport(profile=prof.name, model="per-event", notes=[
        "per-event chip profile: the published synaptic-op energy includes the synapse memory "
        "read and is not split, so all energy is reported as compute (memory column 0)",
        "synops are exact per-position counts from the run (padding and stride honoured)",
        "the analog encoder block runs on the host and is not included"])
    for a in activities:
        updates = int(np.prod(a.out_shape)) * a.time_steps
        syn_pJ, neu_pJ, spk_pJ = a.synops * e_syn, updates * e_neu, a.output_spikes * e_spk
        rep.layers.append(LayerCost(
            name=a.name, kind="snn", parameters=a.parameters, weight_fetches=a.synops, macs=0,
            accs=0, neuron_updates=updates, memory_pJ=0.0, compute_pJ=syn_pJ + neu_pJ + spk_pJ,
            synaptic_events=a.synops,
            breakdown={"spikes": a.output_spikes, "synaptic_ops_pJ": syn_pJ,
                       "neuron_updates_pJ": neu_pJ, "spikes_pJ": spk_pJ}))
    return rep
