"""Processes that move spikes between files and a Lava network without Var.get()/set().

Reading a long buffer back through ``Var.get()`` moves ~50k elements/s; these processes instead
share a ``.npy`` file (memory-mapped) with the parent, so a 1000-sample run costs nothing extra.
"""
from __future__ import annotations

from typing import Tuple

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.neuron import LearningNeuronProcess
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class SpikeFileSource(AbstractProcess):
    """Sends row ``(t - 1) % n_rows`` of a ``(n_rows, n)`` ``.npy`` file at time step ``t``.

    Same timing as ``lava.proc.io.source.RingBuffer`` (so NetX ``reset_offset = 1`` applies).
    """

    def __init__(self, *, path: str, shape: Tuple[int, ...]) -> None:
        super().__init__(path=path, shape=shape)
        self.s_out = OutPort(shape=shape)


class SpikeFileRecorder(AbstractProcess):
    """Writes the spikes received at time step ``t`` into row ``t - 1`` of a ``.npy`` file.

    The file (``(n_rows, n)`` uint8) is created by the parent before the run; steps beyond
    ``n_rows`` are ignored.
    """

    def __init__(self, *, path: str, shape: Tuple[int, ...]) -> None:
        super().__init__(path=path, shape=shape)
        self.a_in = InPort(shape=shape)


class FailingProcess(AbstractProcess):
    """Raises inside its ProcessModel at time step ``fail_at``: used to test that a failing
    Lava model ends with a clear error within the time limit instead of hanging."""

    def __init__(self, *, shape: Tuple[int, ...], fail_at: int = 3) -> None:
        super().__init__(shape=shape, fail_at=fail_at)
        self.a_in = InPort(shape=shape)


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
    """

    def __init__(self, *, shape: Tuple[int, ...], learning_rule, dv: float, vth: float,
                 reset_interval: int, reset_offset: int, trace: str = "li",
                 tau: float = 0.85, mu: float = 0.15, probability: str = "symmetric",
                 theta: float = 2.0, alpha: float = 6.0, eps: float = 0.01,
                 cross_term: bool = True, eta: float = 1.0) -> None:
        super().__init__(shape=shape, learning_rule=learning_rule, dv=dv, vth=vth,
                         reset_interval=reset_interval, reset_offset=reset_offset, trace=trace,
                         tau=tau, mu=mu, probability=probability, theta=theta, alpha=alpha,
                         eps=eps, cross_term=cross_term, eta=eta)
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.v = Var(shape=shape, init=0)
        self.l = Var(shape=shape, init=0)
