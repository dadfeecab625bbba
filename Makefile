# ci-jobs: `make run` installs what serving needs into .venv (once) and starts the server on the
# embedded defaults; `make test` adds the test and cluster extras and runs the whole suite.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SERVE := $(VENV)/.installed-serve
STAMP := $(VENV)/.installed-test
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: run install test test-fast lint typecheck bench clean

$(SERVE): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) -e .
	touch $(SERVE)

$(STAMP): $(SERVE)
	$(PIP) -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(SERVE)
	$(BIN)/ci-jobs serve $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check ci_jobs tests bench examples
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy --strict ci_jobs

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/profile_submit.py
	$(BIN)/python bench/bench_sync.py
	$(BIN)/python bench/bench_store.py
	$(BIN)/python bench/bench_validation.py
	$(BIN)/python bench/bench_workflows.py
	$(BIN)/python bench/bench_mps.py
	$(BIN)/python bench/bench_tsc.py
	$(BIN)/python bench/bench_quality.py
	$(BIN)/python bench/bench_speech.py
	$(BIN)/python bench/bench_montage.py
	$(BIN)/python bench/bench_videotag.py

clean:
	rm -rf $(VENV) var .pytest_cache *.egg-info
