"""Conv primitives (FFGAF-SNN): validation, eq. 13, model file, quantization, emulator, energy."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ff_neuro.model.conv import (AnalogConvEncoder, ConvFFNetwork, QuantizedConv2d,
                                 SpikingConv2d, class_goodness, conv_out_size)
from ff_neuro.model.hdf5 import load_model, save_model


def small_conv_net(seed: int = 0, in_shape=(1, 8, 7), time_steps: int = 8) -> ConvFFNetwork:
    """Encoder 4 ch -> conv 8 ch stride 2 (with bias) -> conv 10 ch stride 1; random weights
    scaled so that every layer fires on digits images."""
    rng = np.random.default_rng(seed)
    enc = AnalogConvEncoder(weight=rng.normal(0, 0.5, (4, in_shape[0], 3, 3)),
                            bias=rng.normal(0, 0.1, 4), in_shape=in_shape, levels=8, clip=1.0)
    l0 = SpikingConv2d(weight=rng.normal(0, 0.3, (8, 4, 3, 3)), threshold=1.0,
                       in_shape=enc.out_shape, stride=2, bias=rng.normal(0, 0.05, 8))
    l1 = SpikingConv2d(weight=rng.normal(0, 0.4, (10, 8, 3, 3)), threshold=1.0,
                       in_shape=l0.out_shape, stride=1, padding=1)
    return ConvFFNetwork(encoder=enc, layers=[l0, l1],
                         class_groups=[np.arange(8) % 10, np.arange(10)], n_classes=10,
                         time_steps=time_steps, predict_layers=(0, 1),
                         dataset={"name": "digits"})


def digits_images(digits, n: int, width: int = 7) -> np.ndarray:
    return digits.x_train[:n].reshape(-1, 1, 8, 8)[:, :, :, :width].copy()


def test_geometry_and_validation():
    net = small_conv_net()
    assert net.shapes == [(4, 8, 7), (8, 4, 4), (10, 4, 4)]
    assert conv_out_size(28, 3, 2, 1) == 14
    assert net.layers[0].n_in == 4 * 8 * 7 and net.layers[1].n_out == 160
    with pytest.raises(ValueError, match="input channels"):
        SpikingConv2d(weight=np.zeros((2, 3, 3, 3)), threshold=1.0, in_shape=(4, 8, 8))
    with pytest.raises(ValueError, match="threshold"):
        SpikingConv2d(weight=np.ones((2, 4, 3, 3)), threshold=0.0, in_shape=(4, 8, 8))
    with pytest.raises(ValueError, match=r"\[-256, 254\]"):
        QuantizedConv2d(weight=np.full((2, 4, 3, 3), 255), vth=10, v_decay=0, in_shape=(4, 8, 8))
    with pytest.raises(ValueError, match="expects input"):
        ConvFFNetwork(encoder=net.encoder, layers=[net.layers[1]], class_groups=[np.arange(10)])
    with pytest.raises(ValueError, match="class_groups"):
        ConvFFNetwork(encoder=net.encoder, layers=net.layers,
                      class_groups=[np.arange(8), np.arange(10) + 1])


def test_improved_relu_eq13():
    """a = lambda * clip(floor(z L / lambda + phi) / L, 0, 1), lambda = clip = 2, L = 4, phi = 0.5."""
    enc = AnalogConvEncoder(weight=np.ones((1, 1, 1, 1)), bias=np.zeros(1), padding=0,
                            levels=4, clip=2.0, in_shape=(1, 1, 1))
    z = np.array([-1.0, 0.0, 0.24, 0.26, 0.74, 0.76, 1.0, 1.9, 2.5, 10.0], dtype=np.float32)
    k = enc.levels_from_preactivation(z)
    # z * L / lambda = 2 z; + 0.5; floor; clip to [0, 4]
    assert k.tolist() == [0, 0, 0, 1, 1, 2, 2, 4, 4, 4]
    expect = [2.0 * min(max(math.floor(v * 4 / 2.0 + 0.5) / 4, 0.0), 1.0) for v in z]
    x = z.reshape(-1, 1, 1, 1)
    np.testing.assert_allclose(enc.activation(x).ravel(), expect, atol=1e-6)


def test_class_goodness_hand_example():
    groups = [np.array([0, 0, 1, 2])]
    counts = [np.array([[2, 4, 0, 1]]).reshape(1, 4, 1, 1)]
    g = class_goodness(counts, groups, n_classes=3, time_steps=4, layers=(0,))
    np.testing.assert_allclose(g, [[(0.25 + 1.0) / 2, 0.0, 1 / 16]])


def test_model_file_round_trip(tmp_path, digits):
    from ff_neuro.quantization.conv import quantize_conv
    net = small_conv_net()
    qnet, _ = quantize_conv(net)
    path = save_model(qnet, tmp_path / "conv.h5")
    back = load_model(path)
    assert isinstance(back, ConvFFNetwork)
    assert back.shapes == qnet.shapes and back.predict_layers == (0, 1)
    assert back.dataset == {"name": "digits"} and back.time_steps == 8
    np.testing.assert_array_equal(back.encoder.weight, qnet.encoder.weight)
    for a, b in zip(back.layers, qnet.layers):
        np.testing.assert_array_equal(a.weight, b.weight)
        assert (a.stride, a.padding, a.threshold) == (b.stride, b.padding, b.threshold)
    for a, b in zip(back.quantized, qnet.quantized):
        np.testing.assert_array_equal(a.weight, b.weight)
        assert (a.vth, a.scale, a.in_shape) == (b.vth, b.scale, b.in_shape)
    for a, b in zip(back.class_groups, qnet.class_groups):
        np.testing.assert_array_equal(a, b)
    # same predictions from the file
    from ff_neuro.run.conv import predict
    x = digits_images(digits, 16)
    np.testing.assert_array_equal(predict(back, x, "emulator")[0], predict(qnet, x, "emulator")[0])


def _reference_fixed_layer(q: QuantizedConv2d, x: np.ndarray) -> np.ndarray:
    """Lava's fixed_pt Conv + LIF written out per step with Lava's own conv helper."""
    from lava.proc.conv import utils
    T, B = x.shape[:2]
    w = q.weight[:, :, ::-1, ::-1].transpose(0, 3, 2, 1)      # NetX: flip + (out, kw, kh, in)
    out = np.zeros((T, B) + q.out_shape, np.uint8)
    for b in range(B):
        u = np.zeros(q.out_shape[::-1], np.int64)
        v = np.zeros_like(u)
        for t in range(T):
            a = utils.conv(x[t, b].transpose(2, 1, 0).astype(np.int32), w.astype(np.int32),
                           q.kernel[::-1], (q.stride,) * 2, (q.padding,) * 2, (1, 1), 1)
            a = utils.signed_clamp(a.astype(np.int64), 24) << 6
            du = (np.sign(u * (4096 - q.i_decay)) * (np.abs(u * (4096 - q.i_decay)) >> 12))
            raw = du + a
            w1 = np.where(raw > 2**23, raw - 2**24, raw)
            u = np.where(w1 <= -2**23, raw + 2**24, w1)
            dv = np.sign(v * (4096 - q.v_decay)) * (np.abs(v * (4096 - q.v_decay)) >> 12)
            bias = 0 if q.bias_mant is None else q.bias_mant.astype(np.int64) << 6
            v = np.clip(dv + u + bias, -2**23 + 1, 2**23 - 1)
            s = v > (q.vth << 6)
            v[s] = 0
            out[t, b] = s.transpose(2, 1, 0)
    return out


def test_emulator_matches_lava_equations_with_leak(digits):
    """The vectorised emulator equals a per-sample loop over Lava's own conv helper and the LIF
    equations, with a leaky layer (v_decay > 0), current memory, bias and stride 2."""
    from ff_neuro.run.conv import encode, fixed_layer
    from ff_neuro.quantization.conv import quantize_conv
    net = small_conv_net(seed=3)
    net.layers[0].v_decay = 410 / 4096
    qnet, _ = quantize_conv(net)
    q0 = qnet.quantized[0]
    q0.i_decay = 3000
    x = encode(qnet, digits_images(digits, 6))
    ours = fixed_layer(q0, torch.from_numpy(np.ascontiguousarray(x))).numpy()
    ref = _reference_fixed_layer(q0, np.asarray(x))
    assert ours.sum() > 20
    np.testing.assert_array_equal(ours, ref)


def test_quantization_report_and_float_fixed_agreement(digits):
    from ff_neuro.quantization.conv import CURRENT_MAX, quantize_conv
    from ff_neuro.run.conv import run_batches
    net = small_conv_net()
    x = digits_images(digits, 64)
    qnet, rep = quantize_conv(net, calibration_images=x)
    assert rep.ok and len(rep.layers) == 2
    q0 = qnet.quantized[0]
    # the graded first layer cannot wrap Lava's 24-bit current
    assert np.abs(q0.weight).sum(axis=(1, 2, 3)).max() * net.encoder.levels <= CURRENT_MAX
    for r in rep.layers:
        assert 0.01 < r.rate_fixed < 0.9 and abs(r.rate_fixed - r.rate_float) < 0.02
    f = run_batches(qnet, x, "float", keep_spikes=True).spikes
    q = run_batches(qnet, x, "emulator", keep_spikes=True).spikes
    assert np.mean(f[0] == q[0]) > 0.99


def test_silent_layer_warns(digits):
    from ff_neuro.quantization import QuantizationWarning
    from ff_neuro.quantization.conv import quantize_conv
    net = small_conv_net()
    net.layers[1].threshold = 1e4  # can never fire
    with pytest.warns(QuantizationWarning, match="silent"):
        _, rep = quantize_conv(net, calibration_images=digits_images(digits, 16))
    assert rep.layers[1].silent and not rep.ok


def _brute_force_synops(events: np.ndarray, kh: int, kw: int, stride: int, padding: int,
                        c_out: int) -> int:
    """Every (output position, kernel tap) pair whose input position holds events, counted."""
    C, H, W = events.shape
    ho, wo = conv_out_size(H, kh, stride, padding), conv_out_size(W, kw, stride, padding)
    total = 0
    for oy in range(ho):
        for ox in range(wo):
            for dy in range(kh):
                for dx in range(kw):
                    y, x = oy * stride - padding + dy, ox * stride - padding + dx
                    if 0 <= y < H and 0 <= x < W:
                        total += int(events[:, y, x].sum())
    return total * c_out


@pytest.mark.parametrize("stride,padding,hw", [(1, 1, (7, 9)), (2, 1, (8, 8)), (2, 0, (9, 7))])
def test_exact_conv_synops_brute_force(stride, padding, hw):
    from ff_neuro.energy.conv import exact_conv_synops, fanout_conv_synops
    ev = np.random.default_rng(stride + padding).integers(0, 4, (3,) + hw)
    exact = exact_conv_synops(ev, (3, 3), stride, padding, out_channels=5)
    assert exact == _brute_force_synops(ev, 3, 3, stride, padding, 5)
    # NeuroBench's definition: binarised-input conv with an all-ones kernel, summed
    ones = torch.nn.functional.conv2d(torch.tensor(ev, dtype=torch.float64)[None],
                                      torch.ones(5, 3, 3, 3, dtype=torch.float64),
                                      stride=stride, padding=padding)
    assert exact == pytest.approx(float(ones.sum()))
    fan = fanout_conv_synops(ev, (3, 3), stride, 5)
    if stride == 2:
        assert fan > 1.3 * exact  # ceil(3/2)^2 = 4 reaches per event vs <= 9/4 on average


def test_conv_energy_and_fit(digits):
    from ff_neuro.energy.conv import conv_activity, conv_energy_table
    from ff_neuro.energy.fit import conv_fit_check
    from ff_neuro.quantization.conv import quantize_conv
    from ff_neuro.run.conv import run_batches
    net = small_conv_net()
    x = digits_images(digits, 32)
    qnet, _ = quantize_conv(net)
    res = run_batches(qnet, x, "emulator")
    acts = conv_activity(qnet, res.input_counts, res.counts)
    assert acts[0].input_events == pytest.approx(res.input_counts.sum() / 32)
    assert acts[1].input_events == pytest.approx(res.counts[0].sum() / 32)
    assert acts[0].synops < acts[0].synops_fanout  # stride 2
    table = conv_energy_table(qnet, acts)
    chip = [r for r in table["layers"] if r["where"] == "chip"]
    assert chip[1]["compute_mJ"] == pytest.approx(acts[1].synops * 0.2 / 1e9)
    assert chip[0]["memory_mJ"] == pytest.approx((8 * 4 * 9 + 8) * 100 / 1e9)
    fit = conv_fit_check(qnet, "loihi")
    assert fit.fits_on_one_chip and fit.layers[1].n_out == 160
    assert fit.layers[1].synapses == 10 * 8 * 10 * 10  # reach per axis [2, 3, 3, 2]: padded borders
