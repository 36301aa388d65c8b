"""Conv layers (FFGAF-SNN): validation, eq. 13, model file, quantization, emulator, energy."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ff_neuro.encoding import network_inputs
from ff_neuro.model import (AnalogConvEncoder, ClassGroups, Conv2d, Layer, LoihiLIF, Network,
                            load_model, save_model)
from ff_neuro.model.readout import class_goodness
from ff_neuro.model.synapse import conv_out_size
from ff_neuro.quantization import CURRENT_MAX, quantize
from ff_neuro.run import get_backend, one_pass


def small_conv_net(seed: int = 0, in_shape=(1, 8, 7), time_steps: int = 8) -> Network:
    """Encoder 4 ch -> conv 8 ch stride 2 (with bias) -> conv 10 ch stride 1; random weights
    scaled so that every layer fires on digits images."""
    rng = np.random.default_rng(seed)
    enc = AnalogConvEncoder(weight=rng.normal(0, 0.5, (4, in_shape[0], 3, 3)),
                            bias=rng.normal(0, 0.1, 4), in_shape=in_shape, levels=8, clip=1.0,
                            time_steps=time_steps)
    l0 = Layer.conv2d(weight=rng.normal(0, 0.3, (8, 4, 3, 3)), threshold=1.0,
                      in_shape=enc.out_shape, stride=2, padding=1, bias=rng.normal(0, 0.05, 8))
    l1 = Layer.conv2d(weight=rng.normal(0, 0.4, (10, 8, 3, 3)), threshold=1.0,
                      in_shape=l0.out_shape, stride=1, padding=1)
    return Network(encoder=enc, layers=[l0, l1],
                   readouts=[ClassGroups([np.arange(8) % 10, np.arange(10)], n_classes=10,
                                         predict_layers=(0, 1))],
                   dataset={"name": "digits"})


def digits_images(digits, n: int, width: int = 7) -> np.ndarray:
    """The first ``n`` digits, cropped to ``width`` columns, as flat rows."""
    return digits.x_train[:n].reshape(-1, 1, 8, 8)[:, :, :, :width].reshape(n, -1).copy()


def test_geometry_and_validation():
    net = small_conv_net()
    assert net.shapes == [(4, 8, 7), (8, 4, 4), (10, 4, 4)]
    assert conv_out_size(28, 3, 2, 1) == 14
    assert net.layers[0].n_in == 4 * 8 * 7 and net.layers[1].n_out == 160
    with pytest.raises(ValueError, match="input channels"):
        Layer.conv2d(weight=np.zeros((2, 3, 3, 3)), threshold=1.0, in_shape=(4, 8, 8))
    with pytest.raises(ValueError, match="threshold"):
        Layer.conv2d(weight=np.ones((2, 4, 3, 3)), threshold=0.0, in_shape=(4, 8, 8))
    with pytest.raises(ValueError, match=r"\[-256, 254\]"):
        Layer(Conv2d(weight=np.full((2, 4, 3, 3), 255), in_shape=(4, 8, 8)),
              LoihiLIF(vth=10, v_decay=0))
    with pytest.raises(ValueError, match="expects"):
        Network(encoder=net.encoder, layers=[net.layers[1]],
                readouts=[ClassGroups([np.arange(10)])])
    with pytest.raises(ValueError, match="class"):
        Network(encoder=net.encoder, layers=net.layers,
                readouts=[ClassGroups([np.arange(8), np.arange(10) + 1])])
    with pytest.raises(ValueError, match="one class per output channel"):
        Network(encoder=net.encoder, layers=net.layers,
                readouts=[ClassGroups([np.arange(8), np.arange(8)])])


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
    net = small_conv_net()
    qnet, _ = quantize(net)
    path = save_model(qnet, tmp_path / "conv.h5")
    back = load_model(path)
    assert back.shapes == qnet.shapes and back.readout.predict_layers == (0, 1)
    assert back.dataset == {"name": "digits"} and back.time_steps == 8
    np.testing.assert_array_equal(back.encoder.weight, qnet.encoder.weight)
    for a, b in zip(back.layers, qnet.layers):
        np.testing.assert_array_equal(a.weight, b.weight)
        assert a.neuron == b.neuron
        assert (a.synapse.stride, a.synapse.padding) == (b.synapse.stride, b.synapse.padding)
    for a, b in zip(back.quantized, qnet.quantized):
        np.testing.assert_array_equal(a.weight, b.weight)
        assert a.weight.dtype == np.int32
        assert (a.neuron, a.in_shape) == (b.neuron, b.in_shape)
    for a, b in zip(back.readout.class_groups, qnet.readout.class_groups):
        np.testing.assert_array_equal(a, b)
    # same predictions from the file
    emu = get_backend("emulator")
    x = digits_images(digits, 16)
    np.testing.assert_array_equal(one_pass(emu, back, x).predictions,
                                  one_pass(emu, qnet, x).predictions)


def _reference_fixed_layer(q: Layer, x: np.ndarray) -> np.ndarray:
    """Lava's fixed_pt Conv + LIF written out per step with Lava's own conv helper."""
    from lava.proc.conv import utils
    T, B = x.shape[:2]
    syn, n = q.synapse, q.neuron
    w = q.weight[:, :, ::-1, ::-1].transpose(0, 3, 2, 1)      # NetX: flip + (out, kw, kh, in)
    out = np.zeros((T, B) + q.out_shape, np.uint8)
    for b in range(B):
        u = np.zeros(q.out_shape[::-1], np.int64)
        v = np.zeros_like(u)
        for t in range(T):
            a = utils.conv(x[t, b].transpose(2, 1, 0).astype(np.int32), w.astype(np.int32),
                           syn.kernel[::-1], (syn.stride,) * 2, (syn.padding,) * 2, (1, 1), 1)
            a = utils.signed_clamp(a.astype(np.int64), 24) << 6
            du = (np.sign(u * (4096 - n.i_decay)) * (np.abs(u * (4096 - n.i_decay)) >> 12))
            raw = du + a
            w1 = np.where(raw > 2**23, raw - 2**24, raw)
            u = np.where(w1 <= -2**23, raw + 2**24, w1)
            dv = np.sign(v * (4096 - n.v_decay)) * (np.abs(v * (4096 - n.v_decay)) >> 12)
            bias = 0 if q.bias is None else q.bias.astype(np.int64) << 6
            v = np.clip(dv + u + bias, -2**23 + 1, 2**23 - 1)
            s = v > (n.vth << 6)
            v[s] = 0
            out[t, b] = s.transpose(2, 1, 0)
    return out


@pytest.mark.lava
def test_emulator_matches_lava_equations_with_leak(digits):
    """Both emulator engines equal a per-sample loop over Lava's own conv helper and the LIF
    equations, with a leaky layer (v_decay > 0), current memory, bias and stride 2."""
    from dataclasses import replace

    from ff_neuro.run.emulator import conv_fixed_layer, run_fixed_layer
    net = small_conv_net(seed=3)
    net.layers[0] = Layer(net.layers[0].synapse, replace(net.layers[0].neuron,
                                                         v_decay=410 / 4096))
    qnet, _ = quantize(net)
    q0 = qnet.quantized[0]
    q0 = Layer(q0.synapse, replace(q0.neuron, i_decay=3000))
    x = network_inputs(qnet, digits_images(digits, 6))
    ours = conv_fixed_layer(q0, x)
    ref = _reference_fixed_layer(q0, np.asarray(x))
    assert ours.sum() > 20
    np.testing.assert_array_equal(ours, ref)
    np.testing.assert_array_equal(run_fixed_layer(q0, x), ref)


def test_quantization_report_and_float_fixed_agreement(digits):
    net = small_conv_net()
    x = digits_images(digits, 64)
    qnet, rep = quantize(net, calibration_inputs=network_inputs(net, x))
    assert rep.ok and len(rep.layers) == 2
    q0 = qnet.quantized[0]
    # the graded first layer cannot wrap Lava's 24-bit current
    assert np.abs(q0.weight).sum(axis=(1, 2, 3)).max() * net.encoder.levels <= CURRENT_MAX
    for r in rep.layers:
        assert 0.01 < r.rate_fixed < 0.9 and abs(r.rate_fixed - r.rate_float) < 0.02
    f = one_pass(get_backend("float"), qnet, x, keep_spikes=True).spikes
    q = one_pass(get_backend("emulator"), qnet, x, keep_spikes=True).spikes
    assert np.mean(f[0] == q[0]) > 0.99


def test_silent_layer_warns(digits):
    from ff_neuro.model import LIF
    from ff_neuro.quantization import QuantizationWarning
    net = small_conv_net()
    net.layers[1] = Layer(net.layers[1].synapse, LIF(threshold=1e4))  # can never fire
    with pytest.warns(QuantizationWarning, match="silent"):
        _, rep = quantize(net, calibration_inputs=network_inputs(net, digits_images(digits, 16)))
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
    ev = np.random.default_rng(stride + padding).integers(0, 4, (3,) + hw)
    syn = Conv2d(weight=np.ones((5, 3, 3, 3)), in_shape=(3,) + hw, stride=stride,
                 padding=padding)
    exact = syn.synops(ev[None])[0]
    assert exact == _brute_force_synops(ev, 3, 3, stride, padding, 5)
    # NeuroBench's definition: binarised-input conv with an all-ones kernel, summed
    ones = torch.nn.functional.conv2d(torch.tensor(ev, dtype=torch.float64)[None],
                                      torch.ones(5, 3, 3, 3, dtype=torch.float64),
                                      stride=stride, padding=padding)
    assert exact == pytest.approx(float(ones.sum()))
    fan = syn.synops_fanout(ev[None])[0]
    if stride == 2:
        assert fan > 1.3 * exact  # ceil(3/2)^2 = 4 reaches per event vs <= 9/4 on average


def test_conv_energy_and_fit(digits):
    from ff_neuro.energy import fit_check, measure_activity
    net = small_conv_net()
    x = digits_images(digits, 32)
    qnet, _ = quantize(net)
    res = one_pass(get_backend("emulator"), qnet, x)
    act = measure_activity(qnet, res)
    a0, a1 = act.layers
    assert a0.input_spikes == pytest.approx(res.input_counts.sum() / 32)
    assert a1.input_spikes == pytest.approx(res.counts[0].sum() / 32)
    assert a0.synops < a0.synops_fanout  # stride 2
    rep = act.report("ffgaf-table2")
    enc, chip0, chip1 = rep.layers
    assert enc.name == "encoder (host)" and enc.macs == qnet.encoder.macs()
    assert chip1.compute_mJ == pytest.approx(a1.synops * 0.2 / 1e9)
    assert chip0.memory_mJ == pytest.approx((8 * 4 * 9 + 8) * 100 / 1e9)
    fit = fit_check(qnet, "loihi")
    assert fit.fits_on_one_chip and fit.layers[1].n_out == 160
    assert fit.layers[1].synapses == 10 * 8 * 10 * 10  # reach per axis [2, 3, 3, 2]: padded borders
