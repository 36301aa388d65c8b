"""Regenerate the lava-dl NetX fixtures of this folder (see README.md).

Trains two small SLAYER networks of CUBA neurons (``lava.lib.dl.slayer.block.cuba``) on
scikit-learn's 8x8 digits, rate-coded for T = 16 steps, with slayer's spike-rate loss, and
exports each with lava-dl's own block ``export_hdf5`` (the tutorial ``Network.export_hdf5``
loop):

* ``digits_cuba.net``: Dense 64 -> 32 -> 10;
* ``digits_conv.net``: Input (1, 8, 8) -> Conv 1 -> 6 (3x3, pad 1) -> Conv 6 -> 8 (3x3,
  stride 2, pad 1) -> Flatten -> Dense 128 -> 10;
* ``conv_pool.net``: an untrained Input -> Conv -> Pool -> Flatten -> Dense network, only to
  show what lava-dl writes for ``slayer.block.cuba.Pool`` (NetX cannot load it).

Then runs the two trained files with lava-dl's ``netx.hdf5.Network`` on Lava's CPU simulator
(``Loihi2SimCfg``, ``fixed_pt``) for 20 test digits, in a child process with a time limit,
recording every layer with ``lava.proc.io.sink.RingBuffer``, and saves the inputs and those
raw recordings in ``expected.npz``.

Run from the repository root with the project's Python 3.10 environment::

    .venv/bin/python tests/data/lavadl/make_fixture.py

Lava timing of the recordings (``reset_interval = T``, ``reset_offset = 1``): the source sends
input row ``j*T + r`` (sample ``j``, step ``r``) at time step ``j*T + r + 1``; every synapse
adds one step, so layer ``k`` (0-based, flatten not counted) integrates it at time step
``j*T + k + 2 + r`` and its sink stores that in row ``j*T + k + 1 + r``. NetX resets layer
``k`` at time steps ``= k + 2 (mod T)``, i.e. right before it integrates step 0 of a sample.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
T = 16
N_EXPECTED = 20
SEED = 0
#: CUBA parameters (slayer units, scale 1 << 6): vThMant = 80, iDecay = 1024, vDecay = 123
NEURON = dict(threshold=1.25, current_decay=0.25, voltage_decay=0.03, tau_grad=0.03,
              scale_grad=3, requires_grad=False)
LAVA_TIMEOUT_S = 600


def digits():
    """scikit-learn's digits / 16, ff-neuro's stratified split (seed 0, 25 % test)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    bunch = load_digits()
    x = (np.asarray(bunch.data, dtype=np.float64) / 16.0).astype(np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


def rate_spikes(x: np.ndarray, seed: int) -> np.ndarray:
    """Bernoulli rate code: (T, N, 64) uint8, spike with probability = pixel value."""
    rng = np.random.default_rng(seed)
    return (rng.random((T,) + x.shape) < x[None]).astype(np.uint8)


# -- the SLAYER networks ---------------------------------------------------------------------
def build(kind: str):
    import torch
    import lava.lib.dl.slayer as slayer

    def p():
        return dict(NEURON)

    cuba = slayer.block.cuba
    if kind == "cuba":
        blocks = [cuba.Dense(p(), 64, 32, delay_shift=False),
                  cuba.Dense(p(), 32, 10, delay_shift=False)]
    elif kind == "conv":
        blocks = [cuba.Input(None, delay_shift=False),
                  cuba.Conv(p(), 1, 6, 3, padding=1, delay_shift=False),
                  cuba.Conv(p(), 6, 8, 3, stride=2, padding=1, delay_shift=False),
                  cuba.Flatten(),
                  cuba.Dense(p(), 128, 10, delay_shift=False)]
    elif kind == "pool":
        blocks = [cuba.Input(None, delay_shift=False),
                  cuba.Conv(p(), 1, 2, 3, padding=1, delay_shift=False),
                  cuba.Pool(p(), 2, delay_shift=False),
                  cuba.Flatten(),
                  cuba.Dense(p(), 32, 10, delay_shift=False)]
    else:
        raise ValueError(kind)

    class Net(torch.nn.Module):
        """lava-dl's tutorial network: blocks in a ModuleList, ``export_hdf5`` one group each."""

        def __init__(self):
            super().__init__()
            self.blocks = torch.nn.ModuleList(blocks)
            self.image = kind != "cuba"

        def forward(self, x):            # x: (N, 64, T) spikes
            if self.image:
                x = x.reshape(x.shape[0], 1, 8, 8, x.shape[-1])
            for b in self.blocks:
                x = b(x)
            return x

        def export_hdf5(self, filename):
            import h5py
            with h5py.File(filename, "w") as h:
                layer = h.create_group("layer")
                for i, b in enumerate(self.blocks):
                    b.export_hdf5(layer.create_group(f"{i}"))

    return Net()


def train(kind: str, x_tr, y_tr, x_te, y_te, epochs: int) -> tuple:
    """Trains with slayer's SpikeRate loss; returns (net, float test accuracy)."""
    import torch
    import lava.lib.dl.slayer as slayer
    torch.manual_seed(SEED)
    net = build(kind)
    opt = torch.optim.Adam(net.parameters(), lr=0.003)
    loss_f = slayer.loss.SpikeRate(true_rate=0.5, false_rate=0.05, reduction="sum")
    gen = torch.Generator().manual_seed(SEED)
    xtr, ytr = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(xtr), generator=gen)
        hits = 0
        for i in range(0, len(xtr), 32):
            idx = perm[i:i + 32]
            s = (torch.rand(len(idx), 64, T, generator=gen) < xtr[idx, :, None]).float()
            out = net(s)
            loss = loss_f(out, ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            hits += int((slayer.classifier.Rate.predict(out) == ytr[idx]).sum())
        print(f"  {kind} epoch {epoch}: train accuracy {hits / len(xtr):.3f}", flush=True)
    return net, float_accuracy(net, x_te, y_te)


def float_accuracy(net, x_te, y_te) -> float:
    """SLAYER's own (float, training-time) accuracy on the fixed-seed test spikes."""
    import torch
    import lava.lib.dl.slayer as slayer
    s = rate_spikes(x_te, seed=SEED + 1)                       # (T, N, 64)
    net.eval()
    with torch.no_grad():
        out = net(torch.from_numpy(np.ascontiguousarray(s.transpose(1, 2, 0))).float())
    pred = slayer.classifier.Rate.predict(out).numpy()
    return float((pred == y_te).mean())


# -- lava-dl's NetX on Lava's CPU simulator (child process) ----------------------------------
def lava_child(request: str) -> int:
    """Child: run one NetX file on a stream of inputs; save every layer's raw recording."""
    from lava.lib.dl import netx
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source

    with open(request) as fh:
        req = json.load(fh)
    stream = np.load(req["stream"])                     # (n_steps, *Lava input shape)
    n_steps = stream.shape[0]
    net = netx.hdf5.Network(net_config=req["netx"], reset_interval=req["T"], reset_offset=1)
    src = Source(data=np.moveaxis(stream, 0, -1).astype(np.int32))
    src.s_out.connect(net.inp)
    sinks = []
    for layer in net.layers:
        sink = Sink(shape=layer.out.shape, buffer=n_steps)
        layer.out.connect(sink.a_in)
        sinks.append(sink)
    try:
        net.run(condition=RunSteps(num_steps=n_steps),
                run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        rec = {f"layer{k}": np.moveaxis(s.data.get(), -1, 0).astype(np.uint8)
               for k, s in enumerate(sinks)}
    finally:
        net.stop()
    np.savez(req["out"], table=np.array(str(net)), **rec)
    return 0


def run_netx(path: Path, inputs: np.ndarray, in_shape: tuple, n_layers: int) -> dict:
    """lava-dl's per-layer spikes for ``inputs`` (T, N, 64), one sample per reset window."""
    Tn, N = inputs.shape[:2]
    x = inputs.transpose(1, 0, 2).reshape((N * Tn,) + tuple(in_shape))     # (C, H, W) order
    if len(in_shape) == 3:
        x = x.transpose(0, 3, 2, 1)                                      # Lava's (W, H, C)
    stream = np.concatenate([x, np.zeros((n_layers,) + x.shape[1:], x.dtype)])
    with tempfile.TemporaryDirectory() as d:
        np.save(Path(d) / "stream.npy", stream)
        req = {"netx": str(path), "T": Tn, "stream": str(Path(d) / "stream.npy"),
               "out": str(Path(d) / "out.npz")}
        with open(Path(d) / "req.json", "w") as fh:
            json.dump(req, fh)
        t0 = time.time()
        # own process group: a hung Lava run (and the processes it forked) is killed whole
        proc = subprocess.Popen([sys.executable, __file__, "--lava-child",
                                 str(Path(d) / "req.json")], start_new_session=True)
        try:
            rc = proc.wait(timeout=LAVA_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            raise RuntimeError(f"Lava run of {path.name} timed out after {LAVA_TIMEOUT_S} s")
        if rc != 0:
            raise RuntimeError(f"Lava run of {path.name} failed (exit code {rc})")
        print(f"  lava-dl NetX run of {path.name}: {time.time() - t0:.1f} s", flush=True)
        with np.load(req["out"]) as f:
            return {k: f[k] for k in f.files}


def netx_predictions(rec: dict, n_layers: int, N: int) -> np.ndarray:
    """Class with the most output spikes in each sample's window (layer L-1: rows shifted
    by L)."""
    last = rec[f"layer{n_layers - 1}"]
    win = last[n_layers: n_layers + N * T].reshape(N, T, -1)
    return win.sum(axis=1).argmax(axis=1)


def emulator_accuracy(path: Path, x_te, y_te) -> float:
    """ff-neuro's reader and emulator on the whole test split (same fixed-seed spikes)."""
    from ff_neuro.export.netx import read_netx
    from ff_neuro.run import get_backend
    net = read_netx(path, time_steps=T)
    s = rate_spikes(x_te, seed=SEED + 1)
    out = get_backend("emulator").run(net, s.reshape((T, len(x_te)) + tuple(net.input_shape)))
    pred = net.readout.scores(out.counts()).argmax(axis=1)
    return float((pred == y_te).mean())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=40, help="epochs per network (default 40)")
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: here)")
    ap.add_argument("--lava-child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.lava_child:
        return lava_child(args.lava_child)

    import torch
    torch.set_num_threads(2)
    from importlib.metadata import version
    x_tr, x_te, y_tr, y_te = digits()
    args.out.mkdir(parents=True, exist_ok=True)
    inputs = rate_spikes(x_te, seed=SEED + 1)[:, :N_EXPECTED]        # (T, 20, 64)
    expected = {"inputs": inputs, "labels": y_te[:N_EXPECTED], "T": np.int64(T),
                "reset_interval": np.int64(T), "reset_offset": np.int64(1)}
    report = {"lava-dl": version("lava-dl"), "lava-nc": version("lava-nc"),
              "torch": version("torch"), "epochs": args.epochs}
    specs = {"cuba": ("digits_cuba.net", (64,), 2), "conv": ("digits_conv.net", (1, 8, 8), 3)}
    for kind, (name, in_shape, n_layers) in specs.items():
        t0 = time.time()
        net, acc = train(kind, x_tr, y_tr, x_te, y_te, args.epochs)
        path = args.out / name
        net.export_hdf5(str(path))
        rec = run_netx(path, inputs, in_shape, n_layers)
        pred = netx_predictions(rec, n_layers, N_EXPECTED)
        for k in range(n_layers):
            expected[f"{kind}_layer{k}"] = rec[f"layer{k}"]
        expected[f"{kind}_table"] = rec["table"]
        report[kind] = {"file": name, "bytes": path.stat().st_size,
                        "train_s": round(time.time() - t0, 1),
                        "slayer_float_test_accuracy": round(acc, 4),
                        "netx_accuracy_20": float((pred == y_te[:N_EXPECTED]).mean())}
        try:
            report[kind]["emulator_test_accuracy"] = round(emulator_accuracy(path, x_te, y_te), 4)
        except ImportError:
            pass
        print(f"{name}: {report[kind]}", flush=True)
        print(str(rec["table"]), flush=True)
    pool = build("pool")
    with torch.no_grad():
        pool(torch.zeros(1, 64, T))                 # sets the Input and Flatten shapes
    pool.export_hdf5(str(args.out / "conv_pool.net"))
    np.savez_compressed(args.out / "expected.npz", **expected)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
