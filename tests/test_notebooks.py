"""Execute every tutorial notebook in ``notebooks/`` and fail on any cell error.

Each notebook runs in a fresh ``python3`` kernel (the interpreter running pytest) with a
temporary working directory, so a notebook cannot write into the repository through relative
paths. The notebooks' own ``assert`` cells check the chain (accuracy, emulator vs Lava spike
agreement, file round trips), so a passing run means the tutorial still works end to end. The
executed copy is saved to ``build/tutorials/`` (tagged with the notebook's SHA-256) for the
documentation site, which shows the tutorials with their outputs
(``scripts/execute_tutorials.py``, ``scripts/mkdocs_hooks.py``).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import execute_tutorials as tutorials  # noqa: E402

NOTEBOOK_DIR = tutorials.NOTEBOOK_DIR
NOTEBOOKS = tutorials.notebooks()


def test_notebooks_found():
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOK_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_outputs_cleared(path):
    """Notebooks are committed without outputs: the executed copy lives only in the test."""
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.get("outputs") or cell.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: code cells {dirty} have saved outputs; clear them"


def test_executed_copy_is_fresh_only_for_the_notebook_it_ran_from(tmp_path):
    """The site shows a notebook's outputs only from a copy executed from the notebook as it is
    (same SHA-256); a changed notebook makes its copy stale, and a discarded copy is gone."""
    source = tmp_path / "nb.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    nbformat.write(nb, str(source))
    out = tmp_path / "executed"
    assert tutorials.fresh_copy(source, out) is None
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    saved = tutorials.save_executed(nb, source, out)
    assert saved == out / "nb.ipynb" and tutorials.fresh_copy(source, out) == saved
    meta = json.loads(saved.read_text())["metadata"][tutorials.META_KEY]
    assert meta["source_sha256"] == tutorials.source_sha256(source)
    assert nbformat.read(saved, as_version=4).cells[0].outputs[0].text == "1\n"
    assert [p.name for p in out.iterdir()] == ["nb.ipynb"]          # no temporary file left
    source.write_text(source.read_text().replace("print(1)", "print(2)"))
    assert tutorials.fresh_copy(source, out) is None                 # stale
    tutorials.discard_executed(source, out)
    assert not saved.exists()


@pytest.mark.lava
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path, tmp_path):
    try:
        nb = tutorials.execute(path, tmp_path)
    except CellExecutionError as exc:
        tutorials.discard_executed(path)    # the site must not show outputs it no longer gives
        pytest.fail(f"{path.name}: a cell failed\n{exc}", pytrace=False)
    saved = tutorials.save_executed(nb, path)     # the copy the documentation site shows
    assert tutorials.fresh_copy(path) == saved
