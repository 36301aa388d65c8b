"""NeuroBench's metrics of a deployed network against the ``neurobench`` package's own metric
classes, run by its ``Benchmark`` on the snnTorch model the network was imported from, on the
same input spikes: footprint, parameter count, connection sparsity, activation sparsity and
synaptic operations (effective MACs and ACs, dense), for a dense and a conv network, with
binary (rate-coded) and graded inputs and pruned weights. Also the fixed-point footprint of the
quantized network and the command line's ``--neurobench``.

``neurobench`` is installed by scripts/setup_env.sh (requirements/neurobench-lock.txt); where it
is not installed the comparison is skipped and the rest runs."""
from __future__ import annotations

import json

import numpy as np
import pytest
import snntorch as snn
import torch
from click.testing import CliRunner

import ff_neuro as ffn
from ff_neuro.cli import main
from ff_neuro.encoding import network_inputs
from ff_neuro.energy import FIXED_POINT_BITS, neurobench_metrics
from ff_neuro.model import InputEncoding, LabelEmbedding, Layer
from ff_neuro.run import TEST_SEED_OFFSET, get_backend, infer

T = 8
N = 40
SCALE = 1.5


class Outputs(torch.nn.Sequential):
    """A model whose last layer is an ``nn.Linear`` (the membrane readout) returning the
    ``(output, state)`` pair NeuroBench's ``SNNTorchModel`` unpacks at every step."""

    def forward(self, x):
        return super().forward(x), None


def build(kind, seed=0):
    """An untrained snnTorch model with a third of its weights pruned to zero, scaled so that
    every layer spikes on the digits. A last ``Leaky`` returns its membrane too (what
    NeuroBench's ``SNNTorchModel`` expects)."""
    torch.manual_seed(seed)
    shape = (64,)
    if kind == "dense":
        m = torch.nn.Sequential(torch.nn.Linear(64, 40), snn.Leaky(beta=0.875, init_hidden=True),
                                torch.nn.Linear(40, 10),
                                snn.Leaky(beta=0.875, init_hidden=True, output=True))
    elif kind == "recurrent":
        m = torch.nn.Sequential(torch.nn.Linear(64, 30),
                                snn.RLeaky(beta=0.875, linear_features=30, init_hidden=True),
                                torch.nn.Linear(30, 10),
                                snn.Leaky(beta=0.875, init_hidden=True, output=True))
    elif kind == "membrane":
        m = Outputs(torch.nn.Linear(64, 30), snn.Leaky(beta=0.875, init_hidden=True),
                    torch.nn.Linear(30, 10))
    else:
        m = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 3, stride=2, padding=1),
                                snn.Leaky(beta=0.875, init_hidden=True), torch.nn.Flatten(),
                                torch.nn.Linear(96, 10),
                                snn.Leaky(beta=0.875, init_hidden=True, output=True))
        shape = (1, 8, 8)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d)):
                mod.weight.mul_(SCALE * (torch.rand(mod.weight.shape, generator=g) > 1 / 3))
                mod.bias.mul_(0.0)
    return m, shape


def neurobench_run(module, inp):
    """NeuroBench's own metrics: the static ones on the float32 module, the workload ones by
    its ``Benchmark`` on the module in float64 (ff-neuro's float backend computes in float64)
    fed ``inp`` (T, N, ...), in two batches."""
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint, ParameterCount
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
    from neurobench.models import SNNTorchModel
    static = {c.__name__: c()(SNNTorchModel(module)) for c in
              (Footprint, ParameterCount, ConnectionSparsity)}
    module.double()                   # snnTorch's spikes stay float32: cast every input
    for mod in module.modules():
        if isinstance(mod, (torch.nn.Linear, torch.nn.Conv2d)):
            mod.register_forward_pre_hook(lambda mod, i: tuple(v.double() for v in i))
    data = torch.from_numpy(np.ascontiguousarray(inp.swapaxes(0, 1))).double()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data, torch.zeros(len(data))), batch_size=len(data) // 2)
    bench = Benchmark(SNNTorchModel(module), loader, [], [],
                      [[], [ActivationSparsity, SynapticOperations]])
    return static, bench.run(quiet=True)


@pytest.mark.parametrize("kind,encoding,levels", [("dense", "rate", 1), ("dense", "graded", 4),
                                                  ("conv", "rate", 1), ("recurrent", "rate", 1),
                                                  ("membrane", "rate", 1)])
def test_metrics_equal_neurobench_on_the_same_model_and_inputs(kind, encoding, levels):
    pytest.importorskip("neurobench")
    module, shape = build(kind)
    net = ffn.from_snntorch(module, input_shape=shape, time_steps=T, encoding=encoding,
                            levels=levels)
    x = ffn.load_dataset("digits").x_test[:N]
    # a recurrent layer's last step reaches no later step: the spikes per step say which
    res = infer(get_backend("float"), net, x, keep_spikes=kind == "recurrent")
    ours = neurobench_metrics(net, res, backend="float")
    inp = network_inputs(net, x, seed_offset=TEST_SEED_OFFSET, sample_ids=np.arange(N))
    static, work = neurobench_run(module, inp / levels)     # the values the layers see

    assert ours.parameters == static["ParameterCount"]
    # snnTorch's Leaky keeps graded_spikes_factor (float32) and reset_mechanism_val (int64)
    # besides beta and threshold; ff-neuro stores only the last two
    assert ours.footprint_bytes == static["Footprint"] - 12 * len(net.layers)
    assert round(ours.connection_sparsity, 4) == static["ConnectionSparsity"]
    assert ours.connection_sparsity > 0.3
    assert ours.activation_sparsity == pytest.approx(work["ActivationSparsity"], abs=1e-12)
    assert 0 < ours.activation_sparsity < 1
    ops = work["SynapticOperations"]
    assert ours.synaptic_operations == ops          # exact: integer counts per sample
    if encoding == "rate":
        assert ops["Effective_MACs"] == 0 and ours.effective_acs > 0
    else:                                           # graded input: the first layer's MACs
        assert ops["Effective_MACs"] == ours.layers[0].operations > 0
        assert ours.layers[0].kind == "MAC" and ours.layers[1].kind == "AC"
    if kind == "dense":                             # every synapse at every step
        assert ours.dense == T * (64 * 40 + 40 * 10)
    print(f"{kind}/{encoding}: ours {ours.synaptic_operations}, activation sparsity "
          f"{ours.activation_sparsity:.6f}; neurobench {ops}, {work['ActivationSparsity']:.6f}")


def test_fixed_point_footprint_and_quantized_weights():
    module, shape = build("dense")
    net = ffn.from_snntorch(module, input_shape=shape, time_steps=T)
    qnet, _ = ffn.quantize(net)
    x = ffn.load_dataset("digits").x_test[:20]
    m = neurobench_metrics(qnet, infer(get_backend("emulator"), qnet, x), backend="emulator")
    b = FIXED_POINT_BITS
    bits = sum(layer.weight.size * b["weight"] + layer.bias.size * b["bias"]
               + b["threshold"] + b["decay"] for layer in qnet.quantized)
    assert m.fixed_point_bytes == -(-bits // 8)
    assert m.footprint_bytes == 4 * (sum(p.numel() for p in module.parameters()) + 2 * 2)
    zeros = sum(int((layer.weight == 0).sum()) for layer in qnet.quantized)
    assert m.connection_sparsity == zeros / sum(layer.weight.size for layer in qnet.quantized)
    rng = np.random.default_rng(0)
    sweep = ffn.Network([Layer.dense(weight=rng.normal(0, 0.5, (16, 74)), threshold=1.0)],
                        label_embedding=LabelEmbedding(), encoder=InputEncoding(time_steps=4))
    with pytest.raises(ValueError, match="keep_counts=True"):
        neurobench_metrics(sweep, infer(get_backend("float"), sweep, x))


def test_cli_neurobench(tmp_path):
    module, shape = build("dense")
    net = ffn.from_snntorch(module, input_shape=shape, time_steps=T,
                            dataset=ffn.load_dataset("digits"))
    qnet, _ = ffn.quantize(net)
    path = tmp_path / "q.h5"
    ffn.save(qnet, path)
    r = CliRunner().invoke(main, ["energy", str(path), "--neurobench", "--samples", "20",
                                  "--json"])
    assert r.exit_code == 0, r.output
    nb = json.loads(r.output)["measured"]["neurobench"]
    assert nb["samples"] == 20 and nb["backend"] == "emulator"
    assert set(nb["synaptic_operations"]) == {"Effective_MACs", "Effective_ACs",
                                                           "Dense"}
    r = CliRunner().invoke(main, ["energy", str(path), "--neurobench", "--samples", "20"])
    assert r.exit_code == 0 and "NeuroBench metrics" in r.output and "effective ACs" in r.output
    r = CliRunner().invoke(main, ["energy", str(path), "--neurobench", "--mode", "training"])
    errors = [line for line in r.output.splitlines() if line.startswith("Error")]
    assert r.exit_code == 2 and errors == ["Error: --neurobench measures inference runs: use "
                                           "--mode inference"]
