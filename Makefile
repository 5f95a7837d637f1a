# `make demo` and `make test` work on a fresh machine with Python 3.11: they create .venv when it
# is missing and install the project with its test extras into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo docs-images bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,demo]'
	touch $(STAMP)

# One pytest worker per core (pytest-xdist); TEST_WORKERS=0 runs the suite in one process.
TEST_WORKERS ?= auto

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The whole pipeline on a simulated province, in a fresh folder under demo-output/.
demo: $(STAMP)
	$(BIN)/motcua demo

# The README's pictures (docs/*.png), from a fresh demo, rendered by Debian's chromium
# (apt-get install chromium); Playwright drives it and never downloads a browser.
docs-images: $(STAMP)
	$(BIN)/python -m sandbox.screenshots docs

bench: $(STAMP)
	$(BIN)/python bench/audit_bench.py

clean:
	rm -rf $(VENV) build *.egg-info demo-output
