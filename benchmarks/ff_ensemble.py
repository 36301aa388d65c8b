"""Accuracy of FF models merged into one network (``ff-neuro merge``), on the full test set.

A merged network runs its members side by side (layer 1 stacked, deeper layers block-diagonal),
and its goodness at layer ``k`` is the members' goodness averaged weighted by their widths
``n_mk`` (``mean_sq``; tests/test_merge.py checks this), so that the label sweep predicts
``argmax_c sum_k sum_m n_mk G_mk(c) / sum_m n_mk`` (equal widths: ``argmax_c sum_m G_m(c)``).
This script therefore sweeps each member once and scores every subset of two or more members
from those per-layer goodness arrays, instead of sweeping each merged network again. Members of
different widths (say a fully connected one and one with local receptive fields) are scored as
their merged network would score them. ``--split val`` scores on ``ff_tune.py``'s validation
split (the last 5,000 training samples) instead of the test set. Usage::

    .venv/bin/python benchmarks/ff_ensemble.py runs/a.h5 runs/b.h5 [runs/c.h5 ...] \
        --out benchmarks/results/ff_fashion_ensembles.json
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

import torch  # noqa: E402

from ff_neuro.data import load_dataset  # noqa: E402
from ff_neuro.fileio import write_json  # noqa: E402
from ff_neuro.model import load_model  # noqa: E402
from ff_neuro.run import get_backend, label_sweep  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+", help="FF model files (same dataset and input)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--split", choices=("test", "val"), default="test",
                    help="test: the full test set; val: ff_tune.py's validation split")
    ap.add_argument("--out", default=str(RESULTS / "ff_fashion_ensembles.json"))
    args = ap.parse_args()
    if len(args.models) < 2:
        raise SystemExit("give at least two models")
    torch.set_num_threads(args.threads)
    nets = [load_model(m) for m in args.models]
    if args.split == "val":
        from _common import tuning_dataset
        ds = tuning_dataset()
    else:
        ds = load_dataset(nets[0].dataset.get("name", "fashion-mnist"))
    goodness, widths, single = {}, {}, {}
    for path, net in zip(args.models, nets):
        g = label_sweep(get_backend("float"), net, ds.x_test, chunk=500).scores  # (L, N, C)
        from_layer = net.label_sweep.from_layer
        goodness[path] = g[from_layer:]
        widths[path] = np.array([layer.n_out for layer in net.layers[from_layer:]],
                                dtype=float)
        single[path] = float(np.mean(goodness[path].sum(0).argmax(1) == ds.y_test))
        print(path, single[path], flush=True)

    def merged_goodness(combo):  # per layer: the width-weighted mean, then summed over layers
        total = sum(widths[c] for c in combo)
        return sum(np.tensordot(widths[c] / total, goodness[c], axes=1) for c in combo)

    key = f"{args.split}_accuracy_float"
    merged = []
    for k in range(2, len(args.models) + 1):
        for combo in itertools.combinations(args.models, k):
            acc = float(np.mean(merged_goodness(combo).argmax(1) == ds.y_test))
            merged.append({"members": list(combo), key: acc,
                           "gain_over_best_member_pp": 100 * (acc - max(single[c]
                                                                       for c in combo))})
            print(combo, acc, flush=True)
    write_json(args.out, {"machine": machine(), "dataset": ds.name, "split": args.split,
                          "n_test": int(ds.x_test.shape[0]),
                          "members": [{"model": m, key: single[m],
                                       "config": n.training.get("config", {})}
                                      for m, n in zip(args.models, nets)],
                          "merged": merged})


if __name__ == "__main__":
    main()
