"""One trainer protocol for FF, Hebbian and FFGAF: the same ``fit`` (time budget, checkpoint
and resume, callbacks) on all three, each on a real (tiny) training run on digits."""
from __future__ import annotations

import h5py
import numpy as np
import pytest

from ff_neuro.training import (Callback, EarlyStopping, LambdaCallback, Trainer, make_config,
                               make_trainer)

# small enough that each run takes about a second
CONFIGS = {
    "ff": dict(hidden=(24,), epochs=3, time_steps=4, batch_size=64, eval_samples=100),
    "hebbian": dict(hidden=(16,), epochs=3, time_steps=10, update_from_step=3,
                    eval_samples=60),
}


def _trainer(algo, ds, **over):
    if algo == "ffgaf":
        from ff_neuro.training.ffgaf_config import FFGAFConfig
        return make_trainer("ffgaf", ds, FFGAFConfig.from_preset("micro", epochs=3, **over))
    return make_trainer(algo, ds, **{**CONFIGS[algo], **over})


def _weights(net):
    return [np.asarray(l.weight) for l in net.layers]


ALGOS = ("ff", "hebbian", "ffgaf")


@pytest.mark.parametrize("algo", ALGOS)
def test_every_trainer_follows_the_protocol(algo, digits):
    tr = _trainer(algo, digits)
    assert isinstance(tr, Trainer)
    assert tr.epoch_metrics()["epoch"] is None
    seen = []

    class Record(Callback):
        def on_fit_start(self, trainer):
            seen.append("start")

        def on_epoch_end(self, trainer, epoch, metrics):
            seen.append((epoch, metrics["epoch"], metrics["seconds"] > 0))

        def on_fit_end(self, trainer):
            seen.append("end")

    net = tr.fit(progress=False, callbacks=[Record()])
    assert seen == ["start", (0, 0, True), (1, 1, True), (2, 2, True), "end"]
    assert tr.epochs_done == 3
    assert _weights(net) and all(np.isfinite(w).all() for w in _weights(net))
    assert [np.asarray(a).shape for a in _weights(tr.network())] == \
        [w.shape for w in _weights(net)]


@pytest.mark.parametrize("algo", ALGOS)
def test_interrupted_run_resumes_to_the_same_weights(algo, digits, tmp_path):
    full = _trainer(algo, digits).fit(progress=False)
    ck = tmp_path / f"{algo}.ckpt.h5"

    def crash(trainer, epoch, metrics):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _trainer(algo, digits).fit(progress=False, checkpoint=ck,
                                   callbacks=[LambdaCallback(crash)])
    with h5py.File(ck, "r") as f:          # the crashed epoch was saved before the callback
        assert int(f.attrs["epochs_done"]) == 2
    again = _trainer(algo, digits)
    resumed = again.fit(progress=False, checkpoint=ck, resume=True)
    assert again.epochs_done == 3
    for a, b in zip(_weights(full), _weights(resumed)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("algo", ALGOS)
def test_resume_refuses_another_config(algo, digits, tmp_path):
    ck = tmp_path / "ck.h5"
    _trainer(algo, digits).fit(progress=False, checkpoint=ck, stop_after=1)
    other = _trainer(algo, digits, seed=5)
    with pytest.raises(ValueError, match="different config.*seed"):
        other.fit(progress=False, checkpoint=ck, resume=True)
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        other.fit(progress=False, checkpoint=tmp_path / "none.h5", resume=True)


@pytest.mark.parametrize("algo", ALGOS)
def test_time_budget_and_early_stopping(algo, digits, tmp_path):
    tr = _trainer(algo, digits)
    tr.fit(progress=False, max_seconds=1e-6)        # the budget is spent by the first epoch
    assert tr.epochs_done == 1
    # an improvement of more than 1.0 in accuracy is impossible: stops after patience epochs
    stop = EarlyStopping("train_accuracy", patience=1, min_delta=1.0)
    ck = tmp_path / "ck.h5"
    tr = _trainer(algo, digits)
    tr.fit(progress=False, callbacks=[stop], checkpoint=ck, checkpoint_every=100)
    assert tr.epochs_done == 2 and stop.stopped_epoch == 1
    with h5py.File(ck, "r") as f:             # a stop by a callback writes its checkpoint
        assert int(f.attrs["epochs_done"]) == 2


def test_early_stopping_rule():
    stop = EarlyStopping("loss", patience=2)
    assert stop.mode == "min"
    answers = [stop.on_epoch_end(None, e, {"loss": v})
               for e, v in enumerate([1.0, 0.9, 0.95, 0.8, 0.85, float("nan")])]
    assert answers == [False, False, False, False, False, True]
    assert stop.best == 0.8
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)


def test_make_config_names_unknown_fields():
    assert make_config("ff", epochs=2).epochs == 2
    with pytest.raises(TypeError, match="FFTrainConfig has no field hiden"):
        make_config("ff", hiden=(3,))
    with pytest.raises(ValueError, match="unknown algo"):
        make_config("bp")
    with pytest.raises(TypeError, match="HebbianConfig"):
        make_trainer("hebbian", None, make_config("ff"))


def test_a_callback_stops_a_budgeted_ff_run(digits):
    from ff_neuro.training.trainer import fit_with_budget
    tr = make_trainer("ff", digits, hidden=(16,), epochs=200, time_steps=4, eval_samples=100)
    stop = EarlyStopping("train_accuracy", patience=1, min_delta=1.0)
    fit_with_budget(tr, 2.0, progress=False, callbacks=[stop])    # resized in blocks of 10
    assert tr.epochs_done == 2 and stop.stopped_epoch == 1
