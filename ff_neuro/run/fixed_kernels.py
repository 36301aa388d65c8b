"""Compiled (numba) kernels of the fixed-point emulator: Lava's LIF ``fixed_pt`` arithmetic,
one fused loop per run, in int64.

Why numba and not numpy: a label sweep is ``C`` runs x ``T`` steps x every neuron of every layer,
and numpy spends about ten full-array passes per LIF step (decay, truncation, wrap, saturation,
threshold, reset). Fused into one loop per neuron the same integer arithmetic runs about an order
of magnitude faster, and binary spikes into a layer become a sparse sum of weight rows (only
the inputs that spiked are read) instead of a dense matmul. The numpy reference
(:func:`ff_neuro.run.emulator.run_fixed_layer`) stays as the readable specification; tests check
the two agree spike for spike, ``tests/test_lif_reference.py`` checks the neuron step against
:func:`ff_neuro.run.lif.loihi_lif_step` on edge cases, and the parity tests check both engines
against Lava.

Arithmetic per neuron and step, exactly as ``AbstractPyLifModelFixed`` and
``PyDenseModelBitAcc`` (see :mod:`ff_neuro.run.emulator`)::

    a    = (sum_i W_eff[j, i] x[i]) << w_exp   or  >> -w_exp (floor)
    u    = wrap24(decay(u, i_decay) + (a << 6))
    v    = sat24(decay(v, v_decay) + u + (bias << 6))
    s    = v > vth << 6 ;  v = 0 where s
    decay(y, d) = sign(y * (4096 - d)) * (|y * (4096 - d)| >> 12)
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .. import numba_setup  # noqa: F401  (fork-safe threading layer)

UV_MAX = 2**23


@njit(parallel=True, cache=True)
def lif_from_currents(acc_a, idx_a, acc_b, idx_b, w_exp, u_keep, v_keep, bias6, vth6, out):
    """First layer: synaptic sums given as the sum of two shared parts.

    ``acc_a`` (T, Na, n) and ``acc_b`` (T, Nb, n) hold exact integers (int or float); run ``r`` gets
    ``acc_a[:, idx_a[r]] + acc_b[:, idx_b[r]]`` (the sample's image part plus the candidate
    label's part: a label sweep computes each image's sum once, not once per label).
    Writes spikes into ``out`` (T, R, n) uint8.
    """
    T, R, n = out.shape
    B = 16                                   # runs per task: state arrays allocated once
    for blk in prange((R + B - 1) // B):
        u = np.empty(n, np.int64)
        v = np.empty(n, np.int64)
        a = np.empty(n, np.int64)
        for r in range(blk * B, min(R, blk * B + B)):
            u[:] = 0
            v[:] = 0
            ia, ib = idx_a[r], idx_b[r]
            for t in range(T):
                for j in range(n):
                    a[j] = np.int64(acc_a[t, ia, j]) + np.int64(acc_b[t, ib, j])
                _lif_vec(a, w_exp, u, v, u_keep, v_keep, bias6, vth6, out[t, r])


@njit(cache=True)
def _add_rows(acc, wt, rows, n_rows, sign):
    """``acc += sign * wt[rows[:n_rows]].sum(0)`` (int32 ``acc``). Four rows per pass over
    ``acc``: one load and store of ``acc`` per four rows (about 2-3x faster than row by row).
    A standalone function so that LLVM vectorises the loop (it does not inside the parallel
    loop body)."""
    n = acc.shape[0]
    ii = 0
    while ii + 4 <= n_rows:
        a = wt[rows[ii]]
        b = wt[rows[ii + 1]]
        c = wt[rows[ii + 2]]
        d = wt[rows[ii + 3]]
        if sign > 0:
            for j in range(n):
                acc[j] += (np.int32(a[j]) + np.int32(b[j])) + (np.int32(c[j]) + np.int32(d[j]))
        else:
            for j in range(n):
                acc[j] -= (np.int32(a[j]) + np.int32(b[j])) + (np.int32(c[j]) + np.int32(d[j]))
        ii += 4
    while ii < n_rows:
        a = wt[rows[ii]]
        if sign > 0:
            for j in range(n):
                acc[j] += a[j]
        else:
            for j in range(n):
                acc[j] -= a[j]
        ii += 1


@njit(cache=True)
def _lif_vec(acc, w_exp, u, v, u_keep, v_keep, bias6, vth6, out):
    """:func:`_lif_step` for a whole layer, written branch-free (selects by arithmetic) so
    that LLVM vectorises it. ``(p + ((p >> 63) & 4095)) >> 12`` is ``p / 4096`` truncated
    toward zero, Lava's ``sign(p) * (|p| >> 12)``.

    Two loops, not one: numba cannot tell LLVM that ``u``, ``v`` and ``out`` do not overlap,
    so LLVM vectorises a loop only behind run-time overlap checks, and gives up when a loop
    writes three arrays (too many checks). Split, each loop vectorises (AVX-512 here: about
    5x faster than the fused scalar loop)."""
    lo, hi = -UV_MAX + 1, UV_MAX - 1
    mul = np.int64(1) << max(w_exp, 0)
    sh = max(-w_exp, 0)
    n = acc.shape[0]
    if u_keep == 0:      # no current memory (du = 1, the usual FF layer): u = wrap24(a << 6)
        for j in range(n):
            uj = ((np.int64(acc[j]) * mul) >> sh) << 6
            w = uj - 2 * UV_MAX * np.int64(uj > UV_MAX)
            w = w + (uj + 2 * UV_MAX - w) * np.int64(w <= -UV_MAX)
            u[j] = w
    else:
        for j in range(n):
            a = (np.int64(acc[j]) * mul) >> sh
            p = u[j] * u_keep
            uj = ((p + ((p >> 63) & 4095)) >> 12) + (a << 6)
            w = uj - 2 * UV_MAX * np.int64(uj > UV_MAX)
            w = w + (uj + 2 * UV_MAX - w) * np.int64(w <= -UV_MAX)
            u[j] = w
    for j in range(n):
        p = v[j] * v_keep
        vj = ((p + ((p >> 63) & 4095)) >> 12) + u[j] + bias6[j]
        vj = min(max(vj, lo), hi)
        s = np.int64(vj > vth6)
        v[j] = vj * (1 - s)
        out[j] = s


@njit(parallel=True, cache=True)
def sparse_sums(x, wt, out):
    """``out[t, r] = W_eff x[t, r]`` for 0/1 spikes ``x`` (T, N, n_in) uint8: the sum of the
    weight rows (``wt`` = ``W_eff.T``, int16) of the inputs that spiked, in int32. At the
    input rates of rate-coded images (~30 %) this is about 3x faster than a float GEMM."""
    T, N, n_in = x.shape
    rows = np.empty((N, n_in), np.int64)
    for r in prange(N):
        for t in range(T):
            k = 0
            for i in range(n_in):
                rows[r, k] = i
                k += x[t, r, i]
            out[t, r, :] = 0
            _add_rows(out[t, r], wt, rows[r], k, 1)


@njit(parallel=True, cache=True)
def lif_from_spikes(x, wt, group, w_exp, u_keep, v_keep, bias6, vth6, out):
    """A layer fed by binary spikes ``x`` (T, R, n_in) uint8 through ``wt`` = ``W_eff.T``
    (n_in, n_out) int16 (|W_eff| <= 256); only weight rows of inputs that spiked are summed
    (in int32).

    Runs come in groups of ``group`` consecutive runs (the candidate labels of one sample).
    Their input spikes mostly agree, so per group and step the sum over the majority pattern
    ``m`` is computed once, and each run adds the rows where it differs from ``m``:
    ``W x = W m + W (x - m)``, exact in integers. ``W m`` itself is updated from the previous
    step's by the rows where ``m`` changed (about a third of its on rows here). ``group = 1``
    is the plain sparse sum. ``x`` must be 0/1.
    """
    T, R, n_in = x.shape
    n = wt.shape[1]
    G = R // group
    for g in prange(G):
        r0 = g * group
        u = np.zeros((group, n), np.int64)
        v = np.zeros((group, n), np.int64)
        base = np.zeros(n, np.int32)
        acc = np.empty(n, np.int32)
        maj = np.zeros(n_in, np.uint8)     # the majority pattern of the previous step
        on = np.empty(n_in, np.int64)
        off = np.empty(n_in, np.int64)
        cnt = np.empty(n_in, np.int64)
        mixed = np.empty(n_in, np.int64)
        for t in range(T):
            cnt[:] = 0
            for k in range(group):
                for i in range(n_in):
                    cnt[i] += x[t, r0 + k, i]
            # the majority moves little from step to step: update its sum by the difference
            n_on = 0
            n_off = 0
            n_mixed = 0
            for i in range(n_in):
                c = cnt[i]
                m = np.uint8(2 * c > group)
                pm = maj[i]
                maj[i] = m
                on[n_on] = i                 # branch-free list building (no mispredictions)
                n_on += m & (1 - pm)
                off[n_off] = i
                n_off += pm & (1 - m)
                mixed[n_mixed] = i           # inputs where the runs disagree
                n_mixed += (c > 0) & (c < group)
            _add_rows(base, wt, on, n_on, 1)
            _add_rows(base, wt, off, n_off, -1)
            for k in range(group):
                n_on = 0
                n_off = 0
                for ii in range(n_mixed):    # a run can differ from m only where runs disagree
                    i = mixed[ii]
                    xi = x[t, r0 + k, i]
                    mi = maj[i]
                    on[n_on] = i
                    n_on += xi & (1 - mi)
                    off[n_off] = i
                    n_off += mi & (1 - xi)
                acc[:] = base
                _add_rows(acc, wt, on, n_on, 1)
                _add_rows(acc, wt, off, n_off, -1)
                _lif_vec(acc, w_exp, u[k], v[k], u_keep, v_keep, bias6, vth6, out[t, r0 + k])


@njit(parallel=True, cache=True)
def sum_sq_counts(s, out):
    """``out[r] = sum_j (sum_t s[t, r, j])**2`` for spikes ``s`` (T, R, n) uint8: the
    integer part of FF goodness, without materialising the counts."""
    T, R, n = s.shape
    for r in prange(R):
        c = np.zeros(n, np.int64)
        for t in range(T):
            for j in range(n):
                c[j] += s[t, r, j]
        acc = 0
        for j in range(n):
            acc += c[j] * c[j]
        out[r] = acc

