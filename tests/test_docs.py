"""The documentation is part of the product: the README's Python quickstart runs as written, and
the documentation site builds with warnings as errors (broken links, missing pages, docstrings
mkdocstrings cannot render)."""
from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import execute_tutorials as tutorials  # noqa: E402
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


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The documentation site, built once with warnings as errors: ``(process, site dir)``."""
    pytest.importorskip("mkdocs", reason="MkDocs is in the Lava-free environment "
                                         "(make test-core, make docs)")
    out = tmp_path_factory.mktemp("docs") / "site"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    return proc, out


#: a reference to something outside the site that a page would load when opened (a script, a
#: style sheet, a font, an image, a frame): the site must open offline
EXTERNAL_LOAD = re.compile(r"<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)=[\"']?"
                           r"(?:https?:)?//|url\([\"']?(?:https?:)?//"
                           r"|@import\s+[\"']?(?:https?:)?//"
                           r"|//(?:fonts\.googleapis|fonts\.gstatic|cdn\.jsdelivr|cdnjs\.cloudflare"
                           r"|unpkg)\.", re.I)


def test_docs_site_builds_strict(site):
    proc, out = site
    assert proc.returncode == 0, proc.stderr[-3000:]
    api = (out / "api" / "index.html").read_text()
    for name in ("from_snntorch", "MembraneReadout", "from_nir", "get_backend", "quantize"):
        assert name in api, f"the API reference lacks {name}"
    assert "Deploy any spiking network" in (out / "changelog" / "index.html").read_text()
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:                           # offline: nothing is fetched on opening a page
        hit = EXTERNAL_LOAD.search(page.read_text(encoding="utf-8"))
        assert hit is None, f"{page.relative_to(out)} loads {hit[0]!r}"
    index = (out / "index.html").read_text()
    assert "mkdocs-material" in index and "assets/stylesheets/main." in index   # the theme
    # the figures are in the pages and in the site
    for md_page, image in (("energy", "energy_profiles.png"), ("fidelity", "fidelity_raster.png"),
                           ("fidelity", "fidelity_fashion.png"), ("pipeline", "quantization.png"),
                           ("onchip", "onchip_fashion.png")):
        assert f'src="../images/{image}"' in (out / md_page / "index.html").read_text(), image
        assert (out / "images" / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # every tutorial has its page, linked from the tutorials overview, saying whether it shows
    # the outputs (test_tutorial_pages_show_outputs checks those)
    overview = (out / "tutorials" / "index.html").read_text()
    for nb in tutorials.notebooks():
        page = (out / "tutorials" / nb.stem / "index.html").read_text(encoding="utf-8")
        assert re.search(r'data-tutorial-outputs="(executed|missing)"', page), nb.name
        assert f'href="{nb.stem}/"' in overview, nb.name
        cells = nbformat.read(nb, as_version=4).cells
        title = next(c for c in cells if c.cell_type == "markdown").source.splitlines()[0]
        assert html.escape(title.lstrip("# ").strip(), quote=False) in page, nb.name
        assert page.count("jp-CodeCell") >= sum(c.cell_type == "code" for c in cells), nb.name


#: an output of a notebook cell as mkdocs-jupyter renders it
OUTPUT_AREA = re.compile(r'<div class="[^"]*\bjp-OutputArea-output\b')


def test_tutorial_pages_show_outputs(site):
    """Each tutorial page shows the outputs of its fresh executed copy (build/tutorials/, written
    by the full tier's notebook test or scripts/execute_tutorials.py): every image, and the
    first line of every printed output. A notebook without one is shown as source only."""
    proc, out = site
    assert proc.returncode == 0, proc.stderr[-3000:]
    missing = []
    for nb in tutorials.notebooks():
        page = (out / "tutorials" / nb.stem / "index.html").read_text(encoding="utf-8")
        fresh = tutorials.fresh_copy(nb)
        if fresh is None:
            assert 'data-tutorial-outputs="missing"' in page, nb.name
            assert not OUTPUT_AREA.search(page), nb.name
            missing.append(nb.name)
            continue
        assert 'data-tutorial-outputs="executed"' in page and OUTPUT_AREA.search(page), nb.name
        outputs = [o for c in nbformat.read(fresh, as_version=4).cells
                   if c.cell_type == "code" for o in c.outputs]
        assert outputs, f"{fresh} has no outputs"
        pngs = sum("image/png" in o.get("data", {}) for o in outputs)
        assert page.count("data:image/png;base64,") >= pngs, nb.name
        for o in outputs:
            if o.output_type == "stream" and o.text.strip():
                line = o.text.strip().splitlines()[0].strip()
                assert html.escape(line, quote=False) in page, (nb.name, line)
    if missing:
        pytest.skip(f"no fresh executed copy of {', '.join(missing)} (their pages show the "
                    f"source only, checked): the full tier (make test-full) or "
                    f"scripts/execute_tutorials.py writes them to build/tutorials/")
