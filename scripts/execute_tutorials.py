"""Execute the tutorial notebooks for the documentation site.

The notebooks in ``notebooks/`` are committed without outputs. The site shows each one with its
outputs (figures, printed tables) from an executed copy in ``build/tutorials/<name>.ipynb``,
whose metadata records the SHA-256 of the notebook it was executed from
(``metadata.ff_neuro_tutorial.source_sha256``): a copy is *fresh* while that digest equals the
notebook's. Two things write the copies: the full test tier
(``tests/test_notebooks.py::test_notebook_executes``, which executes every notebook anyway) and
this script, which ``make docs`` runs with the Python 3.10 environment (``.venv``, with Lava)
and which executes only the notebooks without a fresh copy (``--force``: all of them).

Each notebook runs in a fresh ``python3`` kernel (the interpreter running this script) in a
temporary working directory, so it cannot write into the repository through relative paths.
Copies are written atomically; a notebook that fails loses its copy (the site then shows its
source without outputs) and the script exits non-zero.

The MkDocs hook ``scripts/mkdocs_hooks.py`` and the tests import the functions below.

    .venv/bin/python scripts/execute_tutorials.py [--force] [NAME ...]
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
EXECUTED_DIR = ROOT / "build" / "tutorials"
#: the key of the executed copy's notebook metadata that ties it to its source
META_KEY = "ff_neuro_tutorial"
TIMEOUT_S = 600


def notebooks() -> List[Path]:
    """The tutorial notebooks, in order."""
    return sorted(NOTEBOOK_DIR.glob("*.ipynb"))


def source_sha256(source: Path) -> str:
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()


def executed_path(source: Path, out_dir: Path = EXECUTED_DIR) -> Path:
    return Path(out_dir) / Path(source).name


def fresh_copy(source: Path, out_dir: Path = EXECUTED_DIR) -> Optional[Path]:
    """The executed copy of ``source`` when it exists and was executed from the notebook as it
    is now (same SHA-256); None otherwise."""
    path = executed_path(source, out_dir)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))["metadata"][META_KEY]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(meta, dict) or meta.get("source_sha256") != source_sha256(source):
        return None
    return path


def execute(source: Path, workdir: Path, timeout: int = TIMEOUT_S):
    """Execute a notebook in a fresh ``python3`` kernel with ``workdir`` as its working
    directory; returns the executed notebook (raises nbclient's ``CellExecutionError`` when a
    cell fails)."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(source, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return nb


def save_executed(nb, source: Path, out_dir: Path = EXECUTED_DIR) -> Path:
    """Write the executed notebook ``nb`` as the copy of ``source``, tagged with the source's
    SHA-256 (atomically: a reader sees the old copy or the new one)."""
    import nbformat
    from ff_neuro.fileio import atomic_path
    nb.metadata[META_KEY] = {"source": f"notebooks/{Path(source).name}",
                             "source_sha256": source_sha256(source)}
    path = executed_path(source, out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        nbformat.write(nb, str(tmp))
    return path


def discard_executed(source: Path, out_dir: Path = EXECUTED_DIR) -> None:
    """Remove the executed copy of ``source`` (its notebook no longer runs as it shows)."""
    with contextlib.suppress(FileNotFoundError):
        executed_path(source, out_dir).unlink()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebook names (default: all)")
    parser.add_argument("--force", action="store_true",
                        help="execute even the notebooks that have a fresh copy")
    args = parser.parse_args(argv)
    from nbclient.exceptions import CellExecutionError
    todo = notebooks()
    if args.names:
        todo = [p for p in todo if p.name in args.names or p.stem in args.names]
        unknown = set(args.names) - {p.name for p in todo} - {p.stem for p in todo}
        if unknown:
            print(f"execute_tutorials: no notebook named {', '.join(sorted(unknown))}",
                  file=sys.stderr)
            return 2
    failed = []
    for source in todo:
        if not args.force and fresh_copy(source) is not None:
            print(f"{source.name}: executed copy is fresh")
            continue
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="ff-neuro-tutorial-") as work:
            try:
                nb = execute(source, Path(work))
            except CellExecutionError as exc:
                discard_executed(source)
                failed.append(source.name)
                print(f"{source.name}: a cell failed\n{exc}", file=sys.stderr)
                continue
        path = save_executed(nb, source)
        print(f"{source.name}: executed in {time.perf_counter() - t0:.0f} s -> "
              f"{path.relative_to(ROOT)}")
    if failed:
        print(f"execute_tutorials: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
