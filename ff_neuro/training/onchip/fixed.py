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
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

#: 7-bit trace unit (1.0)
Q = 127
#: width of the y traces (Loihi learning traces: 7 bits)
Y_MAX = 127
#: the pre trace impulse: ``(x1 y) >> 3`` is exactly ``y`` in Lava's fixed-point applier
X1_IMPULSE = 8


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


def fixed_rule(y_exp: int):
    """Lava's 3-factor rule for the fixed_pt neuron: ``dw = 2^e u0 x1 y2 - 2^e u0 x1 y3`` with
    ``x1 = 8`` on the step of an input spike (forgotten at once)."""
    from lava.magma.core.learning.learning_rule import Loihi3FLearningRule
    return Loihi3FLearningRule(dw=f"2^{int(y_exp)} * u0 * x1 * y2 - 2^{int(y_exp)} * u0 * x1 * y3",
                               x1_impulse=float(X1_IMPULSE), x1_tau=1e-3, t_epoch=1)


def lif_step(v: np.ndarray, a: np.ndarray, p: FixedHebbianParams) -> np.ndarray:
    """Advance the membrane ``v`` (int64, in place) by the integer input ``a``; returns spikes.
    Loihi's integer LIF with ``du = 1`` and no bias (:func:`ff_neuro.run.lif.loihi_lif_step`,
    whose current ``u`` is then just ``wrap24(a << 6)``)."""
    from ...run.lif import loihi_lif_step
    u = np.zeros_like(v)
    return loihi_lif_step(u, v, a, vth=p.vth_q, v_decay=p.dv_q)


def trace_step(l: np.ndarray, s: np.ndarray, p: FixedHebbianParams) -> int:
    """Advance the 7-bit trace ``l`` (int64, in place); returns how many values saturated."""
    if p.trace == "hard_li":
        l[:] = np.where(s, Q, (l * p.tau_q) >> 12)
        return 0
    new = ((l * p.tau_q) >> 12 if p.trace == "li" else l) + p.mu_q * s.astype(np.int64)
    sat = new > Q
    l[:] = np.minimum(new, Q)
    return int(sat.sum())


def third_factor(l: np.ndarray, positive: bool, p: FixedHebbianParams):
    """``(y, y_exact)``: the rounded signed third factor times trace, ``K l num / den``
    (int64, not yet clipped to 7 bits), and the same with the exact ``K`` in float64."""
    l = np.asarray(l, dtype=np.int64)
    h = l.shape[0] // 2
    sq = l * l
    a = int(sq[:h].sum()) + p.eps_q
    b = int(sq[h:].sum()) + p.eps_q
    d = a + b
    num = np.empty(l.shape[0], dtype=np.int64)
    if positive:
        num[:h], num[h:], den = b, (-a if p.cross_term else 0), a * d
    else:
        num[:h], num[h:], den = (-b if p.cross_term else 0), a, b * d
    n = p.k * l * num
    y = np.sign(n) * ((2 * np.abs(n) + den) // (2 * den))
    y_exact = p.k_exact * l.astype(np.float64) * num.astype(np.float64) / float(den)
    return y, y_exact


def y_traces(y: np.ndarray):
    """``(y2, y3)``: the positive and negative parts of ``y`` saturated to 7 bits."""
    return np.minimum(np.maximum(y, 0), Y_MAX), np.minimum(np.maximum(-y, 0), Y_MAX)
