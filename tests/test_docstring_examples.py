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
    "ff_neuro.training.hebbian",
    "ff_neuro.training.ffgaf",
    "ff_neuro.training.ffgaf_config",
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
