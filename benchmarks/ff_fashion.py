"""Spiking FF on the full Fashion-MNIST (60k/10k) within a CPU time budget.

Trains a spiking FF network (784-500-500 unless ``--hidden``) with ff-neuro's trainer until
``--minutes`` of training time are spent (or ``--epochs``), then measures test accuracy on the
full 10k test set: float (label sweep and, unless ``--no-readout``, one-pass linear readout) and
after Loihi quantization on the fixed-point emulator, and spot-checks >= 50 test samples on Lava
fixed_pt against the emulator.

Writes ``benchmarks/results/ff_fashion.json`` (keys ``test_accuracy_float``,
``test_accuracy_quantized``, ``train_minutes``, ``epochs``, ...). Usage::

    .venv/bin/python benchmarks/ff_fashion.py --minutes 60
    .venv/bin/python benchmarks/ff_fashion.py --minutes 60 --precision bf16 \
        --lr-schedule cosine --threads 1
    # the headline (two 784-800-250 members with local receptive fields of 7x7 and 11x11
    # patches, one per core, 90.50 % float / 90.36 % quantized on a 2-core CPU):
    .venv/bin/python benchmarks/ff_fashion.py --minutes 60 --epochs 1000 --encoding graded \
        --precision bf16 --lr-schedule cosine --threads 1 --beta 0.99 --loss softmax \
        --softmax-negatives 3 --alpha 60 --surrogate-slope 2.5 --members 2 --no-readout \
        --member-args "--hidden 800,250 --receptive-field 8,7,3 --locally-connected" \
        "--hidden 800,250 --receptive-field 8,11,3 --locally-connected"

With ``--lr-schedule cosine`` the learning rate decays to 0 over the epochs the budget allows:
a probe of ``--probe-batches`` training steps on a scratch trainer (not counted as training
time, recorded in the JSON) estimates the epoch time, and ``epochs`` is set to what fits in
``--minutes``; every ``--resize-every`` epochs the schedule is re-sized from their measured
time (the epochs done keep their learning rates); training still stops at the budget if the
estimate was short.

With ``--members M`` (M > 1) the script trains M networks at the same time, one process per CPU
core (``--threads`` each, seeds ``seed .. seed + M - 1``), each within the same ``--minutes``
wall-clock budget, and merges them into one network (``ff-neuro merge``: layer 1 stacked,
deeper layers block-diagonal, goodness summed over the members) which is then evaluated,
quantized and spot-checked on Lava like a single one. The JSON records every member's own
float accuracy too. ``--member-args`` gives each member its own extra options (a quoted string
per member, e.g. ``"" "--hidden 800,500 --receptive-field 8,7,3 --locally-connected"``: a
fully connected member beside one with local receptive fields); members that differ size their
cosine schedules to their own epoch times.
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

import torch  # noqa: E402

from ff_neuro.config import LOSSES, FFTrainConfig, per_layer_floats  # noqa: E402
from ff_neuro.data import load_dataset  # noqa: E402
from ff_neuro.data.augment import AUGMENTS  # noqa: E402
from ff_neuro.fileio import write_json  # noqa: E402
from ff_neuro.model import load_model, save_model  # noqa: E402
from ff_neuro.model.merge import merge_networks  # noqa: E402
from ff_neuro.pipeline import attach_readout, quantize_for_dataset  # noqa: E402
from ff_neuro.run import get_backend, label_sweep, one_pass  # noqa: E402
from ff_neuro.training import FFTrainer, LambdaCallback  # noqa: E402
from ff_neuro.training.budget import (epochs_for_budget, probe_epoch_seconds,  # noqa: E402
                                      train_resizing)


def barrier(sync_dir: str, name: str, index: int, total: int, payload=None,
            timeout_s: float = 900.0, required: bool = True):
    """File barrier of the ``--members`` processes: write this member's ``payload``, wait
    until all ``total`` have written theirs, return them in member order. After ``timeout_s``:
    exit (``required``) or return None."""
    d = Path(sync_dir)
    write_json(d / f"{name}.{index}.json", {"payload": payload})
    paths = [d / f"{name}.{i}.json" for i in range(total)]
    t0 = time.perf_counter()
    while not all(p.exists() for p in paths):
        if time.perf_counter() - t0 > timeout_s:
            if not required:
                return None
            raise SystemExit(f"member {index}: the other members did not reach {name!r} "
                             f"within {timeout_s:.0f} s")
        time.sleep(0.2)
    return [json.loads(p.read_text())["payload"] for p in paths]


def size_schedule(cfg: FFTrainConfig, ds, minutes: float, probe_batches: int,
                  sync=None, own: bool = False) -> dict:
    """Set ``cfg.epochs`` (at most its current value) to the epochs that ``minutes`` of
    training allow, from a probe of ``probe_batches`` steps; returns the probe record.

    ``sync = (dir, index, total)`` (``--members``): the members warm up, then time their steps
    together, and all take the slowest member's epoch time, so that they train the same
    schedule and none runs past the budget (a member probing while another compiled its
    kernels once got 113 epochs against 157); with ``own`` (members of different networks)
    each keeps its own time."""
    wait = None if sync is None else (lambda: barrier(*sync[:1], "warm", *sync[1:]))
    probe = probe_epoch_seconds(cfg, ds, probe_batches, after_warmup=wait)
    if sync is not None:
        times = barrier(sync[0], "probe", sync[1], sync[2], probe["epoch_seconds"])
        probe["own_epoch_seconds"] = probe["epoch_seconds"]
        probe["members_epoch_seconds"] = times
        probe["epoch_seconds"] = probe["epoch_seconds"] if own else max(times)
    cfg.epochs = epochs_for_budget(probe["epoch_seconds"], minutes, cfg.epochs)
    probe["epochs_scheduled"] = cfg.epochs
    return probe


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0, help="training-time budget")
    ap.add_argument("--epochs", type=int, default=200, help="upper bound on epochs")
    ap.add_argument("--encoding", choices=["rate", "graded"], default="rate")
    ap.add_argument("--time-steps", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--alpha", type=float, default=20.0)
    ap.add_argument("--beta", type=per_layer_floats, default=0.9,
                    help="LIF membrane decay per step, one value or one per layer (0.9,0.99)")
    ap.add_argument("--loss", choices=LOSSES, default="swish",
                    help="layer-local loss (FFTrainConfig.loss)")
    ap.add_argument("--surrogate-slope", type=float, default=FFTrainConfig.surrogate_slope,
                    help="slope of the fast-sigmoid surrogate gradient (FFTrainConfig."
                    "surrogate_slope)")
    ap.add_argument("--label-smoothing", type=float, default=FFTrainConfig.label_smoothing,
                    help="--loss softmax: label smoothing (FFTrainConfig.label_smoothing)")
    ap.add_argument("--softmax-negatives", type=int, default=0,
                    help="softmax loss: wrong labels per sample (0: all)")
    ap.add_argument("--dropout", type=float, default=0.0,
                    help="training-time dropout of each layer's inputs (FFTrainConfig.dropout)")
    ap.add_argument("--weight-decay", type=float, default=0.0,
                    help="AdamW decoupled weight decay (FFTrainConfig.weight_decay)")
    ap.add_argument("--hidden", default="500,500", help="hidden layer sizes")
    ap.add_argument("--receptive-field", default="",
                    help="CHANNELS,KERNEL,STRIDE: the first layer sees KERNELxKERNEL patches "
                         "(FFTrainConfig.receptive_field; --hidden's first size must match)")
    ap.add_argument("--locally-connected", action="store_true",
                    help="with --receptive-field: own weights per patch (Hinton's local "
                         "receptive fields) instead of one shared kernel per channel")
    ap.add_argument("--negatives", default="random",
                    help="negative data (FFTrainConfig.negatives: random, hard, ...)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                    help="matmul precision of training (bf16: mixed precision)")
    ap.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant")
    ap.add_argument("--augment", choices=AUGMENTS,
                    default="none", help="training-time augmentation (FFTrainConfig.augment)")
    ap.add_argument("--augment-shift", type=int, default=2,
                    help="largest shift in pixels of the shift augmentation")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--member-args", nargs="+", default=None, metavar="ARGS",
                    help="with --members M: M quoted strings of extra options, one per member, "
                         "that override the shared ones for that member (e.g. '' "
                         "'--hidden 800,500 --receptive-field 8,7,3 --locally-connected'); "
                         "members that differ size their schedules to their own step times")
    ap.add_argument("--own-schedule", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--members", type=int, default=1,
                    help="train this many networks in parallel processes (seeds seed, "
                    "seed + 1, ...) and merge them into one")
    ap.add_argument("--train-only", action="store_true",
                    help="(used by --members) train, save the float model to --model and the "
                    "training record to --out, and stop")
    ap.add_argument("--sync", default=None, help=argparse.SUPPRESS)  # (used by --members)
    ap.add_argument("--probe-batches", type=int, default=40,
                    help="cosine: training steps timed to size the schedule to the budget")
    ap.add_argument("--resize-every", type=int, default=10,
                    help="cosine: every this many epochs, re-size the schedule to the budget "
                    "from their measured time (0: keep the probe's)")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads [default: torch's choice]")
    ap.add_argument("--eval-every", type=int, default=1,
                    help="curve: accuracy on the first 1000 test samples every N epochs")
    ap.add_argument("--no-readout", action="store_true",
                    help="skip the one-pass linear readout (its fit on the 60k training "
                         "samples took 7-12 min for 4000 neurons on 2 cores); the label-sweep "
                         "accuracies are measured as usual")
    ap.add_argument("--lava-samples", type=int, default=50)
    ap.add_argument("--model", default="runs/ff_fashion.h5")
    ap.add_argument("--out", default=str(RESULTS / "ff_fashion.json"))
    return ap.parse_args(argv)


def train_one(args, ds) -> tuple:
    """Train one network within the budget: (float network, config, curve, probe)."""
    hidden = tuple(int(h) for h in args.hidden.split(","))
    cfg = FFTrainConfig(hidden=hidden, time_steps=args.time_steps, encoding=args.encoding,
                        batch_size=args.batch_size, lr=args.lr, alpha=args.alpha,
                        beta=args.beta, dropout=args.dropout, loss=args.loss,
                        softmax_negatives=args.softmax_negatives,
                        label_smoothing=args.label_smoothing,
                        surrogate_slope=args.surrogate_slope,
                        weight_decay=args.weight_decay,
                        epochs=args.epochs, eval_samples=0, matmul_precision=args.precision,
                        negatives=args.negatives,
                        lr_schedule=args.lr_schedule, augment=args.augment,
                        augment_shift=args.augment_shift, seed=args.seed,
                        receptive_field=tuple(int(v) for v in args.receptive_field.split(",")
                                              if v.strip()),
                        receptive_shared=not args.locally_connected)
    probe, sync = None, None
    if args.sync:                          # "DIR:INDEX:TOTAL", from train_members
        d, i, n = args.sync.rsplit(":", 2)
        sync = (d, int(i), int(n))
    if args.lr_schedule == "cosine":
        probe = size_schedule(cfg, ds, args.minutes, args.probe_batches, sync,
                              own=args.own_schedule)
        print(f"probe: {probe['epoch_seconds']:.1f} s per epoch -> cosine over {cfg.epochs} "
              "epochs", flush=True)
    curve = []
    tr = FFTrainer(cfg, ds)

    def on_epoch(trainer, epoch, metrics):
        loss = metrics["loss"]
        if (epoch + 1) % args.eval_every and epoch + 1 != cfg.epochs:
            return
        acc = label_sweep(get_backend("float"), tr.network(), ds.x_test[:1000], chunk=500)
        curve.append({"epoch": epoch + 1, "loss": loss, "train_minutes": tr.history.seconds / 60,
                      "test_accuracy_first_1000": acc.accuracy(ds.y_test[:1000])})
        print(curve[-1], flush=True)

    fit = dict(progress=False, callbacks=[LambdaCallback(on_epoch)], checkpoint=args.model + ".ckpt.h5")
    resize_every = args.resize_every if probe is not None else 0
    net, resized = train_resizing(tr, args.minutes, args.epochs, resize_every,
                                  agree=members_agree(None if args.own_schedule else sync),
                                  **fit)
    if resize_every > 0:
        probe["resized"] = resized
    return net, cfg, curve, probe


def members_agree(sync=None):
    """The ``agree`` hook of :func:`ff_neuro.training.budget.train_resizing`: print the
    measured epoch time and, with ``--members`` (``sync``), take the slowest member's epoch
    time and training time, so that every member re-sizes to one schedule (a member that
    stopped at the budget does not come: then its own figures)."""
    def agree(own: float, spent: float, done: int):
        epoch_s = own
        if sync is not None:
            times = barrier(sync[0], f"resize{done}", sync[1], sync[2], [own, spent],
                            timeout_s=120, required=False)
            if times is not None:
                epoch_s, spent = max(t[0] for t in times), max(t[1] for t in times)
        print(f"after {done} epochs: {own:.1f} s per epoch (schedule: {epoch_s:.1f})",
              flush=True)
        return epoch_s, spent
    return agree


def train_members(args) -> tuple:
    """Run ``--members`` copies of this script with ``--train-only`` (seeds seed + i) at once;
    return their float networks and training records."""
    argv = list(sys.argv[1:])
    if "--member-args" in argv:  # each member gets its own string, not the list
        i = argv.index("--member-args")
        del argv[i:i + 1 + args.members]
    procs, paths = [], []
    # a kill of this process (SIGTERM) runs the clean-up below too, so no member is orphaned
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    sync_dir = tempfile.mkdtemp(prefix="ff_members_", dir=str(Path(args.model).parent))
    extra = args.member_args or [""] * args.members
    if len(extra) != args.members:
        raise SystemExit(f"--member-args needs one string per member ({args.members}), "
                         f"got {len(extra)}")
    own = ["--own-schedule"] if len(set(extra)) > 1 else []
    for i in range(args.members):
        model = f"{args.model}.member{i}.h5"
        out = f"{args.model}.member{i}.json"
        cmd = [sys.executable, __file__, *argv, "--members", "1", "--train-only",
               "--seed", str(args.seed + i), "--model", model, "--out", out,
               "--sync", f"{sync_dir}:{i}:{args.members}", *own, *shlex.split(extra[i])]
        log = open(f"{args.model}.member{i}.log", "w")
        procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log))
        paths.append((model, out))
    try:
        for (p, log), (model, _) in zip(procs, paths):
            if p.wait() != 0:
                raise SystemExit(f"member training failed (see {model[:-3]}.log)")
    finally:  # a failed (or interrupted) member stops the others
        for p, log in procs:
            if p.poll() is None:
                p.terminate()
                p.wait()
            log.close()
        shutil.rmtree(sync_dir, ignore_errors=True)
    return ([load_model(m) for m, _ in paths],
            [json.loads(Path(o).read_text()) for _, o in paths])


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ds = load_dataset("fashion-mnist")
    if args.train_only:
        net, cfg, curve, probe = train_one(args, ds)
        h = net.training["history"]
        r = label_sweep(get_backend("float"), net, ds.x_test, chunk=500)
        save_model(net, args.model)
        write_json(args.out, {"seed": args.seed, "config": cfg.to_dict(), "curve": curve,
                              "schedule_probe": probe, "train_minutes": h["seconds"] / 60,
                              "epochs": len(h["loss"]), "sizes": net.sizes,
                              "test_accuracy_float": r.accuracy(ds.y_test)})
        return
    members = None
    if args.members > 1:
        nets, members = train_members(args)
        net = merge_networks(nets)
        cfg = FFTrainConfig(**members[0]["config"])
        curve = [m["curve"] for m in members]
        probe = [m["schedule_probe"] for m in members]
        train_minutes = max(m["train_minutes"] for m in members)
        epochs = min(m["epochs"] for m in members)
        samples_per_s = sum(ds.x_train.shape[0] * m["epochs"] / (60 * m["train_minutes"])
                            for m in members)
    else:
        net, cfg, curve, probe = train_one(args, ds)
        h = net.training["history"]
        epochs = len(h["loss"])
        train_minutes = h["seconds"] / 60
        samples_per_s = ds.x_train.shape[0] * epochs / h["seconds"]
    readout_fit_s = None
    if not args.no_readout:
        t = time.perf_counter()
        attach_readout(net, ds)
        readout_fit_s = time.perf_counter() - t
    qnet, qrep = quantize_for_dataset(net, ds)
    save_model(qnet, args.model)
    flt, emu = get_backend("float"), get_backend("emulator")
    r_f = label_sweep(flt, qnet, ds.x_test, chunk=500)
    r_q = label_sweep(emu, qnet, ds.x_test, chunk=500)
    acc_f, acc_q = r_f.accuracy(ds.y_test), r_q.accuracy(ds.y_test)
    ro_f = ro_q = None
    linear = qnet.linear_readout
    if linear is not None:
        ro_f = one_pass(flt, qnet, ds.x_test, readout=linear).accuracy(ds.y_test)
        ro_q = one_pass(emu, qnet, ds.x_test, readout=linear).accuracy(ds.y_test)
    n = args.lava_samples
    lava = label_sweep(get_backend("lava-fixed", timeout_s=3000), qnet, ds.x_test[:n], chunk=n)
    result = {
        "machine": machine(),
        "command": shlex.join([".venv/bin/python", "benchmarks/ff_fashion.py", *sys.argv[1:]]),
        "dataset": "fashion-mnist", "n_train": int(ds.x_train.shape[0]),
        "n_test": int(ds.x_test.shape[0]),
        "test_accuracy_float": acc_f, "test_accuracy_quantized": acc_q,
        "quantization_loss_pp": 100 * (acc_f - acc_q),
        "test_accuracy_float_readout": ro_f, "test_accuracy_quantized_readout": ro_q,
        "train_minutes": train_minutes, "epochs": epochs,
        "samples_per_s": samples_per_s,
        "readout_fit_seconds": readout_fit_s,
        "lava_spot_check": {"samples": n,
                            "predictions_equal_emulator": bool(np.array_equal(
                                lava.predictions, r_q.predictions[:n])),
                            "accuracy": lava.accuracy(ds.y_test[:n])},
        "torch_threads": torch.get_num_threads(), "schedule_probe": probe,
        "config": cfg.to_dict(), "curve": curve, "quantization": qrep.to_dict(),
        "model": args.model, "sizes": net.sizes,
    }
    if members is not None:
        result["members"] = {
            "count": args.members,
            "note": "trained at the same time, one process each (one per core when M <= "
                    "cores), each within the budget; merged into one network "
                    "(ff_neuro.model.merge); train_minutes is the longest member, epochs the "
                    "fewest, samples_per_s the sum",
            "test_accuracy_float": [m["test_accuracy_float"] for m in members],
            "epochs": [m["epochs"] for m in members],
            "train_minutes": [m["train_minutes"] for m in members],
            "seeds": [m["seed"] for m in members],
            "member_args": args.member_args,
            "sizes": [m["sizes"] for m in members],
            "configs": [m["config"] for m in members]}
    write_json(args.out, result)
    print({k: result[k] for k in ("test_accuracy_float", "test_accuracy_quantized",
                                  "test_accuracy_float_readout", "train_minutes", "epochs")})


if __name__ == "__main__":
    main()
