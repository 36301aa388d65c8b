"""Fixed-point emulator: Lava's ``fixed_pt`` models of a network's Loihi layers, on whole test
sets at once.

Bit-exact re-implementation of, in lava-nc 0.10.0 / lava-dl 0.6.0:

* dense synapses: ``lava.lib.dl.netx.utils.optimize_weight_bits`` (how NetX maps file weights
  to a mantissa and ``weight_exp``), then ``lava.utils.weightutils.clip_weights`` /
  ``truncate_weights`` and the shift in ``PyDenseModelBitAcc.run_spk``;
* conv synapses: ``PyConvModelFixed`` (integer convolution, 24-bit signed clamp; NetX loads conv
  weights unchanged, no weight exponent);
* neurons: Loihi's integer LIF (:class:`~ff_neuro.model.neuron.LoihiLIF`,
  :func:`ff_neuro.run.lif.loihi_lif_step`).

Per layer and step (integers)::

    a[t] = (W_eff @ x[t]) >> sb          dense: W_eff = W_q << sb (NetX), exact
    a[t] = clamp24(conv2d(x[t], W_q))    conv
    then the Loihi LIF step on a[t]

Time is the per-layer relative time of :mod:`ff_neuro.model.network` (Lava's latency is
absorbed by the staggered resets), so a sample's ``T`` steps are one batch column here.

Two engines compute the same integers: ``engine="numpy"``, the readable reference (exact
synaptic sums, then :func:`~ff_neuro.run.lif.run_loihi_lif`), and ``engine="compiled"`` (the
default): the fused numba kernels of :mod:`ff_neuro.run.fixed_kernels` for dense layers, which
also share work across a label sweep (a sample's image part of the first layer's synaptic sums
is computed once for all candidate labels, and a deeper layer sums the weight rows of its
inputs' majority pattern once per sample and step, then only the rows where a run differs),
and vectorised torch for conv layers.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from typing import List, Optional, Tuple

import numpy as np
import torch

from ..model.layer import Layer
from ..model.network import Network
from ..model.neuron import DECAY_UNITY
from ..model.synapse import Conv2d
from .backend import Backend, LayerSpikes, RunStats
from .lif import (ACT_SHIFT, BIAS_EXP, UV_MAX, VTH_SHIFT, neuron_kwargs, run_loihi_lif,
                  shift_activation)


def netx_weight_bits(weight: np.ndarray) -> Tuple[np.ndarray, int, int]:
    """What NetX + Lava Dense make of integer file weights: ``(W_eff, weight_exp, n_bits)``.

    A port of ``optimize_weight_bits`` followed by ``clip_weights(.., 8)`` and
    ``truncate_weights`` (mixed, excitatory and inhibitory sign modes).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.run.emulator import netx_weight_bits
        >>> w_eff, weight_exp, n_bits = netx_weight_bits(np.array([[8, 16], [24, 0]]))
        >>> w_eff, weight_exp, n_bits           # multiples of 8: 2 bits, shifted by 2**-3
        (array([[ 64, 128],
               [192,   0]]), -3, 2)
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
        # numpy's division in lava-dl: 127 / 0 is inf (a matrix with no positive weight)
        scale = min(127 / max_w if max_w > 0 else float("inf"), -128 / min_w)
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


def _exact_matmul(x: np.ndarray, w_eff: np.ndarray) -> np.ndarray:
    """``x @ W_eff.T`` exactly, by a float GEMM: float32 while every partial sum stays below
    2**24 (the values are integers held in floats), else float64."""
    bound = w_eff.shape[1] * 256 * max(1, int(x.max(initial=1)))
    ftype = np.float32 if bound < 2**24 else np.float64
    return np.matmul(x.astype(ftype), w_eff.T.astype(ftype))


def _exact_sums(x: np.ndarray, w_eff: np.ndarray, rows16: Optional[np.ndarray] = None,
                out: Optional[np.ndarray] = None) -> np.ndarray:
    """``x @ W_eff.T`` (T, N, n_out), exactly: for 0/1 spikes and given ``rows16``
    (``W_eff.T`` in int16, :func:`_rows16`), as sparse sums of weight rows
    (:func:`~ff_neuro.run.fixed_kernels.sparse_sums`, int32); otherwise by an exact float GEMM.
    ``out``: an int32 buffer for the sparse path."""
    if rows16 is not None and x.dtype == np.uint8 and x.ndim == 3 and x.max(initial=0) <= 1:
        from . import fixed_kernels as fk
        if out is None:
            out = np.empty(x.shape[:2] + (w_eff.shape[0],), np.int32)
        fk.sparse_sums(x, rows16, out)
        return out
    return _exact_matmul(x, w_eff)


def _rows16(w_eff: np.ndarray) -> np.ndarray:
    """``W_eff.T`` as int16 rows for :func:`~ff_neuro.run.fixed_kernels.lif_from_spikes`."""
    if w_eff.size and np.abs(w_eff).max() > 256:
        raise ValueError("effective weights beyond 8 bits (|W_eff| > 256): not a Loihi layer")
    return np.ascontiguousarray(w_eff.T.astype(np.int16))


_WEIGHT_CACHE: "OrderedDict[int, tuple]" = OrderedDict()


def _dense_weights(weight: np.ndarray) -> tuple:
    """``(W_eff, weight_exp, W_eff.T int16)``, memoised per weight array (a label sweep asks
    for it once per chunk); an entry is used only while the array still holds the same values."""
    hit = _WEIGHT_CACHE.get(id(weight))
    if hit is not None and hit[0].shape == weight.shape and np.array_equal(hit[0], weight):
        _WEIGHT_CACHE.move_to_end(id(weight))
        return hit[1:]
    w_eff, w_exp, _ = netx_weight_bits(weight)
    w_exp, rows = int(w_exp), _rows16(w_eff)
    _WEIGHT_CACHE[id(weight)] = (np.array(weight, copy=True), w_eff, w_exp, rows)
    while len(_WEIGHT_CACHE) > 16:
        _WEIGHT_CACHE.popitem(last=False)
    return w_eff, w_exp, rows


def _neuron_args(q: Layer) -> tuple:
    """``(u_keep, v_keep, bias << 6, vth << 6)`` of a dense Loihi layer for the kernels."""
    n = q.neuron
    bias6 = (np.zeros(q.n_out, np.int64) if q.bias is None
             else q.bias.astype(np.int64) << BIAS_EXP)
    return DECAY_UNITY - n.i_decay, DECAY_UNITY - n.v_decay, bias6, int(n.vth) << VTH_SHIFT


# -- conv layers ---------------------------------------------------------------------------
def exact_int_conv(x: torch.Tensor, w: np.ndarray, stride, padding, dilation=1) -> torch.Tensor:
    """Integer convolution, exact, as float64 integers: (T, B, C, H, W) -> (T, B, C', H', W')."""
    from .float_backend import conv_steps
    xmax = int(x.max().item()) if x.numel() else 1
    bound = int(np.prod(w.shape[1:])) * int(np.abs(w).max(initial=1)) * max(1, xmax)
    dtype = torch.float32 if bound < 2**24 else torch.float64
    y = conv_steps(x.to(dtype), torch.from_numpy(w.astype(np.float64)).to(dtype), stride, padding,
                   dilation)
    return torch.round(y).to(torch.float64)  # exact already; round guards against any
    # fast-convolution algorithm (e.g. Winograd) leaving a sub-0.5 error


def conv_activation(q: Layer, x: np.ndarray) -> torch.Tensor:
    """Lava ``PyConvModelFixed``: ``clamp24(conv2d(x, W_q))`` (wraps to signed 24 bits), as
    exact integers in float64."""
    syn = q.synapse
    a = exact_int_conv(torch.from_numpy(np.ascontiguousarray(x)), q.weight, syn.stride,
                       syn.padding, syn.dilation)
    if a.numel() and float(a.abs().max()) >= UV_MAX:
        a = torch.remainder(a + UV_MAX, 2 * UV_MAX) - UV_MAX
    return a


def _trunc_decay(x: torch.Tensor, decay: int) -> torch.Tensor:
    """Lava's ``sign(p) * (|p| >> 12)``, ``p = x * (4096 - decay)``: exact in float64
    (|p| < 2**36)."""
    return torch.trunc(x * ((DECAY_UNITY - decay) / DECAY_UNITY))


@torch.no_grad()
def conv_fixed_layer(q: Layer, x: np.ndarray) -> np.ndarray:
    """A conv Loihi layer, vectorised in torch: ``x`` (T, B, C, H, W) integer messages ->
    spikes uint8. All state is float64 holding exact integers (every value stays below
    2**36); tested against :func:`~ff_neuro.run.lif.loihi_lif_step`.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import Conv2d, Layer
        >>> from ff_neuro.run.emulator import conv_fixed_layer
        >>> q = Layer.loihi(Conv2d(weight=np.full((1, 1, 3, 3), 10), in_shape=(1, 4, 4),
        ...                        padding=1), vth=50, v_decay=0)
        >>> x = np.ones((2, 1, 1, 4, 4), np.uint8)               # (T, B, C, H, W)
        >>> conv_fixed_layer(q, x)[0, 0, 0]                      # corners see 4 x 10 < 50
        array([[0, 1, 1, 0],
               [1, 1, 1, 1],
               [1, 1, 1, 1],
               [0, 1, 1, 0]], dtype=uint8)
    """
    n = q.neuron
    a = conv_activation(q, x) * float(1 << ACT_SHIFT)
    bias = (None if q.bias is None else
            torch.from_numpy(q.bias.astype(np.float64) * (1 << BIAS_EXP))[None, :, None, None])
    vth = float(int(n.vth) << VTH_SHIFT)
    u_mem = n.i_decay != DECAY_UNITY
    may_wrap = u_mem or (a.numel() and (float(a.max()) > UV_MAX or float(a.min()) <= -UV_MAX))
    u = torch.zeros(a.shape[1:], dtype=torch.float64)
    v = torch.zeros_like(u)
    out = torch.empty(a.shape, dtype=torch.uint8)
    for t in range(a.shape[0]):
        raw = _trunc_decay(u, n.i_decay) + a[t] if u_mem else a[t]
        if may_wrap:
            w1 = torch.where(raw > UV_MAX, raw - 2 * UV_MAX, raw)
            u = torch.where(w1 <= -UV_MAX, raw + 2 * UV_MAX, w1)
        else:
            u = raw
        if n.v_decay != 0:
            v = _trunc_decay(v, n.v_decay)
        v += u
        if bias is not None:
            v += bias
        v.clamp_(-UV_MAX + 1, UV_MAX - 1)
        s = v > vth
        out[t] = s
        v.masked_fill_(s, 0.0)
    return out.numpy()


# -- any Loihi layer: other resets, per-neuron parameters, a bias in the current, recurrence --
def _param_tensor(q: Layer, name: str) -> torch.Tensor:
    return torch.from_numpy(np.array(q.neuron.param(name, q.out_shape), dtype=np.float64))


def _recurrent_sums(q: Layer):
    """``f(s) -> (W_rec @ s) shifted by its weight exponent``, exact in float64, for spikes
    ``s`` (B, n) of the previous step; None without a recurrent synapse."""
    rec = q.recurrent
    if rec is None:
        return None
    w = torch.from_numpy(rec.weight.astype(np.float64))
    e = float(2.0 ** rec.weight_exp)
    return lambda s: torch.floor(torch.nn.functional.linear(s, w) * e)


@torch.no_grad()
def general_fixed_layer(q: Layer, a: torch.Tensor) -> np.ndarray:
    """Any Loihi layer (:class:`~ff_neuro.model.neuron.LoihiLIF` with every reset, per-neuron
    parameters, a bias in the current, a recurrent synapse), vectorised in torch over the
    batch: ``a`` (T, B, *out_shape) the exact integer feed-forward activations (float64) ->
    spikes uint8. Each step is :func:`~ff_neuro.run.lif.loihi_lif_step` (tested against it);
    every value is an exact integer below 2**36 in float64."""
    n = q.neuron
    th = _param_tensor(q, "vth") * float(1 << VTH_SHIFT)
    v_keep = (DECAY_UNITY - _param_tensor(q, "v_decay")) / DECAY_UNITY
    u_keep = (DECAY_UNITY - _param_tensor(q, "i_decay")) / DECAY_UNITY
    bias = q.neuron_bias()
    b_cur = b_mem = None
    if bias is not None:
        b = torch.from_numpy(np.array(bias, dtype=np.float64))
        if n.bias_in == "current":
            b_cur = b
        else:
            b_mem = b * float(1 << BIAS_EXP)
    rec = _recurrent_sums(q)
    u = torch.zeros(a.shape[1:], dtype=torch.float64)
    v = torch.zeros_like(u)
    s = torch.zeros_like(u)
    out = torch.empty(a.shape, dtype=torch.uint8)
    for t in range(a.shape[0]):
        at = a[t] if rec is None or t == 0 else a[t] + rec(s)
        if b_cur is not None:
            at = at + b_cur
        raw = torch.trunc(u * u_keep) + at * float(1 << ACT_SHIFT)
        w1 = torch.where(raw > UV_MAX, raw - 2 * UV_MAX, raw)
        u = torch.where(w1 <= -UV_MAX, raw + 2 * UV_MAX, w1)
        r = v > th
        p = torch.trunc(v * v_keep) + u
        if b_mem is not None:
            p = p + b_mem
        if n.reset == "zero":
            v = p.clamp(-UV_MAX + 1, UV_MAX - 1)
            if n.reset_delay:
                v = v.masked_fill(r, 0.0)
            spk = v > th
            if not n.reset_delay:
                v = v.masked_fill(spk, 0.0)
        else:
            v = (p - th * r).clamp(-UV_MAX + 1, UV_MAX - 1)
            spk = v > th
            if not n.reset_delay:
                v = v - th * (spk.to(torch.float64) - r.to(torch.float64))
        out[t] = spk
        s = spk.to(torch.float64)
    return out.numpy()


def dense_activation(q: Layer, x: np.ndarray) -> np.ndarray:
    """The exact integer activation (int64, (T, B, n_out)) of a dense Loihi layer's
    feed-forward synapse: NetX's weight mapping and Lava Dense's shift, with the synapse's own
    weight exponent added to NetX's."""
    w_eff, weight_exp, _ = netx_weight_bits(q.weight)
    T, B = x.shape[:2]
    acc = _exact_matmul(x.reshape(T, B, -1), w_eff).astype(np.int64)
    return shift_activation(acc, weight_exp + q.synapse.weight_exp)


# -- the readable reference engine ---------------------------------------------------------
def integer_activation(q: Layer, x: np.ndarray) -> np.ndarray:
    """The exact integer activation ``a[t]`` (int64) a Loihi layer's synapse sends to its
    neurons for input messages ``x`` (T, B, *in_shape).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import Dense, Layer
        >>> from ff_neuro.run.emulator import integer_activation
        >>> q = Layer.loihi(Dense(weight=np.array([[100, 100]])), vth=150, v_decay=0)
        >>> integer_activation(q, np.ones((4, 1, 2), np.uint8))[:, 0, 0]   # both inputs spike
        array([200, 200, 200, 200])
    """
    if isinstance(q.synapse, Conv2d):
        return conv_activation(q, x).numpy().astype(np.int64)
    return dense_activation(q, x)


def run_fixed_layer(q: Layer, x: np.ndarray) -> np.ndarray:
    """The reference engine for one Loihi layer: ``x`` (T, B, *in_shape) integer messages ->
    spikes (T, B, *out_shape) uint8, via :func:`integer_activation` and
    :func:`~ff_neuro.run.lif.run_loihi_lif`.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import Dense, Layer
        >>> from ff_neuro.run.emulator import run_fixed_layer
        >>> q = Layer.loihi(Dense(weight=np.array([[100, 100]])), vth=150, v_decay=0)
        >>> x = np.zeros((4, 1, 2), np.uint8)
        >>> x[:, 0, 0] = 1                      # one input spikes at every step: 100 per step
        >>> run_fixed_layer(q, x)[:, 0, 0]      # fires when v = 200 > 150, then resets to 0
        array([0, 1, 0, 1], dtype=uint8)
    """
    rec = None if q.recurrent is None else (q.recurrent.weight, q.recurrent.weight_exp)
    return run_loihi_lif(integer_activation(q, x), bias=q.neuron_bias(), recurrent=rec,
                         **neuron_kwargs(q.neuron, q.out_shape))


class EmulatorBackend(Backend):
    """Loihi fixed point on the CPU; needs ``net.quantized`` (see
    :func:`ff_neuro.quantization.quantize`).

    ``engine="compiled"`` (default): numba kernels for dense layers, vectorised torch for conv
    layers; ``engine="numpy"``: the reference :func:`run_fixed_layer`. Both are bit-exact with
    Lava ``fixed_pt``.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.encoding import network_inputs
        >>> from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
        >>> from ff_neuro.run.emulator import EmulatorBackend
        >>> rng = np.random.default_rng(0)
        >>> net = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0,
        ...                                v_decay=0.125)],
        ...                   label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=8))
        >>> qnet, _ = ffn.quantize(net)
        >>> inputs = network_inputs(qnet, ffn.load_dataset("digits").x_test[:20])
        >>> be = EmulatorBackend()
        >>> out = be.run(qnet, inputs)
        >>> inputs.shape, out.spikes[0].shape, be.stats.runs       # (T, B, n): 20 runs
        ((8, 20, 74), (8, 20, 16), 20)
        >>> ref = EmulatorBackend(engine="numpy").run(qnet, inputs)
        >>> bool(np.array_equal(out.spikes[0], ref.spikes[0]))     # the engines agree
        True
    """

    name = "emulator"

    def __init__(self, batch_size: int = 8192, engine: str = "compiled"):
        if engine not in ("compiled", "numpy"):
            raise ValueError(f"unknown emulator engine {engine!r} (compiled|numpy)")
        self.batch_size = int(batch_size)
        self.engine = engine
        self._pool: dict = {}     # scratch buffers of sum_sq_counts_factored (one caller at a time)

    @staticmethod
    def _check(net: Network) -> None:
        if net.quantized is None:
            raise ValueError("the emulator runs quantized models: quantize the network first "
                             "(ff_neuro.quantization.quantize or `ff-neuro quantize`)")

    def _stats(self, t0: float, runs: int, T: int) -> None:
        self.stats = RunStats(self.name, int(runs), int(T), time.perf_counter() - t0)

    def run(self, net: Network, spikes: np.ndarray) -> LayerSpikes:
        t0 = time.perf_counter()
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
            res = self._run_compiled(net, x, None, np.arange(B), np.zeros(B, np.int64))
            for k, s in enumerate(res):
                outs[k].append(s)
        self._stats(t0, spikes.shape[1], spikes.shape[0])
        return LayerSpikes([np.concatenate(o, axis=1) for o in outs])

    def _factored_args(self, net: Network, img: np.ndarray, lab: np.ndarray):
        self._check(net)
        img = self.check_input(net, img)
        lab = self.check_input(net, lab)
        N, C = img.shape[1], lab.shape[1]
        r = np.arange(N * C)
        return img, lab, r // C, r % C, C

    def run_factored(self, net: Network, img: np.ndarray, lab: np.ndarray) -> LayerSpikes:
        """Label-sweep runs ``n * C + c`` with input ``img[:, n] + lab[:, c]`` (see
        :meth:`Backend.run_factored`): the image part of the first layer's synaptic sums is
        computed once per sample and shared by its ``C`` runs."""
        if self.engine == "numpy":
            return super().run_factored(net, img, lab)
        t0 = time.perf_counter()
        img, lab, ia, ib, C = self._factored_args(net, img, lab)
        out = LayerSpikes(self._run_compiled(net, img, lab, ia, ib, group=C))
        self._stats(t0, len(ia), img.shape[0])
        return out

    def sum_sq_counts_factored(self, net: Network, img: np.ndarray,
                               lab: np.ndarray) -> List[np.ndarray]:
        """:meth:`run_factored` reduced to ``sum_j count_j**2`` per layer and run; the spike
        arrays do not leave the call, so they live in buffers reused from call to call (a
        label sweep's chunks would otherwise fault in fresh pages for every chunk: ~10 % of
        its time)."""
        if self.engine == "numpy":
            return super().sum_sq_counts_factored(net, img, lab)
        t0 = time.perf_counter()
        img, lab, ia, ib, C = self._factored_args(net, img, lab)
        spikes = self._run_compiled(net, img, lab, ia, ib, group=C, pool=self._pool)
        self._stats(t0, len(ia), img.shape[0])
        return LayerSpikes(spikes).sum_sq_counts()

    @staticmethod
    def _run_compiled(net: Network, img: np.ndarray, lab: Optional[np.ndarray],
                      idx_a: np.ndarray, idx_b: np.ndarray, group: int = 1,
                      pool: Optional[dict] = None) -> List[np.ndarray]:
        """Every layer's spikes for runs ``r`` with input ``img[:, idx_a[r]] + lab[:,
        idx_b[r]]`` (``lab`` None: ``img[:, idx_a[r]]``); with ``pool`` (a dict kept by the
        caller) the arrays are scratch buffers, reused by the next call with the same shapes."""
        from . import fixed_kernels as fk

        def buf(name, shape, dtype):
            if pool is None:
                return np.empty(shape, dtype)
            a = pool.get(name)
            if a is None or a.shape != shape or a.dtype != dtype:
                a = pool[name] = np.empty(shape, dtype)
            return a

        T, R = img.shape[0], idx_a.shape[0]
        out: List[np.ndarray] = []
        s = None
        for k, q in enumerate(net.quantized):
            if not q.plain:
                x = img[:, idx_a] if k == 0 else s
                if k == 0 and lab is not None:
                    x = x + lab[:, idx_b]
                s = general_fixed_layer(q, torch.from_numpy(
                    integer_activation(q, x).astype(np.float64)))
            elif isinstance(q.synapse, Conv2d):
                x = img[:, idx_a] if k == 0 else s
                if k == 0 and lab is not None:
                    x = x + lab[:, idx_b]
                s = conv_fixed_layer(q, x)
            elif k == 0:
                w_eff, w_exp, rows = _dense_weights(q.weight)
                flat_img = img.reshape(img.shape[:2] + (-1,))
                acc_a = _exact_sums(flat_img, w_eff, rows,
                                    out=buf("acc_a", flat_img.shape[:2] + (w_eff.shape[0],),
                                            np.int32))
                if lab is None:
                    acc_b = np.zeros((T, 1, w_eff.shape[0]), np.int32)
                else:
                    acc_b = _exact_sums(lab.reshape(lab.shape[:2] + (-1,)), w_eff, rows)
                s = buf("s0", (T, R, w_eff.shape[0]), np.uint8)
                fk.lif_from_currents(acc_a, idx_a.astype(np.int64), acc_b,
                                     idx_b.astype(np.int64), w_exp, *_neuron_args(q), s)
            else:
                w_eff, w_exp, rows = _dense_weights(q.weight)
                x = np.ascontiguousarray(s.reshape(T, R, -1))
                nxt = buf(f"s{k}", (T, R, w_eff.shape[0]), np.uint8)
                fk.lif_from_spikes(x, rows, group, w_exp, *_neuron_args(q), nxt)
                s = nxt
            out.append(s)
        return out
