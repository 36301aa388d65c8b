"""One training protocol for the three learning rules.

:class:`~ff_neuro.training.ff.FFTrainer` (spiking Forward-Forward),
:class:`~ff_neuro.training.hebbian.HebbianTrainer` (the neo-Hebbian FF rule) and
:class:`~ff_neuro.training.ffgaf.FFGAFTrainer` (FFGAF-SNN conv networks) share one interface,
:class:`Trainer`: build one with :func:`make_trainer`, then ``fit`` it with a time budget,
a checkpoint to resume from, and callbacks that see every epoch::

    >>> import ff_neuro as ffn
    >>> from ff_neuro.training import make_trainer, EarlyStopping
    >>> tr = make_trainer("ff", ffn.load_dataset("digits"), hidden=(32,), epochs=3,
    ...                   time_steps=4, eval_samples=100)
    >>> net = tr.fit(progress=False, max_seconds=60, checkpoint="run.ckpt.h5",
    ...              callbacks=[EarlyStopping("train_accuracy", patience=2)])
    >>> tr.epochs_done
    3

A run that stops (Ctrl-C, a crash, the budget) continues where its last checkpoint left it
with ``fit(checkpoint=..., resume=True)``; every trainer draws its randomness from
``(seed, epoch)``, so a resumed run trains the same epochs as an uninterrupted one.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Callable, Dict, Iterable, Optional, Protocol, Sequence, runtime_checkable

from ..model import Network

#: the learning rules :func:`make_trainer` knows
ALGORITHMS = ("ff", "hebbian", "ffgaf")


class Callback:
    """Hooks that :meth:`Trainer.fit` calls. Subclass and override what you need.

    ``on_epoch_end`` gets the trainer, the epoch just finished (0-based) and that epoch's
    numbers (:meth:`Trainer.epoch_metrics`); returning ``True`` stops training after this
    epoch (its checkpoint is written first)."""

    def on_fit_start(self, trainer: "Trainer") -> None:
        """Before the first epoch of this ``fit`` call (after a resume has loaded)."""

    def on_epoch_end(self, trainer: "Trainer", epoch: int, metrics: dict) -> Optional[bool]:
        """After every epoch; ``True`` stops training."""
        return None

    def on_fit_end(self, trainer: "Trainer") -> None:
        """After the last epoch of this ``fit`` call."""


class LambdaCallback(Callback):
    """A function ``fn(trainer, epoch, metrics)`` as a callback (its truthy return stops).

    Example::

        >>> log = LambdaCallback(lambda tr, epoch, m: print(epoch, m["seconds"]))
    """

    def __init__(self, fn: Callable[["Trainer", int, dict], Optional[bool]]):
        self.fn = fn

    def on_epoch_end(self, trainer, epoch, metrics):
        return bool(self.fn(trainer, epoch, metrics))


class EarlyStopping(Callback):
    """Stop when ``metric`` (a key of :meth:`Trainer.epoch_metrics`, e.g. ``"train_accuracy"``
    or ``"loss"``) has not improved by more than ``min_delta`` for ``patience`` epochs.

    ``mode``: ``"max"`` (accuracy-like, the default for names containing "accuracy") or
    ``"min"`` (loss-like). An epoch whose metric is missing or NaN counts as no improvement.

    Example::

        >>> stop = EarlyStopping("train_accuracy", patience=3)
    """

    def __init__(self, metric: str = "train_accuracy", patience: int = 3,
                 min_delta: float = 0.0, mode: Optional[str] = None):
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        self.metric, self.patience, self.min_delta = metric, int(patience), float(min_delta)
        self.mode = mode or ("max" if "accuracy" in metric else "min")
        if self.mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
        self.best: Optional[float] = None
        self.waited = 0
        self.stopped_epoch: Optional[int] = None

    def on_epoch_end(self, trainer, epoch, metrics):
        value = metrics.get(self.metric)
        better = (value is not None and not math.isnan(value)
                  and (self.best is None
                       or (value > self.best + self.min_delta if self.mode == "max"
                           else value < self.best - self.min_delta)))
        if better:
            self.best, self.waited = float(value), 0
            return False
        self.waited += 1
        if self.waited >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False


@runtime_checkable
class Trainer(Protocol):
    """What every trainer offers.

    Attributes: ``cfg`` (its configuration dataclass), ``ds`` (the Dataset), ``history`` (per
    epoch records with ``to_dict()``), ``epochs_done``.
    """

    cfg: object
    epochs_done: int

    def fit(self, progress: bool = True, callbacks: Sequence[Callback] = (),
            checkpoint=None, resume: bool = False, checkpoint_every: int = 1,
            max_seconds: Optional[float] = None,
            stop_after: Optional[int] = None) -> Network:
        """Train up to ``cfg.epochs`` epochs and return the network.

        ``checkpoint``: an HDF5 file written every ``checkpoint_every`` epochs (and at the
        end); with ``resume`` the run continues from it. ``max_seconds``: stop once that much
        training time is spent (the time of a resumed run counts). ``stop_after``: pause once
        that many epochs are done (a later ``fit`` continues the same schedule).
        ``callbacks``: :class:`Callback` objects."""

    def network(self) -> Network:
        """The network as trained so far."""

    def epoch_metrics(self) -> Dict[str, Optional[float]]:
        """The last epoch's numbers (always ``epoch``, ``seconds`` and ``train_accuracy``,
        which is None when not measured; then the rule's own, e.g. ``loss``)."""

    def save_checkpoint(self, path) -> Path:
        """Write the whole training state to ``path`` (HDF5, atomic)."""

    def load_checkpoint(self, path):
        """Restore the training state written by :meth:`save_checkpoint`."""


def callbacks_stop(callbacks: Iterable[Callback], trainer, epoch: int) -> bool:
    """Give every callback the epoch just finished; True if any asks to stop."""
    callbacks = list(callbacks)
    if not callbacks:
        return False
    metrics = trainer.epoch_metrics()
    # every callback sees the epoch (no short-circuit), then any one may stop
    return any([bool(cb.on_epoch_end(trainer, epoch, metrics)) for cb in callbacks])


def config_class(algo: str):
    """The configuration dataclass of ``algo`` (``"ff"``, ``"hebbian"``, ``"ffgaf"``)."""
    if algo == "ff":
        from ..config import FFTrainConfig
        return FFTrainConfig
    if algo == "hebbian":
        from .hebbian import HebbianConfig
        return HebbianConfig
    if algo == "ffgaf":
        from .ffgaf_config import FFGAFConfig
        return FFGAFConfig
    raise ValueError(f"unknown algo {algo!r} ({'|'.join(ALGORITHMS)})")


def make_config(algo: str, **fields):
    """``algo``'s configuration with ``fields`` set (the dataclass defaults for the rest); an
    unknown field is a TypeError naming it and listing the known ones."""
    cls = config_class(algo)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {', '.join(unknown)} (fields: "
                        f"{', '.join(sorted(known))})")
    return cls(**fields)


def make_trainer(algo: str, dataset, config=None, device: str = "cpu",
                 threads: Optional[int] = None, data_parallel: Optional[bool] = None,
                 **fields) -> Trainer:
    """A :class:`Trainer` for ``algo`` on ``dataset``: from a config object, or from config
    ``fields`` (see :func:`make_config`). ``device``: the torch device to train on (hebbian:
    the numpy engine on the CPU, the torch engine elsewhere); ``threads``: torch CPU threads
    (None: torch's choice; FFGAF: 2). ``data_parallel`` (ff): train data-parallel with the
    other processes torchrun started (:mod:`ff_neuro.training.distributed`); None: when
    torchrun started more than one process.

    Example::

        >>> from ff_neuro.data import load_digits
        >>> tr = make_trainer("hebbian", load_digits(), hidden=(20,), epochs=1)
        >>> type(tr).__name__, tr.cfg.update_from_step
        ('HebbianTrainer', 16)
    """
    if config is not None and fields:
        raise TypeError("give a config object or config fields, not both")
    cfg = config if config is not None else make_config(algo, **fields)
    expected = config_class(algo)
    if not isinstance(cfg, expected):
        raise TypeError(f"algo {algo!r} trains with a {expected.__name__}, got "
                        f"{type(cfg).__name__}")
    from . import distributed
    if data_parallel is None:
        data_parallel = algo == "ff" and distributed.launched()
    if data_parallel and algo != "ff":
        raise ValueError(f"data-parallel training is for algo 'ff'; algo {algo!r} trains in "
                         "one process")
    if algo == "ffgaf":
        from .ffgaf import FFGAFTrainer
        return FFGAFTrainer(cfg, dataset, threads=2 if threads is None else threads,
                            device=device)
    if threads is not None:
        import torch
        torch.set_num_threads(int(threads))
    if algo == "ff":
        from .ff import FFTrainer
        return FFTrainer(cfg, dataset, device=device, data_parallel=data_parallel)
    from .hebbian import HebbianTrainer
    return HebbianTrainer(cfg, dataset, device=device)


def fit_with_budget(trainer: Trainer, max_minutes: Optional[float] = None, **fit_kwargs):
    """``trainer.fit(**fit_kwargs)`` within ``max_minutes`` of training time.

    Spiking FF sizes its schedule to the budget (:func:`ff_neuro.training.budget.fit_in_budget`:
    a timed probe, ``cfg.epochs`` as the most, re-sized every 10 epochs, so a cosine schedule
    ends with the budget); the other rules stop once the budget is spent. Returns
    ``(network, record)``: the record says how the budget was used (None without one)."""
    if max_minutes is None:
        return trainer.fit(**fit_kwargs), None
    from .. import checks
    checks.positive("max_minutes", max_minutes)
    from .ff import FFTrainer
    if isinstance(trainer, FFTrainer):
        from .budget import fit_in_budget
        return fit_in_budget(trainer, max_minutes, most=trainer.cfg.epochs, **fit_kwargs)
    net = trainer.fit(max_seconds=60.0 * max_minutes, **fit_kwargs)
    return net, {"budget_minutes": float(max_minutes), "epochs": trainer.epochs_done}
