"""Deploying networks ff-neuro did not train: snnTorch modules trained here with backprop
through time (BPTT) on the digits, through ``from_snntorch`` and through snnTorch's own NIR
export and ``ff-neuro import``; ff-neuro models read back by snnTorch's and Norse's NIR
readers; the readouts of BPTT networks on every backend; the refusals."""
from __future__ import annotations

import copy
import subprocess
import sys

import nir
import numpy as np
import pytest
import snntorch as snn
import torch
from snntorch import functional as SF
from snntorch import utils as sutils

import ff_neuro as ffn
from ff_neuro.data import load_dataset
from ff_neuro.encoding import network_inputs
from ff_neuro.energy.activity import measure_activity
from ff_neuro.model import load_model, save_model
from ff_neuro.parity import run_parity
from ff_neuro.run import TEST_SEED_OFFSET, get_backend, infer

T = 12


def leaky(shape, beta=0.875, **kw):
    """A reset-to-zero Leaky with per-neuron (uniform) beta and threshold tensors: snnTorch's
    NIR exporter needs arrays of the layer's shape."""
    kw.setdefault("reset_mechanism", "zero")
    return snn.Leaky(beta=torch.full(shape, beta), threshold=torch.ones(shape),
                     init_hidden=True, **kw)


def build(kind):
    if kind == "dense":
        return torch.nn.Sequential(torch.nn.Linear(64, 48), leaky((48,)),
                                   torch.nn.Linear(48, 10), leaky((10,))), (64,)
    if kind == "conv":
        return torch.nn.Sequential(torch.nn.Conv2d(1, 6, 3, stride=2, padding=1),
                                   leaky((6, 4, 4)), torch.nn.Flatten(),
                                   torch.nn.Linear(96, 10), leaky((10,))), (1, 8, 8)
    # a trailing Linear read by its summed current: the membrane readout
    return torch.nn.Sequential(torch.nn.Linear(64, 48), leaky((48,)),
                               torch.nn.Linear(48, 10)), (64,)


def train_bptt(kind, epochs=4, seed=0):
    """BPTT on the digits with rate-coded inputs (snnTorch's usual loop)."""
    torch.manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)              # small batches: one thread is several times faster
    ds = load_dataset("digits")
    module, shape = build(kind)
    opt = torch.optim.Adam(module.parameters(), lr=3e-3)
    rate_loss = SF.ce_rate_loss()
    x = torch.from_numpy(ds.x_train.astype(np.float32))
    y = torch.from_numpy(ds.y_train.astype(np.int64))
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            xb = x[idx].reshape((-1,) + shape)
            sutils.reset(module)
            out = torch.stack([module(torch.bernoulli(xb, generator=g)) for _ in range(T)])
            loss = rate_loss(out, y[idx]) if kind != "membrane" else \
                torch.nn.functional.cross_entropy(out.sum(0), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    sutils.reset(module)                  # drop the last batch's states (and their graph)
    torch.set_num_threads(threads)
    return module, shape, ds


@pytest.fixture(scope="module", params=["dense", "conv", "membrane"])
def trained(request):
    module, shape, ds = train_bptt(request.param,
                                   epochs={"dense": 4, "conv": 3, "membrane": 3}[request.param])
    net = ffn.from_snntorch(module, shape, time_steps=T)
    return request.param, module, shape, ds, net


def module_run(module, inp):
    """The snnTorch module in float64 on input spikes ``inp`` (T, N, ...): every Leaky's spikes
    and the module's outputs per step."""
    m = copy.deepcopy(module).double()
    hooks = [mod.register_forward_pre_hook(lambda mod, i: tuple(v.double() for v in i))
             for mod in m.modules() if isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d))]
    lif = [mod for mod in m.modules() if isinstance(mod, snn.Leaky)]
    rec = [[] for _ in lif]
    hooks += [mod.register_forward_hook(lambda mod, i, o, k=k: rec[k].append(o.clone()))
              for k, mod in enumerate(lif)]
    for mod in lif:                       # a fresh state (a deep copy is not in snnTorch's
        mod.mem = torch.zeros(0, dtype=torch.float64)   # registry of neurons to reset)
    with torch.no_grad():
        outs = [m(torch.from_numpy(inp[t].astype(np.float64))) for t in range(inp.shape[0])]
    for h in hooks:
        h.remove()
    return [torch.stack(r).numpy().astype(np.uint8) for r in rec], torch.stack(outs).numpy()


def test_conversion_reproduces_the_module_spike_for_spike(trained):
    kind, module, shape, ds, net = trained
    assert net.readout.kind == ("membrane" if kind == "membrane" else "spike-count")
    assert net.label_embedding is None and net.time_steps == T
    inp = network_inputs(net, ds.x_test[:300], seed_offset=TEST_SEED_OFFSET,  # infer's draws
                         sample_ids=np.arange(300))
    res = get_backend("float").run(net, inp)
    spikes, outs = module_run(module, inp)
    assert len(spikes) == len(net.layers) == len(res.spikes)
    for k, (a, b) in enumerate(zip(spikes, res.spikes)):
        assert a.reshape(b.shape).sum() > 100, f"layer {k} is nearly silent"
        np.testing.assert_array_equal(a.reshape(b.shape), b, err_msg=f"layer {k}")
    # the readout's scores are the module's own: spike counts, or the summed output current
    r = ffn.infer(get_backend("float"), net, ds.x_test[:300])
    if kind == "membrane":
        np.testing.assert_allclose(r.scores, outs.sum(axis=0), rtol=1e-12, atol=1e-9)
    else:
        np.testing.assert_array_equal(r.scores, outs.sum(axis=0).reshape(300, -1))


def test_quantized_model_keeps_accuracy_and_its_readout(trained, tmp_path):
    kind, module, shape, ds, net = trained
    qnet, report = ffn.quantize(net)
    acc_float = infer(get_backend("float"), qnet, ds.x_test).accuracy(ds.y_test)
    acc_fixed = infer(get_backend("emulator"), qnet, ds.x_test).accuracy(ds.y_test)
    print(f"{kind}: float {acc_float:.4f}, quantized emulator {acc_fixed:.4f}")
    assert acc_float > 0.7 and acc_fixed > acc_float - 0.03
    # the readout travels in the model file and is the default of every command
    path = save_model(qnet, tmp_path / "m.h5")
    back = load_model(path)
    assert back.readout.kind == qnet.readout.kind
    np.testing.assert_array_equal(infer(get_backend("emulator"), back, ds.x_test[:50]).scores,
                                  infer(get_backend("emulator"), qnet, ds.x_test[:50]).scores)


@pytest.mark.lava
def test_emulator_equals_lava_fixed_spike_for_spike(trained):
    kind, module, shape, ds, net = trained
    qnet, _ = ffn.quantize(net)
    rep = run_parity(qnet, ds.x_test[:8], ds.y_test[:8],
                     backends=("float", "lava-float", "emulator", "lava-fixed"))
    pair = rep.pairs["emulator_vs_lava-fixed"]
    assert pair.spike_agreement == 1.0 and pair.prediction_agreement == 1.0
    assert rep.pairs["float_vs_lava-float"].spike_agreement == 1.0


def test_energy_counts_only_the_real_layers(trained):
    kind, module, shape, ds, net = trained
    qnet, _ = ffn.quantize(net)
    x = ds.x_test[:100]
    res = infer(get_backend("emulator"), qnet, x, keep_counts=True)
    act = measure_activity(qnet, res, backend="emulator")
    names = [a.name for a in act.layers]
    expect = len(qnet.layers) + (1 if kind == "membrane" else 0)
    assert len(names) == expect and act.host == [] and act.runs_per_inference == 1
    data_spikes = float((network_inputs(qnet, x, seed_offset=TEST_SEED_OFFSET,
                                        sample_ids=np.arange(len(x))) > 0).sum()) / len(x)
    assert act.layers[0].input_spikes == pytest.approx(data_spikes)   # no label inputs
    assert act.layers[0].n_in == int(np.prod(shape))
    if kind == "membrane":
        out = act.layers[-1]
        assert out.output_spikes == 0 and out.n_out == 10
        assert out.input_spikes == pytest.approx(act.layers[-2].output_spikes)
    report = act.report("loihi2")
    assert report.total_mJ > 0


def snntorch_graph(module, shape):
    from snntorch.export_nir import export_to_nir
    return export_to_nir(module, torch.zeros((1,) + shape), ignore_dims=[0])


def test_snntorch_nir_export_imports_as_the_same_model(trained, tmp_path):
    kind, module, shape, ds, net = trained
    path = tmp_path / "snntorch.nir"
    nir.write(path, snntorch_graph(module, shape))
    out = tmp_path / "imported.h5"
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "import", str(path), "--dt",
                           "1e-4", "--time-steps", str(T), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    got = load_model(out)
    assert same_readout(got.readout, net.readout)
    assert len(got.layers) == len(net.layers)
    for a, b in zip(got.layers, net.layers):
        assert a.synapse.type_name == b.synapse.type_name and a.neuron == b.neuron
        np.testing.assert_array_equal(a.weight, b.weight)
        np.testing.assert_array_equal(a.bias, b.bias)
    inp = network_inputs(net, ds.x_test[:100])
    for a, b in zip(get_backend("float").run(got, inp).spikes,
                    get_backend("float").run(net, inp).spikes):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("trained", ["dense", "conv"], indirect=True)
def test_ffneuro_export_read_by_snntorch_gives_identical_spikes(trained):
    kind, module, shape, ds, net = trained
    from snntorch.import_nir import import_from_nir
    graph = ffn.to_nir(net)              # dt = 1e-4, snnTorch's step
    mod = import_from_nir(graph).double()
    lif = [m for m in mod.modules() if isinstance(m, snn.Leaky)]
    assert len(lif) == len(net.layers)
    rec = [[] for _ in lif]
    hooks = [m.register_forward_pre_hook(lambda m, i: tuple(v.double() for v in i))
             for m in mod.modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    hooks += [m.register_forward_hook(lambda m, i, o, k=k: rec[k].append(
        (o[0] if isinstance(o, tuple) else o).clone())) for k, m in enumerate(lif)]
    n = 200 if kind == "dense" else 30
    inp = network_inputs(net, ds.x_test[:n])
    # snnTorch reads NIR's Flatten (start_dim 0: NIR shapes have no batch axis) as
    # nn.Flatten(start_dim=0), so a conv graph runs one unbatched sample at a time
    batches = [inp] if kind == "dense" else [inp[:, i] for i in range(n)]
    for xb in batches:
        for m in lif:
            m.mem = torch.zeros(0, dtype=torch.float64)
        with torch.no_grad():
            for t in range(T):
                mod(torch.from_numpy(xb[t].astype(np.float64)))
    ref = get_backend("float").run(net, inp).spikes
    for k, (r, b) in enumerate(zip(rec, ref)):
        a = torch.stack(r).numpy().astype(np.uint8)
        if kind != "dense":               # (n * T, ...) in sample-major order
            a = a.reshape((n, T) + b.shape[2:]).swapaxes(0, 1)
        a = a.reshape(b.shape)
        assert b.sum() > 100
        np.testing.assert_array_equal(a, b, err_msg=f"layer {k}")


@pytest.mark.parametrize("trained", ["dense"], indirect=True)
def test_norse_reads_the_r_one_export_with_the_same_spikes(trained):
    kind, module, shape, ds, net = trained
    norse = pytest.importorskip("norse.torch")
    graph = ffn.to_nir(net, r_one=True)
    assert all(np.all(n.r == 1) for n in graph.nodes.values() if isinstance(n, nir.LIF))
    mod = norse.from_nir(graph, dt=1e-4).double()
    cells = [m for m in mod.modules() if type(m).__name__ == "LIFBoxCell"]
    assert len(cells) == len(net.layers)
    rec = [[] for _ in cells]
    hooks = [m.register_forward_hook(lambda m, i, o, k=k: rec[k].append(o[0].clone()))
             for k, m in enumerate(cells)]
    inp = network_inputs(net, ds.x_test[:200])
    state = None
    with torch.no_grad():
        for t in range(T):
            _, state = mod(torch.from_numpy(inp[t].astype(np.float64)), state)
    ref = get_backend("float").run(net, inp).spikes
    for k, (r, b) in enumerate(zip(rec, ref)):
        a = torch.stack(r).numpy().astype(np.uint8).reshape(b.shape)
        assert b.sum() > 100
        # Norse's Euler step v + dt/tau (-v + r I) rounds differently from v * beta + I
        agree = float(np.mean(a == b))
        print(f"norse layer {k}: spike agreement {agree:.6f}")
        assert agree >= 0.999, f"layer {k}: {agree}"
    # the same graph through ff-neuro's reader is the same network
    back = ffn.from_nir(graph)
    for a, b in zip(back.layers, net.layers):
        np.testing.assert_allclose(a.weight, b.weight, rtol=1e-6)
        assert a.neuron == b.neuron


def test_reset_delay_changes_no_spike():
    """snnTorch's reset_delay only delays clearing the membrane after a spike: with reset to
    zero the spikes are the same either way, so both settings deploy."""
    torch.manual_seed(1)
    a = torch.nn.Sequential(torch.nn.Linear(20, 30), leaky((30,), reset_delay=True))
    b = copy.deepcopy(a)
    b[1].reset_delay = False
    with torch.no_grad():
        a[0].weight.mul_(4)
        b[0].weight.copy_(a[0].weight)
    x = (np.random.default_rng(0).random((15, 40, 20)) < 0.4).astype(np.uint8)
    sa, _ = module_run(a, x)
    sb, _ = module_run(b, x)
    assert sa[0].sum() > 200
    np.testing.assert_array_equal(sa[0], sb[0])
    na = ffn.from_snntorch(torch.nn.Sequential(a[0], a[1], torch.nn.Linear(30, 2)), (20,))
    nb = ffn.from_snntorch(torch.nn.Sequential(b[0], b[1], torch.nn.Linear(30, 2)), (20,))
    for la, lb in zip(na.layers, nb.layers):
        assert la.neuron == lb.neuron
        np.testing.assert_array_equal(la.weight, lb.weight)


def same_readout(a, b) -> bool:
    da, db = a.to_dict(), b.to_dict()
    return type(a) is type(b) and da.keys() == db.keys() and all(
        (da[k] is None and db[k] is None) or np.array_equal(da[k], db[k]) for k in da)


def refuse(module, match, shape=(8,)):
    with pytest.raises(ffn.ConversionError, match=match):
        ffn.from_snntorch(module, shape)


def test_refusals_name_the_construct_and_the_fix():
    L = torch.nn.Linear
    refuse(torch.nn.Sequential(L(8, 4), snn.Leaky(beta=0.9, reset_mechanism="zero",
                                                  graded_spikes_factor=2.0, init_hidden=True)),
           r"graded_spikes_factor")
    refuse(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), leaky((2, 6, 6)),
                               torch.nn.MaxPool2d(2), torch.nn.Flatten(), L(18, 3),
                               leaky((3,))), r"max pooling.*AvgPool2d", shape=(1, 8, 8))
    refuse(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), leaky((2, 6, 6)),
                               torch.nn.AvgPool2d(3, stride=1), torch.nn.Flatten(), L(32, 3),
                               leaky((3,))), r"overlapping pooling", shape=(1, 8, 8))
    refuse(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), leaky((2, 7, 7)),
                               torch.nn.AvgPool2d(2), torch.nn.Conv2d(2, 2, 3), leaky((2, 1, 1))),
           r"drops its last rows.*crop", shape=(1, 9, 9))
    refuse(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1),
                               snn.RLeaky(beta=0.9, conv2d_channels=2, kernel_size=3,
                                          init_hidden=True)),
           r"convolutional recurrence", shape=(1, 8, 8))
    refuse(torch.nn.Sequential(L(8, 4), snn.Alpha(alpha=0.9, beta=0.8, init_hidden=True)),
           r"Alpha is not supported.*snn.Leaky, snn.Synaptic")
    refuse(torch.nn.Sequential(L(8, 4), L(4, 3), leaky((3,))), r"two synapses in a row")
    refuse(torch.nn.Sequential(L(8, 4), snn.Leaky(beta=0.9, reset_mechanism="none",
                                                  init_hidden=True), L(4, 2), leaky((2,))),
           r"never spikes")
    refuse(torch.nn.Sequential(L(8, 4), snn.Synaptic(alpha=0.5, beta=0.9, init_hidden=True,
                                                     reset_mechanism="none")),
           r"Synaptic\(reset_mechanism='none'\) is not supported as a readout")

    class Custom(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = L(8, 2)
            self.lif = leaky((2,))

        def forward(self, x):
            return self.lif(self.fc(x))
    with pytest.raises(ffn.ConversionError, match=r"nn.Sequential.*export_to_nir"):
        ffn.from_snntorch(Custom(), (8,))


def test_average_pooling_before_a_linear_layer_is_folded_exactly():
    torch.manual_seed(2)
    m = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), leaky((4, 8, 8)),
                            torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(64, 5),
                            leaky((5,)))
    with torch.no_grad():
        m[0].weight.mul_(3)
        m[4].weight.mul_(6)
    net = ffn.from_snntorch(m, (1, 8, 8), time_steps=10)
    assert net.layers[1].synapse.type_name == "dense" and net.layers[1].n_in == 256
    x = (np.random.default_rng(1).random((10, 60, 1, 8, 8)) < 0.4).astype(np.uint8)
    spikes, _ = module_run(m, x)
    res = get_backend("float").run(net, x)
    assert res.spikes[1].sum() > 50
    for a, b in zip(spikes, res.spikes):
        np.testing.assert_array_equal(a.reshape(b.shape), b)


def test_nir_refusals(tmp_path):
    torch.manual_seed(0)
    module, shape = build("dense")
    g = snntorch_graph(module, shape)
    assert "dt" not in (g.metadata or {})
    with pytest.raises(ValueError, match=r"does not say its time step.*dt = 1e-4"):
        ffn.from_nir(g)
    with pytest.raises(ValueError, match=r"dt / tau = .* outside \[0, 1\].*dt"):
        ffn.from_nir(g, dt=1.0)
    path = tmp_path / "g.nir"
    nir.write(path, g)
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "import", str(path), "--out",
                           str(tmp_path / "m.h5")], capture_output=True, text=True)
    assert proc.returncode == 1 and "--dt" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (tmp_path / "m.h5").exists()
    # an unsupported node: a delay
    delayed = nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([3])}),
               "fc": nir.Linear(weight=np.ones((2, 3))),
               "delay": nir.Delay(delay=np.full(2, 3e-4)),
               "lif": nir.LIF(tau=np.full(2, 4e-4), r=np.full(2, 4.0), v_leak=np.zeros(2),
                              v_threshold=np.ones(2)),
               "output": nir.Output(output_type={"output": np.array([2])})},
        edges=[("input", "fc"), ("fc", "delay"), ("delay", "lif"), ("lif", "output")],
        type_check=False)
    with pytest.raises(ValueError, match=r"'delay': NIR Delay nodes are not supported \(no "
                                         r"delays yet"):
        ffn.from_nir(delayed, dt=1e-4)


def test_membrane_readout_round_trips_through_nir_and_the_model_file(tmp_path):
    module, shape, ds = train_bptt("membrane", epochs=1)
    net, _ = ffn.quantize(ffn.from_snntorch(module, shape, time_steps=T))
    for q in (False, True):
        back = ffn.from_nir(nir.read(ffn.write_nir(net, tmp_path / f"m{q}.nir", quantized=q)))
        assert back.readout.kind == "membrane"
        be = get_backend("emulator" if q else "float")
        np.testing.assert_allclose(infer(be, back, ds.x_test[:40]).scores,
                                   infer(be, net, ds.x_test[:40]).scores, rtol=1e-6)
    proc = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "export",
                           str(save_model(net, tmp_path / "m.h5")),
                           "--format", "nir", "--r-one", "--out", str(tmp_path / "r1.nir")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    g = nir.read(tmp_path / "r1.nir")
    assert g.metadata["dt"] == 1e-4 and not g.metadata["quantized"]
