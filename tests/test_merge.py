"""Merging FF networks: each member keeps its own spikes, the sweep sums their goodness, and the
merged model quantizes, round-trips through HDF5 and runs on the fixed-point emulator."""
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import random_net
from ff_neuro.model import load_model, save_model
from ff_neuro.model.merge import merge_networks
from ff_neuro.quantization import quantize
from ff_neuro.run import get_backend, label_sweep


def test_members_keep_their_spikes_and_goodness_adds():
    a = random_net(seed=1, sizes=(20, 16, 12), w_std=0.6)
    b = random_net(seed=2, sizes=(20, 10, 14), w_std=0.6)
    m = merge_networks([a, b])
    assert m.sizes == [20, 26, 26]
    assert np.all(m.layers[1].weight[:12, 16:] == 0) and np.all(m.layers[1].weight[12:, :16] == 0)
    x = np.random.default_rng(0).random((30, 16)).astype(np.float32)
    ra, rb, rm = (label_sweep(get_backend("float"), n, x, keep_spikes=True) for n in (a, b, m))
    for k, (na, nb) in enumerate(((16, 10), (12, 14))):
        np.testing.assert_array_equal(rm.spikes[k][..., :na], ra.spikes[k])
        np.testing.assert_array_equal(rm.spikes[k][..., na:], rb.spikes[k])
        assert ra.spikes[k].sum() > 100 and rb.spikes[k].sum() > 100
        # mean_sq over the merged layer = the width-weighted mean of the members' goodness
        np.testing.assert_allclose(rm.scores[k], (na * ra.scores[k] + nb * rb.scores[k])
                                   / (na + nb), rtol=1e-9, atol=1e-12)
    # the vote differs from either member on some samples (it is not a copy of one of them)
    assert (rm.predictions != ra.predictions).any() or (rm.predictions != rb.predictions).any()


def test_merged_model_quantizes_and_runs_on_the_emulator(tmp_path):
    a, b = random_net(seed=3, w_std=0.6), random_net(seed=4, w_std=0.6)
    m = merge_networks([a, b])
    path = tmp_path / "m.h5"
    save_model(m, path)
    back = load_model(path)
    assert back.training["algorithm"] == "ff-merged" and len(back.training["members"]) == 2
    q, rep = quantize(back)
    assert rep.ok
    x = np.random.default_rng(1).random((20, 16)).astype(np.float32)
    rf = label_sweep(get_backend("float"), q, x)
    rq = label_sweep(get_backend("emulator"), q, x)
    assert np.mean(rf.predictions == rq.predictions) >= 0.8


def test_merge_refuses_incompatible_networks(tmp_path):
    a = random_net(seed=1)
    with pytest.raises(ValueError, match="at least two"):
        merge_networks([a])
    with pytest.raises(ValueError, match="threshold or v_decay"):
        merge_networks([a, random_net(seed=2, threshold=2.0)])
    with pytest.raises(ValueError, match="depth"):
        merge_networks([a, random_net(seed=2, sizes=(20, 16))])
    with pytest.raises(ValueError, match="input size"):
        merge_networks([a, random_net(seed=2, sizes=(24, 16, 8))])
    # the CLI turns it into a clear message, and merges compatible files
    pa, pb, pc = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "c.h5"
    save_model(a, pa)
    save_model(random_net(seed=2, threshold=2.0), pb)
    save_model(random_net(seed=5), pc)
    cmd = [sys.executable, "-m", "ff_neuro.cli", "merge"]
    bad = subprocess.run(cmd + [str(pa), str(pb), "--out", str(tmp_path / "x.h5")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "threshold" in bad.stderr and "Traceback" not in bad.stderr
    ok = subprocess.run(cmd + [str(pa), str(pc), "--out", str(tmp_path / "m.h5"), "--json"],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert json.loads(ok.stdout)["sizes"] == [20, 32, 16]


def test_label_embeddings_compare_by_their_inputs():
    """"append" ignores code_seed (trainers set it from their seed), "code" does not."""
    from ff_neuro.model import LabelEmbedding
    a, b = random_net(seed=1), random_net(seed=2)
    b.label_embedding = LabelEmbedding(n_classes=4, code_seed=7)
    assert merge_networks([a, b]).sizes == [20, 32, 16]
    a.label_embedding = LabelEmbedding(kind="code", n_classes=4, code_bits=4, code_seed=0)
    b.label_embedding = LabelEmbedding(kind="code", n_classes=4, code_bits=4, code_seed=7)
    with pytest.raises(ValueError, match="label embedding"):
        merge_networks([a, b])
