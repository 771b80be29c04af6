"""Every kind of warehouse keeps the promises of pipelines/warehouse/kind.py: one suite, run on the
DuckDB file, a DuckLake (catalog on the test PostgreSQL server, data in tmp_path) and PostgreSQL.

No vendor load: each test writes the few rows it needs through the kind's own sessions.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import dlt
import duckdb
import pytest
from dlt.common.versioned_state import compress_state

from pipelines.errors import CallhouseError, WarehouseBusy
from pipelines.extract.ledger import STATE_KEY
from pipelines.settings import warehouse_settings
from pipelines.sources.registry import vendor
from pipelines.warehouse.choice import resolve_warehouse
from pipelines.warehouse.duckdb_file import DuckDBFile
from pipelines.warehouse.ducklake import DuckLake, normalize_catalog, normalize_storage
from pipelines.warehouse.kind import ViewSession, Warehouse
from pipelines.warehouse.loaded_ranges import TABLE, record_loaded_ranges
from pipelines.warehouse.postgres import PostgresWarehouse
from pipelines.warehouse.repairs import remove_duplicate_keys
from tests.conftest import WAREHOUSE_KINDS, lake_env, postgres_env

pytestmark = pytest.mark.parametrize("warehouse_kind", WAREHOUSE_KINDS)

SOURCE = "cinnox"


@pytest.fixture
def make_warehouse(warehouse_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[..., Warehouse]:
    """`make_warehouse(password=None)`: the kind on this test's own store; `password` replaces the
    URL's (a kind without one ignores it)."""

    def make(password: str | None = None) -> Warehouse:
        if warehouse_kind == "duckdb":
            return DuckDBFile(tmp_path / "calls.duckdb")
        url = request.getfixturevalue("postgres_db")
        if password is not None:
            url = url.replace(f":{urlsplit(url).password}@", f":{password}@", 1)
        if warehouse_kind == "ducklake":
            return DuckLake(normalize_catalog(url), normalize_storage(str(tmp_path / "lake")), tmp_path)
        return PostgresWarehouse(url, tmp_path)

    return make


@pytest.fixture
def warehouse(make_warehouse) -> Warehouse:
    return make_warehouse()


def _query(warehouse: Warehouse, sql: str) -> list[tuple]:
    con = warehouse.connect(read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --- what it is --------------------------------------------------------------------------------


def test_the_settings_resolve_to_this_kind_behind_the_interface(warehouse, warehouse_kind, tmp_path, monkeypatch):
    settings: dict[str, str] = {}
    if warehouse_kind == "ducklake":
        settings = lake_env(warehouse.catalog, tmp_path / "lake")
    elif warehouse_kind == "postgres":
        settings = postgres_env(warehouse.url)
    for key in list(os.environ):
        if key.startswith(("WAREHOUSE__", "DESTINATION__")):
            monkeypatch.delenv(key)
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    resolved = resolve_warehouse(str(tmp_path / "calls.duckdb"))
    assert isinstance(resolved, Warehouse)
    assert resolved == warehouse
    assert resolved.folder == tmp_path
    assert resolved.pipelines_dir.is_relative_to(tmp_path / ".dlt_pipelines")


def test_describe_and_the_hint_never_show_the_password(make_warehouse, warehouse_kind):
    warehouse = make_warehouse()
    url = getattr(warehouse, "catalog", None) or getattr(warehouse, "url", "")
    password = urlsplit(url).password
    if warehouse_kind == "duckdb":
        assert password is None
        assert warehouse.describe() == f"warehouse {warehouse.path}"
        return
    assert password
    shown = [warehouse.describe(), *warehouse.how_to_open()]
    assert all(password not in line for line in shown), shown
    assert "127.0.0.1" in warehouse.describe()
    # A refused password: one line naming the warehouse, without the password it was given.
    wrong = make_warehouse(password=password + "-wrong")
    with pytest.raises(CallhouseError) as refused:
        wrong.connect()
    message = str(refused.value)
    assert "\n" not in message and password not in message, message
    assert message.startswith(wrong.describe()) and "password authentication failed" in message, message


# --- sessions ----------------------------------------------------------------------------------


def test_a_read_only_session_reads_what_was_written_and_refuses_writes(warehouse):
    con = warehouse.connect()
    try:
        con.execute("create schema if not exists probe")
        con.execute("create table probe.t as select 1 as x union all select 2")
    finally:
        con.close()
    reader = warehouse.connect(read_only=True)
    try:
        assert reader.execute("select x from probe.t order by x").fetchall() == [(1,), (2,)]
        with pytest.raises(duckdb.Error, match="(?i)read.only"):
            reader.execute("insert into probe.t values (3)")
        with pytest.raises(duckdb.Error, match="(?i)read.only"):
            reader.execute("create table probe.u (x int)")
    finally:
        reader.close()
    assert _query(warehouse, "select x from probe.t order by x") == [(1,), (2,)]


def test_the_loading_connection_writes_tuned_for_loading_and_closes(warehouse):
    with warehouse.loading_connection() as con:
        assert con.execute("select current_setting('threads')").fetchone()[0] == warehouse_settings().threads()
        con.execute("create schema if not exists probe")
        con.execute("create table probe.loaded as select 42 as x")
    with pytest.raises(duckdb.ConnectionException):
        con.execute("select 1")  # closed at the end of the block
    assert _query(warehouse, "select x from probe.loaded") == [(42,)]


# --- the view build's transaction --------------------------------------------------------------


def test_the_view_transaction_commits_all_or_nothing(warehouse):
    def first(session: ViewSession) -> None:
        session.create_schema("staging")
        session.create_view("staging", "probe", "select 1 as x")
        session.create_view("staging", "stale", "select 0 as x")

    warehouse.in_view_transaction(first)
    assert _query(warehouse, "select x from staging.probe") == [(1,)]

    def second(session: ViewSession) -> None:
        assert ("staging", "probe") in session.tables()
        session.clear_views(["staging"], [("staging", "probe")])
        session.create_view("staging", "probe", "select 2 as x, 'two' as word")  # new columns: replaced all the same

    warehouse.in_view_transaction(second)
    assert _query(warehouse, "select x, word from staging.probe") == [(2, "two")]
    assert ("staging", "stale") not in _tables(warehouse)

    def failing(session: ViewSession) -> None:
        session.clear_views(["staging"], [("staging", "probe"), ("staging", "other")])
        session.create_view("staging", "probe", "select 3 as x")
        session.create_view("staging", "other", "select 4 as x")
        session.create_view("staging", "broken", "select no_such_column from staging.probe")

    with pytest.raises(Exception, match="no_such_column"):
        warehouse.in_view_transaction(failing)
    assert _query(warehouse, "select x, word from staging.probe") == [(2, "two")]
    assert {("staging", "other"), ("staging", "broken")}.isdisjoint(_tables(warehouse))


def _tables(warehouse: Warehouse) -> set[tuple[str, str]]:
    return warehouse.in_view_transaction(lambda session: session.tables())


def test_the_view_session_knows_time_zones_without_spoiling_its_transaction(warehouse):
    def build(session: ViewSession) -> tuple[bool, bool]:
        known = session.knows_timezone("America/New_York"), session.knows_timezone("Mars/Olympus_Mons")
        session.create_schema("staging")
        session.create_view("staging", "after_check", "select 1 as x")
        return known

    assert warehouse.in_view_transaction(build) == (True, False)
    assert _query(warehouse, "select x from staging.after_check") == [(1,)]


# --- who may write -----------------------------------------------------------------------------


@contextmanager
def _write(warehouse: Warehouse, command: str) -> Iterator[None]:
    """What a load of SOURCE holds: the warehouse's writer lock, then the source's lock."""
    with warehouse.writer_lock(command), warehouse.source_lock(SOURCE, command):
        yield


def test_a_second_writer_of_a_source_is_refused_with_one_line_naming_the_holder(warehouse):
    with _write(warehouse, "run"):
        with pytest.raises(WarehouseBusy) as busy:
            with _write(warehouse, "backfill --source cinnox"):
                pytest.fail("a second writer got in")
    message = str(busy.value)
    assert "\n" not in message
    assert f"`callhouse run` (pid {os.getpid()}" in message, message
    assert "retry later or pass --wait SECONDS" in message, message
    with _write(warehouse, "backfill --source cinnox"):  # released at the end of the first
        pass


# --- what loads rely on ------------------------------------------------------------------------


def test_dlt_loads_through_the_destination_and_the_row_id_repairs_duplicate_keys(warehouse):
    with warehouse.loading_connection() as con:
        pipeline = dlt.pipeline(
            pipeline_name="contract_probe",
            destination=warehouse.destination(con),
            dataset_name="probe_dlt",
            pipelines_dir=str(warehouse.pipelines_dir),
        )
        info = pipeline.run([{"id": 1, "v": "a"}, {"id": 2, "v": "b"}, {"id": 3, "v": "c"}], table_name="calls")
        (load_id,) = info.loads_ids
        with pipeline.sql_client() as client:
            # Copies of one key in one load (a replayed staging copy), and a copy of another load.
            for copy in ("copy1", "copy2"):  # PostgreSQL's dlt tables keep _dlt_id unique
                client.execute_sql(
                    "insert into probe_dlt.calls (id, v, _dlt_load_id, _dlt_id) "
                    "select id, v, _dlt_load_id, _dlt_id || %s from probe_dlt.calls where id = 1 and _dlt_load_id = %s",
                    copy,
                    load_id,
                )
            client.execute_sql("insert into probe_dlt.calls (id, v, _dlt_load_id, _dlt_id) values (2, 'b', 'L0', 'other')")
            spec = SimpleNamespace(tables=[SimpleNamespace(name="calls", primary_key=("id",))])
            remove_duplicate_keys(client, "probe_dlt", {"calls"}, spec, [load_id], warehouse.row_id)
    # One copy of each key of the load is kept; the row of the other load is not touched.
    assert _query(warehouse, "select id, v, _dlt_load_id = 'L0' from probe_dlt.calls order by all") == [
        (1, "a", False),
        (2, "b", False),
        (2, "b", True),
        (3, "c", False),
    ]


def test_the_loaded_ranges_round_trip_from_the_committed_ledger(warehouse):
    coverage = [
        ["2026-11-01T00:00:00+00:00", "2026-11-03T00:00:00+00:00"],
        ["2026-11-05T00:00:00+00:00", "2026-11-06T00:00:00+00:00"],
    ]
    uncommitted = [["2026-10-01T00:00:00+00:00", "2026-11-10T00:00:00+00:00"]]
    con = warehouse.connect()
    try:
        _write_ledger(con, [(1, "L1", 0, coverage), (2, "L2", 1, uncommitted)])  # L2 never completed
        now = datetime(2026, 11, 20, tzinfo=UTC)
        assert record_loaded_ranges(con, SOURCE, now) == coverage
        assert record_loaded_ranges(con, SOURCE, now) == coverage  # rewritten, not appended
    finally:
        con.close()
    rows = _query(warehouse, f"select source, loaded_from, loaded_until from {TABLE} order by loaded_from")
    assert [(s, a.astimezone(UTC), b.astimezone(UTC)) for s, a, b in rows] == [
        (SOURCE, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC)),
        (SOURCE, datetime(2026, 11, 5, tzinfo=UTC), datetime(2026, 11, 6, tzinfo=UTC)),
    ]


def _write_ledger(con: duckdb.DuckDBPyConnection, states: list[tuple[int, str, int, list[list[str]]]]) -> None:
    """Ledger states as dlt commits them: `_dlt_pipeline_state` rows, each load in `_dlt_loads`
    with its status (0: completed)."""
    con.execute(f'create schema if not exists "{SOURCE}"')
    con.execute(
        f'create table "{SOURCE}"._dlt_pipeline_state (version bigint, engine_version bigint, pipeline_name varchar, '
        "state varchar, created_at timestamptz, version_hash varchar, _dlt_load_id varchar)"
    )
    con.execute(f'create table "{SOURCE}"._dlt_loads (load_id varchar, schema_name varchar, status bigint)')
    for version, load_id, status, coverage in states:
        state = {"sources": {SOURCE: {STATE_KEY: {"coverage": coverage}}}}
        con.execute(
            f'insert into "{SOURCE}"._dlt_pipeline_state values (?, 4, ?, ?, now(), ?, ?)',
            [version, vendor(SOURCE).pipeline_name, compress_state(state), f"hash-{version}", load_id],
        )
        con.execute(f'insert into "{SOURCE}"._dlt_loads values (?, ?, ?)', [load_id, SOURCE, status])


def test_the_interface_lists_what_every_kind_implements(warehouse):
    abstract = Warehouse.__abstractmethods__
    assert not type(warehouse).__abstractmethods__
    assert {"connect", "loading_connection", "in_view_transaction", "writer_lock", "source_lock", "row_id"} <= abstract
    assert dataclasses.is_dataclass(warehouse)
