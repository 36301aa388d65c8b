"""The Hebbian FF rule in torch: :class:`~ff_neuro.training.hebbian.HebbianTrainer` on a GPU.

The same presentation as the numpy engine of :mod:`ff_neuro.training.hebbian` (LIF, output
and input traces, the modulator ``M``, eligibility traces, per-step or per-presentation
updates), written with torch tensors so that the weights, the eligibility traces and the whole
time loop stay on the trainer's device. It computes in float32 with the numpy engine's
scalars (rounded to float32 first, as numpy does), so on the CPU both engines give the same
spikes and weights up to the summation order of the matrix products; ``engine="torch"`` runs
it on the CPU to test exactly that.

It has no sparse online path: one sample at a time (``batch_size = 1``) runs a handful of small
kernels per time step, so on a GPU train batched (``batch_size`` 32 and more) and let the
device work on the whole batch.
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np
import torch


def _f32(x: float) -> float:
    """``x`` rounded to float32 (numpy's ``np.float32(x)``), as a Python float."""
    return float(np.float32(x))


class TorchEngine:
    """The presentation of :meth:`HebbianTrainer.present` on ``device``; it reads and updates
    the trainer's ``WT`` and ``e`` (torch tensors on ``device``). A trainer made with
    ``engine="torch"`` (or on a GPU) presents through it.

    Example::

        >>> from ff_neuro.data import load_digits
        >>> from ff_neuro.training.hebbian import HebbianConfig, HebbianTrainer
        >>> ds = load_digits()
        >>> tr = HebbianTrainer(HebbianConfig(hidden=(16,), batch_size=8), ds, engine="torch")
        >>> X = tr.inputs(ds.x_train[:8], ds.y_train[:8])          # (T, 8, n_in) spikes
        >>> traces = tr.present(X, positive=[1, 0] * 4)             # learns, on the device
        >>> type(tr._torch).__name__, traces[0].shape, str(tr.WT[0].device)
        ('TorchEngine', (8, 16), 'cpu')
    """

    def __init__(self, trainer, device: torch.device):
        self.tr = trainer
        self.device = device
        self.threshold = _f32(trainer.cfg.threshold)
        self.beta = float(trainer.beta)            # already float32

    def lif_step(self, v: torch.Tensor, cur: torch.Tensor) -> torch.Tensor:
        """One LIF step in place (decay, input, reset to zero); returns the spikes (bool)."""
        v.mul_(self.beta)
        v.add_(cur)
        fired = v > self.threshold
        v.masked_fill_(fired, 0.0)
        return fired

    # -- traces and the modulator ------------------------------------------------------------
    def trace(self, l: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        """Advance trace ``l`` in place by spikes ``s``; returns ``l``."""
        c = self.tr.cfg
        if c.trace == "li":
            l.mul_(_f32(c.trace_tau))
            l.add_(_f32(self.tr.mu) * s)
        elif c.trace == "relu":
            l.add_(_f32(self.tr.mu) * s)
        else:
            l.mul_(_f32(c.trace_tau))
            torch.maximum(l, s, out=l)
        return l

    def advance_trace(self, l: torch.Tensor, seq: torch.Tensor) -> None:
        """Advance trace ``l`` (B, H) in place over spikes ``seq`` (n, B, H) at once."""
        c = self.tr.cfg
        n = seq.shape[0]
        if n == 0:
            return
        tau = c.trace_tau
        if c.trace == "relu":
            l.add_(_f32(self.tr.mu) * seq.sum(dim=0))
        elif c.trace == "li":
            coef = torch.as_tensor((self.tr.mu * tau ** np.arange(n - 1, -1, -1))
                                   .astype(np.float32), device=l.device)
            l.mul_(_f32(tau ** n))
            l.add_(torch.tensordot(coef, seq, dims=1))
        else:
            fired = seq.any(dim=0)
            since = (seq.flip(0) > 0).to(torch.uint8).argmax(dim=0)
            decayed = torch.pow(torch.tensor(tau, dtype=torch.float64, device=l.device),
                                since.to(torch.float64)).to(torch.float32)
            l.copy_(torch.where(fired, decayed, _f32(tau ** n) * l))

    def ml(self, l: torch.Tensor, pol: torch.Tensor) -> torch.Tensor:
        """``M * l`` (B, H) float32 for one step; ``pol`` (B,) float64."""
        c = self.tr.cfg
        if c.probability == "sigmoid":
            ld = l.to(torch.float64)
            g = (ld * ld).sum(dim=1)
            p = 1.0 / (1.0 + torch.exp(-c.alpha * (g - c.theta)))
            return (pol - p).to(torch.float32)[:, None] * l
        h = l.shape[1] // 2
        sq = l * l
        gp = sq[:, :h].to(torch.float64).sum(dim=1)
        gn = sq[:, h:].to(torch.float64).sum(dim=1)
        total = gp + gn + 2 * c.eps
        p = (gp + c.eps) / total
        cross = -1.0 / total if c.cross_term else torch.zeros_like(total)
        ypos = pol > 0
        ml = l.clone()
        ml[:, :h] *= torch.where(ypos, (1.0 - p) / (gp + c.eps), cross).to(torch.float32)[:, None]
        ml[:, h:] *= torch.where(ypos, cross, p / (gn + c.eps)).to(torch.float32)[:, None]
        return ml

    # -- updates -------------------------------------------------------------------------------
    def apply(self, k: int, dw: torch.Tensor, B: int) -> None:
        """One update event on layer ``k`` from ``dW`` (n_in, n_out), reduced over ``B``."""
        tr, c = self.tr, self.tr.cfg
        scale = 1.0 / B if c.batch_reduce == "mean" else 1.0
        w = tr.WT[k]
        if tr.e is None:
            w.add_(_f32(tr.lr * scale) * dw)
            return
        e = tr.e[k]
        e.mul_(_f32(c.tau_e))
        e.add_(_f32((1.0 - c.tau_e) * scale) * dw)
        w.add_(_f32(tr.lr) * e)

    def apply_dense(self, k: int, dw: torch.Tensor, B: int) -> None:
        """The update of a presentation (:meth:`HebbianTrainer._apply_dense`)."""
        tr, c = self.tr, self.tr.cfg
        scale = _f32(1.0 / B if c.batch_reduce == "mean" else 1.0)
        if tr.e is None:
            tr.WT[k].add_(_f32(tr.lr) * scale * dw)
            return
        e = tr.e[k]
        e.mul_(_f32(c.tau_e))
        e.add_(_f32(1.0 - c.tau_e) * scale * dw)
        tr.WT[k].add_(_f32(tr.lr) * e)

    # -- the LIF -------------------------------------------------------------------------------
    def scan(self, cur: torch.Tensor, v: torch.Tensor, l: torch.Tensor) -> torch.Tensor:
        """LIF over the steps of ``cur`` (t, B, H), then the trace; returns the spikes."""
        out = torch.empty_like(cur)
        for t in range(cur.shape[0]):
            out[t] = self.lif_step(v, cur[t])
        self.advance_trace(l, out)
        return out

    # -- one presentation ------------------------------------------------------------------------
    def present(self, X, positive: Optional[np.ndarray], learn: bool) -> List[np.ndarray]:
        """:meth:`HebbianTrainer.present` on the device; returns the traces as numpy arrays."""
        tr, c = self.tr, self.tr.cfg
        dev = self.device
        X = torch.as_tensor(X, device=dev).to(torch.float32)
        T, B, _ = X.shape
        L = len(tr.WT)
        pol = None if positive is None else torch.as_tensor(
            np.asarray(positive, dtype=np.float64).reshape(B), device=dev)
        per_step = learn and c.update_every == "step"
        t0 = c.update_from_step if per_step else T
        pre_trace = c.presynaptic == "trace"
        v = [torch.zeros((B, n), device=dev) for n in tr.sizes[1:]]
        l = [torch.zeros((B, n), device=dev) for n in tr.sizes[1:]]
        lp = [torch.zeros((B, n), device=dev) for n in tr.sizes[:-1]] if pre_trace else None
        if learn and not per_step:
            self._present_accumulated(X, pol, v, l, lp)
            return [t.cpu().numpy() for t in l]
        inp = X[:t0]
        for k in range(L if t0 > 0 else 0):
            if pre_trace:
                self.advance_trace(lp[k], inp)
            cur = (inp.reshape(t0 * B, -1) @ tr.WT[k]).reshape(t0, B, -1)
            inp = self.scan(cur, v[k], l[k])
        for t in range(t0, T):            # the update window: per step, every layer
            x = X[t]
            for k in range(L):
                cur = x @ tr.WT[k]
                xk = self.trace(lp[k], x).clone() if pre_trace else x
                x = self.lif_step(v[k], cur).to(torch.float32)
                self.trace(l[k], x)
                if learn:
                    self.apply(k, xk.T @ self.ml(l[k], pol), B)
        return [t.cpu().numpy() for t in l]

    def _present_accumulated(self, X, pol, v, l, lp) -> None:
        """``update_every = "presentation"`` (:meth:`HebbianTrainer._present_accumulated`)."""
        tr, c = self.tr, self.tr.cfg
        T, B, _ = X.shape
        t0 = c.update_from_step
        win = T - t0
        inp = X
        acc = []
        for k in range(len(tr.WT)):
            if lp is not None:
                pre = torch.empty_like(inp)
                for t in range(T):
                    pre[t] = self.trace(lp[k], inp[t])
            else:
                pre = inp
            cur = (inp.reshape(T * B, -1) @ tr.WT[k]).reshape(T, B, -1)
            out = torch.empty_like(cur)
            ml = torch.empty((win, B, cur.shape[2]), device=cur.device)
            for t in range(T):
                out[t] = self.lif_step(v[k], cur[t])
                self.trace(l[k], out[t])
                if t >= t0:
                    ml[t - t0] = self.ml(l[k], pol)
            acc.append(pre[t0:].reshape(win * B, -1).T @ ml.reshape(win * B, -1))
            inp = out
        for k, dw in enumerate(acc):
            self.apply_dense(k, dw, B)
