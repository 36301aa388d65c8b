"""Training within a time budget: the schedule sizing arithmetic, and a real budgeted run."""
import json

import h5py
import numpy as np
import pytest

from ff_neuro.config import FFTrainConfig
from ff_neuro.training import FFTrainer
from ff_neuro.training.budget import (epochs_for_budget, fit_in_budget, probe_epoch_seconds,
                                      resized_epochs)


def test_epochs_for_budget_and_resize_arithmetic():
    assert epochs_for_budget(10.0, 60, 1000) == int(0.97 * 3600 / 10)   # 349
    assert epochs_for_budget(10.0, 60, 100) == 100                      # capped
    assert epochs_for_budget(1e6, 1, 100) == 1                          # at least one
    with pytest.raises(ValueError, match="budget"):
        epochs_for_budget(10.0, 0, 100)
    # 20 done in 200 s of a 10-minute budget at 8 s per epoch: 400 s left -> 49 more
    assert resized_epochs(20, 8.0, 200.0, 10, 1000) == 20 + int(0.98 * 400 / 8)
    assert resized_epochs(20, 8.0, 700.0, 10, 1000) == 21   # over budget: the next epoch ends it
    assert resized_epochs(20, 8.0, 200.0, 10, 30) == 30


def test_fit_in_budget_sizes_the_schedule_and_ends_on_time(digits, tmp_path):
    cfg = FFTrainConfig(hidden=(40, 30), time_steps=8, batch_size=64, epochs=5000,
                        lr_schedule="cosine")
    probe = probe_epoch_seconds(cfg, digits, 5)
    assert probe["epoch_seconds"] > 0 and probe["seconds_per_batch"] > 0
    tr = FFTrainer(cfg, digits)
    ckpt = tmp_path / "c.h5"
    minutes = 0.2
    net, rec = fit_in_budget(tr, minutes, most=5000, resize_every=5, progress=False,
                             checkpoint=ckpt)
    h = tr.history
    assert 1 <= rec["probe"]["epochs_scheduled"] < 5000
    assert h.seconds <= minutes * 60 + 2 * max(h.epoch_seconds)
    # the re-sized schedule is what ran: the cosine reached (nearly) its end in the budget
    assert tr.epochs_done >= 0.8 * cfg.epochs and tr.epochs_done <= cfg.epochs < 5000
    with h5py.File(ckpt, "r") as f:   # the checkpoint holds the schedule that ran
        assert json.loads(f.attrs["config_json"])["epochs"] == cfg.epochs
    w = [layer.weight.copy() for layer in net.layers]
    # resuming takes the checkpoint's schedule (no new probe), its time counts against the
    # budget: a finished run trains no further epoch and gives the same weights
    tr2 = FFTrainer(FFTrainConfig(**{**cfg.to_dict(), "epochs": 5000}), digits)
    net2, rec2 = fit_in_budget(tr2, minutes, most=5000, resize_every=5, progress=False,
                               checkpoint=ckpt, resume=True)
    assert "probe" not in rec2 and tr2.cfg.epochs == cfg.epochs
    assert all(np.array_equal(a, b.weight) for a, b in zip(w, net2.layers))
    with pytest.raises(FileNotFoundError):
        fit_in_budget(FFTrainer(cfg, digits), minutes, most=10, checkpoint=tmp_path / "no.h5",
                      resume=True)
