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
