"""fit_check: cores a fully connected net needs on a chip, from the profile's limits."""

from __future__ import annotations

import json
import math
import textwrap

import pytest

from ff_neuro.energy import FitReport, fit_check, load_profile


def test_784_500_500_on_loihi_fits():
    report = fit_check([784, 500, 500], "loihi")
    assert isinstance(report, FitReport)
    # Loihi: 1,024 neurons per core; 128 KB = 1,048,576 bits of synaptic memory per core at
    # 8-bit weights = 131,072 synapses per core.
    assert report.neuron_capacity_per_core == 1024
    assert report.synapse_capacity_per_core == 131_072
    fc1, fc2 = report.layers
    # fc1: fan-in 784 -> floor(131072 / 784) = 167 neurons per core (< 1024) -> ceil(500/167) = 3
    assert (fc1.neurons_per_core, fc1.synapses_per_core, fc1.cores) == (167, 167 * 784, 3)
    assert fc1.limited_by == "synapses_per_core"
    # fc2: fan-in 500 -> floor(131072 / 500) = 262 per core -> ceil(500/262) = 2
    assert (fc2.neurons_per_core, fc2.synapses_per_core, fc2.cores) == (262, 131_000, 2)
    assert report.total_cores == 5
    assert report.total_neurons == 1000
    assert report.total_synapses == 784 * 500 + 500 * 500
    assert report.fits_on_one_chip is True
    assert report.chips_needed == 1
    assert report.problems == []
    text = report.format()
    assert "Fits on one chip: 5 of 128 cores." in text
    rows = {line.split("|")[0].strip(): [c.strip() for c in line.split("|")]
            for line in text.splitlines() if "|" in line}
    assert rows["fc1"][1:6] == ["784->500", "392,000", "167", "130,928", "3"]
    assert rows["fc2"][5] == "2" and rows["Total"][5] == "5"
    d = json.loads(json.dumps(report.to_dict()))
    assert d["total_cores"] == 5 and d["fits_on_one_chip"] is True
    assert [layer["cores"] for layer in d["layers"]] == [3, 2]


def test_weight_bits_override_and_input_layer():
    # 1-bit weights: 1,048,576 synapses per core, so the 1,024-neuron limit binds: 1 core per layer
    report = fit_check([784, 500, 500], "loihi", weight_bits=1)
    assert [l.cores for l in report.layers] == [1, 1]
    assert all(l.limited_by == "neurons_per_core" for l in report.layers)
    # placing the 784 input neurons too: ceil(784 / 1024) = 1 more core
    with_input = fit_check([784, 500, 500], "loihi", include_input=True)
    assert with_input.layers[0].name == "input" and with_input.layers[0].cores == 1
    assert with_input.total_cores == 6


def test_loihi2_neurons_per_core():
    # 8,192 neurons per core and no per-core synapse limit: one core per layer
    report = fit_check([784, 500, 500, 10], "loihi2")
    assert [l.cores for l in report.layers] == [1, 1, 1]
    assert report.fits_on_one_chip
    # a layer of 20,000 neurons: ceil(20000 / 8192) = 3 cores
    assert fit_check([100, 20_000], "loihi2").total_cores == 3
    # chip-wide synapse limit (120 million): 12,000 x 12,000 = 144 million synapses
    big = fit_check([12_000, 12_000], "loihi2")
    assert big.total_cores == 2  # ceil(12000 / 8192)
    assert not big.fits_on_one_chip and big.chips_needed == 2
    assert any("synapses exceed" in p for p in big.problems)


def test_huge_layer_does_not_fit_on_truenorth():
    # TrueNorth: 256 neurons per core, 256 x 256 synapses per core, 4,096 cores per chip.
    report = fit_check([256, 2_000_000], "truenorth")
    (layer,) = report.layers
    # 65,536 / 256 = 256 neurons per core either way -> ceil(2,000,000 / 256) = 7,813 cores
    assert (layer.neurons_per_core, layer.synapses_per_core) == (256, 65_536)
    assert layer.cores == math.ceil(2_000_000 / 256) == 7813
    assert report.total_cores == 7813
    assert report.fits_on_one_chip is False
    assert report.chips_needed == 2
    assert report.problems == ["needs 7,813 cores, a chip has 4,096"]
    assert "Does not fit on one chip (needs 2 chips)" in report.format()
    # the largest single layer that fits: 4,096 cores x 256 neurons
    assert fit_check([256, 4096 * 256], "truenorth").fits_on_one_chip
    assert not fit_check([256, 4096 * 256 + 1], "truenorth").fits_on_one_chip


def test_truenorth_fan_in_and_small_layers():
    # 100 inputs -> floor(65536 / 100) = 655 > 256, so 256 neurons per core: ceil(1000/256) = 4
    assert fit_check([100, 1000], "truenorth").total_cores == 4
    # fan-in 1,024 > 256 axons per core: not mappable without splitting a neuron's fan-in
    report = fit_check([1024, 10], "truenorth")
    assert report.layers[0].cores is None and not report.mappable
    assert report.total_cores is None and report.chips_needed is None
    assert not report.fits_on_one_chip
    assert "axons per core" in report.problems[0]


def test_fan_in_beyond_core_synapse_memory():
    # Loihi: 200,000 synapses for one neuron > 131,072 a core holds
    report = fit_check([200_000, 10], "loihi")
    assert not report.fits_on_one_chip
    assert "synapses a core holds" in report.problems[0]


def test_profile_without_limits_and_bad_sizes(tmp_path):
    with pytest.raises(ValueError, match="neurons_per_core"):
        fit_check([10, 10], "spinnaker2")
    with pytest.raises(ValueError, match="limits"):
        fit_check([10, 10], "lemaire2022-45nm")
    with pytest.raises(ValueError):
        fit_check([10], "loihi")
    with pytest.raises(ValueError):
        fit_check([10, 0], "loihi")
    # synaptic memory limit without weight_bits needs an explicit weight_bits
    path = tmp_path / "chip.yaml"
    path.write_text(textwrap.dedent("""\
        name: chip
        description: memory-limited fixture
        model: per-event
        constants:
          synaptic_op_pJ: {value: 1.0, unit: pJ, source: "test fixture"}
          neuron_update_pJ: {value: 1.0, unit: pJ, source: "test fixture"}
        limits: {cores: 2, neurons_per_core: 8, synaptic_memory_bits_per_core: 64}
        """), encoding="utf-8")
    prof = load_profile(path)
    with pytest.raises(ValueError, match="weight_bits"):
        fit_check([4, 4], prof)
    # 64 bits / 4-bit weights = 16 synapses per core; fan-in 4 -> 4 neurons per core -> 3 cores
    report = fit_check([4, 10], prof, weight_bits=4)
    assert report.synapse_capacity_per_core == 16
    assert report.layers[0].neurons_per_core == 4 and report.total_cores == 3
    assert not report.fits_on_one_chip and report.chips_needed == 2
