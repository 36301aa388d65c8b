#!/usr/bin/env bash
# Create (or reuse) the Lava-free environment on the newest Python here, with current torch and
# numpy: everything of ff-neuro but the Lava backends and on-chip learning, which need Python
# 3.10 (scripts/setup_env.sh builds that one).
#
# Same two layers as setup_env.sh:
#   1. the pinned packages of requirements/core-lock.txt in a cache directory outside the clone
#      (FF_NEURO_CACHE, default ~/.cache/ff-neuro), one per Python version and lock content;
#   2. ./.venv-core, a small virtualenv of this clone that sees layer 1 through a .pth file and
#      holds the editable install of ff-neuro itself.
# FF_NEURO_CORE_PYTHON picks the interpreter (default: the newest CPython 3.11+ found that the
# lock file supports, see CORE_PYTHONS).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCK="$ROOT/requirements/core-lock.txt"
CACHE="${FF_NEURO_CACHE:-$HOME/.cache/ff-neuro}"
VENV="$ROOT/.venv-core"
# newest first; the lock file's wheels exist for these
CORE_PYTHONS="3.13 3.12 3.11"
# shellcheck source=env_lib.sh
source "$ROOT/scripts/env_lib.sh"

find_python() {
    if [ -n "${FF_NEURO_CORE_PYTHON:-}" ]; then echo "$FF_NEURO_CORE_PYTHON"; return 0; fi
    local v p root=""
    command -v pyenv >/dev/null 2>&1 && root="$(pyenv root)"
    for v in $CORE_PYTHONS; do
        for p in "python$v" "$root/versions/$v"*/bin/"python$v" "/usr/bin/python$v" \
                 "/usr/local/bin/python$v"; do
            if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import venv' >/dev/null 2>&1; then
                command -v "$p"; return 0
            fi
        done
    done
    return 1
}

PY="$(find_python)" || {
    echo "ff-neuro: no Python of $CORE_PYTHONS found for the Lava-free environment (set" \
         "FF_NEURO_CORE_PYTHON to an interpreter)" >&2
    exit 1
}
PYVER="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
DEPS_KEY="$(sha256sum "$LOCK" | cut -c1-16)"
DEPS="$CACHE/core-py$PYVER-$DEPS_KEY"
PROJECT_KEY="$DEPS_KEY-$PYVER-$(sha256sum "$ROOT/setup.cfg" | cut -c1-16)"

if [ -f "$DEPS/.complete" ] && [ "$(cat "$VENV/.ff-neuro-key" 2>/dev/null || true)" = "$PROJECT_KEY" ]; then
    exit 0
fi

if [ ! -f "$DEPS/.complete" ]; then
    echo "ff-neuro: installing the Lava-free packages for Python $PYVER into $DEPS (first time on this machine, ~2-4 min)"
    install_deps "$PY" "$DEPS" "$LOCK"
fi

echo "ff-neuro: creating $VENV (Python $PYVER, uses $DEPS)"
clone_venv "$DEPS" "$VENV" "$ROOT" "$PROJECT_KEY" "ff_neuro.export, ff_neuro.cli, torch, numpy, snntorch"
echo "ff-neuro: Lava-free environment ready ($("$VENV/bin/python" --version), torch $("$VENV/bin/python" -c 'import torch; print(torch.__version__)'), numpy $("$VENV/bin/python" -c 'import numpy; print(numpy.__version__)'), $VENV)"
