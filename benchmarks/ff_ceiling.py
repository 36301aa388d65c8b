"""Where the spiking FF MLP's Fashion-MNIST accuracy stops, and why: two non-spiking references
trained under ff_tune.py's protocol (first 55k training images to train, last 5k to validate,
the test set unused, a cosine schedule sized to a time budget on one core).

* ``analog_ff``: the same network and objective as the spiking recipe (one hidden layer with
  the label appended as one-hot inputs, goodness = mean over neurons of rate^2, softmax of
  ``alpha * goodness`` over the true label and K random wrong ones, label sweep at test time),
  with the LIF spike rate replaced by its analog limit ``clip(W x, 0, 1)`` (an IF neuron's rate
  with threshold 1 as T grows). The gap to the spiking trial is what spikes and surrogate
  gradients cost; the rest is the FF model class.
* ``backprop_mlp``: an ordinary 784-H-10 ReLU MLP trained end to end with cross-entropy: what
  the same width reaches without FF's constraints.

Both are plain torch written here (no library trains an analog FF network). Usage::

    .venv/bin/python benchmarks/ff_ceiling.py --model analog_ff --minutes 12 \
        --out benchmarks/results/ff_ceiling_analog_ff.json
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks._common import machine, tuning_dataset  # noqa: E402
from ff_neuro.fileio import write_json  # noqa: E402
from ff_neuro.training.ff import softmax_candidates  # noqa: E402


def analog_goodness(image_current: torch.Tensor, w_label: torch.Tensor,
                    labels: torch.Tensor) -> torch.Tensor:
    """Goodness ``(B,)``: mean over neurons of clip(z, 0, 1)^2 with ``z = W_img x + W_lab[:, y]``
    (the label appended as one-hot inputs is one weight column; ``image_current`` = W_img x)."""
    z = image_current + w_label.T[labels]
    return torch.clamp(z, 0.0, 1.0).pow(2).mean(dim=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=["analog_ff", "backprop_mlp"], required=True)
    ap.add_argument("--hidden", type=int, default=2000)
    ap.add_argument("--minutes", type=float, default=12.0, help="training budget")
    ap.add_argument("--alpha", type=float, default=60.0, help="analog_ff: softmax sharpness")
    ap.add_argument("--negatives", type=int, default=3, help="analog_ff: wrong labels (K)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    ds = tuning_dataset()
    x = torch.from_numpy(ds.x_train.astype(np.float32))
    y = torch.from_numpy(ds.y_train.astype(np.int64))
    xv = torch.from_numpy(ds.x_test.astype(np.float32))
    yv = ds.y_test.astype(np.int64)
    C, n_feat = ds.n_classes, x.shape[1]
    if args.model == "analog_ff":
        w = torch.nn.Parameter(torch.randn(args.hidden, n_feat + C) / math.sqrt(n_feat))
        params = [w]
    else:
        mlp = torch.nn.Sequential(torch.nn.Linear(n_feat, args.hidden), torch.nn.ReLU(),
                                  torch.nn.Linear(args.hidden, C))
        params = list(mlp.parameters())
    opt = torch.optim.Adam(params, lr=args.lr)

    def step(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        if args.model == "backprop_mlp":
            return F.cross_entropy(mlp(xb), yb)
        b = xb.shape[0]
        cand, target = softmax_candidates(yb.numpy(), C, args.negatives, rng)  # as the trainer
        cand = torch.from_numpy(np.ascontiguousarray(cand.T)).reshape(-1)  # candidate-major
        a = xb @ w[:, :n_feat].T  # one image matmul shared by the K + 1 candidates
        g = analog_goodness(a.repeat(cand.shape[0] // b, 1), w[:, n_feat:], cand)
        return F.cross_entropy(args.alpha * g.view(-1, b).T, target)

    @torch.no_grad()
    def val_accuracy() -> float:
        if args.model == "backprop_mlp":
            pred = mlp(xv).argmax(1).numpy()
        else:
            a = xv @ w[:, :n_feat].T
            g = torch.stack([analog_goodness(a, w[:, n_feat:], torch.full((xv.shape[0],), c))
                             for c in range(C)], dim=1)
            pred = g.argmax(1).numpy()
        return float(np.mean(pred == yv))

    t0 = time.perf_counter()
    epochs, epoch, curve = None, 0, []
    while epochs is None or epoch < epochs:
        lr = args.lr if epochs is None else args.lr * 0.5 * (1 + math.cos(math.pi * epoch / epochs))
        for group in opt.param_groups:
            group["lr"] = lr
        perm = torch.from_numpy(rng.permutation(x.shape[0]))
        losses = []
        for i in range(0, x.shape[0], args.batch_size):
            idx = perm[i:i + args.batch_size]
            loss = step(x[idx], y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss))
        epoch += 1
        if epochs is None:  # size the cosine schedule from the first epoch's time
            epochs = max(2, int(args.minutes * 60 / (time.perf_counter() - t0)))
        if epoch % 10 == 0 or epoch == epochs:
            curve.append({"epoch": epoch, "loss": float(np.mean(losses)),
                          "val_accuracy": val_accuracy()})
            print(json.dumps(curve[-1]), flush=True)
    result = {"model": args.model, "hidden": args.hidden, "epochs": epochs,
              "train_minutes": (time.perf_counter() - t0) / 60, "n_val": int(len(yv)),
              "val_accuracy": val_accuracy(), "config": vars(args), "curve": curve,
              "protocol": "ff_tune.py's split (55k train / last 5k of the training set to "
                          "validate), cosine schedule sized to --minutes, one torch thread",
              "machine": machine()}
    write_json(args.out, result)
    print(json.dumps({k: result[k] for k in ("model", "epochs", "val_accuracy")}))


if __name__ == "__main__":
    main()
