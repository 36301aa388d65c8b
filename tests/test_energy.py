"""Tests for ff_neuro.energy: FFGAF Table 2 reproduction, SNN accounting, profile validation."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from ff_neuro.energy import (
    EnergyReport,
    HardwareProfile,
    LayerCost,
    ProfileError,
    SpikingLayerActivity,
    ann_mlp_energy,
    fc_parameter_count,
    list_profiles,
    load_profile,
    mlp_parameter_count,
    snn_energy,
)

FFGAF = "ffgaf-table2"

# A valid profile with round numbers, used for hand-computed cases.
ROUND_PROFILE = """\
name: round-test
description: round numbers for hand-computed tests
constants:
  weight_fetch_pJ: {value: 10.0, unit: pJ, source: "test fixture, no paper"}
  mac_pJ: {value: 4.0, unit: pJ, source: "test fixture, no paper"}
  acc_pJ: {value: 0.5, unit: pJ, source: "test fixture, no paper"}
  acc_per_synaptic_event: {value: 2, unit: count, source: "test fixture, no paper"}
  neuron_update_pJ: {value: 1.0, unit: pJ, source: "test fixture, no paper"}
formats: {weight_bits: 8}
limits: {cores: 128, neurons_per_core: 1024}
"""


def write(tmp_path: Path, text: str, name: str = "profile.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture()
def round_profile(tmp_path: Path) -> HardwareProfile:
    return load_profile(write(tmp_path, ROUND_PROFILE, "round-test.yaml"))


# --- FFGAF Table 2 -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sizes, params, memory, compute, total",
    [
        ([3072, 3072, 3072], 18_874_368, 0.157, 0.059, 0.216),  # FF*
        ([3072] * 4, 28_311_552, 0.236, 0.088, 0.324),  # SymBa
    ],
    ids=["FF*", "SymBa"],
)
def test_ffgaf_mlp_rows(sizes, params, memory, compute, total):
    report = ann_mlp_energy(sizes, load_profile(FFGAF))
    assert report.parameters == params
    assert mlp_parameter_count(sizes) == params
    assert round(report.memory_mJ, 3) == memory
    assert round(report.compute_mJ, 3) == compute
    assert round(report.total_mJ, 3) == total
    table = report.format_table()
    total_line = [line for line in table.splitlines() if line.startswith("Total")][0]
    assert f"{params:,}" in total_line
    for value in (memory, compute, total):
        assert f"{value:.3f}" in total_line


def test_ffgaf_mlp_exact_pj():
    report = ann_mlp_energy([3072, 3072, 3072], FFGAF)  # profile by name also accepted
    assert report.profile == FFGAF
    assert [layer.parameters for layer in report.layers] == [9_437_184, 9_437_184]
    # 18,874,368 weights x 25/3 pJ and x 3.1 pJ
    assert report.memory_pJ == pytest.approx(157_286_400.0, rel=1e-12)
    assert report.compute_pJ == pytest.approx(58_510_540.8, rel=1e-12)
    assert all(layer.kind == "ann" and layer.macs == layer.parameters for layer in report.layers)


def test_ffgaf_snn_rows_with_documented_spike_reading():
    """Ghader et al. and Ororbias rows under the reading in docs/energy.md (2.018 spikes/neuron)."""
    prof = load_profile(FFGAF)

    def net(sizes, t):
        return [
            SpikingLayerActivity(f"fc{i + 1}", a, b, t, 2.018 * a, 0.0)
            for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))
        ]

    ghader = snn_energy(net([3072, 2000, 2000], 300), prof)
    assert ghader.parameters == 10_144_000
    assert (round(ghader.memory_mJ, 3), round(ghader.compute_mJ, 3), round(ghader.total_mJ, 3)) == (
        0.171,
        0.004,
        0.175,
    )
    ororbias = snn_energy(net([3072, 3072, 3072], 300), prof)
    assert ororbias.parameters == 18_874_368
    assert (round(ororbias.memory_mJ, 3), round(ororbias.compute_mJ, 3), round(ororbias.total_mJ, 3)) == (
        0.317,
        0.008,
        0.325,
    )


def test_fc_parameter_count():
    assert fc_parameter_count(3072, 2000) == 6_144_000
    assert fc_parameter_count(784, 10, bias=True) == 7850
    with pytest.raises(ValueError):
        fc_parameter_count(0, 5)
    with pytest.raises(ValueError):
        mlp_parameter_count([10])


# --- SNN accounting --------------------------------------------------------------------------------
def two_layer_activity():
    return [
        SpikingLayerActivity("fc1", n_in=4, n_out=3, time_steps=5, input_spikes=6, output_spikes=4),
        SpikingLayerActivity("fc2", n_in=3, n_out=2, time_steps=5, input_spikes=4, output_spikes=2.5),
    ]


def test_snn_energy_hand_computed(round_profile):
    report = snn_energy(two_layer_activity(), round_profile)
    fc1, fc2 = report.layers
    # fc1: events = 6*3 = 18; memory = 18*10 = 180; compute = 18*2*0.5 + 3*5*1 = 18 + 15 = 33
    assert (fc1.parameters, fc1.synaptic_events, fc1.weight_fetches) == (12, 18, 18)
    assert (fc1.accs, fc1.neuron_updates, fc1.macs) == (36, 15, 0)
    assert (fc1.memory_pJ, fc1.compute_pJ, fc1.total_pJ) == (180.0, 33.0, 213.0)
    # fc2: events = 4*2 = 8; memory = 80; compute = 8*2*0.5 + 2*5*1 = 8 + 10 = 18
    assert (fc2.parameters, fc2.synaptic_events, fc2.accs, fc2.neuron_updates) == (6, 8, 16, 10)
    assert (fc2.memory_pJ, fc2.compute_pJ) == (80.0, 18.0)
    assert report.parameters == 18
    assert (report.memory_pJ, report.compute_pJ, report.total_pJ) == (260.0, 51.0, 311.0)
    assert report.total_mJ == pytest.approx(311e-9, rel=1e-12)
    assert report.profile == "round-test"


def test_snn_energy_ffgaf_profile_hand_computed():
    report = snn_energy(two_layer_activity(), FFGAF)
    # 26 events x 25/3 pJ; 26 events x 2 x 0.1 pJ; neuron updates free
    assert report.memory_pJ == pytest.approx(26 * 25 / 3, rel=1e-12)
    assert report.compute_pJ == pytest.approx(26 * 0.2, rel=1e-12)


def test_runs_per_inference_scales_linearly(round_profile):
    one = snn_energy(two_layer_activity(), round_profile)
    ten = snn_energy(two_layer_activity(), round_profile, runs_per_inference=10)
    assert ten.runs_per_inference == 10
    assert ten.parameters == one.parameters  # parameters are not multiplied
    assert (ten.memory_pJ, ten.compute_pJ, ten.total_pJ) == (2600.0, 510.0, 3110.0)
    for a, b in zip(one.layers, ten.layers):
        assert b.synaptic_events == 10 * a.synaptic_events
        assert b.neuron_updates == 10 * a.neuron_updates
        assert b.accs == 10 * a.accs
    ann1 = ann_mlp_energy([8, 4, 2], round_profile)
    ann3 = ann_mlp_energy([8, 4, 2], round_profile, runs_per_inference=3)
    # 40 weights: 400 pJ memory, 160 pJ compute per run
    assert (ann1.memory_pJ, ann1.compute_pJ) == (400.0, 160.0)
    assert (ann3.memory_pJ, ann3.compute_pJ) == (1200.0, 480.0)
    assert "3 runs per inference" in ann3.format_table()


def test_activity_validation():
    with pytest.raises(ValueError, match="exceeds"):
        SpikingLayerActivity("x", n_in=4, n_out=3, time_steps=5, input_spikes=21, output_spikes=0)
    with pytest.raises(ValueError, match=">= 0"):
        SpikingLayerActivity("x", n_in=4, n_out=3, time_steps=5, input_spikes=-1, output_spikes=0)
    with pytest.raises(ValueError, match="> 0"):
        SpikingLayerActivity("x", n_in=4, n_out=3, time_steps=0, input_spikes=0, output_spikes=0)
    with pytest.raises(ValueError, match="runs_per_inference"):
        snn_energy(two_layer_activity(), FFGAF, runs_per_inference=0)
    with pytest.raises(ValueError, match="kind"):
        LayerCost("x", "cnn", 1, 0, 0, 0, 0, 0.0, 0.0)


# --- report output ---------------------------------------------------------------------------------
def test_to_dict_is_json_and_consistent(round_profile):
    report = snn_energy(two_layer_activity(), round_profile, runs_per_inference=2)
    d = json.loads(json.dumps(report.to_dict()))
    for key in ("profile", "parameters", "memory_mJ", "compute_mJ", "total_mJ", "runs_per_inference", "layers"):
        assert key in d
    assert d["profile"] == "round-test"
    assert d["parameters"] == 18
    assert d["runs_per_inference"] == 2
    assert d["total_mJ"] == pytest.approx(622e-9, rel=1e-12)
    assert [layer["name"] for layer in d["layers"]] == ["fc1", "fc2"]
    assert d["layers"][0]["memory_pJ"] == 360.0
    assert d["layers"][0]["kind"] == "snn"


def test_format_table_small_values_never_print_zero(round_profile):
    report = snn_energy(two_layer_activity(), round_profile)
    table = report.format_table()
    lines = table.splitlines()
    assert lines[1].split(" | ")[0].strip() == "Layer"
    for header in ("Params", "Memory (mJ)", "Compute (mJ)", "Total (mJ)"):
        assert header in lines[1]
    assert any(line.startswith("fc1") for line in lines)
    assert any(line.startswith("fc2") for line in lines)
    assert any(line.startswith("Total") for line in lines)
    assert not re.search(r"(?<![\d.])0\.0+(?![\d1-9e])", table), table
    total_line = [line for line in lines if line.startswith("Total")][0]
    cells = [c.strip() for c in total_line.split("|")]
    assert cells[1] == "18"
    assert float(cells[2]) == pytest.approx(260e-9, rel=1e-5)
    assert float(cells[3]) == pytest.approx(51e-9, rel=1e-5)
    assert float(cells[4]) == pytest.approx(311e-9, rel=1e-5)


def test_format_table_mixed_scale_switches_precision():
    # One layer costs ~0.1 mJ, the other a few pJ: the small one must not print as 0.000.
    report = EnergyReport(
        profile="manual",
        layers=[
            LayerCost("big", "ann", 10, 10, 10, 0, 0, memory_pJ=1.2e8, compute_pJ=3.4e7),
            LayerCost("tiny", "snn", 2, 1, 0, 2, 0, memory_pJ=5.0, compute_pJ=0.2),
        ],
    )
    table = report.format_table()
    tiny = [line for line in table.splitlines() if line.startswith("tiny")][0]
    assert "0.000" not in tiny
    assert float(tiny.split("|")[2]) == pytest.approx(5e-9)


# --- profiles --------------------------------------------------------------------------------------
def test_bundled_profile_loads_by_name_and_path():
    assert FFGAF in list_profiles()
    by_name = load_profile(FFGAF)
    assert by_name.name == FFGAF
    assert by_name.weight_fetch_pJ == pytest.approx(25 / 3, rel=1e-15)
    assert by_name.mac_pJ == 3.1
    assert by_name.acc_pJ == 0.1
    assert by_name.acc_per_synaptic_event == 2
    assert by_name.neuron_update_pJ == 0
    assert by_name.constants["weight_fetch_pJ"].estimate is True
    for const in by_name.constants.values():
        assert const.source.strip()
    assert "Horowitz" in by_name.constants["mac_pJ"].source
    repo_file = Path(__file__).resolve().parents[1] / "hardware_profiles" / f"{FFGAF}.yaml"
    by_path = load_profile(repo_file)
    assert by_path == by_name
    assert load_profile(str(repo_file)) == by_name
    assert load_profile(by_name) is by_name


def test_load_by_path_and_optional_defaults(tmp_path):
    text = "\n".join(line for line in ROUND_PROFILE.splitlines() if "neuron_update_pJ" not in line)
    prof = load_profile(write(tmp_path, text + "\n"))
    assert prof.neuron_update_pJ == 0.0
    assert prof.limits == {"cores": 128, "neurons_per_core": 1024}
    assert prof.formats == {"weight_bits": 8}
    assert load_profile(str(tmp_path / "profile.yaml")) == prof


def test_unknown_profile_name_lists_available():
    with pytest.raises(ProfileError, match="ffgaf-table2"):
        load_profile("no-such-profile")
    with pytest.raises(ProfileError, match="not found"):
        load_profile("/nonexistent/dir/x.yaml")


def _bad(tmp_path, text):
    path = write(tmp_path, text, "bad.yaml")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert "bad.yaml" in message  # every error names the file
    return message


def test_unknown_top_level_key(tmp_path):
    msg = _bad(tmp_path, ROUND_PROFILE + "colour: blue\n")
    assert "colour" in msg and "unknown" in msg


def test_unknown_constant(tmp_path):
    msg = _bad(tmp_path, ROUND_PROFILE.replace("mac_pJ:", "mac_nJ:"))
    assert "constants.mac_nJ" in msg and "unknown constant" in msg


def test_unknown_constant_entry_key(tmp_path):
    msg = _bad(tmp_path, ROUND_PROFILE.replace("unit: pJ, source", "unit: pJ, sauce: x, source", 1))
    assert "constants.weight_fetch_pJ.sauce" in msg


def test_missing_source(tmp_path):
    text = ROUND_PROFILE.replace(
        'acc_pJ: {value: 0.5, unit: pJ, source: "test fixture, no paper"}',
        "acc_pJ: {value: 0.5, unit: pJ}",
    )
    msg = _bad(tmp_path, text)
    assert "constants.acc_pJ.source" in msg and "citation" in msg


def test_empty_source(tmp_path):
    text = ROUND_PROFILE.replace(
        'acc_pJ: {value: 0.5, unit: pJ, source: "test fixture, no paper"}',
        'acc_pJ: {value: 0.5, unit: pJ, source: "  "}',
    )
    assert "constants.acc_pJ.source" in _bad(tmp_path, text)


def test_missing_constant(tmp_path):
    text = "\n".join(line for line in ROUND_PROFILE.splitlines() if "mac_pJ" not in line)
    msg = _bad(tmp_path, text + "\n")
    assert "constants.mac_pJ" in msg and "missing" in msg


def test_non_numeric_value(tmp_path):
    msg = _bad(tmp_path, ROUND_PROFILE.replace("value: 10.0", 'value: "ten"'))
    assert "constants.weight_fetch_pJ.value" in msg and "number" in msg
    msg = _bad(tmp_path, ROUND_PROFILE.replace("value: 10.0", "value: 1e-3"))
    assert "1.0e-3" in msg  # PyYAML reads 1e-3 as a string; the message says how to fix it
    msg = _bad(tmp_path, ROUND_PROFILE.replace("value: 10.0", "value: true"))
    assert "constants.weight_fetch_pJ.value" in msg


def test_negative_value_and_wrong_unit(tmp_path):
    assert "must be finite and >= 0" in _bad(tmp_path, ROUND_PROFILE.replace("value: 10.0", "value: -1.0"))
    msg = _bad(tmp_path, ROUND_PROFILE.replace("value: 2, unit: count", "value: 2, unit: pJ"))
    assert "constants.acc_per_synaptic_event.unit" in msg


def test_missing_top_level_and_bad_sections(tmp_path):
    assert "description" in _bad(tmp_path, ROUND_PROFILE.replace("description:", "# description:"))
    assert "limits.cores" in _bad(tmp_path, ROUND_PROFILE.replace("cores: 128", "cores: many"))
    assert "top level" in _bad(tmp_path, "- just\n- a list\n")
    assert "invalid YAML" in _bad(tmp_path, "name: [unclosed\n")
    assert "duplicate" in _bad(tmp_path, ROUND_PROFILE + "name: again\n")


# --- Lemaire et al. 2022 -------------------------------------------------------------------------
from ff_neuro.energy import (  # noqa: E402
    FFGAF_TABLE2,
    Conv2dSpec,
    conv_parameter_count,
    ffgaf_csnn_convs,
    ffgaf_table,
    format_ffgaf_table,
    lemaire_ann_conv_energy,
    lemaire_ann_energy,
    lemaire_snn_energy,
    per_event_snn_energy,
)

# Round numbers: MAC 3 pJ, ACC 1 pJ, E(bits) = 0.5 * bits + 10 pJ, 2-bit words.
LEMAIRE_ROUND = """\
name: lemaire-round
description: round numbers for hand-computed Lemaire cases
model: lemaire
constants:
  mac_pJ: {value: 3.0, unit: pJ, source: "test fixture, no paper"}
  acc_pJ: {value: 1.0, unit: pJ, source: "test fixture, no paper"}
  sram_access_pJ_per_bit: {value: 0.5, unit: pJ/bit, source: "test fixture, no paper"}
  sram_access_pJ_offset: {value: 10.0, unit: pJ, source: "test fixture, no paper"}
formats: {word_bits: 2}
"""


@pytest.fixture()
def lemaire_round(tmp_path: Path) -> HardwareProfile:
    return load_profile(write(tmp_path, LEMAIRE_ROUND, "lemaire-round.yaml"))


def test_lemaire_ann_fc_hand_computed(lemaire_round):
    report = lemaire_ann_energy([4, 3, 2], lemaire_round)
    assert report.model == "lemaire"
    fc1, fc2 = report.layers
    # fc1 (4 -> 3): 12 MACs x 3 + 3 bias ACCs x 1 = 39 pJ compute.
    # weight reads 12 at E(12 words x 2 b = 24 b) = 22 -> 264; input reads 4 at E(8) = 14 -> 56;
    # output writes 3 at E(6) = 13 -> 39; memory 359.
    assert (fc1.parameters, fc1.macs, fc1.accs, fc1.weight_fetches) == (12, 12, 3, 12)
    assert fc1.breakdown["input_reads"] == 4 and fc1.breakdown["output_writes"] == 3
    assert fc1.breakdown["weight_read_pJ_each"] == 22.0
    assert (fc1.compute_pJ, fc1.memory_pJ) == (39.0, 359.0)
    # fc2 (3 -> 2): 6 x 3 + 2 x 1 = 20; weights 6 x E(12) = 6 x 16 = 96, inputs 3 x E(6) = 39,
    # outputs 2 x E(4) = 24; memory 159.
    assert (fc2.parameters, fc2.macs, fc2.accs) == (6, 6, 2)
    assert (fc2.compute_pJ, fc2.memory_pJ) == (20.0, 159.0)
    assert (report.compute_pJ, report.memory_pJ, report.total_pJ) == (59.0, 518.0, 577.0)
    # ann_mlp_energy dispatches a lemaire profile here; runs scale every count
    assert ann_mlp_energy([4, 3, 2], lemaire_round).total_pJ == 577.0
    assert lemaire_ann_energy([4, 3, 2], lemaire_round, runs_per_inference=3).total_pJ == 1731.0


def test_lemaire_snn_fc_hand_computed(lemaire_round):
    report = lemaire_snn_energy(two_layer_activity(), lemaire_round)
    fc1, fc2 = report.layers
    # fc1: Nin 4, Nout 3, T 5, theta_in 6, theta_out 4.
    # ACCs = 6*3 + 5*3 + 4 = 37; leak MACs = 15; addressing ACCs = 18
    b = fc1.breakdown
    assert (b["acc_ops"], b["leak_macs"], b["addressing_accs"]) == (37, 15, 18)
    assert (fc1.accs, fc1.macs, fc1.synaptic_events, fc1.neuron_updates) == (55, 15, 18, 15)
    # weight reads 18, bias reads 15, potential reads = writes = 18 + 15 = 33, spikes 6 in / 4 out
    assert (b["weight_reads"], b["bias_reads"], b["potential_reads"], b["potential_writes"]) == (
        18, 15, 33, 33)
    assert (b["spike_reads"], b["spike_writes"]) == (6, 4)
    # compute = 55 x 1 + 15 x 3 = 100
    # memory = 18 x E(24)=22 -> 396; 15 x E(6)=13 -> 195; 66 x E(6)=13 -> 858;
    #          6 x E(8)=14 -> 84; 4 x E(6)=13 -> 52; total 1585
    assert (b["mem_weights_pJ"], b["mem_bias_pJ"], b["mem_pot_pJ"], b["mem_io_pJ"]) == (
        396.0, 195.0, 858.0, 136.0)
    assert (fc1.compute_pJ, fc1.memory_pJ) == (100.0, 1585.0)
    # fc2: Nin 3, Nout 2, T 5, theta_in 4, theta_out 2.5.
    # ACCs = 8 + 10 + 2.5 = 20.5, leak 10, addressing 8 -> compute 28.5 + 30 = 58.5
    # memory = 8 x E(12)=16 -> 128; 10 x E(4)=12 -> 120; 36 x 12 -> 432; 4 x E(6)=13 -> 52;
    #          2.5 x E(4)=12 -> 30; total 762
    assert (fc2.compute_pJ, fc2.memory_pJ) == (58.5, 762.0)
    assert (report.compute_pJ, report.memory_pJ) == (158.5, 2347.0)
    # snn_energy dispatches on the profile's model
    assert snn_energy(two_layer_activity(), lemaire_round).total_pJ == report.total_pJ
    # options: IF neurons (no leak), no bias, a 0-word spike FIFO (E = offset = 10 pJ)
    plain = lemaire_snn_energy(two_layer_activity(), lemaire_round, leak=False, bias=False,
                               spike_fifo_words=0)
    p1 = plain.layers[0]
    assert p1.macs == 0 and p1.compute_pJ == 55.0
    # 396 + 858 + (6 + 4) x 10 = 1354
    assert p1.memory_pJ == 1354.0


def test_lemaire_real_profile_fc():
    """lemaire2022-45nm on one small layer, priced by hand with E(b) = 1.09e-5 b + 13.2."""
    act = [SpikingLayerActivity("fc1", n_in=100, n_out=10, time_steps=4, input_spikes=50,
                                output_spikes=7)]
    rep = lemaire_snn_energy(act, "lemaire2022-45nm")
    e = lambda words: 1.09e-5 * words * 32 + 13.2  # noqa: E731
    compute = (50 * 10 + 4 * 10 + 7 + 50 * 10) * 0.1 + 4 * 10 * 3.2
    memory = (50 * 10 * e(1000) + 4 * 10 * e(10) + 2 * (50 * 10 + 40) * e(10)
              + 50 * e(100) + 7 * e(10))
    assert rep.compute_pJ == pytest.approx(compute, rel=1e-12)
    assert rep.memory_pJ == pytest.approx(memory, rel=1e-12)
    # FF* under Lemaire's memory model: ~62 mJ (docs/energy.md), far from FFGAF's 0.157 mJ
    ff = lemaire_ann_energy([3072, 3072, 3072])
    assert ff.memory_mJ == pytest.approx(62.4, abs=0.1)
    assert ff.compute_mJ == pytest.approx(2 * (3072 * 3072 * 3.2 + 3072 * 0.1) / 1e9, rel=1e-12)


def test_lemaire_conv_ann_hand_computed(lemaire_round):
    spec = Conv2dSpec("conv", in_channels=1, out_channels=2, kernel_size=2, input_hw=(3, 3))
    assert spec.output_hw == (2, 2) and spec.parameters == 10 and spec.macs == 32
    rep = lemaire_ann_conv_energy([spec], lemaire_round)
    layer = rep.layers[0]
    # 32 MACs x 3 + 8 bias ACCs x 1 = 104; weights 32 x E(8 words x 2 b = 16) = 32 x 18 = 576;
    # inputs 32 x E(9 x 2 = 18) = 32 x 19 = 608; outputs 8 x E(16) = 8 x 18 = 144
    assert (layer.macs, layer.accs, layer.weight_fetches) == (32, 8, 32)
    assert layer.compute_pJ == 104.0
    assert layer.memory_pJ == 576.0 + 608.0 + 144.0
    assert conv_parameter_count(3, 40, 3) == 1120
    with pytest.raises(ValueError, match="lemaire"):
        lemaire_ann_conv_energy([spec], FFGAF)


def test_lemaire_rejects_other_profiles():
    with pytest.raises(ValueError, match="lemaire"):
        lemaire_snn_energy(two_layer_activity(), FFGAF)
    with pytest.raises(ValueError, match="ANN"):
        ann_mlp_energy([4, 3], "loihi")


# --- per-event chips ------------------------------------------------------------------------------
def test_per_event_loihi_hand_computed():
    report = snn_energy(two_layer_activity(), "loihi")  # dispatches to per_event_snn_energy
    assert report.model == "per-event"
    fc1, fc2 = report.layers
    # fc1: 18 events x 23.6 + 15 updates x 81 + 4 spikes x 1.7 = 424.8 + 1215 + 6.8 = 1646.6
    assert (fc1.synaptic_events, fc1.neuron_updates, fc1.breakdown["spikes"]) == (18, 15, 4)
    assert fc1.compute_pJ == pytest.approx(1646.6, rel=1e-12)
    assert fc1.breakdown["synaptic_ops_pJ"] == pytest.approx(424.8, rel=1e-12)
    # fc2: 8 x 23.6 + 10 x 81 + 2.5 x 1.7 = 188.8 + 810 + 4.25 = 1003.05
    assert fc2.compute_pJ == pytest.approx(1003.05, rel=1e-12)
    assert report.memory_pJ == 0.0  # not separable in the source: all in compute
    assert report.total_pJ == pytest.approx(2649.65, rel=1e-12)
    assert any("compute" in n for n in report.notes)
    assert "Note:" in report.format_table()
    ten = per_event_snn_energy(two_layer_activity(), "loihi", runs_per_inference=10)
    assert ten.total_pJ == pytest.approx(26496.5, rel=1e-12)


def test_per_event_truenorth_and_spinnaker2_hand_computed():
    tn = snn_energy(two_layer_activity(), "truenorth")
    # 26 events x 26 pJ; neuron updates and spikes included in that figure
    assert tn.total_pJ == pytest.approx(26 * 26, rel=1e-12)
    sp = snn_energy(two_layer_activity(), "spinnaker2")
    # 26 events x 450 pJ + 25 neuron updates x 2190 pJ = 11,700 + 54,750
    assert sp.total_pJ == pytest.approx(66_450, rel=1e-12)
    with pytest.raises(ValueError, match="per-event"):
        per_event_snn_energy(two_layer_activity(), FFGAF)


# --- FFGAF Table 2 regenerated ---------------------------------------------------------------------
def test_ffgaf_table_rows():
    rows = {r["model"]: r for r in ffgaf_table()}
    assert list(rows) == list(FFGAF_TABLE2)
    for model in ("FF*", "SymBa"):
        row, pub = rows[model], rows[model]["published"]
        assert row["parameters"] == pub["parameters"]
        for col in ("memory_mJ", "compute_mJ", "total_mJ"):
            assert round(row[col], 3) == pub[col], (model, col)
    assert rows["FF*"]["published"] == {"parameters": 18_874_368, "memory_mJ": 0.157,
                                        "compute_mJ": 0.059, "total_mJ": 0.216}
    cafo = rows["CaFo"]
    assert cafo["compute_mJ"] == pytest.approx(627_768 * 32 * 32 * 3.1 / 1e9, rel=1e-12)
    assert round(cafo["compute_mJ"], 3) == 1.993
    assert cafo["memory_mJ"] is None and cafo["total_mJ"] is None
    csnn = rows["CSNN-ours"]
    assert csnn["parameters"] == 433_600
    assert csnn["memory_mJ"] == pytest.approx(0.04336, rel=1e-12)
    assert round(csnn["memory_mJ"], 3) == 0.043
    assert csnn["compute_mJ"] is None and csnn["total_mJ"] is None
    assert rows["Ghader et al."]["parameters"] == 10_144_000
    assert rows["Ghader et al."]["memory_mJ"] is None
    assert rows["CwComp*"]["parameters"] is None
    for r in rows.values():
        assert set(r) >= {"model", "parameters", "memory_mJ", "compute_mJ", "total_mJ", "published"}


def test_ffgaf_csnn_architecture():
    convs = ffgaf_csnn_convs()
    assert [c.parameters for c in convs] == [1_120, 43_320, 129_720, 259_440]
    assert [c.output_hw for c in convs] == [(32, 32), (16, 16), (16, 16), (8, 8)]
    assert sum(c.parameters for c in convs) == 433_600


def test_ffgaf_table_fitted_snn_rows_and_format():
    rows = {r["model"]: r for r in ffgaf_table(include_fitted=True)}
    for model in ("Ghader et al.", "Ororbias"):
        row, pub = rows[model], rows[model]["published"]
        assert tuple(round(row[c], 3) for c in ("memory_mJ", "compute_mJ", "total_mJ")) == (
            pub["memory_mJ"], pub["compute_mJ"], pub["total_mJ"])
    text = format_ffgaf_table(list(rows.values()))
    lines = text.splitlines()
    ff = [l for l in lines if l.startswith("FF*")][0]
    assert "18,874,368 / 18,874,368" in ff and "0.157 / 0.157" in ff and "0.216 / 0.216" in ff
    csnn = [l for l in lines if l.startswith("CSNN-ours")][0]
    assert "433,600 / 433,600" in csnn and "0.043 / 0.043" in csnn and "- / 0.038" in csnn
    cafo = [l for l in lines if l.startswith("CaFo")][0]
    assert "1.993 / 1.993" in cafo and "- / 0.012" in cafo
