"""Integer (fixed_pt) arithmetic of the on-chip neo-Hebbian FF neuron, shared by the Lava
ProcessModel ``PyHebbianLIFFixed`` (:mod:`ff_neuro.training.onchip.procs.models`) and the host.

Units: integer weights are ``S`` (``weight_scale``) per float unit; output traces are 7-bit
(``Q = 127`` is 1.0, the width of Loihi's learning traces); the third factor leaves the neuron
as the 7-bit post traces ``y2``/``y3`` in units of ``2^e`` integer weight units (``e =
y_exp``), which the LearningDense adds to each weight of a spiking input (rule
``2^e u0 x1 y2 - 2^e u0 x1 y3`` with the pre trace ``x1 = 8``, see :func:`fixed_rule`)::

    LIF (Lava's LIF fixed_pt, du = 1):
        v = sat24(sign(v) (|v| (4096 - dv_q) >> 12) + wrap24(a << 6));  s = v > (vth_q << 6)
        v = 0 where s;  dv_q = round(4096 dv), vth_q = round(S vth)
    traces (tau_q = round(4096 tau), mu_q = round(Q mu)), saturating at Q:
        li       l = min(Q, (l tau_q >> 12) + mu_q s)
        relu     l = min(Q, l + mu_q s)
        hard_li  l = Q where s, else l tau_q >> 12
    third factor (symmetric probability, eq. 6 with G -> G_q, eps -> eps_q = round(Q^2 eps)):
        A = sum_{j < H/2} l_j^2 + eps_q,  B = sum_{j >= H/2} l_j^2 + eps_q,  D = A + B
        positive sample: num = B on the positive half, -A (cross term) on the negative, den = A D
        negative sample: num = A on the negative half, -B (cross term) on the positive, den = B D
        y_j = round_half_away(K l_j num_j / den),  K = round(eta Q S 2^-e)
        y2 = min(127, max(y, 0)),  y3 = min(127, max(-y, 0))

``K l num / den`` equals ``eta M_j l_j S 2^-e`` of the float rule evaluated on the dequantized
traces ``l / Q`` (``M`` scales as ``1/G``), so the only losses are the 7-bit trace, the rounding
of ``y`` (small updates become 0) and its saturation at 127 (large ones are clipped).

The trace and third-factor equations are written once, as compiled (numba) kernels
(:func:`neuron_tail`): the Lava ProcessModel, the host models of
:mod:`ff_neuro.training.onchip.learning` and the emulator (:mod:`ff_neuro.training.onchip.
emulator`) all run them; :func:`trace_step` and :func:`third_factor` are their numpy-facing
wrappers.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numba import njit

from ... import numba_setup  # noqa: F401  (fork-safe threading layer)

#: 7-bit trace unit (1.0)
Q = 127
#: width of the y traces (Loihi learning traces: 7 bits)
Y_MAX = 127
#: the pre trace impulse: ``(x1 y) >> 3`` is exactly ``y`` in Lava's fixed-point applier
X1_IMPULSE = 8
#: ``rng_seed`` of the fixed_pt learning rule: Lava's bit-approximate LearningDense seeds its
#: trace generators with it (x: ``seed``, ``seed + 1``; y: ``seed + 2``, ``seed + 3``) and its
#: stochastic weight rounding with 2 (``ConnVarRandom``'s default); without a seed Lava draws
#: one at random and two runs differ. The emulator draws the same streams.
LAVA_RNG_SEED = 0
#: codes of the output traces in the compiled kernels
TRACE_CODES = {"li": 0, "relu": 1, "hard_li": 2}
#: entries of the fixed_pt HebbianLIF statistics (:func:`new_stats`, :func:`neuron_tail`)
FIXED_STATS = ("learning_steps", "terms", "rounded_to_zero", "y_saturated", "sum_abs_y_exact",
               "sum_abs_y_error", "trace_saturated", "max_abs_y_exact")
#: what a HebbianLIF records per step on request: spikes, membrane, trace, third factor sent
RECORDED = ("s", "v", "l", "y")


@dataclass
class FixedHebbianParams:
    """Integer constants of the fixed_pt HebbianLIF (see the module docstring)."""

    dv_q: int
    vth_q: int
    trace: str
    tau_q: int
    mu_q: int
    eps_q: int
    cross_term: bool
    k: int
    k_exact: float
    y_exp: int

    def __post_init__(self) -> None:
        if not 0 <= self.dv_q <= 4096:
            raise ValueError(f"dv_q must lie in [0, 4096], got {self.dv_q}")
        if self.vth_q < 1:
            raise ValueError(f"vth_q must be >= 1 (threshold x weight_scale), got {self.vth_q}")
        if self.trace not in ("li", "relu", "hard_li"):
            raise ValueError(f"unknown trace {self.trace!r}")
        if not -7 <= self.y_exp <= 0:
            raise ValueError(f"y_exp must lie in [-7, 0] (Lava's rule scale 2^e), got "
                             f"{self.y_exp}")
        if self.k < 1:
            raise ValueError(f"K = eta Q S 2^-e rounds to {self.k}: raise eta, weight_scale or "
                             f"lower y_exp")

    @classmethod
    def from_rule(cls, p: dict) -> "FixedHebbianParams":
        """From HebbianLIF's parameters (``dv vth trace tau mu eps cross_term eta
        weight_scale y_exp probability``)."""
        if p.get("probability", "symmetric") != "symmetric":
            raise ValueError("the fixed_pt HebbianLIF implements the symmetric probability "
                             "(P_sym) only")
        s = float(p["weight_scale"])
        e = int(p["y_exp"])
        k_exact = float(p["eta"]) * Q * s * 2.0 ** (-e)
        return cls(dv_q=int(round(4096 * float(p["dv"]))), vth_q=int(round(s * float(p["vth"]))),
                   trace=str(p["trace"]), tau_q=int(round(4096 * float(p["tau"]))),
                   mu_q=int(round(Q * float(p["mu"]))), eps_q=int(round(Q * Q * float(p["eps"]))),
                   cross_term=bool(p["cross_term"]), k=int(round(k_exact)), k_exact=k_exact,
                   y_exp=e)

    def to_dict(self) -> dict:
        return asdict(self)

    def kernel_args(self) -> tuple:
        """``(trace code, tau_q, mu_q, k, k_exact, eps_q, cross_term)`` for
        :func:`neuron_tail`."""
        return (TRACE_CODES[self.trace], self.tau_q, self.mu_q, self.k, self.k_exact,
                self.eps_q, self.cross_term)


def fixed_rule(y_exp: int):
    """Lava's 3-factor rule for the fixed_pt neuron: ``dw = 2^e u0 x1 y2 - 2^e u0 x1 y3`` with
    ``x1 = 8`` on the step of an input spike (forgotten at once), seeded with
    :data:`LAVA_RNG_SEED` (a run is reproducible)."""
    from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
    return Loihi3FLearningRule(dw=f"2^{int(y_exp)} * u0 * x1 * y2 - 2^{int(y_exp)} * u0 * x1 * y3",
                               x1_impulse=float(X1_IMPULSE), x1_tau=1e-3, t_epoch=1,
                               rng_seed=LAVA_RNG_SEED)


def lif_step(v: np.ndarray, a: np.ndarray, p: FixedHebbianParams) -> np.ndarray:
    """Advance the membrane ``v`` (int64, in place) by the integer input ``a``; returns spikes.
    Loihi's integer LIF with ``du = 1`` and no bias (:func:`ff_neuro.run.lif.loihi_lif_step`,
    whose current ``u`` is then just ``wrap24(a << 6)``)."""
    from ...run.lif import loihi_lif_step
    u = np.zeros_like(v)
    return loihi_lif_step(u, v, a, vth=p.vth_q, v_decay=p.dv_q)


def trace_step(l: np.ndarray, s: np.ndarray, p: FixedHebbianParams) -> int:
    """Advance the 7-bit trace ``l`` (int64, in place); returns how many values saturated."""
    return int(_trace_kernel(l, np.asarray(s, dtype=np.bool_), TRACE_CODES[p.trace], p.tau_q,
                             p.mu_q))


def third_factor(l: np.ndarray, positive: bool, p: FixedHebbianParams):
    """``(y, y_exact)``: the rounded signed third factor times trace, ``K l num / den``
    (int64, not yet clipped to 7 bits), and the same with the exact ``K`` in float64."""
    l = np.ascontiguousarray(l, dtype=np.int64)
    y = np.empty(l.shape[0], np.int64)
    y_exact = np.empty(l.shape[0], np.float64)
    _third_factor_kernel(l, bool(positive), p.k, p.k_exact, p.eps_q, p.cross_term, y, y_exact)
    return y, y_exact


def y_traces(y: np.ndarray):
    """``(y2, y3)``: the positive and negative parts of ``y`` saturated to 7 bits."""
    return np.minimum(np.maximum(y, 0), Y_MAX), np.minimum(np.maximum(-y, 0), Y_MAX)


def new_stats() -> np.ndarray:
    """Zeroed neuron statistics (float64, the entries of :data:`FIXED_STATS` in that
    order)."""
    return np.zeros(len(FIXED_STATS))


# -- compiled kernels: the one implementation of the trace and third-factor equations, used by
# -- the Lava ProcessModel (through the functions above and neuron_tail) and by the emulator
@njit(cache=True)
def _trace_kernel(l, s, kind, tau_q, mu_q):
    n_sat = 0
    for j in range(l.shape[0]):
        if kind == 2:                                  # hard_li
            l[j] = Q if s[j] else (l[j] * tau_q) >> 12
        else:
            x = (l[j] * tau_q) >> 12 if kind == 0 else l[j]
            if s[j]:
                x += mu_q
            if x > Q:
                n_sat += 1
                x = Q
            l[j] = x
    return n_sat


@njit(cache=True)
def _third_factor_kernel(l, positive, k, k_exact, eps_q, cross, y, y_exact):
    n = l.shape[0]
    h = n // 2
    a = np.int64(0)
    b = np.int64(0)
    for j in range(h):
        a += l[j] * l[j]
    for j in range(h, n):
        b += l[j] * l[j]
    a += eps_q
    b += eps_q
    d = a + b
    if positive:
        num_lo, num_hi, den = b, (-a if cross else np.int64(0)), a * d
    else:
        num_lo, num_hi, den = (-b if cross else np.int64(0)), a, b * d
    den_f = float(den)
    for j in range(n):
        num = num_lo if j < h else num_hi
        nn = k * l[j] * num
        m = (2 * abs(nn) + den) // (2 * den)
        y[j] = m if nn > 0 else (-m if nn < 0 else 0)
        y_exact[j] = k_exact * float(l[j]) * float(num) / den_f


@njit(cache=True)
def neuron_tail(l, s, polarity, kind, tau_q, mu_q, k, k_exact, eps_q, cross, y, y_exact,
                y2, y3, st):
    """The HebbianLIF after its LIF step, in place: the trace ``l`` (int64) from the spikes
    ``s``; with ``polarity != 0`` the third factor ``y`` / ``y_exact`` and the 7-bit ``y2`` /
    ``y3`` (else zeros); the statistics ``st`` (:func:`new_stats`) accumulated."""
    st[6] += _trace_kernel(l, s, kind, tau_q, mu_q)
    n = l.shape[0]
    if polarity == 0:
        for j in range(n):
            y2[j] = 0
            y3[j] = 0
        return
    _third_factor_kernel(l, polarity > 0, k, k_exact, eps_q, cross, y, y_exact)
    st[0] += 1
    for j in range(n):
        yj = y[j]
        ye = y_exact[j]
        y2[j] = min(max(yj, 0), Y_MAX)
        y3[j] = min(max(-yj, 0), Y_MAX)
        sent = y2[j] - y3[j]
        if ye != 0.0:
            st[1] += 1
            if sent == 0:
                st[2] += 1
        if abs(yj) > Y_MAX:
            st[3] += 1
        st[4] += abs(ye)
        st[5] += abs(ye - sent)
        st[7] = max(st[7], abs(ye))
