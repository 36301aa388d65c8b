"""The documentation is part of the product: the README's Python quickstart runs as written, and
the documentation site builds with warnings as errors (broken links, missing pages, docstrings
mkdocstrings cannot render)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SNIPPET = ROOT / "docs" / "snippets" / "quickstart.py"


def readme_python_blocks() -> list:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_support_table_is_generated_from_the_importers_tables():
    """docs/deploy.md holds ff_neuro.export.support_table() between its markers; after changing
    what an importer maps, regenerate it with :func:`write_support_table` (``python -c "import
    sys; sys.path[:0] = ['tests']; import test_docs; test_docs.write_support_table()"``)."""
    from ff_neuro.export import support_table
    text = (ROOT / "docs" / "deploy.md").read_text()
    got = re.search(r"<!-- support-table:start -->\n(.*?)<!-- support-table:end -->", text,
                    flags=re.S)
    assert got is not None and got[1] == support_table() + "\n"


def write_support_table() -> None:
    from ff_neuro.export import support_table
    path = ROOT / "docs" / "deploy.md"
    text = re.sub(r"(<!-- support-table:start -->\n).*?(<!-- support-table:end -->)",
                  lambda m: m[1] + support_table() + "\n" + m[2], path.read_text(), flags=re.S)
    path.write_text(text)


def test_readme_quickstart_is_the_tested_snippet():
    blocks = readme_python_blocks()
    assert len(blocks) == 1, "the README has one Python quickstart"
    assert blocks[0] == SNIPPET.read_text()
    assert '--8<-- "docs/snippets/quickstart.py"' in (ROOT / "docs" / "quickstart.md").read_text()


def test_readme_quickstart_runs(tmp_path):
    proc = subprocess.run([sys.executable, str(SNIPPET)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    acc = float(re.search(r"emulator \(sweep\): accuracy ([0-9.]+) on 450 samples",
                          proc.stdout)[1])
    assert acc > 0.85
    assert "Energy per inference on profile 'loihi2'" in proc.stdout
    assert (tmp_path / "digits.h5").exists() and (tmp_path / "digits.netx.h5").exists()
    # the saved file is what the commands read
    out = subprocess.run([sys.executable, "-m", "ff_neuro.cli", "evaluate", "digits.h5",
                          "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr


def test_readme_is_short_and_links_resolve():
    text = (ROOT / "README.md").read_text()
    assert len(text) < 8000, "the README is a five-minute read; details go to docs/"
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if "://" not in target:
            assert (ROOT / target).exists(), f"README links to a missing file: {target}"
    for word in ("session", "issue #"):
        assert word not in text.lower()


def test_docs_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs", reason="MkDocs is in the Lava-free environment "
                                         "(make test-core, make docs)")
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d",
                           str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("from_snntorch", "MembraneReadout", "from_nir", "get_backend", "quantize"):
        assert name in api, f"the API reference lacks {name}"
    assert "Deploy any spiking network" in (tmp_path / "site" / "changelog" /
                                            "index.html").read_text()
