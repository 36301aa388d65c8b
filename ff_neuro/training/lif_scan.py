"""Fused LIF layers for training: the whole time loop of a layer in one autograd node.

Both compute exactly what snnTorch's ``Leaky(beta, threshold, reset_mechanism="zero",
reset_delay=False, spike_grad=fast_sigmoid(slope))`` computes step by step, forward *and*
backward (the surrogate gradient through the membrane recurrence and through the reset, as
snnTorch's graph does), without a graph of ``T x ~20`` small operations: :func:`lif_scan`'s
forward pass keeps only the membrane potentials, its backward pass is one reverse loop.

* :func:`lif_counts` is what the FF trainer uses: its differentiable output is the spike counts
  (FF losses see only counts), and the spikes for the next layer carry no gradient. On float32
  CPU tensors both loops are numba kernels (one pass per neuron over time, parallel over
  neurons), a current constant over time stays ``(B, N)``, the spikes may be written as
  bfloat16 directly (or not at all), and nothing of size ``(T, B, N)`` is stored for the
  backward pass: it recomputes the membrane from the current.
* :func:`lif_scan` returns spikes with a gradient (a torch loop): the reference, and the path of
  other dtypes and devices: on a GPU :func:`lif_counts` runs this loop (``kernel="torch"`` runs
  it on the CPU too, e.g. to check it against the kernels).

``tests/test_training_options.py`` checks spikes, counts and gradients of both against
snnTorch.

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

from typing import Optional

import numba
import numpy as np
import torch
from numba import njit, prange, types
from numba.extending import overload

from .. import numba_setup  # noqa: F401  (fork-safe threading layer)

# Neurons per parallel task of the compiled kernels (each task keeps its running state).
_BLOCK = 2048


# Rows of float32 or of bfloat16 (held as its int16 bit pattern: numpy has no bfloat16): the
# kernels below compile once per dtype and read / write either through these two helpers.
def _load_row(src, f32, u32):
    """The float32 values of row ``src``: ``src`` itself, or bfloat16 bits widened into
    ``f32`` (``u32`` is the same buffer seen as uint32)."""


def _store_row(f32, u32, dst):
    """Write float32 row ``f32`` into ``dst``: a copy, or rounded to bfloat16 (to nearest
    even, as torch rounds) for an int16 ``dst``."""


@overload(_load_row)
def _load_row_impl(src, f32, u32):
    if src.dtype == types.float32:
        return lambda src, f32, u32: src

    def widen(src, f32, u32):
        for j in range(src.shape[0]):
            u32[j] = np.uint32(np.uint16(src[j])) << np.uint32(16)
        return f32
    return widen


@overload(_store_row)
def _store_row_impl(f32, u32, dst):
    if dst.dtype == types.float32:
        def copy(f32, u32, dst):
            for j in range(dst.shape[0]):
                dst[j] = f32[j]
        return copy

    def narrow(f32, u32, dst):
        for j in range(dst.shape[0]):
            b = u32[j]
            b += np.uint32(0x7FFF) + ((b >> np.uint32(16)) & np.uint32(1))
            dst[j] = np.int16(np.uint16(b >> np.uint32(16)))
    return narrow


@njit(inline="always")
def _advance(v, ct, m, beta, theta):
    """One LIF step of a row of neurons: ``m = beta * v + I`` (membrane before reset), then
    ``v = m (1 - s)`` (after reset). The forward pass and the backward pass's recomputation both
    step with this, so they get the same membrane to the bit."""
    one = np.float32(1.0)
    for j in range(m.shape[0]):
        m[j] = beta * v[j] + ct[j]
    for j in range(m.shape[0]):
        v[j] = m[j] * (one - np.float32(m[j] > theta))


@njit(parallel=True, cache=True)
def _counts_forward(cur, T, beta, theta, spk, counts, spike_value):
    """Forward of :func:`lif_counts`: ``cur`` is (T, M), or (1, M) for a current constant over
    the T steps (float32, or bfloat16 bits); writes the spike counts (M,) and, unless ``spk``
    has no rows, the spikes ``spk`` (T, M) (float32 ones, or the int16 bit pattern
    ``spike_value`` of a bfloat16 one). No membrane is kept: the backward pass recomputes it."""
    M = counts.shape[0]
    static = cur.shape[0] == 1
    write = spk.shape[0] > 0
    for b in prange((M + _BLOCK - 1) // _BLOCK):
        lo = b * _BLOCK
        hi = min(M, lo + _BLOCK)
        v = np.zeros(hi - lo, np.float32)
        m = np.empty(hi - lo, np.float32)
        u32 = np.empty(hi - lo, np.uint32)
        f32 = u32.view(np.float32)
        c = counts[lo:hi]
        c[:] = 0
        for t in range(T):
            _advance(v, _load_row(cur[0 if static else t, lo:hi], f32, u32), m, beta, theta)
            for j in range(hi - lo):
                c[j] += np.float32(m[j] > theta)
            if write:
                st = spk[t, lo:hi]
                for j in range(hi - lo):
                    st[j] = spike_value if m[j] > theta else 0


@njit(parallel=True, cache=True)
def _counts_backward(g_cnt, cur, T, beta, theta, slope, g_cur):
    """Backward of :func:`lif_counts`: ``g_cnt`` (M,) = dL/dcounts (so dL/ds[t] = g_cnt for
    every t); ``cur`` is the forward's current. Recomputes the membrane of a block of neurons
    (:func:`_advance`, as the forward) into a (T, block) buffer that stays in cache, then runs
    the reverse loop; writes ``g_cur`` (T, M), or (1, M) summed over t for a static current
    (float32, or bfloat16 bits)."""
    M = g_cnt.shape[0]
    static = g_cur.shape[0] == 1
    one = np.float32(1.0)
    for b in prange((M + _BLOCK - 1) // _BLOCK):
        lo = b * _BLOCK
        hi = min(M, lo + _BLOCK)
        mem = np.empty((T, hi - lo), np.float32)
        v = np.zeros(hi - lo, np.float32)
        u32 = np.empty(hi - lo, np.uint32)
        f32 = u32.view(np.float32)
        for t in range(T):
            _advance(v, _load_row(cur[0 if static else t, lo:hi], f32, u32), mem[t], beta, theta)
        g_v = np.zeros(hi - lo, np.float32)
        g_m = f32  # this step's dL/dI
        total = np.zeros(hi - lo, np.float32)  # static: dL/dI summed over the steps
        gs = g_cnt[lo:hi]
        for t in range(T - 1, -1, -1):
            mt = mem[t]
            # at most two written arrays per loop, or LLVM does not vectorise it
            for j in range(hi - lo):
                m = mt[j]
                s = np.float32(m > theta)
                d = slope * abs(m - theta) + one
                sg = one / (d * d)
                g = gs[j] * sg + g_v[j] * (one - s - m * sg)
                g_m[j] = g
                g_v[j] = beta * g
            if static:
                for j in range(hi - lo):
                    total[j] += g_m[j]
            else:
                _store_row(g_m, u32, g_cur[t, lo:hi])
        if static:
            g_m[:] = total
            _store_row(g_m, u32, g_cur[0, lo:hi])


#: the LIF loops :func:`lif_counts` can run: ``"auto"`` (the compiled kernels where they apply,
#: else the torch loop), ``"numba"`` (the compiled kernels only), ``"torch"`` (the torch loop)
KERNELS = ("auto", "numba", "torch")


def _compiled(x: torch.Tensor, kernel: str = "auto") -> bool:
    """The compiled kernels take contiguous float32 or bfloat16 CPU tensors; anything else
    (other dtypes, GPU) and ``kernel="torch"`` run the torch loop."""
    if kernel not in KERNELS:
        raise ValueError(f"unknown LIF kernel {kernel!r} ({'|'.join(KERNELS)})")
    if kernel == "torch":
        return False
    if not (x.dtype in (torch.float32, torch.bfloat16) and x.device.type == "cpu"
            and x.is_contiguous()):
        if kernel == "numba":
            raise ValueError(f"the numba LIF kernels take contiguous float32 or bfloat16 CPU "
                             f"tensors, got {x.dtype} on {x.device}")
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


def _as_numpy(x: torch.Tensor) -> np.ndarray:
    """``x``'s buffer for the kernels: itself, or a bfloat16 tensor's int16 bit pattern."""
    return x.view(torch.int16).numpy() if x.dtype == torch.bfloat16 else x.numpy()


#: the bit pattern of bfloat16 1.0 (spikes written straight into a bfloat16 tensor)
_BF16_ONE = np.int16(0x3F80)


class _LIFCounts(torch.autograd.Function):
    @staticmethod
    def forward(ctx, current: torch.Tensor, T: int, beta: float, theta: float, slope: float,
                spike_dtype):
        static = current.dim() == 2  # (B, N): the same current at every step
        shape = ((T,) + tuple(current.shape)) if static else tuple(current.shape)
        cur = current.detach().reshape(1 if static else T, -1)
        n = cur.shape[1]
        counts = torch.empty(n, dtype=torch.float32)
        spk = None if spike_dtype is None else torch.empty((T, n), dtype=spike_dtype)
        # no spikes wanted (a last layer): a buffer of no rows, none written
        spk_np = np.empty((0, n), np.float32) if spk is None else _as_numpy(spk)
        one = _BF16_ONE if spike_dtype == torch.bfloat16 else np.float32(1.0)
        _counts_forward(_as_numpy(cur), T, np.float32(beta), np.float32(theta), spk_np,
                        counts.numpy(), one)
        ctx.save_for_backward(cur)  # the backward recomputes the membrane from the current
        ctx.set_materialize_grads(False)  # no zero-filled (T, B, N) gradient for the spikes
        ctx.static, ctx.in_shape, ctx.in_dtype, ctx.T = static, current.shape, current.dtype, T
        ctx.beta, ctx.theta, ctx.slope = beta, theta, slope
        if spk is not None:
            spk = spk.reshape(shape)
            ctx.mark_non_differentiable(spk)
        return spk, counts.reshape(shape[1:])

    @staticmethod
    def backward(ctx, grad_spk, grad_counts):
        (cur,) = ctx.saved_tensors
        T = ctx.T
        if grad_counts is None:
            return None, None, None, None, None, None
        g_cur = torch.empty((1 if ctx.static else T, cur.shape[1]), dtype=ctx.in_dtype)
        g = grad_counts.reshape(-1).to(torch.float32).contiguous()
        _counts_backward(g.numpy(), _as_numpy(cur), T, np.float32(ctx.beta),
                         np.float32(ctx.theta), np.float32(ctx.slope), _as_numpy(g_cur))
        return g_cur.reshape(ctx.in_shape), None, None, None, None, None


def lif_counts(current: torch.Tensor, time_steps: int, beta: float, threshold: float,
               slope: float = 10.0, spike_dtype: Optional[torch.dtype] = torch.float32,
               kernel: str = "auto"):
    """LIF layer for FF training whose loss sees only spike counts: ``(spikes, counts)``.

    ``current`` is ``(T, B, N)``, or ``(B, N)`` for a current constant over the ``time_steps``
    steps (graded input: no ``(T, B, N)`` tensor is formed, forward or backward). ``spikes``
    ``(T, B, N)`` carry no gradient (the next layer sees detached spikes in FF) and may be
    written directly as ``bfloat16``, or are not formed at all (``spike_dtype=None``: ``spikes``
    is None; a last layer's spikes feed nothing); ``counts`` ``(B, N)`` = ``spikes.sum(0)``
    carries the gradient.
    Forward and backward are exactly :func:`lif_scan` followed by ``.sum(0)`` (the same
    surrogate gradient; dL/ds[t] is dL/dcounts at every step), but without the ``(T, B, N)``
    spike gradient, the expanded current and its copies, and without storing the membrane (the
    backward pass recomputes it from the current, block by block in cache). Compiled for
    float32 and bfloat16 CPU tensors (a bfloat16 current, e.g. a bf16 matmul's output, is read
    as is and gets its gradient in bfloat16, rounded to nearest even); other tensors (GPU,
    float64) use :func:`lif_scan`, a bfloat16 current widened to float32 as the kernels read
    it. ``kernel``: ``"auto"``, ``"numba"`` (the kernels, or a ValueError for a tensor they
    do not take) or ``"torch"`` (the :func:`lif_scan` loop on any device: the code a GPU runs).

    Example::

        >>> cur = torch.full((4, 3), 0.6, requires_grad=True)          # (B, N), constant
        >>> spk, counts = lif_counts(cur, 5, beta=0.9, threshold=1.0)
        >>> counts[0].tolist()
        [2.0, 2.0, 2.0]
        >>> torch.equal(lif_counts(cur, 5, 0.9, 1.0, kernel="torch")[1], counts)
        True
    """
    T = int(time_steps)
    static = current.dim() == 2
    if not static and current.shape[0] != T:
        raise ValueError(f"current has {current.shape[0]} steps, expected {T}")
    if not _compiled(current, kernel):
        full = current.unsqueeze(0).expand(T, *current.shape) if static else current
        if full.dtype == torch.bfloat16:  # the kernels' arithmetic: float32 from bf16 values
            full = full.float()
        spk = lif_scan(full.contiguous(), beta, threshold, slope)
        return (None if spike_dtype is None else spk.detach().to(spike_dtype)), spk.sum(0)
    return _LIFCounts.apply(current, T, float(beta), float(threshold), float(slope),
                            spike_dtype)


def make_leaky(threshold: float, beta: float, slope: float = 10.0):
    """snnTorch ``Leaky`` configured as Lava's LIF with ``du = 1`` (reset to zero, no reset
    delay; :class:`ff_neuro.model.LIF`), with a fast-sigmoid surrogate gradient of ``slope``:
    the step-by-step reference :func:`lif_counts` is tested against."""
    import snntorch as snn
    from snntorch import surrogate
    return snn.Leaky(beta=beta, threshold=threshold, reset_mechanism="zero",
                     reset_delay=False, spike_grad=surrogate.fast_sigmoid(slope=slope))
