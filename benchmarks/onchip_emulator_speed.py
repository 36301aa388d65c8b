"""Speed of the on-chip learning emulator (``ff-neuro learn --on emulator``) against Lava,
measured in one run on the same trials.

For each mode (fixed_pt, floating_pt) the same digits trial (``--samples`` samples, one
HebbianLIF layer of ``--hidden``) runs on Lava (its own processes; ``run_s`` of the worker,
compile excluded) and on the emulator (pinned to one core, warm: best of ``--repeats`` after a
first call that loads the compiled kernels); the results must agree (fixed_pt: the same
``weights_sha256``; floating_pt: max |dW|). The same comparison on ``--long-lava-samples``
Fashion-MNIST samples, then the emulator alone learns ``--long-samples`` Fashion-MNIST
samples in both modes (the issue's 60,000-sample trial; the learning run, and the input
spike generation separately). Writes ``benchmarks/results/onchip_emulator_speed.json``::

    .venv/bin/python benchmarks/onchip_emulator_speed.py
    .venv/bin/python benchmarks/onchip_emulator_speed.py --samples 100 --long-samples 0  # quick
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

from ff_neuro.data import load_dataset  # noqa: E402
from ff_neuro.fileio import write_json  # noqa: E402
from ff_neuro.training.hebbian import HebbianConfig  # noqa: E402
from ff_neuro.training.onchip import LearningTrial, weights_sha256  # noqa: E402


@contextlib.contextmanager
def one_core():
    """Run the block on one core (Lava runs outside it, with every core it wants)."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    cores = os.sched_getaffinity(0)
    core = min(cores)
    os.sched_setaffinity(0, {core})
    try:
        yield core
    finally:
        os.sched_setaffinity(0, cores)


def quiet(msg: str) -> None:
    pass


def emulate(trial: LearningTrial, repeats: int):
    """Warm emulator runs on one core: (best result, the run times)."""
    with one_core():
        trial.run("emulator", log=quiet)                     # loads the compiled kernels
        runs = [trial.run("emulator", log=quiet) for _ in range(repeats)]
    best = min(runs, key=lambda r: r[2]["run_s"])
    return best, [r[2]["run_s"] for r in runs]


def compare(ds, mode: str, samples: int, args) -> dict:
    trial = LearningTrial(ds, samples, every=min(100, samples), eval_samples=100,
                          cfg=HebbianConfig(hidden=(args.hidden,)), mode=mode, eta=args.eta,
                          y_exp=args.y_exp)
    print(f"{ds.name} {mode}: {samples} samples on Lava ...", flush=True)
    w_l, _, st_l = trial.run("lava", timeout_s=7200, log=quiet)
    print(f"  Lava {st_l['samples_per_s']:.2f} samples/s; the emulator ...", flush=True)
    (w_e, _, st_e), times = emulate(trial, args.repeats)
    if mode == "fixed_pt":
        equal = {"weights_sha256_lava": weights_sha256(w_l),
                 "weights_sha256_emulator": weights_sha256(w_e),
                 "equal": bool(np.array_equal(w_l, w_e))}
    else:
        diff = float(np.abs(np.asarray(w_l) - w_e).max())
        equal = {"max_abs_weight_difference": diff, "equal_to_1e-9": diff <= 1e-9}
    ratio = st_e["samples_per_s"] / st_l["samples_per_s"]
    print(f"  emulator {st_e['samples_per_s']:.0f} samples/s (one core): {ratio:.0f}x Lava; "
          f"{equal}", flush=True)
    return {"dataset": ds.name, "mode": mode, "samples": samples, "hidden": args.hidden,
            "n_in": int(trial.w0.shape[1]), "steps": st_e["steps"],
            "lava": {"run_s": st_l["run_s"], "compile_and_run_s": st_l["compile_and_run_s"],
                     "samples_per_s": st_l["samples_per_s"],
                     "ms_per_step": st_l["ms_per_step"]},
            "emulator": {"run_s": st_e["run_s"], "run_s_all": times,
                         "samples_per_s": st_e["samples_per_s"],
                         "us_per_step": 1e6 * st_e["run_s"] / st_e["steps"], "cores": 1},
            "emulator_vs_lava_samples_per_s": ratio, "agreement": equal}


def long_run(ds, mode: str, samples: int, args) -> dict:
    t = time.perf_counter()
    trial = LearningTrial(ds, samples, every=max(1, samples // 10), eval_samples=100,
                          cfg=HebbianConfig(hidden=(args.hidden,)), mode=mode, eta=args.eta,
                          y_exp=args.y_exp)
    prep = time.perf_counter() - t
    print(f"{ds.name} {mode}: {samples} samples on the emulator (inputs {prep:.0f} s) ...",
          flush=True)
    with one_core():
        _, _, st = trial.run("emulator", log=quiet)
    print(f"  {st['run_s']:.1f} s, {st['samples_per_s']:.0f} samples/s", flush=True)
    return {"dataset": ds.name, "mode": mode, "samples": samples, "hidden": args.hidden,
            "n_in": int(trial.w0.shape[1]), "steps": st["steps"],
            "emulator_run_s": st["run_s"], "samples_per_s": st["samples_per_s"],
            "input_spikes_s": prep, "cores": 1, "under_10_minutes": st["run_s"] < 600}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--samples", type=int, default=300, help="samples of the Lava comparison")
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--eta", type=float, default=0.5)
    ap.add_argument("--y-exp", type=int, default=-6)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--long-dataset", default="fashion-mnist")
    ap.add_argument("--long-lava-samples", type=int, default=200,
                    help="Fashion-MNIST samples of the Lava comparison (0: none)")
    ap.add_argument("--long-samples", type=int, default=60000,
                    help="Fashion-MNIST samples the emulator learns alone (0: none)")
    args = ap.parse_args()
    ds = load_dataset(args.dataset)
    out = {"command": " ".join(sys.argv), "machine": machine(),
           "note": "Lava and the emulator learn the same trial in one run of this script; "
                   "samples_per_s = samples / run_s of the learning run (Lava: the worker's "
                   "run loop, its compile excluded, on as many cores as its processes use; "
                   "the emulator: warm, pinned to one core, best of --repeats). The machine "
                   "is shared: absolute numbers are noisy, the ratio is from one run.",
           "comparisons": [compare(ds, m, args.samples, args)
                           for m in ("fixed_pt", "floating_pt")], "long": []}
    if args.long_lava_samples or args.long_samples:
        long_ds = load_dataset(args.long_dataset)
        if args.long_lava_samples:
            out["comparisons"].append(compare(long_ds, "fixed_pt", args.long_lava_samples,
                                              args))
        if args.long_samples:
            out["long"] = [long_run(long_ds, m, args.long_samples, args)
                           for m in ("fixed_pt", "floating_pt")]
    path = RESULTS / "onchip_emulator_speed.json"
    write_json(path, out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
