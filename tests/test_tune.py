"""Hyper-parameter sweeps on Optuna (ff_neuro.tuning, ``ff-neuro tune``): real studies, real
training of tiny networks on the embedded digits."""
from __future__ import annotations

import doctest
import importlib
import json
import subprocess
import sys

import numpy as np
import pytest

optuna = pytest.importorskip("optuna", reason="the tune extra: pip install 'ff-neuro[tune]'")

import ff_neuro as ffn  # noqa: E402
from ff_neuro.tuning import load_report, parse_space, tune, validation_split  # noqa: E402

TINY = dict(hidden=(16,), time_steps=4, epochs=2)
TINY_SET = ["--set", "hidden=16", "--set", "time_steps=4", "--set", "epochs=2"]


@pytest.fixture(scope="module")
def digits():
    return ffn.load_dataset("digits")


def test_two_workers_share_one_study(tmp_path):
    """``--workers 2``: two processes on one SQLite file, three trials in all, each trial in
    the storage once, both workers among them; the results JSON and the plot written."""
    db, out, png = tmp_path / "study.db", tmp_path / "r.json", tmp_path / "s.png"
    proc = subprocess.run(
        [sys.executable, "-m", "ff_neuro.cli", "tune", "--param", "lr=1e-3:1e-2:log",
         "--param", "beta=0.8|0.9", *TINY_SET, "--trials", "3", "--workers", "2",
         "--val-samples", "200", "--storage", str(db), "--study-name", "s",
         "--out", str(out), "--plot", str(png), "--json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    d = json.loads(proc.stdout)
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{db}")
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,
                                    optuna.trial.TrialState.PRUNED))
    assert sorted(t.number for t in done) == [0, 1, 2] == [t.number for t in study.trials]
    workers = {t.user_attrs["worker"] for t in done}
    assert len(workers) == 2 and "[worker 1] trial" in proc.stderr
    assert all(0.0 <= t.value <= 1.0 and set(t.params) == {"lr", "beta"} for t in done)
    assert json.loads(out.read_text()) == {k: v for k, v in d.items()
                                            if k not in ("out", "plot")}
    assert d["counts"]["complete"] + d["counts"]["pruned"] == 3
    assert sorted(d["workers"]) == sorted(workers)
    assert d["best"]["value"] == max(t.value for t in study.get_trials(
        states=(optuna.trial.TrialState.COMPLETE,)))
    assert d["best_config"]["hidden"] == [16] and d["train_command"].startswith(
        "ff-neuro train --algo ff --dataset digits --set hidden=16")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a rerun with the same storage continues the study: nothing to add at --trials 3
    again = load_report(db, "s")
    assert [t.number for t in again.trials] == [0, 1, 2]


def test_validation_split_is_cut_from_the_training_split(digits, tmp_path):
    """Trials train on the training split less its last samples and are scored on those; the
    test split is in neither."""
    v = validation_split(digits, 200)
    n = digits.n_train
    assert v.n_train == n - 200 and v.n_test == 200
    assert np.array_equal(v.x_train, digits.x_train[:n - 200])
    assert np.array_equal(v.x_test, digits.x_train[n - 200:])
    assert np.array_equal(v.y_test, digits.y_train[n - 200:])
    test_rows = {r.tobytes() for r in digits.x_test}
    train_rows = {r.tobytes() for r in v.x_train}
    val_rows = [r.tobytes() for r in v.x_test]
    assert not any(r in test_rows for r in val_rows)
    assert not any(r in train_rows for r in val_rows)
    with pytest.raises(ValueError, match="leave some to train on"):
        validation_split(digits, n)
    # a sweep's trials train on exactly that part (the journal storage, in this process)
    rep = tune(digits, {"lr": [0.002, 0.005]}, trials=1, fixed=TINY, val_samples=200,
               storage=tmp_path / "study.log")
    assert rep.trials[0].train_samples == n - 200
    assert rep.validation == {"samples": 200, "train_samples": n - 200,
                              "of": f"the training split of digits ({n} samples), its last "
                                    "samples"}


def test_a_study_continues_and_refuses_other_settings(digits, tmp_path):
    """A second call on the same journal file adds trials up to ``trials``; a call with
    another space on the same study is refused before training; every epoch is reported and
    the pruner stops a trial."""
    log = tmp_path / "study.log"
    space = {"lr": {"low": 1e-3, "high": 1e-2, "log": True}}
    kw = dict(fixed=TINY, val_samples=200, storage=log, study_name="s")
    rep = tune(digits, space, trials=1, **kw)
    assert [t.state for t in rep.trials] == ["complete"] and len(rep.trials[0].curve) == 2
    rep = tune(digits, space, trials=2, **kw)
    assert [t.number for t in rep.trials] == [0, 1]
    assert rep.trials[0].params != rep.trials[1].params
    assert "best: trial" in str(rep) and "lr" in str(rep).splitlines()[2]
    with pytest.raises(ValueError, match="sweeps other settings \\(space differ\\)"):
        tune(digits, {"lr": [0.001, 0.01]}, trials=3, **kw)
    assert len(load_report(log, "s").trials) == 2
    # a pruner that stops every trial below 99 % after its first epoch
    rep = tune(digits, space, trials=3, pruner=optuna.pruners.ThresholdPruner(lower=0.99),
               **kw)
    last = rep.trials[2]
    assert last.state == "pruned" and len(last.curve) == 1 and last.value == last.curve[0]
    # also under a time budget, whose schedule FF re-sizes in chunks of epochs
    rep = tune(digits, space, trials=1, fixed=dict(TINY, epochs=20), max_minutes=0.5,
               val_samples=200, pruner=optuna.pruners.ThresholdPruner(lower=0.99))
    assert rep.trials[0].state == "pruned" and len(rep.trials[0].curve) == 1
    assert rep.max_minutes == 0.5 and rep.to_dict()["max_minutes"] == 0.5


@pytest.mark.parametrize("space, message", [
    ({"lrr": {"low": 1e-3, "high": 1e-2}}, "has no field 'lrr'"),
    ({"lr": {"low": 1e-2, "high": 1e-3}}, "lr: low must be below high"),
    ({"lr": {"low": 0, "high": 1e-2, "log": True}}, "lr: a log range needs low > 0"),
    ({"lr": {"low": 1e-3}}, "lr: expected {low, high"),
    ({"loss": {"low": 1, "high": 2}}, "loss is a str field: give choices"),
    ({"loss": ["swish", "nope"]}, "loss choice nope: unknown loss 'nope'"),
    ({"time_steps": {"low": 2.5, "high": 8}}, "time_steps is an integer field"),
    ({"dropout": {"low": 0.0, "high": 1.0}}, "dropout high 1.0: dropout must be < 1"),
    ({"epochs": [1, 2]}, "epochs is both searched and fixed"),
    ({}, "non-empty mapping"),
])
def test_bad_space_is_refused(space, message):
    with pytest.raises(ValueError, match=message.replace("{", "\\{").replace("(", "\\(")) as e:
        parse_space(space, "ff", fixed={"epochs": 2})
    assert "\n" not in str(e.value)


def test_fields_that_work_together_pass_the_check():
    p = parse_space({"loss": ["swish", "softmax"], "label_smoothing": {"low": 0.0,
                                                                      "high": 0.2}})
    assert p["loss"].choices == ("swish", "softmax") and str(p["label_smoothing"]) == "0:0.2"


def test_cli_refuses_bad_input_before_training(tmp_path):
    from click.testing import CliRunner

    from ff_neuro.cli import main
    run = CliRunner().invoke
    cases = [
        (["--param", "lrr=1e-3:1e-2"], "has no field 'lrr'"),
        (["--param", "lr=1e-2:1e-3"], "lr: low must be below high"),
        (["--param", "lr=0.1"], "expected FIELD=LOW:HIGH"),
        (["--param", "lr=1e-3:1e-2", "--set", "nope=1"], "has no field 'nope'"),
        ([], "give the search space"),
        (["--param", "lr=1e-3:1e-2", "--out", str(tmp_path)], "is a directory"),
        (["--param", "lr=1e-3:1e-2", "--storage", str(tmp_path / "s.txt")],
         "a .db file (SQLite)"),
        (["--space", str(tmp_path / "missing.yaml")], "does not exist"),
    ]
    for args, message in cases:
        r = run(main, ["tune", "--storage", str(tmp_path / "s.db"), *args])
        last = r.output.strip().splitlines()[-1]
        assert r.exit_code != 0 and last.startswith("Error: ") and message in last, (args,
                                                                                     r.output)
    assert not (tmp_path / "s.db").exists()


def test_cli_without_optuna_says_how_to_install(monkeypatch):
    from click.testing import CliRunner

    from ff_neuro.cli import main
    monkeypatch.setitem(sys.modules, "optuna", None)     # import optuna raises ImportError
    r = CliRunner().invoke(main, ["tune", "--param", "lr=1e-3:1e-2"])
    assert r.exit_code == 1
    assert r.output.strip() == "Error: ff-neuro tune needs Optuna: pip install 'ff-neuro[tune]'"


def test_docstring_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module("ff_neuro.tuning")
    tests = [t for t in doctest.DocTestFinder(exclude_empty=True).find(module) if t.examples]
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        t.globs.setdefault("ffn", ffn)
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.attempted >= 10 and result.failed == 0
