"""Hyper-parameter tuning of the ONLINE Hebbian FFA rule (and a check of the analog baseline)
on a held-out part of the Fashion-MNIST TRAINING set; the test set is never touched.

Protocol: the first 55,000 training samples are the tuning-train split, the last 5,000 the
validation split. Each trial trains ``--epochs`` epochs on the first ``--n-train`` samples of a
seeded permutation of the tuning-train split and reports the label-sweep accuracy on the first
``--n-val`` validation samples after every epoch. A trial is a JSON object of
``HebbianConfig`` overrides plus the optional keys ``name`` and ``algo`` ("online" (default) or
"analog"); the learning rate decays linearly to ``lr_decay_to`` over the epochs when that key is
given. Trials run in parallel worker processes (``--jobs``). Usage::

    nice -n 10 .venv/bin/python benchmarks/hebbian_tune.py --trials trials.json --jobs 2 \
        --out runs/hebbian_tune.jsonl

Adds one JSON line per trial to ``--out`` (rewritten atomically after every trial).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def run_trial(args) -> dict:
    trial, n_train, n_val, epochs, npz = args
    from _common import tuning_dataset
    from ff_neuro.training.hebbian import AnalogFFA, HebbianConfig, HebbianTrainer
    trial = dict(trial)
    name = trial.pop("name", None)
    algo = trial.pop("algo", "online")
    decay_to = trial.pop("lr_decay_to", None)
    ds = tuning_dataset(npz)
    xv, yv = ds.x_test[:n_val], ds.y_test[:n_val]
    if "hidden" in trial:
        trial["hidden"] = tuple(trial["hidden"])
    t0 = time.perf_counter()
    curve = []
    if algo == "analog":
        trial.setdefault("batch_size", 50)
        cfg = HebbianConfig(**trial, epochs=epochs, lr_decay_to=decay_to)
        # train on the first n_train samples only
        sub = dataclasses.replace(ds, x_train=ds.x_train[:n_train], y_train=ds.y_train[:n_train])
        acfg = dataclasses.replace(cfg, epochs=1)
        a = AnalogFFA(acfg, sub)
        for e in range(epochs):
            for g in a.opt.param_groups:
                g["lr"] = cfg.analog_lr * cfg.lr_factor(e)
            acfg.seed = cfg.seed + 1000 * e
            a.fit()
            curve.append(a.accuracy(xv, yv))
    else:
        trial.setdefault("batch_size", 1)
        cfg = HebbianConfig(**trial, epochs=epochs, lr_decay_to=decay_to)
        tr = HebbianTrainer(cfg, ds)
        for e in range(epochs):
            st = tr.train_epoch(e, max_samples=n_train)
            curve.append(tr.accuracy(xv, yv))
    out = {"name": name, "algo": algo, "overrides": trial, "lr_decay_to": decay_to,
           "n_train": n_train, "n_val": n_val, "epochs": epochs,
           "val_accuracy": curve[-1], "curve": curve,
           "seconds": time.perf_counter() - t0}
    if algo != "analog":
        out["rate"] = st["rate"]
        out["p_pos"], out["p_neg"] = st["p_pos"], st["p_neg"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", required=True, help="JSON file: a list of trial objects")
    ap.add_argument("--n-train", type=int, default=15000)
    ap.add_argument("--n-val", type=int, default=2000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--npz", default=None, help="uint8 x_train / y_train instead of the loader")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    trials = json.loads(Path(a.trials).read_text())
    work = [(t, a.n_train, a.n_val, a.epochs, a.npz) for t in trials]
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with Pool(a.jobs) as pool:
        for r in pool.imap_unordered(run_trial, work):
            print(json.dumps({k: r[k] for k in ("name", "val_accuracy", "curve", "seconds")}),
                  flush=True)
            from ff_neuro.fileio import atomic_path
            old = out.read_text() if out.exists() else ""
            with atomic_path(out) as tmp:  # the log of trials, rewritten whole per trial
                tmp.write_text(old + json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
