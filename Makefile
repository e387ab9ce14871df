# Every target makes .venv itself when it is missing or pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_DATA ?= demo-data
DEMO_LINKED = $(DEMO_DATA)/linked
DEMO_CHILDREN ?= 20000
DEMO_SEED ?= 20261129
DEMO_MODEL ?= scorecard
DEMO_STORE ?= sqlite:///$(DEMO_DATA)/riskflag.db
DEMO_PORT ?= 8000
DEMO_SERVE ?= 1
PYTEST_WORKERS ?= 2
# the accessibility engine of the browser tests, from the npm registry (never fetched at test time)
AXE_CORE_VERSION ?= 4.14.1
AXE_JS := .cache/axe/node_modules/axe-core/axe.min.js
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR ?= false

.PHONY: demo lock test browser screenshots notebooks lint format messages bench-contract bench-synth bench-features bench-models bench-ebm bench-serving bench-spark bench-link clean

# Installs are exact: requirements.lock pins every package of every extra with its hashes
# (uv pip compile; `make lock` refreshes it deliberately), installed by uv, itself pinned.
UV_VERSION ?= 0.13.8
UV := .cache/uv/bin/uv
LOCK := requirements.lock

$(UV):
	rm -rf .cache/uv
	$(PYTHON) -m venv .cache/uv
	.cache/uv/bin/python -m pip install --quiet uv==$(UV_VERSION)

$(STAMP): pyproject.toml $(LOCK) | $(UV)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(UV) pip sync --quiet --require-hashes --python $(BIN)/python $(LOCK)
	$(UV) pip install --quiet --no-deps --python $(BIN)/python -e .
	touch $(STAMP)

## lock: resolve pyproject.toml's dependencies (all extras) anew into requirements.lock
lock: | $(UV)
	$(UV) pip compile pyproject.toml --all-extras --generate-hashes --universal \
		--python-version 3.11 --quiet -o $(LOCK)

## demo: synthetic Beijing source exports -> link them into children (checked first; measured
## against the synthetic truth) -> validate -> features -> train -> promote -> score -> store -> users
## of every role -> batches (the queue; one after a planted input problem) -> serve the API
## (DEMO_SERVE=0 to stop before)
demo: $(STAMP)
	@if [ -f $(DEMO_LINKED)/events.parquet ]; then \
		echo "== $(DEMO_LINKED)/ exists: reusing it (delete $(DEMO_DATA)/ to regenerate)"; \
	else \
		if [ ! -d $(DEMO_DATA)/sources ]; then \
			echo "== generating $(DEMO_CHILDREN) synthetic children: the partners' source exports into"; \
			echo "   $(DEMO_DATA)/sources, the truth they were made from into $(DEMO_DATA)/truth"; \
			$(BIN)/riskflag synth --sources --children $(DEMO_CHILDREN) --seed $(DEMO_SEED) \
				--out $(DEMO_DATA) || exit 1; \
		fi; \
		echo "== linking the source records into children (Splink), measured against the truth;"; \
		echo "   link checks the exports first (the rules of riskflag validate-sources)"; \
		echo "   (its full counts and Splink's messages: $(DEMO_DATA)/link.log)"; \
		$(BIN)/riskflag link $(DEMO_DATA)/sources --out $(DEMO_LINKED) --truth $(DEMO_DATA)/truth \
			> $(DEMO_DATA)/link.log 2>&1 || { cat $(DEMO_DATA)/link.log; exit 1; }; \
	fi
	@$(BIN)/python -m features.linkage.summary $(DEMO_LINKED)
	@echo "== validating $(DEMO_LINKED)/ against the data contract"
	$(BIN)/riskflag validate $(DEMO_LINKED)
	@echo "== building point-in-time features: 24 monthly as-of dates"
	$(BIN)/riskflag features build --data $(DEMO_LINKED) --out $(DEMO_DATA)/features.parquet \
		--from 2023-08-01 --to 2025-07-01
	@echo "== training a $(DEMO_MODEL) model: split, fit, calibrate, evaluate, audit, register"
	$(BIN)/riskflag train --data $(DEMO_LINKED) --model $(DEMO_MODEL) \
		--tracking-uri sqlite:///$(DEMO_DATA)/mlflow.db | tee $(DEMO_DATA)/train.json
	@echo "== promoting it to champion: the gates judge the model alone (its error rates and"
	@echo "   calibration by group, with confidence intervals); the capacity policy's effect on"
	@echo "   flag rates was accepted once, when the policy was set ([fairness.policy_accepted])"
	@V=$$(tail -1 $(DEMO_DATA)/train.json | $(BIN)/python -c 'import json,sys; print(json.load(sys.stdin)["version"])'); \
	$(BIN)/riskflag promote $$V --tracking-uri sqlite:///$(DEMO_DATA)/mlflow.db --by demo
	@echo "== scoring every eligible child on the export date with the champion"
	$(BIN)/riskflag score --data $(DEMO_LINKED) --as-of 2025-12-31 --out $(DEMO_DATA)/scores.csv \
		--tracking-uri sqlite:///$(DEMO_DATA)/mlflow.db
	@echo "== migrating the store ($(DEMO_STORE)) to the latest schema, then loading $(DEMO_LINKED)/"
	@echo "   into it (loading the same export again changes nothing)"
	RISKFLAG_DATABASE_URL=$(DEMO_STORE) $(BIN)/riskflag db migrate
	RISKFLAG_DATABASE_URL=$(DEMO_STORE) $(BIN)/riskflag db load $(DEMO_LINKED)
	@echo "== demo users, one per role, with an API token and a page password (new on each run;"
	@echo "   kept in $(DEMO_DATA)/tokens.txt, readable by you only)"
	@umask 077; : > $(DEMO_DATA)/tokens.txt; \
	for spec in "demo-caseworker caseworker --district Chaoyang" \
	            "demo-supervisor supervisor --district Chaoyang --district Haidian" \
	            "demo-analyst analyst" "demo-admin admin" "demo-records records_officer"; do \
		set -- $$spec; name=$$1; shift; \
		token=$$( (RISKFLAG_DATABASE_URL=$(DEMO_STORE) $(BIN)/riskflag users add $$name --role $$@ 2>/dev/null \
		  || RISKFLAG_DATABASE_URL=$(DEMO_STORE) $(BIN)/riskflag users token $$name) | tail -1 ); \
		password=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(12))'); \
		echo "$$password" | RISKFLAG_DATABASE_URL=$(DEMO_STORE) $(BIN)/riskflag users password $$name \
			--password-stdin >/dev/null; \
		echo "$$name $$token $$password" >> $(DEMO_DATA)/tokens.txt; \
	done; echo "user API-token page-password"; cat $(DEMO_DATA)/tokens.txt
	@echo "== building the caseworkers' queue: every child of the store scored with the champion, as"
	@echo "   a division's weeks would: on 2025-06-01 (its horizon has passed by the export: how its"
	@echo "   scores turned out is judged and kept) and on 2025-12-01, both checked and healthy"
	RISKFLAG_DATABASE_URL=$(DEMO_STORE) $(BIN)/riskflag queue build --by demo --as-of 2025-06-01 \
		--tracking-uri sqlite:///$(DEMO_DATA)/mlflow.db
	RISKFLAG_DATABASE_URL=$(DEMO_STORE) $(BIN)/riskflag queue build --by demo --as-of 2025-12-01 \
		--tracking-uri sqlite:///$(DEMO_DATA)/mlflow.db
	@echo "== the division's statistics of the export: children served by population, district and"
	@echo "   area per month and the support recorded, counted from the pipeline's statuses and"
	@echo "   suppressed under 10 (the statistics page); the files an analyst hands on, both languages"
	RISKFLAG_DATABASE_URL=$(DEMO_STORE) $(BIN)/riskflag stats publish --by demo
	RISKFLAG_DATABASE_URL=$(DEMO_STORE) $(BIN)/riskflag stats export --out $(DEMO_DATA)/statistics
	@echo "== a planted problem: the hospitals' feed of the week before the export sent twice"
	@echo "   (riskflag plant), loaded; the next batch names it on the monitoring page and the queue"
	rm -rf $(DEMO_DATA)/resent
	$(BIN)/riskflag plant $(DEMO_LINKED) --out $(DEMO_DATA)/resent --problem doubled \
		--source health --as-of 2025-12-31
	RISKFLAG_DATABASE_URL=$(DEMO_STORE) $(BIN)/riskflag db load $(DEMO_DATA)/resent
	RISKFLAG_DATABASE_URL=$(DEMO_STORE) $(BIN)/riskflag queue build --by demo \
		--tracking-uri sqlite:///$(DEMO_DATA)/mlflow.db
	@echo "== done. Features: $(DEMO_DATA)/features.parquet; scores: $(DEMO_DATA)/scores.csv;"
	@echo "   statistics (CSV, Excel, PNG; en and zh-CN): $(DEMO_DATA)/statistics/"
	@echo "   runs, reports, model card: mlflow ui --backend-store-uri sqlite:///$(DEMO_DATA)/mlflow.db"
	@if [ "$(DEMO_SERVE)" = "1" ]; then \
		T=$$(awk '$$1=="demo-caseworker"{print $$2}' $(DEMO_DATA)/tokens.txt); \
		echo "== serving the pages and the API at http://127.0.0.1:$(DEMO_PORT) (Ctrl+C stops it)"; \
		echo "   sign in with a user and page password above (demo-caseworker: the queue;"; \
		echo "   demo-analyst: the model and statistics pages; demo-admin: the monitoring page,"; \
		echo "   the planted problem in the latest batch); the API's docs are at /docs. Try:"; \
		echo "   curl -H 'Authorization: Bearer $$T' http://127.0.0.1:$(DEMO_PORT)/v1/flags?limit=3"; \
		RISKFLAG_DATABASE_URL=$(DEMO_STORE) RISKFLAG_TRACKING_URI=sqlite:///$(DEMO_DATA)/mlflow.db \
		$(BIN)/riskflag serve --port $(DEMO_PORT); \
	else echo "   (DEMO_SERVE=0: not serving; run \`make demo\` to serve the API)"; fi

## screenshots: the pages in both languages into docs/screenshots/ (shown in the README)
screenshots: $(STAMP) browser
	RISKFLAG_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q \
		tests/browser/test_mornings.py tests/browser/test_pages.py tests/browser/test_review_page.py \
		tests/browser/test_corrections_flow.py tests/browser/test_household_flow.py \
		tests/browser/test_monitoring_page.py tests/browser/test_statistics_page.py \
		-k "morning or phone or accessibility or decides_a_pair or corrects_a_record or household or broken_check or takes_the_file"

## notebooks: JupyterLab on notebooks/ with the demo data and its MLflow store ready
notebooks: $(STAMP)
	@if [ ! -f $(DEMO_DATA)/mlflow.db ]; then $(MAKE) demo DEMO_SERVE=0; fi
	$(BIN)/jupyter lab notebooks/

## messages: add the templates' new messages to the Chinese catalogue (then translate them)
messages: $(STAMP)
	mkdir -p build
	$(BIN)/pybabel extract -F babel.cfg -o build/messages.pot --no-location .
	$(BIN)/pybabel update -i build/messages.pot -d serving/locale -l zh_CN --no-fuzzy-matching --ignore-obsolete --no-wrap --ignore-pot-creation-date

## test: lint, type-check and run the whole suite (the browser tests included)
test: $(STAMP) lint browser
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=15

## browser: Debian's Chromium (/usr/bin/chromium), a Chinese font for its screenshots, and
## axe-core's axe.min.js for tests/browser
browser: $(AXE_JS)
	command -v chromium >/dev/null || (apt-get update && apt-get install -y --no-install-recommends chromium)
	fc-list | grep -qi wenquanyi || apt-get install -y --no-install-recommends fonts-wqy-microhei \
		|| (apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei)

# remade when this Makefile changes (a new AXE_CORE_VERSION); .cache/ is git-ignored
$(AXE_JS): Makefile
	rm -rf .cache/axe
	npm install --prefix .cache/axe --no-save --no-package-lock --no-audit --no-fund --silent \
		axe-core@$(AXE_CORE_VERSION)
	test -f $(AXE_JS)
	touch $(AXE_JS)

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

## bench-models: every family, a plain logistic peer and the ablations, out of time on nine
## worlds (our generator varied, and the strain generator unlike it) beside gbm and each
## world's oracle; then `riskflag train` end to end on 1M children
bench-models: $(STAMP)
	$(BIN)/python -m benchmarks.bench_models

## bench-ebm: the EBM's settings on about 500k training rows (fit time beside AUC), beside
## the scorecard, the logistic and gbm on the same rows
bench-ebm: $(STAMP)
	$(BIN)/python -m benchmarks.bench_ebm

## bench-serving: the API under wrk (POST /v1/score, GET risk; 1, 8, 32 clients) beside
## mlflow models serve and a bare FastAPI endpoint; BENCH_SECONDS per point (default 10)
bench-serving: $(STAMP)
	command -v wrk || (apt-get update && apt-get install -y wrk)
	$(BIN)/python -m benchmarks.bench_serving

## bench-spark: feature tables on Spark local[2] beside single-machine polars, 100k and 1M
## children x 24 as-of dates: wall time, peak memory, per-partition figures (docs/scale.md)
bench-spark: $(STAMP)
	$(BIN)/python -m benchmarks.bench_spark

## bench-link: link 100k and 1M children's seven sources beside the deterministic rule agencies
## apply, on DuckDB and Spark local[2]; quality against the truth; AUC on linked vs true data
bench-link: $(STAMP)
	$(BIN)/python -m benchmarks.bench_link

## bench-synth: generate 100k and 1M children
bench-synth: $(STAMP)
	$(BIN)/python -m benchmarks.bench_synth

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache .hypothesis $(DEMO_DATA)
