# The two commands of the README: `make demo` and `make test`. Both create .venv when missing and
# install the pinned dependencies from requirements.lock.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
INSTALLED := $(VENV)/.installed
# The `dagster` extra (pipelines/orchestration/) in a venv of its own: `make demo` never installs
# it, `make test` does and runs its tests there. requirements-dagster.lock is compiled with
# requirements.lock as constraints, so the two venvs share every pin they both have.
DAGSTER_VENV := .venv-dagster
DAGSTER_INSTALLED := $(DAGSTER_VENV)/.installed
# The S3-compatible server of the object-storage tests (moto_server), a test tool in a venv of its
# own: moto's botocore caps python-dateutil below the version requirements.lock pins.
S3_VENV := .venv-s3
S3_INSTALLED := $(S3_VENV)/.installed

.PHONY: demo test system-packages lint unit schemas bench bench-quick soak lock clean

$(INSTALLED): requirements.lock pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(INSTALLED)

$(DAGSTER_INSTALLED): requirements.lock requirements-dagster.lock pyproject.toml
	test -x $(DAGSTER_VENV)/bin/python || $(PYTHON) -m venv $(DAGSTER_VENV)
	$(DAGSTER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock -r requirements-dagster.lock
	$(DAGSTER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(DAGSTER_INSTALLED)

$(S3_INSTALLED): requirements-s3.lock
	test -x $(S3_VENV)/bin/python || $(PYTHON) -m venv $(S3_VENV)
	$(S3_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-s3.lock
	touch $(S3_INSTALLED)

demo: $(INSTALLED)
	$(VENV)/bin/callhouse demo

# The Debian packages the tests use first (silent when present; installs them as root, else fails
# naming them), lint (ruff, sqlfluff and mypy's type check: under a minute), the Dagster assets'
# tests in their own venv, then the whole suite: unit tests, the layering test and the end-to-end tests.
test: system-packages lint $(DAGSTER_INSTALLED) $(S3_INSTALLED)
	$(DAGSTER_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/orchestration
	$(VENV)/bin/python -m pytest -q -n 2 --dist worksteal --durations=25

system-packages:
	tools/system-packages.sh

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/sqlfluff lint --processes 2 sql/
	$(VENV)/bin/mypy

# The unit tests alone: every test that needs no sandbox, no subprocess and no PostgreSQL server
# (tests/conftest.py marks them `unit`, whatever their folder).
unit: $(INSTALLED)
	$(VENV)/bin/python -m pytest -q -m unit

# Benchmarks (issue 8): the full run takes ~12 minutes; bench-quick is the CI smoke size.
bench: $(INSTALLED)
	$(VENV)/bin/python -m bench

bench-quick: $(INSTALLED)
	$(VENV)/bin/python -m bench --quick

# Crash soak: SIGKILL backfills at random moments, rerun, verify exact rows (by hand, not in CI).
soak: $(INSTALLED)
	$(VENV)/bin/python -m tests.reliability.soak --rounds 30

# Rewrite schemas/ from what the code loads (review the diff before committing).
schemas: $(INSTALLED)
	$(VENV)/bin/python -m pipelines.commands.schemas

# Regenerate the lock after changing pyproject.toml dependencies.
lock: $(INSTALLED)
	$(VENV)/bin/python -m pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --strip-extras --extra test --output-file requirements.lock pyproject.toml
	$(VENV)/bin/pip-compile --quiet --strip-extras --extra dagster --constraint requirements.lock \
		--no-emit-index-url --no-emit-find-links --output-file requirements-dagster.lock pyproject.toml

clean:
	rm -rf $(VENV) $(DAGSTER_VENV) $(S3_VENV) warehouse .pytest_cache
