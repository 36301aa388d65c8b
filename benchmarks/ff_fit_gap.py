"""How much a trained FF model overfits: label-sweep accuracy on training images against the
test set, overall and from each layer's goodness alone.

A large gap (training accuracy far above test) says regularisation or more data could help; a
small one says the model needs capacity or training time. Float (torch backend) only. Usage::

    .venv/bin/python benchmarks/ff_fit_gap.py runs/ff_fashion.h5 --train-samples 5000 \\
        --out benchmarks/results/ff_fit_gap.json

Writes ``train_accuracy`` (on ``--train-samples`` training images drawn with ``--seed``),
``test_accuracy`` (full test set), ``gap_pp`` and per-layer accuracies (argmax of one layer's
goodness) for both.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from ff_neuro.data import load_dataset  # noqa: E402
from ff_neuro.fileio import write_json  # noqa: E402
from ff_neuro.model import load_model  # noqa: E402
from ff_neuro.run import get_backend, label_sweep  # noqa: E402


def split_accuracy(net, x: np.ndarray, y: np.ndarray) -> dict:
    """Label-sweep accuracy of ``net`` on (x, y), overall and per layer."""
    r = label_sweep(get_backend("float"), net, x, chunk=500)
    per_layer = [float(np.mean(np.argmax(g, axis=1) == y)) for g in r.scores]
    return {"samples": int(len(y)), "accuracy": r.accuracy(y), "per_layer": per_layer}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="FF model file (HDF5)")
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--data-dir", default=None, help="directory of the dataset's IDX files")
    ap.add_argument("--train-samples", type=int, default=5000,
                    help="training images scored (drawn at random without replacement)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="JSON result file [default: print only]")
    args = ap.parse_args(argv)
    net = load_model(args.model)
    if net.label_sweep is None:
        raise SystemExit(f"{args.model}: read by {net.readout.kind}; this script scores FF "
                         "label-sweep models")
    ds = load_dataset(args.dataset, data_dir=args.data_dir)
    n = min(args.train_samples, ds.x_train.shape[0])
    idx = np.random.default_rng(args.seed).choice(ds.x_train.shape[0], n, replace=False)
    train = split_accuracy(net, ds.x_train[idx], ds.y_train[idx])
    test = split_accuracy(net, ds.x_test, ds.y_test)
    rec = {"model": args.model, "dataset": args.dataset, "train": train, "test": test,
           "train_accuracy": train["accuracy"], "test_accuracy": test["accuracy"],
           "gap_pp": 100 * (train["accuracy"] - test["accuracy"]), "seed": args.seed,
           "machine": machine()}
    print(f"train {train['accuracy']:.4f} ({n} images)  test {test['accuracy']:.4f}  "
          f"gap {rec['gap_pp']:.2f} pp  per layer train {train['per_layer']} "
          f"test {test['per_layer']}")
    if args.out:
        write_json(args.out, rec)


if __name__ == "__main__":
    main()
