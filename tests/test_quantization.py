"""Quantization to Loihi fixed point: scales, ranges, edge cases, activity report."""
import warnings

import numpy as np
import pytest

from ff_neuro.config import QuantConfig
from ff_neuro.model import LIF, Layer
from ff_neuro.quantization import QuantizationError, QuantizationWarning, quantize
from ff_neuro.run import get_backend

from conftest import ff_net, random_net, random_spikes


def SpikingDense(weight, threshold, v_decay, bias=None):
    return Layer.dense(weight=weight, threshold=threshold, v_decay=v_decay, bias=bias)


def test_joint_scale_of_weights_and_threshold():
    net = random_net(seed=0, bias=True)
    qnet, rep = quantize(net)
    for f, q in zip(net.layers, qnet.quantized):
        assert q.weight.min() >= -256 and q.weight.max() <= 254
        assert np.max(np.abs(q.weight)) == 254  # full 8-bit range used
        s = q.neuron.scale
        assert q.neuron.vth == round(s * f.neuron.threshold)
        np.testing.assert_array_equal(q.weight, np.round(s * f.weight))
        np.testing.assert_array_equal(q.bias, np.round(s * f.bias))
        assert q.neuron.v_decay == round(f.neuron.v_decay * 4096)
        assert q.neuron.i_decay == 4096
    assert rep.ok and all(l.clipped_fraction == 0 for l in rep.layers)


def test_fixed_point_close_to_float():
    net = random_net(seed=1, sizes=(40, 30, 20), w_std=0.4)
    x = random_spikes(1, 16, 64, 40)
    qnet, rep = quantize(net, calibration_inputs=x)
    f = get_backend("float").run(net, x).spikes
    q = get_backend("emulator").run(qnet, x).spikes
    for a, b in zip(f, q):
        assert a.sum() > 100
        assert (a == b).mean() > 0.98
    assert all(abs(l.rate_float - l.rate_fixed) < 0.02 for l in rep.layers)


def test_all_zero_layer_is_refused():
    net = random_net()
    net.layers[1].weight[:] = 0
    with pytest.raises(QuantizationError, match="all-zero"):
        quantize(net)


def test_silent_layer_warns_loudly():
    # A threshold far above any reachable input: the layer never fires.
    net = random_net(seed=2, sizes=(20, 10))
    net.layers[0] = Layer(net.layers[0].synapse, LIF(threshold=1e3, v_decay=410 / 4096))
    with pytest.warns(QuantizationWarning, match="silent"):
        _, rep = quantize(net, calibration_inputs=random_spikes(0, 8, 16, 20))
    assert rep.layers[0].silent and not rep.ok
    assert "SILENT" in rep.format_table()


def test_negative_only_and_huge_weights():
    rng = np.random.default_rng(4)
    neg = SpikingDense(weight=-np.abs(rng.normal(0, 1, (8, 12))), threshold=1.0, v_decay=0.1)
    huge = SpikingDense(weight=rng.normal(0, 1e4, (6, 8)), threshold=5e4, v_decay=0.0)
    qnet, rep = quantize(ff_net([neg, huge]))
    assert qnet.quantized[0].weight.max() <= 0 and qnet.quantized[0].weight.min() == -254
    assert qnet.quantized[1].neuron.vth == round(qnet.quantized[1].neuron.scale * 5e4)
    # Threshold too large for 17 bits at full weight range: the scale is reduced.
    big_th = SpikingDense(weight=rng.normal(0, 1e-3, (4, 4)), threshold=10.0, v_decay=0.0)
    q, _ = quantize(ff_net([big_th]))
    assert q.quantized[0].neuron.vth <= 2**17 - 1
    # Threshold that rounds to zero is refused with an explanation.
    tiny_th = SpikingDense(weight=np.ones((2, 2)), threshold=1e-4, v_decay=0.0)
    with pytest.raises(QuantizationError, match="rounds to 0") as exc:
        quantize(ff_net([tiny_th]), QuantConfig(weight_max=254))
    assert "10000x the threshold" in str(exc.value) and "weight range" in str(exc.value)
    # A threshold that rounds to 1 from 0.81 (weights 314x the threshold, as a Hebbian layer
    # trained with a large learning rate) is kept but reported and warned about.
    w = np.full((3, 4), 100.0)
    w[0, 0] = 628.0
    coarse = SpikingDense(weight=w, threshold=2.0, v_decay=0.0)
    with pytest.warns(QuantizationWarning, match=r"vth = 1 from 0\.809 \(\+24 %\)"):
        q, rep = quantize(ff_net([coarse]))
    assert q.quantized[0].neuron.vth == 1
    assert rep.layers[0].vth_error == pytest.approx(1 / (254 / 628 * 2) - 1)
    assert rep.to_dict()["layers"][0]["vth_error"] > 0.2
