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
