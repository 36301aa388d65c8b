"""Seconds per FF training step of the Fashion-MNIST recipe (sampled softmax, k = 3, bf16,
graded input, batch 256) for several network shapes, on one torch thread.

Used to measure the LIF kernel's speed-ups (784-500-500, one wide layer). Writes
``benchmarks/results/ff_step_time.json``. Usage::

    .venv/bin/python benchmarks/ff_step_time.py --hidden 500,500 1000 2000 --steps 20
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

from ff_neuro.config import FFTrainConfig  # noqa: E402
from ff_neuro.data import load_dataset  # noqa: E402
from ff_neuro.fileio import write_json  # noqa: E402
from ff_neuro.training.budget import probe_epoch_seconds  # noqa: E402


def step_seconds(ds, hidden, time_steps: int, steps: int) -> float:
    """Median seconds per training step of a scratch trainer (ff_fashion.py's schedule probe)."""
    cfg = FFTrainConfig(hidden=hidden, time_steps=time_steps, encoding="graded",
                        batch_size=256, lr=2e-3, alpha=60.0, beta=0.99, loss="softmax",
                        softmax_negatives=3, matmul_precision="bf16", lr_schedule="cosine",
                        epochs=100)
    return probe_epoch_seconds(cfg, ds, steps)["seconds_per_batch"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", nargs="+", default=["500,500", "1000", "2000"],
                    help="network shapes, e.g. 500,500 2000")
    ap.add_argument("--time-steps", type=int, default=10)
    ap.add_argument("--steps", type=int, default=20, help="timed steps per shape")
    ap.add_argument("--out", default=str(RESULTS / "ff_step_time.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    ds = load_dataset("fashion-mnist")
    rows = []
    for h in args.hidden:
        hidden = tuple(int(n) for n in h.split(","))
        s = step_seconds(ds, hidden, args.time_steps, args.steps)
        rows.append({"hidden": list(hidden), "step_seconds": s,
                     "epoch_seconds": s * -(-ds.x_train.shape[0] // 256)})
        print(rows[-1], flush=True)
    write_json(args.out, {"machine": machine(), "time_steps": args.time_steps,
                          "batch_size": 256, "torch_threads": 1,
                          "recipe": "softmax k=3, alpha 60, beta 0.99, bf16, graded",
                          "shapes": rows})


if __name__ == "__main__":
    main()
