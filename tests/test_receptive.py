"""First FF layer with local receptive fields (shared kernels or locally connected): the
geometry against torch's conv2d, training, export as a plain dense layer, exact resume."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ff_neuro.config import FFTrainConfig
from ff_neuro.quantization import quantize
from ff_neuro.run import get_backend, label_sweep
from ff_neuro.training import FFTrainer
from ff_neuro.training.receptive import ReceptiveGrid, unroll


@pytest.mark.parametrize("shape,channels,kernel,stride", [
    ((28, 28), 8, 5, 2), ((28, 28), 16, 7, 3), ((8, 8), 4, 3, 2), ((10, 7), 3, 4, 3)])
def test_unrolled_kernels_are_conv2d(shape, channels, kernel, stride):
    grid = ReceptiveGrid(shape, channels, kernel, stride)
    torch.manual_seed(0)
    kernels = torch.randn(channels, kernel, kernel, requires_grad=True)
    x = torch.rand(5, *shape)
    dense = unroll(kernels, torch.from_numpy(grid.index()))
    got = x.reshape(5, -1) @ dense.T
    want = F.conv2d(x[:, None], kernels[:, None], stride=stride, padding=grid.pad).flatten(1)
    assert dense.shape == (grid.n_neurons, shape[0] * shape[1])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    # the gradient of each kernel entry sums over every position that uses it, as conv2d's does
    g_got, = torch.autograd.grad(got.square().sum(), kernels)
    g_want, = torch.autograd.grad(want.square().sum(), kernels)
    torch.testing.assert_close(g_got, g_want, rtol=1e-4, atol=1e-4)
    mask = grid.mask()
    assert mask.sum(1).max() == kernel * kernel and mask.sum(1).min() < kernel * kernel  # edges


@pytest.fixture(scope="module")
def small(digits):
    return digits.subset(n_train=400, n_test=100)


# 8x8 digits, 4 maps of 3x3 fields at stride 2: 4 x 4 x 4 = 64 first-layer neurons
#: fp32 matmuls: the trainer's own sweep is compared with the float backend's
RF = dict(hidden=(64, 30), receptive_field=(4, 3, 2), epochs=6, lr=1e-2, time_steps=8,
          batch_size=50, encoding="graded", loss="softmax", alpha=8.0, matmul_precision="fp32")


@pytest.mark.parametrize("shared", [True, False])
def test_receptive_layer_trains_and_deploys_as_dense(small, shared):
    tr = FFTrainer(FFTrainConfig(receptive_shared=shared, **RF), small)
    w0 = tr.network().layers[0].weight.copy()
    net = tr.fit(progress=False)
    w = net.layers[0].weight
    grid = ReceptiveGrid((8, 8), 4, 3, 2)
    n_feat = small.n_features
    assert w.shape == (64, n_feat + tr.emb.width)
    assert not np.array_equal(w, w0)                                      # it trained
    assert np.all(w[:, :n_feat][~grid.mask()] == 0.0)                     # nothing off the patch
    assert np.all(w[:, n_feat:] != 0.0)                                   # labels stay dense
    if shared:  # every position of a map carries the same (trained) kernel
        np.testing.assert_array_equal(
            w[:, :n_feat], unroll(tr.kernels.detach(), torch.from_numpy(grid.index())).numpy())
        assert w[0, :n_feat][grid.mask()[0]].size == 4       # corner: 2 x 2 of the 3 x 3
    h = net.training["history"]
    assert all(p > n for p, n in zip(h["g_pos"][-1], h["g_neg"][-1]))
    # the exported dense network is the trained one: same goodness as the trainer's own sweep
    r = label_sweep(get_backend("float"), net, small.x_test)
    ours = tr.sweep_goodness(small.x_test, seed_offset=0)
    np.testing.assert_allclose(r.scores.sum(0), ours, rtol=1e-5, atol=1e-6)
    assert r.accuracy(small.y_test) > 0.35  # 0.53 shared, 0.51 locally connected; chance 0.1
    qnet, _ = quantize(net)
    acc_f = label_sweep(get_backend("float"), qnet, small.x_test).accuracy(small.y_test)
    acc_q = label_sweep(get_backend("emulator"), qnet, small.x_test).accuracy(small.y_test)
    assert abs(acc_f - acc_q) < 0.1


def test_receptive_resume_gives_same_weights(small, tmp_path):
    cfg = FFTrainConfig(seed=2, **RF)
    full = FFTrainer(cfg, small).fit(progress=False)
    ck = tmp_path / "ck.h5"
    FFTrainer(cfg, small).fit(progress=False, checkpoint=ck, stop_after=2)
    resumed = FFTrainer(cfg, small).fit(progress=False, checkpoint=ck, resume=True)
    for a, b in zip(full.layers, resumed.layers):
        np.testing.assert_array_equal(a.weight, b.weight)


def test_receptive_field_refuses_what_it_cannot_do(small):
    with pytest.raises(ValueError, match=r"set hidden\[0\] = 64"):
        FFTrainer(FFTrainConfig(**{**RF, "hidden": (60, 30)}), small)
    with pytest.raises(ValueError, match="not 'overlay'"):
        FFTrainer(FFTrainConfig(label_embedding="overlay", **RF), small)
    with pytest.raises(ValueError, match=r"\(channels, kernel, stride\)"):
        FFTrainConfig(**{**RF, "receptive_field": (4, 3)})
    with pytest.raises(ValueError, match="2-D images"):
        ReceptiveGrid((64,), 4, 3, 2)
