"""The whole chain on the embedded digits through the real CLI: train -> quantize -> export ->
Lava fixed_pt -> energy (issue: walking skeleton)."""
import json
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from ff_neuro.model import load_model

#: the demo runs Lava (deselected in the Lava-free tier)
pytestmark = pytest.mark.lava


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    proc = subprocess.run(
        [sys.executable, "-m", "ff_neuro.cli", "demo", "--json", "--epochs", "12",
         "--lava-samples", "100", "--out-dir", str(out), "--timeout", "300"],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout), out, proc.stderr


def test_demo_json_contract(demo):
    d, out, _ = demo
    assert d["dataset"] == "digits" and d["n_test"] == 450
    acc = d["accuracy"]
    for k in ("float", "emulator", "lava_fixed_pt"):
        assert 0.0 <= acc[k] <= 1.0
    assert d["lava_samples"] == 100
    e = d["energy"]
    assert e["profile"] == "ffgaf-table2"
    assert e["parameters"] == 74 * 200 + 200 * 200
    assert e["total_mJ"] == pytest.approx(e["memory_mJ"] + e["compute_mJ"])
    assert e["memory_mJ"] > 0 and e["compute_mJ"] > 0
    assert json.loads((out / "demo.json").read_text())["accuracy"] == acc


def test_demo_fidelity(demo):
    d, _, _ = demo
    acc = d["accuracy"]
    assert acc["float"] >= 0.88, acc  # 12 epochs here; the full demo (30) reaches ~0.97
    assert abs(acc["emulator"] - acc["float"]) <= 0.02, acc
    assert acc["lava_fixed_pt"] == acc["emulator_on_lava_samples"], acc
    assert d["lava_emulator_spike_agreement"] == 1.0
    assert d["quantization"]["ok"]


def test_demo_files(demo):
    d, out, stderr = demo
    net = load_model(out / "model.h5")
    assert net.quantized is not None and net.sizes == [74, 200, 200]
    assert net.training["config"]["epochs"] == 12
    with h5py.File(out / "model.netx.h5", "r") as f:
        assert f["layer/0/type"][()] == b"input"
        assert [f[f"layer/{i}/type"][()] for i in (1, 2)] == [b"dense", b"dense"]
    assert "[4/5]" in stderr  # progress went to stderr, the JSON alone to stdout


def test_cli_errors_are_clear(tmp_path):
    bad = tmp_path / "x.h5"
    bad.write_text("not hdf5")
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "evaluate", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "not an HDF5 file" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "train", "--dataset",
                           "fashion-mnist", "--data-dir", str(tmp_path), "--out",
                           str(tmp_path / "m.h5")], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "--data-dir" in proc.stderr and "Traceback" not in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "train", "--dataset", "digits",
                           "--augment", "shift", "--augment-shift", "-1", "--out",
                           str(tmp_path / "m.h5")], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "augment_shift" in proc.stderr
    assert "Traceback" not in proc.stderr
    # a model Loihi cannot represent is refused with the reason, not a traceback
    import numpy as np
    from ff_neuro.model import LabelEmbedding, Layer, Network, save_model
    bad_th = tmp_path / "tiny_threshold.h5"
    save_model(Network(layers=[Layer.dense(weight=np.ones((4, 74)), threshold=1e-4,
                                           v_decay=0.1)],
                       label_embedding=LabelEmbedding(n_classes=10),
                       dataset={"name": "digits"}), bad_th)
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "quantize", str(bad_th),
                           "--out", str(tmp_path / "q.h5")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0 and "rounds to 0" in proc.stderr
    assert "Traceback" not in proc.stderr
