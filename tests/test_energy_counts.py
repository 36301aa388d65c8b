"""Operation counts behind the energy report come from the deployed run, and agree with a
brute-force count from the recorded spikes, on the emulator and on Lava alike."""
import numpy as np
import pytest

from ff_neuro.energy import measure_activity
from ff_neuro.quantization import quantize
from ff_neuro.run import get_backend, label_sweep

from conftest import random_net


def brute_force_synaptic_ops(spikes_in: np.ndarray, weight: np.ndarray) -> int:
    """NeuroBench's definition: binarise inputs and weights, zero the bias, run the layer, sum
    the outputs (one AC per active input per nonzero synapse per step)."""
    x = (spikes_in != 0).astype(np.int64)
    w = (weight != 0).astype(np.int64)
    return int(np.einsum("...i,oi->...o", x, w).sum())


@pytest.mark.lava
def test_counts_match_brute_force_and_lava():
    net = random_net(seed=11, sizes=(24, 16, 10), n_classes=4, time_steps=8, w_std=0.7)
    qnet, _ = quantize(net)
    assert all((q.weight != 0).all() for q in qnet.quantized)  # dense: every synapse counts
    x = np.random.default_rng(3).random((10, 20)).astype(np.float32)
    y = np.arange(10) % 4
    emu = label_sweep(get_backend("emulator"), qnet, x, keep_spikes=True, chunk=10)
    lava = label_sweep(get_backend("lava-fixed", timeout_s=120), qnet, x, keep_spikes=True,
                       chunk=10)
    rep = measure_activity(qnet, emu).report("ffgaf-table2")
    runs = 10 * 4
    from ff_neuro.encoding import sweep_inputs
    from ff_neuro.run.inference import TEST_SEED_OFFSET
    inp = sweep_inputs(x, qnet.label_embedding, qnet.encoder, TEST_SEED_OFFSET, np.arange(10))
    inp = inp.reshape(inp.shape[0], runs, -1)          # run n * C + c
    layer_inputs = [inp] + emu.spikes[:-1]
    for k, (layer, q) in enumerate(zip(rep.layers, qnet.quantized)):
        brute = brute_force_synaptic_ops(layer_inputs[k], q.weight)
        # the report is per inference: per run x runs per inference (the 4-label sweep)
        assert np.isclose(layer.synaptic_events, brute / runs * 4), (k, layer.synaptic_events)
    # counts measured on Lava equal the emulator's, so energies are identical
    for mode in ("inference", "training"):
        a = measure_activity(qnet, emu, mode=mode, labels=y)
        b = measure_activity(qnet, lava, mode=mode, labels=y)
        assert a.layer_spikes_per_run == b.layer_spikes_per_run
        assert a.input_spikes_per_run == b.input_spikes_per_run
    assert measure_activity(qnet, lava).report("loihi").total_mJ == \
        measure_activity(qnet, emu).report("loihi").total_mJ


def test_training_mode_counts_hard_negative_passes():
    net = random_net(seed=5, sizes=(24, 12), n_classes=4, time_steps=6)
    qnet, _ = quantize(net)
    x = np.random.default_rng(1).random((6, 20)).astype(np.float32)
    y = np.arange(6) % 4
    sw = label_sweep(get_backend("emulator"), qnet, x, keep_spikes=True, chunk=6)
    plain = measure_activity(qnet, sw, mode="training", labels=y)
    hard = measure_activity(qnet, sw, mode="training", labels=y, hard_negatives=True)
    assert (plain.runs_per_inference, hard.runs_per_inference) == (2, 6)
    e_plain = plain.report("ffgaf-table2")
    e_hard = hard.report("ffgaf-table2")
    assert e_hard.total_mJ > e_plain.total_mJ
    assert any("hard-negative" in n for n in e_hard.notes)


def test_graded_input_counts_messages_not_values():
    from ff_neuro.model import InputEncoding
    net = random_net(seed=2, sizes=(24, 12), n_classes=4, time_steps=6)
    net.encoder = InputEncoding(kind="graded", time_steps=6, levels=15)
    qnet, _ = quantize(net)
    x = np.full((5, 20), 0.6, dtype=np.float32)
    sw = label_sweep(get_backend("emulator"), qnet, x, keep_spikes=True, chunk=5)
    # every pixel (20) and the one label input send a message at each of the 6 steps
    assert sw.input_events_per_run == 21 * 6
    assert measure_activity(qnet, sw).report("loihi").total_mJ > 0
