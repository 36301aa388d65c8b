"""FFGAF-SNN training (seed 001): allocation (eq. 1-4), improved ReLU (eq. 13), CwC loss
(eq. 5-6), IF black box, folding into a conv Network, a real training run on digits, the CLI."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from ff_neuro.data import Dataset
from ff_neuro.training.ffgaf import (FFGAFTrainer, cwc_goodness, cwc_loss, group_matrix,
                                     if_neurons, improved_relu, images)
from ff_neuro.training.ffgaf_alloc import (allocate, class_aware_allocation, class_groups,
                                           class_similarity, complexity_scores, eq4_shares,
                                           uniform_allocation)
from ff_neuro.training.ffgaf_config import FFGAFConfig

# a small net that trains in a few seconds on digits (8x8 -> 8x8, 4x4, 4x4, 2x2)
SMALL = dict(channels=(10, 20, 20, 30), time_steps=4, batch_size=64, lr=0.01)


# -- allocation, eq. 1-4 ---------------------------------------------------------------------
def test_eq4_hand_example():
    # complexity scores (eq. 3 output) for 3 classes, phi = 2:
    # w = s - min + 2 = [3, 2, 4.5]; shares = w / 9.5 * 19 = [6, 4, 9] exactly
    s = np.array([0.0, -1.0, 1.5])
    shares = eq4_shares(s, 19, phi=2.0)
    np.testing.assert_allclose(shares, [6.0, 4.0, 9.0])
    np.testing.assert_array_equal(class_aware_allocation(s, 19), [6, 4, 9])
    # 20 channels: shares [6.316, 4.211, 9.474] -> floors [6, 4, 9] (sum 19), remainder to
    # the largest fraction (class 2, .474)
    np.testing.assert_array_equal(class_aware_allocation(s, 20), [6, 4, 10])


def test_similarity_and_scores_by_hand():
    # two classes along x, one along y: class means (1,0), (2,0), (0,3)
    f = np.array([[1, 0], [1, 0], [2, 0], [0, 3]], dtype=float)
    y = np.array([0, 0, 1, 2])
    S = class_similarity(f, y, 3)
    np.testing.assert_allclose(S, [[1, 1, 0], [1, 1, 0], [0, 0, 1]], atol=1e-12)
    z = complexity_scores(S)                      # row sums [2, 2, 1] standardised
    np.testing.assert_allclose(z, [1 / math.sqrt(2), 1 / math.sqrt(2), -math.sqrt(2)])
    # the two similar classes get more channels
    c = class_aware_allocation(z, 12)
    assert c.sum() == 12 and c[0] == c[1] > c[2]


@pytest.mark.parametrize("total", [10, 20, 37, 40, 60, 120, 240])
def test_allocation_sums_to_budget_and_follows_eq4(digits, total):
    k = digits.n_classes
    scores = complexity_scores(class_similarity(digits.x_train, digits.y_train, k))
    assert abs(scores.mean()) < 1e-9 and abs(scores.std() - 1) < 1e-9      # eq. 3
    counts = allocate("class-aware", total, k, scores)
    assert counts.sum() == total and counts.min() >= 1
    shares = eq4_shares(scores, total)
    if total >= 20:      # eq. 4 floors, plus at most one channel of the remainder each
        assert np.all(counts >= np.floor(shares)) and np.all(counts <= np.floor(shares) + 1)
        assert counts.sum() - np.floor(shares).sum() < k
    # harder classes (higher similarity score) never get fewer channels than easier ones
    # beyond the rounding
    order = np.argsort(scores)
    assert np.all(np.diff(counts[order]) >= -1)
    u = allocate("uniform", total, k)
    assert u.sum() == total and u.max() - u.min() <= 1
    np.testing.assert_array_equal(class_groups(counts), np.repeat(np.arange(k), counts))


def test_allocation_rejects_too_small_budget():
    with pytest.raises(ValueError):
        uniform_allocation(9, 10)
    with pytest.raises(ValueError):
        allocate("class-aware", 5, 10, np.zeros(10))


# -- eq. 13, eq. 5-6, IF ---------------------------------------------------------------------
def test_improved_relu_matches_eq13_by_hand():
    # lambda = 8, L = 8, varphi = 0.5: h(z) = 8 clip(floor(z + 0.5) / 8, 0, 1)
    z = torch.tensor([-1.0, 0.2, 0.49, 0.5, 3.7, 7.6, 9.0], requires_grad=True)
    y = improved_relu(z, clip=8.0, levels=8, shift=0.5)
    assert y.tolist() == [0.0, 0.0, 0.0, 1.0, 4.0, 8.0, 8.0]
    # lambda = 2, L = 4, varphi = 0: h(z) = 2 clip(floor(2 z) / 4, 0, 1)
    z2 = torch.tensor([0.49, 0.5, 1.9, 2.5])
    assert improved_relu(z2, clip=2.0, levels=4, shift=0.0).tolist() == [0.0, 0.5, 1.5, 2.0]
    # straight-through floor: gradient 1 inside (0, lambda), 0 where clipped
    y.sum().backward()
    assert z.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]


def test_cwc_loss_by_hand():
    # one sample, 3 channels of 1x2 positions; channels 0, 1 -> class 0, channel 2 -> class 1
    y = torch.tensor([[[[1.0, 3.0]], [[0.0, 2.0]], [[2.0, 2.0]]]])
    gm = group_matrix(np.array([0, 0, 1]), 2)
    g = cwc_goodness(y, gm)
    # G_0 = (1 + 9 + 0 + 4) / 4 = 3.5 ; G_1 = (4 + 4) / 2 = 4
    np.testing.assert_allclose(g.numpy(), [[3.5, 4.0]])
    loss = cwc_loss(g, torch.tensor([0]))
    # -log(e^3.5 / (e^3.5 + e^4)) = log(1 + e^0.5)
    assert abs(float(loss) - math.log(1 + math.exp(0.5))) < 1e-6


def test_if_neurons_reset_to_zero_strict_threshold():
    cur = torch.tensor([[0.6], [0.6], [0.4], [0.6], [2.5]])
    # v: 0.6, 1.2 > 1 spike -> 0, 0.4, 1.0 (not > 1), 3.5 spike
    assert if_neurons(cur, 1.0)[:, 0].tolist() == [0.0, 1.0, 0.0, 0.0, 1.0]


# -- training, folding, deployment -----------------------------------------------------------
@pytest.fixture(scope="module")
def trained(digits):
    cfg = FFGAFConfig(epochs=3, **SMALL)
    tr = FFGAFTrainer(cfg, digits, threads=1)
    net = tr.fit(progress=False)
    return tr, net


def test_tiny_training_beats_chance(trained, digits):
    tr, net = trained
    acc = tr.accuracy(digits.x_test, digits.y_test)
    assert acc > 0.6, acc                        # chance: 0.1
    assert tr.history.epochs_completed == 3
    assert net.training["allocation"]["channels_per_class"][1] == tr.counts[1].tolist()


def test_folding_matches_unfolded_normalisation(trained, digits):
    tr, _ = trained
    x = torch.from_numpy(images(digits.x_test[:32], digits.image_shape))
    enc = tr.model.blocks[0]
    with torch.no_grad():
        a = enc.pre(x)
        mu, inv = enc.affine(a, train=False)
        z = enc.scale * (a - mu[None, :, None, None]) * inv[None, :, None, None]
        w, b = enc.folded()
        zf = torch.nn.functional.conv2d(x, w, b, stride=enc.stride, padding=1)
    np.testing.assert_allclose(zf.numpy(), z.numpy(), rtol=1e-4, atol=1e-4)
    h1 = tr.model.blocks[1]
    inp = improved_relu(zf, enc.clip, enc.levels, enc.shift)
    with torch.no_grad():
        a = h1.pre(inp)
        mu, inv = h1.affine(a, train=False)
        ref = h1.scale * (a - mu[None, :, None, None]) * inv[None, :, None, None]
        w, b = h1.folded()
        got = torch.nn.functional.conv2d(inp, w, b, stride=h1.stride, padding=1)
    np.testing.assert_allclose(got.numpy(), ref.numpy(), rtol=1e-4, atol=1e-4)


def test_to_conv_network_reproduces_inference(trained, digits):
    """The network on the float backend (float64) gives the training model's predictions
    and spike counts (float32): identical up to rare threshold ties."""
    from ff_neuro.run import get_backend, one_pass
    tr, net = trained
    res = one_pass(get_backend("float"), net, digits.x_test, chunk=225)
    pred_net = res.predictions
    counts = tr.spike_counts(digits.x_test)
    agree = [float(np.mean(a == b)) for a, b in zip(res.counts, counts)]
    assert min(agree) > 0.995, agree
    assert np.mean(pred_net == tr.predict(digits.x_test)) >= 0.99
    assert all(c.sum() > 0 for c in counts)      # every layer spikes
    assert [l.out_shape for l in net.layers] == [(20, 4, 4), (20, 4, 4), (30, 2, 2)]
    np.testing.assert_array_equal(net.readout.class_groups[0], class_groups(tr.counts[1]))


def _subset(ds, n):
    return Dataset(name=ds.name, x_train=ds.x_train[:n], y_train=ds.y_train[:n],
                   x_test=ds.x_test[:50], y_test=ds.y_test[:50], n_classes=ds.n_classes,
                   image_shape=ds.image_shape, source=ds.source)


@pytest.mark.parametrize("extra", [{}, {"dropout": 0.3, "augment": "shift"}],
                         ids=["plain", "dropout+shift"])
def test_resume_gives_same_weights(digits, tmp_path, extra):
    ds = _subset(digits, 128)
    ck = tmp_path / "ck.h5"
    a = FFGAFTrainer(FFGAFConfig(epochs=2, **SMALL, **extra), ds, threads=1)
    a.fit(progress=False)
    b = FFGAFTrainer(FFGAFConfig(epochs=2, **SMALL, **extra), ds, threads=1)
    b.fit(progress=False, checkpoint=ck, stop_after=1)
    assert b.epochs_done == 1
    c = FFGAFTrainer(FFGAFConfig(epochs=2, **SMALL, **extra), ds, threads=1)
    c.fit(progress=False, checkpoint=ck, resume=True)
    for (k, va), vc in zip(a.model.state_dict().items(), c.model.state_dict().values()):
        np.testing.assert_allclose(va.numpy(), vc.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    assert c.epochs_done == 2 and len(c.history.loss) == 2


def _digits_subset(n: int) -> Dataset:
    from ff_neuro.data import load_digits
    return _subset(load_digits(), n)


def test_cuda_device_refused_clearly_without_a_gpu():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        FFGAFTrainer(FFGAFConfig(epochs=1, **SMALL), _digits_subset(64), threads=1,
                     device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (run on one: "
                    "python -m pytest --noconftest tests/test_ffgaf.py -k cuda)")
def test_cuda_training_matches_cpu_and_resumes_across_devices(tmp_path):
    """Same seed: the GPU (TF32 off) computes the CPU's spikes and first-step losses (later
    steps drift apart: a threshold crossing flips on a rounding difference); its checkpoint
    loads on the CPU to the same weights and training continues there."""
    ds = _digits_subset(256)
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    try:
        cpu = FFGAFTrainer(FFGAFConfig(epochs=2, **SMALL), ds, threads=1)
        gpu = FFGAFTrainer(FFGAFConfig(epochs=2, **SMALL), ds, threads=1, device="cuda")
        for cc, cg in zip(cpu.spike_counts(ds.x_test), gpu.spike_counts(ds.x_test)):
            assert cc.shape == cg.shape and np.mean(cc == cg) >= 0.999
        x, y = images(ds.x_train[:64], ds.image_shape), ds.y_train[:64]
        lc, _ = cpu.train_step(x, y, 0.01)
        lg, _ = gpu.train_step(x, y, 0.01)
        np.testing.assert_allclose(lc, lg, rtol=1e-4)
        ck = tmp_path / "ck.h5"
        gpu.fit(progress=False, checkpoint=ck, stop_after=1)
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    assert all(v.device.type == "cuda" for v in gpu.model.state_dict().values())
    back = FFGAFTrainer(FFGAFConfig(epochs=2, **SMALL), ds, threads=1)
    back.load_checkpoint(ck)
    for (k, vg), vb in zip(gpu.model.state_dict().items(), back.model.state_dict().values()):
        np.testing.assert_array_equal(vg.cpu().numpy(), vb.numpy(), err_msg=k)
    back.fit(progress=False, checkpoint=ck, resume=True)
    assert back.epochs_done == 2
    assert gpu.to_conv_network().layers[0].weight.dtype == np.float32


def test_dropout_and_augmentation_change_training_not_inference(digits):
    ds = _subset(digits, 256)
    plain = FFGAFTrainer(FFGAFConfig(epochs=1, **SMALL), ds, threads=1)
    drop = FFGAFTrainer(FFGAFConfig(epochs=1, dropout=0.5, **SMALL), ds, threads=1)
    # same initial weights: inference (no dropout there) gives the same spikes
    for cp, cd in zip(plain.spike_counts(ds.x_test), drop.spike_counts(ds.x_test)):
        np.testing.assert_array_equal(cp, cd)
    # a training step sees dropped inputs: another loss on the same batch
    x, y = images(ds.x_train[:64], ds.image_shape), ds.y_train[:64]
    lp, _ = plain.train_step(x, y, 0.01)
    ld, _ = drop.train_step(x, y, 0.01)
    assert lp[0] == pytest.approx(ld[0])          # the encoder block has no dropout
    assert all(a != b for a, b in zip(lp[1:], ld[1:]))
    # augmentation changes what an epoch trains on, hence the weights after it
    shifted = FFGAFTrainer(FFGAFConfig(epochs=1, augment="shift", **SMALL), ds, threads=1)
    again = FFGAFTrainer(FFGAFConfig(epochs=1, **SMALL), ds, threads=1)
    shifted.fit(progress=False)
    again.fit(progress=False)
    k0 = shifted.model.blocks[0].kernel.detach().numpy()
    assert not np.allclose(k0, again.model.blocks[0].kernel.detach().numpy())
    with pytest.raises(ValueError, match="dropout"):
        FFGAFConfig(dropout=1.0)
    with pytest.raises(ValueError, match="augment"):
        FFGAFConfig(augment="rotate")


def test_max_seconds_stops_within_an_epoch(digits):
    tr = FFGAFTrainer(FFGAFConfig(epochs=50, **SMALL), digits, threads=1)
    tr.fit(progress=False, max_seconds=0.01)   # past after the first batch
    assert tr.history.stopped_by_budget and tr.history.epochs_completed < 1.0


def test_cli_train_ffgaf_writes_loadable_model(tmp_path):
    from ff_neuro.cli import main
    from ff_neuro.model import load_model
    from ff_neuro.model import ClassGroups
    from ff_neuro.run import get_backend, one_pass
    from ff_neuro.data import load_digits
    out = tmp_path / "g.h5"
    r = CliRunner().invoke(main, ["train", "--algo", "ffgaf", "--dataset", "digits", "--preset",
                                  "micro", "--epochs", "1", "--threads", "1",
                                  "--allocation", "uniform", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout[r.stdout.index("{"):])
    assert d["algo"] == "ffgaf" and d["channels_per_class"][0] == [2] * 10
    net = load_model(out)
    assert isinstance(net.readout, ClassGroups)
    assert [l.weight.shape[0] for l in net.layers] == [20, 20, 40] and net.time_steps == 4
    ds = load_digits()
    pred = one_pass(get_backend("float"), net, ds.x_test, chunk=225).predictions
    assert abs(float(np.mean(pred == ds.y_test)) - d["test_accuracy_float"]) < 0.01


def test_cli_train_ffgaf_regularisation_and_device_options(tmp_path):
    from ff_neuro.cli import main
    base = ["train", "--algo", "ffgaf", "--dataset", "digits", "--preset", "micro",
            "--epochs", "1", "--threads", "1"]
    r = CliRunner().invoke(main, base + ["--dropout", "0.2", "--augment", "shift",
                                         "--augment-shift", "1", "--out",
                                         str(tmp_path / "g.h5"), "--json"])
    assert r.exit_code == 0, r.output
    c = json.loads(r.stdout[r.stdout.index("{"):])["config"]
    assert (c["dropout"], c["augment"], c["augment_shift"]) == (0.2, "shift", 1)
    # the Hebbian trainer takes the device too: one that is not there is refused
    r = CliRunner().invoke(main, ["train", "--algo", "hebbian", "--device", "cuda:99",
                                  "--out", str(tmp_path / "f.h5")])
    assert r.exit_code == 1 and "cuda:99" in r.output and not (tmp_path / "f.h5").exists()
    r = CliRunner().invoke(main, ["train", "--algo", "hebbian", "--augment", "flip",
                                  "--out", str(tmp_path / "h.h5")])
    assert r.exit_code == 2 and "--augment" in r.output
    if not torch.cuda.is_available():
        r = CliRunner().invoke(main, base + ["--device", "cuda", "--out", str(tmp_path / "c.h5")])
        assert r.exit_code == 1 and "no CUDA GPU" in r.output
        assert not (tmp_path / "c.h5").exists()
