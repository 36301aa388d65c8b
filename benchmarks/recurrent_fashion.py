"""The networks the field trains with BPTT, on Fashion-MNIST, deployed with ff-neuro: a recurrent
current-based network read row by row, and a convolutional network with average pooling, both
with snnTorch's default reset by subtraction.

``--model rsynaptic``: ``Linear(28, H) -> snn.RSynaptic(linear_features=H) -> Linear(H, 10)``,
the image presented one row per step (28 steps of 28 graded inputs: ff-neuro's ``sequence``
encoding), read by the summed output current (cross-entropy on it); snnTorch's defaults
(``reset_mechanism="subtract"``, ``reset_delay=True``) with learned per-neuron ``alpha`` and
``beta``.

``--model csnn``: ``Conv2d(1, 12, 5) -> snn.Leaky -> AvgPool2d(2) -> Conv2d(12, 32, 5) ->
snn.Leaky -> AvgPool2d(2) -> Flatten -> Linear(512, 10) -> snn.Leaky``, the image as a graded
input at every step (direct current), spike-count readout (``mse_count_loss``); reset by
subtraction (snnTorch's default). The pooling folds into the next synapse.

Both train with Adam for at most ``--minutes`` of wall time, then the script measures:

* the accuracy of the snnTorch module itself (float32) and of the network imported with
  ``ff_neuro.from_snntorch`` (float64, spike for spike the module's on the same input) and
  quantized to Loihi fixed point (emulator), on the full 10k test set, and their agreement;
* a parity check on the first ``--lava-samples`` test samples: float, Lava floating_pt, the
  emulator and Lava fixed_pt, spike by spike (emulator vs Lava fixed_pt must be exact);
* energy per inference from the emulator's activity on the ``loihi`` and ``loihi2`` profiles;
* the wall time of each stage, the machine and its load.

Writes ``benchmarks/results/recurrent_fashion_<model>.json``. Usage::

    .venv/bin/python benchmarks/recurrent_fashion.py --model rsynaptic [--minutes 10]
    .venv/bin/python benchmarks/recurrent_fashion.py --model csnn [--minutes 15]
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, machine  # noqa: E402

from ff_neuro.data import load_dataset  # noqa: E402
from ff_neuro.fileio import write_json  # noqa: E402

PROFILES = ("loihi", "loihi2")


def build(model: str, hidden: int):
    import snntorch as snn
    import torch
    import torch.nn as nn
    if model == "rsynaptic":
        return nn.Sequential(
            nn.Linear(28, hidden),
            snn.RSynaptic(alpha=torch.full((hidden,), 0.8), beta=torch.full((hidden,), 0.9),
                          linear_features=hidden, learn_alpha=True, learn_beta=True,
                          init_hidden=True),
            nn.Linear(hidden, 10))
    return nn.Sequential(
        nn.Conv2d(1, 12, 5), snn.Leaky(beta=0.9, init_hidden=True), nn.AvgPool2d(2),
        nn.Conv2d(12, 32, 5), snn.Leaky(beta=0.9, init_hidden=True), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10), snn.Leaky(beta=0.9, init_hidden=True))


def frames(model: str, x, steps: int, levels: int):
    """The input at every step, as ff-neuro's encoder sends it: rows (sequence) or the whole
    image (graded), quantized to ``levels``."""
    import torch
    q = torch.round(x * levels) / levels
    if model == "rsynaptic":
        return q.reshape(-1, 28, 28).permute(1, 0, 2)           # (28, B, 28)
    return q.reshape(-1, 1, 28, 28).unsqueeze(0).expand(steps, -1, -1, -1, -1)


def forward(module, inp):
    """Outputs (T, B, 10) of ``module`` on per-step inputs ``inp`` (T, B, ...), states reset."""
    import torch
    from snntorch import utils
    utils.reset(module)
    for m in module.modules():                  # RSynaptic.reset_hidden keeps its last spikes
        if hasattr(m, "spk") and isinstance(m.spk, torch.Tensor):
            m.spk = torch.zeros(0)
    return torch.stack([module(inp[t]) for t in range(inp.shape[0])])


def loss_and_scores(model: str, out, y):
    import torch
    import snntorch.functional as SF
    if model == "rsynaptic":
        scores = out.sum(0)
        return torch.nn.functional.cross_entropy(scores, y), scores
    return SF.mse_count_loss(correct_rate=0.8, incorrect_rate=0.2)(out, y), out.sum(0)


def train(module, ds, args) -> dict:
    import torch
    from tqdm import tqdm
    x = torch.from_numpy(np.ascontiguousarray(ds.x_train, dtype=np.float32))
    y = torch.from_numpy(np.asarray(ds.y_train, dtype=np.int64))
    n = x.shape[0]
    per_epoch = (n + args.batch - 1) // args.batch
    opt = torch.optim.Adam(module.parameters(), lr=args.lr)
    budget = 60.0 * args.minutes
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    batches, epochs, stop = 0, [], False
    for epoch in range(args.max_epochs):
        perm = torch.randperm(n, generator=gen)
        run_loss = run_acc = 0.0
        seen = 0
        te = time.perf_counter()
        bar = tqdm(range(per_epoch), desc=f"epoch {epoch + 1}", unit="batch", mininterval=2.0)
        for b in bar:
            idx = perm[b * args.batch:(b + 1) * args.batch]
            out = forward(module, frames(args.model, x[idx], args.steps, args.levels))
            loss, scores = loss_and_scores(args.model, out, y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            batches += 1
            seen += len(idx)
            run_loss += float(loss) * len(idx)
            run_acc += float((scores.argmax(1) == y[idx]).float().sum())
            if b % 20 == 0:
                bar.set_postfix(loss=f"{run_loss / seen:.3f}", acc=f"{run_acc / seen:.3f}")
            if time.perf_counter() - t0 >= budget:
                stop = True
                break
        bar.close()
        epochs.append({"epoch": epoch + 1, "batches": b + 1, "seconds": time.perf_counter() - te,
                       "train_loss": run_loss / seen, "train_accuracy": run_acc / seen})
        if stop:
            break
    return {"seconds": time.perf_counter() - t0, "batches": batches,
            "epochs_done": batches / per_epoch, "epochs": epochs, "stopped_by_time_budget": stop}


def module_accuracy(module, model, x, y, steps, levels, chunk=1000) -> float:
    import torch
    preds = []
    with torch.no_grad():
        for s in range(0, x.shape[0], chunk):
            xb = torch.from_numpy(np.ascontiguousarray(x[s:s + chunk], dtype=np.float32))
            _, scores = loss_and_scores(model, forward(module, frames(model, xb, steps, levels)),
                                        torch.zeros(len(xb), dtype=torch.int64))
            preds.append(scores.argmax(1).numpy())
    return float(np.mean(np.concatenate(preds) == np.asarray(y)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=("rsynaptic", "csnn"), default="rsynaptic")
    ap.add_argument("--minutes", type=float, default=10.0, help="training wall-time budget")
    ap.add_argument("--max-epochs", type=int, default=100)
    ap.add_argument("--hidden", type=int, default=128, help="rsynaptic: recurrent neurons")
    ap.add_argument("--steps", type=int, default=10, help="csnn: time steps (rsynaptic: 28 rows)")
    ap.add_argument("--levels", type=int, default=15, help="input levels (graded messages)")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (1: faster than two for these small batches)")
    ap.add_argument("--lava-samples", type=int, default=200)
    ap.add_argument("--test-samples", type=int, default=None)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.model == "rsynaptic":
        args.steps = 28

    import torch
    import ff_neuro as ffn
    from ff_neuro.encoding import network_inputs
    from ff_neuro.energy.activity import measure_activity
    from ff_neuro.parity import run_parity
    from ff_neuro.run import READOUT_SEED_OFFSET, get_backend, infer

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out_path = args.out or str(RESULTS / f"recurrent_fashion_{args.model}.json")
    command = " ".join([".venv/bin/python", "benchmarks/recurrent_fashion.py"]
                       + [shlex.quote(a) for a in sys.argv[1:]])
    result = {"machine": machine(), "command": command, "dataset": "fashion-mnist",
              "model": args.model}
    timing = {}
    ds = load_dataset("fashion-mnist", data_dir=args.data_dir)
    x_test, y_test = ds.x_test, ds.y_test
    if args.test_samples:
        x_test, y_test = x_test[:args.test_samples], y_test[:args.test_samples]

    module = build(args.model, args.hidden)
    tr = train(module, ds, args)
    timing["train_s"] = tr["seconds"]
    result["training"] = tr
    result["config"] = {"hidden": args.hidden, "time_steps": args.steps, "levels": args.levels,
                        "lr": args.lr, "batch": args.batch, "minutes": args.minutes,
                        "seed": args.seed, "torch": torch.__version__,
                        "snntorch": __import__("snntorch").__version__,
                        "network": repr(module)}

    t = time.perf_counter()
    acc_module = module_accuracy(module, args.model, x_test, y_test, args.steps, args.levels)
    timing["module_test_s"] = time.perf_counter() - t
    print(f"snnTorch module (float32): {acc_module:.4f}", flush=True)

    t = time.perf_counter()
    encoding = "sequence" if args.model == "rsynaptic" else "graded"
    shape = (28,) if args.model == "rsynaptic" else (1, 28, 28)
    net = ffn.from_snntorch(module, input_shape=shape, time_steps=args.steps,
                            encoding=encoding, levels=args.levels, dataset=ds,
                            name=f"recurrent_fashion_{args.model}")
    calib = network_inputs(net, ds.x_train[:512], seed_offset=READOUT_SEED_OFFSET,
                           sample_ids=np.arange(512))
    qnet, qreport = ffn.quantize(net, calibration_inputs=calib)
    timing["convert_quantize_s"] = time.perf_counter() - t
    result["layers"] = [{"kind": l.kind, "n_out": l.n_out, "neuron": {
        k: (v.tolist() if isinstance(v, np.ndarray) and v.size < 2 else
            (f"per-neuron, {v.size} values" if isinstance(v, np.ndarray) else v))
        for k, v in l.neuron.to_dict().items()},
        "recurrent": l.recurrent is not None,
        "recurrent_weight_exp": None if l.recurrent is None else l.recurrent.weight_exp}
        for l in qnet.quantized]
    result["quantization"] = qreport.to_dict()
    print(qreport.format_table(), flush=True)

    infer(get_backend("emulator"), qnet, x_test[:20])
    t = time.perf_counter()
    r_float = infer(get_backend("float"), qnet, x_test)
    timing["float_test_s"] = time.perf_counter() - t
    t = time.perf_counter()
    r_emu = infer(get_backend("emulator"), qnet, x_test, keep_counts=True)
    timing["emulator_test_s"] = time.perf_counter() - t
    acc_f, acc_e = r_float.accuracy(y_test), r_emu.accuracy(y_test)
    result["accuracy"] = {
        "test_samples": int(x_test.shape[0]), "snntorch_float32": acc_module,
        "ff_neuro_float": acc_f, "emulator": acc_e,
        "emulator_minus_float_pp": 100 * (acc_e - acc_f),
        "float_vs_emulator_prediction_agreement":
            float(np.mean(r_float.predictions == r_emu.predictions))}
    print(result["accuracy"], flush=True)

    t = time.perf_counter()
    act = measure_activity(qnet, r_emu, backend="emulator")
    energy = {"activity": act.to_dict()}
    for p in PROFILES:
        rep = act.report(p)
        energy[p] = rep.to_dict()
        energy[p]["total_uJ"] = rep.total_mJ * 1e3
        print(rep.format_table(), flush=True)
    timing["energy_s"] = time.perf_counter() - t
    result["energy"] = energy

    if args.lava_samples > 0:
        n = args.lava_samples
        t = time.perf_counter()
        rep = run_parity(qnet, x_test[:n], y_test[:n],
                         backends=("float", "lava-float", "emulator", "lava-fixed"),
                         timeout_s=3000, log=lambda m: print(m, flush=True))
        timing["parity_s"] = time.perf_counter() - t
        result["parity"] = rep.to_dict()
        exact = rep.pairs.get("emulator_vs_lava-fixed")
        result["parity"]["emulator_vs_lava_fixed_exact"] = \
            None if exact is None else bool(exact.mismatches.sum() == 0)
        print(rep.format(), flush=True)
    result["timing_s"] = timing
    result["loadavg"] = list(os.getloadavg())
    write_json(out_path, result)
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
