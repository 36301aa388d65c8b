"""Data-parallel spiking FF: samples/s of one process against two (torchrun, gloo) at the same
global batch, side by side on this machine's CPU cores.

Every run trains the same network on the same first ``--samples`` Fashion-MNIST training
samples (digits if Fashion-MNIST is not installed) for ``--epochs`` epochs from the same seed, in
a fresh process (or two, started by ``torch.distributed.run``): one process with as many torch
threads as cores, one process with one thread, and ``--processes`` processes with one thread
each (:mod:`ff_neuro.training.distributed`: each computes its shard of every global batch, the
gradients are summed with gloo). Throughput is the training samples of the last epoch over its
time (the first one warms up); the runs are interleaved over ``--rounds`` rounds and the median
is reported, with the load average before and after each run, since the machine may be shared.
The weights of the data-parallel run are compared with those of the one-process run.

Writes ``benchmarks/results/ff_data_parallel.json``. Usage::

    .venv/bin/python benchmarks/ff_data_parallel.py
    .venv/bin/python benchmarks/ff_data_parallel.py --samples 12800 --rounds 3 --encoding rate
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=12800,
                    help="training samples per epoch (the first N of the training set)")
    ap.add_argument("--epochs", type=int, default=2, help="epochs per run; the last is timed")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of all runs")
    ap.add_argument("--processes", type=int, default=2, help="processes of the parallel run")
    ap.add_argument("--hidden", default="500,500")
    ap.add_argument("--time-steps", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=256, help="the global batch")
    ap.add_argument("--encoding", choices=["rate", "graded"], default="graded")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="matmul precision (bf16: the parallel run matches one process to bf16 "
                         "precision only, each process's gradient being rounded before the sum)")
    ap.add_argument("--out", default=str(RESULTS / "ff_data_parallel.json"))
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def config(args) -> dict:
    return dict(hidden=[int(h) for h in args.hidden.split(",")], time_steps=args.time_steps,
                batch_size=args.batch_size, encoding=args.encoding, levels=15,
                matmul_precision=args.precision, epochs=args.epochs, eval_samples=0, seed=0)


def dataset(samples: int):
    from ff_neuro.data import load_dataset
    try:
        ds = load_dataset("fashion-mnist")
    except (FileNotFoundError, ValueError):
        ds = load_dataset("digits")
    return ds.subset(n_train=min(samples, ds.x_train.shape[0]), n_test=10)


def worker(job_path: str) -> None:
    """One run (in each of its processes): train, and rank 0 writes the timings."""
    import torch

    from ff_neuro.config import FFTrainConfig
    from ff_neuro.training import distributed
    from ff_neuro.training.ff import FFTrainer
    job = json.loads(Path(job_path).read_text())
    torch.set_num_threads(job["threads"])
    ds = dataset(job["samples"])
    tr = FFTrainer(FFTrainConfig(**job["config"]), ds, data_parallel=True)
    net = tr.fit(progress=False)
    if distributed.rank() == 0:
        np.savez(job["weights"], *[layer.weight for layer in net.layers])
        h = tr.history
        Path(job["result"]).write_text(json.dumps({
            "dataset": ds.name, "n_train": int(ds.x_train.shape[0]),
            "processes": distributed.world_size(), "threads_per_process": job["threads"],
            "data_parallel": tr.data_parallel, "epoch_seconds": h.epoch_seconds,
            "samples_per_s": ds.x_train.shape[0] / h.epoch_seconds[-1],
            "loss": h.loss}))
    distributed.finish()


def run(args, name: str, processes: int, threads: int, tmp: Path) -> dict:
    """Start one run in fresh processes; its record with the load around it."""
    job = {"config": config(args), "samples": args.samples, "threads": threads,
           "result": str(tmp / f"{name}.json"), "weights": str(tmp / f"{name}.npz")}
    job_path = tmp / f"{name}.job.json"
    job_path.write_text(json.dumps(job))
    env = dict(os.environ, OMP_NUM_THREADS=str(threads),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT),
                                                        os.environ.get("PYTHONPATH")])))
    me = [str(Path(__file__).resolve()), "--worker", str(job_path)]
    cmd = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
            f"--nproc_per_node={processes}", *me] if processes > 1 else [sys.executable, *me])
    load_before = os.getloadavg()
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    rec = json.loads(Path(job["result"]).read_text())
    rec.update(wall_seconds_with_startup=time.perf_counter() - t,
               load_average_before=list(load_before), load_average_after=list(os.getloadavg()))
    return rec


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args.worker)
        return
    cores = os.cpu_count() or 1
    runs = {"1_process_all_threads": (1, cores), "1_process_1_thread": (1, 1),
            f"{args.processes}_processes_1_thread": (args.processes, 1)}
    records = {name: [] for name in runs}
    with tempfile.TemporaryDirectory(prefix="ff_dp_bench_") as tmp:
        tmp = Path(tmp)
        for r in range(args.rounds):
            for name, (procs, threads) in runs.items():
                rec = run(args, f"{name}.{r}", procs, threads, tmp)
                records[name].append(rec)
                print(f"round {r}: {name}: {rec['samples_per_s']:.0f} samples/s "
                      f"(load {rec['load_average_before'][0]:.2f})", flush=True)
        par = f"{args.processes}_processes_1_thread"
        # the same training in every run: how far apart the weights end, per pair of runs
        pairs = {f"{par}_vs_1_process_1_thread": (par, "1_process_1_thread"),
                 f"{par}_vs_1_process_all_threads": (par, "1_process_all_threads"),
                 "1_process_all_threads_vs_1_process_1_thread":
                     ("1_process_all_threads", "1_process_1_thread")}
        diffs = {}
        for key, (x, y) in pairs.items():
            diffs[key] = []
            for r in range(args.rounds):
                a, b = np.load(tmp / f"{x}.{r}.npz"), np.load(tmp / f"{y}.{r}.npz")
                diffs[key].append(max(float(np.abs(a[k] - b[k]).max()) for k in a.files))
    median = {name: statistics.median(rec["samples_per_s"] for rec in recs)
              for name, recs in records.items()}
    first = records[par][0]
    result = {
        "machine": dict(machine(), load_average_at_end=list(os.getloadavg())),
        "command": shlex.join([".venv/bin/python", "benchmarks/ff_data_parallel.py",
                               *sys.argv[1:]]),
        "what": "training samples/s of the last epoch, median over the rounds; same network, "
                "data, seed and global batch in every run; each run in fresh processes",
        "dataset": first["dataset"], "n_train": first["n_train"], "config": config(args),
        "network": f"{first['dataset']} 784(+10 label)-{args.hidden.replace(',', '-')} "
                   "spiking FF" if first["dataset"] == "fashion-mnist" else args.hidden,
        "samples_per_s": median,
        "speedup_parallel_vs_1_process_all_threads":
            median[par] / median["1_process_all_threads"],
        "speedup_parallel_vs_1_process_1_thread": median[par] / median["1_process_1_thread"],
        "max_weight_difference": diffs,
        "max_weight_difference_note": "the largest |w_a - w_b| after training, per round; "
                                      "rounding differences (threads, shard shapes, the order "
                                      "of the gradient sums) flip the odd spike near threshold, "
                                      "which Adam carries on, so runs of many steps on wide "
                                      "layers drift apart by a few learning rates whether "
                                      "they differ in processes or only in threads",
        "runs": records,
    }
    from ff_neuro.fileio import write_json
    write_json(args.out, result)
    print(json.dumps({k: result[k] for k in ("samples_per_s",
                                             "speedup_parallel_vs_1_process_all_threads",
                                             "speedup_parallel_vs_1_process_1_thread",
                                             "max_weight_difference")},
                     indent=1))


if __name__ == "__main__":
    main()
