"""Hebbian FF training throughput: the numpy engine (CPU) against the torch engine on a device.

Both train the same Fashion-MNIST network (784 + 100 code inputs, ``--hidden`` neurons, T = 23,
the rule's defaults) from the same initial weights on the same ``--samples`` training samples,
once per batch size in ``--batch-sizes``; the numpy engine runs one BLAS thread (as in
training, with its sparse path for one sample at a time), the torch engine on ``--device``.
Reported: training samples/s of each, their ratio, and the largest weight difference after the
pass between the torch engine and the numpy engine's dense path, which computes the same sums
(float rounding only; the sparse path's own rounding differs, and over many online updates the
odd spike near threshold flips and the runs drift apart). The median of ``--repeats``
alternating rounds is kept.

Writes ``benchmarks/results/hebbian_throughput.json`` (``--out``).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

from ff_neuro.data import load_dataset  # noqa: E402
from ff_neuro.fileio import write_json  # noqa: E402
from ff_neuro.training.hebbian import HebbianConfig, HebbianTrainer  # noqa: E402


def one_pass(cfg, ds, n, device, engine, sparse=True):
    tr = HebbianTrainer(cfg, ds, device=device, engine=engine)
    tr.sparse_online = sparse
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t = time.perf_counter()
    tr.train_epoch(0, max_samples=n)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return n / (time.perf_counter() - t), tr.weights_t()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", help="the torch engine's device (cpu, cuda)")
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 64])
    ap.add_argument("--hidden", type=int, default=400)
    ap.add_argument("--samples", type=int, default=2048)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads [1]")
    ap.add_argument("--data-dir", default=None,
                    help="folder of the Fashion-MNIST IDX files [the Debian package's]")
    ap.add_argument("--out", default=str(RESULTS / "hebbian_throughput.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    ds = load_dataset("fashion-mnist", data_dir=args.data_dir)
    rows = []
    for K in args.batch_sizes:
        cfg = HebbianConfig(hidden=(args.hidden,), batch_size=K, gain=0.5, trace_tau=0.9)
        _, w_dense = one_pass(cfg, ds, args.samples, torch.device("cpu"), "numpy", sparse=False)
        rounds = []
        for r in range(args.repeats):
            np_rate, w_np = one_pass(cfg, ds, args.samples, torch.device("cpu"), "numpy")
            t_rate, w_t = one_pass(cfg, ds, args.samples, dev, "torch")
            diff = max(float(np.abs(a - b).max()) for a, b in zip(w_dense, w_t))
            rounds.append({"numpy_samples_per_s": np_rate, "torch_samples_per_s": t_rate,
                           "torch_over_numpy": t_rate / np_rate, "max_weight_difference_vs_dense_numpy": diff,
                           "max_weight": max(float(np.abs(a).max()) for a in w_np)})
            print(f"K={K} round {r + 1}: numpy {np_rate:.0f}, torch ({dev}) {t_rate:.0f} "
                  f"samples/s ({t_rate / np_rate:.2f}x); weights differ by {diff:.1e}",
                  flush=True)
        med = sorted(rounds, key=lambda d: d["torch_over_numpy"])[len(rounds) // 2]
        rows.append({"batch_size": K, **med,
                     "rounds": [d["torch_over_numpy"] for d in rounds]})
    out = {"machine": machine(), "device": str(dev),
           "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else None,
           "torch_threads": torch.get_num_threads(),
           "network": f"884-{args.hidden} Hebbian FF (symmetric P, LI traces, T = 23)",
           "samples": args.samples, "results": rows,
           "load_average_1min_at_end": os.getloadavg()[0]}
    write_json(args.out, out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
