"""A fused LIF layer for training: the whole time loop in one autograd node.

Computes exactly what snnTorch's ``Leaky(beta, threshold, reset_mechanism="zero",
reset_delay=False, spike_grad=fast_sigmoid(slope))`` computes step by step, forward *and*
backward (the surrogate gradient through the membrane recurrence and through the reset, as
snnTorch's graph does), but without building a graph of ``T x ~20`` small operations: the
forward pass keeps only the membrane potentials, the backward pass is one reverse loop.
``tests/test_training.py`` checks spikes and gradients against snnTorch.

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

import torch


class _LIFScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, current: torch.Tensor, beta: float, theta: float, slope: float):
        T = current.shape[0]
        mem = torch.empty_like(current)
        spk = torch.empty_like(current)
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
