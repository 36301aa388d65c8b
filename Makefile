# ff-neuro: the two commands a user needs are `make demo` and `make test`.
# Both build the pinned Python 3.10 environment on first use (scripts/setup_env.sh); `make test`
# also builds the Lava-free environment on the newest Python here (scripts/setup_core_env.sh)
# and runs the suite in both: the full tier (Python 3.10, Lava) and the Lava-free tier.
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test test-full test-core docs env env-core data clean-env help

help:
	@echo "make demo   - train, quantize, export and run the FF-SNN on the embedded digits, with energy"
	@echo "make test   - run the test suite in both environments (builds them if missing)"
	@echo "make test-full - the whole suite on Python 3.10 with Lava (.venv)"
	@echo "make test-core - the Lava-free tests on the newest Python, current torch and numpy (.venv-core)"
	@echo "make env    - only build/link the Python 3.10 environment (env-core: the Lava-free one)"
	@echo "make docs   - build the documentation site into site/ (MkDocs, warnings are errors; executes the tutorials)"
	@echo "make data   - install Fashion-MNIST (Debian package dataset-fashion-mnist), needs root"

env:
	@bash scripts/setup_env.sh

env-core:
	@bash scripts/setup_core_env.sh

# The Lava-free tier: everything but the tests marked `lava`, on the newest Python here.
test-core: env-core
	@bash scripts/install_data.sh || true
	@bash scripts/install_browser.sh || true
	.venv-core/bin/python -m pytest $(PYTEST_ARGS)

# The tutorials are executed first (Python 3.10 with Lava; only those without a fresh executed
# copy in build/tutorials/), then the site renders them with their outputs.
docs: env env-core
	$(PY) scripts/execute_tutorials.py
	NO_MKDOCS_2_WARNING=1 .venv-core/bin/python -m mkdocs build --strict

demo: env
	$(VENV)/bin/ff-neuro demo

test: test-full test-core

test-full: env
	@bash scripts/install_data.sh || true
	@bash scripts/install_browser.sh || true
	$(PY) -m pytest $(PYTEST_ARGS)

data:
	@bash scripts/install_data.sh

clean-env:
	rm -rf $(VENV) .venv-core
