"""Conv and mixed networks on Lava: the NetX export through lava-dl's netx loader, and real Lava
runs spike-exact with the emulator (fixed_pt) and the float backend (floating_pt): graded
input, stride 2, bias, non-square maps, and conv -> flatten -> dense networks."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from test_conv import digits_images, small_conv_net

from ff_neuro.encoding import network_inputs
from ff_neuro.export.netx import write_netx
from ff_neuro.model import (ClassGroups, InputEncoding, LIF, Layer, LinearReadout, Network,
                            load_model, save_model)
from ff_neuro.quantization import quantize
from ff_neuro.run import get_backend, one_pass


#: every test here runs Lava (deselected in the Lava-free tier)
pytestmark = pytest.mark.lava

def test_netx_conv_round_trip(tmp_path):
    from lava.lib.dl import netx
    net = small_conv_net(seed=1)
    net.layers[1] = Layer(net.layers[1].synapse, LIF(threshold=1.0, v_decay=410 / 4096))
    qnet, _ = quantize(net)
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
        assert list(syn.stride.init) == [q.synapse.stride] * 2
        assert list(syn.padding.init) == [q.synapse.padding] * 2
        assert int(syn.num_message_bits.init) == (qnet.encoder.message_bits
                                                  if q is qnet.quantized[0] else 0)
        neuron = block.neuron
        assert int(neuron.vth.init) == q.neuron.vth
        assert int(neuron.dv.init) == q.neuron.v_decay
        assert int(neuron.du.init) == q.neuron.i_decay - 1
        bias = np.zeros(q.out_shape[0]) if q.bias is None else q.bias
        np.testing.assert_array_equal(np.asarray(neuron.bias_mant.init),
                                      np.broadcast_to(bias, q.out_shape[::-1]))
        assert int(neuron.bias_exp.init) == 6


def test_conv_emulator_vs_lava_fixed_pt(digits):
    net = small_conv_net(seed=0)
    x = digits_images(digits, 12)
    qnet, _ = quantize(net, calibration_inputs=network_inputs(net, digits_images(digits, 64)))
    emu = one_pass(get_backend("emulator"), qnet, x, keep_spikes=True)
    lava_be = get_backend("lava-fixed", timeout_s=120, chunk=8)     # two Lava runs: 8 + 4
    lava = one_pass(lava_be, qnet, x, keep_spikes=True)
    st = lava_be.stats
    assert st.compiles == 2 and st.windows == 12
    assert st.n_steps == (8 * 8 + 2) + (4 * 8 + 2)
    for k, (e, l) in enumerate(zip(emu.spikes, lava.spikes)):
        assert e.shape == l.shape == (8, 12) + qnet.quantized[k].out_shape
        assert e.sum() > 100  # the layers are active
        np.testing.assert_array_equal(e, l)


def test_conv_lava_floating_pt_equals_float_backend(digits):
    """Lava floating_pt (Conv + LIFReset, float64) gives the float backend's spikes bit for
    bit: every layer, step, channel and position (graded input with the encoder's clip / levels
    folded into layer 0, stride 2, bias, a leaky layer, non-square maps, two compiles). No
    quantization: the float model runs as it is."""
    net = small_conv_net(seed=2)
    bias = np.random.default_rng(3).normal(0, 0.05, 10)
    net.layers[1] = Layer(replace(net.layers[1].synapse, bias=bias),
                          LIF(threshold=1.0, v_decay=410 / 4096))
    x = digits_images(digits, 12)
    ref = one_pass(get_backend("float"), net, x, keep_spikes=True).spikes
    be = get_backend("lava-float", timeout_s=120, chunk=8)
    lava = one_pass(be, net, x, keep_spikes=True).spikes
    assert be.stats.windows == 12 and be.stats.compiles == 2
    for k, (f, l) in enumerate(zip(ref, lava)):
        assert f.shape == l.shape == (8, 12) + net.layers[k].out_shape
        assert 0.05 < f.mean() < 0.6  # the layers are active, not saturated
        np.testing.assert_array_equal(f, l)


def test_conv_parity_all_four_backends(tmp_path, digits):
    """The parity report runs float, emulator, Lava fixed_pt and Lava floating_pt on a conv
    network: the two exact pairs agree on every spike, and the Lava pair differs exactly where
    quantization does (same mismatches per layer and step as float vs emulator)."""
    from ff_neuro.parity import run_parity
    from ff_neuro.pipeline import quantize_for_dataset
    net = small_conv_net(seed=0, in_shape=(1, 8, 8))
    qnet, _ = quantize_for_dataset(net, digits)
    x, y = digits.x_test[:6], digits.y_test[:6]
    rep = run_parity(qnet, x, y, ["float", "emulator", "lava_fixed_pt", "lava-float"],
                     timeout_s=120)
    assert set(rep.accuracy) == {"float", "emulator", "lava-fixed", "lava-float"}
    p = rep.pairs
    assert set(p) == {"float_vs_emulator", "emulator_vs_lava-fixed", "float_vs_lava-fixed",
                      "float_vs_lava-float", "lava-float_vs_lava-fixed"}
    for exact in ("emulator_vs_lava-fixed", "float_vs_lava-float"):
        assert p[exact].spike_agreement == 1.0 and p[exact].prediction_agreement == 1.0
    q, lq = p["float_vs_emulator"], p["lava-float_vs_lava-fixed"]
    assert q.mismatches.sum() > 0  # quantization changes some spikes here
    np.testing.assert_array_equal(lq.mismatches, q.mismatches)
    assert rep.accuracy["lava-float"] == rep.accuracy["float"]
    assert set(rep.lava) == {"lava-fixed", "lava-float"} and rep.readout == "class-groups"
    assert "float_vs_lava-float" in rep.format()
    rep.plot(tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def mixed_net(encoder: str, seed: int = 0) -> Network:
    """conv (stride 2, bias) -> conv -> flatten -> dense (leaky) -> dense, on 8x8 digits; the
    encoder is FFGAF's analog conv block (graded input) or rate-coded pixels (binary)."""
    from test_conv import small_conv_net as _small
    rng = np.random.default_rng(seed)
    if encoder == "analog":
        enc = _small(seed, in_shape=(1, 8, 8), time_steps=10).encoder
        shape0, w0 = enc.out_shape, rng.normal(0, 0.3, (8, 4, 3, 3))
    else:
        enc = InputEncoding(kind="rate", time_steps=10, gain=1.0)
        shape0, w0 = (1, 8, 8), rng.normal(0, 1.2, (8, 1, 3, 3))
    c0 = Layer.conv2d(weight=w0, threshold=1.0, in_shape=shape0, stride=2, padding=1,
                      bias=rng.normal(0, 0.05, 8))
    c1 = Layer.conv2d(weight=rng.normal(0, 0.4, (6, 8, 3, 3)), threshold=1.0,
                      in_shape=c0.out_shape, padding=1, v_decay=410 / 4096)
    d0 = Layer.dense(weight=rng.normal(0, 0.25, (30, 96)), threshold=1.0, v_decay=200 / 4096,
                     bias=rng.normal(0, 0.05, 30))
    d1 = Layer.dense(weight=rng.normal(0, 0.35, (20, 30)), threshold=1.0)
    groups = [np.arange(8) % 10, np.arange(6) % 10, np.arange(30) % 10, np.arange(20) % 10]
    return Network(layers=[c0, c1, d0, d1], encoder=enc,
                   readouts=[ClassGroups(groups, n_classes=10, predict_layers=(-2, -1))],
                   dataset={"name": "digits"})


@pytest.mark.parametrize("encoder", ["analog", "rate"])
def test_conv_flatten_dense_network(tmp_path, digits, encoder):
    """A conv -> flatten -> dense network quantizes, exports to NetX (conv, conv, flatten,
    dense, dense), runs on Lava fixed_pt spike for spike with the emulator and on Lava
    floating_pt spike for spike with the float backend, survives the model file, and is priced
    with exact conv synops and dense events."""
    import h5py
    from ff_neuro.energy import fit_check, measure_activity
    from ff_neuro.pipeline import quantize_for_dataset
    net = mixed_net(encoder)
    assert net.layers[2].in_shape == (6, 4, 4)   # the dense layer reads the conv output
    qnet, rep = quantize_for_dataset(net, digits)
    assert rep.ok, rep.format_table()
    path = write_netx(qnet, tmp_path / "mixed.net")
    with h5py.File(path, "r") as f:
        kinds = [f[f"layer/{i}/type"][()] for i in range(len(f["layer"]))]
    assert kinds == [b"input", b"conv", b"conv", b"flatten", b"dense", b"dense"]
    back = load_model(save_model(qnet, tmp_path / "mixed.h5"))
    x = digits.x_test[:10]
    emu = one_pass(get_backend("emulator"), back, x, keep_spikes=True)
    ref = one_pass(get_backend("emulator", engine="numpy"), qnet, x, keep_spikes=True)
    lava = one_pass(get_backend("lava-fixed", timeout_s=180), qnet, x, keep_spikes=True)
    for k, (e, r, l) in enumerate(zip(emu.spikes, ref.spikes, lava.spikes)):
        assert e.shape == (10, 10) + qnet.quantized[k].out_shape
        assert 0.02 < e.mean() < 0.8, f"layer {k} rate {e.mean():.3f}"
        np.testing.assert_array_equal(e, r)          # compiled engine = numpy reference
        np.testing.assert_array_equal(e, l)          # = Lava fixed_pt, every spike
    np.testing.assert_array_equal(emu.predictions, lava.predictions)
    flt = one_pass(get_backend("float"), net, x, keep_spikes=True)
    lflt = one_pass(get_backend("lava-float", timeout_s=180), net, x, keep_spikes=True)
    for f, l in zip(flt.spikes, lflt.spikes):
        np.testing.assert_array_equal(f, l)
    act = measure_activity(qnet, emu)
    names = [a.name for a in act.layers]
    assert names == ["conv1", "conv2", "lif3", "lif4"]
    assert act.layers[2].synaptic_events == pytest.approx(act.layers[2].input_spikes * 30)
    assert act.layers[2].input_spikes == pytest.approx(emu.spikes[1].sum() / 10)
    assert act.layers[0].kind == "conv2d" and act.layers[0].synops < act.layers[0].synops_fanout
    for profile in ("ffgaf-table2", "loihi"):
        e = act.report(profile)
        assert e.total_mJ > 0 and [l.name for l in e.layers][-4:] == names
    with pytest.raises(ValueError, match="convolution"):
        act.report("lemaire2022-45nm")
    fit = fit_check(qnet, "loihi")
    assert [l.name for l in fit.layers] == ["conv1", "conv2", "fc3", "fc4"]
    assert fit.layers[2].synapses == 96 * 30


def test_linear_readout_on_a_conv_network(digits):
    """A conv network read by a linear readout (one run, host regression) runs on every
    backend with the same predictions where the spikes agree."""
    from ff_neuro.run import fit_readout
    net = mixed_net("rate")
    ro = fit_readout(get_backend("float"), net, digits.x_train[:300], digits.y_train[:300])
    net.set_readout(ro)
    r = one_pass(get_backend("float"), net, digits.x_test, readout=net.get_readout("linear"))
    assert r.readout == "linear" and r.accuracy(digits.y_test) > 0.5
    assert isinstance(net.readouts[1], LinearReadout) and net.readout.kind == "class-groups"
