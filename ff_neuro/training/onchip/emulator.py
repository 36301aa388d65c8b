"""Emulator of on-chip Hebbian learning: the Lava network of :func:`~ff_neuro.training.onchip.
learning.run_lava_learning` (a ``LearningDense`` feeding a :class:`HebbianLIF`) computed on the
host, without Lava, with the same inputs and results.

``fixed_pt`` is bit-exact with Lava's ``PyLearningDenseModelBitApproximate`` and the HebbianLIF
``fixed_pt`` model, weight for weight, trace for trace and spike for spike over a whole trial,
in one compiled (numba) loop. Per time step ``t`` (``t = 1, 2, ...``, the same order as Lava's
spiking and learning phases)::

    dense     a_out = a_buff (the sum of the previous step);  x = row (t - 1) of the input
              a_buff = sum_{i: x_i} W[:, i]               (weights as learned up to step t - 1)
    neuron    reset v, l where t % W == 2 % W; the integer LIF on a_out; the 7-bit trace and
              third factor y2, y3 (:func:`ff_neuro.training.onchip.fixed.neuron_tail`, the same
              compiled code the Lava ProcessModel runs)
    learning  y2, y3 decay by one step of tau = 65535 with stochastic rounding:
                  p = exp(-1/65535) y;  y' = floor(p) + (r_y < p mod 1)
              r_y = draw 2t of default_rng(LAVA_RNG_SEED + 2).random (the y TraceRandom,
              advanced twice per spiking phase); for every spiking input i (x1 = 8) and neuron j
                  acc = sat16(sat16(W_ji << 7 + ((8 y2') >> 3 << (7 + e))) - ((8 y3') >> 3 << (7 + e)))
                  W_ji = clip((acc >> 7) + (r_w < (acc mod 128) / 128), -256, 255)
              r_w = draw t of default_rng(2).random (ConnVarRandom, advanced once per learning
              phase); sat16 clips to [-(2^15 + 1), 2^15 - 1] (Lava's 16-bit accumulator)

(draw 0 of each stream is taken when Lava builds the model). The kernel applies the learning
phase as one integer per neuron, added to the weights of the spiking inputs
(:func:`_weight_delta` says why that equals the per-synapse accumulator, saturation included).
The start weights lose their least significant bit as Lava's ``truncate_weights`` (8 bits,
mixed sign) does on the first step; the weight exponent is 0, so ``a_buff`` is the plain
integer sum. The x traces (impulse 8, tau 1e-3: forgotten at once) and the other trace
randomness have no effect and are not drawn. Like Lava's sources, the inputs wrap: the last
step (``N W + 1``) reads row 0 (it learns nothing: its polarity is 0).

``floating_pt`` computes what ``PyLearningDenseModelFloat`` and the float HebbianLIF compute,
in the same numpy operations (equal to Lava to rounding, in practice bit for bit):
``a_buff = W[:, x].sum(1)``, the float LIF, :func:`ff_neuro.training.hebbian.trace_step` and
:func:`~ff_neuro.training.hebbian.modulator`, ``W[:, x] += exp(-1/65535) (y2 - y3)``.
"""
from __future__ import annotations

import math
import time
from typing import List, Optional, Tuple

import numpy as np
from numba import njit

from ... import numba_setup  # noqa: F401  (fork-safe threading layer)
from ...run.fixed_kernels import _add_rows, _lif_vec
from .fixed import (FIXED_STATS, LAVA_RNG_SEED, X1_IMPULSE, FixedHebbianParams, new_stats,
                    neuron_tail)
from .learning import MODES, OnChipRule, check_fixed_start, record_arrays, streams

#: Lava's 3-factor rule: the y traces decay with tau = 65535 (``np.uint16`` max) before use
Y_TAU = 65535
#: ``ConnVarRandom``'s seed (Lava's default; the learning rule's ``rng_seed`` does not reach it)
CONN_RNG_SEED = 2
#: Lava's accumulator of synaptic changes: 15 bits and a sign, weights enter shifted by 7
W_ACCUMULATOR_U = 15
ACC_SHIFT = 7
#: the applier's right shift of a product: factor widths 7 (x1) + 7 (y) + 4 (mantissa) - 15
PRODUCT_SHIFT = 3
#: samples per compiled call (the progress bar moves between calls)
PIECE_SAMPLES = 500


def y_decay_tables() -> Tuple[np.ndarray, np.ndarray]:
    """``(floor, frac)`` of ``exp(-1/65535) y`` for ``y = 0..127``, computed with the same numpy
    operations as ``LearningConnectionModelBitApproximate._decay_trace`` (a decayed trace is
    ``floor + (r < frac)``)."""
    taus = np.array([Y_TAU, Y_TAU, Y_TAU])[:, np.newaxis]
    p = np.exp(-1 / taus)[1] * np.arange(128)
    return np.floor(p).astype(np.int64), p % 1


def y_decay_float() -> float:
    """``exp(-1/65535)`` as Lava's float model computes it (``np.exp`` of the taus array)."""
    return float(np.exp(-1 / np.array([Y_TAU, Y_TAU, Y_TAU])[:, np.newaxis])[1, 0])


class LearningRandoms:
    """The two random streams of Lava's bit-approximate learning engine that change results:
    ``r_w`` (stochastic weight rounding, ``ConnVarRandom``, one draw per learning phase) and
    ``r_y`` (stochastic y trace decay, the y ``TraceRandom``'s decay generator, two draws per
    spiking phase, read in the learning phase). Both are drawn once when Lava builds the
    model; :meth:`take` returns the values used at steps ``t0 .. t0 + n - 1``, in order."""

    def __init__(self, rng_seed: int = LAVA_RNG_SEED) -> None:
        self._w = np.random.default_rng(CONN_RNG_SEED)
        self._y = np.random.default_rng(rng_seed + 2)
        self._w.random(1)
        self._y.random(1)

    def take(self, n: int) -> Tuple[np.ndarray, np.ndarray]:
        r_w = self._w.random(n)
        r_y = self._y.random(2 * n)[1::2]
        return r_w, np.ascontiguousarray(r_y)


@njit(cache=True)
def _fixed_steps(t0, t1, ptr, idx, pol, wt, a_buff, v, l, window, v_keep, vth6, kind, tau_q,
                 mu_q, k, k_exact, eps_q, cross, s_exp, r_w, r_y, y_floor, y_frac, st, spikes,
                 rec_s, rec_v, rec_l, rec_y, rec_from):
    """Steps ``t0 .. t1 - 1`` of the fixed_pt network (module docstring), in place on the
    weights ``wt`` (W transposed, int32), ``a_buff``, ``v``, ``l``, the statistics ``st`` and
    the output spike count ``spikes[0]``. ``ptr``/``idx``: the spiking inputs of each input
    row (CSR); ``pol``: the polarity stream.
    With ``rec_s.shape[0] > 0`` the neurons' state of step ``t`` goes to row ``t - rec_from``.
    The learning phase adds :func:`_weight_delta`'s ``dw`` to the weights of the spiking
    inputs."""
    n_rows = ptr.shape[0] - 1
    n_pol = pol.shape[0]
    n = v.shape[0]
    u = np.zeros(n, np.int64)
    bias6 = np.zeros(n, np.int64)
    a_in = np.zeros(n, np.int32)
    s = np.zeros(n, np.uint8)
    y = np.zeros(n, np.int64)
    y_exact = np.zeros(n)
    y2 = np.zeros(n, np.int64)
    y3 = np.zeros(n, np.int64)
    dw = np.zeros(n, np.int32)
    record = rec_s.shape[0] > 0
    for t in range(t0, t1):
        row = (t - 1) % n_rows
        on = idx[ptr[row]:ptr[row + 1]]
        # dense: send the previous sum, sum the weight rows of this step's input spikes
        for j in range(n):
            a_in[j] = a_buff[j]
            a_buff[j] = 0
        _add_rows(a_buff, wt, on, on.shape[0], 1)
        # HebbianLIF
        if t % window == 2 % window:
            for j in range(n):
                v[j] = 0
                l[j] = 0
        _lif_vec(a_in, 0, u, v, 0, v_keep, bias6, vth6, s)
        polarity = pol[(t - 1) % n_pol]
        neuron_tail(l, s, polarity, kind, tau_q, mu_q, k, k_exact, eps_q, cross, y, y_exact,
                    y2, y3, st)
        for j in range(n):
            spikes[0] += s[j]
        if record:
            rt = t - rec_from
            for j in range(n):
                rec_s[rt, j] = s[j]
                rec_v[rt, j] = v[j]
                rec_l[rt, j] = l[j]
                rec_y[rt, j] = y2[j] - y3[j]
        # learning phase: y decay, the rule's products, stochastic rounding (_weight_delta)
        if not _weight_delta(y2, y3, r_y[t - t0], r_w[t - t0], s_exp, y_floor, y_frac, dw):
            continue
        for q in range(on.shape[0]):
            w_row = wt[on[q]]
            for j in range(n):
                w_row[j] = min(max(w_row[j] + dw[j], -256), 255)


@njit(cache=True)
def _weight_delta(y2, y3, r_y, r_w, s_exp, y_floor, y_frac, dw):
    """The learning phase of one step as one integer ``dw_j`` per neuron (int32, written to
    ``dw``): a spiking input's weight to neuron ``j`` becomes ``clip(W + dw_j, -256, 255)``,
    the others keep theirs. Returns whether any ``dw_j`` is nonzero.

    Lava (module docstring) decays ``y2``, ``y3`` with ``r_y``, accumulates ``acc = 128 W +
    c_j`` with ``c_j`` the sum of the two saturated products (every spiking input has ``x1 =
    8``; at most one of ``y2'``, ``y3'`` is nonzero, so ``|c_j| <= 127 * 128``), rounds
    ``acc / 128`` stochastically with ``r_w`` and saturates. Unsaturated, ``acc >> 7 = W + (c_j
    >> 7)`` and ``acc mod 128 = c_j mod 128``, so ``dw_j = (c_j >> 7) + (c_j mod 128 >
    floor(128 r_w))`` (``r_w < m / 128`` exactly when ``m > floor(128 r_w)``: ``128 r_w`` is
    exact). Saturated above (``acc > 2^15 - 1``) Lava gives 255 + (0 or 1), clipped to 255,
    and ``W + dw_j >= 256`` clips to 255 too; below (``acc < -2^15 - 1``) Lava gives -257 +
    (0 or 1), clipped to -256, and ``W + dw_j <= -256``."""
    lo = -(1 << W_ACCUMULATOR_U) - 1
    hi = (1 << W_ACCUMULATOR_U) - 1
    thr = np.int64(math.floor(r_w * 128.0))
    any_update = False
    for j in range(y2.shape[0]):
        d2 = y_floor[y2[j]] + (1 if r_y < y_frac[y2[j]] else 0)
        d3 = y_floor[y3[j]] + (1 if r_y < y_frac[y3[j]] else 0)
        c = (min(max(((X1_IMPULSE * d2) >> PRODUCT_SHIFT) << s_exp, lo), hi)
             + min(max(((-X1_IMPULSE * d3) >> PRODUCT_SHIFT) << s_exp, lo), hi))
        dw[j] = (c >> ACC_SHIFT) + np.int64((c & 127) > thr)
        if dw[j] != 0:
            any_update = True
    return any_update


@njit(cache=True)
def _spike_lists(rows):
    """``(ptr, idx)``: the inputs that spike in each row of ``rows`` (0/1), CSR."""
    ptr = np.zeros(rows.shape[0] + 1, np.int64)
    for r in range(rows.shape[0]):
        c = 0
        for i in range(rows.shape[1]):
            c += rows[r, i] != 0
        ptr[r + 1] = ptr[r] + c
    idx = np.empty(ptr[-1], np.int32)
    p = 0
    for r in range(rows.shape[0]):
        for i in range(rows.shape[1]):
            if rows[r, i] != 0:
                idx[p] = i
                p += 1
    return ptr, idx


def _chunks(n_samples: int, per: int, window: int) -> List[int]:
    """Steps of each snapshot chunk, as the Lava worker runs them (the first one step longer:
    the neurons see the last row one step late)."""
    chunks = [per * window] * (n_samples // per) + ([(n_samples % per) * window]
                                                    if n_samples % per else [])
    chunks[0] += 1
    return chunks


def _fixed_run(w0, rows, stream, window, chunks, q: FixedHebbianParams, record, bar):
    ptr, idx = _spike_lists(rows)
    pol = np.rint(stream).astype(np.int64)
    w = np.asarray(w0).astype(np.int64)
    wt = np.ascontiguousarray(((w >> 1) << 1).T.astype(np.int32))  # truncate_weights
    n = w.shape[0]
    a_buff = np.zeros(n, np.int32)
    v = np.zeros(n, np.int64)
    l = np.zeros(n, np.int64)
    st = new_stats()
    y_floor, y_frac = y_decay_tables()
    rnd = LearningRandoms()
    spikes = np.zeros(1, np.int64)
    steps = sum(chunks)
    rec = record_arrays(steps if record else 0, n, "fixed_pt")
    per_piece = PIECE_SAMPLES * window
    snaps = []
    t = 1
    args = (q.dv_q, q.vth_q, q.kernel_args(), 7 + q.y_exp)
    for chunk in chunks:
        end = t + chunk
        while t < end:
            t1 = min(end, t + per_piece)
            r_w, r_y = rnd.take(t1 - t)
            _fixed_steps(t, t1, ptr, idx, pol, wt, a_buff, v, l, window, 4096 - args[0],
                         args[1] << 6, *args[2], args[3], r_w, r_y, y_floor, y_frac, st, spikes,
                         rec["s"], rec["v"], rec["l"], rec["y"], 1)
            if bar is not None:
                bar.update((t1 - 1) // window - (t - 1) // window)
            t = t1
        snaps.append(np.ascontiguousarray(wt.T, dtype=np.int64))
    return snaps, dict(zip(FIXED_STATS, st.tolist())), rec, int(spikes[0])


#: codes of the rule's trace and probability kinds in the compiled float kernel
_TRACE_KINDS = {"li": 0, "relu": 1, "hard_li": 2}
_PROBABILITIES = {"symmetric": 0, "sigmoid": 1}


@njit(cache=True)
def _float_steps(t0, t1, ptr, idx, pol, wt, a_buff, v, l, window, keep, vth, trace, tau, mu,
                 prob, theta, alpha, eps, cross, eta, decay, spikes, rec_s, rec_v, rec_l, rec_y,
                 rec_from):
    """Steps ``t0 .. t1 - 1`` of the floating_pt network, in place on ``wt`` (W transposed,
    float64), ``a_buff``, ``v``, ``l`` and ``spikes[0]``; the operations of
    :func:`_float_run_numpy` (Lava's float models) in compiled loops. Sums run in input order
    (numpy sums pairwise), so results agree with Lava to rounding."""
    n_rows = ptr.shape[0] - 1
    n_pol = pol.shape[0]
    n = v.shape[0]
    h = n // 2
    a_in = np.zeros(n)
    y = np.zeros(n)
    record = rec_s.shape[0] > 0
    for t in range(t0, t1):
        row = (t - 1) % n_rows
        on = idx[ptr[row]:ptr[row + 1]]
        for j in range(n):
            a_in[j] = a_buff[j]
            a_buff[j] = 0.0
        for q in range(on.shape[0]):
            w_row = wt[on[q]]
            for j in range(n):
                a_buff[j] += w_row[j]
        if t % window == 2 % window:
            for j in range(n):
                v[j] = 0.0
                l[j] = 0.0
        for j in range(n):
            v[j] = v[j] * keep + a_in[j]
            s = 1.0 if v[j] > vth else 0.0
            if s > 0.0:
                v[j] = 0.0
                spikes[0] += 1
            if trace == 0:
                l[j] = tau * l[j] + mu * s
            elif trace == 1:
                l[j] = l[j] + mu * s
            else:
                l[j] = 1.0 if s > 0.0 else tau * l[j]
            if record:
                rec_s[t - rec_from, j] = s > 0.0
        p_t = pol[(t - 1) % n_pol]
        any_y = False
        if p_t != 0.0:
            positive = p_t > 0.0
            if prob == 1:                        # sigmoid: M = y - P for every neuron
                g = 0.0
                for j in range(n):
                    g += l[j] * l[j]
                m = (1.0 if positive else 0.0) - 1.0 / (1.0 + np.exp(-alpha * (g - theta)))
                for j in range(n):
                    y[j] = eta * m * l[j]
            else:                                # symmetric probability
                gp = 0.0
                gn = 0.0
                for j in range(h):
                    gp += l[j] ** 2
                for j in range(h, n):
                    gn += l[j] ** 2
                total = gp + gn + 2 * eps
                p = (gp + eps) / total
                other = -1.0 / total if cross else 0.0
                own = (1.0 - p) / (gp + eps) if positive else p / (gn + eps)
                for j in range(n):
                    first = j < h
                    m = own if first == positive else other
                    y[j] = eta * m * l[j]
            for j in range(n):
                if y[j] == 0.0:
                    y[j] = 0.0                   # no negative zero, as numpy's max - max
                else:
                    any_y = True
        else:
            for j in range(n):
                y[j] = 0.0
        if record:
            rt = t - rec_from
            for j in range(n):
                rec_v[rt, j] = v[j]
                rec_l[rt, j] = l[j]
                rec_y[rt, j] = y[j]
        if any_y and on.shape[0] > 0:
            for q in range(on.shape[0]):
                w_row = wt[on[q]]
                for j in range(n):
                    w_row[j] += decay * y[j]


def _float_run(w0, rows, stream, window, chunks, rule: OnChipRule, record, bar):
    """The floating_pt network in compiled code (:func:`_float_steps`)."""
    if rule.trace not in _TRACE_KINDS or rule.probability not in _PROBABILITIES:
        raise ValueError(f"unknown trace {rule.trace!r} or probability {rule.probability!r} "
                         f"({'|'.join(_TRACE_KINDS)}; {'|'.join(_PROBABILITIES)})")
    ptr, idx = _spike_lists(rows)
    pol = np.ascontiguousarray(stream, dtype=np.float64)
    wt = np.array(np.asarray(w0, dtype=np.float64).T, order="C")  # a copy: w0 stays as given
    n = wt.shape[1]
    a_buff, v, l = np.zeros(n), np.zeros(n), np.zeros(n)
    spikes = np.zeros(1, np.int64)
    rec = record_arrays(sum(chunks) if record else 0, n, "floating_pt")
    consts = (1.0 - rule.dv, float(rule.vth), _TRACE_KINDS[rule.trace], float(rule.tau),
              float(rule.mu), _PROBABILITIES[rule.probability], float(rule.theta),
              float(rule.alpha), float(rule.eps), bool(rule.cross_term), float(rule.eta),
              y_decay_float())
    per_piece = PIECE_SAMPLES * window
    snaps = []
    t = 1
    for chunk in chunks:
        end = t + chunk
        while t < end:
            t1 = min(end, t + per_piece)
            _float_steps(t, t1, ptr, idx, pol, wt, a_buff, v, l, window, *consts, spikes,
                         rec["s"], rec["v"], rec["l"], rec["y"], 1)
            if bar is not None:
                bar.update((t1 - 1) // window - (t - 1) // window)
            t = t1
        snaps.append(np.ascontiguousarray(wt.T))
    return snaps, None, rec, int(spikes[0])


def _float_run_numpy(w0, rows, stream, window, chunks, rule: OnChipRule, record, bar):
    """The floating_pt network in the numpy operations of Lava's float models: the readable
    reference of :func:`_float_steps`."""
    from ..hebbian import modulator, trace_step
    w = np.array(w0, dtype=np.float64)
    n = w.shape[0]
    a_buff = np.zeros(n)
    v = np.zeros(n)
    l = np.zeros(n)
    decay = y_decay_float()
    rec = record_arrays(sum(chunks) if record else 0, n, "floating_pt")
    spikes = 0
    xs = rows.view(np.bool_) if rows.dtype == np.uint8 and rows.max(initial=0) <= 1 \
        else rows.astype(bool)
    snaps = []
    t = 1
    for chunk in chunks:
        for t in range(t, t + chunk):
            x = xs[(t - 1) % xs.shape[0]]
            a_in = a_buff
            a_buff = w[:, x].sum(axis=1)
            if t % window == 2 % window:
                v[:] = 0.0
                l[:] = 0.0
            v[:] = v * (1.0 - rule.dv) + a_in
            s = v > rule.vth
            v[s] = 0.0
            spikes += int(np.count_nonzero(s))
            l[:] = trace_step(l[None], s[None].astype(float), rule.trace, rule.tau, rule.mu)[0]
            pol = float(stream[(t - 1) % stream.shape[0]])
            if pol != 0.0:
                m = modulator(l[None], np.array([1.0 if pol > 0 else 0.0]), rule.probability,
                              rule.theta, rule.alpha, rule.eps, rule.cross_term)[0]
                ml = rule.eta * m * l
                y = np.maximum(ml, 0.0) - np.maximum(-ml, 0.0)
                if x.any() and y.any():
                    w[:, x] += (decay * y)[:, None]
            else:
                y = np.zeros(n)
            if record:
                rec["s"][t - 1], rec["v"][t - 1], rec["l"][t - 1], rec["y"][t - 1] = s, v, l, y
            if bar is not None and t % window == 1:
                bar.update(1)
        t += 1
        snaps.append(w.copy())
    return snaps, None, rec, spikes


def learning_activity(rows: np.ndarray, stream: np.ndarray, steps: int, n_out: int,
                      output_spikes: int) -> dict:
    """What a trial's network did, counted over its ``steps`` time steps (the inputs wrap as
    the network reads them): ``input_spikes`` (spiking inputs, summed over steps),
    ``synaptic_ops`` (each reaches all ``n_out`` neurons), ``neuron_updates`` (``n_out`` per
    step), ``output_spikes``, ``learning_steps`` (steps of nonzero polarity: the late window
    in which the third factor is sent) and ``synaptic_updates``, the synapses the learning
    engine rewrites: those of the inputs spiking in a learning step, ``n_out`` each (the x
    trace forgets at once, so no other synapse can change; the engine is assumed to run only
    in the learning window), and ``trace_updates``: the two third-factor traces ``y2``, ``y3``
    of every neuron per learning step."""
    per_row = np.count_nonzero(rows, axis=1)
    t = np.arange(1, steps + 1)
    on = per_row[(t - 1) % rows.shape[0]]
    learn = np.asarray(stream)[(t - 1) % len(stream)] != 0
    n_learn = int(np.count_nonzero(learn))
    return {"steps": int(steps), "input_spikes": int(on.sum()),
            "synaptic_ops": int(on.sum()) * n_out, "neuron_updates": int(steps) * n_out,
            "output_spikes": int(output_spikes), "learning_steps": n_learn,
            "synaptic_updates": int(on[learn].sum()) * n_out,
            "trace_updates": 2 * n_learn * n_out}


def run_emulated_learning(w0: np.ndarray, inputs: np.ndarray, polarity: np.ndarray,
                          rule: OnChipRule, *, snapshot_every: Optional[int] = None,
                          mode: str = "floating_pt", weight_scale: float = 1.0, y_exp: int = -6,
                          record: bool = False, progress: bool = False
                          ) -> Tuple[np.ndarray, List[np.ndarray], dict]:
    """:func:`~ff_neuro.training.onchip.learning.run_lava_learning` without Lava: the same
    arguments (``inputs`` (N, T, n_in) 0/1 spikes, ``polarity`` (N, T), ``rule``, ...) and the
    same results (final W, a snapshot every ``snapshot_every`` samples and at the end, stats
    with ``samples_per_s``, ``neuron`` statistics in fixed_pt and, with ``record``, the neurons'
    state at every step; ``activity``: what the network did, :func:`learning_activity`, for
    :func:`ff_neuro.energy.learning_energy`). fixed_pt: bit-exact with Lava; floating_pt: Lava's float arithmetic
    (module docstring). ``progress``: a progress bar over the samples."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} ({'|'.join(MODES)})")
    q = None
    if mode == "fixed_pt":
        q = check_fixed_start(w0, rule, weight_scale, y_exp)
    rows, stream, window = streams(inputs, polarity)
    N = inputs.shape[0]
    chunks = _chunks(N, snapshot_every or N, window)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=N, desc=f"emulated learning ({mode})", unit="sample", leave=False,
                   dynamic_ncols=True)
    t0 = time.perf_counter()
    try:
        if mode == "fixed_pt":
            snaps, neuron, rec, spikes = _fixed_run(w0, rows, stream, window, chunks, q, record,
                                                    bar)
        else:
            snaps, neuron, rec, spikes = _float_run(w0, rows, stream, window, chunks, rule,
                                                    record, bar)
    finally:
        if bar is not None:
            bar.close()
    run_s = time.perf_counter() - t0
    stats = {"samples": N, "steps": int(sum(chunks)), "run_s": run_s,
             "compile_and_run_s": run_s, "compiles": 1, "samples_per_s": N / run_s,
             "ms_per_step": 1000 * run_s / sum(chunks),
             "activity": learning_activity(rows, stream, sum(chunks), np.shape(w0)[0], spikes)}
    if neuron is not None:
        stats["neuron"] = neuron
    if record:
        stats["record"] = rec
    return snaps[-1], snaps, stats


__all__ = ["LearningRandoms", "learning_activity", "run_emulated_learning", "y_decay_float", "y_decay_tables"]
