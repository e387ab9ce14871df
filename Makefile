# Every target makes .venv itself when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DATA ?= demo-data
DEMO_CHILDREN ?= 20000
DEMO_SEED ?= 20261129
PYTEST_WORKERS ?= 2

.PHONY: demo test lint format bench-contract bench-synth bench-features clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## demo: generate synthetic Beijing case histories and validate them (the main job so far)
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
	@echo "== done: synthetic case histories generated, validated and turned into features"
	@echo "   ($(DEMO_DATA)/features.parquet). Training and the service arrive with the next issues."

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

## bench-synth: generate 100k and 1M children
bench-synth: $(STAMP)
	$(BIN)/python -m benchmarks.bench_synth

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis $(DEMO_DATA)
