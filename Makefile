# One entry point for set-up, tests and the demo. Every target does its own set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV_VERSION := 0.13.8
STAMP  := $(VENV)/.installed

.PHONY: test lint typecheck unit demo venv system-deps local-models demo-models clean lock bench docs

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv==$(UV_VERSION)

$(STAMP): $(BIN)/uv requirements-dev.lock pyproject.toml
	$(BIN)/uv pip sync -q --python $(BIN)/python requirements-dev.lock
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $@

venv: $(STAMP)

# bubblewrap isolates the code sandbox; chromium checks that the HTML report renders;
# postgresql's server binaries let tests start a throwaway database (storage.backend: postgres).
# Installed when missing (needs root, as on CI).
system-deps:
	@missing=""; \
	command -v bwrap >/dev/null 2>&1 || missing="$$missing bubblewrap"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v cmake >/dev/null 2>&1 || missing="$$missing cmake"; \
	command -v c++ >/dev/null 2>&1 || missing="$$missing g++"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	  || echo "warning: could not install$$missing"; \
	fi

lint: venv
	$(BIN)/ruff check concept_distill tests bench examples
	$(BIN)/ruff format --check concept_distill tests bench examples

typecheck: venv
	$(BIN)/mypy

# The embedded default: llama-server built once per pinned version (~4 min), models verified by
# sha256; both cached under $$XDG_CACHE_HOME/concept-distill, so re-runs cost nothing.
local-models: venv system-deps
	$(BIN)/python -m concept_distill.local build-server
	$(BIN)/python -m concept_distill.local fetch --quiet --model smollm2-135m

demo-models: local-models
	$(BIN)/python -m concept_distill.local fetch --quiet --model qwen2.5-coder-0.5b --model qwen2.5-coder-1.5b

unit: venv system-deps local-models
	$(BIN)/pytest -q

test: lint typecheck unit

bench: venv system-deps local-models
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/sandbox_throughput.py
	$(BIN)/python bench/model_overhead.py
	$(BIN)/python bench/orchestration.py
	$(BIN)/python bench/local_server.py
	$(BIN)/python bench/acceptance.py
	$(BIN)/python bench/soak.py

# Regenerate docs/config.md and docs/teacher-reply.md from the code (a test checks they are fresh).
docs: venv
	$(BIN)/python -m concept_distill.docs

# A real distillation with the local models (no API key): see configs/demo.yaml.
demo: venv system-deps demo-models
	$(BIN)/concept-distill run configs/demo.yaml

# Regenerate the hashed locks after changing dependencies in pyproject.toml.
lock: $(BIN)/uv
	$(BIN)/uv pip compile -q pyproject.toml --generate-hashes --python-version 3.11 -o requirements.lock
	$(BIN)/uv pip compile -q pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements-dev.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
