# Two commands do all set-up on a fresh Debian 12 with Python 3.11:
#   make run    the app on the built-in tour
#   make test   ruff, the import-linter contracts and the test suite
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.zpviz-installed

.PHONY: run test test-slow lint bench screenshot clean

$(STAMP): pyproject.toml
	@tools/setup-debian.sh test
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[all]'
	@touch $(STAMP)

run: $(STAMP)
	@tools/setup-debian.sh run
	$(BIN)/zpviz $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check zpviz tests bench
	$(BIN)/lint-imports

test: lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-slow: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m slow $(PYTEST_ARGS)

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python bench/run.py $(ARGS)

screenshot: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/zpviz --screenshot resources/screenshot.png $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
