"""A layer is a synapse in front of a population of neurons (lava-dl NetX's block), and
optionally a recurrent synapse from the layer's own spikes back to its input.

Dense and conv layers differ only in the synapse; float and Loihi layers only in the neuron
(and the synapse's number type). The activation of one layer and one step::

    a[t] = synapse(x[t]) + recurrent(s[t-1])     # W @ x[t] or conv2d(x[t], W); W_rec @ s[t-1]

which the neuron integrates (:class:`~ff_neuro.model.neuron.LIF`, or
:class:`~ff_neuro.model.neuron.LoihiLIF` on integer weights). The recurrent synapse sees the
previous step's spikes: the timing of a Lava ``Dense`` wired from a process's ``s_out`` back to
its own input, and of snnTorch's ``RLeaky`` / ``RSynaptic``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Optional, Union

import numpy as np

from .neuron import DECAY_UNITY, LIF, LoihiLIF
from .synapse import Conv2d, Dense

Synapse = Union[Dense, Conv2d]
Neuron = Union[LIF, LoihiLIF]


@dataclass
class Layer:
    """``synapse`` (:class:`Dense` or :class:`Conv2d`) + ``neuron`` (:class:`LIF` or
    :class:`LoihiLIF`). A :class:`LoihiLIF` layer needs integer weights in [-256, 254] and an
    integer bias mantissa; a float layer float weights (converted to float32).

    Example::

        >>> import numpy as np
        >>> from ff_neuro.model import Dense, Layer
        >>> layer = Layer.dense(weight=np.full((16, 74), 0.1), threshold=1.0, v_decay=0.125)
        >>> layer.kind, layer.n_in, layer.n_out, layer.quantized
        ('dense', 74, 16, False)
        >>> conv = Layer.conv2d(weight=np.ones((4, 1, 3, 3)), threshold=2.0, in_shape=(1, 8, 8),
        ...                     padding=1)
        >>> conv.kind, conv.out_shape, conv.n_out
        ('conv2d', (4, 8, 8), 256)
        >>> q = Layer.loihi(Dense(weight=np.full((16, 74), 25)), vth=250, v_decay=512,
        ...                 scale=250.0)
        >>> q.quantized, q.weight.dtype
        (True, dtype('int32'))
        >>> Layer.loihi(Dense(weight=np.full((16, 74), 300)), vth=250, v_decay=512)
        Traceback (most recent call last):
        ...
        ValueError: quantized weights must lie in [-256, 254] ..., got [300, 300]
    """

    synapse: Synapse
    neuron: Neuron
    recurrent: Optional[Dense] = None

    type_name: ClassVar[str] = "layer"

    def __post_init__(self) -> None:
        if not isinstance(self.synapse, (Dense, Conv2d)):
            raise TypeError(f"synapse must be Dense or Conv2d, got {type(self.synapse).__name__}")
        if isinstance(self.neuron, LoihiLIF):
            self.synapse.as_integer()
        elif isinstance(self.neuron, LIF):
            self.synapse.as_float()
        else:
            raise TypeError(f"neuron must be LIF or LoihiLIF, got {type(self.neuron).__name__}")
        self.neuron.check_shape(self.out_shape)
        rec = self.recurrent
        if rec is not None:
            if not isinstance(rec, Dense):
                raise TypeError(f"recurrent must be a Dense synapse, got {type(rec).__name__}")
            if isinstance(self.synapse, Conv2d):
                raise ValueError("a conv layer cannot carry a recurrent synapse (Loihi would "
                                 "need its expanded n x n matrix); use a dense layer")
            n = self.n_out
            if rec.weight.shape != (n, n):
                raise ValueError(f"the recurrent weight must be ({n}, {n}) (the layer's own "
                                 f"spikes back to its neurons), got {rec.weight.shape}")
            if isinstance(self.neuron, LoihiLIF):
                if rec.bias is not None:
                    raise ValueError("a Loihi layer's recurrent synapse has no bias of its "
                                     "own (Lava's Dense has none): add it to the layer's bias")
                rec.as_integer()
            else:
                rec.as_float()

    # -- constructors ----------------------------------------------------------------------
    @classmethod
    def dense(cls, weight, threshold: float, v_decay: float = 0.0, bias=None,
              in_shape=None) -> "Layer":
        """A float dense layer: ``Dense(weight, bias)`` + ``LIF(threshold, v_decay)``."""
        return cls(Dense(weight=weight, bias=bias, in_shape=in_shape),
                   LIF(threshold=threshold, v_decay=v_decay))

    @classmethod
    def conv2d(cls, weight, threshold: float, in_shape, v_decay: float = 0.0, stride: int = 1,
               padding: int = 0, bias=None) -> "Layer":
        """A float conv layer: ``Conv2d(weight, in_shape, stride, padding, bias)`` + ``LIF``."""
        return cls(Conv2d(weight=weight, in_shape=in_shape, stride=stride, padding=padding,
                          bias=bias), LIF(threshold=threshold, v_decay=v_decay))

    @classmethod
    def loihi(cls, synapse: Synapse, vth: int, v_decay: int, i_decay: int = DECAY_UNITY,
              scale: float = 1.0) -> "Layer":
        """A Loihi layer on an integer ``synapse``."""
        return cls(synapse, LoihiLIF(vth=vth, v_decay=v_decay, i_decay=i_decay, scale=scale))

    # -- shapes and parameters -------------------------------------------------------------
    @property
    def kind(self) -> str:
        """``"dense"`` or ``"conv2d"``."""
        return self.synapse.type_name

    @property
    def plain(self) -> bool:
        """Lava's stock LIF behind a feed-forward synapse: what NetX files and the emulator's
        fast kernels hold (see :attr:`LIF.plain <ff_neuro.model.neuron.LIF.plain>`)."""
        return self.neuron.plain and self.recurrent is None and \
            getattr(self.synapse, "weight_exp", 0) == 0

    @property
    def quantized(self) -> bool:
        """Whether this is a Loihi (integer) layer."""
        return isinstance(self.neuron, LoihiLIF)

    @property
    def weight(self) -> np.ndarray:
        return self.synapse.weight

    @property
    def bias(self) -> Optional[np.ndarray]:
        return self.synapse.bias

    @property
    def in_shape(self) -> tuple:
        return self.synapse.in_shape

    @property
    def out_shape(self) -> tuple:
        return self.synapse.out_shape

    @property
    def n_in(self) -> int:
        return self.synapse.n_in

    @property
    def n_out(self) -> int:
        """Neurons of the layer."""
        return self.synapse.n_out

    def neuron_bias(self) -> Optional[np.ndarray]:
        """The bias of every neuron, ``out_shape`` (a conv bias broadcast over positions)."""
        b = self.synapse.bias
        if b is None:
            return None
        if isinstance(self.synapse, Conv2d):
            return np.broadcast_to(b[:, None, None], self.out_shape)
        return b

    def to_dict(self) -> dict:
        return {"synapse": self.synapse, "neuron": self.neuron, "recurrent": self.recurrent}

    @classmethod
    def from_dict(cls, d: dict) -> "Layer":
        return cls(synapse=d["synapse"], neuron=d["neuron"], recurrent=d.get("recurrent"))
