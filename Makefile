PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mirror demo

test: $(STAMP)
	$(BIN)/python -m pytest

# mypy checks the pure FHIR code, the store and the shared HTTP layer (the modules that exist of those named).
TYPED := mirror/fhir mirror/store mirror/http

lint: $(STAMP)
	$(BIN)/ruff check mirror mockpayer tests bench
	$(BIN)/mypy $(TYPED)

bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
