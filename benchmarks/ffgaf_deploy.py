"""Deployment of a trained FFGAF conv network: quantize, emulate, run on Lava, cost.

    python benchmarks/ffgaf_deploy.py MODEL.h5 [--lava-samples 50] [--test-samples N]

Loads a conv network model file (float, e.g. from ``ff-neuro train --algo ffgaf``),
quantizes it (calibrated on training images), evaluates float (torch) and the bit-exact
fixed-point emulator on the Fashion-MNIST test set (all 10,000 by default), runs the first
``--lava-samples`` test images on Lava fixed_pt (NetX conv export, through the project's
launcher) and compares every spike with the emulator, and computes the energy table from
exact conv operation counts of the emulator run. Writes
``benchmarks/results/ffgaf_deploy.json``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from _common import RESULTS, machine  # noqa: E402

from ff_neuro.config import QuantConfig  # noqa: E402
from ff_neuro.data import load_dataset  # noqa: E402
from ff_neuro.fileio import write_json  # noqa: E402
from ff_neuro.model import load_model  # noqa: E402


def main(argv=None) -> dict:
    import lava.magma.core.process.process  # noqa: F401  (fork start method first)
    from ff_neuro.energy import csnn_row, format_ffgaf_table, measure_activity
    from ff_neuro.model import Conv2d
    from ff_neuro.pipeline import quantize_for_dataset
    from ff_neuro.run import get_backend, one_pass

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--lava-samples", type=int, default=50)
    ap.add_argument("--test-samples", type=int, default=None, help="[default: all]")
    ap.add_argument("--lava-chunk", type=int, default=10, help="samples per Lava run")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--out", default=str(RESULTS / "ffgaf_deploy.json"))
    ap.add_argument("--timeout", type=float, default=900.0)
    args = ap.parse_args(argv)

    net = load_model(args.model)
    if not any(isinstance(l.synapse, Conv2d) for l in net.layers):
        raise SystemExit(f"{args.model} is not a conv network model file")
    ds = load_dataset(args.dataset or net.dataset.get("name", "fashion-mnist"))
    x_all, y_all = ds.x_test, ds.y_test
    if args.test_samples:
        x_all, y_all = x_all[:args.test_samples], y_all[:args.test_samples]
    import hashlib
    sha = hashlib.sha256(Path(args.model).read_bytes()).hexdigest()
    out = {"model": str(args.model), "model_sha256": sha,
           "model_training": {k: net.training.get(k) for k in ("algorithm", "config")
                              if k in net.training},
           "dataset": ds.name, "test_samples": int(len(y_all)),
           "time_steps": net.time_steps, "shapes": [list(s) for s in net.shapes],
           "machine": machine(), "device": "cpu"}
    t0 = time.perf_counter()
    qnet, rep = quantize_for_dataset(net, ds, QuantConfig())
    out["quantization"] = rep.to_dict()
    out["quantize_s"] = time.perf_counter() - t0
    print(rep.format_table(), flush=True)

    t0 = time.perf_counter()
    rf = one_pass(get_backend("float"), qnet, x_all, chunk=args.batch_size)
    out["float_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    emu = get_backend("emulator")
    rq = one_pass(emu, qnet, x_all, chunk=args.batch_size)
    out["emulator_s"] = time.perf_counter() - t0
    pf, pq = rf.predictions, rq.predictions
    acc_f, acc_q = float(np.mean(pf == y_all)), float(np.mean(pq == y_all))
    out.update(test_accuracy_float=acc_f, test_accuracy_quantized=acc_q,
               accuracy_drop_pp=100.0 * (acc_f - acc_q),
               prediction_agreement_float_vs_emulator=float(np.mean(pf == pq)))
    print(f"float {acc_f:.4f}  emulator {acc_q:.4f}  drop {100 * (acc_f - acc_q):.2f} pp", flush=True)

    n = min(args.lava_samples, len(y_all))
    if n > 0:
        xl = x_all[:n]
        e = one_pass(emu, qnet, xl, keep_spikes=True).spikes
        lava_be = get_backend("lava-fixed", timeout_s=args.timeout, chunk=args.lava_chunk)
        lr = one_pass(lava_be, qnet, xl, keep_spikes=True)
        per_layer = [int((a != b).sum()) for a, b in zip(e, lr.spikes)]
        total = sum(int(a.size) for a in e)
        out["lava"] = {"samples": n, "spike_agreement": 1.0 - sum(per_layer) / total,
                       "mismatches_per_layer": per_layer, "spike_bits_compared": total,
                       "spikes_per_layer": [int(a.sum()) for a in e],
                       "accuracy_lava_fixed_pt": lr.accuracy(y_all[:n]),
                       "accuracy_emulator_same_samples": float(np.mean(pq[:n] == y_all[:n])),
                       "stats": lava_be.stats.to_dict()}
        print(f"Lava fixed_pt on {n} samples: spike agreement {out['lava']['spike_agreement']:.6f} "
              f"(mismatches {per_layer}), {lava_be.stats.ms_per_step:.1f} ms/step", flush=True)

    act = measure_activity(qnet, rq, backend="emulator")
    energy = act.report("ffgaf-table2")
    row = csnn_row(qnet, act, energy)
    out["energy"] = {**energy.to_dict(), "measured": act.to_dict(), "csnn_row": row}
    print(energy.format_table() + "\n\n" + format_ffgaf_table([row], decimals=4), flush=True)
    write_json(args.out, out)
    print(f"wrote {args.out}")
    return out


if __name__ == "__main__":
    main()
