"""The backend interface (Lava's Process / ProcessModel split, applied to whole networks).

A :class:`Backend` declares one operation: run a :class:`~ff_neuro.model.Network` (any mix of
dense and conv layers) on a batch of input messages and return every layer's spikes. The
implementations are registered by name in :mod:`ff_neuro.run` (``float``, ``emulator``,
``lava-float``, ``lava-fixed``, ``loihi2``); everything built on top (inference, parity,
calibration, energy counts) works with any of them.
"""
from __future__ import annotations

import abc
from dataclasses import asdict, dataclass
from typing import List, Optional, Tuple

import numpy as np

from ..model.network import Network


class BackendUnavailable(RuntimeError):
    """The backend cannot run here (a missing package or device); the message says why and
    what to install."""


@dataclass
class LayerSpikes:
    """Spikes of every layer for one batch: ``spikes[k]`` is ``(T, B, *out_shape_k)`` uint8."""

    spikes: List[np.ndarray]

    def counts(self) -> List[np.ndarray]:
        """Spike counts over time per layer, ``(B, *out_shape_k)`` int32."""
        # summed in uint8 where T fits (several times faster than converting every step)
        return [(s.sum(axis=0, dtype=np.uint8) if s.shape[0] < 256 and s.dtype == np.uint8
                 else s.sum(axis=0)).astype(np.int32) for s in self.spikes]

    def sum_sq_counts(self) -> List[np.ndarray]:
        """Per layer, ``sum_j count_j**2`` for every batch column, ``(B,)`` int64 (the integer
        part of goodness; a compiled pass over uint8 spikes, no count arrays)."""
        from .fixed_kernels import sum_sq_counts
        out = []
        for s in self.spikes:
            s = s.reshape(s.shape[:2] + (-1,))
            if s.dtype == np.uint8:
                r = np.empty(s.shape[1], np.int64)
                sum_sq_counts(np.ascontiguousarray(s), r)
            else:
                c = s.sum(axis=0).astype(np.int64)
                r = np.einsum("bj,bj->b", c, c)
            out.append(r)
        return out


@dataclass
class RunStats:
    """What the last :meth:`Backend.run` cost: runs (batch columns) of ``time_steps`` steps in
    ``wall_s`` seconds. Lava backends add their compile and step timings
    (:class:`~ff_neuro.run.lava.LavaRunStats`)."""

    backend: str
    runs: int
    time_steps: int
    wall_s: float

    def to_dict(self) -> dict:
        return asdict(self)


class Backend(abc.ABC):
    """Runs a network on input messages ``(T, B, *input_shape)``; one sample per batch column,
    state reset between samples. ``stats`` describes the last run."""

    name: str = "abstract"
    #: what the last run cost (set by :meth:`run`)
    stats: Optional[RunStats] = None
    #: whether a call has a large fixed cost (a compile), so callers should pass every sample
    #: in one call rather than in chunks
    prefers_one_call: bool = False
    #: whether a run happens in a supervised child process with a time limit (``timeout_s``)
    supervised: bool = False

    @classmethod
    def available(cls) -> Tuple[bool, str]:
        """``(True, "")`` when the backend can run here, else ``(False, why and what to do)``."""
        return True, ""

    @abc.abstractmethod
    def run(self, net: Network, spikes: np.ndarray) -> LayerSpikes:
        """Return every layer's spikes for input messages of shape ``(T, B, *input_shape)``."""

    def run_factored(self, net: Network, img: np.ndarray, lab: np.ndarray) -> LayerSpikes:
        """Run ``N * C`` label-sweep runs: run ``n * C + c`` gets input ``img[:, n] + lab[:, c]``.

        ``img`` (T, N, n_in) carries the sample part (zero on label inputs), ``lab`` (T, C, n_in)
        the candidate-label part (zero elsewhere), see
        :func:`ff_neuro.encoding.sweep_inputs_factored`. This default builds every run's input;
        a backend may exploit the sharing (the emulator computes image sums once per sample).
        """
        x = img[:, :, None, :] + lab[:, None, :, :]
        T, N, C, D = x.shape
        return self.run(net, np.ascontiguousarray(x.reshape(T, N * C, D)))

    def sum_sq_counts_factored(self, net: Network, img: np.ndarray,
                               lab: np.ndarray) -> List[np.ndarray]:
        """:meth:`run_factored` reduced to what goodness needs: per layer, ``sum_j count_j**2``
        of every run, ``(N * C,)`` int64. A backend may skip keeping the spikes."""
        return self.run_factored(net, img, lab).sum_sq_counts()

    @staticmethod
    def check_input(net: Network, spikes: np.ndarray) -> np.ndarray:
        """``spikes`` as uint8 ``(T, B, *input_shape)`` (a flat ``(T, B, n_in)`` is reshaped);
        values must lie in ``[0, encoder.max_message]``."""
        spikes = np.asarray(spikes)
        shape = tuple(net.input_shape)
        n_in = int(np.prod(shape))
        if spikes.ndim >= 3 and tuple(spikes.shape[2:]) == shape:
            pass
        elif spikes.ndim == 3 and spikes.shape[2] == n_in:
            spikes = spikes.reshape(spikes.shape[:2] + shape)
        else:
            raise ValueError(f"input spikes must be (T, B, {', '.join(map(str, shape))}), got "
                             f"{spikes.shape}")
        top = net.encoder.max_message
        if spikes.size and (spikes.min() < 0 or spikes.max() > top):
            raise ValueError("input spikes must be binary (0/1)" if top == 1 else
                             f"graded input spikes must lie in [0, {top}]")
        return spikes.astype(np.uint8, copy=False)
