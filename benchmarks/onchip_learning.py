"""On-chip Hebbian FF learning trial on the Lava CPU simulator (floating_pt).

Streams ``--samples`` training samples through one Lava run (no recompile), reads the weights
every ``--every`` samples, scores them on held-out test samples (learning curve), and runs the
host implementation of the Hebbian rule on the same samples for comparison.
Writes ``benchmarks/results/onchip_learning_<dataset>.json``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

from ff_neuro.data import load_dataset  # noqa: E402
from ff_neuro.export.lava_learning import learning_trial  # noqa: E402
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
    args = ap.parse_args()
    ds = load_dataset(args.dataset)
    res = learning_trial(ds, args.samples, eval_samples=args.eval_samples, every=args.every,
                         cfg=HebbianConfig(hidden=(args.hidden,)), eta=args.eta)
    res["machine"] = machine()
    res["dataset"] = args.dataset
    out = RESULTS / f"onchip_learning_{args.dataset}.json"
    write_json(out, res)
    print({k: res[k] for k in ("samples_learned", "final_accuracy", "samples_per_s",
                               "ms_per_step")}, res.get("host_rule"), f"wrote {out}")


if __name__ == "__main__":
    main()
