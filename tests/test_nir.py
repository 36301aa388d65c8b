"""NIR export: graph structure, exact round trip (float and fixed point), and behaviour: a
forward-Euler simulation of NIR's documented ODEs spikes exactly like the torch backend."""
import os

import nir
import numpy as np
import pytest

from ff_neuro.export.nir_export import from_nir, read_layers, to_nir, write_nir
from ff_neuro.model import Dense, LabelEmbedding, Layer, Network
from ff_neuro.quantization import quantize
from ff_neuro.run import get_backend

from conftest import ff_net, random_spikes

DECAYS = (410 / 4096, 0.0, 49 / 4096)  # 49/4096: 1 / (4096/49) != 49/4096 in float64


def make_net(seed=0, sizes=(24, 16, 12, 8), decays=DECAYS, biases=(True, False, True),
             thresholds=(0.8, 1.0, 1.3)):
    rng = np.random.default_rng(seed)
    layers = [Layer.dense(weight=rng.normal(0.0, 0.5, (n_out, n_in)), threshold=th,
                          v_decay=dv, bias=rng.normal(0.0, 0.1, n_out) if b else None)
              for n_in, n_out, dv, b, th in zip(sizes[:-1], sizes[1:], decays, biases,
                                                thresholds)]
    return ff_net(layers)


def chain(graph):
    """Node names from the Input node along the edges (written independently of the exporter)."""
    succ = dict(graph.edges)
    assert len(succ) == len(graph.edges), "a node with two successors"
    name = next(k for k, n in graph.nodes.items() if isinstance(n, nir.Input))
    order = [name]
    while name in succ:
        name = succ[name]
        order.append(name)
    return order


def simulate_nir(graph, x, dt=1e-4):
    """Forward Euler with step ``dt`` of the NIR primitives' documented equations.

    Linear: y = W x.  Affine: y = W x + b.
    LIF: tau dv/dt = (v_leak - v) + r I;  IF: v += r I per step (as Sinabs, Norse and
    snnTorch integrate it); then z = v > v_threshold and v = v_reset where z. Returns every
    neuron node's spikes.
    """
    names = chain(graph)[1:-1]
    T, B, _ = x.shape
    v = {n: None for n in names}
    out = {n: [] for n in names if isinstance(graph.nodes[n], (nir.LIF, nir.IF))}
    for t in range(T):
        sig = x[t].astype(np.float64)
        for n in names:
            node = graph.nodes[n]
            if isinstance(node, (nir.Linear, nir.Affine)):
                sig = sig @ np.asarray(node.weight, np.float64).T
                if isinstance(node, nir.Affine):
                    sig = sig + np.asarray(node.bias, np.float64)
            else:
                if v[n] is None:
                    v[n] = np.zeros((B, sig.shape[1]))
                r = np.asarray(node.r, np.float64)
                if isinstance(node, nir.LIF):
                    v[n] = v[n] + dt / np.asarray(node.tau, np.float64) * (
                        (np.asarray(node.v_leak, np.float64) - v[n]) + r * sig)
                else:
                    v[n] = v[n] + r * sig
                z = v[n] > np.asarray(node.v_threshold, np.float64)
                v[n] = np.where(z, np.asarray(node.v_reset, np.float64), v[n])
                sig = z.astype(np.float64)
                out[n].append(z.astype(np.uint8))
    return [np.stack(out[n]) for n in out]


def expected_chain(net, biases):
    order = ["input"]
    types = [nir.Input]
    for k, (layer, b) in enumerate(zip(net.layers, biases)):
        order += [f"fc{k}", f"neuron{k}"]
        types += [nir.Affine if b else nir.Linear, nir.IF if layer.neuron.v_decay == 0 else nir.LIF]
    return order + ["output"], types + [nir.Output]


def test_float_export_structure_and_exact_round_trip(tmp_path):
    net = make_net()
    path = write_nir(net, tmp_path / "net.nir")
    assert path == tmp_path / "net.nir" and path.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["net.nir"]  # no temp file left behind
    g = nir.read(path)

    names, types = expected_chain(net, (True, False, True))
    assert chain(g) == names
    assert g.edges == list(zip(names[:-1], names[1:]))
    assert set(g.nodes) == set(names)
    assert [type(g.nodes[n]) for n in names] == types
    np.testing.assert_array_equal(g.nodes["input"].input_type["input"], [24])
    np.testing.assert_array_equal(g.nodes["output"].output_type["output"], [8])
    for k, layer in enumerate(net.layers):
        assert g.nodes[f"fc{k}"].weight.shape == (layer.n_out, layer.n_in)
        neu = g.nodes[f"neuron{k}"]
        np.testing.assert_array_equal(neu.v_threshold, np.full(layer.n_out,
                                                               layer.neuron.threshold))
        np.testing.assert_array_equal(neu.v_reset, 0)
        if isinstance(neu, nir.LIF):
            np.testing.assert_array_equal(neu.v_leak, 0)
            np.testing.assert_allclose(neu.tau, 1e-4 / layer.neuron.v_decay, rtol=1e-15)
            np.testing.assert_allclose(neu.r * 1e-4 / neu.tau, 1.0, rtol=1e-15)  # input gain 1
        else:               # IF integrates r I per step (Sinabs, Norse, snnTorch): r = 1
            np.testing.assert_array_equal(neu.r, 1.0)
        assert neu.metadata["v_decay"] == layer.neuron.v_decay
    assert g.metadata["producer"] == "ff-neuro" and not g.metadata["quantized"]
    assert g.metadata["dt"] == 1e-4  # snnTorch's step, the default
    assert g.metadata["encoding"]["time_steps"] == net.time_steps
    assert g.metadata["label_embedding"]["n_classes"] == net.n_classes

    back = read_layers(g)
    assert len(back) == len(net.layers)
    for got, layer in zip(back, net.layers):
        assert isinstance(got, Layer)
        assert got.weight.dtype == np.float32
        np.testing.assert_array_equal(got.weight, layer.weight)
        if layer.bias is None:
            assert got.bias is None
        else:
            np.testing.assert_array_equal(got.bias, layer.bias)
        assert got.neuron == layer.neuron
    # the whole network comes back from ff-neuro's metadata
    whole = from_nir(g)
    assert whole.label_embedding == net.label_embedding and whole.readouts == net.readouts
    assert whole.encoder == net.encoder


def test_round_trip_without_metadata_recovers_exact_loihi_decays():
    """A graph from another tool has no metadata: v_decay = dt / tau, snapped to 1/4096."""
    rng = np.random.default_rng(3)
    decays = [k / 4096 for k in (1, 49, 93, 98, 410, 2048, 4095, 4096)] + [0.0]
    layers = [Layer.dense(weight=rng.normal(size=(4, 4)), threshold=0.1 + k, v_decay=dv)
              for k, dv in enumerate(decays)]
    net = ff_net(layers)
    for dt in (1.0, 1e-4):
        g = to_nir(net, dt=dt)
        for node in g.nodes.values():
            node.metadata = {}
        g.metadata = {}
        for got, layer in zip(read_layers(g, dt=dt), net.layers):
            assert got.neuron == layer.neuron
            np.testing.assert_array_equal(got.weight, layer.weight)


def test_quantized_export_round_trip(tmp_path):
    net = make_net(seed=1)
    qnet, _ = quantize(net)
    g = nir.read(write_nir(qnet, tmp_path / "q.nir", quantized=True))
    names, types = expected_chain(net, (True, False, True))
    assert chain(g) == names and [type(g.nodes[n]) for n in names] == types
    assert g.metadata["quantized"]
    for k, q in enumerate(qnet.quantized):
        fc, neu = g.nodes[f"fc{k}"], g.nodes[f"neuron{k}"]
        assert np.issubdtype(fc.weight.dtype, np.integer)
        np.testing.assert_array_equal(fc.weight, q.weight)
        np.testing.assert_array_equal(neu.v_threshold, q.neuron.vth)
        assert fc.metadata["scale"] == q.neuron.scale and neu.metadata["scale"] == q.neuron.scale
        assert neu.metadata["units"] == "loihi_integer"
        if q.neuron.v_decay:
            np.testing.assert_allclose(neu.tau, 1e-4 * 4096 / q.neuron.v_decay, rtol=1e-15)
    back = read_layers(g)
    for got, q in zip(back, qnet.quantized):
        assert got.weight.dtype == np.int32 and got.quantized
        np.testing.assert_array_equal(got.weight, q.weight)
        if q.bias is None:
            assert got.bias is None
        else:
            np.testing.assert_array_equal(got.bias, q.bias)
        assert got.neuron == q.neuron
    # the whole quantized network: its Loihi layers, and the float values they stand for
    whole = from_nir(g)
    x = random_spikes(1, 10, 16, 24)
    emu = get_backend("emulator")
    for a, b in zip(emu.run(whole, x).spikes, emu.run(qnet, x).spikes):
        np.testing.assert_array_equal(a, b)
    # The float export of the same net is unaffected by net.quantized.
    for got, layer in zip(read_layers(to_nir(qnet)), net.layers):
        np.testing.assert_array_equal(got.weight, layer.weight)


def test_errors(tmp_path):
    net = make_net()
    with pytest.raises(ValueError, match="quantized model"):
        to_nir(net, quantized=True)
    with pytest.raises(ValueError, match="quantized model"):
        write_nir(net, tmp_path / "x.nir", quantized=True)
    assert not any(tmp_path.iterdir())
    with pytest.raises(ValueError, match="dt"):
        to_nir(net, dt=0.0)
    q = [Layer.loihi(Dense(weight=np.ones((2, 3), int)), vth=5, v_decay=410, i_decay=2048)]
    qnet = ff_net([Layer.dense(weight=np.ones((2, 3)), threshold=1.0, v_decay=0.1)],
                  quantized=q)
    with pytest.raises(ValueError, match="i_decay"):
        to_nir(qnet, quantized=True)
    g = to_nir(net)
    g.nodes["neuron0"].v_leak = np.ones_like(g.nodes["neuron0"].v_leak)
    with pytest.raises(ValueError, match="v_leak"):
        read_layers(g)
    g = to_nir(net)
    g.edges.append(("input", "neuron1"))
    with pytest.raises(ValueError, match="chain"):
        read_layers(g)


def test_existing_file_is_replaced_atomically(tmp_path):
    path = tmp_path / "net.nir"
    path.write_bytes(b"old")
    write_nir(make_net(), path)
    assert len(read_layers(nir.read(path))) == 3
    assert os.listdir(tmp_path) == ["net.nir"]


@pytest.mark.parametrize("dt", [1.0, 1e-4])
@pytest.mark.parametrize("seed", [0, 1])
def test_nir_euler_simulation_matches_torch_backend(tmp_path, seed, dt):
    net = make_net(seed=seed)
    x = random_spikes(seed, 20, 32, net.layers[0].n_in, p=0.3)
    g = nir.read(write_nir(net, tmp_path / "net.nir", dt=dt))
    got = simulate_nir(g, x, dt=dt)
    ref = get_backend("float").run(net, x).spikes
    assert len(got) == len(ref) == len(net.layers)
    for a, b in zip(got, ref):
        assert a.shape == b.shape and a.sum() > 50  # every layer is active
        np.testing.assert_array_equal(a, b)


def test_quantized_nir_simulation_approximates_emulator(tmp_path):
    """The quantized graph in integer units; only truncation of the decay differs."""
    net = make_net(seed=2)
    qnet, _ = quantize(net)
    x = random_spikes(2, 20, 64, net.layers[0].n_in, p=0.3)
    g = nir.read(write_nir(qnet, tmp_path / "q.nir", quantized=True))
    got = simulate_nir(g, x)
    ref = get_backend("emulator").run(qnet, x).spikes
    for a, b in zip(got, ref):
        assert a.sum() > 50
        assert (a == b).mean() > 0.97


def test_quantized_graph_with_graded_input_reads_back_the_float_weights():
    """A quantized graph's float layers are its integers over the scale, and layer 0's are per
    input value, not per graded message (a message g stands for g / levels)."""
    from ff_neuro.model import InputEncoding, SpikeCountReadout
    rng = np.random.default_rng(0)
    net = Network([Layer.dense(weight=rng.normal(0, 0.5, (8, 6)), threshold=1.0,
                               v_decay=0.125)],
                  encoder=InputEncoding(kind="graded", levels=4, time_steps=20),
                  readouts=[SpikeCountReadout(n_classes=8)])
    qnet, _ = quantize(net)
    back = from_nir(to_nir(qnet, quantized=True))
    np.testing.assert_allclose(back.layers[0].weight, net.layers[0].weight, atol=0.01)
    x = rng.integers(0, 5, (20, 16, 6)).astype(np.uint8)
    a = get_backend("float").run(net, x).spikes[0]
    b = get_backend("float").run(back, x).spikes[0]
    assert abs(int(a.sum()) - int(b.sum())) < 0.02 * a.sum()
