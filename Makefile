# `make demo` and `make test` work on a fresh machine with Python 3.11: they create .venv when it
# is missing and install the project with its test extras into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Until the reports land, the demo shows what exists: the store and a due date around Tết.
demo: $(STAMP)
	$(BIN)/motcua init --config config.toml
	$(BIN)/python -c "from datetime import datetime; from monitor.calendar import WorkingCalendar; \
	from monitor.deadlines import legal_due_date; from connectors.parsing import parse_time_limit; \
	limit = parse_time_limit('05 ngày làm việc kể từ ngày nhận đủ hồ sơ'); received = datetime(2026, 2, 13, 16, 30); \
	print('Hồ sơ nhận', received, '- thời hạn 05 ngày làm việc - hạn trả:', \
	legal_due_date(WorkingCalendar(), limit, received, None), '(qua Tết 16-20/02/2026)')"
	@echo "Still to come: sync from the simulated province, the audit, and the e-mailed reports."

bench: $(STAMP)
	$(BIN)/python bench/audit_bench.py

clean:
	rm -rf $(VENV) build *.egg-info demo-output
