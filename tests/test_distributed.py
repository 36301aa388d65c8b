"""Spiking FF on several processes, for real: torchrun subprocesses talking gloo on the CPU.

Two processes training the same global batches give the weights one process gives (float
tolerance: only the order of the gradient sums differs, and each process runs one torch
thread); a two-process checkpoint resumes in two processes or in one; ``train_members``
returns the merge of single-process runs; ``ff-neuro train --processes`` runs the same.
"""
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ff_neuro.cli import main
from ff_neuro.config import FFTrainConfig
from ff_neuro.data import load_digits
from ff_neuro.training import FFTrainer
from ff_neuro.training.distributed import shard, train_members

ROOT = Path(__file__).resolve().parents[1]
N_TRAIN = 256
#: fp32 matmuls: bf16 products of shards of a batch are not the products of the whole batch
BASE = dict(hidden=(24, 16), time_steps=4, epochs=3, eval_samples=0, matmul_precision="fp32")
#: batch 85 of 256 samples: a last batch of 1, so one process computes nothing for it
CONFIGS = {
    "dropout": dict(BASE, batch_size=85, dropout=0.1),
    "softmax": dict(BASE, batch_size=64, loss="softmax", softmax_negatives=3,
                    encoding="graded", levels=15),
    "hard": dict(BASE, batch_size=64, negatives="hard"),
}

# What every process runs: the configurations, data-parallel; its weights to OUT.rankR.npz.
SCRIPT = r'''
import json, sys
import numpy as np
from ff_neuro.config import FFTrainConfig
from ff_neuro.data import load_digits
from ff_neuro.training import distributed
from ff_neuro.training.ff import FFTrainer

job = json.loads(sys.argv[1])
ds = load_digits().subset(n_train=job["n_train"], n_test=10)
out = {}
for name, fields in job["configs"].items():
    tr = FFTrainer(FFTrainConfig(**fields), ds, data_parallel=True)
    net = tr.fit(progress=False, **job["fit"].get(name, {}))
    for k, layer in enumerate(net.layers):
        out[name + "/w%d" % k] = layer.weight
    out[name + "/loss"] = np.array(tr.history.loss)
    out[name + "/world"] = np.array([tr.data_parallel, distributed.world_size()])
np.savez("%s.rank%d.npz" % (job["out"], distributed.rank()), **out)
distributed.finish()
'''


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + ([env["PYTHONPATH"]]
                                                       if env.get("PYTHONPATH") else []))
    return env


def torchrun(tmp: Path, name: str, configs: dict, fit: dict = None, n: int = 2) -> list:
    """Run SCRIPT in ``n`` processes; each process's arrays."""
    script = tmp / "dp_script.py"
    script.write_text(SCRIPT)
    job = {"n_train": N_TRAIN, "configs": configs, "fit": fit or {}, "out": str(tmp / name)}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           f"--nproc_per_node={n}", str(script), json.dumps(job)],
                          env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [dict(np.load(tmp / f"{name}.rank{r}.npz")) for r in range(n)]


@pytest.fixture(scope="module")
def data():
    return load_digits().subset(n_train=N_TRAIN, n_test=10)


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """Every configuration trained by two processes, and "dropout" once more, interrupted
    after its first epoch (its checkpoint then in ``tmp``)."""
    tmp = tmp_path_factory.mktemp("dp")
    configs = dict(CONFIGS, interrupted=CONFIGS["dropout"])
    fit = {"dropout": {"checkpoint": str(tmp / "whole.ckpt.h5")},
           "interrupted": {"checkpoint": str(tmp / "part.ckpt.h5"), "stop_after": 1}}
    return tmp, torchrun(tmp, "two", configs, fit)


def one_process(data, name: str, **fit):
    tr = FFTrainer(FFTrainConfig(**CONFIGS[name]), data)
    return tr, tr.fit(progress=False, **fit)


def assert_weights(arrays: dict, name: str, net, atol: float = 1e-5) -> None:
    for k, layer in enumerate(net.layers):
        np.testing.assert_allclose(arrays[f"{name}/w{k}"], layer.weight, rtol=0, atol=atol)


def test_shard_splits_a_batch_and_covers_every_row():
    rows = [shard(7, rank_=r, world=3) for r in range(3)]
    assert [list(r) for r, _ in rows] == [[0, 1, 2], [3, 4], [5, 6]]
    assert sum(w for _, w in rows) == pytest.approx(1.0)
    assert shard(1, rank_=1, world=2) == (pytest.approx(np.zeros(1)), 0.0)  # computes, adds 0


@pytest.mark.parametrize("name", list(CONFIGS))
def test_two_processes_train_the_weights_of_one(two, data, name):
    """The same global batches in two processes and in one: the same weights (atol 1e-5) and
    losses, identical weights in both processes, a checkpoint written by rank 0 only."""
    tmp, (r0, r1) = two
    assert list(r0[f"{name}/world"]) == [1, 2]           # really two processes, data-parallel
    for k in range(2):
        assert np.array_equal(r0[f"{name}/w{k}"], r1[f"{name}/w{k}"])
    tr, net = one_process(data, name)
    assert_weights(r0, name, net)
    np.testing.assert_allclose(r0[f"{name}/loss"], tr.history.loss, rtol=1e-5)
    init = FFTrainer(FFTrainConfig(**CONFIGS[name]), data).network()
    assert not np.allclose(init.layers[0].weight, net.layers[0].weight)  # it did train
    if name == "dropout":
        assert sorted(p.name for p in tmp.glob("whole.ckpt*")) == ["whole.ckpt.h5"]


def test_two_process_checkpoint_resumes_in_two_processes_or_one(two, data, tmp_path):
    """A two-process run stopped after one epoch continues from its checkpoint, in two new
    processes or in one, to the weights of the uninterrupted two-process run."""
    tmp, (r0, _) = two
    for n in (2, 1):
        ck = tmp_path / f"resume{n}.ckpt.h5"
        shutil.copy(tmp / "part.ckpt.h5", ck)
        if n == 2:
            res = torchrun(tmp_path, "resumed", {"interrupted": CONFIGS["dropout"]},
                           {"interrupted": {"checkpoint": str(ck), "resume": True}})[0]
            got = {f"dropout/w{k}": res[f"interrupted/w{k}"] for k in range(2)}
            loss = res["interrupted/loss"]
        else:
            tr, net = one_process(data, "dropout", checkpoint=ck, resume=True)
            got = {f"dropout/w{k}": layer.weight for k, layer in enumerate(net.layers)}
            loss = tr.history.loss
        assert len(loss) == 3
        for k in range(2):
            np.testing.assert_allclose(got[f"dropout/w{k}"], r0[f"dropout/w{k}"], rtol=0,
                                       atol=1e-5)


def test_train_members_merges_single_process_runs(data):
    """Two members trained by two torchrun processes, merged by rank 0: the member blocks are
    the weights of one-process runs with those seeds, and nothing connects the members."""
    cfg = FFTrainConfig(**dict(BASE, batch_size=64))
    net = train_members(data, 2, config=cfg, seeds=[5, 9], timeout_s=300)
    singles = [FFTrainer(dataclasses.replace(cfg, seed=s), data).fit(progress=False)
               for s in (5, 9)]
    assert net.sizes == [74, 48, 32] and net.training["algorithm"] == "ff-merged"
    assert [m["config"]["seed"] for m in net.training["members"]] == [5, 9]
    w0, w1 = net.layers[0].weight, net.layers[1].weight
    for i, s in enumerate(singles):
        np.testing.assert_allclose(w0[24 * i:24 * (i + 1)], s.layers[0].weight, atol=1e-5)
        np.testing.assert_allclose(w1[16 * i:16 * (i + 1), 24 * i:24 * (i + 1)],
                                   s.layers[1].weight, atol=1e-5)
    assert not w1[:16, 24:].any() and not w1[16:, :24].any()
    with pytest.raises(ValueError, match="different seeds"):
        train_members(data, 2, config=cfg, seeds=[1, 1])
    with pytest.raises(ValueError, match="processes must be between"):
        train_members(data, 2, config=cfg, processes=3)


def test_cli_processes_trains_data_parallel(tmp_path):
    """``ff-neuro train --processes 2``: torchrun's rank 0 reports and saves the model, whose
    weights are those of a one-process run; the options it cannot combine are refused."""
    out = tmp_path / "m.h5"
    args = ["train", "--dataset", "digits", "--hidden", "16", "--time-steps", "4",
            "--epochs", "1", "--batch-size", "128", "--matmul-precision", "fp32",
            "--no-readout", "--out", str(out)]
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", *args, "--processes", "2",
                           "--json"], env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    d = json.loads(proc.stdout)
    assert d["processes"] == 2 and d["epochs"] == 1 and d["torch_threads"] == 1
    assert 0.0 <= d["test_accuracy_float"] <= 1.0 and d["model"] == str(out)
    from ff_neuro.model import load_model
    net = load_model(out)
    ref = FFTrainer(FFTrainConfig(hidden=(16,), time_steps=4, epochs=1, batch_size=128,
                                  matmul_precision="fp32"), load_digits()).fit(progress=False)
    np.testing.assert_allclose(net.layers[0].weight, ref.layers[0].weight, atol=1e-5)
    runner = CliRunner()
    for extra, msg in ((["--processes", "2", "--members", "2"], "give one"),
                       (["--algo", "hebbian", "--processes", "2"], "an option of --algo ff"),
                       (["--members", "2", "--algo", "ffgaf"], "an option of --algo ff")):
        r = runner.invoke(main, [a for a in args if a not in ("--hidden", "16", "--no-readout")]
                          + extra)
        assert r.exit_code == 2 and msg in r.output, r.output
    r = runner.invoke(main, args + ["--processes", "2", "--device", "cuda:9"])
    assert r.exit_code == 1 and "cuda:9" in r.output and "\n" == r.output[-1] \
        and len(r.output.strip().splitlines()) == 1, r.output
