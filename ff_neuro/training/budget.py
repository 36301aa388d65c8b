"""Training within a wall-clock budget: how many epochs fit in ``minutes`` of training.

A cosine learning-rate schedule must know its length in advance, so a time budget is turned
into epochs before training: a scratch trainer times a few steps (after one warm-up step that
compiles the kernels), the median step times the batches per epoch gives the epoch time, and
the schedule gets the epochs that 97 % of the budget allows. ``benchmarks/ff_fashion.py`` and
``ff-neuro train --max-minutes`` size their schedules this way; training still stops at the
budget if the probe was optimistic (``FFTrainer.fit(max_seconds=...)``).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Optional, Tuple

import numpy as np
import torch

from ..config import FFTrainConfig
from ..data.augment import augment_images
from .ff import FFTrainer

#: share of the budget the schedule is sized to (the rest absorbs a slower epoch or two)
BUDGET_SHARE = 0.97


def probe_epoch_seconds(cfg: FFTrainConfig, ds, batches: int,
                        after_warmup: Optional[Callable[[], object]] = None,
                        device="cpu", data_parallel: bool = False) -> dict:
    """Time ``batches`` training steps of a scratch trainer (after one warm-up step); the
    median step, so that a burst of other work on the machine (another run starting up)
    does not shorten the schedule. ``after_warmup()`` runs between the warm-up and the timed
    steps (``ff_fashion.py --members``: a barrier, so that all members time steady training
    together). ``device``, ``data_parallel``: those of the trainer to be timed (data-parallel,
    every process gets the slowest one's time). Returns ``batches``, ``seconds_per_batch`` and
    ``epoch_seconds``."""
    if batches < 1:
        raise ValueError(f"the probe needs at least one timed batch, got {batches}")
    tr = FFTrainer(cfg, ds, device=device, data_parallel=data_parallel)
    rng = np.random.default_rng(12345)
    B = min(cfg.batch_size, ds.x_train.shape[0])
    idx = [rng.choice(ds.x_train.shape[0], B, replace=False) for _ in range(batches + 1)]
    tr.train_step(ds.x_train[idx[0]], ds.y_train[idx[0]], rng, seed_offset=1)
    if after_warmup is not None:
        after_warmup()
    steps = []
    for i, ix in enumerate(idx[1:], start=2):
        t = time.perf_counter()
        x = augment_images(ds.x_train[ix], ds.image_shape, cfg.augment, cfg.augment_shift, rng)
        tr.train_step(x, ds.y_train[ix], rng, seed_offset=i)
        steps.append(time.perf_counter() - t)
    per_batch = float(np.median(steps))
    if tr.data_parallel:
        from .distributed import agree_max
        per_batch = agree_max(per_batch)[0]
    n_batches = -(-ds.x_train.shape[0] // cfg.batch_size)
    return {"batches": batches, "seconds_per_batch": per_batch,
            "epoch_seconds": per_batch * n_batches}


def epochs_for_budget(epoch_seconds: float, minutes: float, most: int) -> int:
    """Epochs of ``epoch_seconds`` that fit in :data:`BUDGET_SHARE` of ``minutes``: at least
    1, at most ``most``."""
    if not minutes > 0:
        raise ValueError(f"the training budget must be > 0 minutes, got {minutes}")
    return max(1, min(int(most), int(BUDGET_SHARE * minutes * 60 / epoch_seconds)))


def resized_epochs(done: int, epoch_seconds: float, spent_seconds: float, minutes: float,
                   most: int) -> int:
    """The schedule length after ``done`` epochs: those plus what the rest of the budget allows
    at ``epoch_seconds`` per epoch (98 % of it), at least ``done + 1``, at most ``most``.

    The probe times a few steps of a scratch trainer and can be off by 25 % (25.5 s against
    20.4 s per epoch in one two-member benchmark run), and epochs get faster as training goes on,
    so a budgeted run re-sizes its schedule every few epochs from the epochs it timed; the
    epochs done keep the learning rates they had."""
    left = minutes * 60 - spent_seconds
    return min(int(most), max(done + 1, done + int(0.98 * left / epoch_seconds)))


def train_resizing(trainer: FFTrainer, minutes: float, most: int, resize_every: int = 10,
                   agree: Optional[Callable[[float, float, int], Tuple[float, float]]] = None,
                   **fit_kwargs):
    """Train ``trainer`` (its schedule sized already) until its schedule ends or ``minutes`` of
    training time are spent, re-sizing ``trainer.cfg.epochs`` (at most ``most``) every
    ``resize_every`` epochs (0: never) from the measured epoch cost (:func:`resized_epochs`).

    ``agree(own_epoch_seconds, spent_seconds, epochs_done)`` may replace the measured figures
    before a re-size (``ff_fashion.py --members``: the slowest member's, so that all train one
    schedule). ``fit_kwargs`` go to :meth:`FFTrainer.fit`. Returns ``(network, resized)``: one
    record per re-size."""
    cfg = trainer.cfg
    fit = dict(fit_kwargs, max_seconds=minutes * 60)
    resized = []
    while resize_every > 0 and trainer.epochs_done + resize_every < cfg.epochs:
        before, start = trainer.history.seconds, trainer.epochs_done
        trainer.fit(**fit, stop_after=start + resize_every)
        h = trainer.history
        if (trainer.epochs_done < start + resize_every
                and h.seconds < fit["max_seconds"]):
            return trainer.network(), resized        # a callback stopped training
        if h.seconds >= fit["max_seconds"] or trainer.epochs_done == start:
            break
        # what an epoch costs against the budget: its steps and the per-epoch training-
        # accuracy check (eval_samples), which history.seconds counts and the probe does not
        own = (h.seconds - before) / (trainer.epochs_done - start)
        epoch_s, spent = (own, h.seconds) if agree is None else agree(own, h.seconds,
                                                                      trainer.epochs_done)
        old = cfg.epochs
        cfg.epochs = resized_epochs(trainer.epochs_done, epoch_s, spent, minutes, most)
        resized.append({"after_epochs": trainer.epochs_done, "own_epoch_seconds": own,
                        "epoch_seconds": epoch_s, "epochs_before": old,
                        "epochs_scheduled": cfg.epochs})
    net = trainer.fit(**fit)   # trains no further epoch once the budget is spent
    return net, resized


def fit_in_budget(trainer: FFTrainer, minutes: float, most: int, resize_every: int = 10,
                  probe_batches: int = 20, checkpoint=None, resume: bool = False,
                  **fit_kwargs):
    """Train ``trainer`` for ``minutes`` of training time with a schedule sized to it.

    First ``trainer.cfg.epochs`` is sized (at most ``most``) from a probe, or, with ``resume``,
    taken from ``checkpoint`` (the schedule the interrupted run had reached; its training time
    counts against the budget); then :func:`train_resizing` trains. ``fit_kwargs`` go to
    :meth:`FFTrainer.fit` (progress, callbacks). Returns ``(network, record)``: the record has
    the probe and every re-size."""
    cfg = trainer.cfg
    if trainer.data_parallel:       # one budget for all processes: rank 0's
        from .distributed import rank0_value
        minutes = rank0_value(minutes)
    record = {"budget_minutes": float(minutes)}
    if resume:
        if checkpoint is None or not Path(checkpoint).exists():
            raise FileNotFoundError(f"no checkpoint to resume from: {checkpoint}")
        saved = trainer.load_checkpoint(checkpoint)
        cfg.epochs = min(int(most), int(saved["epochs"]))
    else:
        rng_state = torch.get_rng_state()   # the scratch trainer re-seeds torch: the run must
        probe = probe_epoch_seconds(cfg, trainer.ds, probe_batches,  # train as unprobed
                                    device=trainer.device,
                                    data_parallel=trainer.data_parallel)
        torch.set_rng_state(rng_state)
        cfg.epochs = epochs_for_budget(probe["epoch_seconds"], minutes, most)
        record["probe"] = dict(probe, epochs_scheduled=cfg.epochs)
    net, record["resized"] = train_resizing(trainer, minutes, most, resize_every,
                                            checkpoint=checkpoint, **fit_kwargs)
    record["epochs"] = trainer.epochs_done
    return net, record
