#!/usr/bin/env bash
# Create (or reuse) the project's Python 3.10 environment.
#
# Lava (lava-nc 0.10.0, lava-dl 0.6.0) supports Python 3.10 only. Two layers:
#   1. the pinned third-party packages (requirements/lock.txt, ~5.6 GB with torch) in a cache
#      directory outside the clone, one per lock-file content (FF_NEURO_CACHE, default
#      ~/.cache/ff-neuro): built once per machine, reused by every clone and by CI;
#   2. NeuroBench and what it declares (requirements/neurobench-lock.txt, ~30 MB) in a folder
#      beside layer 1, one per content of both lock files, checked together with layer 1: the
#      optional `neurobench` extra, kept out of lock.txt so that it reinstalls in seconds;
#   3. ./.venv, a small virtualenv of this clone that sees layers 1 and 2 through a .pth file and
#      holds the editable install of ff-neuro itself (seconds to create).
# A second run with nothing changed installs nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCK="$ROOT/requirements/lock.txt"
CACHE="${FF_NEURO_CACHE:-$HOME/.cache/ff-neuro}"
DEPS_KEY="$(sha256sum "$LOCK" | cut -c1-16)"
DEPS="$CACHE/deps-py310-$DEPS_KEY"
NB_LOCK="$ROOT/requirements/neurobench-lock.txt"
NB_KEY="$(cat "$LOCK" "$NB_LOCK" | sha256sum | cut -c1-16)"
NB="$CACHE/neurobench-py310-$NB_KEY"
VENV="$ROOT/.venv"
PROJECT_KEY="$DEPS_KEY-$NB_KEY-$(sha256sum "$ROOT/setup.cfg" | cut -c1-16)"
# shellcheck source=env_lib.sh
source "$ROOT/scripts/env_lib.sh"

find_python310() {
    if command -v python3.10 >/dev/null 2>&1 && python3.10 -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
        command -v python3.10; return 0
    fi
    if command -v pyenv >/dev/null 2>&1; then
        local root; root="$(pyenv root)"
        for p in "$root"/versions/3.10*/bin/python3.10; do
            if [ -x "$p" ] && "$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' >/dev/null 2>&1; then
                echo "$p"; return 0
            fi
        done
    fi
    for p in /usr/bin/python3.10 /usr/local/bin/python3.10; do
        if [ -x "$p" ] && "$p" -c 'import venv' >/dev/null 2>&1; then echo "$p"; return 0; fi
    done
    return 1
}

# Fast path: everything in place.
if [ -f "$DEPS/.complete" ] && [ -f "$NB/.complete" ] && [ "$(cat "$VENV/.ff-neuro-key" 2>/dev/null || true)" = "$PROJECT_KEY" ]; then
    exit 0
fi

if [ ! -f "$DEPS/.complete" ]; then
    PY="$(find_python310)" || {
        cat >&2 <<MSG
ff-neuro needs Python 3.10 (Lava supports 3.10 only) and none was found.
Install one, for example:
  pyenv install 3.10.13            # with pyenv
  apt-get install python3.10-venv  # Debian/Ubuntu releases that package 3.10
then run this again. Looked for: python3.10 on PATH, \$(pyenv root)/versions/3.10*/bin/python3.10,
/usr/bin/python3.10, /usr/local/bin/python3.10.
MSG
        exit 1
    }
    echo "ff-neuro: installing the pinned packages into $DEPS (first time on this machine, ~2-5 min)"
    install_deps "$PY" "$DEPS" "$LOCK" "pip==24.2"
fi

if [ ! -f "$NB/.complete" ]; then
    echo "ff-neuro: installing NeuroBench into $NB (seconds)"
    install_layer "$DEPS" "$NB" "$NB_LOCK"
fi

echo "ff-neuro: creating $VENV (uses $DEPS and $NB)"
clone_venv "$DEPS" "$VENV" "$ROOT" "$PROJECT_KEY" "ff_neuro.export, lava, torch, snntorch, neurobench" "$NB"
echo "ff-neuro: environment ready ($("$VENV/bin/python" --version), $VENV)"
