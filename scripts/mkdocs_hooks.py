"""MkDocs hooks of the documentation site (``hooks:`` in ``mkdocs.yml``): the tutorial pages.

Every notebook of ``notebooks/`` becomes the page ``tutorials/<name>/``, rendered by
mkdocs-jupyter (which never executes anything: ``execute: false``) from its executed copy in
``build/tutorials/`` when that copy is fresh (executed from the notebook as it is now, see
``scripts/execute_tutorials.py``), else from the notebook itself, which has no outputs. A note
at the top of each page says which, in an element whose ``data-tutorial-outputs`` attribute is
``executed`` or ``missing`` (the docs test reads it).
"""
from __future__ import annotations

import html
import sys
from pathlib import Path

import mkdocs.plugins
from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).resolve().parent))
import execute_tutorials as tutorials  # noqa: E402

#: src_uri of each tutorial page -> its source notebook and whether its outputs are shown
_PAGES: dict = {}


@mkdocs.plugins.event_priority(100)      # before mkdocs-jupyter wraps the notebook files
def on_files(files, config):
    _PAGES.clear()
    for source in tutorials.notebooks():
        fresh = tutorials.fresh_copy(source)
        uri = f"tutorials/{source.name}"
        files.append(File.generated(config, uri, abs_src_path=str(fresh or source)))
        _PAGES[uri] = (source, fresh is not None)
    return files


def _note(source: Path, executed: bool) -> str:
    name = html.escape(source.name)
    if executed:
        return (f'<div class="admonition info" data-tutorial-outputs="executed">'
                f'<p class="admonition-title">Executed notebook</p>'
                f'<p>The outputs on this page come from executing <code>notebooks/{name}</code> '
                f'as it is in this version of ff-neuro (<code>make docs</code> executes it with '
                f'<code>scripts/execute_tutorials.py</code>; the test suite executes it too). '
                f'To run it yourself, open it in Jupyter with a kernel of the <code>.venv</code> '
                f'environment (Python 3.10 with Lava).</p></div>\n')
    return (f'<div class="admonition warning" data-tutorial-outputs="missing">'
            f'<p class="admonition-title">Outputs not built</p>'
            f'<p>This page shows the source of <code>notebooks/{name}</code> without its '
            f'outputs: no executed copy of the notebook as it is now was found when the site '
            f'was built. <code>make docs</code> executes the tutorials first '
            f'(<code>scripts/execute_tutorials.py</code>, Python 3.10 with Lava).</p></div>\n')


@mkdocs.plugins.event_priority(-100)     # after mkdocs-jupyter rendered the notebook
def on_page_content(html_text, page, config, files):
    entry = _PAGES.get(page.file.src_uri)
    if entry is None:
        return html_text
    return _note(*entry) + html_text
