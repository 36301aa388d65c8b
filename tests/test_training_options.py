"""Every training option on small data, the fused LIF against snnTorch, and exact resume."""
import numpy as np
import pytest
import torch

from ff_neuro.config import FFTrainConfig
from ff_neuro.encoding import image_spikes, label_spikes
from ff_neuro.quantization import quantize
from ff_neuro.run import get_backend, label_sweep
from ff_neuro.training import FFTrainer, LambdaCallback
from ff_neuro.training.ff import (corrupt_images, hard_wrong_labels, softmax_candidates,
                                  softmax_loss)
from ff_neuro.training.lif_scan import lif_counts, lif_scan, make_leaky


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_fused_lif_equals_snntorch_spikes_and_gradients(dtype):
    torch.manual_seed(0)
    T, B, N = 12, 32, 40
    cur = (torch.randn(T, B, N, dtype=dtype) * 0.6 + 0.3).requires_grad_(True)
    w = torch.randn(T, B, N, dtype=dtype)
    leaky = make_leaky(1.0, 0.9, 10.0)
    mem, out = torch.zeros(B, N, dtype=dtype), []
    for t in range(T):
        s, mem = leaky(cur[t], mem)
        out.append(s)
    ref = torch.stack(out)
    (ref * w).sum().backward()
    g_ref = cur.grad.clone()
    cur.grad = None
    ours = lif_scan(cur, 0.9, 1.0, 10.0)
    (ours * w).sum().backward()
    assert torch.equal(ours, ref) and ref.sum() > 100
    torch.testing.assert_close(cur.grad, g_ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("static", [False, True])  # (T, B, N) current / one for all steps
@pytest.mark.parametrize("dtype,spikes", [(torch.float32, torch.float32),
                                          (torch.float32, torch.bfloat16),
                                          (torch.bfloat16, torch.bfloat16),
                                          (torch.bfloat16, None),  # no spikes formed
                                          (torch.float64, torch.float64)])  # torch fallback
@pytest.mark.parametrize("slope", [10.0, 2.5])
def test_lif_counts_equals_snntorch_counts_and_gradients(static, dtype, spikes, slope):
    """lif_counts = snnTorch Leaky stepped in time, then spike counts: the same spikes and
    counts, and the same gradient of a count-based loss w.r.t. the current."""
    torch.manual_seed(1)
    T, B, N = 12, 32, 40
    shape = (B, N) if static else (T, B, N)
    ref_dtype = torch.float32 if dtype == torch.bfloat16 else dtype  # bf16: the widened values
    cur = (torch.randn(*shape) * 0.6 + 0.3).to(dtype).requires_grad_(True)
    ref_cur = cur.detach().to(ref_dtype).requires_grad_(True)
    w = torch.randn(B, N, dtype=ref_dtype)
    leaky = make_leaky(1.0, 0.9, slope)
    mem, out = torch.zeros(B, N, dtype=ref_dtype), []
    for t in range(T):
        s, mem = leaky(ref_cur if static else ref_cur[t], mem)
        out.append(s)
    ref = torch.stack(out)
    ((ref.sum(0) / T) ** 2 * w).sum().backward()
    g_ref = ref_cur.grad.to(dtype)  # bf16: the reference gradient rounded as torch rounds
    spk, counts = lif_counts(cur, T, 0.9, 1.0, slope, spike_dtype=spikes)
    ((counts / T) ** 2 * w).sum().backward()
    if spikes is None:
        assert spk is None
    else:
        assert spk.dtype == spikes and not spk.requires_grad and torch.equal(spk.to(ref_dtype), ref)
    assert cur.grad.dtype == dtype and torch.equal(counts, ref.sum(0))
    assert ref.sum() > 100 and (ref == 0).sum() > 100
    if dtype == torch.bfloat16 and not static:  # same float32 values, same rounding
        assert torch.equal(cur.grad, g_ref)
    torch.testing.assert_close(cur.grad, g_ref, rtol=1e-5 if dtype != torch.bfloat16 else 1e-2,
                               atol=1e-5)


@pytest.mark.parametrize("encoding", ["rate", "graded"])
def test_fused_engine_trains_like_the_snntorch_engine(digits, encoding):
    """The same training steps through snnTorch Leaky layers and through lif_counts give the
    same weights (to float tolerance: only the summation order of gradients differs)."""
    sub = digits.subset(n_train=200, n_test=10)
    ws = []
    for engine in ("snntorch", "fused"):
        cfg = FFTrainConfig(hidden=(40, 30), time_steps=8, batch_size=50, encoding=encoding,
                            levels=15, engine=engine)
        tr = FFTrainer(cfg, sub)
        rng = np.random.default_rng(0)
        for i in range(3):
            tr.train_step(sub.x_train[i * 50:(i + 1) * 50], sub.y_train[i * 50:(i + 1) * 50],
                          rng, seed_offset=i + 1)
        ws.append([w.detach().clone() for w in tr.weights])
    init = FFTrainer(cfg, sub).weights
    for a, b, w0 in zip(*ws, init):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        assert not torch.allclose(a, w0.detach())  # the steps did change the weights


@pytest.fixture(scope="module")
def small(digits):
    return digits.subset(n_train=400, n_test=100)


@pytest.mark.parametrize("opts", [
    dict(loss="swish"), dict(loss="symba", alpha=8.0), dict(loss="hinton", alpha=10.0, theta=0.1),
    dict(negatives="hard"), dict(negatives="hybrid"), dict(negatives="noise"),
    dict(negatives="masking"),
    dict(label_embedding="overlay"), dict(label_embedding="code", code_bits=40),
    dict(goodness="sum_sq", alpha=0.5), dict(threshold=(1.0, 1.5)), dict(beta=(0.8, 0.99)),
    dict(encoding="graded", levels=15), dict(engine="snntorch"),
    dict(matmul_precision="bf16"), dict(matmul_precision="bf16", encoding="graded", levels=15),
    dict(dropout=0.2), dict(dropout=0.2, encoding="graded", matmul_precision="bf16"),
    dict(weight_decay=0.05), dict(loss="softmax"), dict(loss="softmax", encoding="graded"),
])
def test_each_option_trains_and_deploys(small, opts):
    cfg = FFTrainConfig(hidden=(40, 30), epochs=3, time_steps=8, batch_size=50, **opts)
    tr = FFTrainer(cfg, small)
    net = tr.fit(progress=False)
    h = net.training["history"]
    assert all(np.isfinite(h["loss"]))
    assert all(p > n for p, n in zip(h["g_pos"][-1], h["g_neg"][-1])), h  # learned to separate
    # stays deployable: quantizes and runs on the fixed-point emulator with the same inputs
    qnet, rep = quantize(net)
    acc_f = label_sweep(get_backend("float"), qnet, small.x_test).accuracy(small.y_test)
    acc_q = label_sweep(get_backend("emulator"), qnet, small.x_test).accuracy(small.y_test)
    assert abs(acc_f - acc_q) < 0.15
    # Label-free negatives (hybrid, noise, masking) teach "real image" vs "corrupted image", not
    # which label goes with an image: after 3 epochs on 400 digits their label sweep sits near
    # chance (masking 0.07-0.09 over three input draws), so only label-bearing negatives are
    # held to beating chance here.
    if cfg.negatives not in ("hybrid", "noise", "masking"):
        assert acc_f > 0.1


def test_per_layer_beta_reaches_each_layer_and_the_model_file(small, tmp_path):
    from ff_neuro.model import load_model, save_model
    cfg = FFTrainConfig(hidden=(30, 20), epochs=1, time_steps=6, batch_size=50,
                        beta=[0.8, 0.99])
    assert cfg.beta == (0.8, 0.99) and cfg.to_dict()["beta"] == [0.8, 0.99]
    net = FFTrainer(cfg, small).fit(progress=False)
    want = [round(0.2 * 4096) / 4096, round(0.01 * 4096) / 4096]  # Loihi's 12-bit decay grid
    assert [layer.neuron.v_decay for layer in net.layers] == want
    back = load_model(save_model(net, tmp_path / "m.h5"))
    assert [layer.neuron.v_decay for layer in back.layers] == want
    qnet, _ = quantize(back)
    assert [q.neuron.v_decay for q in qnet.quantized] == [round(0.2 * 4096), round(0.01 * 4096)]
    with pytest.raises(ValueError, match="one beta, or one per layer"):
        FFTrainConfig(hidden=(30, 20, 10), beta=(0.9, 0.9))
    with pytest.raises(ValueError, match=r"beta must be <= 1"):
        FFTrainConfig(hidden=(30, 20), beta=(0.9, 1.2))


def test_negative_helpers():
    rng = np.random.default_rng(0)
    g = np.array([[1.0, 4.0, 0.0, 9.0]] * 4000)
    y = np.zeros(4000, dtype=int)
    neg = hard_wrong_labels(g, y, rng)
    assert (neg != 0).all() and (neg != 2).mean() > 0.99  # sqrt(0) weight: never label 2
    frac = np.bincount(neg, minlength=4) / len(neg)
    assert abs(frac[3] / frac[1] - 1.5) < 0.15  # sqrt(9) / sqrt(4)
    x = rng.random((6, 64)).astype(np.float32)
    for kind in ("hybrid", "noise", "masking"):
        c = corrupt_images(x, kind, rng, (8, 8))
        assert c.shape == x.shape and not np.allclose(c, x)


def test_resume_gives_same_weights(small, tmp_path):
    cfg = FFTrainConfig(hidden=(30, 20), epochs=3, time_steps=8, batch_size=50, seed=3)
    full = FFTrainer(cfg, small).fit(progress=False)
    ck = tmp_path / "ck.h5"
    part_cfg = FFTrainConfig(hidden=(30, 20), epochs=2, time_steps=8, batch_size=50, seed=3)
    FFTrainer(part_cfg, small).fit(progress=False, checkpoint=ck)
    resumed = FFTrainer(cfg, small).fit(progress=False, checkpoint=ck, resume=True)
    for a, b in zip(full.layers, resumed.layers):
        np.testing.assert_array_equal(a.weight, b.weight)
    assert resumed.training["history"]["loss"] == full.training["history"]["loss"]
    other = FFTrainConfig(hidden=(30, 20), epochs=3, time_steps=8, batch_size=50, seed=3, lr=1.0)
    with pytest.raises(ValueError, match="different config"):
        FFTrainer(other, small).fit(progress=False, checkpoint=ck, resume=True)


def test_cosine_schedule_and_resume_after_a_crash(small, tmp_path):
    """The cosine schedule is a function of the epoch, so a run that crashes after epoch 2 and
    is resumed ends with the weights of an uninterrupted run."""
    cfg = FFTrainConfig(hidden=(30, 20), epochs=3, time_steps=8, batch_size=50, seed=3,
                        lr=0.01, lr_schedule="cosine")
    assert cfg.lr_at(0) == 0.01 and cfg.lr_at(1) == pytest.approx(0.0075)
    assert cfg.lr_at(2) == pytest.approx(0.0025)
    tr = FFTrainer(cfg, small)
    full = tr.fit(progress=False)
    assert tr.opt.param_groups[0]["lr"] == pytest.approx(0.0025)
    ck = tmp_path / "ck.h5"

    def crash(trainer, epoch, metrics):
        if epoch == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        FFTrainer(cfg, small).fit(progress=False, checkpoint=ck,
                                  callbacks=[LambdaCallback(crash)])
    resumed = FFTrainer(cfg, small).fit(progress=False, checkpoint=ck, resume=True)
    for a, b in zip(full.layers, resumed.layers):
        np.testing.assert_array_equal(a.weight, b.weight)
    const = FFTrainer(FFTrainConfig(hidden=(30, 20), epochs=3, time_steps=8, batch_size=50,
                                    seed=3, lr=0.01), small).fit(progress=False)
    assert not np.array_equal(const.layers[0].weight, full.layers[0].weight)
    with pytest.raises(ValueError, match="lr_schedule"):
        FFTrainConfig(lr_schedule="step")


def test_bf16_matmuls_are_used_and_stay_close_to_fp32(small):
    """bf16 mixed precision is not a no-op (different weights) but trains to about the same
    place as fp32 from the same seed."""
    nets = {}
    for prec in ("fp32", "bf16"):
        cfg = FFTrainConfig(hidden=(40, 30), epochs=2, time_steps=8, batch_size=50,
                            matmul_precision=prec)
        nets[prec] = FFTrainer(cfg, small).fit(progress=False)
    w32, w16 = nets["fp32"].layers[0].weight, nets["bf16"].layers[0].weight
    assert not np.array_equal(w32, w16)
    assert np.abs(w32 - w16).mean() < 0.1 * np.abs(w32).mean()
    assert nets["bf16"].layers[0].weight.dtype == np.float32



def test_augmentation_mirrors_and_shifts_each_image():
    """Every augmented image is its source, mirrored or not, moved by at most ``s`` pixels with
    zeros shifted in; both flips and several offsets occur; "none" is the identity."""
    from ff_neuro.data.augment import augment_images
    rng = np.random.default_rng(0)
    x = rng.random((200, 7 * 9)).astype(np.float32) + 0.1  # no zero pixels in the sources
    assert augment_images(x, (7, 9), "none", 2, rng) is x
    out = augment_images(x, (7, 9), "flip+shift", 2, np.random.default_rng(1))
    assert out.shape == x.shape and out.dtype == x.dtype
    found = set()
    for src, img in zip(x.reshape(-1, 7, 9), out.reshape(-1, 7, 9)):
        hits = []
        for flip in (False, True):
            s = src[:, ::-1] if flip else src
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    ref = np.zeros_like(s)
                    ref[max(dy, 0):7 + min(dy, 0), max(dx, 0):9 + min(dx, 0)] = \
                        s[max(-dy, 0):7 - max(dy, 0), max(-dx, 0):9 - max(dx, 0)]
                    if np.array_equal(ref, img):
                        hits.append((flip, dy, dx))
        assert len(hits) == 1
        found.add(hits[0])
    assert {f for f, _, _ in found} == {False, True} and len(found) > 30
    flip_only = augment_images(x, (7, 9), "flip", 2, np.random.default_rng(2)).reshape(-1, 7, 9)
    mirrored = np.array([np.array_equal(a, b[:, ::-1]) for a, b in
                         zip(flip_only, x.reshape(-1, 7, 9))])
    same = np.array([np.array_equal(a, b) for a, b in zip(flip_only, x.reshape(-1, 7, 9))])
    assert (mirrored ^ same).all() and 60 < mirrored.sum() < 140
    with pytest.raises(ValueError, match="2-D images"):
        augment_images(x, (8, 8), "flip", 2, rng)
    with pytest.raises(ValueError, match="augment"):
        FFTrainConfig(augment="rotate")


def test_fit_stop_after_pauses_and_continues_the_same_schedule(small):
    """fit(stop_after=1) stops after epoch 1; a second fit() on the same trainer continues
    the cosine schedule over cfg.epochs and ends with an uninterrupted run's weights."""
    cfg = FFTrainConfig(hidden=(30, 20), epochs=3, time_steps=8, batch_size=50, seed=3,
                        lr=0.01, lr_schedule="cosine")
    full = FFTrainer(cfg, small).fit(progress=False)
    tr = FFTrainer(cfg, small)
    tr.fit(progress=False, stop_after=1)
    assert tr.epochs_done == 1 and len(tr.history.loss) == 1
    assert tr.opt.param_groups[0]["lr"] == pytest.approx(0.01)
    tr.fit(progress=False, max_seconds=tr.history.seconds)   # budget already spent: no epoch
    assert tr.epochs_done == 1
    resumed = tr.fit(progress=False)
    assert tr.epochs_done == 3
    for a, b in zip(full.layers, resumed.layers):
        np.testing.assert_array_equal(a.weight, b.weight)


def test_augmented_training_is_used_and_resumes_exactly(small, tmp_path):
    """Augmentation changes what is learned, is reproducible from the seed, and a run
    interrupted after epoch 1 resumes to the weights of an uninterrupted one."""
    kw = dict(hidden=(30, 20), epochs=2, time_steps=8, batch_size=50, seed=3)
    plain = FFTrainer(FFTrainConfig(**kw), small).fit(progress=False)
    cfg = FFTrainConfig(augment="flip+shift", augment_shift=1, **kw)
    full = FFTrainer(cfg, small).fit(progress=False)
    assert not np.array_equal(plain.layers[0].weight, full.layers[0].weight)
    ck = tmp_path / "ck.h5"
    FFTrainer(FFTrainConfig(augment="flip+shift", augment_shift=1, **{**kw, "epochs": 1}),
              small).fit(progress=False, checkpoint=ck)
    resumed = FFTrainer(cfg, small).fit(progress=False, checkpoint=ck, resume=True)
    for a, b in zip(full.layers, resumed.layers):
        np.testing.assert_array_equal(a.weight, b.weight)
    assert full.training["config"]["augment"] == "flip+shift"
    # a checkpoint written before the option existed resumes as augment="none", and only so
    import h5py
    import json
    old = tmp_path / "old.h5"
    FFTrainer(FFTrainConfig(**{**kw, "epochs": 1}), small).fit(progress=False, checkpoint=old)
    with h5py.File(old, "r+") as f:
        saved = json.loads(f.attrs["config_json"])
        del saved["augment"], saved["augment_shift"]
        f.attrs["config_json"] = json.dumps(saved)
    FFTrainer(FFTrainConfig(**kw), small).fit(progress=False, checkpoint=old, resume=True)
    with pytest.raises(ValueError, match="augment"):
        FFTrainer(cfg, small).fit(progress=False, checkpoint=old, resume=True)


def test_dropout_masks_whole_presentations_and_resumes_exactly(small, tmp_path):
    """One mask per sample and input, shared by the time steps; kept inputs scaled by
    1 / (1 - p); nothing dropped at inference; training with dropout is resume-exact."""
    kw = dict(hidden=(30, 20), epochs=2, time_steps=8, batch_size=50, seed=3)
    tr = FFTrainer(FFTrainConfig(dropout=0.25, **kw), small)
    x = torch.ones(4, 200, 300)
    y = tr._dropout(x, np.random.default_rng(0))
    assert torch.unique(y).tolist() == pytest.approx([0.0, 1 / 0.75])
    assert torch.equal(y, y[:1].expand_as(y))  # the same mask at every step
    assert abs(float((y[0] == 0).float().mean()) - 0.25) < 0.02
    assert tr._dropout(x, None) is x
    plain = FFTrainer(FFTrainConfig(**kw), small).fit(progress=False)
    cfg = FFTrainConfig(dropout=0.25, **kw)
    full = FFTrainer(cfg, small).fit(progress=False)
    assert not np.array_equal(plain.layers[0].weight, full.layers[0].weight)
    assert not np.array_equal(plain.layers[1].weight, full.layers[1].weight)
    ck = tmp_path / "ck.h5"
    FFTrainer(FFTrainConfig(dropout=0.25, **{**kw, "epochs": 1}), small).fit(
        progress=False, checkpoint=ck)
    resumed = FFTrainer(cfg, small).fit(progress=False, checkpoint=ck, resume=True)
    for a, b in zip(full.layers, resumed.layers):
        np.testing.assert_array_equal(a.weight, b.weight)
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match="dropout"):
            FFTrainConfig(dropout=bad)


def test_weight_decay_is_decoupled(small):
    """AdamW: one step with decay lambda gives the undecayed step's weights minus
    lr * lambda * W0 (the Adam update itself is the same)."""
    kw = dict(hidden=(30, 20), time_steps=8, batch_size=50, seed=3, lr=0.01)
    a = FFTrainer(FFTrainConfig(**kw), small)
    b = FFTrainer(FFTrainConfig(weight_decay=0.1, **kw), small)
    assert isinstance(b.opt, torch.optim.AdamW) and not isinstance(a.opt, torch.optim.AdamW)
    w0 = [w.detach().clone() for w in a.weights]
    for tr in (a, b):
        tr.train_step(small.x_train[:50], small.y_train[:50], np.random.default_rng(1), 1)
    for wa, wb, w in zip(a.weights, b.weights, w0):
        np.testing.assert_allclose((wb - wa).detach().numpy(), (-0.01 * 0.1 * w).numpy(),
                                   atol=1e-6)
        assert float((wa - w).abs().max()) > 1e-3  # the Adam step itself moved the weights
    with pytest.raises(ValueError, match="weight_decay"):
        FFTrainConfig(weight_decay=-1.0)


def test_softmax_loss_contrasts_every_label(small):
    """The softmax loss is the cross-entropy of alpha * goodness over the C labels, computed
    from one pass per label, and refuses the pairwise negative strategies."""
    g = torch.tensor([[0.1, 0.3, 0.0], [0.2, 0.2, 0.5]])
    y = torch.tensor([1, 0])
    p = torch.softmax(5.0 * g, dim=1)
    want = -(torch.log(p[0, 1]) + torch.log(p[1, 0])) / 2
    assert float(softmax_loss(g, y, 5.0)) == pytest.approx(float(want), rel=1e-6)
    # label smoothing eps: the target is (1 - eps) one-hot + eps / C uniform
    eps = 0.1
    want_ls = -((1 - eps) * (torch.log(p[0, 1]) + torch.log(p[1, 0]))
                + eps / 3 * torch.log(p).sum()) / 2
    assert float(softmax_loss(g, y, 5.0, eps)) == pytest.approx(float(want_ls), rel=1e-6)
    cfg = FFTrainConfig(hidden=(30, 20), time_steps=8, batch_size=50, seed=3, loss="softmax",
                        encoding="graded")
    tr = FFTrainer(cfg, small)
    x, lab = small.x_train[:50], small.y_train[:50]
    loss, gp, gn = tr.train_step(x, lab, np.random.default_rng(1), 1)
    # the same loss from one pass per label with the weights before the step
    tr2 = FFTrainer(cfg, small)
    a = tr2._image_current(image_spikes(x, tr2.enc, 1))
    cur = [a + tr2._label_current(label_spikes(np.full(50, c), tr2.emb, tr2.enc))
           for c in range(small.n_classes)]
    want = 0.0
    with torch.no_grad():
        for k in range(2):
            outs = [tr2._spike_layer(k, c_) for c_ in cur]
            gk = torch.stack([tr2._goodness(counts) for _, counts in outs], dim=1)
            want += float(softmax_loss(gk, torch.from_numpy(lab.astype(np.int64)), cfg.alpha))
            if k == 0:
                cur = [tr2._mm(spk, tr2.weights[1], current=True) for spk, _ in outs]
    assert loss == pytest.approx(want, rel=1e-5)
    with pytest.raises(ValueError, match="softmax"):
        FFTrainConfig(loss="softmax", negatives="hard")
    with pytest.raises(ValueError, match="softmax"):
        FFTrainConfig(softmax_negatives=3)  # a pairwise loss
    with pytest.raises(ValueError, match="label_smoothing"):
        FFTrainConfig(label_smoothing=0.1)  # a pairwise loss
    with pytest.raises(ValueError, match="label_smoothing"):
        FFTrainConfig(loss="softmax", label_smoothing=1.0)
    with pytest.raises(ValueError, match="surrogate_slope"):
        FFTrainConfig(surrogate_slope=0.0)


def test_sampled_softmax_candidates():
    """K wrong labels per sample, distinct and uniform, after the true label; K = 0: all."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, size=20000)
    cand, target = softmax_candidates(y, 10, 3, rng)
    assert cand.shape == (20000, 4) and (target.numpy() == 0).all()
    assert (cand[:, 0] == y).all() and (cand[:, 1:] != y[:, None]).all()
    assert all(len(set(row)) == 4 for row in cand[:500])
    off = (cand[:, 1:] - y[:, None]) % 10
    frac = np.bincount(off.ravel(), minlength=10)[1:] / off.size
    assert np.abs(frac - 1 / 9).max() < 0.01
    cand, target = softmax_candidates(y[:5], 10, 0, rng)
    assert (cand == np.arange(10)).all() and (target.numpy() == y[:5]).all()


_CUDA = pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA GPU: the GPU run of this check needs one"))


@pytest.mark.parametrize("device", ["cpu", _CUDA])
@pytest.mark.parametrize("opts", [dict(), dict(encoding="graded", levels=15),
                                  dict(matmul_precision="bf16"),
                                  dict(loss="softmax", softmax_negatives=3, dropout=0.2),
                                  dict(negatives="hard", receptive_field=(4, 4, 2),
                                       hidden=(100, 30))])
def test_torch_lif_loop_trains_like_the_numba_kernels(small, device, opts):
    """The torch LIF loop (what a GPU runs; on the CPU with lif_kernel="torch") against the
    numba kernels: the same spikes and counts of every layer for the same current, gradients
    to float tolerance, and after whole train steps the same goodness and weights."""
    cfg = FFTrainConfig(**{"hidden": (40, 30), "time_steps": 8, "batch_size": 50, **opts})
    ref = FFTrainer(cfg, small)                                   # numba kernels
    tr = FFTrainer(cfg, small, device=device, lif_kernel="torch")
    assert tr.device.type == device and tr.weights[0].device.type == device
    x, y = small.x_train[:50], small.y_train[:50]
    img = image_spikes(x, ref.enc, 1)
    cur = ref._layer0_current(img, y).detach()
    for k in range(len(ref.weights)):
        c_ref = cur.clone().requires_grad_(True)
        c_dev = cur.to(tr.device).requires_grad_(True)
        s_ref, n_ref = ref._spike_layer(k, c_ref)
        s_dev, n_dev = tr._spike_layer(k, c_dev)
        assert torch.equal(n_dev.cpu(), n_ref) and n_ref.sum() > 0
        assert (s_ref is None) == (s_dev is None)
        if s_ref is not None:
            assert torch.equal(s_dev.cpu(), s_ref)
        ((n_ref / 8) ** 2).sum().backward()
        ((n_dev / 8) ** 2).sum().backward()
        torch.testing.assert_close(c_dev.grad.cpu(), c_ref.grad, rtol=1e-5, atol=1e-5)
        if s_ref is not None:
            cur = ref._mm(s_ref, ref.weights[k + 1], current=True).detach()
    for i in range(3):
        sl = slice(i * 50, (i + 1) * 50)
        out_ref = ref.train_step(small.x_train[sl], small.y_train[sl],
                                 np.random.default_rng(i), seed_offset=i + 1)
        out_dev = tr.train_step(small.x_train[sl], small.y_train[sl],
                                np.random.default_rng(i), seed_offset=i + 1)
        if i == 0 and device == "cpu":  # the same weights, so the same counts: exact goodness
            assert out_dev[1:] == out_ref[1:]
        np.testing.assert_allclose(out_dev[0], out_ref[0], rtol=1e-4, atol=1e-5)
    for a, b in zip(tr.network().layers, ref.network().layers):
        np.testing.assert_allclose(a.weight, b.weight, rtol=1e-4, atol=1e-5)


def test_lif_kernel_and_device_are_checked(small):
    cur = torch.zeros(3, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="numba LIF kernels take"):
        lif_counts(cur, 4, 0.9, 1.0, kernel="numba")
    with pytest.raises(ValueError, match="unknown LIF kernel"):
        lif_counts(cur, 4, 0.9, 1.0, kernel="cuda")
    cfg = FFTrainConfig(hidden=(20,), time_steps=4)
    with pytest.raises(ValueError, match="unknown LIF kernel"):
        FFTrainer(cfg, small, lif_kernel="fast")
    with pytest.raises(RuntimeError, match="not a torch device"):
        FFTrainer(cfg, small, device="gpu0")
    with pytest.raises(RuntimeError, match=r"cuda:7.*(no CUDA GPU|GPU)"):
        FFTrainer(cfg, small, device="cuda:7" if torch.cuda.device_count() < 8 else "cuda:99")
    from ff_neuro.training import make_trainer
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            make_trainer("hebbian", small, device="cuda", hidden=(20,))
    assert make_trainer("ff", small, device="cpu", hidden=(20,)).device.type == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(),
                    reason="no CUDA GPU: moving a run between devices needs one")
def test_checkpoint_moves_between_gpu_and_cpu(small, tmp_path):
    """A run checkpointed on the GPU resumes on the CPU (the checkpoint holds CPU arrays) and
    ends near the run that stayed on the GPU."""
    cfg = FFTrainConfig(hidden=(30, 20), epochs=2, time_steps=6, batch_size=50)
    whole = FFTrainer(cfg, small, device="cuda").fit(progress=False)
    ck = tmp_path / "gpu.ckpt.h5"
    FFTrainer(cfg, small, device="cuda").fit(progress=False, checkpoint=ck, stop_after=1)
    moved = FFTrainer(cfg, small, device="cpu").fit(progress=False, checkpoint=ck, resume=True)
    for a, b in zip(moved.layers, whole.layers):
        np.testing.assert_allclose(a.weight, b.weight, rtol=1e-3, atol=1e-4)
