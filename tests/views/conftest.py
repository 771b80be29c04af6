"""One warehouse loaded through the real CLI from the sandbox, shared by the view tests.

Three days of backfill plus a nightly run for the sandbox's "today" (the nightly rebuilds the
views). Tests that change the warehouse work on a copy (`loaded.copy()`).
"""

from __future__ import annotations

import io
import os
import shutil
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pendulum
import pytest
from dlt.common.versioned_state import compress_state

from pipelines import cli as cli_module
from pipelines.extract.ledger import STATE_KEY
from pipelines.sandbox import Sandbox, SandboxConfig
from pipelines.sandbox.config import rate_limit_fields
from pipelines.sources.registry import NAMES, VENDORS, vendor
from tests.conftest import TEST_NOW, Cli, Result, lake_env, postgres_env

RANGE_START = TEST_NOW.start_of("day").subtract(days=3)
NIGHTLY_START = TEST_NOW.start_of("day")

# Real HTTP, lighter volumes than the defaults; the sandbox limits are off and the sources'
# pacing is raised to match, so the load waits on the pipeline, not on the clock.
SANDBOX = dict(
    seed=7,
    now=TEST_NOW,
    history_days=35,
    **dict.fromkeys(rate_limit_fields()),
    cinnox_calls_per_day=400,
    bandwidth_calls_per_day=300,
    genesys_dialogs_per_day=80,
)
FAST_ENV = {
    **{k: v for v in VENDORS for k, v in v.sandbox_settings().items()},
    "REPORTING__TIMEZONE": "UTC",
    **{v.setting("start_date"): NIGHTLY_START.isoformat() for v in VENDORS},
}


@dataclass
class Loaded:
    sandbox: Sandbox
    cli: Cli
    start: pendulum.DateTime
    end: pendulum.DateTime  # the sandbox's now: what was loaded is [start, end)
    tmp: Any  # pytest's TempPathFactory

    @property
    def warehouse(self) -> Path:
        return self.cli.warehouse

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        return self.cli.query(sql, params)

    def copy(self, name: str) -> Cli:
        """A Cli on a copy of the loaded warehouse (its own folder), for tests that change it."""
        workdir = self.tmp.mktemp(name)
        clone = Cli(self.sandbox, workdir, dict(self.cli.env))
        clone.warehouse.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.warehouse, clone.warehouse)
        return clone

    def truth(self) -> dict[str, list[dict]]:
        return {name: self.sandbox.truth.records(name, self.start, self.end) for name in NAMES}


def load(sandbox: Sandbox, cli: Cli, tmp: pytest.TempPathFactory) -> Loaded:
    """The views tests' load: a backfill of RANGE_START..NIGHTLY_START, then the nightly run."""
    backfill = cli("backfill", "--start", RANGE_START.isoformat(), "--end", NIGHTLY_START.isoformat())
    assert backfill.returncode == 0, backfill.output
    nightly = cli("run")
    assert nightly.returncode == 0, nightly.output
    assert "views: built" in nightly.output, nightly.output
    return Loaded(sandbox, cli, RANGE_START, sandbox.now(), tmp)


@pytest.fixture(scope="session")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    sandbox = Sandbox(SandboxConfig(**SANDBOX)).start()
    try:
        yield load(sandbox, Cli(sandbox, tmp_path_factory.mktemp("views"), dict(FAST_ENV)), tmp_path_factory)
    finally:
        sandbox.stop()


def connect(cli: Cli, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(cli.warehouse), read_only=read_only)


def check(cli: Cli, env: dict[str, str] | None = None) -> Result:
    """`callhouse check` on the Cli's warehouse, run in this process (the same `main` as the
    command, without a second interpreter's start-up) with `env` set for its duration."""
    values = {"REPORTING__TIMEZONE": "UTC", **(env or {})}
    saved = {k: os.environ.get(k) for k in values}
    stripped = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("CHECKS__")}
    os.environ.update(values)
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = cli_module.main(["check", "--warehouse", str(cli.warehouse)])
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
        os.environ.update(stripped)
    return Result(code, out.getvalue(), err.getvalue())


def write_coverage(con: duckdb.DuckDBPyConnection, source: str, load_id: str, coverage: list[list[str]]) -> None:
    """A committed ledger with this coverage, as dlt writes one (`<source>._dlt_pipeline_state`,
    compressed), for warehouses a test builds by hand: the views report only loaded time."""
    state = {"sources": {source: {STATE_KEY: {"coverage": coverage}}}}
    con.execute(
        f'create table if not exists "{source}"._dlt_pipeline_state (version bigint, engine_version bigint, '
        "pipeline_name varchar, state varchar, created_at timestamptz, version_hash varchar, _dlt_load_id varchar)"
    )
    con.execute(
        f'insert into "{source}"._dlt_pipeline_state values (1, 4, ?, ?, now(), ?, ?)',
        [vendor(source).pipeline_name, compress_state(state), f"hash-{load_id}", load_id],
    )


@pytest.fixture(scope="session")
def loaded_lake(tmp_path_factory: pytest.TempPathFactory, postgres_server: Any) -> Any:
    """The same load as `loaded` (same sandbox settings, same commands) into a DuckLake whose
    catalog is the test PostgreSQL server: the views must read the same there."""
    sandbox = Sandbox(SandboxConfig(**SANDBOX)).start()
    try:
        workdir = tmp_path_factory.mktemp("views_lake")
        url = postgres_server.create_database("views_lake")
        yield load(sandbox, Cli(sandbox, workdir, {**FAST_ENV, **lake_env(url, workdir / "lake")}), tmp_path_factory)
    finally:
        sandbox.stop()


@pytest.fixture(scope="session")
def loaded_postgres(tmp_path_factory: pytest.TempPathFactory, postgres_server: Any) -> Any:
    """The same load as `loaded` into a PostgreSQL warehouse (a database of the test server)."""
    sandbox = Sandbox(SandboxConfig(**SANDBOX)).start()
    try:
        workdir = tmp_path_factory.mktemp("views_postgres")
        url = postgres_server.create_database("views_postgres")
        yield load(sandbox, Cli(sandbox, workdir, {**FAST_ENV, **postgres_env(url)}), tmp_path_factory)
    finally:
        sandbox.stop()
