# The two commands (see README): `make run` and `make test`. Each sets up its own virtualenv in .venv.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run demo test lint unit bench reliability sandbox clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

## run: OmniOps on the embedded default (SQLite, in-process worker, sandbox providers, a demo owner)
run: $(STAMP)
	$(VENV)/bin/omniops run --demo $(ARGS)

demo: run

## test: lint, type-check and the whole test suite (unit, contract, integration, e2e)
test: $(STAMP) lint
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit

## bench: every benchmark; figures go to BENCHMARKS.md
bench: $(STAMP)
	$(PY) -m benchmarks

## reliability: the long fuzz and chaos suites (CI runs their short versions on every change)
reliability: $(STAMP)
	OMNIOPS_CHAOS_TRIALS=50 OMNIOPS_FUZZ_EXAMPLES=2000 $(PY) -m pytest -q tests/chaos tests/fuzz

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
