"""Conv NetX export: round trip through lava-dl's netx loader, and a real Lava fixed_pt run
spike-exact with the emulator (graded input, stride 2, bias, non-square maps)."""
from __future__ import annotations

import numpy as np

from test_conv import digits_images, small_conv_net

from ff_neuro.export.lava_runner import run_conv_lava
from ff_neuro.export.netx import write_netx
from ff_neuro.quantization.conv import quantize_conv
from ff_neuro.run.conv import encode, run_fixed


def test_netx_conv_round_trip(tmp_path):
    from lava.lib.dl import netx
    net = small_conv_net(seed=1)
    net.layers[1].v_decay = 410 / 4096
    qnet, _ = quantize_conv(net)
    path = write_netx(qnet, tmp_path / "conv.net")
    lnet = netx.hdf5.Network(net_config=str(path), input_message_bits=qnet.encoder.message_bits)
    assert len(lnet.layers) == 2
    assert lnet.inp.shape == qnet.encoder.out_shape[::-1]  # Lava's (W, H, C)
    for block, q in zip(lnet.layers, qnet.quantized):
        assert type(block).__name__ == "Conv"
        assert tuple(block.out.shape) == q.out_shape[::-1]
        syn = block.synapse
        w = syn.weight.init
        # Lava kernel (out, kw, kh, in), spatially flipped (Lava convolves, torch correlates)
        np.testing.assert_array_equal(w, q.weight[:, :, ::-1, ::-1].transpose(0, 3, 2, 1))
        assert list(syn.stride.init) == [q.stride] * 2 and list(syn.padding.init) == [q.padding] * 2
        assert int(syn.num_message_bits.init) == (qnet.encoder.message_bits if q is qnet.quantized[0] else 0)
        neuron = block.neuron
        assert int(neuron.vth.init) == q.vth
        assert int(neuron.dv.init) == q.v_decay and int(neuron.du.init) == q.i_decay - 1
        bias = np.zeros(q.out_shape[0]) if q.bias_mant is None else q.bias_mant
        np.testing.assert_array_equal(np.asarray(neuron.bias_mant.init),
                                      np.broadcast_to(bias, q.out_shape[::-1]))
        assert int(neuron.bias_exp.init) == 6
    # with a trailing flatten layer (for a dense readout after the convs) netx still loads it
    from ff_neuro.export.netx import write_netx_conv
    flat = write_netx_conv(qnet, tmp_path / "flat.net", flatten=True)
    lflat = netx.hdf5.Network(net_config=str(flat), input_message_bits=qnet.encoder.message_bits)
    assert len(lflat.layers) == 2 and lflat.out.shape == qnet.quantized[-1].out_shape[::-1]


def test_conv_emulator_vs_lava_fixed_pt(digits):
    net = small_conv_net(seed=0)
    x = digits_images(digits, 12)
    qnet, _ = quantize_conv(net, calibration_images=digits_images(digits, 64))
    emu = run_fixed(qnet, encode(qnet, x))
    lava, stats = run_conv_lava(qnet, x, timeout_s=120, chunk=8)  # two Lava runs: 8 + 4
    assert stats.windows == 12 and stats.n_steps == (8 * 8 + 2) + (4 * 8 + 2)
    for k, (e, l) in enumerate(zip(emu, lava)):
        assert e.shape == l.shape == (8, 12) + qnet.quantized[k].out_shape
        assert e.sum() > 100  # the layers are active
        np.testing.assert_array_equal(e, l)


def test_conv_lava_floating_pt_equals_run_float(digits):
    """Lava floating_pt (Conv + LIFReset, float64) gives run_float's spikes bit for bit: every
    layer, step, channel and position (graded input with the encoder's clip / levels folded
    into layer 0, stride 2, bias, a leaky layer, non-square maps, two chunks = two compiles).
    No quantization: the float model runs as it is."""
    from ff_neuro.run.conv import run_float
    net = small_conv_net(seed=2)
    net.layers[1].v_decay = 410 / 4096
    net.layers[1].bias = np.random.default_rng(3).normal(0, 0.05, 10).astype(np.float32)
    x = digits_images(digits, 12)
    ref = run_float(net, encode(net, x))
    lava, stats = run_conv_lava(net, x, timeout_s=120, chunk=8, mode="floating_pt")
    assert stats.windows == 12 and stats.n_steps == (8 * 8 + 2) + (4 * 8 + 2)
    for k, (f, l) in enumerate(zip(ref, lava)):
        assert f.shape == l.shape == (8, 12) + net.layers[k].out_shape
        assert 0.05 < f.mean() < 0.6  # the layers are active, not saturated
        np.testing.assert_array_equal(f, l)


def test_conv_parity_all_four_backends(tmp_path, digits):
    """The conv parity report runs float, emulator, Lava fixed_pt and Lava floating_pt: the two
    exact pairs agree on every spike, and the Lava pair differs exactly where quantization does
    (same mismatches per layer and step as float vs emulator). ``evaluate`` takes lava-float."""
    from ff_neuro import conv_pipeline as cp
    net = small_conv_net(seed=0, in_shape=(1, 8, 8))
    qnet, _ = quantize_conv(net, calibration_images=cp.images(net, digits.x_train[:64]))
    x, y = digits.x_test[:6], digits.y_test[:6]
    d, text = cp.parity(qnet, x, y, ["float", "emulator", "lava_fixed_pt", "lava_floating_pt"],
                        timeout_s=120, plot_path=str(tmp_path / "p.png"))
    assert set(d["accuracy"]) == {"float", "emulator", "lava_fixed_pt", "lava_floating_pt"}
    p = d["pairs"]
    assert set(p) == {"float_vs_emulator", "emulator_vs_lava_fixed_pt", "float_vs_lava_fixed_pt",
                      "float_vs_lava_floating_pt", "lava_floating_pt_vs_lava_fixed_pt"}
    for exact in ("emulator_vs_lava_fixed_pt", "float_vs_lava_floating_pt"):
        assert p[exact]["spike_agreement"] == 1.0 and p[exact]["prediction_agreement"] == 1.0
    q, lq = p["float_vs_emulator"], p["lava_floating_pt_vs_lava_fixed_pt"]
    assert sum(q["mismatches_per_layer"]) > 0  # quantization changes some spikes here
    assert lq["mismatches_per_layer_step"] == q["mismatches_per_layer_step"]
    assert d["accuracy"]["lava_floating_pt"] == d["accuracy"]["float"]
    assert set(d["lava_runs"]) == {"lava_fixed_pt", "lava_floating_pt"}
    assert "float_vs_lava_floating_pt: spike agreement 1.000000" in text.replace(" vs ", "_vs_")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    ev, _ = cp.evaluate(net, digits, "lava-float", samples=6, timeout_s=120)  # float model
    assert ev["backend"] == "lava-float" and ev["accuracy"] == d["accuracy"]["float"]
    assert ev["lava"]["windows"] == 6
