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

# One process by default. TEST_WORKERS=2 runs two pytest-xdist workers, each with its own
# broker, taking whole test files: half the time, but on two cores the tests that check
# answers inside the SLA then fail by contention (2 and 3 failures in two of three CI runs,
# 2026-12-02). Tests marked `solo` (three brokers on this machine) run afterwards, alone.
# Both parts always run; either failing fails the target.
TEST_WORKERS ?= 0

test: jars
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not solo"; rest=$$?; \
	$(BIN)/python -m pytest -m solo; solo=$$?; \
	echo "make test: the rest exit $$rest, solo part exit $$solo"; \
	test $$rest -eq 0 && test $$solo -eq 0

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
