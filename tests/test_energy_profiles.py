"""Bundled hardware profiles (lemaire2022-45nm, loihi, loihi2, truenorth, spinnaker2, ffgaf-table2)
and the schema extensions they use (model, cited formats/limits, per-model required constants)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ff_neuro.energy import (
    KNOWN_FORMATS,
    KNOWN_LIMITS,
    MODEL_REQUIRED_CONSTANTS,
    MODEL_REQUIRED_FORMATS,
    MODELS,
    HardwareProfile,
    ProfileError,
    list_profiles,
    load_profile,
)

BUNDLED = ["ffgaf-table2", "lemaire2022-45nm", "loihi", "loihi2", "spinnaker2", "truenorth"]


def test_all_bundled_profiles_listed():
    assert set(BUNDLED) <= set(list_profiles())


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_profile_loads_and_validates(name):
    prof = load_profile(name)
    assert prof.name == name
    assert prof.model in MODELS
    for required in MODEL_REQUIRED_CONSTANTS[prof.model]:
        assert required in prof.constants
    for required in MODEL_REQUIRED_FORMATS[prof.model]:
        assert required in prof.formats
    for const in prof.constants.values():
        assert const.source.strip(), const.name
        assert isinstance(const.estimate, bool)
    # every format and limit in a bundled profile is cited
    for section, values in (("formats", prof.formats), ("limits", prof.limits)):
        for key in values:
            assert key in (KNOWN_FORMATS if section == "formats" else KNOWN_LIMITS)
            cit = prof.citations.get(f"{section}.{key}")
            assert cit is not None and cit.source.strip(), f"{name}: {section}.{key} uncited"
    # the mapping form round-trips through the validator
    again = HardwareProfile.from_mapping(prof.to_dict(), origin="roundtrip")
    assert again == prof


def test_lemaire_profile_constants_and_memory_model():
    prof = load_profile("lemaire2022-45nm")
    assert prof.model == "lemaire"
    assert prof.mac_pJ == 3.2  # Horowitz 45 nm int32: 3.1 multiply + 0.1 add
    assert prof.acc_pJ == 0.1
    assert prof.value("sram_access_pJ_per_bit") == 1.09e-5
    assert prof.constants["sram_access_pJ_per_bit"].unit == "pJ/bit"
    assert prof.value("sram_access_pJ_offset") == 13.2
    assert prof.format_bits("word_bits") == 32
    assert "Horowitz" in prof.constants["mac_pJ"].source
    assert "Lemaire" in prof.constants["sram_access_pJ_per_bit"].source
    # E(bits) = 1.09e-5 * bits + 13.2: an 8 kB, 32 kB and 1 MB memory
    assert prof.sram_access_pJ(8 * 1024 * 8) == pytest.approx(0.7143424 + 13.2, rel=1e-12)
    assert prof.sram_access_pJ(32 * 1024 * 8) == pytest.approx(2.8573696 + 13.2, rel=1e-12)
    assert prof.sram_access_pJ(1024 * 1024 * 8) == pytest.approx(91.4358272 + 13.2, rel=1e-12)
    assert prof.sram_access_pJ(0) == 13.2
    with pytest.raises(ValueError):
        prof.sram_access_pJ(-1)


def test_loihi_profile():
    prof = load_profile("loihi")
    assert prof.model == "per-event"
    values = {k: c.value for k, c in prof.constants.items()}
    assert values["synaptic_op_pJ"] == 23.6
    assert values["synaptic_update_pJ"] == 120
    assert values["neuron_update_pJ"] == 81
    assert values["neuron_update_inactive_pJ"] == 52
    assert values["spike_pJ"] == 1.7
    assert values["spike_hop_pJ"] == 3.5
    for name in ("synaptic_op_pJ", "synaptic_update_pJ", "neuron_update_pJ", "spike_pJ"):
        assert "Davies" in prof.constants[name].source and "Table 2" in prof.constants[name].source
        assert prof.constants[name].estimate is False
    assert prof.limits == {"cores": 128, "neurons_per_core": 1024,
                           "synaptic_memory_bits_per_core": 128 * 1024 * 8}
    assert "Davies" in prof.citations["limits.synaptic_memory_bits_per_core"].source
    assert prof.formats["weight_bits"] == 8


def test_loihi2_profile_marks_reused_energies_as_estimates():
    prof = load_profile("loihi2")
    loihi = load_profile("loihi")
    assert prof.model == "per-event"
    for name, const in prof.constants.items():
        if const.unit != "pJ":                            # static power, step time: measured
            assert const.estimate is False and "lava-dl PilotNet" in const.source, name
            continue
        assert const.estimate is True, name
        assert "Loihi 1" in const.note, name
        assert const.value == loihi.constants[name].value  # the same figures, reused
    assert {n for n, c in prof.constants.items() if c.unit != "pJ"} == {"static_power_W",
                                                                       "step_time_us"}
    assert "no per-operation Loihi 2 energies are published" in prof.description
    assert "PilotNet" in prof.description and "bound" in prof.description
    assert prof.formats == {"weight_bits": 8, "state_bits": 24, "spike_bits": 24}
    assert prof.limits["cores"] == 128
    assert prof.limits["neurons_per_core"] == 8192
    assert prof.limits["synapses_per_chip"] == 120_000_000
    src = prof.citations["limits.neurons_per_core"].source
    assert "Loihi 2" in src and "Orchard" in src
    assert "no per-operation" in prof.description or "no per-operation" in prof.constants[
        "synaptic_op_pJ"].note


def test_truenorth_and_spinnaker2_profiles():
    tn = load_profile("truenorth")
    assert tn.value("synaptic_op_pJ") == 26
    assert tn.value("neuron_update_pJ") == 0
    assert "Merolla" in tn.constants["synaptic_op_pJ"].source
    assert tn.limits == {"cores": 4096, "neurons_per_core": 256, "axons_per_core": 256,
                         "synapses_per_core": 256 * 256}
    sp = load_profile("spinnaker2")
    assert sp.value("synaptic_op_pJ") == 450  # 0.45 nJ
    assert sp.value("neuron_update_pJ") == 2190  # 2.19 nJ
    assert sp.value("spike_pJ") == 0.0  # optional, defaults to 0
    for const in sp.constants.values():
        assert "KerasSpiking" in const.source and "ppner" in const.source
    assert sp.limits == {}


def test_ffgaf_profile_is_default_model_and_has_csnn_constant():
    prof = load_profile("ffgaf-table2")
    assert prof.model == "ffgaf"
    assert prof.value("sram_read_1MB_pJ") == 100
    assert "Horowitz" in prof.constants["sram_read_1MB_pJ"].source


# --- schema -----------------------------------------------------------------------------------------
PER_EVENT = """\
name: chip-test
description: per-event fixture
model: per-event
constants:
  synaptic_op_pJ: {value: 20.0, unit: pJ, source: "test fixture, no paper"}
  neuron_update_pJ: {value: 50.0, unit: pJ, source: "test fixture, no paper"}
formats:
  weight_bits: {value: 8, source: "test fixture"}
limits:
  cores: {value: 4, source: "test fixture", note: "small", estimate: true}
  neurons_per_core: 16
"""

LEMAIRE = """\
name: lemaire-test
description: lemaire fixture
model: lemaire
constants:
  mac_pJ: {value: 3.0, unit: pJ, source: "test fixture"}
  acc_pJ: {value: 1.0, unit: pJ, source: "test fixture"}
  sram_access_pJ_per_bit: {value: 0.5, unit: pJ/bit, source: "test fixture"}
  sram_access_pJ_offset: {value: 10.0, unit: pJ, source: "test fixture"}
formats: {word_bits: 2}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _bad(tmp_path, text):
    with pytest.raises(ProfileError) as info:
        load_profile(_write(tmp_path, text))
    assert "bad.yaml" in str(info.value)
    return str(info.value)


def test_fixture_profiles_load(tmp_path):
    prof = load_profile(_write(tmp_path, PER_EVENT))
    assert prof.model == "per-event"
    assert prof.limits == {"cores": 4, "neurons_per_core": 16}
    assert prof.citations["limits.cores"].estimate is True
    assert prof.citations["limits.cores"].note == "small"
    assert "limits.neurons_per_core" not in prof.citations  # bare numbers stay allowed
    lem = load_profile(_write(tmp_path, LEMAIRE))
    assert lem.sram_access_pJ(8) == 14.0


def test_unknown_model(tmp_path):
    msg = _bad(tmp_path, PER_EVENT.replace("model: per-event", "model: analog"))
    assert "model" in msg and "per-event" in msg


def test_model_specific_required_constants(tmp_path):
    text = "\n".join(l for l in PER_EVENT.splitlines() if "synaptic_op_pJ" not in l) + "\n"
    msg = _bad(tmp_path, text)
    assert "constants.synaptic_op_pJ" in msg and "missing" in msg and "per-event" in msg
    text = "\n".join(l for l in LEMAIRE.splitlines() if "sram_access_pJ_offset" not in l) + "\n"
    assert "constants.sram_access_pJ_offset" in _bad(tmp_path, text)


def test_lemaire_needs_word_bits(tmp_path):
    msg = _bad(tmp_path, LEMAIRE.replace("formats: {word_bits: 2}", "formats: {weight_bits: 2}"))
    assert "formats.word_bits" in msg and "missing" in msg


def test_slope_unit_is_checked(tmp_path):
    msg = _bad(tmp_path, LEMAIRE.replace("unit: pJ/bit", "unit: pJ"))
    assert "constants.sram_access_pJ_per_bit.unit" in msg and "pJ/bit" in msg


def test_missing_citation_still_rejected(tmp_path):
    msg = _bad(tmp_path, PER_EVENT.replace(
        '{value: 50.0, unit: pJ, source: "test fixture, no paper"}', "{value: 50.0, unit: pJ}"))
    assert "constants.neuron_update_pJ.source" in msg and "citation" in msg
    msg = _bad(tmp_path, PER_EVENT.replace('cores: {value: 4, source: "test fixture", ',
                                           "cores: {value: 4, "))
    assert "limits.cores.source" in msg
    msg = _bad(tmp_path, PER_EVENT.replace('{value: 8, source: "test fixture"}',
                                           '{value: 8, source: " "}'))
    assert "formats.weight_bits.source" in msg


def test_unknown_keys_still_rejected(tmp_path):
    assert "unknown" in _bad(tmp_path, PER_EVENT + "colour: blue\n")
    msg = _bad(tmp_path, PER_EVENT.replace("neurons_per_core: 16", "neurons_per_cor: 16"))
    assert "limits.neurons_per_cor" in msg and "unknown limit" in msg
    msg = _bad(tmp_path, PER_EVENT.replace("weight_bits:", "weight_bytes:"))
    assert "formats.weight_bytes" in msg and "unknown format" in msg
    msg = _bad(tmp_path, PER_EVENT.replace('source: "test fixture", note', 'sauce: x, source: "t", note'))
    assert "limits.cores.sauce" in msg
    msg = _bad(tmp_path, PER_EVENT.replace("synaptic_op_pJ:", "synaptic_opp_pJ:"))
    assert "constants.synaptic_opp_pJ" in msg and "unknown constant" in msg


def test_bad_format_and_limit_values(tmp_path):
    assert "formats.weight_bits" in _bad(tmp_path, PER_EVENT.replace("{value: 8,", "{value: 8.5,"))
    assert "formats.weight_bits" in _bad(tmp_path, PER_EVENT.replace("{value: 8,", "{value: 0,"))
    assert "limits.neurons_per_core" in _bad(tmp_path, PER_EVENT.replace("core: 16", "core: -16"))
    assert "limits.cores.value" in _bad(tmp_path, PER_EVENT.replace("{value: 4, ", "{"))
