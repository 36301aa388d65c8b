"""On-chip Hebbian FF learning trial on the Lava CPU simulator (floating_pt or fixed_pt).

Streams ``--samples`` training samples through one Lava run (no recompile), reads the weights
every ``--every`` samples, scores them on held-out test samples (learning curve), and runs the
host implementation of the Hebbian rule on the same samples for comparison. ``--mode
fixed_pt`` also reports the deviation from the float rule on the same spikes (weight and update
errors, saturated weights, third factors rounded to zero or saturated) and the accuracy the
float rule reaches. Writes ``benchmarks/results/onchip_learning_<dataset>.json`` (floating_pt)
or ``onchip_learning_<dataset>_fixed_pt.json``::

    .venv/bin/python benchmarks/onchip_learning.py
    .venv/bin/python benchmarks/onchip_learning.py --mode fixed_pt
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

from ff_neuro.data import load_dataset  # noqa: E402
from ff_neuro.training.onchip import learning_trial  # noqa: E402
from ff_neuro.fileio import write_json  # noqa: E402
from ff_neuro.training.hebbian import HebbianConfig  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default="digits")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--eval-samples", type=int, default=300)
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--eta", type=float, default=0.5)
    ap.add_argument("--mode", choices=["floating_pt", "fixed_pt"], default="floating_pt")
    ap.add_argument("--y-exp", type=int, default=-6, help="fixed_pt: third-factor unit 2^e")
    ap.add_argument("--weight-scale", type=float, default=None,
                    help="fixed_pt: integer weight units per float unit [default: automatic]")
    args = ap.parse_args()
    ds = load_dataset(args.dataset)
    res = learning_trial(ds, args.samples, eval_samples=args.eval_samples, every=args.every,
                         cfg=HebbianConfig(hidden=(args.hidden,)), eta=args.eta,
                         mode=args.mode, y_exp=args.y_exp, weight_scale=args.weight_scale)
    res["machine"] = machine()
    res["dataset"] = args.dataset
    res["command"] = " ".join(sys.argv)
    suffix = "" if args.mode == "floating_pt" else "_fixed_pt"
    out = RESULTS / f"onchip_learning_{args.dataset}{suffix}.json"
    write_json(out, res)
    print({k: res[k] for k in ("samples_learned", "final_accuracy", "samples_per_s",
                               "ms_per_step")}, res.get("host_rule"), f"wrote {out}")
    if "fixed_point" in res:
        fx = res["fixed_point"]
        print("float reference:", fx["float_reference"]["accuracy"], "deviation:",
              {k: v for k, v in fx["deviation"].items() if k != "notes"})


if __name__ == "__main__":
    main()
