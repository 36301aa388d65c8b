"""Where an FF training step's time goes: matmuls, the LIF time loop, the optimizer, the data
(encoding and batches), against the machine's matmul roofline.

Runs ``--steps`` training steps of the ``fashion`` recipe's network (784-500-500, T = 10,
sampled softmax) under ``torch.profiler`` and sums the self time of the operators by kind;
what is not a torch operator (the numba LIF kernels, numpy input encoding, Python) is timed
around the trainer's own functions. The matmul roofline is the speed of one large torch matmul
(2048 x 2048) in the same precision and thread count; the step's matmul FLOPs over its matmul
time (FLOPs as the profiler counts them), divided by it, is the fraction of the roofline the matmuls reach. Writes
``benchmarks/results/ff_profile.json``. Usage::

    .venv/bin/python benchmarks/ff_profile.py [--precision auto] [--threads 1] [--steps 20]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

from ff_neuro.data import load_dataset  # noqa: E402
from ff_neuro.fileio import write_json  # noqa: E402
from ff_neuro.recipes import get_recipe  # noqa: E402
from ff_neuro.training import FFTrainer  # noqa: E402

MATMUL = ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear")


def roofline_gflops(precision: str, n: int = 2048, repeats: int = 5) -> float:
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=str(RESULTS / "ff_profile.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ds = load_dataset("fashion-mnist", data_dir=args.data_dir)
    cfg = get_recipe("fashion").make_config(matmul_precision=args.precision, epochs=1)
    tr = FFTrainer(cfg, ds)
    rng = np.random.default_rng(0)
    B = cfg.batch_size
    batches = [rng.choice(ds.x_train.shape[0], B, replace=False) for _ in range(args.steps + 2)]
    for i in range(2):                                    # warm-up (numba, oneDNN)
        tr.train_step(ds.x_train[batches[i]], ds.y_train[batches[i]], rng, seed_offset=i)
    from torch.profiler import ProfilerActivity, profile
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        for i in range(2, args.steps + 2):
            tr.train_step(ds.x_train[batches[i]], ds.y_train[batches[i]], rng, seed_offset=i)
    wall = time.perf_counter() - t0
    kinds = defaultdict(float)
    flops = 0.0
    for ev in prof.key_averages():
        us = ev.self_cpu_time_total
        name = ev.key
        if name in MATMUL:
            kinds["matmuls"] += us
            flops += float(ev.flops or 0)
        elif "adam" in name.lower() or name.startswith("aten::_foreach") or \
                "Optimizer" in name:
            kinds["optimizer"] += us
        elif name.startswith("aten::") or name.startswith("autograd::"):
            kinds["other torch operators"] += us
        else:
            kinds["custom autograd nodes"] += us
    flops /= args.steps                                   # the profiler's count, per step
    T = cfg.time_steps
    prof_total = sum(kinds.values()) / 1e6
    seconds = {k: v / 1e6 / args.steps for k, v in kinds.items()}
    step = wall / args.steps
    seconds["outside torch operators (numba LIF loop, numpy encoding, Python)"] = \
        max(step - prof_total / args.steps, 0.0)
    mm = seconds.get("matmuls", 0.0)
    roof = roofline_gflops(tr.precision)
    achieved = flops / mm / 1e9 if mm else float("nan")
    out = {"machine": machine(), "torch_threads": args.threads,
           "precision": args.precision, "resolved": tr.precision, "why": tr.precision_why,
           "network": f"784(+10)-{'-'.join(str(h) for h in cfg.hidden)}, T={T}, batch {B}, "
                      f"{cfg.loss} (k={getattr(cfg, 'softmax_negatives', None)})",
           "steps": args.steps, "step_seconds": step,
           "seconds_per_step_by_kind": seconds,
           "share_by_kind": {k: v / step for k, v in seconds.items()},
           "matmul_gflop_per_step_estimate": flops / 1e9,
           "matmul_gflops_achieved": achieved, "roofline_gflops": roof,
           "roofline_fraction": achieved / roof if mm else None,
           "load_average_1min_at_end": os.getloadavg()[0],
           "command": f".venv/bin/python benchmarks/ff_profile.py --precision {args.precision} "
                      f"--threads {args.threads} --steps {args.steps}"}
    write_json(args.out, out)
    for k, v in seconds.items():
        print(f"{k:<70} {1000 * v:8.1f} ms  {100 * v / step:5.1f} %")
    print(f"step {1000 * step:.1f} ms; matmuls {achieved:.1f} GFLOP/s of a {roof:.1f} GFLOP/s "
          f"roofline; wrote {args.out}")


if __name__ == "__main__":
    main()
