"""Fixed-point emulator: Lava's ``fixed_pt`` Dense + LIF, vectorised over whole test sets.

Bit-exact re-implementation of, in lava-nc 0.10.0 / lava-dl 0.6.0:

* ``lava.lib.dl.netx.utils.optimize_weight_bits`` (how NetX maps file weights to a mantissa and
  ``weight_exp``), then ``lava.utils.weightutils.clip_weights`` / ``truncate_weights`` and the
  shift in ``PyDenseModelBitAcc.run_spk``;
* ``AbstractPyLifModelFixed.subthr_dynamics`` and ``PyLifResetModelBitAcc.run_spk``: 12-bit
  decays with truncation toward zero, activation and threshold MSB-aligned by 6 bits, 24-bit
  current that wraps around, 24-bit voltage that saturates, spike on ``v > vth << 6``, reset to 0.

Per layer and step (integers; ``>>`` below is an arithmetic shift)::

    a[t] = (W_eff @ x[t]) >> sb                  # W_eff = W_q << sb (NetX), exact
    u[t] = wrap24(trunc(u[t-1] * (4096 - i_decay) / 4096) + (a[t] << 6))
    v[t] = sat24(trunc(v[t-1] * (4096 - v_decay) / 4096) + u[t] + (bias << 6))
    s[t] = v[t] > vth << 6;   v[t] = 0 where s[t]

Time is the per-layer relative time of :mod:`ff_neuro.model.primitives` (Lava's Dense latency is
absorbed by the staggered resets), so a sample's ``T`` steps are one batch column here and
whole test sets run at once.

Two engines compute the same integers: :func:`run_fixed_layer` (numpy, the readable reference)
and the fused numba kernels of :mod:`ff_neuro.run.fixed_kernels` (the default), which also
share work across a label sweep: a sample's image part of the first layer's synaptic sums is
computed once for all candidate labels, and a deeper layer sums the weight rows of its inputs'
majority pattern once per sample and step, then only the rows where a run differs.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import List, Optional, Tuple

import numpy as np

from ..model.primitives import DECAY_UNITY, FFNetwork, QuantizedDense
from .backend import Backend, LayerSpikes

UV_MAX = 2**23  # 24-bit state
DECAY_SHIFT = 12
ACT_SHIFT = 6
VTH_SHIFT = 6
BIAS_EXP = 6  # NetX loads bias as bias_mant with bias_exp = 6


def netx_weight_bits(weight: np.ndarray) -> Tuple[np.ndarray, int, int]:
    """What NetX + Lava Dense make of integer file weights: ``(W_eff, weight_exp, n_bits)``.

    A port of ``optimize_weight_bits`` followed by ``clip_weights(.., 8)`` and
    ``truncate_weights`` (mixed, excitatory and inhibitory sign modes).
    """
    w = np.asarray(weight).astype(np.int64)
    max_w, min_w = int(w.max()), int(w.min())
    if (max_w > 254 and min_w < 0) or (min_w < -256 and max_w > 0):
        w = np.clip(w, -256, 254)
        max_w, min_w = int(w.max()), int(w.min())
    if max_w < 0:
        mode, signed = "inh", 0
        scale = -256 / min_w
    elif min_w >= 0:
        mode, signed = "exc", 0
        if max_w == 0:
            raise ValueError("NetX cannot map an all-zero weight matrix (division by zero)")
        scale = 255 / max_w
    else:
        mode, signed = "mixed", 1
        scale = min(127 / max_w, -128 / min_w)
    scale_bits = int(np.floor(np.log2(scale))) + signed
    # optimize_weight_bits: the largest n <= 8 with every weight a multiple of 2**n (Lava tries
    # n = 8, 7, .. with float division; the trailing zero bits of the OR of all weights say it
    # in one pass)
    orv = int(np.bitwise_or.reduce(w, axis=None)) if w.size else 0
    n = 8 if orv == 0 else min(8, (orv & -orv).bit_length() - 1)
    n -= signed
    num_weight_bits = 8 - scale_bits - n
    weight_exp = -scale_bits
    w = np.left_shift(w.astype(np.int32), scale_bits).astype(np.int64)
    # clip_weights(sign_mode, num_bits=8)
    if mode == "inh":
        w = -w
    lo = -(2**8) if mode == "mixed" else 0
    hi = 2**8 - 1
    w = np.clip(w, lo, hi)
    if mode == "inh":
        w = -w
    # truncate_weights(sign_mode, num_weight_bits)
    if mode == "inh":
        w = -w
    trunc = 8 - num_weight_bits + (1 if mode == "mixed" else 0)
    w = (w >> trunc) << trunc
    if mode == "inh":
        w = -w
    return w, weight_exp, num_weight_bits


def _trunc_decay(x: np.ndarray, decay: int) -> np.ndarray:
    """``sign(x) * (|x * (4096 - decay)| >> 12)``: Lava's decay, truncating toward zero."""
    prod = x * (DECAY_UNITY - decay)
    return np.sign(prod) * (np.abs(prod) >> DECAY_SHIFT)


def run_fixed_layer(q: QuantizedDense, x: np.ndarray) -> np.ndarray:
    """Run one quantized layer on spikes ``x`` (T, B, n_in) -> spikes (T, B, n_out).

    ``x`` holds binary spikes, or graded integer messages for a graded-input layer 0 (Lava's
    Dense then computes ``W @ x`` with the message values, as here)."""
    w_eff, weight_exp, _ = netx_weight_bits(q.weight)
    T, B, _ = x.shape
    # Integer sums are exact in float32 below 2**24 (float64: 2**53): pick the cheaper exact one.
    bound = q.n_in * 256 * int(x.max(initial=1)) * 2**max(0, -weight_exp)
    ftype = np.float32 if bound < 2**24 else np.float64
    acc = np.matmul(x.astype(ftype), w_eff.T.astype(ftype)).astype(np.float64)
    # Dense: right shift (floor) by -weight_exp, then the LIF's 6-bit MSB alignment. All state
    # is kept in float64, where every value here (|x| < 2**36) is an exact integer: products
    # with 12-bit decays are exact, division by 4096 is exact, and np.trunc rounds toward zero
    # exactly as Lava's sign(x) * (|x| >> 12).
    if weight_exp > 0:
        acc *= 2.0**weight_exp
    elif weight_exp < 0:
        np.floor(acc / 2.0**(-weight_exp), out=acc)
    a_in = acc * float(1 << ACT_SHIFT)
    bias = 0.0 if q.bias_mant is None else q.bias_mant.astype(np.float64) * (1 << BIAS_EXP)
    vth = float(q.vth << VTH_SHIFT)
    lo, hi = float(-UV_MAX + 1), float(UV_MAX - 1)
    u_keep = (DECAY_UNITY - q.i_decay) / DECAY_UNITY  # 0 when i_decay = 4096 (du = 1)
    v_keep = (DECAY_UNITY - q.v_decay) / DECAY_UNITY
    # u wraps only outside (-2**23, 2**23]: with no current memory u = a_in, check once.
    may_wrap = u_keep != 0 or not (a_in.size == 0 or (a_in.max() <= UV_MAX
                                                       and a_in.min() > -UV_MAX))
    u = np.zeros((B, q.n_out))
    v = np.zeros((B, q.n_out))
    tmp = np.empty((B, q.n_out))
    keep = np.empty((B, q.n_out), dtype=bool)
    out = np.empty((T, B, q.n_out), dtype=np.uint8)
    for t in range(T):
        if u_keep == 0:
            u = a_in[t]
        else:
            np.multiply(u, u_keep * DECAY_UNITY, out=tmp)
            np.trunc(tmp / DECAY_UNITY, out=u)
            u += a_in[t]
        if may_wrap:
            cur = u
            wrapped = np.where(cur > UV_MAX, cur - 2 * UV_MAX, cur)
            u = np.where(wrapped <= -UV_MAX, cur + 2 * UV_MAX, wrapped)
        if v_keep != 1.0:
            np.multiply(v, v_keep * DECAY_UNITY, out=v)
            v /= DECAY_UNITY
            np.trunc(v, out=v)
        v += u
        if q.bias_mant is not None:
            v += bias
        np.minimum(v, hi, out=v)  # 24-bit saturation
        np.maximum(v, lo, out=v)
        s = np.greater(v, vth, out=out[t].view(bool))
        np.logical_not(s, out=keep)
        np.multiply(v, keep, out=v)  # reset to zero where spiked
    return out


def _exact_sums(x: np.ndarray, w_eff: np.ndarray, rows16: Optional[np.ndarray] = None,
                out: Optional[np.ndarray] = None) -> np.ndarray:
    """``x @ W_eff.T`` (T, N, n_out), exactly: for 0/1 spikes and given ``rows16``
    (``W_eff.T`` in int16, :func:`_rows16`), as sparse sums of weight rows
    (:func:`~ff_neuro.run.fixed_kernels.sparse_sums`, int32); otherwise by a float GEMM that is
    exact: float32 while every partial sum stays below 2**24 (the values are integers held in
    floats), else float64. ``out``: an int32 buffer for the sparse path."""
    if rows16 is not None and x.dtype == np.uint8 and x.ndim == 3 and x.max(initial=0) <= 1:
        from . import fixed_kernels as fk
        if out is None:
            out = np.empty(x.shape[:2] + (w_eff.shape[0],), np.int32)
        fk.sparse_sums(x, rows16, out)
        return out
    bound = w_eff.shape[1] * 256 * max(1, int(x.max(initial=1)))
    ftype = np.float32 if bound < 2**24 else np.float64
    return np.matmul(x.astype(ftype), w_eff.T.astype(ftype))


def _rows16(w_eff: np.ndarray) -> np.ndarray:
    """``W_eff.T`` as int16 rows for :func:`~ff_neuro.run.fixed_kernels.lif_from_spikes`."""
    if w_eff.size and np.abs(w_eff).max() > 256:
        raise ValueError("effective weights beyond 8 bits (|W_eff| > 256): not a Loihi layer")
    return np.ascontiguousarray(w_eff.T.astype(np.int16))


_WEIGHT_CACHE: "OrderedDict[int, tuple]" = OrderedDict()


def _compiled_layer(q: QuantizedDense) -> tuple:
    """``(W_eff, weight_exp, W_eff.T int16, u_keep, v_keep, bias << 6, vth << 6)`` for the
    compiled kernels. The weight mapping is memoised per weight array (a label sweep asks for
    it once per chunk); an entry is used only while the array still holds the same values."""
    weight = q.weight
    hit = _WEIGHT_CACHE.get(id(weight))
    if hit is not None and hit[0].shape == weight.shape and np.array_equal(hit[0], weight):
        _WEIGHT_CACHE.move_to_end(id(weight))
        w_eff, w_exp, rows = hit[1:]
    else:
        w_eff, w_exp, _ = netx_weight_bits(weight)
        w_exp, rows = int(w_exp), _rows16(w_eff)
        _WEIGHT_CACHE[id(weight)] = (np.array(weight, copy=True), w_eff, w_exp, rows)
        while len(_WEIGHT_CACHE) > 16:
            _WEIGHT_CACHE.popitem(last=False)
    bias6 = (np.zeros(q.n_out, np.int64) if q.bias_mant is None
             else q.bias_mant.astype(np.int64) << BIAS_EXP)
    return (w_eff, w_exp, rows, DECAY_UNITY - q.i_decay, DECAY_UNITY - q.v_decay, bias6,
            int(q.vth) << VTH_SHIFT)


class EmulatorBackend(Backend):
    """Loihi fixed point on the CPU; needs ``net.quantized`` (see
    :func:`ff_neuro.quantization.quantize`).

    ``engine="compiled"`` (default) runs the fused numba kernels of
    :mod:`ff_neuro.run.fixed_kernels`; ``engine="numpy"`` the reference
    :func:`run_fixed_layer`. Both are bit-exact with Lava ``fixed_pt``.
    """

    name = "emulator"

    def __init__(self, batch_size: int = 8192, engine: str = "compiled"):
        if engine not in ("compiled", "numpy"):
            raise ValueError(f"unknown emulator engine {engine!r} (compiled|numpy)")
        self.batch_size = batch_size
        self.engine = engine
        self._pool: dict = {}     # scratch buffers of sum_sq_counts_factored (one caller at a time)

    @staticmethod
    def _check(net: FFNetwork) -> None:
        if net.quantized is None:
            raise ValueError("the emulator runs quantized models: quantize the network first "
                             "(ff_neuro.quantization.quantize or `ff-neuro quantize`)")

    def run(self, net: FFNetwork, spikes: np.ndarray) -> LayerSpikes:
        self._check(net)
        spikes = self.check_input(net, spikes)
        outs: List[List[np.ndarray]] = [[] for _ in net.quantized]
        for start in range(0, spikes.shape[1], self.batch_size):
            x = spikes[:, start:start + self.batch_size]
            if self.engine == "numpy":
                for k, q in enumerate(net.quantized):
                    x = run_fixed_layer(q, x)
                    outs[k].append(x)
                continue
            B = x.shape[1]
            lab = np.zeros((x.shape[0], 1, net.quantized[0].n_in), np.uint8)
            res = self._run_compiled(net, x, lab, np.arange(B), np.zeros(B, np.int64))
            for k, s in enumerate(res):
                outs[k].append(s)
        return LayerSpikes([np.concatenate(o, axis=1) for o in outs])

    def run_factored(self, net: FFNetwork, img: np.ndarray, lab: np.ndarray) -> LayerSpikes:
        """Label-sweep runs ``n * C + c`` with input ``img[:, n] + lab[:, c]`` (see
        :meth:`Backend.run_factored`): the image part of the first layer's synaptic sums is
        computed once per sample and shared by its ``C`` runs."""
        self._check(net)
        if self.engine == "numpy":
            return super().run_factored(net, img, lab)
        img = self.check_input(net, img)
        lab = self.check_input(net, lab)
        N, C = img.shape[1], lab.shape[1]
        r = np.arange(N * C)
        return LayerSpikes(self._run_compiled(net, img, lab, r // C, r % C, group=C))

    def sum_sq_counts_factored(self, net: FFNetwork, img: np.ndarray,
                               lab: np.ndarray) -> List[np.ndarray]:
        """:meth:`run_factored` reduced to ``sum_j count_j**2`` per layer and run; the spike
        arrays do not leave the call, so they live in buffers reused from call to call (a
        label sweep's chunks would otherwise fault in fresh pages for every chunk: ~10 % of
        its time)."""
        if self.engine == "numpy":
            return super().sum_sq_counts_factored(net, img, lab)
        self._check(net)
        img = self.check_input(net, img)
        lab = self.check_input(net, lab)
        N, C = img.shape[1], lab.shape[1]
        r = np.arange(N * C)
        spikes = self._run_compiled(net, img, lab, r // C, r % C, group=C, pool=self._pool)
        return LayerSpikes(spikes).sum_sq_counts()

    @staticmethod
    def _run_compiled(net: FFNetwork, img: np.ndarray, lab: np.ndarray, idx_a: np.ndarray,
                      idx_b: np.ndarray, group: int = 1,
                      pool: Optional[dict] = None) -> List[np.ndarray]:
        """Every layer's spikes; with ``pool`` (a dict kept by the caller) the arrays are
        scratch buffers, reused by the next call with the same shapes."""
        from . import fixed_kernels as fk

        def buf(name, shape, dtype):
            if pool is None:
                return np.empty(shape, dtype)
            a = pool.get(name)
            if a is None or a.shape != shape or a.dtype != dtype:
                a = pool[name] = np.empty(shape, dtype)
            return a

        T = img.shape[0]
        out = []
        w_eff, w_exp, rows, u_keep, v_keep, bias6, vth6 = _compiled_layer(net.quantized[0])
        acc_a = _exact_sums(img, w_eff, rows, out=buf("acc_a", img.shape[:2] + (w_eff.shape[0],),
                                                      np.int32))
        acc_b = _exact_sums(lab, w_eff, rows)
        s = buf("s0", (T, idx_a.shape[0], w_eff.shape[0]), np.uint8)
        fk.lif_from_currents(acc_a, idx_a.astype(np.int64), acc_b, idx_b.astype(np.int64),
                             w_exp, u_keep, v_keep, bias6, vth6, s)
        out.append(s)
        for k, q in enumerate(net.quantized[1:], start=1):
            w_eff, w_exp, rows, u_keep, v_keep, bias6, vth6 = _compiled_layer(q)
            nxt = buf(f"s{k}", (T, s.shape[1], w_eff.shape[0]), np.uint8)
            fk.lif_from_spikes(s, rows, group, w_exp, u_keep, v_keep, bias6, vth6, nxt)
            out.append(nxt)
            s = nxt
        return out
