"""The neurons and synapses other tools train, deployed exactly: snnTorch's ``Leaky``,
``Synaptic``, ``RLeaky`` and ``RSynaptic`` with every reset and both reset delays, per-neuron
decays and thresholds, and sum / average pooling folded into the neighbouring synapse.

Each construct is checked against the snnTorch module itself (float64, every spike of every
layer), the emulator against the reference neuron step (:func:`ff_neuro.run.lif.loihi_lif_step`)
and against Lava ``fixed_pt``, the float network against Lava ``floating_pt``, and the model
file round trip."""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import snntorch as snn
import torch

import ff_neuro as ffn
from ff_neuro.model import LIF, Dense, Layer, LoihiLIF, SpikeCountReadout
from ff_neuro.run import get_backend
from ff_neuro.run.emulator import EmulatorBackend
from ff_neuro.run.lif import loihi_lif_step

NEURONS = (snn.Leaky, snn.Synaptic, snn.RLeaky, snn.RSynaptic)


def module_spikes(module, inp):
    """The module in float64 on input ``inp`` (T, N, ...): every snnTorch neuron's spikes."""
    m = copy.deepcopy(module).double()
    hooks = [mod.register_forward_pre_hook(lambda mod, i: tuple(v.double() for v in i))
             for mod in m.modules() if isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d))]
    lif = [mod for mod in m.modules() if isinstance(mod, NEURONS)]
    rec = [[] for _ in lif]
    hooks += [mod.register_forward_hook(
        lambda mod, i, o, k=k: rec[k].append((o[0] if isinstance(o, tuple) else o).clone()))
        for k, mod in enumerate(lif)]
    for mod in lif:                       # a fresh state (a deep copy is not in snnTorch's
        for name in ("mem", "syn", "spk"):    # registry of neurons to reset)
            if hasattr(mod, name):
                setattr(mod, name, torch.zeros(0, dtype=torch.float64))
    with torch.no_grad():
        for t in range(inp.shape[0]):
            m(torch.from_numpy(inp[t].astype(np.float64)))
    for h in hooks:
        h.remove()
    return [torch.stack(r).numpy().astype(np.uint8) for r in rec]


def neuron(kind, reset, delay, n=16, per_neuron=True, **kw):
    g = torch.Generator().manual_seed(hash((kind.__name__, reset, delay)) % 2**31)
    rnd = (lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=g)) if per_neuron else \
        (lambda lo, hi: (lo + hi) / 2)
    kw.update(beta=rnd(0.5, 1.0), threshold=rnd(0.5, 1.5), init_hidden=True,
              reset_mechanism=reset, reset_delay=delay)
    if kind in (snn.Synaptic, snn.RSynaptic):
        kw["alpha"] = rnd(0.0, 0.9)
    if kind in (snn.RLeaky, snn.RSynaptic):
        kw["linear_features"] = n
    mod = kind(**kw)
    if kind in (snn.RLeaky, snn.RSynaptic):
        with torch.no_grad():
            mod.recurrent.weight.mul_(2)
    return mod


def dense_module(kind, reset, delay, seed=0):
    torch.manual_seed(seed)
    lin = torch.nn.Linear(20, 16)
    with torch.no_grad():
        lin.weight.mul_(3)
    return torch.nn.Sequential(lin, neuron(kind, reset, delay), torch.nn.Linear(16, 4),
                               snn.Leaky(beta=0.9, init_hidden=True))


def spikes_in(shape, T=30, N=50, p=0.4, seed=0):
    return (np.random.default_rng(seed).random((T, N) + tuple(shape)) < p).astype(np.uint8)


# RSynaptic(reset_delay=False) raises inside snnTorch 1.0 in the init_hidden style; its
# explicit-state form is checked below
CASES = [(k, r, d) for k in NEURONS for r in ("subtract", "zero") for d in (True, False)
         if d or k is not snn.RSynaptic]


@pytest.mark.parametrize("kind,reset,delay", CASES,
                         ids=[f"{k.__name__}-{r}-{'delay' if d else 'now'}" for k, r, d in CASES])
def test_float_equals_the_snntorch_module_and_the_emulator_its_reference(kind, reset, delay):
    module = dense_module(kind, reset, delay)
    net = ffn.from_snntorch(module, (20,), time_steps=30)
    x = spikes_in((20,))
    ref = module_spikes(module, x)
    got = get_backend("float").run(net, x).spikes
    for k, (a, b) in enumerate(zip(ref, got)):
        assert a.sum() > 20, f"layer {k} is nearly silent"
        np.testing.assert_array_equal(a.reshape(b.shape), b, err_msg=f"layer {k}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qnet, _ = ffn.quantize(net)
    fast = get_backend("emulator").run(qnet, x).spikes
    slow = EmulatorBackend(engine="numpy").run(qnet, x).spikes
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)
    # quantization keeps the dynamics: most spikes agree with float
    assert (fast[0] == got[0]).mean() > 0.97


def test_the_neuron_fields_map_to_what_the_module_computes():
    n = ffn.from_snntorch(dense_module(snn.Leaky, "zero", True), (20,)).layers[0].neuron
    assert (n.reset, n.reset_delay) == ("zero", False)    # Leaky: the same either way
    n = ffn.from_snntorch(dense_module(snn.Synaptic, "zero", True), (20,)).layers[0].neuron
    assert (n.reset, n.reset_delay, n.bias_in) == ("zero", True, "current")
    assert isinstance(n.threshold, np.ndarray) and n.threshold.shape == (16,)
    layer = ffn.from_snntorch(dense_module(snn.RSynaptic, "subtract", False), (20,)).layers[0]
    assert layer.neuron.reset_delay                       # snnTorch 1.0 resets late
    assert layer.recurrent.weight.shape == (16, 16) and layer.recurrent.bias is not None


def test_rsynaptic_without_reset_delay_computes_a_delayed_reset():
    """snnTorch 1.0's RSynaptic(reset_delay=False) writes its immediate reset into local
    variables only: called with explicit states (the only way it runs), it computes the
    delayed reset, which is what ff-neuro deploys."""
    module = dense_module(snn.RSynaptic, "subtract", False)
    net = ffn.from_snntorch(module, (20,), time_steps=30)
    lin, rs = copy.deepcopy(module[0]).double(), copy.deepcopy(module[1]).double()
    rs.init_hidden = False
    rs.recurrent.register_forward_pre_hook(lambda mod, i: tuple(v.double() for v in i))
    x = spikes_in((20,))
    spk = syn = mem = torch.zeros(50, 16, dtype=torch.float64)
    out = []
    with torch.no_grad():
        for t in range(30):
            spk, syn, mem = rs(lin(torch.from_numpy(x[t].astype(np.float64))), spk, syn, mem)
            out.append(spk.numpy().astype(np.uint8))
    got = get_backend("float").run(net, x).spikes[0]
    assert got.sum() > 100
    np.testing.assert_array_equal(np.stack(out), got)


def test_one_to_one_recurrence_and_a_uniform_tensor_map():
    torch.manual_seed(3)
    rl = snn.RLeaky(beta=torch.full((8,), 0.9), V=torch.linspace(-1, 1, 8), all_to_all=False,
                    init_hidden=True, threshold=torch.full((8,), 0.7))
    module = torch.nn.Sequential(torch.nn.Linear(20, 8), rl, torch.nn.Linear(8, 3))
    net = ffn.from_snntorch(module, (20,), time_steps=30)
    layer = net.layers[0]
    np.testing.assert_allclose(np.diag(layer.recurrent.weight), np.linspace(-1, 1, 8),
                               rtol=1e-6)
    assert layer.neuron.threshold == pytest.approx(0.7)   # uniform tensors stay one value
    x = spikes_in((20,))
    np.testing.assert_array_equal(module_spikes(module, x)[0],
                                  get_backend("float").run(net, x).spikes[0])


def test_reference_step_resets():
    """:func:`loihi_lif_step` on hand-computed cases: the four resets in integers."""
    def run(reset, delay, a):
        u, v = np.zeros(1, np.int64), np.zeros(1, np.int64)
        out = []
        for x in a:
            out.append(int(loihi_lif_step(u, v, np.array([x]), vth=10, v_decay=0,
                                          reset=reset, reset_delay=delay)[0]))
        return out, int(v[0])
    # TH = 640; inputs of 25 << 6 = 1600 per step
    assert run("zero", False, [25, 0, 0]) == ([1, 0, 0], 0)
    assert run("zero", True, [25, 25, 0]) == ([1, 0, 0], 0)       # held at 0 the step after
    # subtract, at once: 1600 spikes and becomes 960, still above TH; the next step subtracts
    # again (320: no spike) and then adds TH back: snnTorch's membrane stays at 960 without
    # spiking as long as no input comes
    assert run("subtract", False, [25, 0, 0]) == ([1, 0, 0], 960)
    assert run("subtract", True, [25, 0, 0]) == ([1, 1, 0], 320)


def test_pooling_folds_exactly_into_the_neighbouring_synapses():
    """A sum pool (LPPool2d(1)) after a conv layer's spikes and before the next conv, an
    average pool between a conv and its neuron, and one before a Linear layer."""
    torch.manual_seed(4)
    m = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), neuron(snn.Leaky, "subtract", True, 4,
                                                    per_neuron=False),
        torch.nn.LPPool2d(1, 2), torch.nn.Conv2d(4, 6, 3, padding=1),
        torch.nn.AvgPool2d(2), neuron(snn.Synaptic, "subtract", True, 6, per_neuron=False),
        torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(6 * 2 * 2, 5),
        snn.Leaky(beta=0.9, init_hidden=True))
    with torch.no_grad():
        for mod in m:
            if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear)):
                mod.weight.mul_(3)
    net = ffn.from_snntorch(m, (1, 16, 16), time_steps=20)
    assert [l.kind for l in net.layers] == ["conv2d", "conv2d", "dense"]
    # 3x3 -> 6x6 stride 2 (the sum pool before it) -> 8x8 stride 4 (the average pool after)
    assert net.layers[1].synapse.kernel == (8, 8) and net.layers[1].synapse.stride == 4
    x = spikes_in((1, 16, 16), T=20, N=30)
    ref = module_spikes(m, x)
    got = get_backend("float").run(net, x).spikes
    for k, (a, b) in enumerate(zip(ref, got)):
        assert a.sum() > 20, f"layer {k} is nearly silent"
        np.testing.assert_array_equal(a.reshape(b.shape), b, err_msg=f"layer {k}")


def mixed_net(T=20):
    """One network with a layer of each kind: RSynaptic (subtract, late), Synaptic (zero,
    late), RLeaky (zero, at once), Leaky (subtract, at once)."""
    torch.manual_seed(5)
    mods = []
    for n_in, (kind, reset, delay) in zip(
            (20, 16, 16, 16), [(snn.RSynaptic, "subtract", True), (snn.Synaptic, "zero", True),
                               (snn.RLeaky, "zero", False), (snn.Leaky, "subtract", False)]):
        lin = torch.nn.Linear(n_in, 16)
        with torch.no_grad():
            lin.weight.mul_(3)
        mods += [lin, neuron(kind, reset, delay)]
    module = torch.nn.Sequential(*mods)
    net = ffn.from_snntorch(module, (20,), time_steps=T)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        qnet, _ = ffn.quantize(net)
    return module, net, qnet


def test_model_file_round_trip_of_every_kind(tmp_path):
    module, net, qnet = mixed_net()
    back = ffn.load(ffn.save(qnet, tmp_path / "mixed.h5"))
    for a, b in zip(qnet.quantized + qnet.layers, back.quantized + back.layers):
        assert a.neuron.to_dict().keys() == b.neuron.to_dict().keys()
        for key, value in a.neuron.to_dict().items():
            np.testing.assert_array_equal(value, b.neuron.to_dict()[key])
        assert (a.recurrent is None) == (b.recurrent is None)
        if a.recurrent is not None:
            np.testing.assert_array_equal(a.recurrent.weight, b.recurrent.weight)
            assert a.recurrent.weight_exp == b.recurrent.weight_exp
    x = spikes_in((20,), T=20, N=20)
    for name in ("float", "emulator"):
        for a, b in zip(get_backend(name).run(qnet, x).spikes,
                        get_backend(name).run(back, x).spikes):
            np.testing.assert_array_equal(a, b)


def test_validation_of_the_new_fields():
    with pytest.raises(ValueError, match="unknown reset 'refractory'"):
        LIF(threshold=1.0, reset="refractory")
    with pytest.raises(ValueError, match=r"v_decay must be in \[0, 1\].*per-neuron"):
        LIF(threshold=1.0, v_decay=np.array([0.1, 1.5]))
    with pytest.raises(ValueError, match="does not broadcast"):
        Layer(Dense(weight=np.ones((3, 4))), LIF(threshold=np.ones(5)))
    with pytest.raises(ValueError, match="recurrent weight must be"):
        Layer(Dense(weight=np.ones((3, 4))), LIF(threshold=1.0), recurrent=Dense(np.ones((3, 4))))
    with pytest.raises(ValueError, match="has no bias of its own"):
        Layer(Dense(weight=np.ones((3, 4), np.int32)), LoihiLIF(vth=10, v_decay=0),
              recurrent=Dense(np.ones((3, 3), np.int32), bias=np.ones(3, np.int32)))
    with pytest.raises(ValueError, match="weight_exp applies to integer"):
        Dense(weight=np.ones((3, 4)), weight_exp=2)


@pytest.mark.lava
def test_lava_runs_every_kind_as_the_emulator_and_the_float_network():
    """Lava fixed_pt (ff-neuro's CubaLIF process and Lava's Dense, recurrent Dense included)
    equals the emulator on every spike; floating_pt equals the float network."""
    module, net, qnet = mixed_net()
    assert not any(q.plain for q in qnet.quantized[:3])
    x = spikes_in((20,), T=20, N=12)
    emu = get_backend("emulator").run(qnet, x).spikes
    lava = get_backend("lava-fixed").run(qnet, x).spikes
    for k, (a, b) in enumerate(zip(emu, lava)):
        assert a.sum() > 10, f"layer {k} is nearly silent"
        np.testing.assert_array_equal(a, b, err_msg=f"layer {k}")
    flt = get_backend("float").run(net, x).spikes
    lava_f = get_backend("lava-float").run(net, x).spikes
    ref = module_spikes(module, x)
    for k, (a, b, c) in enumerate(zip(flt, lava_f, ref)):
        np.testing.assert_array_equal(a, b, err_msg=f"layer {k}")
        np.testing.assert_array_equal(a, c.reshape(a.shape), err_msg=f"layer {k}")


def test_a_single_output_neuron_network_runs():
    """A network need not be a classifier: one output neuron, read by its spike count."""
    net = ffn.Network([Layer.dense(weight=np.full((1, 3), 0.6), threshold=1.0)],
                      readouts=[SpikeCountReadout(n_classes=1)])
    out = get_backend("float").run(net, np.ones((5, 2, 3), np.uint8)).spikes[0]
    assert out.shape == (5, 2, 1) and out.sum() == 10


def test_nir_round_trip_of_every_kind(tmp_path):
    """The float network of every kind written as NIR (CubaLIF, recurrent rec<k> nodes, the
    resets in the metadata) and read back: the same spikes; the quantized one too where NIR's
    integer export applies (no current memory)."""
    import nir
    module, net, qnet = mixed_net()
    path = ffn.write_nir(net, tmp_path / "mixed.nir")
    g = nir.read(path)
    kinds = [type(g.nodes[f"neuron{k}"]).__name__ for k in range(4)]
    assert kinds == ["CubaLIF", "CubaLIF", "LIF", "LIF"]
    assert ("neuron0", "rec0") in g.edges and ("rec0", "neuron0") in g.edges
    back = ffn.from_nir(g)
    for a, b in zip(net.layers, back.layers):
        assert a.neuron == b.neuron or np.allclose(a.neuron.to_dict()["v_decay"],
                                                   b.neuron.to_dict()["v_decay"])
        assert (a.neuron.reset, a.neuron.reset_delay) == (b.neuron.reset, b.neuron.reset_delay)
    x = spikes_in((20,), T=20, N=30)
    for a, b in zip(get_backend("float").run(net, x).spikes,
                    get_backend("float").run(back, x).spikes):
        np.testing.assert_array_equal(a, b)


def test_norse_reads_a_recurrent_cuba_export_with_the_same_spikes():
    """Norse's NIR reader on ff-neuro's export of a recurrent current-based layer (reset to
    zero at once, no recurrent bias: Norse adds none at the first step) gives ff-neuro's float
    spikes."""
    norse_from_nir = pytest.importorskip("norse.torch").from_nir   # not in the Lava-free tier
    torch.manual_seed(6)
    lin = torch.nn.Linear(20, 16, bias=False)
    rs = snn.RSynaptic(alpha=0.75, beta=0.875, linear_features=16, init_hidden=True,
                       reset_mechanism="zero", reset_delay=True)
    with torch.no_grad():
        lin.weight.mul_(3)
        rs.recurrent.bias.zero_()
    net = ffn.from_snntorch(torch.nn.Sequential(lin, rs), (20,), time_steps=20)
    layer = net.layers[0]
    layer.neuron.reset_delay = False       # the reset NIR and Norse know: to zero, at once
    x = spikes_in((20,), T=20, N=1)
    ours = get_backend("float").run(net, x).spikes[0][:, 0]
    model = norse_from_nir(ffn.to_nir(net), dt=1e-4)
    state, out = None, []
    with torch.no_grad():
        for t in range(20):
            z, state = model(torch.from_numpy(x[t, 0].astype(np.float32)), state)
            out.append(z.numpy().reshape(-1))
    assert ours.sum() > 20
    np.testing.assert_array_equal(np.stack(out).astype(np.uint8), ours)


def test_netx_export_refuses_what_netx_cannot_describe(tmp_path):
    from ff_neuro.export.netx import write_netx
    _, _, qnet = mixed_net()
    with pytest.raises(ValueError, match=r"layer 0: NetX describes Lava's stock LIF only"):
        write_netx(qnet, tmp_path / "x.net")
    assert not (tmp_path / "x.net").exists()
