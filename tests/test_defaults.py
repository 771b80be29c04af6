"""Defaults live in the code: `.dlt/config.toml` lists the settings but sets none of them, so a
default changed in pipelines/settings.py (or a vendor's settings) is the one that applies."""

import tomllib
from pathlib import Path

from pipelines.extract.walk import Checkpoint
from pipelines.fetch.retry import RetryPolicy
from pipelines.settings import (
    DEFAULT_CHECKPOINT_ROWS,
    DEFAULT_CHECKPOINT_SECONDS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEZONE,
    ReportingSettings,
)

CONFIG = Path(__file__).resolve().parents[1] / ".dlt" / "config.toml"


def _values(doc: dict, path: tuple[str, ...] = ()) -> dict[str, object]:
    found: dict[str, object] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            found.update(_values(value, path + (key,)))
        else:
            found[".".join(path + (key,))] = value
    return found


def test_config_toml_sets_only_dlts_own_log_level():
    assert _values(tomllib.loads(CONFIG.read_text())) == {"runtime.log_level": "ERROR"}


def test_the_shared_defaults_are_read_from_settings():
    assert RetryPolicy().max_retries == DEFAULT_MAX_RETRIES
    assert (Checkpoint().rows, Checkpoint().seconds) == (DEFAULT_CHECKPOINT_ROWS, DEFAULT_CHECKPOINT_SECONDS)
    assert ReportingSettings().timezone == DEFAULT_TIMEZONE


def test_a_load_gives_duckdb_128_mb_by_default():
    # DuckDB's share of a backfill's peak: 256MB made it ~150 MB higher at 190k calls for no
    # more speed (bench/README.md).
    import duckdb

    from pipelines.warehouse.duckdb_file import tune_for_loading

    con = duckdb.connect()
    tune_for_loading(con)
    assert con.execute("select current_setting('memory_limit')").fetchone()[0] == "122.0 MiB"  # 128 MB


def test_dlt_loads_one_job_at_a_time(monkeypatch):
    # Every table's file loaded at once (dlt's default, 20 workers) were as many DuckDB queries
    # under the one memory limit: ~100 MB more at the 190k backfill's peak (bench/README.md).
    from dlt.common.configuration.resolve import resolve_configuration
    from dlt.load.configuration import LoaderConfiguration

    from pipelines.load.runner import DLT_DEFAULTS, apply_dlt_defaults

    for key in DLT_DEFAULTS:  # unset now, and as before once the test ends
        monkeypatch.setenv(key, "")
        monkeypatch.delenv(key)
    apply_dlt_defaults()
    assert resolve_configuration(LoaderConfiguration(), sections=("load",), accept_partial=True).workers == 1
