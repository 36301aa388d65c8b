"""Neurons: the float LIF and Loihi's integer LIF, each equation written once.

A layer (:class:`~ff_neuro.model.layer.Layer`) is a synapse in front of one of these. The
synapse turns the input of a time step into an activation ``a[t]`` per neuron and adds its bias
``b``; the neuron integrates it. Both neurons are current-based LIFs of Lava
(``lava.proc.lif``) with reset to zero and no refractory period. In the style of NIR's
``nir/ir/neuron.py``: plain parameters, validation in ``__post_init__``, ``to_dict`` /
``from_dict`` for the model file.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import checks

#: Loihi's decay constants are 12-bit fractions of 4096.
DECAY_UNITY = 4096
#: The largest unsigned 17-bit threshold mantissa (``vth``).
VTH_MAX = 2**17 - 1


def _finite(value, what: str) -> float:
    return checks.finite(what, value)


@dataclass
class LIF:
    """Float LIF neuron without current memory (Lava ``LIF`` with ``du = 1``, float64).

    Per time step, with ``a[t]`` the synaptic activation and ``b`` the synapse's bias::

        v[t] = (1 - v_decay) * v[t-1] + a[t] + b
        s[t] = v[t] > threshold                     # strict, as Lava and snnTorch
        v[t] = 0 where s[t]                         # reset to zero, no refractory period

    This is snnTorch ``Leaky(beta=1 - v_decay, threshold, reset_mechanism="zero",
    reset_delay=False)`` fed by a ``Linear`` or ``Conv2d`` layer, and Lava's floating-point LIF
    with ``du = 1, dv = v_decay, vth = threshold``. ``v_decay = 0`` is an integrate-and-fire
    neuron (FFGAF's IF). ``v_decay`` should be a multiple of 1/4096 so that Loihi represents
    it exactly (the trainers round it so).

    Example::

        >>> from ff_neuro.model import LIF
        >>> n = LIF(threshold=1.0, v_decay=0.125)       # 512 / 4096: exact on Loihi
        >>> n.beta                                      # snnTorch's Leaky(beta=0.875)
        0.875
        >>> n.to_dict()
        {'threshold': 1.0, 'v_decay': 0.125}
        >>> LIF(threshold=0.0)
        Traceback (most recent call last):
        ...
        ValueError: threshold must be > 0 and <= ..., got 0.0
    """

    threshold: float
    v_decay: float = 0.0

    type_name: ClassVar[str] = "lif"

    def __post_init__(self) -> None:
        self.threshold = _finite(self.threshold, "threshold")
        if not 0 < self.threshold <= checks.MAX_PARAMETER:
            raise ValueError(f"threshold must be > 0 and <= {checks.MAX_PARAMETER:g}, got "
                             f"{self.threshold}")
        self.v_decay = _finite(self.v_decay, "v_decay")
        if not 0.0 <= self.v_decay <= 1.0:
            raise ValueError(f"v_decay must be in [0, 1], got {self.v_decay}")

    @property
    def beta(self) -> float:
        """snnTorch's membrane decay factor, ``1 - v_decay``."""
        return 1.0 - self.v_decay

    def to_dict(self) -> dict:
        return {"threshold": self.threshold, "v_decay": self.v_decay}

    @classmethod
    def from_dict(cls, d: dict) -> "LIF":
        return cls(threshold=d["threshold"], v_decay=d["v_decay"])


@dataclass
class LoihiLIF:
    """Loihi's integer LIF, bit for bit as Lava's ``fixed_pt`` models run it
    (``AbstractPyLifModelFixed.subthr_dynamics`` and ``PyLifResetModelBitAcc``).

    Per time step, in integers, with ``a[t]`` the synaptic activation (integer weights applied
    to the input messages) and ``b`` the synapse's bias mantissa::

        u[t] = wrap24(decay(u[t-1], i_decay) + (a[t] << 6))
        v[t] = sat24(decay(v[t-1], v_decay) + u[t] + (b << 6))
        s[t] = v[t] > (vth << 6)
        v[t] = 0 where s[t]

        decay(x, d) = sign(x (4096 - d)) * (|x (4096 - d)| >> 12)     # truncates toward zero
        wrap24(x)   = x - 2**24 if x > 2**23; then, if that is <= -2**23, x + 2**24
        sat24(x)    = clip(x, -(2**23 - 1), 2**23 - 1)

    ``i_decay`` is NetX's ``iDecay`` (4096: no current memory, the float ``du = 1``; Lava's
    ``du`` Var holds ``i_decay - 1`` and adds it back as ``ds_offset``); ``v_decay`` is
    ``dv`` in 1/4096. ``scale`` records the quantization: integer units per float unit of the
    layer (``W_q ~ round(scale * W)``, ``vth = round(scale * threshold)``).
    :func:`ff_neuro.run.lif.loihi_lif_step` is this equation in code; every other
    implementation is tested against it.

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

    vth: int
    v_decay: int
    i_decay: int = DECAY_UNITY
    scale: float = 1.0

    type_name: ClassVar[str] = "loihi_lif"

    def __post_init__(self) -> None:
        for name in ("vth", "v_decay", "i_decay"):
            value = getattr(self, name)
            setattr(self, name, checks.integer(name, value))
        if not 0 <= self.vth <= VTH_MAX:
            raise ValueError(f"vth must be an unsigned 17-bit integer, got {self.vth}")
        for name in ("v_decay", "i_decay"):
            if not 0 <= getattr(self, name) <= DECAY_UNITY:
                raise ValueError(f"{name} must be in [0, 4096], got {getattr(self, name)}")
        self.scale = _finite(self.scale, "scale")
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")

    def to_dict(self) -> dict:
        return {"vth": self.vth, "v_decay": self.v_decay, "i_decay": self.i_decay,
                "scale": self.scale}

    @classmethod
    def from_dict(cls, d: dict) -> "LoihiLIF":
        return cls(vth=d["vth"], v_decay=d["v_decay"], i_decay=d.get("i_decay", DECAY_UNITY),
                   scale=d.get("scale", 1.0))
