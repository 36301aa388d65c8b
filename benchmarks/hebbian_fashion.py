"""Hebbian FFA (seed 003) on the full Fashion-MNIST (60k / 10k): analog FFA vs Hebbian batched
(K = 50) vs Hebbian online (K = 1), the paper's architecture.

One layer of 200 LIF neurons (decay 0.85, threshold 2), the symmetric probability P_sym, LI
output trace, eligibility trace tau_e = 0.9, 100-bit label codes (p = 0.3), rate-coded input
(gain 0.25), T = 23 steps with updates at t >= 16 (``HebbianConfig`` defaults). Each run trains
``--epochs`` epochs; per epoch it logs wall time and accuracy on the first ``--curve-samples``
test samples; the final accuracy is on the whole test set (label sweep, argmax P_sym). The
online epochs are full passes over all 60k training samples, so their wall times are the
"online epoch over 60k samples" measurement. The JSON is rewritten after every run, so a
partial result survives an interrupted benchmark. Usage::

    nice -n 10 .venv/bin/python benchmarks/hebbian_fashion.py --epochs 10
    .venv/bin/python benchmarks/hebbian_fashion.py --dataset digits --epochs 10

Writes ``benchmarks/results/hebbian_<dataset>.json`` (``hebbian_fashion.json`` for
Fashion-MNIST).

Tuned comparison (issue 5, "online within 1.5 pp of analog"): the online settings were chosen on
a held-out part of the TRAINING set with ``benchmarks/hebbian_tune.py`` (rate-coding gain 0.5,
online lr 1.0, LI trace tau 0.9; the rest as above), then run once on the test set; analog FFA
is run with its original settings and at gain 0.5 and Adam lr 0.003 too, and the summary
compares the tuned online runs with the BEST analog run of the same schedule. The runs can be
trained in parallel processes into separate files and merged with ``--combine``::

    .venv/bin/python benchmarks/hebbian_fashion.py --epochs 10 --runs analog,analog_decay \
        --gain 0.5 --suffix _gain0.5 --out runs/htune/final_analog.json
    .venv/bin/python benchmarks/hebbian_fashion.py --epochs 10 --runs analog,analog_decay \
        --analog-lr 0.003 --suffix _lr0.003 --out runs/htune/final_analog_lr003.json
    .venv/bin/python benchmarks/hebbian_fashion.py --epochs 10 --runs online_decay --gain 0.5 \
        --trace-tau 0.9 --online-lr 1.0 --suffix _tuned --out runs/htune/final_online_decay.json
    .venv/bin/python benchmarks/hebbian_fashion.py --epochs 10 --runs online --gain 0.5 \
        --trace-tau 0.9 --online-lr 1.0 --suffix _tuned --out runs/htune/final_online.json
    .venv/bin/python benchmarks/hebbian_fashion.py --combine runs/htune/final_*.json \
        --tuning R1=runs/htune/t1.jsonl ... --headline online_decay_tuned_vs_best_analog_decay
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

from ff_neuro.data import load_dataset  # noqa: E402
from ff_neuro.fileio import write_json  # noqa: E402
from ff_neuro.training.hebbian import (AnalogFFA, HebbianConfig, HebbianTrainer,  # noqa: E402
                                       hoyer_index, separability_index)

#: the paper's MNIST numbers (seed 003, 10 epochs, P_sym): analog / batched / online
PAPER_MNIST = {"analog": 0.9510, "batched": 0.9272, "online": 0.9436}


def latent_stats(model, ds, n: int) -> dict:
    """Hoyer sparsity and 5-NN separability of the hidden activity with the true label
    embedded, on the first ``n`` test samples."""
    x, y = ds.x_test[:n], ds.y_test[:n]
    lat = np.asarray(model.latents(x, y), dtype=np.float64)
    return {"hoyer": float(np.nanmean(hoyer_index(lat))),
            "separability_5nn": separability_index(lat, y, k=5), "samples": int(n)}


def deployed_accuracy(tr: HebbianTrainer, ds, model_path: Optional[Path] = None) -> dict:
    """Full-test accuracy of the EXPORTED network (label sweep from spike counts): the float
    backend for each readout, and the default readout quantized on the fixed-point emulator
    (what Lava fixed_pt runs). The trainer's own accuracy scores traces instead."""
    from ff_neuro.model import save_model
    from ff_neuro.pipeline import quantize_for_dataset
    from ff_neuro.quantization import QuantizationError
    from ff_neuro.run import get_backend, label_sweep
    out = {}
    net = tr.network()
    readouts = ["symmetric", "positive"] if tr.cfg.probability == "symmetric" else ["all"]
    for r in readouts:
        out[f"float_{r}"] = label_sweep(get_backend("float"), tr.network(readout=r), ds.x_test,
                                        chunk=500).accuracy(ds.y_test)
    try:
        qnet, rep = quantize_for_dataset(net, ds)
    except QuantizationError as exc:  # record it; the run's other results are kept
        out["quantization_error"] = str(exc)
        print("deployed", out, flush=True)
        return out
    out[f"quantized_emulator_{readouts[0]}"] = label_sweep(
        get_backend("emulator"), qnet, ds.x_test, chunk=500).accuracy(ds.y_test)
    out["quantization_ok"] = bool(rep.ok)
    if model_path is not None:
        save_model(qnet, model_path)
        out["model"] = str(model_path)
    print("deployed", out, flush=True)
    return out


def run_hebbian(name: str, cfg: HebbianConfig, ds, epochs: int, curve_n: int,
                latent_n: int, decay_to: Optional[float] = None,
                model_path: Optional[Path] = None) -> dict:
    cfg = dataclasses.replace(cfg, epochs=epochs, lr_decay_to=decay_to)
    tr = HebbianTrainer(cfg, ds)
    curve = []
    for e in range(epochs):
        st = tr.train_epoch(e)
        t = time.perf_counter()
        acc = tr.accuracy(ds.x_test[:curve_n], ds.y_test[:curve_n])
        curve.append({"epoch": e + 1, "lr": tr.lr, "train_seconds": st["seconds"],
                      "load_average_1min": os.getloadavg()[0],
                      "samples_per_second": st["samples_per_second"],
                      "p_pos": st["p_pos"], "p_neg": st["p_neg"],
                      "pn_accuracy": st["pn_accuracy"], "rate": st["rate"],
                      f"test_accuracy_first_{curve_n}": acc,
                      "eval_seconds": time.perf_counter() - t})
        print(name, curve[-1], flush=True)
    t = time.perf_counter()
    acc = tr.accuracy(ds.x_test, ds.y_test)
    eval_s = time.perf_counter() - t
    return {"algorithm": name, "epochs": epochs, "test_accuracy": acc,
            "test_eval_seconds": eval_s, "deployed": deployed_accuracy(tr, ds, model_path),
            "epoch_seconds": [c["train_seconds"] for c in curve],
            "mean_epoch_seconds": float(np.mean([c["train_seconds"] for c in curve])),
            "curve": curve, "latents": latent_stats(tr, ds, latent_n),
            "config": cfg.to_dict()}


def run_analog(cfg: HebbianConfig, ds, epochs: int, curve_n: int, latent_n: int,
               decay_to: Optional[float] = None) -> dict:
    cfg = dataclasses.replace(cfg, epochs=epochs, lr_decay_to=decay_to)
    acfg = dataclasses.replace(cfg, epochs=1)
    a = AnalogFFA(acfg, ds)
    curve = []
    for e in range(epochs):
        for g in a.opt.param_groups:  # the Hebbian runs' linear decay, on Adam's rate
            g["lr"] = cfg.analog_lr * cfg.lr_factor(e)
        # one fit() per epoch (fit seeds its shuffle from (seed, 0)): a new seed per epoch
        acfg.seed = cfg.seed + 1000 * e
        t = time.perf_counter()
        a.fit()
        secs = time.perf_counter() - t
        acc = a.accuracy(ds.x_test[:curve_n], ds.y_test[:curve_n])
        curve.append({"epoch": e + 1, "lr": a.opt.param_groups[0]["lr"],
                      "train_seconds": secs, "loss": a.history["loss"][-1],
                      f"test_accuracy_first_{curve_n}": acc})
        print("analog", curve[-1], flush=True)
    acfg.seed = cfg.seed
    return {"algorithm": "analog", "epochs": epochs,
            "test_accuracy": a.accuracy(ds.x_test, ds.y_test),
            "epoch_seconds": [c["train_seconds"] for c in curve],
            "mean_epoch_seconds": float(np.mean([c["train_seconds"] for c in curve])),
            "curve": curve, "latents": latent_stats(a, ds, latent_n),
            "config": {**cfg.to_dict(), "note": "AnalogFFA: ReLU on expected rates, Adam "
                       "(analog_lr), batch_size samples per step; one fit() per epoch, the "
                       "epoch's shuffle seeded by seed + 1000 epoch"}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="fashion-mnist")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--runs", default="analog,batched,online",
                    help="comma-separated subset of analog,batched,online (in this order)")
    ap.add_argument("--online-lr", type=float, default=2.0)
    ap.add_argument("--batched-lr", type=float, default=50.0,
                    help="eta of the K = 50 run (updates are the mean over the batch)")
    ap.add_argument("--batch-size", type=int, default=50)
    ap.add_argument("--analog-lr", type=float, default=0.01)
    ap.add_argument("--curve-samples", type=int, default=2000)
    ap.add_argument("--latent-samples", type=int, default=2000)
    ap.add_argument("--lr-decay-to", type=float, default=0.1,
                    help="runs named *_decay: learning rate decays linearly to this fraction")
    ap.add_argument("--gain", type=float, default=0.25,
                    help="rate-coding gain of every run (analog: input = gain * pixel)")
    ap.add_argument("--trace-tau", type=float, default=0.85, help="LI output-trace decay")
    ap.add_argument("--tau-e", type=float, default=0.9, help="eligibility-trace decay")
    ap.add_argument("--weight-decay", type=float, default=0.0,
                    help="Hebbian runs: W <- (1 - eta lambda) W after every presentation")
    ap.add_argument("--hidden", type=int, default=200, help="neurons of the one layer")
    ap.add_argument("--seed", type=int, default=0,
                    help="initial weights, polarities, negative labels and the label code")
    ap.add_argument("--suffix", default="",
                    help="appended to the run names in the JSON (e.g. _tuned)")
    ap.add_argument("--combine", nargs="*", default=None,
                    help="no training: add the runs of these result files to --out (merge)")
    ap.add_argument("--note", default=None, help="stored with the runs of this command")
    ap.add_argument("--tuning", nargs="*", default=None,
                    help="with --combine: JSON-lines logs of benchmarks/hebbian_tune.py, "
                         "stored as the tuning record (LABEL=FILE or FILE)")
    ap.add_argument("--tuning-note", default=None,
                    help="with --tuning: protocol / conclusions stored with the tuning record")
    ap.add_argument("--headline", default=None,
                    help="with --combine: the summary key of the headline comparison")
    ap.add_argument("--headline-variant", default=None,
                    help="with --combine: the tuned online run quoted as the result (its "
                    "_seed* repeats are reported beside it)")
    ap.add_argument("--merge", action="store_true",
                    help="add the runs to an existing result file instead of replacing it")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    if args.combine is not None:
        combine(args)
        return
    ds = load_dataset(args.dataset)
    stem = "fashion" if args.dataset == "fashion-mnist" else args.dataset
    out = Path(args.out) if args.out else RESULTS / f"hebbian_{stem}.json"
    curve_n = min(args.curve_samples, ds.x_test.shape[0])
    latent_n = min(args.latent_samples, ds.x_test.shape[0])
    res = {"dataset": ds.name, "n_train": int(ds.x_train.shape[0]),
           "n_test": int(ds.x_test.shape[0]), "epochs_requested": args.epochs,
           "architecture": f"one layer of {args.hidden} LIF, P_sym, LI trace, T = 23 (updates "
                           f"t >= 16), 100-bit label code p = 0.3, rate coding gain {args.gain}",
           "command": " ".join(sys.argv), "runs": {}, "machine": machine(),
           "paper_mnist_10_epochs": PAPER_MNIST}
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    for r in runs:
        if r.removesuffix("_decay") not in ("analog", "batched", "online"):
            raise SystemExit(f"unknown run {r!r}")
    if args.merge and out.exists():
        old = json.loads(out.read_text())
        res["runs"] = old.get("runs", {})
        res["earlier_commands"] = old.get("earlier_commands", []) + [old.get("command")]
    t_all = time.perf_counter()
    for r in runs:
        kind = r.removesuffix("_decay")
        decay = args.lr_decay_to if r.endswith("_decay") else None
        common = dict(gain=args.gain, trace_tau=args.trace_tau, tau_e=args.tau_e,
                      hidden=(args.hidden,), seed=args.seed)
        key = r + args.suffix
        model_path = Path("runs") / f"hebbian_{stem}_{key}.q.h5"
        if kind == "analog":
            cfg = HebbianConfig(batch_size=args.batch_size, analog_lr=args.analog_lr, **common)
            res["runs"][key] = run_analog(cfg, ds, args.epochs, curve_n, latent_n, decay)
        elif kind == "batched":
            cfg = HebbianConfig(batch_size=args.batch_size, lr=args.batched_lr,
                                weight_decay=args.weight_decay, **common)
            res["runs"][key] = run_hebbian(key, cfg, ds, args.epochs, curve_n, latent_n, decay,
                                           model_path)
        else:
            cfg = HebbianConfig(batch_size=1, lr=args.online_lr,
                                weight_decay=args.weight_decay, **common)
            res["runs"][key] = run_hebbian(key, cfg, ds, args.epochs, curve_n, latent_n, decay,
                                           model_path)
        res["runs"][key]["command"] = res["command"]
        if args.note:
            res["runs"][key]["note"] = args.note
        res["total_seconds"] = time.perf_counter() - t_all
        summarize(res)
        write_json(out, res)
        print(f"wrote {out}", flush=True)


def combine(args) -> None:
    """Merge the runs of other result files (e.g. runs trained in parallel processes) into
    ``--out``; runs of the same name are replaced."""
    out = Path(args.out) if args.out else RESULTS / "hebbian_fashion.json"
    res = json.loads(out.read_text())
    for f in args.combine:
        other = json.loads(Path(f).read_text())
        res["runs"].update(other["runs"])
        res.setdefault("earlier_commands", []).append(other.get("command"))
    if args.tuning:
        rounds = res.setdefault("tuning", {}).setdefault("rounds", {})
        for item in args.tuning:
            label, _, f = item.rpartition("=")
            recs = [json.loads(line) for line in Path(f).read_text().splitlines() if line]
            recs.sort(key=lambda r: -r["val_accuracy"])
            rounds[label or Path(f).stem] = recs
        res["tuning"]["protocol"] = (
            "benchmarks/hebbian_tune.py: the first 55,000 Fashion-MNIST training samples are "
            "the tuning-train split, the last 5,000 the validation split (val_accuracy: label "
            "sweep on the first n_val of them); each trial trains `epochs` epochs on the first "
            "n_train samples of a seeded permutation of the tuning-train split; the test set "
            "is not used. Records sorted by val_accuracy, best first.")
        if args.tuning_note:
            res["tuning"]["note"] = args.tuning_note
    res["machine"] = machine()
    summarize(res)
    if args.headline:
        res["summary"]["headline"] = args.headline
    if args.headline_variant:
        table = res["summary"]["online_decay_tuned_variants_vs_best_analog_decay"]
        name = args.headline_variant
        if name not in table["variants"]:
            raise SystemExit(f"--headline-variant: no tuned online run {name!r}")
        seeds = {k: v for k, v in table["variants"].items() if k.startswith(name + "_seed")}
        runs = [table["variants"][name], *seeds.values()]
        res["summary"]["headline_variant"] = {
            "run": name, **table["variants"][name], "repeats": seeds,
            "best_analog_run": table["best_analog_run"],
            "best_analog_accuracy": table["best_analog_accuracy"],
            "mean_gap_pp_over_seeds": float(np.mean([r["gap_pp"] for r in runs])),
            "all_seeds_within_1p5_pp": all(r["within_1p5_pp"] for r in runs)}
    write_json(out, res)
    print(f"wrote {out}", flush=True)


def deployed_gaps(run: dict, analog_accuracy: float) -> dict:
    """Gap in pp from ``analog_accuracy`` to each accuracy of the run's exported network (spike
    counts; float per readout and quantized)."""
    return {k: 100 * (analog_accuracy - v) for k, v in run.get("deployed", {}).items()
            if isinstance(v, float)}


def summarize(res: dict) -> None:
    runs = res["runs"]
    s = {k: {"test_accuracy": v["test_accuracy"], "epochs": v["epochs"],
             "mean_epoch_seconds": v["mean_epoch_seconds"]} for k, v in runs.items()}
    for sfx in ("", "_decay"):
        if "analog" + sfx in runs and "online" + sfx in runs:
            gap = runs["analog" + sfx]["test_accuracy"] - runs["online" + sfx]["test_accuracy"]
            s[f"online{sfx}_gap_to_analog{sfx}_pp"] = 100 * gap
            s[f"online{sfx}_within_1p5_pp"] = bool(gap <= 0.015)
    # tuned online runs (suffix "_tuned"): gap to the BEST analog run of the same schedule
    # (with / without the lr decay), whatever its gain; the headline comparison
    for sfx in ("", "_decay"):
        on = runs.get("online" + sfx + "_tuned")
        analogs = {k: v["test_accuracy"] for k, v in runs.items()
                   if k.startswith("analog") and ("_decay" in k) == (sfx == "_decay")}
        if on is None or not analogs:
            continue
        best = max(analogs, key=analogs.get)
        gap = analogs[best] - on["test_accuracy"]
        s[f"online{sfx}_tuned_vs_best_analog{sfx}"] = {
            "online_run": "online" + sfx + "_tuned", "online_accuracy": on["test_accuracy"],
            "best_analog_run": best, "best_analog_accuracy": analogs[best],
            "analog_runs_compared": analogs, "gap_pp": 100 * gap,
            "within_1p5_pp": bool(gap <= 0.015)}
        if "deployed" in on:
            s[f"online{sfx}_tuned_vs_best_analog{sfx}"]["deployed_gap_pp"] = deployed_gaps(
                on, analogs[best])
        if sfx == "_decay":
            # every tuned online variant (another lr or decay target) against the same analog
            s["online_decay_tuned_variants_vs_best_analog_decay"] = {
                "best_analog_run": best, "best_analog_accuracy": analogs[best],
                "variants": {k: {"lr": v["config"].get("lr"),
                                 "lr_decay_to": v["config"].get("lr_decay_to"),
                                 "hidden": v["config"].get("hidden"),
                                 "online_accuracy": v["test_accuracy"],
                                 "gap_pp": 100 * (analogs[best] - v["test_accuracy"]),
                                 "within_1p5_pp": bool(analogs[best] - v["test_accuracy"]
                                                       <= 0.015),
                                 "deployed_gap_pp": deployed_gaps(v, analogs[best]),
                                 "max_epoch_seconds": float(max(v["epoch_seconds"]))}
                             for k, v in runs.items() if k.startswith("online_decay_tuned")}}
        if "analog" + sfx in runs:  # the analog run with the original (untuned) settings
            s[f"online{sfx}_tuned_gap_to_analog{sfx}_original_settings_pp"] = 100 * (
                runs["analog" + sfx]["test_accuracy"] - on["test_accuracy"])
    if "online" in runs:
        ep = runs["online"]["epoch_seconds"]
        s["online_epoch_seconds_max"] = float(max(ep))
        s["online_epoch_within_180_s"] = bool(max(ep) <= 180.0)
        s["online_samples_per_epoch"] = res["n_train"]
    res["summary"] = s


if __name__ == "__main__":
    main()
