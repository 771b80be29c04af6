"""The Dagster tests need the `dagster` extra, which `make test` installs into .venv-dagster (from
requirements-dagster.lock) and runs these tests with; the main venv (`make demo`'s) has no Dagster,
so there they are not collected."""

from __future__ import annotations

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("dagster") else ["test_dagster*.py"]
