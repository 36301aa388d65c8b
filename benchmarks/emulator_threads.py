"""The emulator on every core: a label sweep (and a one-pass recurrent network) with numba's
and torch's threads at 1 and at all cores; the spikes must be identical, the ratio is the
speed-up. Writes ``benchmarks/results/emulator_threads.json``. Usage::

    .venv/bin/python benchmarks/emulator_threads.py [--samples 10000]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

from ff_neuro.fileio import write_json  # noqa: E402


def networks(ds):
    """A 784-500-500 FF network (fast numba kernels) and a 28-128 recurrent current-based
    network read row by row (the emulator's general torch path), random weights, quantized."""
    import torch
    import snntorch as snn
    import ff_neuro as ffn
    from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
    rng = np.random.default_rng(0)
    ff = ffn.Network([Layer.dense(weight=rng.normal(0, 0.08, (500, 794)), threshold=1.0,
                                  v_decay=0.125),
                      Layer.dense(weight=rng.normal(0, 0.15, (500, 500)), threshold=1.0,
                                  v_decay=0.125)],
                     label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=10))
    torch.manual_seed(0)
    rec = torch.nn.Sequential(torch.nn.Linear(28, 128),
                              snn.RSynaptic(alpha=0.8, beta=0.9, linear_features=128,
                                            init_hidden=True),
                              torch.nn.Linear(128, 10))
    with torch.no_grad():
        rec[0].weight.mul_(3)
    rnet = ffn.from_snntorch(rec, (28,), time_steps=28, encoding="sequence", levels=15)
    return [("ff_label_sweep", ffn.quantize(ff)[0]),
            ("rsynaptic_one_pass", ffn.quantize(rnet)[0])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=str(RESULTS / "emulator_threads.json"))
    args = ap.parse_args()
    import numba
    import torch
    from ff_neuro.data import load_dataset
    from ff_neuro.run import get_backend, infer
    ds = load_dataset("fashion-mnist", data_dir=args.data_dir)
    x = ds.x_test[:args.samples]
    cores = len(os.sched_getaffinity(0))
    rows = {}
    for name, net in networks(ds):
        infer(get_backend("emulator"), net, x[:50])          # compile the kernels
        res = {}
        for threads in sorted({1, cores}):
            numba.set_num_threads(threads)
            torch.set_num_threads(threads)
            t = time.perf_counter()
            r = infer(get_backend("emulator"), net, x, keep_counts=True)
            res[threads] = (time.perf_counter() - t, r)
        (t1, r1), (tn, rn) = res[1], res[max(res)]
        same = bool(np.array_equal(r1.predictions, rn.predictions) and all(
            np.array_equal(a, b) for a, b in zip(r1.counts, rn.counts)))
        rows[name] = {"samples": int(len(x)), "seconds_1_thread": t1,
                      f"seconds_{cores}_threads": tn, "speedup": t1 / tn,
                      "identical_results": same,
                      "runs_per_inference": net.runs_per_inference()}
        print(name, rows[name], flush=True)
    write_json(args.out, {"machine": machine(), "cores": cores, "rows": rows,
                          "load_average_1min_at_end": os.getloadavg()[0],
                          "command": f".venv/bin/python benchmarks/emulator_threads.py "
                                     f"--samples {args.samples}"})
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
