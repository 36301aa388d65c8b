"""The fault suite: corrupt model files, Lava runs killed, interrupted or timed out, writes killed
midway, bad command-line input, silent and saturated networks. Real files, real Lava runs, the
real CLI; the same campaign at full size is ``benchmarks/faults.py``.

``FF_NEURO_FUZZ_SEED`` picks another set of corrupt files (the default is fixed, so that a
failure reproduces).
"""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import h5py
import numpy as np
import pytest

from ff_neuro.model import ModelFileError, load_model, save_model

from conftest import random_net, reseal

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
FUZZ_SEED = int(os.environ.get("FF_NEURO_FUZZ_SEED", "31"))
FUZZ_VARIANTS = 504   # 63 per loading command


def _faults():
    spec = importlib.util.spec_from_file_location("faults", BENCH / "faults.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


faults = _faults()


# -- corrupt model files ----------------------------------------------------------------------
def test_corrupt_model_files_fuzz(tmp_path):
    """504 corrupt variants of real model files (both formats, dense, Hebbian and conv), each
    through load_model and one loading command: refused in one line naming the file, or
    accepted for a reason listed in faults.justify; no traceback, crash or hang."""
    r = faults.file_campaign(FUZZ_VARIANTS, FUZZ_SEED, tmp_path)
    shown = json.dumps(r["failures"] + r["unjustified"], indent=1)[:6000]
    assert r["variants"] == FUZZ_VARIANTS
    assert r["n_failures"] == 0, f"seed {FUZZ_SEED}: {shown}"
    assert set(r["cli_by_command"]) == set(faults.COMMANDS)
    assert all(sum(c.values()) >= FUZZ_VARIANTS // len(faults.COMMANDS)
               for c in r["cli_by_command"].values())
    assert all(sum(r["by_kind"][k].values()) > 0 for k in faults.KINDS)
    assert r["api"]["refused"] > 0.8 * FUZZ_VARIANTS, r["api"]


def _flip_weight_bit(path: Path) -> None:
    with h5py.File(path, "r") as f:
        info = f["layers/0/synapse/weight"].id.get_chunk_info(0)
    data = bytearray(path.read_bytes())
    data[info.byte_offset + info.size // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_flipped_bit_in_the_weights_is_detected(tmp_path):
    path = save_model(random_net(), tmp_path / "m.h5")
    load_model(path)
    _flip_weight_bit(path)
    with pytest.raises(ModelFileError) as ei:
        load_model(path)
    msg = str(ei.value)
    assert str(path) in msg and "\n" not in msg
    assert "layers/0/synapse/weight" in msg or "checksum" in msg


def test_a_damaged_file_is_refused_before_hdf5_parses_it(tmp_path, monkeypatch):
    """Some damaged files make the HDF5 library loop forever. A file with ff-neuro's header is
    checked byte for byte first and refused unparsed; a file without one (format 1, or
    rewritten by another tool) is parsed in a child process with a time limit first."""
    import ff_neuro.model.io as model_io
    src = faults.make_bases(tmp_path / "bases")["ff_dense-v2"]
    body = src.read_bytes()[model_io.HEADER_SIZE:]     # the same file without its header
    hang = bytearray(body)
    hang[2141:2141 + 502] = bytes(502)                 # a damaged block on which HDF5 loops
    damaged = tmp_path / "damaged.h5"
    damaged.write_bytes(src.read_bytes()[:model_io.HEADER_SIZE] + bytes(hang))
    with pytest.raises(ModelFileError, match="do not match the SHA-256 checksum"):
        load_model(damaged)
    headless = tmp_path / "headless.h5"
    headless.write_bytes(body)
    assert load_model(headless).n_classes == 10        # still loads (content digest checked)
    headless.write_bytes(bytes(hang))
    monkeypatch.setattr(model_io, "LEGACY_PARSE_SECONDS", 3.0)
    with pytest.raises(ModelFileError, match="did not finish reading it within 3 s") as ei:
        load_model(headless)
    assert "\n" not in str(ei.value)


@pytest.mark.parametrize("field, value, words", [
    ("readouts/0/eps", np.nan, "eps"),
    ("layers/0/synapse/weight", 1e30, "weight"),
    ("layers/0/synapse/weight", np.nan, "weight"),
    ("layers/1/neuron/threshold", -1.0, "threshold"),
    ("encoder/gain", np.inf, "gain"),
])
def test_invalid_values_behind_a_valid_checksum_are_refused(tmp_path, field, value, words):
    """A file whose checksum matches (written by a tool that knows the format) is still checked
    field by field: NaN, huge or out-of-range values name the field."""
    path = save_model(random_net(), tmp_path / "m.h5")
    group, name = field.rsplit("/", 1)
    with h5py.File(path, "r+") as f:
        if name in f[group].attrs:
            f[group].attrs[name] = value
        else:
            a = f[field][()].astype(np.float64)
            a.flat[0] = value
            del f[field]
            f[group].create_dataset(name, data=a.astype(np.float32))
    reseal(path)
    with pytest.raises(ModelFileError, match=words) as ei:
        load_model(path)
    assert group in str(ei.value) and "\n" not in str(ei.value)


def test_a_model_file_cannot_pull_in_other_files(tmp_path):
    """External storage, external links, soft links and virtual datasets are refused before any
    data is read: no byte of another file reaches the model or an export."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.full(20 * 16, 7, np.float32).tobytes())
    for how in ("external-storage", "external-link", "soft-link", "virtual"):
        path = save_model(random_net(), tmp_path / f"{how}.h5")
        with h5py.File(path, "r+") as f:
            shape = f["layers/0/synapse/weight"].shape
            del f["layers/0/synapse/weight"]
            g = f["layers/0/synapse"]
            if how == "external-storage":
                g.create_dataset("weight", shape=shape, dtype=np.float32,
                                 external=[(str(secret), 0, secret.stat().st_size)])
            elif how == "external-link":
                g["weight"] = h5py.ExternalLink(str(secret), "/w")
            elif how == "soft-link":
                g["weight"] = h5py.SoftLink("/layers/1/synapse/weight")
            else:
                with h5py.File(tmp_path / "src.h5", "w") as s:
                    s["w"] = np.ones(shape, np.float32)
                layout = h5py.VirtualLayout(shape=shape, dtype=np.float32)
                layout[...] = h5py.VirtualSource(str(tmp_path / "src.h5"), "w", shape=shape)
                g.create_virtual_dataset("weight", layout)
        reseal(path, content=False)
        with pytest.raises(ModelFileError, match="link|external|virtual"):
            load_model(path)


# -- Lava faults --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lava_model(tmp_path_factory):
    return faults.make_lava_model(tmp_path_factory.mktemp("lava-model"))


@pytest.mark.lava
@pytest.mark.parametrize("kind", faults.LAVA_KINDS)
def test_lava_fault_leaves_nothing_behind(kind, lava_model, tmp_path):
    """kill -9 of the Lava worker or of ff-neuro itself, SIGINT, SIGTERM, the time limit, a
    process model that raises: afterwards no process of the run, no shared-memory segment and
    no temp folder remains, and what ff-neuro printed is one line (no traceback)."""
    rng = np.random.default_rng([FUZZ_SEED, len(kind)])
    row = faults.lava_fault(kind, lava_model, tmp_path, rng)
    assert row["worker_seen"], row
    assert not row["hang"], row
    assert row["procs_left"] == 0 and row["shm_left"] == 0 and row["tmp_left"] == [], row
    assert row["message_ok"], row
    assert row["exit"] != 0, row


# -- killed writes, permissions ---------------------------------------------------------------
def test_kill_during_writes_loses_nothing_and_leaves_no_temp_file(tmp_path):
    r = faults.write_kills(6, FUZZ_SEED, tmp_path)
    assert r["unreadable_targets"] == 0, r
    assert r["tmp_files_after_next_write"] == 0, r
    assert r["ok"], r


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_follow_the_umask(tmp_path, umask):
    from ff_neuro.fileio import write_json
    old = os.umask(umask)
    try:
        m = save_model(random_net(), tmp_path / "m.h5")
        write_json(tmp_path / "r.json", {"a": 1})
    finally:
        os.umask(old)
    for p in (m, tmp_path / "r.json"):
        assert p.stat().st_mode & 0o777 == 0o666 & ~umask


# -- bad input ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    return faults.bad_input_files(tmp_path_factory.mktemp("bad-input"))


@pytest.mark.parametrize("args, word", faults.BAD_INPUTS,
                         ids=[" ".join(a for a in args if a not in ("--out", "{out}"))[:60]
                              for args, _ in faults.BAD_INPUTS])
def test_bad_input_is_refused_in_one_line(bad_files, args, word):
    """Non-zero exit, one 'Error:' line that names the problem, no traceback, and no work
    started (no progress bar before the message)."""
    r = faults.run_cli([a.format(**bad_files) for a in args], keep_output=True)
    assert r["cli"] == "refused", r
    assert word.format(**bad_files).lower() in r["message"].lower(), r["message"]
    assert "training:" not in r["output"] and "epoch/s" not in r["output"]


def test_the_python_api_refuses_what_the_cli_refuses(digits):
    """The checks live in the library: the config dataclasses and verbs refuse the same values
    with the same words."""
    from ff_neuro.config import FFTrainConfig, QuantConfig
    from ff_neuro.training.hebbian import HebbianConfig
    from ff_neuro.training.onchip import learning_trial
    for kw, word in (({"time_steps": 0}, "time_steps"), ({"batch_size": 0}, "batch_size"),
                     ({"threshold": float("inf")}, "threshold"), ({"gain": 0.0}, "gain"),
                     ({"alpha": -1.0}, "alpha"), ({"weight_decay": float("nan")}, "weight"),
                     ({"seed": -1}, "seed")):
        with pytest.raises(ValueError, match=word):
            FFTrainConfig(**kw)
    with pytest.raises(ValueError, match="hidden"):
        HebbianConfig(hidden=(0,))
    with pytest.raises(ValueError, match="weight_max"):
        QuantConfig(weight_max=0)
    for kw, word in (({"samples": 0}, "samples"), ({"every": -1}, "every"),
                     ({"eta": float("nan")}, "eta"), ({"timeout_s": 0}, "timeout")):
        with pytest.raises(ValueError, match=word):
            learning_trial(digits, **{"samples": 20, "every": 10, **kw})


# -- silent and saturated networks --------------------------------------------------------------
def _extreme_net(kind: str, path: Path) -> Path:
    """A float FF network on digits whose layers never spike (silent) or spike at every step
    (saturated)."""
    from ff_neuro.model import InputEncoding, LabelEmbedding, Layer, Network
    rng = np.random.default_rng(0)
    sizes = (74, 20, 20)
    layers = [Layer.dense(weight=(np.abs(rng.normal(0, 1, (o, i))) if kind == "saturated"
                                  else rng.normal(0, 0.1, (o, i))),
                          threshold=0.5 if kind == "saturated" else 100.0, v_decay=0.0)
              for i, o in zip(sizes[:-1], sizes[1:])]
    net = Network(layers=layers, encoder=InputEncoding(time_steps=8, gain=1.0),
                  label_embedding=LabelEmbedding(n_classes=10),
                  dataset={"name": "digits", "n_features": 64, "n_classes": 10})
    return save_model(net, path)


@pytest.mark.parametrize("kind", ["silent", "saturated"])
def test_silent_and_saturated_networks_are_reported_not_crashed(kind, tmp_path):
    from ff_neuro.cli import main
    from click.testing import CliRunner
    m = _extreme_net(kind, tmp_path / f"{kind}.h5")
    run = CliRunner().invoke
    res = run(main, ["analyze", str(m), "--samples", "50", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert [l["state"] for l in d["layers"]] == [kind, kind]
    assert d["tsne"] is None and kind in d["tsne_skipped"]
    assert all(l["hoyer"] is None or kind == "saturated" for l in d["layers"])
    q = tmp_path / "q.h5"
    res = run(main, ["quantize", str(m), "--out", str(q)])
    assert res.exit_code == 0, res.output
    assert kind in res.output.lower()      # the quantization report names the layers
    for args in (["parity", str(q), "--backends", "float,emulator", "--samples", "10",
                  "--plot", str(tmp_path / "p.png")],
                 ["energy", str(q), "--samples", "10", "--plot", str(tmp_path / "e.png")]):
        res = run(main, args)
        assert res.exit_code == 0, res.output
        assert "Traceback" not in res.output


# -- where the data came from ---------------------------------------------------------------------
def test_a_model_trained_on_an_idx_folder_finds_it_again(tmp_path):
    """train --dataset idx --data-dir D records D; every later stage loads D without being
    told."""
    from click.testing import CliRunner
    from ff_neuro.cli import main
    from ff_neuro.data import load_digits
    from ff_neuro.data.idx import write_idx
    d = load_digits()
    data = tmp_path / "my digits"
    data.mkdir()
    for split, x, y in (("train", d.x_train, d.y_train), ("t10k", d.x_test, d.y_test)):
        write_idx(data / f"{split}-images-idx3-ubyte", (x * 255).astype(np.uint8)
                  .reshape(-1, 8, 8))
        write_idx(data / f"{split}-labels-idx1-ubyte", y.astype(np.uint8))
    m = tmp_path / "m.h5"
    res = CliRunner().invoke(main, ["train", "--dataset", "idx", "--data-dir", str(data),
                                    "--epochs", "1", "--hidden", "20", "--no-readout",
                                    "--out", str(m)])
    assert res.exit_code == 0, res.output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cwd = os.getcwd()
    os.chdir(elsewhere)
    try:
        res = CliRunner().invoke(main, ["evaluate", str(m), "--backend", "float",
                                        "--samples", "30", "--json"])
    finally:
        os.chdir(cwd)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["samples"] == 30


def test_a_layer_whose_weights_all_round_to_zero_is_refused(tmp_path):
    from ff_neuro.quantization import QuantizationError, quantize
    from ff_neuro.model import InputEncoding, LabelEmbedding, Layer, Network
    w = np.random.default_rng(0).normal(0, 0.01, (20, 74))
    net = Network(layers=[Layer.dense(weight=w, threshold=1e5)],
                  encoder=InputEncoding(time_steps=8), label_embedding=LabelEmbedding())
    with pytest.raises(QuantizationError, match="layer 0: every weight rounds to 0"):
        quantize(net)
