"""BPTT-trained snnTorch network on Fashion-MNIST, deployed with ff-neuro.

Trains ``nn.Sequential(Linear(784, H), Leaky, Linear(H, 10), Leaky)`` (snnTorch ``Leaky``,
beta 0.9, reset to zero, threshold 1) with backprop through time on rate-coded inputs
(``torch.bernoulli(x)`` at each of ``T`` steps) and ``snntorch.functional.mse_count_loss``
(target rates 0.8 for the true class, 0.2 for the others: outputs that do not saturate, so the
spike counts rarely tie) on the output spikes, Adam, batch 128, for at most ``--minutes`` of
wall time (one CPU thread: faster than two for these batches; the last epoch may stop
part-way). Then it measures:

* the test accuracy of the snnTorch module itself (float32, its own Bernoulli draws);
* the network imported with ``ff_neuro.from_snntorch`` and quantized to Loihi fixed point
  (``ff_neuro.quantize``, calibrated on training samples): test accuracy on the ``float``
  backend (float64) and on the ``emulator`` (fixed point), full 10k test set, and the
  agreement of their predictions;
* a parity spot check on the first ``--lava-samples`` test samples: float, Lava floating_pt,
  emulator and Lava fixed_pt, spike by spike (emulator vs lava-fixed must be exact);
* energy per inference from the emulator's activity on the full test set, on the ``loihi``,
  ``loihi2`` and ``lemaire2022-45nm`` profiles;
* the wall time of each stage, the machine and its load average.

Writes ``benchmarks/results/bptt_fashion.json``. Usage::

    .venv/bin/python benchmarks/bptt_fashion.py [--minutes 5] [--hidden 256] [--steps 25]
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

PROFILES = ("loihi", "loihi2", "lemaire2022-45nm")


def build(hidden: int):
    import snntorch as snn
    import torch.nn as nn
    return nn.Sequential(
        nn.Linear(784, hidden),
        snn.Leaky(beta=0.9, reset_mechanism="zero", init_hidden=True),
        nn.Linear(hidden, 10),
        snn.Leaky(beta=0.9, reset_mechanism="zero", init_hidden=True))


def forward(module, x, steps: int):
    """Output spikes (T, B, 10) of ``module`` for images ``x`` (B, 784) in [0, 1], rate coded
    with a fresh ``torch.bernoulli`` draw at every step; hidden states reset first."""
    import torch
    from snntorch import utils
    utils.reset(module)
    return torch.stack([module(torch.bernoulli(x)) for _ in range(steps)])


def train(module, ds, args) -> dict:
    import torch
    import snntorch.functional as SF
    from tqdm import tqdm
    x = torch.from_numpy(np.ascontiguousarray(ds.x_train, dtype=np.float32))
    y = torch.from_numpy(np.asarray(ds.y_train, dtype=np.int64))
    n = x.shape[0]
    per_epoch = (n + args.batch - 1) // args.batch
    opt = torch.optim.Adam(module.parameters(), lr=args.lr, betas=(0.9, 0.999))
    loss_fn = SF.ce_rate_loss() if args.loss == "ce-rate" else \
        SF.mse_count_loss(correct_rate=0.8, incorrect_rate=0.2)
    budget = 60.0 * args.minutes
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    batches, epochs, stop = 0, [], False
    module.train()
    for epoch in range(args.max_epochs):
        perm = torch.randperm(n, generator=gen)
        run_loss = run_acc = 0.0
        seen = 0
        te = time.perf_counter()
        bar = tqdm(range(per_epoch), desc=f"epoch {epoch + 1}", unit="batch", leave=True,
                   mininterval=2.0)
        for b in bar:
            idx = perm[b * args.batch:(b + 1) * args.batch]
            xb, yb = x[idx], y[idx]
            spk = forward(module, xb, args.steps)
            loss = loss_fn(spk, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            batches += 1
            k = xb.shape[0]
            seen += k
            run_loss += float(loss) * k
            run_acc += float((spk.sum(0).argmax(1) == yb).float().sum())
            if b % 20 == 0:
                bar.set_postfix(loss=f"{run_loss / seen:.3f}", acc=f"{run_acc / seen:.3f}")
            if time.perf_counter() - t0 >= budget:
                stop = True
                break
        bar.close()
        epochs.append({"epoch": epoch + 1, "batches": b + 1, "seconds": time.perf_counter() - te,
                       "train_loss": run_loss / seen, "train_accuracy": run_acc / seen})
        print(f"epoch {epoch + 1}: {b + 1}/{per_epoch} batches, loss {run_loss / seen:.4f}, "
              f"train accuracy {run_acc / seen:.4f} (running, own draws), "
              f"{epochs[-1]['seconds']:.0f} s", flush=True)
        if stop:
            break
    return {"seconds": time.perf_counter() - t0, "batches": batches,
            "batches_per_epoch": per_epoch, "epochs_done": batches / per_epoch,
            "full_epochs": sum(e["batches"] == per_epoch for e in epochs), "epochs": epochs,
            "stopped_by_time_budget": stop}


def snntorch_accuracy(module, x: np.ndarray, y: np.ndarray, steps: int, chunk: int = 1000):
    """Test accuracy of the snnTorch module itself (float32, its own input draws): the class
    whose output neuron spikes most (ties to the lowest index, as ff-neuro's readout)."""
    import torch
    module.eval()
    preds, spikes = [], 0.0
    with torch.no_grad():
        for s in range(0, x.shape[0], chunk):
            xb = torch.from_numpy(np.ascontiguousarray(x[s:s + chunk], dtype=np.float32))
            counts = forward(module, xb, steps).sum(0)
            spikes += float(counts.sum())
            preds.append(counts.argmax(1).numpy())
    pred = np.concatenate(preds)
    return float(np.mean(pred == np.asarray(y))), spikes / x.shape[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=5.0,
                    help="training wall-time budget in minutes (default 5); the epoch running "
                         "when it is spent stops part-way")
    ap.add_argument("--max-epochs", type=int, default=100, help="upper bound on epochs")
    ap.add_argument("--hidden", type=int, default=256, help="hidden LIF neurons H (256)")
    ap.add_argument("--steps", type=int, default=25, help="time steps T (25)")
    ap.add_argument("--lr", type=float, default=2e-3, help="Adam learning rate (2e-3)")
    ap.add_argument("--batch", type=int, default=128, help="batch size (128)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (1)")
    ap.add_argument("--loss", choices=("mse-count", "ce-rate"), default="mse-count",
                    help="mse-count: snntorch.functional.mse_count_loss(0.8, 0.2); ce-rate: "
                         "ce_rate_loss (saturates the outputs: many tied counts)")
    ap.add_argument("--lava-samples", type=int, default=200,
                    help="test samples of the parity check with Lava (200; ~5 ms per step "
                         "per sample and Lava backend); 0 skips it")
    ap.add_argument("--test-samples", type=int, default=None,
                    help="first N test samples only (default: all 10k; for smoke tests)")
    ap.add_argument("--data-dir", default=None, help="Fashion-MNIST IDX folder")
    ap.add_argument("--out", default=str(RESULTS / "bptt_fashion.json"))
    args = ap.parse_args()

    import torch
    import ff_neuro as ffn
    from ff_neuro.encoding import network_inputs
    from ff_neuro.energy.activity import measure_activity
    from ff_neuro.parity import run_parity
    from ff_neuro.run import READOUT_SEED_OFFSET, get_backend, infer

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    timing = {}
    command = " ".join([".venv/bin/python", "benchmarks/bptt_fashion.py"]
                       + [shlex.quote(a) for a in sys.argv[1:]])
    result = {"machine": machine(), "command": command, "dataset": "fashion-mnist"}

    t = time.perf_counter()
    ds = load_dataset("fashion-mnist", data_dir=args.data_dir)
    x_test, y_test = ds.x_test, ds.y_test
    if args.test_samples:
        x_test, y_test = x_test[:args.test_samples], y_test[:args.test_samples]
    timing["load_data_s"] = time.perf_counter() - t

    module = build(args.hidden)
    tr = train(module, ds, args)
    timing["train_s"] = tr["seconds"]
    result["config"] = {
        "network": f"784-{args.hidden}-10, snn.Leaky(beta=0.9, threshold=1, "
                   "reset_mechanism='zero') x 2",
        "hidden": args.hidden, "time_steps": args.steps, "encoding": "rate (Bernoulli per step)",
        "loss": ("snntorch.functional.ce_rate_loss()" if args.loss == "ce-rate" else
                 "snntorch.functional.mse_count_loss(correct_rate=0.8, incorrect_rate=0.2)"),
        "optimizer": "Adam", "lr": args.lr,
        "batch": args.batch, "minutes": args.minutes, "epochs_done": tr["epochs_done"],
        "full_epochs": tr["full_epochs"], "batches": tr["batches"], "seed": args.seed,
        "torch_threads": args.threads, "torch": torch.__version__,
        "snntorch": __import__("snntorch").__version__}
    result["training"] = tr
    result["training_seconds"] = tr["seconds"]

    t = time.perf_counter()
    torch.manual_seed(args.seed + 1)
    acc_torch, torch_out_spikes = snntorch_accuracy(module, x_test, y_test, args.steps)
    timing["snntorch_test_s"] = time.perf_counter() - t
    print(f"snnTorch module (float32, own draws): test accuracy {acc_torch:.4f} "
          f"({timing['snntorch_test_s']:.0f} s)", flush=True)

    t = time.perf_counter()
    net = ffn.from_snntorch(module, input_shape=(784,), time_steps=args.steps,
                            name="bptt_fashion")
    calib = network_inputs(net, ds.x_train[:512], seed_offset=READOUT_SEED_OFFSET,
                           sample_ids=np.arange(512))
    qnet, qreport = ffn.quantize(net, calibration_inputs=calib)
    timing["convert_quantize_s"] = time.perf_counter() - t
    result["quantization"] = qreport.to_dict()
    print(qreport.format_table(), flush=True)

    t = time.perf_counter()
    infer(get_backend("emulator"), qnet, x_test[:20])      # compile the emulator's kernels
    timing["emulator_jit_s"] = time.perf_counter() - t
    t = time.perf_counter()
    r_float = infer(get_backend("float"), qnet, x_test)
    timing["ff_neuro_float_test_s"] = time.perf_counter() - t
    t = time.perf_counter()
    r_emu = infer(get_backend("emulator"), qnet, x_test, keep_counts=True)
    timing["emulator_test_s"] = time.perf_counter() - t
    acc_float, acc_emu = r_float.accuracy(y_test), r_emu.accuracy(y_test)
    agree = float(np.mean(r_float.predictions == r_emu.predictions))
    result["accuracy"] = {
        "test_samples": int(x_test.shape[0]),
        "snntorch_float32": acc_torch,
        "ff_neuro_float": acc_float,
        "emulator": acc_emu,
        "emulator_minus_float_pp": 100 * (acc_emu - acc_float),
        "float_vs_emulator_prediction_agreement": agree,
        "note": "snntorch_float32: the trained module, its own torch.bernoulli input draws; "
                "ff_neuro_float (float64) and emulator (Loihi fixed point) share ff-neuro's "
                "counter-based input spikes, so they differ from snnTorch only by the draws"}
    result["spikes_per_inference"] = {
        "snntorch_output_layer": torch_out_spikes,
        "ff_neuro_float_layers": r_float.layer_spikes_per_run(),
        "emulator_layers": r_emu.layer_spikes_per_run(),
        "emulator_input": r_emu.input_events_per_run}
    print(f"ff-neuro float: {acc_float:.4f} ({timing['ff_neuro_float_test_s']:.0f} s), "
          f"emulator: {acc_emu:.4f} ({timing['emulator_test_s']:.0f} s), "
          f"prediction agreement {agree:.4f}", flush=True)

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
    write_json(args.out, result)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
