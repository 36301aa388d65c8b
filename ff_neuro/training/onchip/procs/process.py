"""The on-chip learning processes: a per-step broadcast source for the learning signal and the
HebbianLIF neuron that computes the third factor of the neo-Hebbian rule on the chip."""
from __future__ import annotations

from typing import Optional, Tuple

from lava.magma.core.process.neuron import LearningNeuronProcess
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

# Absolute import (Lava loads this file by path). FIXED_STATS: the entries of the fixed_pt
# HebbianLIF statistics file (``stats_path``), in this order.
from ff_neuro.training.onchip.fixed import FIXED_STATS  # noqa: F401


class BroadcastFileSource(AbstractProcess):
    """Sends ``data[(t - 1) % n_rows]`` (a scalar per step, from a 1-D ``.npy`` file) to all
    ``shape`` outputs at time step ``t``: the per-step learning signal (sample polarity)."""

    def __init__(self, *, path: str, shape: Tuple[int, ...]) -> None:
        super().__init__(path=path, shape=shape)
        self.s_out = OutPort(shape=shape)


class HebbianLIF(LearningNeuronProcess, AbstractProcess):
    """LIF neurons (du = 1, reset to zero) that turn a polarity signal into the third factor of
    a neo-Hebbian rule (Terres-Escudero et al.) computed on the chip.

    Per step: ``v = (1 - dv) v + a_in``, spike if ``v > vth``, reset to 0; output trace ``l``
    (``trace`` = li | relu | hard_li, decay ``tau``, step ``mu``); with the polarity ``p`` read on
    ``a_third_factor_in`` (+1 positive sample, -1 negative, 0 no learning), the layer-wide
    modulator ``M = modulator(l, p > 0, probability, ...)`` (``ff_neuro.training.hebbian``) and
    the post traces ``y2 = eta relu(M l)``, ``y3 = eta relu(-M l)`` go to the LearningDense whose
    rule ``dw = u0 x1 y2 - u0 x1 y3`` then gives ``dW_ij = eta M_j l_j x_i``. State and trace
    reset when ``time_step % reset_interval == reset_offset``.

    fixed_pt model (integers only; ``S = weight_scale`` integer weight units per float unit,
    ``Q = 127`` the 7-bit trace unit, ``e = y_exp``)::

        v = trunc(v (4096 - dv_q) / 4096) + (a_in << 6); spike if v > vth_q << 6; reset to 0
            (Lava's LIF fixed_pt with du = 1: dv_q = round(4096 dv), vth_q = round(S vth))
        l_q = min(127, trunc(l_q tau_q / 4096) + mu_q s)      li      (tau_q = round(4096 tau),
        l_q = min(127, l_q + mu_q s)                          relu     mu_q = round(Q mu))
        l_q = 127 if s else trunc(l_q tau_q / 4096)           hard_li
        G+_q = sum_{j < H/2} l_q^2, G-_q = sum_{j >= H/2} l_q^2, eps_q = round(Q^2 eps)
        M l as a fraction num_j / den (eq. 6 with G -> G_q, eps -> eps_q; symmetric only)
        y_j = round(K l_q,j num_j / den), K = eta Q S 2^-e     (M l in units of 2^e / S)
        y2 = min(127, relu(y)), y3 = min(127, relu(-y))

    The LearningDense (fixed_pt) then adds ``(y2 - y3) 2^e`` to each integer weight of a spiking
    input (rule ``2^e u0 x1 y2 - 2^e u0 x1 y3`` with ``x1 = 8``), stochastically rounded and
    saturated to [-256, 255]. With ``stats_path`` the model accumulates its rounding statistics
    in that ``.npy`` file (float64, :data:`FIXED_STATS` entries). With ``record_dir`` both models
    write, at step ``t``, row ``t - 1`` of the memory-mapped files ``s.npy`` (spikes), ``v.npy``
    (membrane), ``l.npy`` (trace) and ``y.npy`` (``y2 - y3``, the third factor sent) there.
    """

    def __init__(self, *, shape: Tuple[int, ...], learning_rule, dv: float, vth: float,
                 reset_interval: int, reset_offset: int, trace: str = "li",
                 tau: float = 0.85, mu: float = 0.15, probability: str = "symmetric",
                 theta: float = 2.0, alpha: float = 6.0, eps: float = 0.01,
                 cross_term: bool = True, eta: float = 1.0, weight_scale: float = 1.0,
                 y_exp: int = -6, stats_path: Optional[str] = None,
                 record_dir: Optional[str] = None) -> None:
        super().__init__(shape=shape, learning_rule=learning_rule, dv=dv, vth=vth,
                         reset_interval=reset_interval, reset_offset=reset_offset, trace=trace,
                         tau=tau, mu=mu, probability=probability, theta=theta, alpha=alpha,
                         eps=eps, cross_term=cross_term, eta=eta, weight_scale=weight_scale,
                         y_exp=y_exp, stats_path=stats_path, record_dir=record_dir)
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.v = Var(shape=shape, init=0)
        self.l = Var(shape=shape, init=0)
