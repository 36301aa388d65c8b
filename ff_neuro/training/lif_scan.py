"""A fused LIF layer for training: the whole time loop in one autograd node.

Computes exactly what snnTorch's ``Leaky(beta, threshold, reset_mechanism="zero",
reset_delay=False, spike_grad=fast_sigmoid(slope))`` computes step by step, forward *and*
backward (the surrogate gradient through the membrane recurrence and through the reset, as
snnTorch's graph does), but without building a graph of ``T x ~20`` small operations: the
forward pass keeps only the membrane potentials, the backward pass is one reverse loop.
``tests/test_training_options.py`` checks spikes and gradients against snnTorch. On float32 CPU
tensors both loops run as numba kernels (one pass per neuron over time, parallel over neurons:
the torch loop spent ~60 % of a training step in ~30 small ops per time step).

Per step (``m``: membrane before reset, ``s``: spike, ``v``: membrane after reset)::

    m[t] = beta * v[t-1] + I[t]
    s[t] = H(m[t] - theta)                       surrogate: ds/dm = 1 / (slope |m - theta| + 1)^2
    v[t] = m[t] - s[t] * m[t]                    (snnTorch's reset to zero; the reset's gradient
                                                  flows through s, as in snnTorch)
Backward (``g_x`` = dL/dx)::

    g_m[t] = g_s[t] * s'(m[t]) + g_v[t] * (1 - s[t] - m[t] * s'(m[t]))
    g_v[t-1] = beta * g_m[t],   g_I[t] = g_m[t]
"""
from __future__ import annotations

import numba
import numpy as np
import torch
from numba import njit, prange

from .. import numba_setup  # noqa: F401  (fork-safe threading layer)

# Neurons per parallel task of the compiled scans (each task keeps its running state).
_BLOCK = 2048


@njit(parallel=True, cache=True)
def _scan_forward(cur, beta, theta, mem, spk):
    """Float32 forward over ``cur`` (T, M): the same operations, in the same order and
    precision, as the torch loop (so the spikes are identical)."""
    T, M = cur.shape
    one = np.float32(1.0)
    for b in prange((M + _BLOCK - 1) // _BLOCK):
        lo = b * _BLOCK
        hi = min(M, lo + _BLOCK)
        v = np.zeros(hi - lo, np.float32)
        for t in range(T):
            # two loops, each writing at most two arrays: LLVM then vectorises both (with
            # three written arrays its run-time overlap checks give up)
            mt = mem[t, lo:hi]
            st = spk[t, lo:hi]
            ct = cur[t, lo:hi]
            for j in range(hi - lo):
                mt[j] = beta * v[j] + ct[j]
            for j in range(hi - lo):
                sj = np.float32(mt[j] > theta)
                st[j] = sj
                v[j] = mt[j] * (one - sj)


@njit(parallel=True, cache=True)
def _scan_backward(g_spk, mem, spk, beta, theta, slope, g_cur):
    """Float32 reverse loop of :meth:`_LIFScan.backward`, fused per neuron."""
    T, M = mem.shape
    one = np.float32(1.0)
    for b in prange((M + _BLOCK - 1) // _BLOCK):
        lo = b * _BLOCK
        hi = min(M, lo + _BLOCK)
        g_v = np.zeros(hi - lo, np.float32)
        for t in range(T - 1, -1, -1):
            mt = mem[t, lo:hi]
            st = spk[t, lo:hi]
            gs = g_spk[t, lo:hi]
            gc = g_cur[t, lo:hi]
            for j in range(hi - lo):
                m = mt[j]
                d = slope * abs(m - theta) + one
                sg = one / (d * d)
                g_m = gs[j] * sg + g_v[j] * (one - st[j] - m * sg)
                gc[j] = g_m
                g_v[j] = beta * g_m


def _compiled(x: torch.Tensor) -> bool:
    """The compiled scans take contiguous float32 CPU tensors; anything else (other dtypes,
    GPU) runs the torch loop."""
    if not (x.dtype == torch.float32 and x.device.type == "cpu" and x.is_contiguous()):
        return False
    # as many threads as torch uses (the trainer's --threads governs both)
    n = max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    if numba.get_num_threads() != n:
        numba.set_num_threads(n)
    return True


class _LIFScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, current: torch.Tensor, beta: float, theta: float, slope: float):
        T = current.shape[0]
        mem = torch.empty_like(current)
        spk = torch.empty_like(current)
        if _compiled(current) and current.numel():
            _scan_forward(current.detach().numpy().reshape(T, -1), np.float32(beta),
                          np.float32(theta), mem.numpy().reshape(T, -1),
                          spk.numpy().reshape(T, -1))
        else:
            v = torch.zeros_like(current[0])
            for t in range(T):
                m = beta * v + current[t]
                s = (m > theta).to(current.dtype)
                mem[t] = m
                spk[t] = s
                v = m * (1.0 - s)
        ctx.save_for_backward(mem, spk)
        ctx.beta, ctx.theta, ctx.slope = beta, theta, slope
        return spk

    @staticmethod
    def backward(ctx, grad_spk: torch.Tensor):
        mem, spk = ctx.saved_tensors
        beta, theta, slope = ctx.beta, ctx.theta, ctx.slope
        T = mem.shape[0]
        grad_spk = grad_spk.contiguous()
        if _compiled(mem) and _compiled(grad_spk) and mem.numel():
            grad_cur = torch.empty_like(mem)
            _scan_backward(grad_spk.numpy().reshape(T, -1), mem.numpy().reshape(T, -1),
                           spk.numpy().reshape(T, -1), np.float32(beta), np.float32(theta),
                           np.float32(slope), grad_cur.numpy().reshape(T, -1))
            return grad_cur, None, None, None
        sg = 1.0 / (slope * (mem - theta).abs() + 1.0) ** 2  # fast-sigmoid surrogate
        grad_cur = torch.empty_like(mem)
        g_v = torch.zeros_like(mem[0])
        for t in range(mem.shape[0] - 1, -1, -1):
            g_m = grad_spk[t] * sg[t] + g_v * (1.0 - spk[t] - mem[t] * sg[t])
            grad_cur[t] = g_m
            g_v = beta * g_m
        return grad_cur, None, None, None


def lif_scan(current: torch.Tensor, beta: float, threshold: float,
             slope: float = 10.0) -> torch.Tensor:
    """Spikes ``(T, B, N)`` of LIF neurons driven by ``current`` ``(T, B, N)``."""
    return _LIFScan.apply(current, float(beta), float(threshold), float(slope))
