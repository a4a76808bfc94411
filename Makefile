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

# Three parts, each always run; any failing fails the target.
# 1. Tests marked `parallel` (unit tests, training on Spark, broker tests that check no
#    timing) on TEST_WORKERS pytest-xdist workers, each with its own broker, by whole files.
# 2. The rest, in one process: they check answers inside the SLA, which two workers on two
#    cores make fail by contention (2 and 3 failures in two of three CI runs, 2026-12-02).
# 3. Tests marked `solo` (three brokers on this machine), alone.
TEST_WORKERS ?= 2

test: jars
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile -m "parallel and not solo"; first=$$?; \
	$(BIN)/python -m pytest -m "not parallel and not solo"; timed=$$?; \
	$(BIN)/python -m pytest -m solo; solo=$$?; \
	echo "make test: parallel part exit $$first, timed part exit $$timed, solo part exit $$solo"; \
	test $$first -eq 0 && test $$timed -eq 0 && test $$solo -eq 0

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
