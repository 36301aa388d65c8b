"""Processes that move spikes between files and a Lava network without Var.get()/set().

Reading a long buffer back through ``Var.get()`` moves ~50k elements/s; these processes instead
share a ``.npy`` file (memory-mapped) with the parent, so a 1000-sample run costs nothing extra.
"""
from __future__ import annotations

from typing import Tuple

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess


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


class CubaLIF(AbstractProcess):
    """Loihi's current-based LIF with every reset of :class:`ff_neuro.model.neuron.LoihiLIF`
    (to zero or by subtraction, at once or one step later), per-neuron thresholds and decays,
    the bias in the current or the membrane, and a second input ``r_in`` for the layer's own
    recurrent synapse. Lava's stock ``LIF`` resets to zero only and shares ``du``, ``dv`` and
    ``vth`` across the population; on Loihi 2 this neuron is a microcode neuron program.

    Like ``LIFReset``, every state (``u``, ``v``) returns to zero at the steps where
    ``time_step % reset_interval == reset_offset``; on those steps the recurrent input (the
    previous window's last spikes) is dropped, so windows are independent samples.

    Parameters (``proc_params``): ``shape``; ``vth``, ``du`` (``i_decay``, 4096 = no current
    memory), ``dv``, ``bias`` (numbers or arrays of ``shape``: integers in ``fixed_pt``, float
    threshold, decays as fractions and bias in ``floating_pt``); ``reset``, ``reset_delay``,
    ``bias_in``; ``reset_interval``, ``reset_offset``.
    """

    def __init__(self, *, shape: Tuple[int, ...], vth, du, dv, bias, reset: str,
                 reset_delay: bool, bias_in: str, reset_interval: int,
                 reset_offset: int) -> None:
        super().__init__(shape=shape, vth=vth, du=du, dv=dv, bias=bias, reset=reset,
                         reset_delay=reset_delay, bias_in=bias_in,
                         reset_interval=reset_interval, reset_offset=reset_offset)
        self.a_in = InPort(shape=shape)
        self.r_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
