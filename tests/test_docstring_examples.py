"""The examples in the docstrings run: every ``>>>`` line of the modules below is executed
(doctest) in a temporary working directory, so a documented call that stops working fails
here. Examples that need Lava carry ``# doctest: +SKIP``; they run in the notebooks."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "ff_neuro.api",
    "ff_neuro.recipes",
    "ff_neuro.training.trainer",
    "ff_neuro.training.ff",
    "ff_neuro.training.lif_scan",
    "ff_neuro.training.distributed",
    "ff_neuro.training.hebbian",
    "ff_neuro.training.hebbian_torch",
    "ff_neuro.training.ffgaf",
    "ff_neuro.training.ffgaf_config",
    "ff_neuro.model.network",
    "ff_neuro.model.layer",
    "ff_neuro.model.synapse",
    "ff_neuro.model.neuron",
    "ff_neuro.model.encoder",
    "ff_neuro.model.readout",
    "ff_neuro.model.io",
    "ff_neuro.model.from_snntorch",
    "ff_neuro.model.merge",
    "ff_neuro.quantization",
    "ff_neuro.run",
    "ff_neuro.run.inference",
    "ff_neuro.run.emulator",
    "ff_neuro.parity",
    "ff_neuro.energy.profiles",
    "ff_neuro.energy.activity",
    "ff_neuro.energy.neurobench",
    "ff_neuro.energy.learning",
    "ff_neuro.energy.estimator",
    "ff_neuro.data.datasets",
    "ff_neuro.data.idx",
    "ff_neuro.encoding",
    "ff_neuro.encoding.counter_rng",
    "ff_neuro.export.netx",
    "ff_neuro.export.nir_export",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = [t for t in finder.find(module, name) if t.examples]
    assert tests, f"{name} has no docstring example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        t.globs.setdefault("ffn", importlib.import_module("ff_neuro"))
        runner.run(t)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
