"""Argument checks shared by the config dataclasses, the library's functions and the CLI, so that
the Python API and the command line refuse the same things, in the same words, before any long
work starts.

Every check returns the value converted (``float``, ``int``, ``Path``) or raises a
``ValueError`` whose message names the argument, what it must be and what it got.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

#: the most time steps a sample may last (a larger value is a typo, and allocates (T, N, n))
MAX_TIME_STEPS = 100_000


def finite(name: str, value, *, low: Optional[float] = None, high: Optional[float] = None,
           low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a finite float within ``[low, high]`` (``low_open``/``high_open``: the
    bound itself excluded)."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low:g}, got {value!r}")
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high:g}, got {value!r}")
    return v


#: the largest magnitude a float parameter of a model (weight, bias, threshold, gain) may have:
#: trained spiking networks stay many orders of magnitude below it, so a larger value is
#: corruption, not a model
MAX_PARAMETER = 1e6


def parameters(name: str, values) -> np.ndarray:
    """``values`` (an array of model parameters) unchanged, if every one is a finite number
    within ``±MAX_PARAMETER``; else a ValueError naming the first bad one."""
    a = np.asarray(values)
    if a.dtype.kind not in "iuf":
        raise ValueError(f"{name} must hold numbers, got {a.dtype}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        raise ValueError(f"{name} contains {a[tuple(bad)]} at {tuple(int(i) for i in bad)}")
    if a.size and a.dtype.kind in "iuf":
        big = np.abs(a.astype(np.float64)) > MAX_PARAMETER
        if big.any():
            bad = np.argwhere(big)[0]
            raise ValueError(f"{name} holds {a[tuple(bad)]:.6g} at "
                             f"{tuple(int(i) for i in bad)}; model parameters lie within "
                             f"±{MAX_PARAMETER:g}")
    return a


def positive(name: str, value) -> float:
    """A finite number > 0."""
    return finite(name, value, low=0.0, low_open=True)


def fraction(name: str, value, *, high_open: bool = False) -> float:
    """A finite number in [0, 1] (``high_open``: [0, 1))."""
    return finite(name, value, low=0.0, high=1.0, high_open=high_open)


def integer(name: str, value, *, low: Optional[int] = None, high: Optional[int] = None) -> int:
    """``value`` as an int within ``[low, high]`` (a float must be a whole number)."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    try:
        f = float(value)
        v = int(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be an integer, got {value!r}") from None
    if not math.isfinite(f) or f != v:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if low is not None and v < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    if high is not None and v > high:
        raise ValueError(f"{name} must be <= {high}, got {value!r}")
    return v


def count(name: str, value, *, high: Optional[int] = None) -> int:
    """A whole number >= 1."""
    return integer(name, value, low=1, high=high)


def seed(name: str, value) -> int:
    """A random seed: a whole number >= 0 (what numpy's generators take)."""
    return integer(name, value, low=0)


def time_steps(name: str, value) -> int:
    return integer(name, value, low=1, high=MAX_TIME_STEPS)


def one_of(name: str, value, choices: Iterable[str]) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r} (choose from {', '.join(map(str, choices))})")
    return value


def samples(name: str, value, available: int, what: str = "the test split") -> int:
    """A number of samples: >= 1 and at most ``available``."""
    n = count(name, value)
    if n > available:
        raise ValueError(f"{name} = {n}, but {what} has {available} samples")
    return n


def writable_file(path, what: str = "output file") -> Path:
    """``path`` can be written (atomically: its folder must be writable, or creatable); checked
    before the work that produces it."""
    if path is None or str(path).strip() == "":
        raise ValueError(f"the {what} needs a path")
    p = Path(path).expanduser()
    if p.is_dir():
        raise ValueError(f"the {what} {p} is a directory")
    parent = p.parent.resolve()
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"cannot write the {what} {p}: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write the {what} {p}: no permission to write in {probe}")
    return p
