"""On-chip learning trials on Fashion-MNIST at full scale, on the emulator of the chip.

Two experiments, one JSON (``benchmarks/results/onchip_fashion.json``) and two plots:

1. **Host vs chip, float vs fixed point.** One sample stream (``--samples`` training samples,
   one pass, 50/50 positive / negative, the trial's input spikes) is learned by (a) the host
   rule (``HebbianTrainer`` online, K = 1), (b) the on-chip float model (the emulator's
   ``floating_pt``: Lava's float LearningDense + HebbianLIF) and (c) the on-chip fixed-point
   model (the emulator's ``fixed_pt``, bit-exact with Lava), all three from the same start (the
   dequantized fixed-point start weights). Every ``--every`` samples the weights are scored on
   the whole test set (10,000 samples); the JSON gives the three curves, the gaps at equal
   samples and the fixed-point run's deviation from the float model and its sources
   (``fixed_deviation``: rounding, saturation, third factors rounded to zero).
2. **A deployed model adapting on the chip.** A one-layer Hebbian model is trained on the host
   (one online pass over the training set), quantized and deployed; the chip then meets
   Fashion-MNIST with inverted contrast (``1 - x``), which the model never saw. On the same
   stream of ``--adapt-samples`` inverted samples: the frozen deployed model, the deployed
   model adapting on the chip (fixed_pt, and floating_pt from the same dequantized start) and
   the host rule retraining the float model; scored
   on the inverted test set at every curve point, and on the original test set at the end.
   The adaptation's eta and y_exp come from ``adapt_search``: a grid on a validation split of
   the training set (``--val`` samples held out; the test set is not used).

Each trial also reports its energy per learned sample (``ff_neuro.energy.learning_energy``,
Loihi constants of Davies et al. 2018) and Lava's speed on the same kind of trial measured in
the same run (``--lava-samples`` samples per mode; fixed_pt digests must agree)::

    nice -n 10 .venv/bin/python benchmarks/onchip_fashion.py
    .venv/bin/python benchmarks/onchip_fashion.py --samples 3000 --every 1000 \\
        --adapt-samples 2000 --adapt-every 1000 --eval 1000 --lava-samples 50 --out /tmp/q.json
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

from ff_neuro.data import Dataset, load_dataset  # noqa: E402
from ff_neuro.fileio import save_figure, write_json  # noqa: E402
from ff_neuro.training.hebbian import HebbianConfig, HebbianTrainer  # noqa: E402
from ff_neuro.training.onchip import LearningTrial, weights_sha256  # noqa: E402
from ff_neuro.training.onchip.emulator import run_emulated_learning  # noqa: E402
from ff_neuro.training.onchip.learning import (fixed_deviation,  # noqa: E402
                                               learning_energy_summary,
                                               reference_learning_fixed)


def quiet(msg: str) -> None:
    pass


def curve(trial: LearningTrial, start: np.ndarray, snaps, every: int, scale: float = 1.0,
          x=None, y=None):
    """Accuracy of the start and of every snapshot (float weights = ints / ``scale``) on the
    trial's evaluation samples (or ``x``, ``y``)."""
    def acc(w):
        return trial.score(np.asarray(w, np.float64) / scale, x, y)
    pts = [{"samples": 0, "accuracy": acc(start)}]
    for i, w in enumerate(snaps):
        pts.append({"samples": min(trial.n, (i + 1) * every), "accuracy": acc(w)})
    return pts


def energy(stats: dict, trial: LearningTrial) -> dict:
    return learning_energy_summary(stats, trial.w0.shape[1], trial.w0.shape[0], trial.n)


def three_way(ds, args) -> dict:
    print(f"[1/3] host vs chip: {args.samples} samples, curve every {args.every}, "
          f"{args.eval} test samples per point", flush=True)
    trial = LearningTrial(ds, args.samples, eval_samples=args.eval, every=args.every,
                          mode="fixed_pt", eta=args.eta, y_exp=args.y_exp, seed=args.seed)
    w_fixed, snaps_fixed, st_fixed = trial.run("emulator", progress=True, log=print)
    print(f"  fixed_pt: {st_fixed['samples_per_s']:.0f} samples/s", flush=True)
    w_float, snaps_float, st_float = run_emulated_learning(
        trial.w0, trial.inputs, trial.pol, trial.rule, snapshot_every=args.every,
        mode="floating_pt", progress=True)
    print(f"  floating_pt: {st_float['samples_per_s']:.0f} samples/s", flush=True)
    snaps_host, host_s = trial.host_rule(every=args.every, progress=True)
    print(f"  host rule: {trial.n / host_s:.0f} samples/s", flush=True)
    dev_extra = {}
    w_exact = None
    if not args.no_exact:
        t = time.perf_counter()
        w_exact, _, _ = reference_learning_fixed(trial.w_start, trial.inputs, trial.pol,
                                                 trial.rule, trial.scale, trial.y_exp)
        dev_extra["exact_update_model_s"] = time.perf_counter() - t
    dev = fixed_deviation(trial.w_start, w_fixed, w_float, trial.scale, st_fixed["neuron"],
                          w_exact)
    print("  scoring the curves ...", flush=True)
    curves = {"host_float_rule": curve(trial, trial.w0, snaps_host, args.every),
              "chip_floating_pt": curve(trial, trial.w0, snaps_float, args.every),
              "chip_fixed_pt": curve(trial, trial.w_start, snaps_fixed, args.every,
                                     trial.scale)}
    if w_exact is not None:
        dev_extra["exact_update_model_accuracy"] = trial.score(w_exact / trial.scale)
    gaps = [{"samples": h["samples"],
             "fixed_minus_host": f["accuracy"] - h["accuracy"],
             "fixed_minus_chip_float": f["accuracy"] - c["accuracy"],
             "chip_float_minus_host": c["accuracy"] - h["accuracy"]}
            for h, c, f in zip(curves["host_float_rule"], curves["chip_floating_pt"],
                               curves["chip_fixed_pt"])]
    final = gaps[-1]
    return {"samples": trial.n, "every": args.every, "eval_samples": int(trial.x_ev.shape[0]),
            "eta": args.eta, "y_exp": args.y_exp, "weight_scale": trial.scale,
            "vth_q": int(round(trial.rule.vth * trial.scale)), "rule": trial.rule.__dict__,
            "curves": curves, "gaps": gaps,
            "final": {k: v[-1]["accuracy"] for k, v in curves.items()},
            "final_gap_fixed_minus_host": final["fixed_minus_host"],
            "goal_fixed_within_2_points_of_host": bool(final["fixed_minus_host"] >= -0.02),
            "samples_per_s": {"emulator_fixed_pt": st_fixed["samples_per_s"],
                              "emulator_floating_pt": st_float["samples_per_s"],
                              "host_rule": trial.n / host_s},
            "weights_sha256": weights_sha256(w_fixed),
            "deviation_fixed_vs_chip_float": {**dev, **dev_extra},
            "energy_fixed_pt": energy(st_fixed, trial)}


def inverted(ds) -> Dataset:
    """``ds`` with inverted contrast (``1 - x``): the same labels, data the model never saw."""
    return Dataset(name=f"{ds.name}-inverted", x_train=1.0 - ds.x_train, y_train=ds.y_train,
                   x_test=1.0 - ds.x_test, y_test=ds.y_test, n_classes=ds.n_classes,
                   image_shape=ds.image_shape, source=f"{ds.source}, contrast inverted")


def adaptation(ds, args) -> dict:
    print(f"[2/3] adaptation: host training on {ds.name} ({args.pretrain} samples) ...",
          flush=True)
    cfg = HebbianConfig(seed=args.seed)
    tr = HebbianTrainer(cfg, ds)
    t = time.perf_counter()
    tr.train_epoch(0, max_samples=args.pretrain)
    pretrain_s = time.perf_counter() - t
    net = tr.network()
    w_host = net.layers[0].weight.astype(np.float64)
    shifted = inverted(ds)
    trial = LearningTrial(shifted, args.adapt_samples, eval_samples=args.eval,
                          every=args.adapt_every, model=net, cfg=cfg, mode="fixed_pt",
                          eta=args.adapt_eta, y_exp=args.adapt_y_exp, seed=args.seed + 1)
    print(f"  on-chip adaptation: {trial.n} inverted samples", flush=True)
    w_chip, snaps_chip, st = trial.run("emulator", progress=True, log=print)
    _, snaps_float, st_float = run_emulated_learning(
        trial.w0, trial.inputs, trial.pol, trial.rule, snapshot_every=args.adapt_every,
        mode="floating_pt", progress=True)
    snaps_host, host_s = trial.host_rule(w_host, args.adapt_every, progress=True)
    n_pts = len(snaps_chip)
    frozen = [trial.w_start] * n_pts
    print("  scoring the curves ...", flush=True)
    curves = {"frozen_deployed": curve(trial, trial.w_start, frozen, args.adapt_every,
                                       trial.scale),
              "chip_adapting_fixed_pt": curve(trial, trial.w_start, snaps_chip,
                                              args.adapt_every, trial.scale),
              "chip_adapting_floating_pt": curve(trial, trial.w0, snaps_float,
                                                 args.adapt_every),
              "host_retraining": curve(trial, w_host, snaps_host, args.adapt_every)}
    x0, y0 = ds.x_test[:args.eval], ds.y_test[:args.eval]
    original = {
        "host_model": curve(trial, w_host, [], 1, x=x0, y=y0)[0]["accuracy"],
        "deployed_before": curve(trial, trial.w_start, [], 1, trial.scale, x0, y0)[0]
        ["accuracy"],
        "chip_after_adapting": curve(trial, w_chip, [], 1, trial.scale, x0, y0)[0]["accuracy"],
        "host_after_retraining": curve(trial, snaps_host[-1], [], 1, x=x0, y=y0)[0]
        ["accuracy"]}
    return {"shift": "contrast inverted (1 - x), train and test", "pretrain_samples":
            args.pretrain, "pretrain_s": pretrain_s, "pretrain_config": cfg.to_dict(),
            "samples": trial.n, "every": args.adapt_every, "eta": args.adapt_eta,
            "y_exp": args.adapt_y_exp, "settings_from": "adapt_search (the best validation "
            "accuracy of its grid)",
            "eval_samples": int(trial.x_ev.shape[0]), "weight_scale": trial.scale,
            "curves": curves, "final": {k: v[-1]["accuracy"] for k, v in curves.items()},
            "original_data_accuracy": original,
            "samples_per_s": {"emulator_fixed_pt": st["samples_per_s"],
                              "emulator_floating_pt": st_float["samples_per_s"],
                              "host_rule": trial.n / host_s},
            "weights_sha256": weights_sha256(w_chip), "energy_fixed_pt": energy(st, trial)}


def adapt_search(ds, args) -> dict:
    """The adaptation's learning settings (eta, y_exp), searched on a validation split: the
    model trained on the training set less its last ``--val`` samples, adapting in fixed_pt on
    ``--adapt-samples`` inverted samples of that part, scored on the inverted validation
    samples. The test set is not used."""
    from ff_neuro.tuning import validation_split
    vds = validation_split(ds, args.val)
    print(f"[0/3] adaptation settings on a validation split ({vds.n_train} / {vds.n_test})",
          flush=True)
    cfg = HebbianConfig(seed=args.seed)
    tr = HebbianTrainer(cfg, vds)
    tr.train_epoch(0, max_samples=args.pretrain)
    net, shifted = tr.network(), inverted(vds)
    grid = []
    for eta in (0.5, 1.0, 2.0, 4.0):
        for y_exp in (-6, -5, -4, -3):
            trial = LearningTrial(shifted, args.adapt_samples, eval_samples=vds.n_test,
                                  every=args.adapt_samples, model=net, cfg=cfg,
                                  mode="fixed_pt", eta=eta, y_exp=y_exp, seed=args.seed + 1)
            w, _, st = trial.run("emulator", log=quiet)
            nst = st["neuron"]
            grid.append({"eta": eta, "y_exp": y_exp,
                         "validation_accuracy": trial.score(w / trial.scale),
                         "y_saturated_fraction": nst["y_saturated"] / max(1, nst["terms"]),
                         "rounded_to_zero_fraction": nst["rounded_to_zero"]
                         / max(1, nst["terms"])})
            print(f"  eta {eta}, y_exp {y_exp}: {grid[-1]['validation_accuracy']:.4f}",
                  flush=True)
    best = max(grid, key=lambda g: g["validation_accuracy"])
    return {"validation_samples": int(vds.n_test), "train_samples": int(vds.n_train),
            "grid": grid, "best": best}


def lava_speed(ds, args) -> dict:
    """Lava and the emulator on the same short trial, per mode, measured here and now."""
    print(f"[3/3] Lava vs emulator, {args.lava_samples} samples per mode ...", flush=True)
    out = {}
    for mode in ("fixed_pt", "floating_pt"):
        trial = LearningTrial(ds, args.lava_samples, eval_samples=10, mode=mode, eta=args.eta,
                              y_exp=args.y_exp, seed=args.seed)
        w_l, _, st_l = trial.run("lava", log=quiet)
        trial.run("emulator", log=quiet)                       # loads the compiled kernels
        w_e, _, st_e = trial.run("emulator", log=quiet)
        row = {"samples": trial.n, "lava_samples_per_s": st_l["samples_per_s"],
               "emulator_samples_per_s": st_e["samples_per_s"],
               "speedup": st_e["samples_per_s"] / st_l["samples_per_s"]}
        if mode == "fixed_pt":
            row["weights_equal"] = weights_sha256(w_l) == weights_sha256(w_e)
        else:
            row["max_abs_weight_difference"] = float(np.abs(w_l - w_e).max())
        out[mode] = row
        print(f"  {mode}: Lava {row['lava_samples_per_s']:.1f} samples/s, emulator "
              f"{row['emulator_samples_per_s']:.0f} ({row['speedup']:.0f}x)", flush=True)
    return out


def plot(res: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    parts = [k for k in ("three_way", "adaptation") if k in res]
    fig, axes = plt.subplots(1, len(parts), figsize=(6.2 * len(parts), 4.0), squeeze=False)
    titles = {"three_way": "Fashion-MNIST from scratch: host vs chip",
              "adaptation": "Deployed model meets inverted contrast"}
    labels = {"host_float_rule": "host rule (float)", "chip_floating_pt": "chip, floating_pt",
              "chip_fixed_pt": "chip, fixed_pt", "frozen_deployed": "deployed, frozen",
              "chip_adapting_fixed_pt": "deployed, adapting on chip (fixed_pt)",
              "chip_adapting_floating_pt": "deployed, adapting on chip (floating_pt)",
              "host_retraining": "host rule retraining (float)"}
    colours = {"host_float_rule": "tab:red", "host_retraining": "tab:red",
               "chip_floating_pt": "tab:green", "chip_adapting_floating_pt": "tab:green",
               "chip_fixed_pt": "tab:blue", "chip_adapting_fixed_pt": "tab:blue",
               "frozen_deployed": "tab:gray"}
    for ax, part in zip(axes[0], parts):
        for name, pts in res[part]["curves"].items():
            ax.plot([p["samples"] for p in pts], [100 * p["accuracy"] for p in pts],
                    marker="o", ms=3, label=labels.get(name, name), color=colours.get(name))
        ax.set_xlabel("samples learned online")
        ax.set_ylabel(f"test accuracy (%), {res[part]['eval_samples']:,} samples")
        ax.set_title(titles[part], fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--samples", type=int, default=60000)
    ap.add_argument("--every", type=int, default=10000)
    ap.add_argument("--eval", type=int, default=10000, help="test samples per curve point")
    ap.add_argument("--eta", type=float, default=0.5)
    ap.add_argument("--y-exp", type=int, default=-6)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-exact", action="store_true",
                    help="skip the exact-update integer model (the deviation split)")
    ap.add_argument("--pretrain", type=int, default=60000)
    ap.add_argument("--adapt-samples", type=int, default=20000)
    ap.add_argument("--adapt-every", type=int, default=4000)
    ap.add_argument("--adapt-eta", type=float, default=2.0,
                    help="eta of the adaptation trial (adapt_search's best)")
    ap.add_argument("--adapt-y-exp", type=int, default=-4,
                    help="y_exp of the adaptation trial (adapt_search's best)")
    ap.add_argument("--val", type=int, default=5000, help="validation samples of adapt_search")
    ap.add_argument("--lava-samples", type=int, default=200)
    ap.add_argument("--parts", default="three_way,adapt_search,adaptation,lava")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--update", action="store_true",
                    help="keep the other parts of an existing --out file (rerun some --parts)")
    ap.add_argument("--out", type=Path, default=RESULTS / "onchip_fashion.json")
    args = ap.parse_args(argv)
    import torch
    torch.set_num_threads(args.threads)
    ds = load_dataset(args.dataset)
    parts = args.parts.split(",")
    res = {"dataset": ds.name, "command": "benchmarks/onchip_fashion.py " + " ".join(
        sys.argv[1:] if argv is None else argv), "machine": machine(), "pid": os.getpid()}
    if args.update and args.out.exists():
        import json
        old = json.loads(args.out.read_text())
        res.update({k: old[k] for k in ("three_way", "adapt_search", "adaptation", "lava")
                    if k in old and k not in parts})
        res["command"] += f" (other parts: {old.get('command')})"
    t0 = time.perf_counter()
    for part, fn in (("three_way", three_way), ("adapt_search", adapt_search),
                     ("adaptation", adaptation), ("lava", lava_speed)):
        if part in parts:
            res[part] = fn(ds, args)
            if part == "adapt_search" and (res[part]["best"]["eta"], res[part]["best"]["y_exp"]) \
                    != (args.adapt_eta, args.adapt_y_exp):
                print(f"  note: the search's best ({res[part]['best']}) is not --adapt-eta / "
                      "--adapt-y-exp", flush=True)
            res["total_seconds"] = time.perf_counter() - t0
            write_json(args.out, res)          # a partial result survives an interruption
    plot(res, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')} "
          f"({res['total_seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
