"""Deployment fidelity on Fashion-MNIST: parity of every backend and emulator vs Lava speed.

Trains (or loads) a 784-500-500 spiking FF model, quantizes it, and measures:
* emulator vs Lava fixed_pt spike agreement on every layer and step, float vs Lava floating_pt,
  float vs emulator (quantization), on ``--parity-samples`` test samples x 10 labels;
* emulator and Lava throughput (samples/s, label sweep) side by side, and Lava ms per step;
* float and emulator accuracy on the full 10k test set.

Writes ``benchmarks/results/fidelity_fashion.json``. Usage::

    .venv/bin/python benchmarks/fidelity_fashion.py [--model runs/fmnist.h5] [--epochs 5]
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

from ff_neuro.config import FFTrainConfig  # noqa: E402
from ff_neuro.data import load_dataset  # noqa: E402
from ff_neuro.fileio import write_json  # noqa: E402
from ff_neuro.model import load_model, save_model  # noqa: E402
from ff_neuro.parity import run_parity  # noqa: E402
from ff_neuro.pipeline import quantize_for_dataset  # noqa: E402
from ff_neuro.run import get_backend, label_sweep  # noqa: E402
from ff_neuro.training import FFTrainer  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="runs/fmnist_784_500_500.h5",
                    help="model file: loaded if it exists, else trained and saved here")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--parity-samples", type=int, default=200)
    ap.add_argument("--emulator-repeats", type=int, default=3,
                    help="full-test passes of the compiled emulator; its speed is their median")
    ap.add_argument("--out", default=str(RESULTS / "fidelity_fashion.json"))
    args = ap.parse_args()

    ds = load_dataset("fashion-mnist", data_dir=args.data_dir)
    result = {"machine": machine(), "dataset": "fashion-mnist"}
    model = Path(args.model)
    if model.exists():
        net = load_model(model)
        print(f"loaded {model}", flush=True)
    else:
        cfg = FFTrainConfig(hidden=(500, 500), time_steps=10, batch_size=256, epochs=args.epochs,
                            lr=2e-3)
        t = time.perf_counter()
        net = FFTrainer(cfg, ds).fit(progress=True)
        result["train_minutes"] = (time.perf_counter() - t) / 60
        print(f"trained in {result['train_minutes']:.1f} min", flush=True)
    if net.quantized is None:
        net, qrep = quantize_for_dataset(net, ds)
        result["quantization"] = qrep.to_dict()
        save_model(net, model)
    result["model"] = {"file": str(model), "sizes": net.sizes,
                       "time_steps": net.time_steps, "encoding": net.encoder.kind,
                       "epochs": net.training.get("config", {}).get("epochs")}

    # Full test set: float vs emulator accuracy (the emulator's compiled kernels are built and
    # cached on a first small call, timed separately).
    t = time.perf_counter()
    label_sweep(get_backend("emulator"), net, ds.x_test[:20])
    result["emulator_jit_seconds"] = time.perf_counter() - t
    acc = {}
    for name, be in (("float", get_backend("float")), ("emulator", get_backend("emulator")),
                     ("emulator_numpy_reference", get_backend("emulator", engine="numpy"))):
        passes = []     # the compiled engine: median of --emulator-repeats full-test passes
        for _ in range(args.emulator_repeats if name == "emulator" else 1):
            t = time.perf_counter()
            r = label_sweep(be, net, ds.x_test, chunk=500)
            passes.append(time.perf_counter() - t)
        secs = float(np.median(passes))
        acc[name] = {"accuracy": r.accuracy(ds.y_test), "seconds": secs,
                     "samples_per_s": ds.x_test.shape[0] / secs}
        if len(passes) > 1:
            acc[name]["seconds_per_pass"] = passes
        print(f"{name}: full test accuracy {acc[name]['accuracy']:.4f} ({secs:.0f} s)",
              flush=True)
    result["full_test"] = {"samples": int(ds.x_test.shape[0]), **acc,
                           "emulator_minus_float_pp":
                               100 * (acc["emulator"]["accuracy"] - acc["float"]["accuracy"]),
                           "engines_agree": acc["emulator"]["accuracy"]
                           == acc["emulator_numpy_reference"]["accuracy"]}

    # Parity on the first N test samples, every backend, one Lava compile per mode.
    n = args.parity_samples
    rep = run_parity(net, ds.x_test[:n], ds.y_test[:n], timeout_s=3000, log=print)
    result["parity"] = rep.to_dict()
    rep.plot(Path(args.out).with_suffix(".png"))
    emu_sps = acc["emulator"]["samples_per_s"]
    lava_sps = n / rep.seconds["lava-fixed"]
    result["throughput"] = {
        "unit": "test samples per second, label sweep (10 runs of T steps per sample)",
        "emulator_samples_per_s": emu_sps,
        "lava_fixed_pt_samples_per_s": lava_sps,
        "lava_floating_pt_samples_per_s": n / rep.seconds["lava-float"],
        "emulator_over_lava_fixed_pt": emu_sps / lava_sps,
        "emulator_numpy_reference_samples_per_s":
            acc["emulator_numpy_reference"]["samples_per_s"],
        "load_average_1min_at_end": os.getloadavg()[0],
        "note": "emulator = compiled (numba) engine; the CPU's load average is recorded because "
                "other jobs sharing the 2 cores slow both sides",
        "lava_ms_per_step": rep.lava_ms_per_step,
        "lava_compiles_per_evaluation": 1,
    }
    write_json(args.out, result)
    print(rep.format())
    print(f"emulator {emu_sps:.1f} samples/s, Lava fixed_pt {lava_sps:.3f} samples/s: "
          f"{emu_sps / lava_sps:.0f}x; wrote {args.out}")


if __name__ == "__main__":
    main()
