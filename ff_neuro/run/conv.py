"""Running a :class:`~ff_neuro.model.conv.ConvFFNetwork`: float backend and bit-exact emulator.

Input of a run: the encoder's integer levels ``k`` as graded spikes, ``(T, N, C, H, W)`` uint8
(:func:`encode` repeats the host encoder's output over ``T`` steps). Output: every spiking
layer's spikes ``(T, N, C_out, H_out, W_out)`` uint8, or only their counts over time.

* ``float`` (:func:`run_float`): :class:`~ff_neuro.model.conv.SpikingConv2d` dynamics in float64
  (torch ``conv2d``); layer 0 receives ``k * clip / levels``.
* ``emulator`` (:func:`run_fixed`): Lava ``fixed_pt`` ``Conv`` + ``LIF`` (lava-nc 0.10.0,
  ``lava/proc/conv/models.py: PyConvModelFixed`` and ``lava/proc/lif/models.py:
  AbstractPyLifModelFixed``), bit for bit::

      a[t] = signed_clamp24(conv2d(x[t], W_q))        # Conv: no weight exponent, 24-bit wrap
      u[t] = wrap24(trunc(u[t-1] * (4096 - i_decay) / 4096) + (a[t] << 6))
      v[t] = clip(trunc(v[t-1] * (4096 - v_decay) / 4096) + u[t] + (bias << 6), +-(2**23 - 1))
      s[t] = v[t] > vth << 6;  v[t] = 0 where s[t]

  ``trunc`` is Lava's ``sign(p) * (|p| >> 12)``; ``wrap24`` is the LIF's one-step wrap
  (``u > 2**23 -> u - 2**24``; ``u <= -2**23 -> u + 2**24``, both from the unwrapped value).
  Integer convolutions run as float torch convolutions that are exact (float32 while every
  partial sum is below 2**24, else float64).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

import numpy as np
import torch

from ..model.conv import ConvFFNetwork, QuantizedConv2d, SpikingConv2d
from ..model.primitives import DECAY_UNITY

UV_MAX = 2**23
ACT_SHIFT = 6
VTH_SHIFT = 6
BIAS_EXP = 6
BACKENDS = ("float", "emulator")


def encode(net: ConvFFNetwork, images: np.ndarray) -> np.ndarray:
    """Images (N, C, H, W) in [0, 1] -> graded input spikes (T, N, C', H', W') uint8."""
    k = net.encoder.forward(images)
    return np.broadcast_to(k[None], (net.time_steps,) + k.shape)


def _check_input(net: ConvFFNetwork, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    want = net.encoder.out_shape
    if x.ndim != 5 or tuple(x.shape[2:]) != want:
        raise ValueError(f"input must be (T, N, {want[0]}, {want[1]}, {want[2]}) graded spikes, "
                         f"got {x.shape}")
    if x.size and (x.min() < 0 or x.max() > net.encoder.levels):
        raise ValueError(f"graded input spikes must lie in [0, {net.encoder.levels}]")
    return x


def _conv(x: torch.Tensor, w: torch.Tensor, stride: int, padding: int) -> torch.Tensor:
    """conv2d over (T, B, C, H, W) -> (T, B, C', H', W')."""
    T, B = x.shape[:2]
    y = torch.nn.functional.conv2d(x.reshape((T * B,) + x.shape[2:]), w, stride=stride,
                                   padding=padding)
    return y.reshape((T, B) + y.shape[1:])


def float_layer(layer: SpikingConv2d, x: torch.Tensor, scale_in: float = 1.0) -> torch.Tensor:
    """Float dynamics of one layer: ``x`` (T, B, C, H, W) float64 -> spikes (same layout)."""
    w = torch.from_numpy(layer.weight.astype(np.float64) * scale_in)
    cur = _conv(x, w, layer.stride, layer.padding)
    if layer.bias is not None:
        cur = cur + torch.from_numpy(layer.bias.astype(np.float64))[None, None, :, None, None]
    v = torch.zeros_like(cur[0])
    out = torch.empty(cur.shape, dtype=torch.uint8)
    keep = 1.0 - layer.v_decay
    for t in range(cur.shape[0]):
        v = keep * v + cur[t]
        s = v > layer.threshold
        out[t] = s
        v.masked_fill_(s, 0.0)
    return out


def exact_int_conv(x: torch.Tensor, w: np.ndarray, stride: int, padding: int) -> torch.Tensor:
    """Integer convolution, exact, as float64 integers: (T, B, C, H, W) -> (T, B, C', H', W')."""
    xmax = int(x.max().item()) if x.numel() else 1
    bound = int(np.prod(w.shape[1:])) * int(np.abs(w).max(initial=1)) * max(1, xmax)
    dtype = torch.float32 if bound < 2**24 else torch.float64
    y = _conv(x.to(dtype), torch.from_numpy(w.astype(np.float64)).to(dtype), stride, padding)
    return torch.round(y).to(torch.float64)  # exact already; round guards against any
    # fast-convolution algorithm (e.g. Winograd) leaving a sub-0.5 error


def _trunc_decay(x: torch.Tensor, decay: int) -> torch.Tensor:
    """Lava's ``sign(p) * (|p| >> 12)``, ``p = x * (4096 - decay)``: exact in float64 (|p| < 2**36)."""
    return torch.trunc(x * ((DECAY_UNITY - decay) / DECAY_UNITY))


@torch.no_grad()
def fixed_layer(q: QuantizedConv2d, x: torch.Tensor) -> torch.Tensor:
    """Lava fixed_pt Conv + LIF: ``x`` (T, B, C, H, W) integer spikes -> spikes uint8.

    All state is float64 holding exact integers (every value stays below 2**36)."""
    a = exact_int_conv(x, q.weight, q.stride, q.padding)
    if a.numel() and float(a.abs().max()) >= UV_MAX:           # Conv's signed_clamp(24)
        a = torch.remainder(a + UV_MAX, 2 * UV_MAX) - UV_MAX
    a *= float(1 << ACT_SHIFT)
    bias = (None if q.bias_mant is None else
            torch.from_numpy(q.bias_mant.astype(np.float64) * (1 << BIAS_EXP))[None, :, None, None])
    vth = float(int(q.vth) << VTH_SHIFT)
    u_mem = q.i_decay != DECAY_UNITY
    may_wrap = u_mem or (a.numel() and (float(a.max()) > UV_MAX or float(a.min()) <= -UV_MAX))
    u = torch.zeros(a.shape[1:], dtype=torch.float64)
    v = torch.zeros_like(u)
    out = torch.empty(a.shape, dtype=torch.uint8)
    for t in range(a.shape[0]):
        raw = _trunc_decay(u, q.i_decay) + a[t] if u_mem else a[t]
        if may_wrap:
            w1 = torch.where(raw > UV_MAX, raw - 2 * UV_MAX, raw)
            u = torch.where(w1 <= -UV_MAX, raw + 2 * UV_MAX, w1)
        else:
            u = raw
        if q.v_decay != 0:
            v = _trunc_decay(v, q.v_decay)
        v += u
        if bias is not None:
            v += bias
        v.clamp_(-UV_MAX + 1, UV_MAX - 1)
        s = v > vth
        out[t] = s
        v.masked_fill_(s, 0.0)
    return out


def run_float(net: ConvFFNetwork, x: np.ndarray) -> List[np.ndarray]:
    """Float run: graded input (T, N, C, H, W) -> per-layer spikes (T, N, C', H', W') uint8."""
    return _run(net, x, "float")


def run_fixed(net: ConvFFNetwork, x: np.ndarray) -> List[np.ndarray]:
    """Bit-exact Loihi fixed-point run (needs ``net.quantized``)."""
    return _run(net, x, "emulator")


@torch.no_grad()
def _run(net: ConvFFNetwork, x: np.ndarray, backend: str) -> List[np.ndarray]:
    x = _check_input(net, x)
    if backend == "emulator" and net.quantized is None:
        raise ValueError("the emulator runs quantized models: quantize first")
    h = torch.from_numpy(np.ascontiguousarray(x))
    outs = []
    for k in range(len(net.layers)):
        if backend == "float":
            scale_in = net.encoder.clip / net.encoder.levels if k == 0 else 1.0
            h = float_layer(net.layers[k], h.to(torch.float64), scale_in)
        elif backend == "emulator":
            h = fixed_layer(net.quantized[k], h)
        else:
            raise ValueError(f"unknown backend {backend!r} ({', '.join(BACKENDS)})")
        outs.append(h.numpy())
    return outs


@dataclass
class ConvRunResult:
    """Counts of a run over many samples.

    ``counts[l]``: layer ``l``'s spike counts over the ``T`` steps, (N, C, H, W) int32;
    ``input_counts``: graded input events (k > 0) per position over the ``T`` steps, (N, C, H, W);
    ``spikes``: the full spike trains (only when asked for).
    """

    counts: List[np.ndarray]
    input_counts: np.ndarray
    spikes: Optional[List[np.ndarray]] = None


def run_batches(net: ConvFFNetwork, images: np.ndarray, backend: str = "float",
                batch_size: int = 64, keep_spikes: bool = False,
                progress: bool = False) -> ConvRunResult:
    """Encode ``images`` (N, C, H, W) on the host and run them through ``backend`` in batches."""
    counts: List[list] = [[] for _ in net.layers]
    spikes: List[list] = [[] for _ in net.layers]
    inputs = []
    starts = range(0, len(images), batch_size)
    if progress:
        from tqdm import tqdm
        starts = tqdm(starts, desc=f"conv {backend}", unit="batch")
    for s in starts:
        x = encode(net, images[s:s + batch_size])
        inputs.append((x > 0).sum(axis=0, dtype=np.int32))
        out = _run(net, x, backend)
        for k, o in enumerate(out):
            counts[k].append(o.sum(axis=0, dtype=np.int32))
            if keep_spikes:
                spikes[k].append(o)
    return ConvRunResult(counts=[np.concatenate(c) for c in counts],
                         input_counts=np.concatenate(inputs),
                         spikes=[np.concatenate(s, axis=1) for s in spikes] if keep_spikes else None)


def predict(net: ConvFFNetwork, images: np.ndarray, backend: str = "float",
            batch_size: int = 64, progress: bool = False) -> tuple:
    """One-pass class-group goodness prediction; returns ``(predictions, ConvRunResult)``."""
    res = run_batches(net, images, backend, batch_size=batch_size, progress=progress)
    return net.predict_from_counts(res.counts), res
