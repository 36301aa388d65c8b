"""Fixed-point emulator: bit-level semantics of Lava's Dense + LIF (fixed_pt)."""
import numpy as np
import pytest

from ff_neuro.model import Dense, InputEncoding, LabelEmbedding, Layer, Network
from ff_neuro.run.emulator import EmulatorBackend, netx_weight_bits, run_fixed_layer

from conftest import random_net


def QuantizedDense(weight, vth, v_decay, i_decay=4096, bias_mant=None):
    """A dense Loihi layer."""
    return Layer.loihi(Dense(weight=np.asarray(weight), bias=bias_mant), vth=vth,
                       v_decay=v_decay, i_decay=i_decay)


@pytest.mark.lava
@pytest.mark.parametrize("kind", ["mixed", "excitatory", "inhibitory", "small", "odd"])
def test_weight_mapping_equals_netx_and_lava(kind):
    from lava.lib.dl.netx.utils import optimize_weight_bits
    from lava.utils.weightutils import SignMode, clip_weights, truncate_weights
    rng = np.random.default_rng(0)
    w = {"mixed": rng.integers(-256, 255, (20, 30)),
         "excitatory": rng.integers(0, 255, (20, 30)),
         "inhibitory": -rng.integers(1, 257, (20, 30)),
         "small": rng.integers(-6, 7, (20, 30)) * 4,
         "odd": rng.integers(-127, 128, (20, 30)) | 1}[kind]
    w_opt, bits, exp, sign = optimize_weight_bits(w)
    mode = SignMode(int(sign))  # netx and Lava number the sign modes alike
    ref = truncate_weights(clip_weights(w_opt, mode, num_bits=8), mode, bits)
    ours, our_exp, our_bits = netx_weight_bits(w)
    np.testing.assert_array_equal(ours, ref)
    assert (our_exp, our_bits) == (exp, bits)
    # and the effective synaptic input equals the integer weights, except that Lava clips an
    # inhibitory-only -256 to -255 (clip_weights negates, then clips to [0, 255]).
    x = (rng.random(30) < 0.5).astype(np.int64)
    a = ours @ x
    a = a << our_exp if our_exp > 0 else a >> -our_exp
    w_eff = np.where(w == -256, -255, w) if kind == "inhibitory" else w
    np.testing.assert_array_equal(a, w_eff @ x)


def test_single_neuron_by_hand():
    # One input, weight 10, vth 25 -> v (in 1/64 units): 640, 1280 - decay, ...
    q = QuantizedDense(weight=np.array([[10]]), vth=25, v_decay=1024)
    x = np.ones((5, 1, 1), dtype=np.uint8)
    s = run_fixed_layer(q, x)[:, 0, 0]
    v = 0
    expect = []
    for _ in range(5):
        v = (v * (4096 - 1024)) >> 12  # v >= 0 here, truncation = floor
        v += 10 << 6
        fired = v > (25 << 6)
        expect.append(int(fired))
        if fired:
            v = 0
    np.testing.assert_array_equal(s, expect)


def test_voltage_saturates_and_current_wraps():
    # 24-bit limits: 400 inputs x 254 x 64 = 6.5M per step; v saturates at 2**23 - 1.
    q = QuantizedDense(weight=np.full((1, 400), 254), vth=2**17 - 1, v_decay=0)
    x = np.ones((3, 1, 400), dtype=np.uint8)
    s = run_fixed_layer(q, x)
    # u = 6,502,400 each step (no wrap); v = min(2*u, 2**23-1) > vth<<6 = 8,388,544? no:
    assert s[:, 0, 0].tolist() == [0, 1, 0]  # 13.0M saturates to 8,388,607 > 8,388,544
    # Current wrap: i_decay = 0 keeps u; u grows past 2**23 and wraps negative.
    qw = QuantizedDense(weight=np.full((1, 400), 254), vth=2**17 - 1, v_decay=4096, i_decay=0)
    s2 = run_fixed_layer(qw, np.ones((2, 1, 400), dtype=np.uint8))
    assert s2[:, 0, 0].tolist() == [0, 0]  # the second step's u wrapped to a negative value


def test_requires_quantized_model():
    net = Network(layers=[Layer.dense(np.ones((2, 3)), 1.0, 0.1)],
                  label_embedding=LabelEmbedding())
    with pytest.raises(ValueError, match="quantize"):
        EmulatorBackend().run(net, np.zeros((2, 1, 3), dtype=np.uint8))


def _qnet(rng, sizes, *, v_decay, i_decay, bias, wmax, vth, levels=1, emb="append", T=7,
          positive=False):
    layers, qs = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        w = rng.integers(-wmax, wmax + 1, (n_out, n_in))
        if positive:
            w = np.abs(w)
        b = rng.integers(-300, 300, n_out) if bias else None
        layers.append(Layer.dense(w.astype(np.float32), 1.0, 0.1))
        qs.append(QuantizedDense(weight=w, vth=vth, v_decay=v_decay, i_decay=i_decay,
                                 bias_mant=b))
    enc = InputEncoding(kind="rate" if levels == 1 else "graded", time_steps=T, levels=levels)
    return Network(layers=layers, quantized=qs, encoder=enc,
                   label_embedding=LabelEmbedding(kind=emb, n_classes=4))


@pytest.mark.parametrize("case", [
    dict(v_decay=410, i_decay=4096, bias=False, wmax=254, vth=900),      # mixed, w_exp 0
    dict(v_decay=0, i_decay=4096, bias=True, wmax=40, vth=300),          # IF, bias, w_exp < 0
    dict(v_decay=3000, i_decay=1024, bias=True, wmax=200, vth=300),      # current memory
    dict(v_decay=4096, i_decay=0, bias=False, wmax=254, vth=100_000, T=24,
         positive=True),                                                  # u wraps, v saturates
    dict(v_decay=100, i_decay=4096, bias=False, wmax=254, vth=500, levels=15),  # graded input
    dict(v_decay=200, i_decay=4096, bias=True, wmax=100, vth=400, emb="overlay"),
])
def test_compiled_engine_equals_numpy_reference(case):
    """The numba kernels (default engine, label-sweep sharing included) give the same spikes as
    the numpy reference, which the parity tests check against Lava fixed_pt."""
    from ff_neuro.encoding import sweep_inputs
    from ff_neuro.run import label_sweep
    from ff_neuro.run.inference import TEST_SEED_OFFSET
    rng = np.random.default_rng(len(str(case)))
    net = _qnet(rng, [60, 50, 40, 30], **case)
    x = rng.random((9, 56 if case.get("emb") != "overlay" else 60)).astype(np.float32)
    if case["i_decay"] == 0:  # drive hard so that u crosses 2**23 and wraps
        x = np.ones_like(x)
    ref = label_sweep(EmulatorBackend(engine="numpy"), net, x, keep_spikes=True, chunk=4)
    fast = label_sweep(EmulatorBackend(), net, x, keep_spikes=True, chunk=5)
    assert ref.input_events_per_run == fast.input_events_per_run
    assert ref.spikes[0].any()  # not a vacuous comparison
    for a, b in zip(ref.spikes, fast.spikes):
        assert a.any() or case["i_decay"] == 0
        np.testing.assert_array_equal(a, b)
    if case["i_decay"] == 0:  # u wrapped: layer 0 fired, then fell silent
        assert not ref.spikes[0][-1].any()
    np.testing.assert_array_equal(ref.scores, fast.scores)
    # plain run() of the compiled engine (no sharing) on the flattened sweep inputs as well
    inp = sweep_inputs(x, net.label_embedding, net.encoder, seed_offset=TEST_SEED_OFFSET,
                       sample_ids=np.arange(9))
    flat = np.ascontiguousarray(inp.reshape(net.time_steps, 9 * 4, -1))
    got = EmulatorBackend().run(net, flat).spikes
    for a, b in zip(ref.spikes, got):
        np.testing.assert_array_equal(a.reshape(b.shape), b)


def test_factored_inputs_rebuild_the_sweep():
    from ff_neuro.encoding import sweep_inputs, sweep_inputs_factored
    rng = np.random.default_rng(3)
    x = rng.random((6, 30)).astype(np.float32)
    for kind in ("append", "overlay", "code"):
        for enc in (InputEncoding(time_steps=5), InputEncoding(kind="graded", time_steps=3,
                                                               levels=7)):
            emb = LabelEmbedding(kind=kind, n_classes=5, code_bits=12)
            full = sweep_inputs(x, emb, enc, sample_ids=np.arange(6))
            img, lab = sweep_inputs_factored(x, emb, enc, sample_ids=np.arange(6))
            np.testing.assert_array_equal(full, img[:, :, None] + lab[:, None])


def test_results_do_not_depend_on_the_number_of_threads():
    """The emulator uses every core (numba's parallel loops, torch's threads); one thread gives
    the same spikes, for the fast kernels (a label sweep) and the general path (recurrent)."""
    import numba
    import torch
    import snntorch as snn
    import ff_neuro as ffn
    from ff_neuro.run import get_backend, infer
    ds = ffn.load_dataset("digits")
    torch.manual_seed(0)
    rec = torch.nn.Sequential(torch.nn.Linear(8, 32),
                              snn.RSynaptic(alpha=0.8, beta=0.9, linear_features=32,
                                            init_hidden=True), torch.nn.Linear(32, 10))
    with torch.no_grad():
        rec[0].weight.mul_(3)
    nets = [ffn.quantize(random_net(sizes=(74, 32, 16), n_classes=10))[0],
            ffn.quantize(ffn.from_snntorch(rec, (8,), time_steps=8, encoding="sequence",
                                           levels=15))[0]]
    before = (numba.get_num_threads(), torch.get_num_threads())
    try:
        for net in nets:
            runs = []
            for threads in (1, 2):
                numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
                torch.set_num_threads(threads)
                runs.append(infer(get_backend("emulator"), net, ds.x_test[:200],
                                  keep_counts=True))
            assert runs[0].counts[0].sum() > 0
            np.testing.assert_array_equal(runs[0].predictions, runs[1].predictions)
            for a, b in zip(runs[0].counts, runs[1].counts):
                np.testing.assert_array_equal(a, b)
    finally:
        numba.set_num_threads(before[0])
        torch.set_num_threads(before[1])
