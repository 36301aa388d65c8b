"""Hyper-parameter trials of spiking FF on a held-out part of the Fashion-MNIST TRAINING set
(the test set is never touched), each within a wall-clock training budget.

Protocol (the one ``hebbian_tune.py`` uses): the first 55,000 training samples are the
tuning-train split, the last 5,000 the validation split. A trial is a JSON object of
``FFTrainConfig`` overrides plus the keys ``name`` and ``minutes`` (training budget). Every trial
trains with the cosine schedule sized to its budget by the same probe as ``ff_fashion.py``, on
one torch thread, and reports the label-sweep accuracy on the ``--n-val`` validation samples
(goodness summed over all layers, and, from the same sweep, summed over layers >= k and of each
layer alone, so that ``goodness_from_layer`` is chosen on validation too).
Defaults (``BASE``) are the settings every ``ff_fashion.py`` run shares (784-500-500, T = 10,
graded input, bf16, batch 256, lr 2e-3; alpha 20); the headline recipe overrides beta 0.99,
loss softmax, softmax_negatives 3, alpha 60, surrogate_slope 2.5. Usage::

    .venv/bin/python benchmarks/ff_tune.py --trials trials.json --jobs 2 \
        --out benchmarks/results/ff_fashion_tuning.json

With ``--save-dir DIR`` each trial's model is kept as ``DIR/<name>.h5`` (so that
``ff_ensemble.py --split val`` can score merges of trials). Adds every finished trial to the
``trials`` of ``--out`` (kept sorted by val_accuracy, best first; the file is rewritten
atomically after every trial, earlier trials are kept), with the protocol and the machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

BASE = dict(hidden=(500, 500), time_steps=10, encoding="graded", batch_size=256, lr=2e-3,
            alpha=20.0, matmul_precision="bf16", lr_schedule="cosine", epochs=1000,
            eval_samples=0)
PROTOCOL = ("benchmarks/ff_tune.py: Fashion-MNIST training set split into the first 55,000 "
            "(train) and the last 5,000 (validation, the first n_val of them scored by label "
            "sweep); the test set is not used. Each trial trains its overrides of `base` with "
            "the cosine schedule sized to `minutes` of training time, one torch thread; `jobs` "
            "trials ran at once (one per core).")


def run_trial(args) -> dict:
    trial, n_val, save_dir = args
    import numpy as np
    import torch
    torch.set_num_threads(1)
    from ff_fashion import size_schedule
    from _common import tuning_dataset
    from ff_neuro.config import FFTrainConfig
    from ff_neuro.model import LabelSweep
    from ff_neuro.run import get_backend, label_sweep
    from ff_neuro.training import FFTrainer
    trial = dict(trial)
    name = trial.pop("name", None)
    minutes = float(trial.pop("minutes"))
    ds = tuning_dataset()
    overrides = {**BASE, **trial}
    if "hidden" in overrides:
        overrides["hidden"] = tuple(overrides["hidden"])
    cfg = FFTrainConfig(**overrides)
    size_schedule(cfg, ds, minutes, 40)
    t0 = time.perf_counter()
    tr = FFTrainer(cfg, ds)
    net = tr.fit(progress=False, max_seconds=minutes * 60)
    saved = None
    if save_dir:
        from ff_neuro.model import save_model
        saved = str(save_model(net, Path(save_dir) / f"{name or 'trial'}.h5"))
    r = label_sweep(get_backend("float"), net, ds.x_test[:n_val], chunk=500)
    y = ds.y_test[:n_val]
    # the same sweep scored by other readings of the goodness (free: no second run)
    from_layer = [float(np.mean(LabelSweep(from_layer=k).predict_from_goodness(r.scores) == y))
                  for k in range(r.scores.shape[0])]
    per_layer = [float(np.mean(np.argmax(g, axis=1) == y)) for g in r.scores]
    return {"name": name, "overrides": {k: (list(v) if isinstance(v, tuple) else v)
                                        for k, v in trial.items()},
            "minutes": minutes, "epochs_scheduled": cfg.epochs,
            "epochs": len(net.training["history"]["loss"]),
            "train_minutes": net.training["history"]["seconds"] / 60,
            "n_val": n_val, "val_accuracy": r.accuracy(y),
            "val_accuracy_goodness_from_layer": from_layer,
            "val_accuracy_single_layer": per_layer,
            "seconds": time.perf_counter() - t0, "model": saved}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", required=True, help="JSON file: a list of trial objects")
    ap.add_argument("--n-val", type=int, default=5000)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--save-dir", default=None,
                    help="also write each trial's trained model to DIR/<name>.h5 (to score "
                         "ensembles of trials on the same validation split afterwards)")
    a = ap.parse_args()
    trials = json.loads(Path(a.trials).read_text())
    for t in trials:
        if "minutes" not in t:
            raise SystemExit(f"trial {t.get('name')!r} has no 'minutes' budget")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if a.save_dir:
        Path(a.save_dir).mkdir(parents=True, exist_ok=True)
    from _common import machine
    from ff_neuro.fileio import write_json
    with Pool(a.jobs) as pool:
        for r in pool.imap_unordered(run_trial, [(t, a.n_val, a.save_dir) for t in trials]):
            print(json.dumps(r), flush=True)
            r["machine"] = machine()
            r["jobs"] = a.jobs
            old = json.loads(out.read_text())["trials"] if out.exists() else []
            write_json(out, {"protocol": PROTOCOL, "base": BASE, "trials": sorted(
                old + [r], key=lambda t: -t["val_accuracy"])})


if __name__ == "__main__":
    main()
