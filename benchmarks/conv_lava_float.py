"""Conv parity with all four backends on a trained FFGAF conv network (float, emulator, Lava
fixed_pt, Lava floating_pt = Lava ``Conv`` + ``LIFReset`` floating_pt processes).

    python benchmarks/conv_lava_float.py MODEL.q.h5 [--samples 50]

MODEL must be quantized (``ff-neuro quantize``). Runs the first ``--samples`` test images
through :func:`ff_neuro.parity.run_parity` and writes every pair's spike agreement,
mismatches per layer, accuracies and Lava timings to ``benchmarks/results/conv_lava_float.json``.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, machine  # noqa: E402


def main(argv=None) -> dict:
    import lava.magma.core.process.process  # noqa: F401  (fork start method first)
    from ff_neuro.model import Conv2d
    from ff_neuro.parity import run_parity
    from ff_neuro.data import load_dataset
    from ff_neuro.fileio import write_json
    from ff_neuro.model import load_model

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--out", default=str(RESULTS / "conv_lava_float.json"))
    args = ap.parse_args(argv)

    net = load_model(args.model)
    if not any(isinstance(l.synapse, Conv2d) for l in net.layers) or net.quantized is None:
        raise SystemExit(f"{args.model} is not a quantized conv network model file")
    ds = load_dataset(args.dataset or net.dataset.get("name", "fashion-mnist"))
    x, y = ds.x_test[:args.samples], ds.y_test[:args.samples]
    t = time.perf_counter()
    rep = run_parity(net, x, y, ["float", "emulator", "lava-fixed", "lava-float"],
                     timeout_s=args.timeout)
    d, text = rep.to_dict(), rep.format()
    for pr in d["pairs"].values():
        pr.pop("mismatches_per_layer_step", None)
    out = {"model": args.model, "model_sha256": hashlib.sha256(Path(args.model).read_bytes())
           .hexdigest(), "dataset": ds.name, "shapes": [list(s) for s in net.shapes],
           "time_steps": net.time_steps, "machine": machine(), "seconds": time.perf_counter() - t,
           **d}
    write_json(args.out, out)
    print(text)
    print(f"wrote {args.out}")
    return out


if __name__ == "__main__":
    main()
