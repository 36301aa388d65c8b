"""Energy of recurrent and current-based (CUBA) layers: the recurrent synaptic events and the
current updates are counted from the run's spikes and priced by every accounting, the
recurrent weights counted in the parameters and in the fit check; feed-forward layers without
current memory are priced exactly as before (the old formulas, recomputed here)."""
from __future__ import annotations

import csv
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import snntorch as snn
import torch

import ff_neuro as ffn
from ff_neuro.energy import (SpikingLayerActivity, fc_parameter_count, fit_check,
                             lemaire_snn_energy, load_profile, measure_activity,
                             per_event_snn_energy, snn_energy)
from ff_neuro.energy.render import write_csv
from ff_neuro.model import LIF, Dense, Layer, SpikeCountReadout
from ff_neuro.run import get_backend, infer

T = 12
N_IN, N_HID, N_OUT = 20, 16, 4

# round numbers for hand-computed cases (the formats of tests/test_energy.py's fixtures)
FFGAF_ROUND = """\
name: ffgaf-round
description: round numbers for hand-computed tests
constants:
  weight_fetch_pJ: {value: 10.0, unit: pJ, source: "test fixture, no paper"}
  mac_pJ: {value: 4.0, unit: pJ, source: "test fixture, no paper"}
  acc_pJ: {value: 0.5, unit: pJ, source: "test fixture, no paper"}
  acc_per_synaptic_event: {value: 2, unit: count, source: "test fixture, no paper"}
  neuron_update_pJ: {value: 1.0, unit: pJ, source: "test fixture, no paper"}
"""
LEMAIRE_ROUND = """\
name: lemaire-round
description: round numbers for hand-computed Lemaire tests
model: lemaire
constants:
  mac_pJ: {value: 3.0, unit: pJ, source: "test fixture, no paper"}
  acc_pJ: {value: 1.0, unit: pJ, source: "test fixture, no paper"}
  sram_access_pJ_per_bit: {value: 0.5, unit: pJ/bit, source: "test fixture, no paper"}
  sram_access_pJ_offset: {value: 10.0, unit: pJ, source: "test fixture, no paper"}
formats: {word_bits: 2}
"""


def _profile(tmp_path: Path, text: str, name: str):
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_profile(path)


def _quantize(net):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qnet, _ = ffn.quantize(net)
    return qnet


@pytest.fixture(scope="module")
def rsynaptic():
    """Linear -> RSynaptic (recurrent, current-based, subtraction reset) -> Linear -> Leaky
    (feed-forward, no current memory), quantized, run on the emulator with its spikes kept."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(N_IN, N_HID)
    with torch.no_grad():
        lin.weight.mul_(3)
    rs = snn.RSynaptic(alpha=0.7, beta=0.85, linear_features=N_HID, init_hidden=True,
                       reset_mechanism="subtract", reset_delay=True)
    out = torch.nn.Linear(N_HID, N_OUT)
    with torch.no_grad():
        out.weight.mul_(3)
    module = torch.nn.Sequential(lin, rs, out, snn.Leaky(beta=0.9, init_hidden=True))
    qnet = _quantize(ffn.from_snntorch(module, (N_IN,), time_steps=T))
    x = np.random.default_rng(0).random((12, N_IN)).astype(np.float32)
    y = np.arange(12) % N_OUT
    r = infer(get_backend("emulator"), qnet, x, keep_spikes=True)
    return qnet, x, y, r


def test_the_deployed_network_has_a_recurrent_cuba_layer(rsynaptic):
    qnet, _, _, r = rsynaptic
    hid, out = qnet.quantized
    assert hid.recurrent is not None and hid.recurrent.weight.shape == (N_HID, N_HID)
    assert hid.neuron.current_memory and hid.neuron.reset == "subtract"
    assert out.recurrent is None and not out.neuron.current_memory
    s0 = r.spikes[0]                                          # (T, runs, 16)
    assert s0.shape == (T, r.samples * r.runs_per_sample, N_HID)
    assert s0.sum() > 50 and r.spikes[1].sum() > 5
    assert s0[-1].sum() > 0       # the last step spikes too, so counting it is a real choice


def test_measure_activity_counts_recurrent_events_and_current_updates(rsynaptic):
    qnet, _, _, r = rsynaptic
    runs = r.samples * r.runs_per_sample
    s0, s1 = (s.astype(np.int64) for s in r.spikes)
    in_events = r.input_counts.astype(np.int64).sum() / runs
    act = measure_activity(qnet, r)
    hid, out = act.layers
    # by hand from the spike arrays: every spike of the recurrent layer, the last step's
    # included, reaches its 16 neurons again (one step later)
    rec = s0.sum() * N_HID / runs
    assert hid.recurrent and hid.rec_synops == pytest.approx(rec, rel=1e-12)
    assert hid.output_spikes == pytest.approx(s0.sum() / runs, rel=1e-12)
    assert hid.synaptic_events == pytest.approx(in_events * N_HID + rec, rel=1e-12)
    assert hid.ff_synaptic_events == pytest.approx(in_events * N_HID, rel=1e-12)
    assert hid.current_memory and hid.current_updates == N_HID * T
    assert hid.weight_parameters == N_IN * N_HID + N_HID * N_HID
    # the feed-forward Leaky layer: its input spikes x 4, nothing more
    assert not out.recurrent and not out.current_memory
    assert (out.rec_synops, out.current_updates) == (0.0, 0)
    assert out.synaptic_events == pytest.approx(s0.sum() / runs * N_OUT, rel=1e-12)
    assert out.output_spikes == pytest.approx(s1.sum() / runs, rel=1e-12)
    d = hid.to_dict()
    assert d["rec_synops"] == hid.rec_synops and d["current_updates"] == N_HID * T
    assert d["recurrent"] is True and d["current_memory"] is True


def test_energy_report_on_loihi_prices_them_by_hand(rsynaptic):
    qnet, x, y, r = rsynaptic
    runs = r.samples * r.runs_per_sample
    s0, s1 = (int(s.sum()) for s in r.spikes)
    in_events = int(r.input_counts.sum()) / runs
    rep = ffn.energy_report(qnet, (x, y), profile="loihi")
    assert rep.runs_per_inference == 1
    prof = load_profile("loihi")
    e_syn, e_neu, e_spk = (prof.value(k) for k in ("synaptic_op_pJ", "neuron_update_pJ",
                                                    "spike_pJ"))
    hid, out = rep.layers
    # hidden: feed-forward and recurrent events; membrane and current updates per neuron/step.
    # Loihi counts feed-forward events on stored (nonzero) synapses only
    q0, q1 = qnet.quantized
    nnz0, nnz1 = ((q.weight != 0).sum(axis=0) for q in (q0, q1))
    assert in_events * N_HID >= float((r.input_counts.reshape(runs, -1) @ nnz0).sum()) / runs
    own = r.spikes[0].sum(axis=0).reshape(runs, -1)            # hidden spikes per neuron
    rec0 = float((own @ (q0.recurrent.weight != 0).sum(axis=0)).sum()) / runs
    assert rec0 <= s0 / runs * N_HID
    syn0 = float((r.input_counts.reshape(runs, -1) @ nnz0).sum()) / runs + rec0
    upd0 = 2 * N_HID * T
    assert hid.synaptic_events == pytest.approx(syn0, rel=1e-12)
    assert hid.rec_synaptic_events == pytest.approx(rec0, rel=1e-12)
    assert (hid.neuron_updates, hid.current_updates) == (upd0, N_HID * T)
    assert hid.compute_pJ == pytest.approx(syn0 * e_syn + upd0 * e_neu + s0 / runs * e_spk,
                                           rel=1e-12)
    assert hid.breakdown["rec_synaptic_events"] == hid.rec_synaptic_events
    assert hid.breakdown["current_updates_pJ"] == pytest.approx(N_HID * T * e_neu)
    assert hid.parameters == N_IN * N_HID + N_HID * N_HID
    # the Leaky layer: one update per neuron per step, no recurrent events
    syn1 = float((own @ nnz1).sum()) / runs
    assert (out.rec_synaptic_events, out.current_updates, out.neuron_updates) == (0, 0, N_OUT * T)
    assert "rec_synaptic_events" not in out.breakdown and "current_updates" not in out.breakdown
    assert out.compute_pJ == pytest.approx(syn1 * e_syn + N_OUT * T * e_neu + s1 / runs * e_spk,
                                           rel=1e-12)
    assert rep.parameters == N_IN * N_HID + N_HID * N_HID + N_HID * N_OUT
    assert rep.memory_pJ == 0.0
    assert any("recurrent layers (lif1)" in n for n in rep.notes)
    assert any("current-based neurons (lif1)" in n for n in rep.notes)
    # the same counts measured from the kept counts (energy_report) and the kept spikes agree
    assert rep.total_pJ == pytest.approx(measure_activity(qnet, r).report("loihi").total_pJ,
                                         rel=1e-12)


# --- every accounting, hand-computed on round numbers -----------------------------------------------
def _rec_cuba(**kw):
    return SpikingLayerActivity("lif1", n_in=4, n_out=3, time_steps=5, input_spikes=6,
                                output_spikes=2, recurrent=True, current_memory=True, **kw)


def test_ffgaf_accounting_hand_computed(tmp_path):
    prof = _profile(tmp_path, FFGAF_ROUND, "ffgaf-round")
    (layer,) = snn_energy([_rec_cuba()], prof, runs_per_inference=2).layers
    # events = 2 runs x (6 + 2) spikes x 3 = 48 (12 recurrent); updates = 2 x 2 x 3 x 5 = 60
    assert (layer.synaptic_events, layer.rec_synaptic_events) == (48, 12)
    assert (layer.neuron_updates, layer.current_updates) == (60, 30)
    assert (layer.parameters, layer.weight_fetches, layer.accs) == (12 + 9, 48, 96)
    # memory = 48 x 10; compute = 96 ACCs x 0.5 + 60 updates x 1
    assert (layer.memory_pJ, layer.compute_pJ) == (480.0, 108.0)
    # only recurrence, only current memory
    (rec,) = snn_energy([SpikingLayerActivity("r", 4, 3, 5, 6, 2, recurrent=True)], prof).layers
    assert (rec.synaptic_events, rec.neuron_updates, rec.current_updates) == (24, 15, 0)
    (cur,) = snn_energy([SpikingLayerActivity("c", 4, 3, 5, 6, 2, current_memory=True)],
                        prof).layers
    assert (cur.synaptic_events, cur.rec_synaptic_events, cur.neuron_updates) == (18, 0, 30)
    assert cur.parameters == 12


def test_per_event_accounting_hand_computed():
    (layer,) = per_event_snn_energy([_rec_cuba()], "loihi", runs_per_inference=2).layers
    # 48 synaptic ops x 23.6 + 60 neuron updates x 81 + 4 spikes x 1.7
    assert (layer.synaptic_events, layer.neuron_updates, layer.breakdown["spikes"]) == (48, 60, 4)
    assert layer.compute_pJ == pytest.approx(48 * 23.6 + 60 * 81 + 4 * 1.7, rel=1e-12)
    assert layer.breakdown["rec_synaptic_ops_pJ"] == pytest.approx(12 * 23.6)
    assert layer.breakdown["current_updates"] == 30
    assert layer.parameters == 21 and layer.memory_pJ == 0.0


def test_lemaire_accounting_hand_computed(tmp_path):
    prof = _profile(tmp_path, LEMAIRE_ROUND, "lemaire-round")
    (layer,) = lemaire_snn_energy([_rec_cuba()], prof, runs_per_inference=2).layers
    b = layer.breakdown
    # theta_in = 12, theta_out = 4, steps = 2 x 5 x 3 = 30, events = 36, rec = 4 x 3 = 12,
    # cur = 30; E(b) = 0.5 b + 10 with 2-bit words
    assert b["acc_ops"] == 36 + 30 + 4 + 12 + 30              # synaptic, bias, reset, rec, i->v
    assert (b["leak_macs"], b["current_leak_macs"], layer.macs) == (30, 30, 60)
    assert b["addressing_accs"] == 36 + 12
    assert (b["weight_reads"], b["rec_weight_reads"], layer.weight_fetches) == (36, 12, 48)
    assert (b["weight_read_pJ_each"], b["rec_weight_read_pJ_each"]) == (22.0, 19.0)  # 24, 18 b
    assert b["potential_reads"] == b["potential_writes"] == 36 + 30 + 12
    assert b["current_reads"] == b["current_writes"] == 30
    assert (b["spike_reads"], b["rec_spike_reads"], b["spike_writes"]) == (12, 4, 4)
    assert b["mem_weights_pJ"] == 36 * 22 + 12 * 19               # 1020
    assert b["mem_bias_pJ"] == 30 * 13                             # 390
    assert b["mem_pot_pJ"] == 2 * 78 * 13 + 2 * 30 * 13           # 2808
    assert b["mem_io_pJ"] == 12 * 14 + 4 * 13 + 4 * 13            # 272
    assert layer.memory_pJ == 4490.0
    assert layer.compute_pJ == 112 * 1 + 60 * 3 + 48 * 1          # 340
    assert (layer.synaptic_events, layer.rec_synaptic_events) == (48, 12)
    assert (layer.neuron_updates, layer.current_updates) == (60, 30)
    assert layer.parameters == 12 + 9


# --- feed-forward layers without current memory: exactly the old formulas ---------------------------
def _old_ffgaf(act, prof, runs):
    events = act.synaptic_events * runs
    accs = events * prof.acc_per_synaptic_event
    updates = act.n_out * act.time_steps * runs
    return dict(parameters=fc_parameter_count(act.n_in, act.n_out), weight_fetches=events,
                macs=0, accs=accs, neuron_updates=updates,
                memory_pJ=events * prof.weight_fetch_pJ,
                compute_pJ=accs * prof.acc_pJ + updates * prof.neuron_update_pJ,
                synaptic_events=events, breakdown={})


def _old_per_event(act, prof, runs):
    e_syn, e_neu, e_spk = (prof.value(k) for k in ("synaptic_op_pJ", "neuron_update_pJ",
                                                    "spike_pJ"))
    events = act.input_spikes * act.n_out * runs
    updates = act.n_out * act.time_steps * runs
    spikes = act.output_spikes * runs
    syn_pJ, neu_pJ, spk_pJ = events * e_syn, updates * e_neu, spikes * e_spk
    return dict(parameters=fc_parameter_count(act.n_in, act.n_out), weight_fetches=events,
                macs=0, accs=0, neuron_updates=updates, memory_pJ=0.0,
                compute_pJ=syn_pJ + neu_pJ + spk_pJ, synaptic_events=events,
                breakdown={"spikes": spikes, "synaptic_ops_pJ": syn_pJ,
                           "neuron_updates_pJ": neu_pJ, "spikes_pJ": spk_pJ})


def _old_lemaire(act, prof, runs):
    wb = prof.format_bits("word_bits")
    n_in, n_out, T_ = act.n_in, act.n_out, act.time_steps
    th_in, th_out = act.input_spikes * runs, act.output_spikes * runs
    steps = T_ * n_out * runs
    events = th_in * n_out
    acc_ops = events + steps + th_out
    leak_macs = steps
    addr_accs = events
    weight_reads = events
    bias_reads = steps
    pot = events + steps
    e_w = prof.sram_access_pJ(n_in * n_out * wb)
    e_b = prof.sram_access_pJ(n_out * wb)
    e_pot = prof.sram_access_pJ(n_out * wb)
    e_sin = prof.sram_access_pJ(n_in * wb)
    e_sout = prof.sram_access_pJ(n_out * wb)
    mem_weights = weight_reads * e_w
    mem_bias = bias_reads * e_b
    mem_pot = 2 * pot * e_pot
    mem_io = th_in * e_sin + th_out * e_sout
    ops_pJ = acc_ops * prof.acc_pJ + leak_macs * prof.mac_pJ
    addr_pJ = addr_accs * prof.acc_pJ
    return dict(parameters=fc_parameter_count(n_in, n_out), weight_fetches=weight_reads,
                macs=leak_macs, accs=acc_ops + addr_accs, neuron_updates=steps,
                memory_pJ=mem_weights + mem_bias + mem_pot + mem_io,
                compute_pJ=ops_pJ + addr_pJ, synaptic_events=events,
                breakdown={"acc_ops": acc_ops, "leak_macs": leak_macs,
                           "addressing_accs": addr_accs, "weight_reads": weight_reads,
                           "bias_reads": bias_reads, "potential_reads": pot,
                           "potential_writes": pot, "spike_reads": th_in,
                           "spike_writes": th_out, "weight_read_pJ_each": e_w,
                           "bias_read_pJ_each": e_b, "potential_access_pJ_each": e_pot,
                           "spike_read_pJ_each": e_sin, "spike_write_pJ_each": e_sout,
                           "mem_weights_pJ": mem_weights, "mem_bias_pJ": mem_bias,
                           "mem_pot_pJ": mem_pot, "mem_io_pJ": mem_io, "ops_pJ": ops_pJ,
                           "addr_pJ": addr_pJ})


OLD = {"ffgaf": _old_ffgaf, "per-event": _old_per_event, "lemaire": _old_lemaire}
OLD_NOTES = {"per-event": 2, "lemaire": 1, "ffgaf": 0}      # the model's notes, nothing more
# (per-event: the memory/compute note and the synop convention)


def _assert_priced_as_before(acts, profile, runs):
    prof = load_profile(profile)
    rep = snn_energy(acts, prof, runs_per_inference=runs)
    assert len(rep.notes) == OLD_NOTES[prof.model]
    for act, cost in zip(acts, rep.layers):
        old = OLD[prof.model](act, prof, runs)
        for key, value in old.items():
            assert getattr(cost, key) == value, (profile, act.name, key)   # exact, not approx
        assert (cost.rec_synaptic_events, cost.current_updates) == (0.0, 0.0)


@pytest.mark.parametrize("profile", ["ffgaf-table2", "lemaire2022-45nm", "loihi", "loihi2",
                                     "truenorth", "spinnaker2"])
def test_plain_layers_are_priced_exactly_as_before(profile):
    torch.manual_seed(1)
    lin = torch.nn.Linear(N_IN, N_HID)
    with torch.no_grad():
        lin.weight.mul_(3)
    module = torch.nn.Sequential(lin, snn.Leaky(beta=0.85, init_hidden=True),
                                 torch.nn.Linear(N_HID, N_OUT),
                                 snn.Leaky(beta=0.9, init_hidden=True))
    qnet = _quantize(ffn.from_snntorch(module, (N_IN,), time_steps=T))
    x = np.random.default_rng(1).random((10, N_IN)).astype(np.float32)
    act = measure_activity(qnet, infer(get_backend("emulator"), qnet, x, keep_counts=True))
    assert not any(a.recurrent or a.current_memory for a in act.layers)
    assert act.layers[0].output_spikes > 0
    _assert_priced_as_before(act.layers, profile, runs=1)
    _assert_priced_as_before(act.layers, profile, runs=10)
    # and a hand-made record with fractional counts (means over samples)
    _assert_priced_as_before([SpikingLayerActivity("fc1", 784, 256, 25, 2000.3, 300.7)],
                             profile, runs=3)


def test_the_plain_layer_of_a_recurrent_network_is_priced_as_before(rsynaptic):
    qnet, _, _, r = rsynaptic
    act = measure_activity(qnet, r)
    for profile in ("loihi", "ffgaf-table2", "lemaire2022-45nm"):
        prof = load_profile(profile)
        cost = act.report(prof).layers[1]
        for key, value in OLD[prof.model](act.layers[1], prof, 1).items():
            assert getattr(cost, key) == value, (profile, key)


# --- fit check ----------------------------------------------------------------------------------------
def _net(n_in, n_out, recurrent=True):
    layer = Layer(Dense(weight=np.zeros((n_out, n_in))), LIF(threshold=1.0),
                  recurrent=Dense(weight=np.zeros((n_out, n_out))) if recurrent else None)
    return ffn.Network([layer], readouts=[SpikeCountReadout(n_classes=n_out)])


def test_fit_counts_the_recurrent_synapses():
    # Loihi, 131,072 synapses per core: fan-in 784 + 500 = 1,284 -> 102 neurons per core
    # -> ceil(500 / 102) = 5 cores (3 without the recurrent synapse)
    rep = fit_check(_net(784, 500), "loihi")
    (layer,) = rep.layers
    assert (layer.n_in, layer.rec_fan_in, layer.fan_in) == (784, 500, 1284)
    assert layer.synapses == 784 * 500 + 500 * 500 and layer.rec_synapses == 500 * 500
    assert (layer.neurons_per_core, layer.synapses_per_core, layer.cores) == (102, 102 * 1284, 5)
    assert layer.limited_by == "synapses_per_core"
    assert rep.total_synapses == 642_000
    row = next(line for line in rep.format().splitlines() if line.startswith("fc1"))
    assert [c.strip() for c in row.split("|")][1:6] == ["784+500 rec->500", "642,000", "102",
                                                         "130,968", "5"]
    d = rep.to_dict()["layers"][0]
    assert (d["rec_fan_in"], d["rec_synapses"]) == (500, 250_000)
    plain = fit_check(_net(784, 500, recurrent=False), "loihi")
    assert plain.total_cores == fit_check([784, 500], "loihi").total_cores == 3
    assert plain.layers[0].rec_fan_in == 0 and "rec" not in plain.format()
    # TrueNorth: the recurrent spikes need axons too (200 + 100 > 256 per core)
    assert fit_check(_net(200, 100, recurrent=False), "truenorth").fits_on_one_chip
    tn = fit_check(_net(200, 100), "truenorth")
    assert not tn.mappable and "fan-in 300 exceeds 256 axons" in tn.problems[0]
    # Loihi 2: the chip-wide synapse total includes them
    assert fit_check(_net(4000, 9000), "loihi2").total_synapses == 4000 * 9000 + 9000 * 9000


def test_fit_of_the_quantized_rsynaptic_network(rsynaptic):
    qnet = rsynaptic[0]
    hid, out = fit_check(qnet, "loihi").layers
    assert (hid.rec_fan_in, hid.synapses) == (N_HID, N_IN * N_HID + N_HID * N_HID)
    assert (out.rec_fan_in, out.synapses) == (0, N_HID * N_OUT)


# --- records, validation, CSV --------------------------------------------------------------------------
def test_activity_validation_of_the_new_fields():
    with pytest.raises(ValueError, match="only a dense layer carries a recurrent synapse"):
        SpikingLayerActivity("c", 4, 3, 5, 6, 2, kind="conv2d", synops=10.0, parameters=9,
                             recurrent=True)
    with pytest.raises(TypeError, match="recurrent must be True or False"):
        SpikingLayerActivity("r", 4, 3, 5, 6, 2, recurrent=1)
    with pytest.raises(TypeError, match="current_memory must be True or False"):
        SpikingLayerActivity("r", 4, 3, 5, 6, 2, current_memory="yes")
    # a current-based conv layer is priced (no recurrence): its current updates count
    conv = SpikingLayerActivity("c", 4, 3, 5, 6, 2, kind="conv2d", synops=10.0, parameters=9,
                                current_memory=True)
    (cost,) = snn_energy([conv], "loihi").layers
    assert (cost.synaptic_events, cost.neuron_updates, cost.current_updates) == (10.0, 30, 15)


def test_csv_itemises_recurrent_events_and_current_updates(tmp_path):
    rep = snn_energy([_rec_cuba(), SpikingLayerActivity("lif2", 3, 2, 5, 2, 1)], "loihi",
                     runs_per_inference=2)
    rows = list(csv.DictReader(write_csv({"loihi": rep}, tmp_path / "e.csv").open()))
    assert [r["layer"] for r in rows] == ["lif1", "lif2", "TOTAL"]
    assert (float(rows[0]["rec_synaptic_events"]), float(rows[0]["current_updates"])) == (12, 30)
    assert (float(rows[0]["synaptic_events"]), float(rows[0]["neuron_updates"])) == (48, 60)
    assert (float(rows[1]["rec_synaptic_events"]), float(rows[1]["current_updates"])) == (0, 0)
