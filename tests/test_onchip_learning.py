"""On-chip Hebbian FF learning: Lava floating_pt weight updates equal the host model of the same
rule step for step, and the CLI trial runs end to end with a learning curve."""
import json
import subprocess
import sys

import numpy as np
import pytest

from ff_neuro.training.onchip import OnChipRule, reference_learning, run_lava_learning


#: every test here runs Lava (deselected in the Lava-free tier)
pytestmark = pytest.mark.lava


def test_lava_float_updates_equal_host_rule():
    rng = np.random.default_rng(0)
    N, T, n_in, n_out = 6, 10, 12, 8  # 66 steps, every step a learning epoch
    w0 = rng.normal(0, 0.6, (n_out, n_in))
    x = (rng.random((N, T, n_in)) < 0.4).astype(np.uint8)
    pol = np.zeros((N, T))
    pol[:, 5:] = np.where(np.arange(N) % 2 == 0, 1.0, -1.0)[:, None]
    for probability, trace in (("symmetric", "li"), ("sigmoid", "relu")):
        rule = OnChipRule(dv=0.15, vth=1.0, eta=0.1, probability=probability, trace=trace,
                          tau=0.85, mu=0.15 if trace == "li" else 0.1)
        w_ref, snaps_ref = reference_learning(w0, x, pol, rule, snapshot_every=3)
        w_lava, snaps, stats = run_lava_learning(w0, x, pol, rule, snapshot_every=3,
                                                 timeout_s=180)
        assert np.abs(w_ref - w0).sum() > 0.5, "nothing learned: the test would prove nothing"
        np.testing.assert_allclose(w_lava, w_ref, rtol=0, atol=1e-9)
        for a, b in zip(snaps, snaps_ref):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
        assert stats["compiles"] == 1 and stats["samples"] == N


def test_polarity_zero_means_no_learning():
    rng = np.random.default_rng(1)
    w0 = rng.normal(0, 0.6, (6, 10))
    x = (rng.random((3, 8, 10)) < 0.5).astype(np.uint8)
    w, _ = reference_learning(w0, x, np.zeros((3, 8)), OnChipRule(dv=0.1, vth=1.0))
    np.testing.assert_array_equal(w, w0)


def test_learn_cli_trial(tmp_path):
    out = tmp_path / "learn"
    proc = subprocess.run(
        [sys.executable, "-m", "ff_neuro.cli", "learn", "--samples", "40", "--every", "20",
         "--eval-samples", "40", "--hidden", "20", "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = json.loads(proc.stdout)
    assert d["samples_learned"] == 40 and d["compiles"] == 1
    assert [c["samples"] for c in d["curve"]] == [0, 20, 40]
    assert d["weight_change_l1"] > 0
    assert "host_rule" in d and 0 <= d["final_accuracy"] <= 1
    assert json.loads((tmp_path / "learn.json").read_text())["curve"] == d["curve"]
    assert (tmp_path / "learn.png").read_bytes()[:4] == b"\x89PNG"


def test_hebbian_train_and_analyze_cli(tmp_path):
    m = tmp_path / "h.h5"
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "train", "--algo", "hebbian",
                           "--epochs", "2", "--gain", "0.5", "--trace-tau", "0.9",
                           "--lr-decay-to", "0.1", "--weight-decay", "1e-5", "--out", str(m),
                           "--json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = json.loads(proc.stdout)
    assert d["algo"] == "hebbian" and d["test_accuracy"] > 0.3  # digits, two online epochs
    c = d["config"]
    assert (c["gain"], c["trace_tau"], c["lr_decay_to"], c["weight_decay"]) == (0.5, 0.9, 0.1,
                                                                                1e-5)
    # the saved network (P_sym from spike counts) scores like the trainer (P_sym from traces)
    assert d["readout"] == "symmetric"
    assert abs(d["test_accuracy_deployed"] - d["test_accuracy"]) < 0.1, d
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "analyze", str(m),
                           "--samples", "200", "--json"], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    a = json.loads(proc.stdout)
    assert 0 <= a["layers"][0]["hoyer"] <= 1 and 0 <= a["layers"][0]["separability"] <= 1
    # the saved model (its split layer whole) starts an on-chip fine-tuning trial in Lava
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "learn", "--on", "lava",
                           "--from", str(m), "--samples", "20", "--every", "10",
                           "--eval-samples", "100", "--out", str(tmp_path / "ft"), "--json"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ft = json.loads(proc.stdout)
    assert ft["samples_learned"] == 20
    assert ft["rule"]["tau"] == 0.9  # the model's own trace (and coding), not the defaults
    assert ft["curve"][0]["samples"] == 0 and ft["curve"][0]["accuracy"] > 0.3  # not random
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "learn", "--from", str(m),
                           "--hidden", "100", "--samples", "20"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2 and "the model's layer has 200 neurons" in proc.stderr
