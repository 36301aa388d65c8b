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
    p = np.asarray(x, dtype=np.int64) * (DECAY_UNITY - np.asarray(d, dtype=np.int64))
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


def loihi_lif_step(u: np.ndarray, v: np.ndarray, a: np.ndarray, *, vth, v_decay,
                   i_decay=DECAY_UNITY, bias=None, reset: str = "zero",
                   reset_delay: bool = False, bias_in: str = "membrane") -> np.ndarray:
    """One step of Loihi's integer LIF (:class:`~ff_neuro.model.neuron.LoihiLIF`), updating
    ``u`` and ``v`` (int64) in place; returns the spikes (bool)::

        u = wrap24(decay(u, i_decay) + ((a [+ bias]) << 6))        # bias_in == "current"
        p = decay(v, v_decay) + u [+ (bias << 6)]                  # bias_in == "membrane"
        r = v > TH;  TH = vth << 6                                 # v: the previous step's
        zero, at once:      v = sat24(p);            s = v > TH;  v = 0 where s
        zero, delayed:      v = sat24(p) * (1 - r);  s = v > TH
        subtract, delayed:  v = sat24(p - TH r);     s = v > TH
        subtract, at once:  v = sat24(p - TH r);     s = v > TH;  v -= TH (s - r)

    ``a``: the integer synaptic activation of the step (weight exponents applied, the recurrent
    synapse's sum included); ``bias``: the bias mantissa per neuron (broadcastable to ``v``) or
    None; ``vth``, ``v_decay``, ``i_decay``: numbers or per-neuron arrays.
    """
    a = np.asarray(a, dtype=np.int64)
    b = 0 if bias is None else np.asarray(bias, dtype=np.int64)
    if bias_in == "current":
        a, bv = a + b, 0
    else:
        bv = b << BIAS_EXP
    th = np.asarray(vth, dtype=np.int64) << VTH_SHIFT
    r = v > th
    u[...] = wrap24(decay(u, i_decay) + (a << ACT_SHIFT))
    p = decay(v, v_decay) + u + bv
    if reset == "zero":
        v[...] = sat24(p) * ~r if reset_delay else sat24(p)
        s = v > th
        if not reset_delay:
            v[...] = np.where(s, 0, v)
    else:
        v[...] = sat24(p - th * r)
        s = v > th
        if not reset_delay:
            v[...] = v - th * (s.astype(np.int64) - r)
    return s


def neuron_kwargs(neuron, shape: tuple) -> dict:
    """The keyword arguments of :func:`loihi_lif_step` for a
    :class:`~ff_neuro.model.neuron.LoihiLIF` of a layer with output ``shape`` (per-neuron
    parameters broadcast to it)."""
    return {"vth": neuron.param("vth", shape), "v_decay": neuron.param("v_decay", shape),
            "i_decay": neuron.param("i_decay", shape), "reset": neuron.reset,
            "reset_delay": neuron.reset_delay, "bias_in": neuron.bias_in}


def run_loihi_lif(a: np.ndarray, *, vth, v_decay, i_decay=DECAY_UNITY, bias=None,
                  recurrent=None, **mode) -> np.ndarray:
    """Run :func:`loihi_lif_step` over activations ``a`` (T, ...) from zero state: spikes
    (T, ...) uint8. ``recurrent``: ``(W_rec, weight_exp)``, integer weights from the layer's
    spikes of the previous step to its neurons (dense layers: ``a`` is (T, B, n)); ``mode``:
    ``reset``, ``reset_delay``, ``bias_in``."""
    a = np.asarray(a, dtype=np.int64)
    u = np.zeros(a.shape[1:], np.int64)
    v = np.zeros(a.shape[1:], np.int64)
    out = np.empty(a.shape, np.uint8)
    for t in range(a.shape[0]):
        at = a[t]
        if recurrent is not None and t > 0:
            w_rec, w_exp = recurrent
            at = at + shift_activation(out[t - 1].astype(np.int64) @ w_rec.T.astype(np.int64),
                                       w_exp)
        out[t] = loihi_lif_step(u, v, at, vth=vth, v_decay=v_decay, i_decay=i_decay,
                                bias=bias, **mode)
    return out


def float_lif_step(v, cur, keep, threshold, *, rec=None, i=None, i_keep=None, bias_v=None,
                   reset: str = "zero", reset_delay: bool = False):
    """One step of the float LIF (:class:`~ff_neuro.model.neuron.LIF`; numpy or torch float64,
    ``v`` and ``i`` updated in place), in the order snnTorch computes it::

        no current memory (i is None):  p = keep * v + cur [+ rec]
        current memory:                 i = i_keep * i + cur [+ rec];  p = keep * v + i [+ bias_v]
        r = v > threshold  (previous v), then the reset of :class:`LIF`

    ``cur``: the feed-forward activation plus the bias (unless the bias is in the membrane of a
    neuron with current memory: ``bias_v``); ``rec``: the recurrent synapse's output for the
    previous step's spikes (with its own bias). ``keep = 1 - v_decay``, ``i_keep = 1 -
    i_decay``. Returns the spikes (bool)."""
    r = None if (reset == "zero" and not reset_delay) else v > threshold
    if i is None:
        p = keep * v + cur
        if rec is not None:
            p = p + rec
    else:
        i *= i_keep
        i += cur
        if rec is not None:
            i += rec
        p = keep * v + i
        if bias_v is not None:
            p = p + bias_v
    if reset == "zero":
        if reset_delay:
            p = p - r * p
        v[...] = p
        s = v > threshold
        if not reset_delay:
            v[s] = 0.0
        return s
    p = p - r * threshold
    s = p > threshold
    v[...] = p if reset_delay else p - (s * 1.0 - r * 1.0) * threshold
    return s
