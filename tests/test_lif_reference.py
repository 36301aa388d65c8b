"""The reference integer LIF step (``ff_neuro.run.lif``) against Lava's own model and every
other implementation: the numba kernels, the emulator's conv path, the on-chip Hebbian
neuron's integer rule and its Lava process model."""
from __future__ import annotations

import numpy as np
import pytest

from ff_neuro.run import fixed_kernels as fk
from ff_neuro.run.lif import UV_MAX, loihi_lif_step, run_loihi_lif, shift_activation

CASES = [  # (v_decay, i_decay, vth, bias, amplitude of a): wraps, saturation, decays, signs
    (0, 4096, 100, False, 300),
    (410, 4096, 900, True, 2000),
    (3000, 1024, 300, True, 60_000),
    (4096, 0, 100_000, False, 120_000),          # u accumulates and wraps
    (100, 2048, 131_071, True, 131_000),         # v saturates at 2**23 - 1
    (2048, 3, 50, True, 700),
]


def _activations(seed, T, n, amp):
    rng = np.random.default_rng(seed)
    a = rng.integers(-amp, amp + 1, (T, n))
    a[:, : n // 4] = amp                          # a steady drive on a quarter of the neurons
    return a.astype(np.int64)


@pytest.mark.lava
@pytest.mark.parametrize("case", CASES)
def test_reference_step_equals_lava_lif_model(case):
    """loihi_lif_step is Lava's own AbstractPyLifModelFixed.subthr_dynamics + reset, step for
    step (Lava's method run on a stand-in object holding the same state)."""
    from lava.proc.lif.models import AbstractPyLifModelFixed
    v_decay, i_decay, vth, bias, amp = case
    n = 64
    a = _activations(len(str(case)), 40, n, amp)
    b = np.random.default_rng(1).integers(-4096, 4096, n) if bias else None

    class Lif:                      # Lava's state and constants, without a Lava process
        ds_offset, dm_offset, decay_unity, decay_shift = 1, 0, 4096, 12
        act_shift, max_uv_val = 6, 2**23
        subthr_dynamics = AbstractPyLifModelFixed.subthr_dynamics

    lava = Lif()
    lava.u = np.zeros(n, np.int32)
    lava.v = np.zeros(n, np.int32)
    lava.du, lava.dv = i_decay - 1, v_decay
    lava.effective_bias = 0 if b is None else b.astype(np.int32) << 6
    u, v = np.zeros(n, np.int64), np.zeros(n, np.int64)
    wrapped = saturated = 0
    for t in range(a.shape[0]):
        lava.subthr_dynamics(activation_in=a[t].astype(np.int32))
        s_lava = lava.v > (vth << 6)
        lava.v[s_lava] = 0
        s = loihi_lif_step(u, v, a[t], vth=vth, v_decay=v_decay, i_decay=i_decay, bias=b)
        np.testing.assert_array_equal(s, s_lava)
        np.testing.assert_array_equal(u, lava.u)
        np.testing.assert_array_equal(v, lava.v)
        saturated += int(np.sum(np.abs(v) == UV_MAX - 1))
        wrapped += int(np.sum(np.sign(u) != np.sign(a[t])) if i_decay == 0 else 0)
    if i_decay == 0:
        assert wrapped > 0               # the edge case was reached, not just the easy path
    if vth == 131_071:
        assert saturated > 0


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("w_exp", [0, -3, 2])
def test_numba_neuron_equals_reference(case, w_exp):
    """The emulator's compiled neuron step (``_lif_vec``, vectorised with arithmetic selects)
    equals the reference, weight exponent included."""
    v_decay, i_decay, vth, bias, amp = case
    n = 37
    acc = _activations(len(str(case)) + w_exp, 30, n, amp // 8).astype(np.int32)
    b = np.random.default_rng(2).integers(-4096, 4096, n) if bias else None
    ref = run_loihi_lif(shift_activation(acc, w_exp), vth=vth, v_decay=v_decay,
                        i_decay=i_decay, bias=b)
    u, v = np.zeros(n, np.int64), np.zeros(n, np.int64)
    bias6 = np.zeros(n, np.int64) if b is None else b.astype(np.int64) << 6
    out = np.empty((acc.shape[0], n), np.uint8)
    for t in range(acc.shape[0]):
        fk._lif_vec(acc[t], w_exp, u, v, 4096 - i_decay, 4096 - v_decay, bias6, vth << 6,
                    out[t])
    assert ref.any() or np.abs(v).max() > 2**20     # spikes, or a large membrane
    np.testing.assert_array_equal(out, ref)
    # and the fused first-layer kernel (two shared parts of the synaptic sums)
    half = acc // 2
    out2 = np.empty((acc.shape[0], 1, n), np.uint8)
    fk.lif_from_currents(half[:, None], np.zeros(1, np.int64), (acc - half)[:, None],
                         np.zeros(1, np.int64), w_exp, 4096 - i_decay, 4096 - v_decay, bias6,
                         vth << 6, out2)
    np.testing.assert_array_equal(out2[:, 0], ref)


def test_emulator_conv_path_equals_reference_at_the_edges():
    """The emulator's vectorised torch conv neuron equals the reference engine with weights
    large enough to saturate v and (with current memory) wrap u."""
    from ff_neuro.model import Conv2d, Layer
    from ff_neuro.run.emulator import conv_fixed_layer, run_fixed_layer
    rng = np.random.default_rng(5)
    x = rng.integers(0, 16, (12, 3, 2, 6, 6)).astype(np.uint8)     # graded messages
    for i_decay, v_decay in ((4096, 0), (0, 4096), (1500, 700)):
        q = Layer.loihi(Conv2d(weight=rng.integers(-256, 255, (4, 2, 3, 3)), in_shape=(2, 6, 6),
                               padding=1, bias=rng.integers(-4096, 4096, 4)),
                        vth=2000, v_decay=v_decay, i_decay=i_decay)
        fast, ref = conv_fixed_layer(q, x), run_fixed_layer(q, x)
        assert ref.any() and not ref.all()
        np.testing.assert_array_equal(fast, ref)


def test_onchip_hebbian_neuron_is_the_reference_step():
    """The on-chip Hebbian rule's integer LIF (host reference and Lava process model) is the
    reference step with du = 1 and no bias."""
    from ff_neuro.training.onchip.fixed import FixedHebbianParams, lif_step
    p = FixedHebbianParams(dv_q=614, vth_q=90, trace="li", tau_q=3482, mu_q=19, eps_q=161,
                           cross_term=True, k=10, k_exact=10.0, y_exp=-6)
    a = _activations(3, 25, 40, 200_000)          # big enough to wrap u = a << 6
    ref = run_loihi_lif(a, vth=90, v_decay=614)
    v = np.zeros(40, np.int64)
    got = np.stack([lif_step(v, a[t], p) for t in range(a.shape[0])]).astype(np.uint8)
    np.testing.assert_array_equal(got, ref)
