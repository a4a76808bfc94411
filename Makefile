# The two commands of the README: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint fmt jars bench-floor clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,train,decoy,bench,onnx,report]'
	@touch $(STAMP)

# Broker jars from Maven Central into ~/.cache/rendezvous, once; offline afterwards.
jars: $(STAMP)
	@$(BIN)/rdv broker fetch >/dev/null

demo: jars
	$(BIN)/rdv up

test: jars
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check services tests
	$(BIN)/ruff format --check services tests
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format services tests
	$(BIN)/ruff check --fix services tests

bench-floor: jars
	$(BIN)/rdv bench floor

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
