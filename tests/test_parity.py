"""Parity across every backend (torch float, emulator, Lava fixed_pt, Lava floating_pt), for
binary rate-coded and graded-spike inputs, plus the one-pass readout."""
import json
import subprocess
import sys

import numpy as np
import pytest

from ff_neuro.model import InputEncoding, save_model
from ff_neuro.parity import run_parity
from ff_neuro.quantization import quantize
from ff_neuro.run import fit_readout, get_backend, hidden_features, one_pass

from conftest import random_net


def small_net(kind: str):
    net = random_net(seed=7, sizes=(24, 20, 12), bias=True, n_classes=4, time_steps=10,
                     w_std=0.6)
    net.encoder = InputEncoding(kind=kind, time_steps=10, levels=15 if kind == "graded" else 1)
    return net


@pytest.mark.lava
@pytest.mark.parametrize("kind", ["rate", "graded"])
def test_all_backends_agree_where_they_must(kind):
    qnet, _ = quantize(small_net(kind))
    rng = np.random.default_rng(0)
    x = rng.random((12, 20)).astype(np.float32)  # 20 features + 4 appended label inputs
    y = rng.integers(0, 4, 12)
    rep = run_parity(qnet, x, y, timeout_s=180)
    assert set(rep.accuracy) == {"float", "emulator", "lava-fixed", "lava-float"}
    exact = rep.pairs["emulator_vs_lava-fixed"]
    assert exact.spike_agreement == 1.0 and exact.first_divergence is None
    assert exact.prediction_agreement == 1.0
    fl = rep.pairs["float_vs_lava-float"]
    assert fl.spike_agreement == 1.0 and fl.mismatches.sum() == 0
    q = rep.pairs["float_vs_emulator"]
    assert 0.9 < q.spike_agreement <= 1.0  # quantization: small, measured, reported
    if q.first_divergence is not None:        # where the float and fixed point first part
        assert set(q.first_divergence) == {"step", "layer", "sample", "label", "neuron"}
    d = rep.to_dict()["pairs"]
    assert d["emulator_vs_lava-fixed"]["spike_agreement"] == 1.0
    assert "prediction_agreement" in d["float_vs_emulator"]
    assert np.array(d["float_vs_emulator"]["mismatches_per_layer_step"]).shape == (2, 10)


def test_graded_inputs_are_multibit():
    net = small_net("graded")
    from ff_neuro.encoding import sweep_inputs
    s = sweep_inputs(np.full((3, 20), 0.5, np.float32), net.label_embedding, net.encoder)
    assert s.max() == 15 and set(np.unique(s[..., :20])) == {8}  # round(0.5 * 15)
    qnet, rep = quantize(net)
    q0 = qnet.quantized[0]
    # Layer 0 integer weights apply to g = 15 * x: W_q ~ scale * W / 15, worst case fits 2**17.
    assert np.abs(q0.weight).sum(axis=1).max() * 15 < 2**17
    np.testing.assert_allclose(q0.weight, np.round(q0.neuron.scale * net.layers[0].weight / 15))


@pytest.mark.lava
def test_parity_cli_json_and_plot(tmp_path, digits):
    from ff_neuro.config import FFTrainConfig
    from ff_neuro.training import FFTrainer
    net = FFTrainer(FFTrainConfig(hidden=(30, 20), epochs=1, time_steps=8), digits).fit(
        progress=False)
    qnet, _ = quantize(net)
    path = save_model(qnet, tmp_path / "m.h5")
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "parity", str(path),
                           "--samples", "8", "--json", "--plot", str(tmp_path / "p.png")],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = json.loads(proc.stdout)
    assert d["pairs"]["emulator_vs_lava-fixed"]["spike_agreement"] == 1.0
    assert 0 <= d["pairs"]["float_vs_emulator"]["prediction_agreement"] <= 1
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.lava
def test_linear_readout_same_on_every_backend(digits):
    from ff_neuro.config import FFTrainConfig
    from ff_neuro.training import FFTrainer
    ds = digits.subset(n_train=600, n_test=60)
    net = FFTrainer(FFTrainConfig(hidden=(60, 60), epochs=6, seed=1), ds).fit(progress=False)
    qnet, _ = quantize(net)
    ro = fit_readout(get_backend("float"), qnet, ds.x_train, ds.y_train)
    assert ro.weight.shape == (10, 120)
    qnet.set_readout(ro)
    assert one_pass(get_backend("float"), qnet, ds.x_test, readout=ro).accuracy(ds.y_test) > 0.6
    f_emu = hidden_features(get_backend("emulator"), qnet, ds.x_test[:15], 0)
    f_lava = hidden_features(get_backend("lava-fixed", timeout_s=120), qnet, ds.x_test[:15], 0,
                             chunk=15)
    np.testing.assert_array_equal(f_emu, f_lava)
    # the parity report on the linear readout: one run per sample, every spike compared
    rep = run_parity(qnet, ds.x_test[:10], ds.y_test[:10], ["emulator", "lava-fixed"],
                     timeout_s=120, readout="linear")
    assert rep.readout == "linear" and rep.pairs["emulator_vs_lava-fixed"].spike_agreement == 1
    assert rep.accuracy["emulator"] == rep.accuracy["lava-fixed"]
