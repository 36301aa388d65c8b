# ff-neuro: the two commands a user needs are `make demo` and `make test`.
# Both build the pinned Python 3.10 environment on first use (scripts/setup_env.sh).
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test env data clean-env help

help:
	@echo "make demo   - train, quantize, export and run the FF-SNN on the embedded digits, with energy"
	@echo "make test   - run the test suite (builds the environment if missing)"
	@echo "make env    - only build/link the Python 3.10 environment"
	@echo "make data   - install Fashion-MNIST (Debian package dataset-fashion-mnist), needs root"

env:
	@bash scripts/setup_env.sh

demo: env
	$(VENV)/bin/ff-neuro demo

test: env
	@bash scripts/install_data.sh || true
	$(PY) -m pytest $(PYTEST_ARGS)

data:
	@bash scripts/install_data.sh

clean-env:
	rm -rf $(VENV)
