# Every target makes .venv itself when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DATA ?= demo-data
DEMO_CHILDREN ?= 20000
DEMO_SEED ?= 20261129
DEMO_MODEL ?= scorecard
PYTEST_WORKERS ?= 2

.PHONY: demo test lint format bench-contract bench-synth bench-features bench-models clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## demo: synthetic Beijing case histories -> validate -> features -> train -> promote -> score
demo: $(STAMP)
	@if [ ! -f $(DEMO_DATA)/events.parquet ]; then \
		echo "== generating $(DEMO_CHILDREN) synthetic children into $(DEMO_DATA)/"; \
		$(BIN)/riskflag synth --children $(DEMO_CHILDREN) --seed $(DEMO_SEED) --out $(DEMO_DATA); \
	else echo "== $(DEMO_DATA)/ exists: reusing it (delete it to regenerate)"; fi
	@echo "== validating $(DEMO_DATA)/ against the data contract"
	$(BIN)/riskflag validate $(DEMO_DATA)
	@echo "== building point-in-time features: 24 monthly as-of dates"
	$(BIN)/riskflag features build --data $(DEMO_DATA) --out $(DEMO_DATA)/features.parquet \
		--from 2023-08-01 --to 2025-07-01
	@echo "== training a $(DEMO_MODEL) model: split, fit, calibrate, evaluate, audit, register"
	$(BIN)/riskflag train --data $(DEMO_DATA) --model $(DEMO_MODEL) \
		--tracking-uri sqlite:///$(DEMO_DATA)/mlflow.db | tee $(DEMO_DATA)/train.json
	@echo "== promoting it to champion (gates first; the fairness audit's disparities are shown"
	@echo "   and, in this demo, justified by the per-district capacity policy that causes them)"
	@V=$$(tail -1 $(DEMO_DATA)/train.json | $(BIN)/python -c 'import json,sys; print(json.load(sys.stdin)["version"])'); \
	$(BIN)/riskflag promote $$V --tracking-uri sqlite:///$(DEMO_DATA)/mlflow.db || \
	$(BIN)/riskflag promote $$V --tracking-uri sqlite:///$(DEMO_DATA)/mlflow.db --by demo \
		--justify-disparity "flag rates follow the equal per-district capacity of the demo policy"
	@echo "== scoring every eligible child on the export date with the champion"
	$(BIN)/riskflag score --data $(DEMO_DATA) --as-of 2025-12-31 --out $(DEMO_DATA)/scores.csv \
		--tracking-uri sqlite:///$(DEMO_DATA)/mlflow.db
	@echo "== done. Features: $(DEMO_DATA)/features.parquet; scores with their top factors:"
	@echo "   $(DEMO_DATA)/scores.csv; runs, reports and model card: mlflow ui --backend-store-uri"
	@echo "   sqlite:///$(DEMO_DATA)/mlflow.db (the service arrives with the next issue)."

## test: lint, type-check and run the whole suite
test: $(STAMP) lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=15

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench-contract: validate 10 million events, beside the same checks in DuckDB SQL
bench-contract: $(STAMP)
	$(BIN)/python -m benchmarks.bench_contract

## bench-features: feature tables for 100k, 300k and 1M children x 24 as-of dates, beside DuckDB SQL
bench-features: $(STAMP)
	$(BIN)/python -m benchmarks.bench_features

## bench-models: every family out of time on 200k synthetic children beside gbm and the oracle,
## then `riskflag train` end to end on 1M children
bench-models: $(STAMP)
	$(BIN)/python -m benchmarks.bench_models

## bench-synth: generate 100k and 1M children
bench-synth: $(STAMP)
	$(BIN)/python -m benchmarks.bench_synth

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis $(DEMO_DATA)
