"""Synop conventions, static energy and a lava-dl NetX network priced on the Loihi profiles
(``benchmarks/energy_loihi2_pilotnet.py`` checks the same pricing against a Loihi 2
measurement)."""
from pathlib import Path

import numpy as np
import pytest

from ff_neuro.energy import SpikingLayerActivity, load_profile, measure_activity, snn_energy
from ff_neuro.export.netx import read_netx
from ff_neuro.model import Conv2d, Dense
from ff_neuro.run import get_backend, infer

PILOTNET = Path(__file__).parents[1] / "benchmarks" / "data" / "pilotnet_lif" / "network.net"


def test_profiles_state_their_synop_convention():
    assert load_profile("loihi").synop_convention == "stored"
    assert load_profile("loihi2").synop_convention == "stored"
    for name in ("ffgaf-table2", "lemaire2022-45nm", "truenorth", "spinnaker2"):
        assert load_profile(name).synop_convention == "dense"
    with pytest.raises(ValueError, match="synop_convention"):
        load_profile("loihi").__class__(**{**load_profile("loihi").__dict__,
                                           "synop_convention": "sparse"})


def test_stored_synops_count_nonzero_weights_exactly():
    """Brute force over a small per-axis conv with zero weights: every input event at
    (c, h, w) reaches each output (o, y, x) whose window holds it at an offset whose weight is
    nonzero."""
    rng = np.random.default_rng(0)
    w = rng.integers(-3, 4, (3, 2, 3, 2))                 # about 1/7 zeros
    syn = Conv2d(weight=w, in_shape=(2, 7, 6), stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    ev = rng.integers(0, 3, (2, 2, 7, 6)).astype(float)
    (sy, sx), (py, px), (dy, dx) = syn.stride_hw, syn.padding_hw, syn.dilation_hw
    want, dense = np.zeros(2), np.zeros(2)
    _, H, W = syn.out_shape
    for n in range(2):
        for o in range(3):
            for y in range(H):
                for x in range(W):
                    for c in range(2):
                        for i in range(3):
                            for j in range(2):
                                h, v = y * sy - py + i * dy, x * sx - px + j * dx
                                if 0 <= h < 7 and 0 <= v < 6:
                                    dense[n] += ev[n, c, h, v]
                                    want[n] += ev[n, c, h, v] * (w[o, c, i, j] != 0)
    np.testing.assert_allclose(syn.synops_stored(ev), want)
    np.testing.assert_allclose(syn.synops(ev), dense)
    d = Dense(weight=np.array([[1, 0, 2], [0, 0, 3]]))
    np.testing.assert_allclose(d.synops_stored(np.array([[1.0, 5.0, 2.0]])), [1 + 0 + 4])


def test_per_event_profiles_price_the_stored_count_and_say_so():
    act = SpikingLayerActivity(name="conv1", n_in=50, n_out=20, time_steps=4,
                               input_spikes=30.0, output_spikes=10.0, kind="conv2d",
                               synops=1000.0, parameters=100, synops_stored=600.0)
    loihi2 = snn_energy([act], "loihi2")
    assert loihi2.layers[0].synaptic_events == 600.0
    assert any("counted as 'stored'" in n for n in loihi2.notes)
    assert loihi2.to_dict()["synop_convention"] == "stored"
    truenorth = snn_energy([act], "truenorth")
    assert truenorth.layers[0].synaptic_events == 1000.0
    assert truenorth.to_dict()["synop_convention"] == "dense"


@pytest.fixture(scope="module")
def pilotnet_activity():
    net = read_netx(PILOTNET, time_steps=16)
    x = np.zeros((1, net.n_features), np.float32)
    res = infer(get_backend("emulator"), net, x, keep_counts=True)
    return net, measure_activity(net, res, backend="emulator")


def test_pilotnet_priced_with_static_energy_and_stored_synops(pilotnet_activity):
    from ff_neuro.energy import fit_check
    net, act = pilotnet_activity
    names = [a.name for a in act.layers]
    assert len(names) == 10
    # zero input: the input neurons and the first conv layer see nothing; the biases drive
    # every spike from conv1 on
    assert act.layers[0].output_spikes == 0 and act.layers[1].synops_stored == 0
    assert act.layers[1].output_spikes > 1e5
    # the stored count is the dense count on the nonzero weights only (~20 % fewer here)
    conv2 = act.layers[2]
    assert 0.7 < conv2.synops_stored / conv2.synops < 0.85
    # the hardware counts read from lava-dl's activity plot (per inference): within 10 %
    for k, hw in ((2, 25.80e6), (3, 7.22e6), (4, 2.41e6), (5, 1.08e6)):
        assert abs(act.layers[k].synops_stored / hw - 1) < 0.1, (k, act.layers[k].synops_stored)
    prof = load_profile("loihi2")
    fit = fit_check(net, prof)
    rep = act.report(prof, fit=fit)
    s = rep.static
    assert s["power_W"] == 0.232078 and s["steps"] == 16 and s["chips"] == 1
    assert rep.static_mJ == pytest.approx(0.232078 * 16 * 152.845e-6 * 1e3)
    assert rep.total_with_static_mJ == pytest.approx(rep.total_mJ + rep.static_mJ)
    text = rep.format_table()
    assert "Static energy:" in text and "0.232078 W" in text and "Total energy:" in text
    assert f"{fit.total_cores} cores" in text
    # the FFGAF-style profile keeps its dynamic-only report
    ffgaf = act.report("ffgaf-table2")
    assert ffgaf.static is None and "Static" not in ffgaf.format_table()
