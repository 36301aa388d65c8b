"""Run: the backends that execute a network, one registry in one vocabulary, and inference
through a network's readout.

================  ==================================================================  =========
name              what runs                                                            needs
================  ==================================================================  =========
``float``         the float layers in float64 (torch): the reference                   -
``emulator``      the Loihi layers, bit-exact with Lava ``fixed_pt`` (numba, torch)    -
``lava-float``    the float layers on Lava's ``floating_pt`` models (CPU simulator)    Lava
``lava-fixed``    the NetX export on Lava's bit-accurate ``fixed_pt`` models           Lava
``loihi2``        Loihi 2 hardware (``Loihi2HwCfg``)                                   lava-loihi
================  ==================================================================  =========

``get_backend(name, **options)`` returns a backend for any network kind; ``available(name)``
says whether it can run here and, if not, why. Older spellings (``torch``, ``lava_fixed_pt``,
``lava_floating_pt``, ``loihi2-hw``) are accepted as aliases.
"""
from __future__ import annotations

from typing import Dict, Optional, Tuple, Type

from .backend import Backend, BackendUnavailable, LayerSpikes, RunStats
from .inference import (READOUT_SEED_OFFSET, TEST_SEED_OFFSET, InferenceResult, fit_readout,
                        hidden_features, infer, label_sweep, one_pass)


def _float():
    from .float_backend import FloatBackend
    return FloatBackend


def _emulator():
    from .emulator import EmulatorBackend
    return EmulatorBackend


def _lava():
    from .lava.backend import LavaBackend
    return LavaBackend


def _loihi2():
    from .lava.backend import Loihi2Backend
    return Loihi2Backend


#: backend name -> (factory of the class, fixed constructor options)
_REGISTRY: Dict[str, tuple] = {
    "float": (_float, {}),
    "emulator": (_emulator, {}),
    "lava-float": (_lava, {"mode": "floating_pt"}),
    "lava-fixed": (_lava, {"mode": "fixed_pt"}),
    "loihi2": (_loihi2, {}),
}
BACKENDS = tuple(_REGISTRY)
#: older spellings (CLI options, parity and JSON keys of earlier releases)
ALIASES = {"torch": "float", "lava_floating_pt": "lava-float", "lava_fixed_pt": "lava-fixed",
           "floating_pt": "lava-float", "fixed_pt": "lava-fixed", "loihi2-hw": "loihi2"}
#: backends that run the Loihi (quantized) layers
FIXED_POINT = ("emulator", "lava-fixed", "loihi2")


def canonical(name: str) -> str:
    """The registry name of ``name`` (an alias is translated); ValueError for unknown names.

    Example::

        >>> from ff_neuro.run import canonical
        >>> canonical("emulator"), canonical("torch"), canonical("fixed_pt")
        ('emulator', 'float', 'lava-fixed')
        >>> canonical("gpu")
        Traceback (most recent call last):
        ...
        ValueError: unknown backend 'gpu' (choose from float, emulator, lava-float, lava-fixed,
        loihi2)
    """
    key = str(name).strip()
    key = ALIASES.get(key, key)
    if key not in _REGISTRY:
        raise ValueError(f"unknown backend {name!r} (choose from {', '.join(BACKENDS)})")
    return key


def backend_class(name: str) -> Type[Backend]:
    """The :class:`Backend` class behind ``name`` (imported, not constructed).

    Example::

        >>> from ff_neuro.run import backend_class
        >>> backend_class("emulator").__name__, backend_class("lava-fixed").__name__
        ('EmulatorBackend', 'LavaBackend')
    """
    factory, _ = _REGISTRY[canonical(name)]
    return factory()


def available(name: str) -> Tuple[bool, str]:
    """``(True, "")`` if backend ``name`` can run here, else ``(False, why)``.

    Example::

        >>> from ff_neuro.run import available
        >>> available("emulator")
        (True, '')
        >>> ok, why = available("lava-fixed")   # False without Lava; ``why`` says what to install
    """
    return backend_class(name).available()


def get_backend(name: str, *, timeout_s: Optional[float] = None, workers: Optional[int] = None,
                **options) -> Backend:
    """A backend by name (``float``, ``emulator``, ``lava-float``, ``lava-fixed``, ``loihi2``,
    or an alias), constructed with ``options``. ``timeout_s``: the time limit of a run, and
    ``workers``: how many runs go at once (default: half the cores available), for the backends
    that run in supervised child processes (``Backend.supervised``: the Lava ones); the
    in-process backends ignore both.

    Example::

        >>> import numpy as np
        >>> import ff_neuro as ffn
        >>> from ff_neuro.model import Layer, SpikeCountReadout
        >>> be = ffn.get_backend("emulator")
        >>> be.name, type(be).__name__
        ('emulator', 'EmulatorBackend')
        >>> net = ffn.Network([Layer.dense(weight=np.full((2, 4), 0.6), threshold=1.0)],
        ...                   readouts=[SpikeCountReadout(n_classes=2)])
        >>> qnet, _ = ffn.quantize(net)
        >>> spikes = be.run(qnet, np.ones((8, 1, 4), np.uint8))    # (T, B, n_in) messages
        >>> spikes.counts()[0]                                    # every layer's counts
        array([[8, 8]], dtype=int32)
        >>> lava = ffn.get_backend("lava-fixed", timeout_s=300)    # doctest: +SKIP
    """
    factory, fixed = _REGISTRY[canonical(name)]
    cls = factory()
    if timeout_s is not None and cls.supervised:
        options["timeout_s"] = timeout_s
    if workers is not None and cls.supervised:
        options["workers"] = workers
    return cls(**fixed, **options)


__all__ = ["ALIASES", "BACKENDS", "Backend", "BackendUnavailable", "FIXED_POINT",
           "InferenceResult", "LayerSpikes", "READOUT_SEED_OFFSET", "RunStats",
           "TEST_SEED_OFFSET", "available", "backend_class", "canonical", "fit_readout",
           "get_backend", "hidden_features", "infer", "label_sweep", "one_pass"]
