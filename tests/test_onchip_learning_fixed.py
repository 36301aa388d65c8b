"""fixed_pt on-chip Hebbian FF learning: the integer neuron equals the float rule on dequantized
traces up to its rounding, its LIF equals the project's bit-exact Loihi emulator, Lava fixed_pt
equals the exact-update numpy model where no stochastic rounding applies, the deviation report
counts what it claims, and a fixed_pt trial on digits learns (real Lava runs)."""
import json
import subprocess
import sys
from dataclasses import asdict

import numpy as np
import pytest

from ff_neuro.model import Dense, Layer
from ff_neuro.training.onchip import fixed as hf
from ff_neuro.run.emulator import run_fixed_layer
from ff_neuro.training.onchip.learning import (OnChipRule, fixed_deviation, quantize_start,
                                               reference_learning, reference_learning_fixed,
                                               run_lava_learning)
from ff_neuro.training.hebbian import modulator


#: every test here runs Lava (deselected in the Lava-free tier)
pytestmark = pytest.mark.lava

def _params(**kw):
    p = dict(dv=0.15, vth=2.0, trace="li", tau=0.85, mu=0.15, probability="symmetric",
             theta=2.0, alpha=6.0, eps=161 / 127**2, cross_term=True, eta=0.5,
             weight_scale=32.0, y_exp=-6)
    p.update(kw)
    return p


@pytest.mark.parametrize("positive", [True, False])
@pytest.mark.parametrize("cross", [True, False])
def test_third_factor_is_float_rule_on_dequantized_traces(positive, cross):
    q = hf.FixedHebbianParams.from_rule(_params(cross_term=cross))
    assert q.k == q.k_exact == 0.5 * 127 * 32 * 64  # K = eta Q S 2^-e, an integer here
    rng = np.random.default_rng(3)
    for _ in range(20):
        l_q = rng.integers(0, 128, 40) * (rng.random(40) < 0.6)
        y, y_exact = hf.third_factor(l_q, positive, q)
        lf = l_q / 127.0
        m = modulator(lf[None], np.array([1.0 if positive else 0.0]), "symmetric",
                      eps=161 / 127**2, cross_term=cross)[0]
        expect = 0.5 * m * lf * 32 * 64  # eta M l in units of 2^-6 integer weight units
        np.testing.assert_allclose(y_exact, expect, rtol=1e-9, atol=1e-9)
        assert np.all(np.abs(y - y_exact) <= 0.5 + 1e-9)  # rounded to the nearest integer
        y2, y3 = hf.y_traces(y)
        np.testing.assert_array_equal(y2 - y3, np.clip(y, -127, 127))
        assert y2.min() >= 0 and y3.min() >= 0


def test_integer_lif_equals_loihi_emulator():
    rng = np.random.default_rng(5)
    T, n_in, n_out = 30, 20, 12
    w = 2 * rng.integers(-40, 41, (n_out, n_in))
    x = (rng.random((T, 1, n_in)) < 0.3).astype(np.uint8)
    q = hf.FixedHebbianParams.from_rule(_params(dv=614 / 4096, vth=90 / 32.0))
    assert q.dv_q == 614 and q.vth_q == 90
    want = run_fixed_layer(Layer.loihi(Dense(weight=w), vth=90, v_decay=614), x)[:, 0]
    v = np.zeros(n_out, dtype=np.int64)
    got = np.array([hf.lif_step(v, w @ x[t, 0], q) for t in range(T)])
    assert want.sum() > 10, "no spikes: the comparison would prove nothing"
    np.testing.assert_array_equal(got, want.astype(bool))


@pytest.mark.parametrize("trace", ["li", "relu", "hard_li"])
def test_integer_traces(trace):
    q = hf.FixedHebbianParams.from_rule(_params(trace=trace, mu=0.15 if trace != "relu"
                                                else 1 / 23))
    l = np.zeros(3, dtype=np.int64)
    s = np.array([True, False, True])
    hf.trace_step(l, s, q)
    first = {"li": 19, "relu": 6, "hard_li": 127}[trace]
    np.testing.assert_array_equal(l, [first, 0, first])
    hf.trace_step(l, np.array([False, False, True]), q)
    decayed = {"li": first * 3482 >> 12, "relu": first, "hard_li": 127 * 3482 >> 12}[trace]
    assert l[0] == decayed and l[1] == 0
    l[:] = 127
    n_sat = hf.trace_step(l, np.ones(3, bool), q)
    # LI's fixed point (127 * 3482 >> 12) + 19 = 126 fits 7 bits; ReLU saturates at 127
    want = {"li": (126, 0), "relu": (127, 3), "hard_li": (127, 0)}[trace]
    assert (int(l.max()), n_sat) == want


def test_deviation_report_counts_its_sources():
    rng = np.random.default_rng(7)
    N, T, n_in, n_out = 8, 12, 16, 10
    w_f = rng.normal(0, 1.0, (n_out, n_in))
    w0, scale, vth_q = quantize_start(w_f, 2.0)
    assert np.all(w0 % 2 == 0) and abs(np.abs(w0).max() - 128) <= 2 and vth_q / scale == 2.0
    x = (rng.random((N, T, n_in)) < 0.4).astype(np.uint8)
    pol = np.zeros((N, T))
    pol[:, 6:] = np.where(np.arange(N) % 2 == 0, 1.0, -1.0)[:, None]
    rule = OnChipRule(dv=614 / 4096, vth=2.0, eta=0.01)  # 10 neurons: small G, large M
    # tiny eta: most third factors round to zero; large eta: they saturate at 127
    _, _, small = reference_learning_fixed(w0, x, pol, OnChipRule(**{**asdict(rule),
                                                                     "eta": 1e-5}), scale, -6)
    _, _, big = reference_learning_fixed(w0, x, pol, OnChipRule(**{**asdict(rule),
                                                                   "eta": 0.5}), scale, -6)
    assert small["terms"] > 0 and small["rounded_to_zero"] > 0.5 * small["terms"]
    assert small["y_saturated"] == 0 and big["y_saturated"] > 0.3 * big["terms"]
    assert big["rounded_to_zero"] < small["rounded_to_zero"]
    w_ex, _, st = reference_learning_fixed(w0, x, pol, rule, scale, -6)
    w_ref, _ = reference_learning(w0 / scale, x, pol, rule)
    dev = fixed_deviation(w0, np.round(w_ex), w_ref, scale, st, w_ex)
    tf = dev["third_factor"]
    assert tf["terms"] == st["terms"] and tf["learning_steps"] == N * (T - 6)
    assert tf["rounded_to_zero_fraction"] == st["rounded_to_zero"] / st["terms"]
    assert 0 < tf["rel_error"] < 0.2
    assert dev["split"]["learning_engine_vs_exact_updates"]["update_rel_error"] < 0.5
    # the integer neuron follows the float rule (same spikes in, rounding only)
    assert dev["split"]["integer_neuron_vs_float_rule"]["update_cosine"] > 0.8
    # saturated weights are counted
    w_sat = np.round(w_ex).astype(int)
    w_sat[0, :3] = [255, -256, 255]
    assert fixed_deviation(w0, w_sat, w_ref, scale, st)["weights_saturated"] >= 3
    same = fixed_deviation(w0, w0, w0 / scale, scale, st)
    assert same["weight_rel_error"] == 0 and same["update_rel_error"] is None


def test_lava_fixed_equals_exact_update_model():
    """y_exp = 0: every weight update is an integer, so Lava's stochastic rounding is idle and
    the bit-approximate LearningDense must give the exact-update model's weights. (Its
    stochastic one-step decay of the y traces could lower a y by 1 with probability ~y/65535
    per step; it does not happen in this seeded run, so equality is exact.)"""
    rng = np.random.default_rng(0)
    N, T, n_in, n_out = 6, 10, 12, 8
    w0 = 2 * rng.integers(-30, 31, (n_out, n_in))
    x = (rng.random((N, T, n_in)) < 0.4).astype(np.uint8)
    pol = np.zeros((N, T))
    pol[:, 5:] = np.where(np.arange(N) % 2 == 0, 1.0, -1.0)[:, None]
    rule = OnChipRule(dv=614 / 4096, vth=40 / 16.0, eta=0.5)
    w_ref, snaps_ref, st = reference_learning_fixed(w0, x, pol, rule, 16.0, 0, snapshot_every=3)
    w_lava, snaps, stats = run_lava_learning(w0, x, pol, rule, snapshot_every=3,
                                             mode="fixed_pt", weight_scale=16.0, y_exp=0,
                                             timeout_s=180)
    assert np.abs(w_ref - w0).sum() > 300, "nothing learned: the test would prove nothing"
    assert st["rounded_to_zero"] > 0 and st["sum_abs_y_error"] > 0  # rounding is exercised
    assert np.array_equal(w_lava, np.round(w_lava))  # integer weights
    np.testing.assert_array_equal(w_lava, w_ref)
    assert len(snaps) == len(snaps_ref) == 2
    for a, b in zip(snaps, snaps_ref):
        np.testing.assert_array_equal(a, b)
    assert stats["compiles"] == 1
    assert stats["neuron"] == pytest.approx(st, rel=1e-12)  # the neuron's own statistics


def test_fixed_pt_trial_learns_on_digits(tmp_path):
    """``ff-neuro learn --mode fixed_pt``: learns held-out digits well above chance (0.1) and
    reports the deviation from the float rule."""
    out = tmp_path / "learn"
    proc = subprocess.run(
        [sys.executable, "-m", "ff_neuro.cli", "learn", "--mode", "fixed_pt", "--samples", "500",
         "--every", "100", "--eval-samples", "300", "--hidden", "100", "--eta", "2.0",
         "--y-exp", "-3", "--out", str(out), "--json"],
        capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    d = json.loads(proc.stdout)
    assert d["mode"] == "fixed_pt" and d["samples_learned"] == 500 and d["compiles"] == 1
    assert d["curve"][0]["accuracy"] < 0.2
    assert d["final_accuracy"] >= 0.25, d["curve"]
    fx = d["fixed_point"]
    dev = fx["deviation"]
    assert fx["y_exp"] == -3 and fx["vth_q"] >= 1
    assert dev["update_cosine"] > 0.5 and 0 <= dev["weights_saturated"] <= dev["weights"]
    tf = dev["third_factor"]
    assert tf["terms"] > 0 and 0 <= tf["rounded_to_zero_fraction"] < 1
    assert 0 <= tf["y_saturated_fraction"] < 1 and tf["rel_error"] is not None
    assert 0 <= fx["float_reference"]["accuracy"] <= 1
    assert (tmp_path / "learn.png").read_bytes()[:4] == b"\x89PNG"
