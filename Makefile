# `make test` and `make demo` create their own virtual environment in .venv, installed from the
# hashed lock requirements/dev.txt: a fresh machine gets exactly what was tested. The Dockerfile
# installs requirements/runtime.txt the same way. `make lock` refreshes both from pyproject.toml.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/dev.txt
RUNTIME_LOCK := requirements/runtime.txt
# What mypy checks: the packages that exist (rules/ is strict once it is there, see pyproject.toml).
TYPED := $(wildcard bot commands rules services storage web)
# `make lock` moves every pin to the newest release pyproject.toml allows; `make lock UPGRADE=`
# keeps the current pins and only resolves what changed in pyproject.toml.
UPGRADE ?= --upgrade
COMPILE := $(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes $(UPGRADE) \
	--python-version 3.11 --python-platform linux --custom-compile-command 'make lock'

.PHONY: test unit e2e demo bench bench-quick check lock clean

$(STAMP): $(LOCK) pyproject.toml
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

# Two workers (pytest-xdist; `make test WORKERS=0` runs in one process), each with its own
# homeserver and PostgreSQL cluster. A free worker takes the next test in collection order (the
# end-to-end tests first, the short unit tests last); the tests of one `xdist_group` mark all run
# on one worker.
WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(WORKERS) --dist loadgroup

test: $(STAMP)
	$(PYTEST)

unit: $(STAMP)
	$(PYTEST) tests/unit

e2e: $(STAMP)
	$(PYTEST) tests/e2e

demo: $(STAMP)
	$(BIN)/regiobot demo

# Lint, format check and type check; all three run, and any finding fails the target.
check: $(STAMP)
	@status=0; \
	echo "ruff check"; $(BIN)/ruff check . || status=1; \
	echo "ruff format --check"; $(BIN)/ruff format --check . || status=1; \
	echo "mypy $(TYPED)"; $(BIN)/mypy $(TYPED) || status=1; \
	exit $$status

# The runtime lock is resolved within the dev lock, so the image runs the versions that were tested.
lock: $(STAMP)
	$(COMPILE) --extra test --extra dev -o $(LOCK)
	$(COMPILE) --constraint $(LOCK) -o $(RUNTIME_LOCK)

clean:
	rm -rf $(VENV) .demo .pytest_cache .mypy_cache .ruff_cache

# `make bench` measures everything (bench/__main__.py); `make bench-quick` is the developer's loop
# (`python -m bench --quick`, at most 3 minutes). Make takes no `--quick` of its own: ARGS passes
# options through, e.g. `make bench ARGS="--quick --samples 20"`.
ARGS ?=

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick $(ARGS)
