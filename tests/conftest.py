"""Shared fixtures: a sandbox on a free loopback port, the real `callhouse` command against it, and a
throwaway PostgreSQL server."""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pendulum
import pytest

from pipelines.sandbox import Sandbox, SandboxConfig
from pipelines.sandbox.config import rate_limit_fields
from pipelines.warehouse.catalog import committed_ledger
from pipelines.warehouse.duckdb_file import DuckDBFile
from pipelines.warehouse.ducklake import CATALOG_SETTING, STORAGE_SETTING, DuckLake, normalize_catalog, normalize_storage
from pipelines.warehouse.postgres import CREDENTIALS_SETTING, PostgresWarehouse
from tests.support.postgres import PostgresServer

# A fixed sandbox clock: tests compare against ground truth at known instants.
TEST_NOW = pendulum.datetime(2026, 11, 20, 6, 0, 0, tz="UTC")
REPO = Path(__file__).resolve().parents[1]
_DATABASES = itertools.count(1)


@pytest.fixture
def make_sandbox() -> Any:
    started: list[Sandbox] = []

    def make(**overrides: Any) -> Sandbox:
        settings = {"seed": 7, "now": TEST_NOW, "history_days": 35, **dict.fromkeys(rate_limit_fields())}
        settings.update(overrides)
        sandbox = Sandbox(SandboxConfig(**settings)).start()
        started.append(sandbox)
        return sandbox

    yield make
    for sandbox in started:
        sandbox.stop()


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Cli:
    """Runs `callhouse` as users do (a subprocess), pointed at a sandbox and a temp warehouse.

    CALLHOUSE_NOW follows the sandbox clock so a nightly run loads up to the sandbox's "now".
    """

    sandbox: Sandbox | None
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def warehouse(self) -> Path:
        return self.workdir / "warehouse" / "calls.duckdb"

    def __call__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 600,
        entry: tuple[str, ...] = ("-m", "pipelines.cli"),
    ) -> Result:
        """`entry` is what the interpreter runs (a test may run a `-c` script that calls the CLI)."""
        proc = subprocess.run(
            [sys.executable, *entry, *args],
            cwd=self.workdir,
            env=self.full_env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """The command running in the background (its stderr a text pipe), for signal tests."""
        return subprocess.Popen(
            [sys.executable, "-m", "pipelines.cli", *args],
            cwd=self.workdir,
            env=self.full_env(env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            # As a terminal starts it: the test worker may be ignoring SIGINT for a moment (C's
            # system() does that while another thread's command runs), and a child inherits it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )

    def full_env(self, env: dict[str, str] | None = None) -> dict[str, str]:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("SOURCES__", "CALLHOUSE_"))}
        if self.sandbox is not None:
            full_env.update(self.sandbox.env())
            full_env["CALLHOUSE_NOW"] = self.sandbox.now().isoformat()
        full_env["CALLHOUSE_WAREHOUSE"] = str(self.warehouse)
        full_env.update(self.env)
        full_env.update(env or {})
        return full_env

    @property
    def lake(self) -> DuckLake | None:
        """The DuckLake this Cli loads into (WAREHOUSE__DESTINATION=ducklake), else None."""
        if self.env.get("WAREHOUSE__DESTINATION") != "ducklake":
            return None
        return DuckLake(
            normalize_catalog(self.env[CATALOG_SETTING]), normalize_storage(self.env[STORAGE_SETTING]), self.warehouse.parent
        )

    @property
    def postgres(self) -> PostgresWarehouse | None:
        """The PostgreSQL warehouse this Cli loads into (WAREHOUSE__DESTINATION=postgres), else None."""
        if self.env.get("WAREHOUSE__DESTINATION") != "postgres":
            return None
        return PostgresWarehouse(self.env[CREDENTIALS_SETTING], self.warehouse.parent)

    @property
    def pipelines_dir(self) -> Path:
        """dlt's working folders of the loads (where crash tests look for a phase to kill in)."""
        shared = self.lake or self.postgres
        return shared.pipelines_dir if shared else DuckDBFile(self.warehouse).pipelines_dir

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A read-only session on the warehouse: the DuckDB file, the DuckLake or PostgreSQL."""
        shared = self.lake or self.postgres
        return shared.connect(read_only=True) if shared else duckdb.connect(str(self.warehouse), read_only=True)

    def source_state(self, source: str) -> dict[str, Any]:
        """The source's callhouse state as committed in the warehouse (what a rerun resumes from)."""
        con = self.connect()
        try:
            return committed_ledger(con, source)
        finally:
            con.close()

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple]:
        con = self.connect()
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()


# The end-to-end tests that must hold on every kind of warehouse take `warehouse_kind` from
# `@on_each_warehouse`; the others run on the DuckDB file.
WAREHOUSE_KINDS = ("duckdb", "ducklake", "postgres")
on_each_warehouse = pytest.mark.parametrize("warehouse_kind", WAREHOUSE_KINDS)


@pytest.fixture
def warehouse_kind() -> str:
    return "duckdb"


def lake_env(catalog_url: str, folder: Path) -> dict[str, str]:
    """The settings of a DuckLake on the test PostgreSQL server, its data in `folder`."""
    return {"WAREHOUSE__DESTINATION": "ducklake", CATALOG_SETTING: catalog_url, STORAGE_SETTING: str(folder)}


def postgres_env(url: str) -> dict[str, str]:
    """The settings of a PostgreSQL warehouse in a database of the test server."""
    return {"WAREHOUSE__DESTINATION": "postgres", CREDENTIALS_SETTING: url}


@pytest.fixture
def cli(tmp_path: Path, warehouse_kind: str, request: pytest.FixtureRequest) -> Callable[..., Cli]:
    """`cli(sandbox, **env)`: the command on a temp warehouse, a DuckDB file or, for a test
    parametrized with warehouse_kind=ducklake / postgres, a DuckLake on the test PostgreSQL server
    or a database of it."""
    kind_env = {}
    if warehouse_kind == "ducklake":
        kind_env = lake_env(request.getfixturevalue("postgres_db"), tmp_path / "lake")
    elif warehouse_kind == "postgres":
        kind_env = postgres_env(request.getfixturevalue("postgres_db"))

    def make(sandbox: Sandbox | None, **env: str) -> Cli:
        return Cli(sandbox, tmp_path, {**kind_env, **env})

    return make


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server per test process (each xdist worker starts its own), started when a
    test first asks for it: a second or so, so only the tests that use it pay."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture
def postgres_db(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database for this test alone, as a URL with user and password; dropped after
    (sessions the test left open are terminated)."""
    slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")
    name = f"t{next(_DATABASES)}_{slug}"[:63]
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


# --- `make unit`: every test that needs no sandbox, no subprocess and no PostgreSQL server ------
# Marked here by what a test uses, so a new unit test (in any folder) is never left out: a test is
# end-to-end when it takes one of these fixtures, or its module starts processes, a sandbox or a
# server itself (`Cli(...)`, subprocess, `Sandbox(...)`, `PostgresServer(...)`, the bench harness
# and the reference load of tests/test_schemas.py, which run a sandbox).
END_TO_END_FIXTURES = frozenset(
    {"make_sandbox", "shared_sandbox", "cli", "loaded", "loaded_lake", "loaded_postgres", "postgres_server", "postgres_db"}
)
_STARTS_PROCESSES = re.compile(r"\bsubprocess\b|\bCli\(|\bSandbox\(|\bPostgresServer\(|\bharness\.|\bload_reference_warehouse\(")
_module_starts_processes: dict[Path, bool] = {}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.path)
        if path not in _module_starts_processes:
            _module_starts_processes[path] = bool(_STARTS_PROCESSES.search(path.read_text()))
        if not (END_TO_END_FIXTURES & set(getattr(item, "fixturenames", ())) or _module_starts_processes[path]):
            item.add_marker(pytest.mark.unit)
