# Pronunciation Tutor — the two commands are `make run` and `make test`.
PORT ?= 8000
PY := .venv/bin/python

.PHONY: run test ci lint migrations-check bench install install-test clean

## Set up and run the whole app (web + Celery worker) on http://127.0.0.1:$(PORT)
run: install
	PORT=$(PORT) scripts/run.sh

## Install what the suite needs and run every test (unit, integration, browser)
test: install-test
	$(PY) -m ruff check .
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

ci: test

install:
	scripts/system-deps.sh run
	scripts/venv.sh

install-test:
	scripts/system-deps.sh test
	scripts/venv.sh test

lint: install-test
	$(PY) -m ruff check .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

## Benchmarks print ratios against a baseline measured in the same run (see docs/benchmarks.md, which collects the figures)
bench: install-test
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf var .pytest_cache
