"""Lava runs spread over the cores: ``ff-neuro parity`` on the digits with one Lava worker and
with one per core, the same report, and the time each takes.

Trains the demo's network (``ff-neuro demo``'s configuration, fp32, ``--epochs``), quantizes
it, and runs ``run_parity`` on ``--samples`` test samples (a label sweep: x10 runs) with the
backends lava-float and lava-fixed, once with ``workers=1`` and once with
``workers=cores``, and the cores the Lava processes keep busy (their CPU time over the wall
time). Writes ``benchmarks/results/lava_workers.json``. Usage::

    .venv/bin/python benchmarks/lava_workers.py [--samples 200] [--epochs 10]
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

from ff_neuro.fileio import write_json  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--out", default=str(RESULTS / "lava_workers.json"))
    args = ap.parse_args()
    import ff_neuro as ffn
    from ff_neuro.parity import run_parity
    from ff_neuro.run.lava.backend import default_workers
    ds = ffn.load_dataset("digits")
    net = ffn.train(ds, epochs=args.epochs, matmul_precision="fp32")
    qnet, _ = ffn.quantize(net)
    x, y = ds.x_test[:args.samples], ds.y_test[:args.samples]
    cores = default_workers()
    reports, seconds = {}, {}
    busy = {}
    for w in sorted({1, cores}):
        t = time.perf_counter()
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        reports[w] = run_parity(qnet, x, y, ("lava-float", "lava-fixed"),
                                timeout_s=3000, workers=w)
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds[w] = time.perf_counter() - t
        # the Lava processes' CPU time over the wall time: the cores they keep busy
        busy[w] = (c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime) / seconds[w]
        print(f"workers={w}: {seconds[w]:.1f} s; lava-fixed {reports[w].seconds['lava-fixed']:.1f}"
              f" s, lava-float {reports[w].seconds['lava-float']:.1f} s", flush=True)
    one, many = reports[1].to_dict(), reports[cores].to_dict()
    same = one["pairs"] == many["pairs"] and one["accuracy"] == many["accuracy"]
    out = {"machine": machine(), "cores": cores, "samples": args.samples,
           "runs_per_sample": qnet.runs_per_inference(),
           "seconds_total": {str(w): s for w, s in seconds.items()},
           "seconds_per_backend": {str(w): r.seconds for w, r in reports.items()},
           "lava_speedup": {b: reports[1].seconds[b] / reports[cores].seconds[b]
                            for b in ("lava-fixed", "lava-float")},
           "cores_busy": {str(w): b for w, b in busy.items()},
           "same_report": bool(same), "accuracy": one["accuracy"],
           "pairs": {k: {"spike_agreement": v["spike_agreement"],
                         "prediction_agreement": v["prediction_agreement"]}
                     for k, v in one["pairs"].items()},
           "load_average_1min_at_end": os.getloadavg()[0],
           "command": f".venv/bin/python benchmarks/lava_workers.py --samples {args.samples} "
                      f"--epochs {args.epochs}"}
    write_json(args.out, out)
    print(f"same report: {same}; Lava speed-up {out['lava_speedup']}; wrote {args.out}")


if __name__ == "__main__":
    main()
