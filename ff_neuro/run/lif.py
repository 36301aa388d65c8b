"""The neuron steps, written once: the reference every implementation is tested against.

:func:`loihi_lif_step` is Loihi's integer LIF of :class:`~ff_neuro.model.neuron.LoihiLIF`
(Lava's ``AbstractPyLifModelFixed.subthr_dynamics`` + ``PyLifResetModelBitAcc``), in numpy
int64, readable and slow. The emulator's fast engine (the numba kernels of
:mod:`ff_neuro.run.fixed_kernels`), the integer neuron of on-chip Hebbian learning and the
emulator's conv layers are tested against it (``tests/test_lif_reference.py``), and the parity
tests compare the emulator with Lava itself.

:func:`float_lif_step` is the float :class:`~ff_neuro.model.neuron.LIF` (float64), as the
float backend and Lava's ``floating_pt`` models compute it.
"""
from __future__ import annotations

import numpy as np

from ..model.neuron import DECAY_UNITY

#: 24-bit state: |u|, |v| < 2**23
UV_MAX = 2**23
DECAY_SHIFT = 12
#: activation and threshold are MSB-aligned by 6 bits
ACT_SHIFT = 6
VTH_SHIFT = 6
#: NetX loads a bias as ``bias_mant`` with ``bias_exp = 6``
BIAS_EXP = 6


def decay(x: np.ndarray, d: int) -> np.ndarray:
    """``sign(p) * (|p| >> 12)`` with ``p = x * (4096 - d)``: Lava's 12-bit decay, truncating
    toward zero (not a floor)."""
    p = np.asarray(x, dtype=np.int64) * (DECAY_UNITY - int(d))
    return np.sign(p) * (np.abs(p) >> DECAY_SHIFT)


def wrap24(x: np.ndarray) -> np.ndarray:
    """Lava's current wrap: ``x - 2**24`` where ``x > 2**23``; then, where that is
    ``<= -2**23``, ``x + 2**24`` (both from the unwrapped ``x``)."""
    w = np.where(x > UV_MAX, x - 2 * UV_MAX, x)
    return np.where(w <= -UV_MAX, x + 2 * UV_MAX, w)


def sat24(x: np.ndarray) -> np.ndarray:
    """Lava's voltage saturation to ``[-(2**23 - 1), 2**23 - 1]``."""
    return np.clip(x, -UV_MAX + 1, UV_MAX - 1)


def shift_activation(acc: np.ndarray, weight_exp: int) -> np.ndarray:
    """Lava Dense's ``weight_exp``: the integer synaptic sum shifted left (``weight_exp > 0``)
    or right (arithmetic, a floor) before it reaches the neuron."""
    acc = np.asarray(acc, dtype=np.int64)
    return acc << weight_exp if weight_exp >= 0 else acc >> (-weight_exp)


def loihi_lif_step(u: np.ndarray, v: np.ndarray, a: np.ndarray, *, vth: int, v_decay: int,
                   i_decay: int = DECAY_UNITY, bias=None) -> np.ndarray:
    """One step of Loihi's integer LIF, updating ``u`` and ``v`` (int64) in place; returns the
    spikes (bool)::

        u = wrap24(decay(u, i_decay) + (a << 6))
        v = sat24(decay(v, v_decay) + u + (bias << 6))
        s = v > (vth << 6);  v = 0 where s

    ``a``: the integer synaptic activation of the step (weight exponent already applied);
    ``bias``: the bias mantissa per neuron (broadcastable to ``v``) or None.
    """
    a = np.asarray(a, dtype=np.int64)
    u[...] = wrap24(decay(u, i_decay) + (a << ACT_SHIFT))
    b = 0 if bias is None else np.asarray(bias, dtype=np.int64) << BIAS_EXP
    v[...] = sat24(decay(v, v_decay) + u + b)
    s = v > (int(vth) << VTH_SHIFT)
    v[s] = 0
    return s


def run_loihi_lif(a: np.ndarray, *, vth: int, v_decay: int, i_decay: int = DECAY_UNITY,
                  bias=None) -> np.ndarray:
    """Run :func:`loihi_lif_step` over activations ``a`` (T, ...) from zero state: spikes
    (T, ...) uint8."""
    a = np.asarray(a, dtype=np.int64)
    u = np.zeros(a.shape[1:], np.int64)
    v = np.zeros(a.shape[1:], np.int64)
    out = np.empty(a.shape, np.uint8)
    for t in range(a.shape[0]):
        out[t] = loihi_lif_step(u, v, a[t], vth=vth, v_decay=v_decay, i_decay=i_decay,
                                bias=bias)
    return out


def float_lif_step(v, cur, keep: float, threshold: float):
    """One step of the float LIF (numpy or torch float64, ``v`` updated in place)::

        v = keep * v + cur;  s = v > threshold;  v = 0 where s

    ``keep = 1 - v_decay``; ``cur`` holds the synaptic activation plus the bias. Returns the
    spikes (bool)."""
    v *= keep
    v += cur
    s = v > threshold
    v[s] = 0.0
    return s
