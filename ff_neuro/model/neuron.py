"""Neurons: the float LIF and Loihi's integer LIF, each equation written once.

A layer (:class:`~ff_neuro.model.layer.Layer`) is a synapse in front of one of these. The
synapse turns the input of a time step into an activation ``a[t]`` per neuron and adds its bias
``b``; the neuron integrates it. Both neurons are Lava's current-based LIF (CUBA: a synaptic
current ``i`` with its own decay, then the membrane ``v``), with the resets the field's tools
use: to zero or by subtraction, immediately or one step later (snnTorch's ``reset_delay``).
In the style of NIR's ``nir/ir/neuron.py``: plain parameters, validation in ``__post_init__``,
``to_dict`` / ``from_dict`` for the model file.

Decays and thresholds are one value per layer or one per neuron (an array that broadcasts to
the layer's output shape: snnTorch's ``learn_beta`` with a tensor, NIR's per-neuron ``tau``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Union

import numpy as np

from .. import checks

#: Loihi's decay constants are 12-bit fractions of 4096.
DECAY_UNITY = 4096
#: The largest unsigned 17-bit threshold mantissa (``vth``).
VTH_MAX = 2**17 - 1
#: How a neuron resets after a spike.
RESETS = ("zero", "subtract")
#: Where the synapse's bias enters: the membrane (Lava's ``bias_mant``) or the current.
BIAS_INPUTS = ("membrane", "current")

Param = Union[float, np.ndarray]


def _finite(value, what: str) -> float:
    return checks.finite(what, value)


def _param(value, what: str, low: float, high: float, *, integer: bool = False,
           low_open: bool = False, kind: str = ""):
    """A scalar, or an array of per-neuron values, each within ``[low, high]`` (``low_open``:
    ``low`` excluded): float / int, or a float64 / int64 array."""
    a = np.asarray(value)
    if a.ndim == 0:
        v = (checks.integer(what, value) if integer else checks.finite(what, value))
        ok = (v > low if low_open else v >= low) and v <= high
        if not ok:
            raise ValueError(f"{what} must be {kind or ('>' if low_open else '>=')}"
                             f"{'' if kind else f' {low:g} and <= {high:g}'}, got {v}")
        return v
    if a.size == 0 or a.dtype.kind not in "iuf":
        raise ValueError(f"{what} must be a number or an array of numbers, got {a.dtype} "
                         f"{a.shape}")
    if integer:
        if a.dtype.kind == "f" and not np.all(a == np.round(a)):
            raise ValueError(f"{what} must hold integers")
        a = a.astype(np.int64)
    else:
        checks.parameters(what, a)
        a = a.astype(np.float64)
    bad = (a <= low if low_open else a < low) | (a > high)
    if bad.any():
        raise ValueError(f"{what} must be {kind or f'in [{low:g}, {high:g}]'}, got "
                         f"{a[bad].flat[0]} (per-neuron array of shape {a.shape})")
    return a


def _dump(value):
    return np.array(value) if isinstance(value, np.ndarray) else value


def _check_mode(reset: str, reset_delay, bias_in: str) -> tuple:
    reset = checks.one_of("reset", reset, RESETS)
    if not isinstance(reset_delay, (bool, np.bool_, int, np.integer)) or reset_delay not in (0, 1):
        raise ValueError(f"reset_delay must be True or False, got {reset_delay!r}")
    return reset, bool(reset_delay), checks.one_of("bias_in", bias_in, BIAS_INPUTS)


class _Dynamics:
    """What the float and the integer neuron share: the reset mode, where the bias enters,
    per-neuron parameters and the model-file fields beyond a plain neuron's."""

    reset: str
    reset_delay: bool
    bias_in: str
    _PER_NEURON: ClassVar[tuple] = ()
    _DEFAULTS: ClassVar[dict] = {}

    @property
    def per_neuron(self) -> bool:
        """Whether a decay or the threshold varies from neuron to neuron (an array)."""
        return any(isinstance(getattr(self, f), np.ndarray) for f in self._PER_NEURON)

    @property
    def plain(self) -> bool:
        """Lava's stock ``LIF`` (and NetX's CUBA neuron): reset to zero at once, the bias in the
        membrane, one value of each parameter per layer. Other neurons run as ff-neuro's own
        Lava process."""
        return (self.reset == "zero" and not self.reset_delay and self.bias_in == "membrane"
                and not self.per_neuron)

    def check_shape(self, shape: tuple, where: str = "") -> None:
        """Refuse a per-neuron parameter that does not broadcast to the layer's ``shape``."""
        for f in self._PER_NEURON:
            v = getattr(self, f)
            if isinstance(v, np.ndarray):
                try:
                    np.broadcast_to(v, shape)
                except ValueError:
                    raise ValueError(f"{where}{f} has shape {v.shape}, which does not broadcast "
                                     f"to the layer's {tuple(shape)}") from None

    def param(self, name: str, shape: tuple) -> np.ndarray:
        """Parameter ``name`` for every neuron of a layer of ``shape`` (a read-only view)."""
        return np.broadcast_to(np.asarray(getattr(self, name)), shape)

    def __repr__(self) -> str:     # the fields that differ from a plain neuron's
        return f"{type(self).__name__}(" + ", ".join(
            f"{k}={v!r}" for k, v in self.to_dict().items()) + ")"

    def __eq__(self, other) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        a, b = self.to_dict(), other.to_dict()
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)

    __hash__ = None

    def _mode_dict(self) -> dict:
        return {k: getattr(self, k) for k, default in self._DEFAULTS.items()
                if getattr(self, k) != default}


@dataclass(repr=False, eq=False)
class LIF(_Dynamics):
    """Float current-based LIF neuron (Lava ``LIF`` in float64; snnTorch ``Leaky`` and
    ``Synaptic``; NIR ``LIF``, ``CubaLIF`` and ``IF`` once discretised).

    Per time step, with ``a[t]`` the synaptic activation (feed-forward, plus the layer's own
    spikes of step ``t - 1`` through its recurrent synapse) and ``b`` the synapse's bias::

        i[t] = (1 - i_decay) * i[t-1] + a[t]  (+ b if bias_in == "current")
        p[t] = (1 - v_decay) * v[t-1] + i[t]  (+ b if bias_in == "membrane")
        r[t] = v[t-1] > threshold                   # "reset pending": only after a delayed
                                                    # or a double reset (see below)
        reset="zero",     reset_delay=False:  v[t] = p[t];               s[t] = v[t] > threshold;
                                              v[t] = 0 where s[t]
        reset="zero",     reset_delay=True:   v[t] = p[t] * (1 - r[t]);  s[t] = v[t] > threshold
        reset="subtract", reset_delay=True:   v[t] = p[t] - threshold * r[t];
                                              s[t] = v[t] > threshold
        reset="subtract", reset_delay=False:  v[t] = p[t] - threshold * r[t];
                                              s[t] = v[t] > threshold;
                                              v[t] -= threshold * (s[t] - r[t])

    Spikes are strict (``>``), as in Lava and snnTorch; state starts at zero. With
    ``i_decay = 1`` (the default) there is no current memory: ``i[t] = a[t]``, snnTorch's
    ``Leaky`` and Lava's ``du = 1``. ``v_decay = 0`` is an integrate-and-fire neuron.

    The four resets are what snnTorch 1.0 computes (``Leaky``, ``Synaptic`` and their recurrent
    forms): a delayed zero reset holds the membrane at 0 for the step after a spike, input
    included (``Synaptic(reset_mechanism="zero")``; ``Leaky`` resets to zero identically with
    either delay, so it maps to ``reset_delay=False``); an immediate subtraction whose
    membrane is still above threshold afterwards is subtracted again, once, on the next step.
    ``v_decay``, ``i_decay`` and ``threshold`` are numbers or per-neuron arrays; decays should be
    multiples of 1/4096 so that Loihi represents them exactly.

    Example::

        >>> from ff_neuro.model import LIF
        >>> n = LIF(threshold=1.0, v_decay=0.125)       # 512 / 4096: exact on Loihi
        >>> n.beta                                      # snnTorch's Leaky(beta=0.875)
        0.875
        >>> n.to_dict()
        {'threshold': 1.0, 'v_decay': 0.125}
        >>> cuba = LIF(threshold=1.0, v_decay=0.125, i_decay=0.25, reset="subtract")
        >>> cuba.alpha, cuba.plain                      # snnTorch's Synaptic(alpha=0.75, ...)
        (0.75, False)
        >>> LIF(threshold=0.0)
        Traceback (most recent call last):
        ...
        ValueError: threshold must be > 0 and <= ..., got 0.0
    """

    threshold: Param
    v_decay: Param = 0.0
    i_decay: Param = 1.0
    reset: str = "zero"
    reset_delay: bool = False
    bias_in: str = "membrane"

    type_name: ClassVar[str] = "lif"
    _PER_NEURON: ClassVar[tuple] = ("threshold", "v_decay", "i_decay")
    _DEFAULTS: ClassVar[dict] = {"reset": "zero", "reset_delay": False, "bias_in": "membrane"}

    def __post_init__(self) -> None:
        self.threshold = _param(self.threshold, "threshold", 0.0, checks.MAX_PARAMETER,
                                low_open=True)
        self.v_decay = _param(self.v_decay, "v_decay", 0.0, 1.0)
        self.i_decay = _param(self.i_decay, "i_decay", 0.0, 1.0)
        self.reset, self.reset_delay, self.bias_in = _check_mode(self.reset, self.reset_delay,
                                                                 self.bias_in)

    @property
    def beta(self) -> Param:
        """snnTorch's membrane decay factor, ``1 - v_decay``."""
        return 1.0 - self.v_decay

    @property
    def alpha(self) -> Param:
        """snnTorch's current decay factor, ``1 - i_decay`` (0: no current memory)."""
        return 1.0 - self.i_decay

    @property
    def current_memory(self) -> bool:
        """Whether the current decays over steps rather than following the input."""
        return bool(np.any(np.asarray(self.i_decay) != 1.0))

    def to_dict(self) -> dict:
        d = {"threshold": _dump(self.threshold), "v_decay": _dump(self.v_decay)}
        if isinstance(self.i_decay, np.ndarray) or self.i_decay != 1.0:
            d["i_decay"] = _dump(self.i_decay)
        d.update(self._mode_dict())
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "LIF":
        return cls(threshold=d["threshold"], v_decay=d["v_decay"],
                   i_decay=d.get("i_decay", 1.0), reset=d.get("reset", "zero"),
                   reset_delay=bool(d.get("reset_delay", False)),
                   bias_in=d.get("bias_in", "membrane"))


@dataclass(repr=False, eq=False)
class LoihiLIF(_Dynamics):
    """Loihi's integer LIF, bit for bit as Lava's ``fixed_pt`` models run it
    (``AbstractPyLifModelFixed.subthr_dynamics`` and ``PyLifResetModelBitAcc``), with the
    resets of :class:`LIF`.

    Per time step, in integers, with ``a[t]`` the synaptic activation (integer weights applied
    to the input messages, and the recurrent synapse's sum over the previous step's spikes)
    and ``b`` the synapse's bias mantissa; ``TH = vth << 6``::

        u[t] = wrap24(decay(u[t-1], i_decay) + ((a[t] (+ b if bias_in == "current")) << 6))
        p[t] = decay(v[t-1], v_decay) + u[t]  (+ (b << 6) if bias_in == "membrane")
        r[t] = v[t-1] > TH
        reset="zero",     reset_delay=False:  v[t] = sat24(p[t]);  s[t] = v[t] > TH;
                                              v[t] = 0 where s[t]
        reset="zero",     reset_delay=True:   v[t] = sat24(p[t]) * (1 - r[t]);  s[t] = v[t] > TH
        reset="subtract", reset_delay=True:   v[t] = sat24(p[t] - TH r[t]);  s[t] = v[t] > TH
        reset="subtract", reset_delay=False:  v[t] = sat24(p[t] - TH r[t]);  s[t] = v[t] > TH;
                                              v[t] -= TH (s[t] - r[t])

        decay(x, d) = sign(x (4096 - d)) * (|x (4096 - d)| >> 12)     # truncates toward zero
        wrap24(x)   = x - 2**24 if x > 2**23; then, if that is <= -2**23, x + 2**24
        sat24(x)    = clip(x, -(2**23 - 1), 2**23 - 1)

    The first line of resets is Lava's stock ``LIF``; the others (and per-neuron parameters,
    and a bias in the current) run as ff-neuro's own Lava process, on Loihi 2 a microcode
    neuron. ``i_decay`` is NetX's ``iDecay`` (4096: no current memory, the float ``du = 1``;
    Lava's ``du`` Var holds ``i_decay - 1`` and adds it back as ``ds_offset``); ``v_decay`` is
    ``dv`` in 1/4096; both and ``vth`` are numbers or per-neuron arrays. ``scale`` records the
    quantization: integer units per float unit of the layer (``W_q ~ round(scale * W)``,
    ``vth = round(scale * threshold)``). :func:`ff_neuro.run.lif.loihi_lif_step` is this
    equation in code; every other implementation is tested against it.

    Example::

        >>> from ff_neuro.model import DECAY_UNITY, LoihiLIF
        >>> scale = 250.0                               # integer units per float unit
        >>> q = LoihiLIF(vth=round(scale * 1.0), v_decay=512, scale=scale)
        >>> q.vth, q.i_decay == DECAY_UNITY             # du = 1: no current memory
        (250, True)
        >>> LoihiLIF(vth=2**17, v_decay=0)
        Traceback (most recent call last):
        ...
        ValueError: vth must be an unsigned 17-bit integer, got 131072
    """

    vth: Union[int, np.ndarray]
    v_decay: Union[int, np.ndarray]
    i_decay: Union[int, np.ndarray] = DECAY_UNITY
    scale: float = 1.0
    reset: str = "zero"
    reset_delay: bool = False
    bias_in: str = "membrane"

    type_name: ClassVar[str] = "loihi_lif"
    _PER_NEURON: ClassVar[tuple] = ("vth", "v_decay", "i_decay")
    _DEFAULTS: ClassVar[dict] = {"reset": "zero", "reset_delay": False, "bias_in": "membrane"}

    def __post_init__(self) -> None:
        self.vth = _param(self.vth, "vth", 0, VTH_MAX, integer=True,
                          kind="an unsigned 17-bit integer")
        self.v_decay = _param(self.v_decay, "v_decay", 0, DECAY_UNITY, integer=True)
        self.i_decay = _param(self.i_decay, "i_decay", 0, DECAY_UNITY, integer=True)
        self.scale = _finite(self.scale, "scale")
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")
        self.reset, self.reset_delay, self.bias_in = _check_mode(self.reset, self.reset_delay,
                                                                 self.bias_in)

    @property
    def current_memory(self) -> bool:
        return bool(np.any(np.asarray(self.i_decay) != DECAY_UNITY))

    def to_dict(self) -> dict:
        d = {"vth": _dump(self.vth), "v_decay": _dump(self.v_decay),
             "i_decay": _dump(self.i_decay), "scale": self.scale}
        d.update(self._mode_dict())
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "LoihiLIF":
        return cls(vth=d["vth"], v_decay=d["v_decay"], i_decay=d.get("i_decay", DECAY_UNITY),
                   scale=d.get("scale", 1.0), reset=d.get("reset", "zero"),
                   reset_delay=bool(d.get("reset_delay", False)),
                   bias_in=d.get("bias_in", "membrane"))
