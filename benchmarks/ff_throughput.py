"""Training throughput: ff-neuro's FF trainer vs a plain snnTorch implementation of the same
network and recipe, side by side in one run.

The baseline is written in the style of the Ghader et al. code (mngh-cs/SNN_FF): per time step,
``nn.Linear`` on that step's input, ``snn.Leaky`` step by step, positive and negative passes run
separately, goodness from spike counts, swish loss, layer-local updates. Both use the same
784-500-500 network, T, batch, encoding, negatives and optimizer on Fashion-MNIST; throughput is
training samples per second over ``--batches`` batches after a warm-up batch.

``--device cuda`` runs both on the GPU (and, with ``--cpu-reference``, ff-neuro's CPU trainer
beside them, for the GPU-over-CPU ratio).

Writes ``benchmarks/results/ff_throughput.json`` with ``speedup_vs_snntorch_loop``.

``--matrix`` runs the table per CPU kind in one go: every combination of ff-neuro's matmul
precision {fp32, bf16, auto} x the CPU's instruction set {native, ``ONEDNN_MAX_CPU_ISA=AVX2``
(what a CPU without AVX512-BF16 offers oneDNN)} x {1 thread, all cores}, each as a fresh
process of this script (oneDNN reads the limit when torch loads) against the plain snnTorch
loop in the same process; writes ``benchmarks/results/ff_throughput_matrix.json``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import snntorch as snn
import torch
import torch.nn.functional as F
from snntorch import surrogate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

from ff_neuro.config import FFTrainConfig  # noqa: E402
from ff_neuro.data import load_dataset  # noqa: E402
from ff_neuro.encoding import encode  # noqa: E402
from ff_neuro.fileio import write_json  # noqa: E402
from ff_neuro.training import FFTrainer  # noqa: E402
from ff_neuro.training.ff import random_wrong_labels  # noqa: E402


class SnnTorchLoopFF(torch.nn.Module):
    """The straightforward snnTorch FF network: Linear + Leaky per layer, stepped in time."""

    def __init__(self, sizes, beta, threshold, slope, alpha, lr):
        super().__init__()
        self.fcs = torch.nn.ModuleList(torch.nn.Linear(a, b, bias=False)
                                       for a, b in zip(sizes[:-1], sizes[1:]))
        self.lifs = torch.nn.ModuleList(
            snn.Leaky(beta=beta, threshold=threshold, reset_mechanism="zero", reset_delay=False,
                      spike_grad=surrogate.fast_sigmoid(slope=slope)) for _ in self.fcs)
        self.alpha = alpha
        self.opt = torch.optim.Adam(self.parameters(), lr=lr)

    def layer_goodness(self, x_steps):
        """Run every layer step by step; returns goodness per layer, inputs detached."""
        T = x_steps.shape[0]
        goods = []
        inp = x_steps
        for fc, lif in zip(self.fcs, self.lifs):
            mem = lif.init_leaky()
            spikes = []
            for t in range(T):
                cur = fc(inp[t])
                spk, mem = lif(cur, mem)
                spikes.append(spk)
            spk = torch.stack(spikes)
            rate = spk.sum(0) / T
            goods.append((rate ** 2).mean(1))
            inp = spk.detach()
        return goods

    def train_step(self, pos, neg):
        gp = self.layer_goodness(pos)
        gn = self.layer_goodness(neg)
        loss = sum(F.silu(-self.alpha * (a - b)).mean() for a, b in zip(gp, gn))
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return float(loss)


def accuracy_check(ds, cfg: FFTrainConfig, epochs: int, n_train: int = 10_000,
                   n_test: int = 2_000) -> dict:
    """Train ff-neuro in fp32 and in bf16 from the same seed on a subset; test accuracy of each
    (label sweep, float backend)."""
    from dataclasses import replace

    from ff_neuro.run import get_backend, label_sweep

    sub = replace(ds, x_train=ds.x_train[:n_train], y_train=ds.y_train[:n_train],
                  x_test=ds.x_test[:n_test], y_test=ds.y_test[:n_test])
    out = {"train_samples": n_train, "test_samples": n_test, "epochs": epochs}
    for prec in ("fp32", "bf16"):
        c = replace(cfg, epochs=epochs, matmul_precision=prec)
        t = time.perf_counter()
        net = FFTrainer(c, sub).fit(progress=False)
        secs = time.perf_counter() - t
        acc = label_sweep(get_backend("float"), net, sub.x_test).accuracy(sub.y_test)
        out[prec] = {"test_accuracy": acc, "train_seconds": secs}
        print(f"accuracy check {prec}: {acc:.4f} after {epochs} epochs ({secs:.0f} s)",
              flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--time-steps", type=int, default=10)
    ap.add_argument("--encoding", choices=["rate", "graded"], default="rate")
    ap.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto",
                    help="ff-neuro's matmul precision (the snnTorch loop stays fp32)")
    ap.add_argument("--matrix", action="store_true",
                    help="run every precision x ISA (native, AVX2) x threads (1, all) "
                         "combination as its own process and write the table")
    ap.add_argument("--accuracy-epochs", type=int, default=0,
                    help="also train both precisions of ff-neuro this many epochs on a "
                         "10k-sample subset and report test accuracy (does bf16 cost accuracy?)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads for both implementations [default: torch's choice]; "
                         "1 is far faster when other jobs share the cores")
    ap.add_argument("--repeats", type=int, default=5,
                    help="alternating timing rounds; the median round is reported")
    ap.add_argument("--device", default="cpu",
                    help="torch device of both implementations (cpu, cuda) [cpu]")
    ap.add_argument("--cpu-reference", action="store_true",
                    help="with --device cuda: also time ff-neuro's trainer on the CPU")
    ap.add_argument("--data-dir", default=None,
                    help="folder of the Fashion-MNIST IDX files [the Debian package's]")
    ap.add_argument("--out", default=str(RESULTS / "ff_throughput.json"))
    args = ap.parse_args()
    if args.matrix:
        return run_matrix(args)
    dev = torch.device(args.device)
    torch.set_num_threads(args.threads or torch.get_num_threads())
    ds = load_dataset("fashion-mnist", data_dir=args.data_dir)
    cfg = FFTrainConfig(hidden=(500, 500), time_steps=args.time_steps,
                        batch_size=args.batch_size, encoding=args.encoding, epochs=1,
                        matmul_precision=args.precision)
    ours = FFTrainer(cfg, ds, device=dev)
    cpu_ref = FFTrainer(cfg, ds) if args.cpu_reference and dev.type != "cpu" else None
    base = SnnTorchLoopFF([ours.emb.input_size(ds.n_features), 500, 500], ours.betas[0],
                          cfg.threshold, cfg.surrogate_slope, cfg.alpha, cfg.lr).to(dev)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
    rng = np.random.default_rng(0)
    B = args.batch_size
    batches = [rng.choice(ds.x_train.shape[0], B, replace=False) for _ in range(args.batches + 1)]

    def run_ours(i, idx):
        ours.train_step(ds.x_train[idx], ds.y_train[idx], rng, seed_offset=i + 1)

    def run_base(i, idx):
        x, y = ds.x_train[idx], ds.y_train[idx]
        y_neg = random_wrong_labels(y, ds.n_classes, rng)
        pos = encode(x, y, ours.emb, ours.enc, seed_offset=i + 1).astype(np.float32)
        neg = encode(x, y_neg, ours.emb, ours.enc, seed_offset=i + 1).astype(np.float32)
        if ours.enc.levels > 1:
            pos, neg = pos / ours.enc.levels, neg / ours.enc.levels
        base.train_step(torch.from_numpy(pos).to(dev), torch.from_numpy(neg).to(dev))

    def run_cpu(i, idx):
        cpu_ref.train_step(ds.x_train[idx], ds.y_train[idx], rng, seed_offset=i + 1)

    impls = [("snntorch_loop", run_base), ("ff_neuro", run_ours)]
    if cpu_ref is not None:
        impls.append(("ff_neuro_cpu", run_cpu))

    # Alternate the two implementations --repeats times; report the median of the per-repeat
    # speedups (a shared 2-core machine is noisy: single pairs varied by +-30 %).
    for _, fn in impls:
        fn(0, batches[0])  # warm-up
    sync()
    rounds = []
    for r in range(args.repeats):
        res = {}
        for name, fn in impls:
            t = time.perf_counter()
            for i, idx in enumerate(batches[1:], start=1):
                fn(i, idx)
            sync()
            secs = time.perf_counter() - t
            res[name] = {"seconds": secs, "samples_per_s": args.batches * B / secs}
        res["speedup"] = res["ff_neuro"]["samples_per_s"] / res["snntorch_loop"]["samples_per_s"]
        if cpu_ref is not None:
            res["speedup_vs_ff_neuro_cpu"] = (res["ff_neuro"]["samples_per_s"]
                                              / res["ff_neuro_cpu"]["samples_per_s"])
        rounds.append(res)
        print(f"round {r + 1}: snntorch loop {res['snntorch_loop']['samples_per_s']:.0f}, "
              f"ff-neuro {res['ff_neuro']['samples_per_s']:.0f} training samples/s "
              f"({res['speedup']:.2f}x)", flush=True)
    med = sorted(rounds, key=lambda d: d["speedup"])[len(rounds) // 2]
    res = {k: med[k] for k in med if k != "speedup"}
    speedup = med["speedup"]
    out = {"machine": machine(), "torch_threads": torch.get_num_threads(),
           "device": str(dev), "gpu": (torch.cuda.get_device_name(dev) if dev.type == "cuda"
                                       else None),
           "network": "784(+10 label)-500-500 spiking FF, swish loss, random wrong labels",
           "time_steps": args.time_steps, "batch_size": B, "batches": args.batches,
           "encoding": args.encoding, "matmul_precision": args.precision,
           "matmul_precision_resolved": ours.precision,
           "matmul_precision_why": ours.precision_why,
           "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"), **res,
           "speedup_vs_snntorch_loop": speedup,
           "speedup_rounds": [d["speedup"] for d in rounds],
           "load_average_1min_at_end": os.getloadavg()[0]}
    if args.accuracy_epochs:
        out["accuracy_check"] = accuracy_check(ds, cfg, args.accuracy_epochs)
    write_json(args.out, out)
    print(f"speedup {speedup:.2f}x; wrote {args.out}")


def run_matrix(args) -> None:
    """Every precision x ISA x threads combination, each in its own process of this script."""
    import json
    import subprocess
    import tempfile
    cores = len(os.sched_getaffinity(0))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for isa in (None, "AVX2"):
            for threads in sorted({1, cores}):
                for prec in ("fp32", "bf16", "auto"):
                    out = Path(tmp) / f"{isa}-{threads}-{prec}.json"
                    env = dict(os.environ)
                    env.pop("ONEDNN_MAX_CPU_ISA", None)
                    if isa:
                        env["ONEDNN_MAX_CPU_ISA"] = isa
                    cmd = [sys.executable, __file__, "--precision", prec, "--threads",
                           str(threads), "--batches", str(args.batches), "--repeats",
                           str(args.repeats), "--batch-size", str(args.batch_size),
                           "--time-steps", str(args.time_steps), "--encoding", args.encoding,
                           "--out", str(out)] + (["--data-dir", args.data_dir]
                                                 if args.data_dir else [])
                    print(f"== {'ONEDNN_MAX_CPU_ISA=' + isa if isa else 'native ISA'}, "
                          f"{threads} thread(s), {prec}", flush=True)
                    subprocess.run(cmd, env=env, check=True)
                    r = json.loads(out.read_text())
                    rows.append({"isa": isa or "native", "threads": threads,
                                 "precision": prec,
                                 "resolved": r["matmul_precision_resolved"],
                                 "snntorch_loop_samples_per_s":
                                     r["snntorch_loop"]["samples_per_s"],
                                 "ff_neuro_samples_per_s": r["ff_neuro"]["samples_per_s"],
                                 "speedup_vs_snntorch_loop": r["speedup_vs_snntorch_loop"],
                                 "speedup_rounds": r["speedup_rounds"],
                                 "load_average_1min_at_end": r["load_average_1min_at_end"]})
    auto = [r for r in rows if r["precision"] == "auto"]
    out = {"machine": machine(), "cores": cores, "batches": args.batches,
           "repeats": args.repeats, "batch_size": args.batch_size,
           "time_steps": args.time_steps, "encoding": args.encoding, "rows": rows,
           "auto_min_speedup": min(r["speedup_vs_snntorch_loop"] for r in auto),
           "command": "benchmarks/ff_throughput.py --matrix " + " ".join(
               f"--{k.replace('_', '-')} {v}" for k, v in (("batches", args.batches),
                                                           ("repeats", args.repeats),
                                                           ("encoding", args.encoding)))}
    path = RESULTS / "ff_throughput_matrix.json" if args.out == str(
        RESULTS / "ff_throughput.json") else Path(args.out)
    write_json(path, out)
    print(f"{'ISA':<7} {'threads':>7} {'precision':>9} {'runs':>5} {'snnTorch/s':>10} "
          f"{'ff-neuro/s':>10} {'speedup':>8}")
    for r in rows:
        print(f"{r['isa']:<7} {r['threads']:>7} {r['precision']:>9} {r['resolved']:>5} "
              f"{r['snntorch_loop_samples_per_s']:>10.0f} {r['ff_neuro_samples_per_s']:>10.0f} "
              f"{r['speedup_vs_snntorch_loop']:>7.2f}x")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
