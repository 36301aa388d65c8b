# Shared steps of scripts/setup_env.sh and scripts/setup_core_env.sh (sourced, not run).
# Both build the same two layers: the pinned packages of a lock file in a cache directory
# outside the clone, and a small virtualenv of the clone on top of it.

run_quiet() {
    # Keep a command's output in a log; show it (minus this machine's pip index-location
    # noise) only when the command fails.
    local log; log="$(mktemp)"
    if ! "$@" >"$log" 2>&1; then
        grep -v "is ignored: it is neither a file nor a directory" "$log" >&2 || true
        rm -f "$log"; echo "ff-neuro: failed: $*" >&2; exit 1
    fi
    rm -f "$log"
}

# install_deps PY DEPS LOCK [PIP]: a fresh venv at DEPS made by PY, with PIP (a pip release to
# install first, optional) and every package of LOCK, checked; marked complete.
install_deps() {
    local py="$1" deps="$2" lock="$3" pip="${4:-}"
    rm -rf "$deps"
    mkdir -p "$(dirname "$deps")"
    "$py" -m venv "$deps"
    if [ -n "$pip" ]; then
        run_quiet "$deps/bin/python" -m pip install --quiet --upgrade "$pip"
    fi
    # The lock file pins every package; --no-deps keeps pip from resolving anything else.
    run_quiet "$deps/bin/python" -m pip install --quiet --no-deps -r "$lock"
    run_quiet "$deps/bin/python" -m pip check
    touch "$deps/.complete"
}

# install_layer DEPS LAYER LOCK: the packages of LOCK in the folder LAYER (pip --target) on top
# of the DEPS venv, checked together with it (pip check); marked complete. A layer keeps an
# optional package set out of a large lock: changing it reinstalls only the layer.
install_layer() {
    local deps="$1" layer="$2" lock="$3"
    rm -rf "$layer"
    mkdir -p "$(dirname "$layer")"
    run_quiet "$deps/bin/python" -m pip install --quiet --no-deps --target "$layer" -r "$lock"
    PYTHONPATH="$layer" run_quiet "$deps/bin/python" -m pip check
    touch "$layer/.complete"
}

# clone_venv DEPS VENV ROOT KEY MODULES [LAYER]: the clone's VENV seeing DEPS (and the folder
# LAYER of install_layer, when given) through a .pth file, with ff-neuro (ROOT) installed
# editable; MODULES (comma-separated) must import; KEY is recorded.
clone_venv() {
    local deps="$1" venv="$2" root="$3" key="$4" modules="$5" layer="${6:-}" site deps_site
    rm -rf "$venv"
    "$deps/bin/python" -m venv --without-pip "$venv"
    site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    deps_site="$("$deps/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "$deps_site" > "$site/_ff_neuro_deps.pth"
    if [ -n "$layer" ]; then echo "$layer" >> "$site/_ff_neuro_deps.pth"; fi
    # nbconvert finds its templates (data files, not modules) under sys.prefix/share/jupyter
    if [ -d "$deps/share/jupyter/nbconvert" ]; then
        mkdir -p "$venv/share/jupyter"
        ln -s "$deps/share/jupyter/nbconvert" "$venv/share/jupyter/nbconvert"
    fi
    run_quiet "$venv/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e "$root"
    "$venv/bin/python" -c "import $modules" || {
        echo "ff-neuro: the environment in $venv does not import; remove it and $deps and retry" >&2
        exit 1
    }
    echo "$key" > "$venv/.ff-neuro-key"
}
