"""Synapses: dense and 2-D convolution, the part of a layer in front of its neurons.

A synapse turns the input of one time step ``x[t]`` (spikes, or graded messages) into an
activation per neuron, ``a[t]``, and carries a bias ``b`` per output channel that the neuron adds
every step (Lava's ``bias_mant``; see :mod:`ff_neuro.model.neuron`). Float layers hold float32
weights; Loihi layers hold integer weights in [-256, 254] and a 13-bit integer bias mantissa
(:class:`~ff_neuro.model.layer.Layer` checks which).

Shapes are PyTorch's: a conv layer's input and output are ``(C, H, W)``, its weight
``(C_out, C_in, kh, kw)`` (cross-correlation, as ``torch.nn.Conv2d``). A dense layer fed by a
conv layer reads that output flattened in ``(C, H, W)`` order (``torch.nn.Flatten``); NetX's
``flatten`` layer reads it the same way. The exact synaptic-event counts (:meth:`synops`) are
what the energy models price.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional, Sequence

import numpy as np

from .. import checks

#: Loihi's 8-bit weight mantissa with sign: the integer weights a NetX file carries exactly.
WEIGHT_MIN, WEIGHT_MAX = -256, 254
#: Lava's signed 13-bit bias mantissa.
BIAS_MIN, BIAS_MAX = -4096, 4095
#: The weight exponents a Dense synapse may carry (Loihi's 4-bit signed exponent range).
WEIGHT_EXP_MIN, WEIGHT_EXP_MAX = -8, 7


def conv_out_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """PyTorch / Lava output size: ``floor((size + 2 p - d (k - 1) - 1) / s) + 1``.

    Example::

        >>> from ff_neuro.model.synapse import conv_out_size
        >>> conv_out_size(28, kernel=3, stride=2, padding=1)
        14
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv_reach_1d(size: int, kernel: int, stride: int, padding: int,
                  dilation: int = 1) -> np.ndarray:
    """``reach[i]``: output positions along one axis whose window holds input ``i``."""
    out = conv_out_size(size, kernel, stride, padding, dilation)
    i = np.arange(size)[:, None]
    o = np.arange(out)[None, :]
    off = i + padding - o * stride
    return ((off >= 0) & (off < dilation * (kernel - 1) + 1) & (off % dilation == 0)).sum(axis=1)


def pair(value, what: str) -> tuple:
    """A conv parameter as ``(y, x)``: an integer for both axes, or a pair of integers.

    Example::

        >>> from ff_neuro.model.synapse import pair
        >>> pair(2, "stride"), pair((2, 1), "stride")
        ((2, 2), (2, 1))
    """
    a = np.atleast_1d(np.asarray(value))
    if a.ndim != 1 or a.size not in (1, 2) or a.dtype.kind not in "iuf":
        raise ValueError(f"{what} must be an integer or a (y, x) pair of integers, got "
                         f"{value!r}")
    v = tuple(checks.integer(what, x) for x in a)
    return v * 2 if len(v) == 1 else v


def _compact(p: tuple):
    """``(s, s)`` -> ``s``; a pair with different values stays a pair."""
    return p[0] if p[0] == p[1] else p


def conv_reach(in_hw: Sequence[int], kernel: Sequence[int], stride, padding,
               dilation=1) -> np.ndarray:
    """``(H, W)`` map of the output positions an input event at each position reaches::

        reach_h[h] = #{ oh : h + p_y - oh * s_y = d_y * i, 0 <= i < kh }      (same for w)

    Border inputs reach fewer outputs (padding); stride 2 skips positions. ``stride``,
    ``padding`` and ``dilation`` are integers or ``(y, x)`` pairs.

    Example::

        >>> from ff_neuro.model.synapse import conv_reach
        >>> conv_reach((4, 4), kernel=(3, 3), stride=1, padding=1)
        array([[4, 6, 6, 4],
               [6, 9, 9, 6],
               [6, 9, 9, 6],
               [4, 6, 6, 4]])
    """
    s, p, d = pair(stride, "stride"), pair(padding, "padding"), pair(dilation, "dilation")
    rh = conv_reach_1d(int(in_hw[0]), int(kernel[0]), s[0], p[0], d[0])
    rw = conv_reach_1d(int(in_hw[1]), int(kernel[1]), s[1], p[1], d[1])
    return np.outer(rh, rw)


def shape_tuple(shape, what: str) -> tuple:
    a = np.atleast_1d(np.asarray(shape))
    if a.ndim != 1 or not a.size or a.dtype.kind not in "iuf":
        raise ValueError(f"{what} must be a tuple of positive sizes, got {shape!r}")
    return tuple(checks.count(what, s) for s in a)


class _Synapse:
    """What dense and conv synapses share: weight dtype checks, bias, shapes."""

    weight: np.ndarray
    bias: Optional[np.ndarray]

    def _check_arrays(self, channels: int) -> None:
        w = np.asarray(self.weight)
        if w.dtype.kind not in "iuf":
            raise ValueError(f"weight must hold numbers, got {w.dtype}")
        if np.issubdtype(w.dtype, np.integer):
            self.weight = w.astype(np.int32)
        else:
            checks.parameters("weight", w)
            self.weight = w.astype(np.float32)
        if self.bias is not None:
            b = np.asarray(self.bias)
            if b.dtype.kind not in "iuf":
                raise ValueError(f"bias must hold numbers, got {b.dtype}")
            if b.shape != (channels,):
                raise ValueError(f"bias must have shape ({channels},), got {b.shape}")
            self.bias = (b.astype(np.int32) if np.issubdtype(b.dtype, np.integer)
                         else b.astype(np.float32))
            if self.bias.dtype == np.float32:
                checks.parameters("bias", b)

    @property
    def integer(self) -> bool:
        """Whether the weights are Loihi integers (a quantized layer)."""
        return np.issubdtype(self.weight.dtype, np.integer)

    def as_integer(self) -> None:
        """Check and convert to Loihi integers: weights in [-256, 254], a 13-bit bias."""
        w = self.weight
        if not np.issubdtype(w.dtype, np.integer):
            if not np.all(w == np.round(w)):
                raise ValueError("quantized weights must be integers")
        if w.size and (w.min() < WEIGHT_MIN or w.max() > WEIGHT_MAX):
            raise ValueError(
                f"quantized weights must lie in [{WEIGHT_MIN}, {WEIGHT_MAX}] (Loihi 8-bit "
                f"mantissa with sign), got [{w.min()}, {w.max()}]")
        self.weight = w.astype(np.int32)
        if self.bias is not None:
            b = self.bias
            if not np.issubdtype(b.dtype, np.integer) and not np.all(b == np.round(b)):
                raise ValueError("a quantized bias must be integers")
            if b.size and (b.min() < BIAS_MIN or b.max() > BIAS_MAX):
                raise ValueError("the bias mantissa must be a signed 13-bit integer")
            self.bias = b.astype(np.int32)

    def as_float(self) -> None:
        self.weight = self.weight.astype(np.float32)
        if self.bias is not None:
            self.bias = self.bias.astype(np.float32)

    @property
    def n_in(self) -> int:
        return int(np.prod(self.in_shape))

    @property
    def n_out(self) -> int:
        return int(np.prod(self.out_shape))

    def parameters(self, bias: bool = True) -> int:
        """Weights, plus one bias per output channel when ``bias`` and the layer has one."""
        return int(self.weight.size) + (self.channels if bias and self.bias is not None else 0)


@dataclass
class Dense(_Synapse):
    """Fully connected synapses: ``a[t] = W @ flatten(x[t])``, ``W`` of shape
    ``(n_out, n_in)``; bias ``b`` per output neuron.

    ``in_shape`` is the shape of the input (default ``(n_in,)``); an input of shape
    ``(C, H, W)`` (a conv layer's output) is flattened in that order. A binary input spike
    causes ``n_out`` synaptic events. ``weight_exp`` (integer synapses) is Lava ``Dense``'s
    weight exponent: the integer sum is shifted, ``a[t] = (W @ x[t]) << weight_exp`` (an
    arithmetic right shift when negative), so that a connection whose weights are much larger
    or smaller than the layer's threshold keeps 8-bit weights (a recurrent synapse beside the
    feed-forward one).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import Dense
        >>> syn = Dense(weight=np.ones((3, 4)), bias=np.zeros(3))
        >>> syn.in_shape, syn.out_shape, syn.weight.dtype, syn.parameters()
        ((4,), (3,), dtype('float32'), 15)
        >>> syn.synops(np.array([[2, 0, 1, 0]]))    # 3 input spikes, each reaches 3 neurons
        array([9.])
    """

    weight: np.ndarray
    bias: Optional[np.ndarray] = None
    in_shape: Optional[tuple] = None
    weight_exp: int = 0

    type_name: ClassVar[str] = "dense"

    def __post_init__(self) -> None:
        w = np.asarray(self.weight)
        if w.ndim != 2:
            raise ValueError(f"weight must be 2-D (n_out, n_in), got shape {w.shape}")
        self.weight = w
        self._check_arrays(w.shape[0])
        self.in_shape = ((int(w.shape[1]),) if self.in_shape is None
                         else shape_tuple(self.in_shape, "in_shape"))
        if int(np.prod(self.in_shape)) != w.shape[1]:
            raise ValueError(f"in_shape {self.in_shape} holds {int(np.prod(self.in_shape))} "
                             f"inputs, the weight takes {w.shape[1]}")
        self.weight_exp = checks.integer("weight_exp", self.weight_exp, low=WEIGHT_EXP_MIN,
                                         high=WEIGHT_EXP_MAX)
        if self.weight_exp and not self.integer:
            raise ValueError("weight_exp applies to integer (quantized) weights only")

    @property
    def out_shape(self) -> tuple:
        return (int(self.weight.shape[0]),)

    @property
    def channels(self) -> int:
        """Output channels (biases, class groups): one per neuron."""
        return int(self.weight.shape[0])

    @property
    def fan_in(self) -> int:
        """Synapses of one neuron."""
        return int(self.weight.shape[1])

    def synapse_count(self) -> int:
        return int(self.weight.size)

    def synops(self, events: np.ndarray) -> np.ndarray:
        """Synaptic events per sample caused by ``events`` (N, *in_shape): input spikes (or
        nonzero graded messages) counted over the time steps; each reaches ``n_out`` neurons."""
        ev = np.asarray(events, dtype=np.float64)
        return ev.reshape(ev.shape[0], -1).sum(axis=1) * self.n_out

    def synops_stored(self, events: np.ndarray) -> np.ndarray:
        """Synaptic events per sample on stored synapses only: an input event at ``j`` reaches
        the ``nnz(W[:, j])`` nonzero weights of its column (what Loihi's synaptic-op counter
        counts; zero weights are not stored)::

            >>> import numpy as np
            >>> from ff_neuro.model import Dense
            >>> Dense(weight=np.array([[1, 0], [2, 0], [0, 3]])).synops_stored(np.array([[2, 1]]))
            array([5.])
        """
        ev = np.asarray(events, dtype=np.float64).reshape(np.shape(events)[0], -1)
        return ev @ (self.weight != 0).sum(axis=0).astype(np.float64)

    def to_dict(self) -> dict:
        d = {"weight": self.weight, "bias": self.bias, "in_shape": list(self.in_shape)}
        if self.weight_exp:
            d["weight_exp"] = self.weight_exp
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Dense":
        return cls(weight=d["weight"], bias=d.get("bias"), in_shape=d.get("in_shape"),
                   weight_exp=d.get("weight_exp", 0))


@dataclass
class Conv2d(_Synapse):
    """2-D convolution synapses (cross-correlation, one group)::

        a[t] = conv2d(x[t], W, stride, padding, dilation)      # (C_out, H_out, W_out)

    bias ``b`` per output channel, broadcast over positions. An input event at ``(c, h, w)``
    reaches ``C_out * reach[h, w]`` neurons (:func:`conv_reach`). ``stride``, ``padding`` and
    ``dilation`` are integers (both axes) or ``(y, x)`` pairs, as ``torch.nn.Conv2d`` takes
    them; a pair with equal values is kept as one integer (``stride_hw`` etc. give the pairs).
    NetX files store them in the same ``(y, x)`` order (lava-dl's PilotNet uses stride
    ``(2, 1)`` and padding ``(1, 0)``).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import Conv2d
        >>> syn = Conv2d(weight=np.ones((8, 1, 3, 3)), in_shape=(1, 28, 28), stride=2,
        ...              padding=1)
        >>> syn.out_shape, syn.kernel, syn.fan_in
        ((8, 14, 14), (3, 3), 9)
        >>> events = np.ones((1, 1, 28, 28))         # one event at every input position
        >>> syn.synops(events), syn.synops_fanout(events)   # exact vs Lemaire's estimate
        (array([13448.]), array([25088.]))
        >>> Conv2d(weight=np.ones((2, 1, 3, 3)), in_shape=(1, 7, 24), stride=(2, 1),
        ...        padding=(1, 0)).out_shape                 # per-axis stride and padding
        (2, 4, 22)
    """

    weight: np.ndarray
    in_shape: tuple
    stride: object = 1
    padding: object = 0
    bias: Optional[np.ndarray] = None
    dilation: object = 1

    type_name: ClassVar[str] = "conv2d"

    def __post_init__(self) -> None:
        w = np.asarray(self.weight)
        if w.ndim != 4:
            raise ValueError(f"conv weight must be 4-D (C_out, C_in, kh, kw), got {w.shape}")
        self.weight = w
        self._check_arrays(w.shape[0])
        self.in_shape = shape_tuple(self.in_shape, "in_shape")
        if len(self.in_shape) != 3:
            raise ValueError(f"a conv layer's in_shape must be (C, H, W), got {self.in_shape}")
        if w.shape[1] != self.in_shape[0]:
            raise ValueError(f"conv weight expects {w.shape[1]} input channels but in_shape "
                             f"has {self.in_shape[0]}")
        s, p = pair(self.stride, "stride"), pair(self.padding, "padding")
        d = pair(self.dilation, "dilation")
        if min(s) < 1 or min(p) < 0 or min(d) < 1:
            raise ValueError(f"need stride >= 1, padding >= 0 and dilation >= 1, got "
                             f"{_compact(s)}, {_compact(p)}, {_compact(d)}")
        self.stride, self.padding, self.dilation = _compact(s), _compact(p), _compact(d)
        h = conv_out_size(self.in_shape[1], w.shape[2], s[0], p[0], d[0])
        ww = conv_out_size(self.in_shape[2], w.shape[3], s[1], p[1], d[1])
        if h < 1 or ww < 1:
            raise ValueError(f"kernel {w.shape[2:]} does not fit input {self.in_shape} with "
                             f"padding {self.padding}")
        self._out = (int(w.shape[0]), h, ww)

    @property
    def stride_hw(self) -> tuple:
        """``(stride_y, stride_x)``."""
        return pair(self.stride, "stride")

    @property
    def padding_hw(self) -> tuple:
        """``(padding_y, padding_x)``."""
        return pair(self.padding, "padding")

    @property
    def dilation_hw(self) -> tuple:
        """``(dilation_y, dilation_x)``."""
        return pair(self.dilation, "dilation")

    @property
    def square(self) -> bool:
        """One stride and one padding for both axes, no dilation (what FFGAF-style tables and
        NIR's square conv nodes describe)."""
        return not isinstance(self.stride, tuple) and not isinstance(self.padding, tuple) \
            and self.dilation == 1

    @property
    def out_shape(self) -> tuple:
        return self._out

    @property
    def kernel(self) -> tuple:
        return (int(self.weight.shape[2]), int(self.weight.shape[3]))

    @property
    def channels(self) -> int:
        return int(self.weight.shape[0])

    @property
    def fan_in(self) -> int:
        """Synapses of one neuron away from the borders: ``C_in * kh * kw``."""
        return int(np.prod(self.weight.shape[1:]))

    def reach(self) -> np.ndarray:
        return conv_reach(self.in_shape[1:], self.kernel, self.stride, self.padding,
                          self.dilation)

    def synapse_count(self) -> int:
        """Synapses expanded without weight sharing, exactly:
        ``C_out * C_in * sum_{h, w} reach[h, w]``."""
        return int(self.channels * self.in_shape[0] * self.reach().sum())

    def synops(self, events: np.ndarray) -> np.ndarray:
        """Exact synaptic events per sample caused by ``events`` (N, C, H, W) counted over the
        time steps: ``C_out * sum_{c, h, w} events[c, h, w] * reach[h, w]`` (NeuroBench's
        effective synaptic operations: binarised input, all-ones kernel, summed output)."""
        ev = np.asarray(events, dtype=np.float64)
        return self.channels * np.einsum("nchw,hw->n", ev, self.reach())

    def synops_stored(self, events: np.ndarray) -> np.ndarray:
        """Exact synaptic events per sample on stored synapses only (nonzero weights, what
        Loihi's synaptic-op counter counts): every input event at ``(c, h, w)`` reaches, at each
        output position whose window holds it, the output channels whose weight at that kernel
        offset is nonzero. Computed as the sum of ``conv2d(events, nnz)`` with
        ``nnz[c, i, j] = #{o : W[o, c, i, j] != 0}``; equal to :meth:`synops` when no weight is
        zero::

            >>> import numpy as np
            >>> from ff_neuro.model import Conv2d
            >>> w = np.ones((2, 1, 3, 3)); w[1] = 0                 # one channel all zero
            >>> syn = Conv2d(weight=w, in_shape=(1, 5, 5), padding=1)
            >>> ev = np.ones((1, 1, 5, 5))
            >>> syn.synops(ev), syn.synops_stored(ev)
            (array([338.]), array([169.]))
        """
        import torch
        ev = torch.from_numpy(np.ascontiguousarray(events, dtype=np.float64))
        nnz = torch.from_numpy((self.weight != 0).sum(axis=0, keepdims=True).astype(np.float64))
        out = torch.nn.functional.conv2d(ev, nnz, stride=self.stride, padding=self.padding,
                                         dilation=self.dilation)
        return out.sum(dim=(1, 2, 3)).numpy()

    def synops_fanout(self, events: np.ndarray) -> np.ndarray:
        """Lemaire et al.'s approximation ``ceil(kh/S) ceil(kw/S) C_out`` events per input
        event, which ignores padding and overcounts stride 2 (for comparison)."""
        import math
        ev = np.asarray(events, dtype=np.float64)
        sy, sx = self.stride_hw
        per = math.ceil(self.kernel[0] / sy) * math.ceil(self.kernel[1] / sx) * self.channels
        return ev.reshape(ev.shape[0], -1).sum(axis=1) * per

    def to_dict(self) -> dict:
        def plain(v):
            return list(v) if isinstance(v, tuple) else v
        d = {"weight": self.weight, "bias": self.bias, "in_shape": list(self.in_shape),
             "stride": plain(self.stride), "padding": plain(self.padding)}
        if self.dilation != 1:
            d["dilation"] = plain(self.dilation)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Conv2d":
        return cls(weight=d["weight"], in_shape=d["in_shape"], stride=d.get("stride", 1),
                   padding=d.get("padding", 0), bias=d.get("bias"),
                   dilation=d.get("dilation", 1))


#: how each pooling kind weighs the inputs of a window of ``q x q``
POOL_KINDS = ("sum", "avg")


def _pool_scale(kind: str, q: int) -> float:
    if kind not in POOL_KINDS:
        raise ValueError(f"pooling must be one of {', '.join(POOL_KINDS)}, got {kind!r}")
    return 1.0 if kind == "sum" else 1.0 / (q * q)


def fold_pool_before_conv(weight: np.ndarray, in_shape, q: int, kind: str, stride: int = 1,
                          padding: int = 0, bias=None) -> Conv2d:
    """A ``q x q`` sum or average pool (stride ``q``) of the input, then a convolution: one
    convolution on the unpooled input, exactly. Each weight is spread over its pool window::

        W'[o, c, q y + i, q x + j] = W[o, c, y, x] * (1 or 1 / q**2),   stride' = q stride,
        padding' = q padding

    so a 2x2 sum pool before a 3x3 convolution is one 6x6 convolution with stride 2. Exact when
    the input's height and width are multiples of ``q`` (else the pool drops the last rows
    that the folded kernel would read); refused otherwise.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model.synapse import fold_pool_before_conv
        >>> syn = fold_pool_before_conv(np.ones((4, 2, 3, 3)), (2, 34, 34), q=2, kind="sum")
        >>> syn.kernel, syn.stride, syn.out_shape
        ((6, 6), 2, (4, 15, 15))
    """
    w = np.asarray(weight, dtype=np.float64)
    in_shape = tuple(int(s) for s in in_shape)
    if in_shape[1] % q or in_shape[2] % q:
        raise ValueError(f"pooling {q}x{q} of a {in_shape[1]}x{in_shape[2]} input drops its "
                         "last rows or columns, so it does not fold exactly into the next "
                         "convolution; crop the input to a multiple of the pool size")
    w2 = np.repeat(np.repeat(w, q, axis=2), q, axis=3) * _pool_scale(kind, q)
    return Conv2d(weight=w2.astype(np.float32), in_shape=in_shape, stride=stride * q,
                  padding=padding * q, bias=bias)


def fold_pool_after_conv(conv: Conv2d, q: int, kind: str) -> Conv2d:
    """A convolution followed by a ``q x q`` sum or average pool (stride ``q``) of its output,
    before the neurons: one convolution with a larger, strided kernel, exactly::

        W'[o, c, s i + y, s j + x] += W[o, c, y, x] * (1 or 1 / q**2)   for i, j < q
        size' = k + (q - 1) s,  stride' = q s,  padding' = padding,  b' = b * (q**2 or 1)

    Refused where the pooled and the folded output sizes differ.

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import Conv2d
        >>> from ff_neuro.model.synapse import fold_pool_after_conv
        >>> c = Conv2d(weight=np.ones((4, 1, 3, 3)), in_shape=(1, 8, 8), padding=1)
        >>> f = fold_pool_after_conv(c, q=2, kind="avg")
        >>> f.kernel, f.stride, f.out_shape
        ((4, 4), 2, (4, 4, 4))
    """
    scale = _pool_scale(kind, q)
    if not conv.square:
        raise ValueError("only a convolution with one stride and padding for both axes and no "
                         "dilation folds a pooling after it")
    w = conv.weight.astype(np.float64)
    s = conv.stride
    kh, kw = conv.kernel
    w2 = np.zeros(w.shape[:2] + (kh + (q - 1) * s, kw + (q - 1) * s))
    for i in range(q):
        for j in range(q):
            w2[:, :, s * i:s * i + kh, s * j:s * j + kw] += w * scale
    bias = None if conv.bias is None else conv.bias.astype(np.float64) * (q * q * scale)
    out = Conv2d(weight=w2.astype(np.float32), in_shape=conv.in_shape, stride=s * q,
                 padding=conv.padding, bias=None if bias is None else bias.astype(np.float32))
    pooled = (conv.out_shape[0], conv.out_shape[1] // q, conv.out_shape[2] // q)
    if tuple(out.out_shape) != pooled:
        raise ValueError(f"the convolution's {conv.out_shape[1]}x{conv.out_shape[2]} output "
                         f"pooled {q}x{q} gives {pooled[1:]}, the folded convolution "
                         f"{out.out_shape[1:]}: it does not fold exactly")
    return out
