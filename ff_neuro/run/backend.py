"""The backend interface (Lava's Process / ProcessModel split, applied to our backends).

A :class:`Backend` declares one operation: run a network on a batch of binary input spikes and
return every layer's spikes. Implementations: :class:`~ff_neuro.run.torch_backend.TorchBackend`
(float, snnTorch), :class:`~ff_neuro.run.emulator.EmulatorBackend` (Loihi fixed point, CPU)
and :class:`ff_neuro.export.lava_runner.LavaBackend` (Lava CPU simulator). Everything built on
top (label sweep, parity, energy counts) works with any of them.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import List

import numpy as np

from ..model.primitives import FFNetwork


@dataclass
class LayerSpikes:
    """Spikes of every layer for one batch: ``spikes[k]`` is ``(T, B, n_k)`` uint8."""

    spikes: List[np.ndarray]

    def counts(self) -> List[np.ndarray]:
        """Spike counts over time per layer, ``(B, n_k)`` int32."""
        # summed in uint8 where T fits (several times faster than converting every step)
        return [(s.sum(axis=0, dtype=np.uint8) if s.shape[0] < 256 and s.dtype == np.uint8
                 else s.sum(axis=0)).astype(np.int32) for s in self.spikes]

    def sum_sq_counts(self) -> List[np.ndarray]:
        """Per layer, ``sum_j count_j**2`` for every batch column, ``(B,)`` int64 (the integer
        part of goodness; a compiled pass over uint8 spikes, no count arrays)."""
        from .fixed_kernels import sum_sq_counts
        out = []
        for s in self.spikes:
            if s.dtype == np.uint8 and s.ndim == 3:
                r = np.empty(s.shape[1], np.int64)
                sum_sq_counts(np.ascontiguousarray(s), r)
            else:
                c = s.sum(axis=0).astype(np.int64)
                r = np.einsum("bj,bj->b", c, c)
            out.append(r)
        return out


class Backend(abc.ABC):
    """Runs an :class:`FFNetwork` on input spikes ``(T, B, n_in)``; one sample per batch column,
    state reset between samples."""

    name: str = "abstract"

    @abc.abstractmethod
    def run(self, net: FFNetwork, spikes: np.ndarray) -> LayerSpikes:
        """Return every layer's spikes for ``spikes`` of shape ``(T, B, n_in)``."""

    def run_factored(self, net: FFNetwork, img: np.ndarray, lab: np.ndarray) -> LayerSpikes:
        """Run ``N * C`` label-sweep runs: run ``n * C + c`` gets input ``img[:, n] + lab[:, c]``.

        ``img`` (T, N, n_in) carries the sample part (zero on label inputs), ``lab`` (T, C, n_in)
        the candidate-label part (zero elsewhere), see
        :func:`ff_neuro.encoding.sweep_inputs_factored`. This default builds every run's input;
        a backend may exploit the sharing (the emulator computes image sums once per sample).
        """
        x = img[:, :, None, :] + lab[:, None, :, :]
        T, N, C, D = x.shape
        return self.run(net, np.ascontiguousarray(x.reshape(T, N * C, D)))

    def sum_sq_counts_factored(self, net: FFNetwork, img: np.ndarray,
                               lab: np.ndarray) -> List[np.ndarray]:
        """:meth:`run_factored` reduced to what goodness needs: per layer, ``sum_j count_j**2``
        of every run, ``(N * C,)`` int64. A backend may skip keeping the spikes."""
        return self.run_factored(net, img, lab).sum_sq_counts()

    @staticmethod
    def check_input(net: FFNetwork, spikes: np.ndarray) -> np.ndarray:
        spikes = np.asarray(spikes)
        if spikes.ndim != 3 or spikes.shape[2] != net.layers[0].n_in:
            raise ValueError(
                f"input spikes must be (T, B, {net.layers[0].n_in}), got {spikes.shape}")
        levels = net.encoding.levels
        if spikes.size and (spikes.min() < 0 or spikes.max() > levels):
            raise ValueError("input spikes must be binary (0/1)" if levels == 1 else
                             f"graded input spikes must lie in [0, {levels}]")
        return spikes.astype(np.uint8, copy=False)
