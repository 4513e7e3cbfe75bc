# Every target sets itself up: a fresh clone needs only `make run` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# `make run` needs only the runtime dependencies; tests and lint add the `test` extra (pytest, Playwright, mypy...).
RUN_STAMP := $(VENV)/.runtime

IMAGE  ?= localhost/rwg-sandbox

.PHONY: run test test-fast lint bench fixtures image test-container clean

$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

## run: serve the sandbox with the default fixtures on http://127.0.0.1:8080 (installs the runtime dependencies only)
run: $(RUN_STAMP)
	$(BIN)/python app.py

## test: the whole suite (unit, API, end-to-end)
test: $(STAMP)
	$(BIN)/python -m pytest

## test-fast: unit and API tests only
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not e2e"

## lint: ruff (style, imports, likely bugs; formatting) and mypy (types; strict on mock_server/domain)
lint: $(STAMP)
	$(BIN)/ruff check mock_server app.py bench tests
	$(BIN)/ruff format --check mock_server app.py bench tests
	$(BIN)/mypy

## bench: throughput and latency figures (run by hand)
bench: $(STAMP)
	$(BIN)/python bench/run.py

## fixtures: regenerate fixtures/default.json (seed 42, default size)
fixtures: $(RUN_STAMP)
	$(BIN)/rwg-sandbox fixtures generate --seed 42 --out fixtures/default.json

## image: docker build on a locally bootstrapped Debian base (where Docker Hub's python image cannot be pulled)
image:
	bash tests/container/build_base.sh
	docker build --network host --build-arg BASE_IMAGE=localhost/py-base -t $(IMAGE) .

## test-container: build the image on the Docker engine (DOCKER_HOST) and exercise the sandbox inside it
test-container: $(STAMP)
	TESTCONTAINERS_RYUK_DISABLED=true $(BIN)/python -m pytest -m container tests/container -rA

clean:
	rm -rf $(VENV) .pytest_cache
