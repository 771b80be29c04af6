"""One set of SQL files for every engine.

The raw tables of a warehouse loaded through the real CLI are copied into a fresh database of the
test PostgreSQL 15 server (typed as dlt's postgres destination types them), every view is built
there natively from the same `sql/` files (`view_sql(model, "postgres")`), and every reporting
view must return exactly the rows it returns on DuckDB: in UTC, in a zone whose clocks go back
inside the loaded range, and in a zone half an hour off UTC. Both engines answer in a session time
zone that is neither, so no view may depend on it. BigQuery, Snowflake and ClickHouse are only
transpiled (sqlglot), never run.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pendulum
import psycopg2
import pytest
import sqlglot
from sqlglot import exp

from pipelines.models.data_tests import declared_checks, make_test
from pipelines.models.dialects import TRANSPILED, portability_problems, settings_sql, stub_sql, transpile, view_sql
from pipelines.models.project import LAYERS, SETTINGS_VIEW, load_models
from pipelines.sandbox import Sandbox, SandboxConfig
from pipelines.warehouse.extensions import duckdb_config
from pipelines.warehouse.layout import OPS_SCHEMA, RAW_SCHEMAS
from tests.conftest import Cli
from tests.views.conftest import FAST_ENV, SANDBOX

# The session time zone both engines answer in (+05:45): a view that leaned on it would differ.
SESSION_ZONE = "Asia/Kathmandu"
# A second load whose range holds a clock change: New York goes back an hour at 2026-11-01 06:00 UTC.
DST_ZONE = "America/New_York"
DST_NOW = pendulum.datetime(2026, 11, 2, 6, 0, 0, tz="UTC")
DST_NIGHTLY_START = DST_NOW.start_of("day")
DST_RANGE_START = DST_NIGHTLY_START.subtract(days=2)
HALF_HOUR_ZONE = "Asia/Kolkata"  # +05:30 all year

# Column types as dlt's postgres destination creates them (text, bigint, timestamp, bool, double, decimal).
DLT_POSTGRES_TYPES = {"character varying", "bigint", "timestamp with time zone", "boolean", "double precision", "numeric"}
# DuckDB's type of a view column -> PostgreSQL's (information_schema.columns.data_type).
SAME_TYPE = {
    "VARCHAR": {"character varying", "text"},
    "BIGINT": {"bigint"},
    "INTEGER": {"integer"},
    "DOUBLE": {"double precision"},
    "BOOLEAN": {"boolean"},
    "DATE": {"date"},
    "TIMESTAMP": {"timestamp without time zone"},
    "TIMESTAMP WITH TIME ZONE": {"timestamp with time zone"},
}


# --- the two engines --------------------------------------------------------------------------


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def copy_raw_tables(warehouse: Path, url: str) -> dict[str, int]:
    """Every raw table of the DuckDB warehouse (each source's schema, dlt's bookkeeping included)
    and callhouse.loaded_ranges into the PostgreSQL database, through DuckDB's postgres extension;
    rows per table."""
    con = duckdb.connect(config=duckdb_config())
    try:
        con.execute(f"attach {_lit(str(warehouse))} as wh (read_only)")
        con.execute(f"attach {_lit(url)} as pg (type postgres)")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'wh' and table_type = 'BASE TABLE' "
            "and (list_contains(?, table_schema) or (table_schema = ? and table_name = 'loaded_ranges')) order by all",
            [list(RAW_SCHEMAS), OPS_SCHEMA],
        ).fetchall()
        copied = {}
        for schema, table in tables:
            con.execute(f'create schema if not exists pg."{schema}"')
            con.execute(f'create table pg."{schema}"."{table}" as select * from wh."{schema}"."{table}"')
            copied[f"{schema}.{table}"] = con.execute(f'select count(*) from pg."{schema}"."{table}"').fetchone()[0]
        return copied
    finally:
        con.close()


def pg_connect(url: str) -> Any:
    conn = psycopg2.connect(url)
    with conn.cursor() as cur:
        cur.execute(f"set time zone {_lit(SESSION_ZONE)}")
    conn.commit()
    return conn


def pg_tables(cur: Any) -> set[tuple[str, str]]:
    cur.execute("select table_schema, table_name from information_schema.tables")
    return {(s.lower(), n.lower()) for s, n in cur.fetchall()}


def build_on_postgres(url: str, zone: str) -> list[str]:
    """Every view of sql/ natively in PostgreSQL, in build order, in one transaction (the SQL
    `view_sql` gives for engine "postgres"); the views built."""
    conn = pg_connect(url)
    built = []
    try:
        with conn, conn.cursor() as cur:  # one transaction: committed if every view builds
            tables = pg_tables(cur)
            for layer in LAYERS:
                cur.execute(f"drop schema if exists {layer} cascade")
                cur.execute(f"create schema {layer}")
            for model in load_models():
                body = view_sql(model, "postgres", zone=zone, tables=tables)
                try:
                    cur.execute(f"create view {model.schema}.{model.name} as\n{body}")
                except psycopg2.Error as exc:
                    raise AssertionError(f"{model.where} does not build on PostgreSQL: {exc}") from None
                built.append(model.qualified)
    finally:
        conn.close()
    return built


def value(v: Any) -> Any:
    """Representation only: an instant in UTC whatever the session's zone (values are not rounded)."""
    if isinstance(v, dt.datetime) and v.tzinfo is not None:
        return v.astimezone(dt.UTC)
    return v


@dataclass
class Result:
    columns: list[str]
    types: list[str]
    rows: Counter

    def __len__(self) -> int:
        return sum(self.rows.values())


def on_postgres(url: str, qualified: str) -> Result:
    schema, name = qualified.split(".")
    conn = pg_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = %s and table_name = %s order by ordinal_position",
                (schema, name),
            )
            columns, types = map(list, zip(*cur.fetchall()))
            cur.execute(f"select * from {qualified}")
            return Result(columns, types, Counter(tuple(map(value, r)) for r in cur.fetchall()))
    finally:
        conn.close()


def on_duckdb(cli: Cli, qualified: str) -> Result:
    schema, name = qualified.split(".")
    con = duckdb.connect(str(cli.warehouse), read_only=True)
    try:
        con.execute(f"set TimeZone = {_lit(SESSION_ZONE)}")
        described = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, name],
        ).fetchall()
        columns, types = map(list, zip(*described))
        rows = con.execute(f"select * from {qualified}").fetchall()
        return Result(columns, types, Counter(tuple(map(value, r)) for r in rows))
    finally:
        con.close()


def same_type(duckdb_type: str, postgres_type: str) -> bool:
    if duckdb_type.startswith("DECIMAL"):
        return postgres_type == "numeric"
    return postgres_type in SAME_TYPE.get(duckdb_type, set())


# --- the warehouses compared ------------------------------------------------------------------


@dataclass
class Case:
    cli: Cli  # the DuckDB warehouse, its views built for `zone` by the real CLI
    zone: str
    start: pendulum.DateTime  # what was loaded: [start, end)
    end: pendulum.DateTime


@pytest.fixture(scope="module")
def dst_loaded(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A load as `loaded`'s, two days and a nightly run up to 2026-11-02 06:00 UTC: the night New
    York's clocks go back lies inside it. Its views are built for New York."""
    sandbox = Sandbox(SandboxConfig(**{**SANDBOX, "now": DST_NOW})).start()
    try:
        env = {
            **FAST_ENV,
            "REPORTING__TIMEZONE": DST_ZONE,
            **{f"SOURCES__{s}__START_DATE": DST_NIGHTLY_START.isoformat() for s in ("CINNOX", "BANDWIDTH", "GENESYS")},
        }
        cli = Cli(sandbox, tmp_path_factory.mktemp("dst"), env)
        backfill = cli("backfill", "--start", DST_RANGE_START.isoformat(), "--end", DST_NIGHTLY_START.isoformat())
        assert backfill.returncode == 0, backfill.output
        nightly = cli("run")
        assert nightly.returncode == 0, nightly.output
        assert f"timezone {DST_ZONE}" in nightly.output, nightly.output
        yield Case(cli, DST_ZONE, DST_RANGE_START, sandbox.now())
    finally:
        sandbox.stop()


def _case(request: pytest.FixtureRequest, name: str) -> Case:
    if name == "dst":
        return request.getfixturevalue("dst_loaded")
    loaded = request.getfixturevalue("loaded")
    if name == "utc":
        return Case(loaded.cli, "UTC", loaded.start, loaded.end)
    cli = loaded.copy("half_hour")
    result = cli("views", env={"REPORTING__TIMEZONE": HALF_HOUR_ZONE})
    assert result.returncode == 0, result.output
    return Case(cli, HALF_HOUR_ZONE, loaded.start, loaded.end)


def offsets(zone: str, start: pendulum.DateTime, end: pendulum.DateTime) -> set[dt.timedelta]:
    """The zone's UTC offsets over [start, end), hour by hour."""
    tz, seen, at = ZoneInfo(zone), set(), start
    while at < end:
        seen.add(at.astimezone(tz).utcoffset())
        at = at.add(hours=1)
    return seen


# --- PostgreSQL: the same rows ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["utc", "dst", "half_hour"])
def test_every_reporting_view_returns_the_same_rows_on_postgresql_as_on_duckdb(name, request, postgres_server):
    case = _case(request, name)
    if name == "dst":
        assert len(offsets(case.zone, case.start, case.end)) == 2, "the loaded range must hold a clock change"
    url = postgres_server.create_database(f"portable_{name}")
    copied = copy_raw_tables(case.cli.warehouse, url)
    assert {"cinnox.call_detail", "bandwidth.calls", "genesys.siptraces", "genesys._dlt_loads", "callhouse.loaded_ranges"} <= set(
        copied
    )
    conn = pg_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "select distinct data_type from information_schema.columns where table_schema in %s",
                (tuple(RAW_SCHEMAS) + (OPS_SCHEMA,),),
            )
            assert {t for (t,) in cur.fetchall()} <= DLT_POSTGRES_TYPES
    finally:
        conn.close()

    built = build_on_postgres(url, case.zone)
    assert built == [m.qualified for m in load_models()]

    compared = {}
    for model in load_models():
        if model.schema != "reporting":
            continue  # staging and intermediate are compared through them (and carry load ids)
        on_file, on_pg = on_duckdb(case.cli, model.qualified), on_postgres(url, model.qualified)
        assert on_pg.columns == on_file.columns, model.qualified
        wrong_types = [(c, d, p) for c, d, p in zip(on_file.columns, on_file.types, on_pg.types) if not same_type(d.upper(), p)]
        assert not wrong_types, f"{model.qualified}: column types differ (column, DuckDB, PostgreSQL): {wrong_types}"
        only_file, only_pg = on_file.rows - on_pg.rows, on_pg.rows - on_file.rows
        assert not only_file and not only_pg, (
            f"{model.qualified} in {case.zone}: {sum(only_file.values())} rows only on DuckDB, e.g. {list(only_file)[:3]}; "
            f"{sum(only_pg.values())} only on PostgreSQL, e.g. {list(only_pg)[:3]}"
        )
        compared[model.qualified] = len(on_file)
    print(f"\n{case.zone} ({case.start:%Y-%m-%d %H:%M} to {case.end:%Y-%m-%d %H:%M} UTC): rows equal on DuckDB and PostgreSQL:")
    for qualified, rows in compared.items():
        print(f"  {qualified:30} {rows:6}")
    assert compared["reporting.calls"] > 500 and compared["reporting.hourly_concurrency"] > 24
    assert all(compared.values()), compared  # every view has rows to compare


def test_the_clock_change_is_in_what_was_compared(dst_loaded):
    """The New York night of 2026-11-01 has 25 hours: its repeated 01:00 is one row per vendor,
    covering two UTC hours, and the day is complete."""
    hours = dst_loaded.cli.query(
        "select vendor, count(*) from reporting.hourly_concurrency where cast(hour as date) = date '2026-11-01' group by vendor"
    )
    assert hours and all(n == 24 for _, n in hours), hours
    complete = dst_loaded.cli.query("select distinct complete from reporting.daily_calls where day = date '2026-11-01'")
    assert complete == [(True,)]


def _text(postgres_type: str) -> str:
    return "text" if postgres_type == "character varying" else postgres_type


def test_on_postgresql_missing_raw_tables_build_as_typed_stubs_with_the_real_types(loaded, postgres_server):
    # An empty database: every staging view is its stub, and every view above builds, empty.
    empty = postgres_server.create_database("portable_empty")
    build_on_postgres(empty, "UTC")
    real = postgres_server.create_database("portable_real")
    copy_raw_tables(loaded.cli.warehouse, real)
    build_on_postgres(real, "UTC")
    for model in load_models():
        stub, full = on_postgres(empty, model.qualified), on_postgres(real, model.qualified)
        if model.qualified == "staging.reporting_settings":
            assert list(stub.rows) == list(full.rows) == [("UTC",)]
            continue
        if model.raw_refs:
            # varchar and text are one type to PostgreSQL (nullif(varchar, '') is text)
            assert list(zip(stub.columns, map(_text, stub.types))) == list(zip(full.columns, map(_text, full.types))), (
                model.qualified
            )
        if model.qualified not in ("staging.outcome_map", "staging.vendors"):  # reference data: rows without loads
            assert not stub.rows, model.qualified


def test_the_data_tests_count_the_same_failing_rows_on_postgresql(loaded, postgres_server):
    """`callhouse check`'s SQL (sql/sources.yml and every view's YAML) runs on PostgreSQL as well."""
    url = postgres_server.create_database("portable_checks")
    copy_raw_tables(loaded.cli.warehouse, url)
    build_on_postgres(url, "UTC")
    declared = declared_checks()
    # ... and tests made to fail on these rows, so failing rows and their examples are compared too
    made_to_fail = [
        make_test(
            "reporting.calls", {"accepted_values": {"values": ["answered"], "show": ["vendor", "status_raw"]}}, "-", "outcome"
        ),
        make_test("reporting.calls", {"dbt_utils.unique_combination_of_columns": ["vendor", "direction"]}, "-"),
        make_test(
            "reporting.daily_calls",
            {"dbt_utils.expression_is_true": {"expression": "answer_rate > 0.9", "show": ["day", "vendor"]}},
            "-",
        ),
        make_test("reporting.sip_headers", {"relationships": {"columns": ["call_id"], "to": "reporting.recordings"}}, "-"),
    ]
    tests = declared.raw_tests + declared.view_tests + made_to_fail
    conn, con = pg_connect(url), duckdb.connect(str(loaded.warehouse), read_only=True)
    failing = 0
    try:
        with conn.cursor() as cur:
            for test in tests:
                cur.execute(test.count_sql)
                on_pg = cur.fetchone()[0]
                assert on_pg == con.execute(test.count_sql).fetchone()[0], test.name
                if on_pg and test.show:
                    failing += 1
                    cur.execute(test.examples_sql)
                    assert cur.fetchall() == con.execute(test.examples_sql).fetchall(), test.name
    finally:
        conn.close()
        con.close()
    print(f"\n{len(tests)} data tests: the same failing rows on both engines ({failing} with failing rows)")
    assert len(tests) > 100 and failing >= len(made_to_fail)


def test_settings_and_stub_sql_run_on_both_engines(postgres_db):
    staging = {m.name: m for m in load_models() if m.schema == "staging"}
    statements = [settings_sql("Europe/Berlin", "postgres")] + [stub_sql(m, "postgres") for m in staging.values() if m.raw_refs]
    conn = pg_connect(postgres_db)
    con = duckdb.connect()
    try:
        with conn.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
                assert cur.fetchall() == ([("Europe/Berlin",)] if "timezone" in sql else [])
        for model in staging.values():
            if model.raw_refs:
                assert con.execute(stub_sql(model, "duckdb")).fetchall() == []
        assert con.execute(settings_sql("Europe/Berlin", "duckdb")).fetchall() == [("Europe/Berlin",)]
    finally:
        conn.close()
        con.close()


# --- the files: the common subset, and what other engines get ---------------------------------


def test_every_view_is_written_in_the_sql_duckdb_and_postgresql_share():
    problems = {m.where: portability_problems(m.sql) for m in load_models() if m.sql}
    assert not {k: v for k, v in problems.items() if v}


@pytest.mark.parametrize(
    "sql, named",
    [
        ("select vendor, count(*) as calls from t group by all", "GROUP BY ALL"),
        ("select * from a union all by name select * from b", "BY NAME"),
        ("select last_value(x ignore nulls) over (order by y) as z from t", "IGNORE NULLS"),
        ("select arg_max(a, b) as a_of_latest_b from t", "arg_max()"),
        ("select epoch_ms(ts) as ms from t", "epoch_ms()"),
        ("select try_cast(m as integer) as code from t", "try_cast()"),
        ("select unnest(generate_series(1, 3)) as n", "unnest()"),
        ("select answered / nullif(calls, 0) as rate from t", "DuckDB divides integers into a double"),
        ("select * exclude (a) from t", "EXCLUDE"),
        ("select a from t order by all", "ORDER BY ALL"),
    ],
)
def test_the_portability_check_names_duckdb_only_constructs(sql, named):
    assert any(named in p for p in portability_problems(sql)), portability_problems(sql)


def test_a_fractional_numerator_is_no_integer_division():
    assert (
        portability_problems("select cast(a as double precision) / nullif(b, 0) as r, extract(epoch from t) / 900 as q from t")
        == []
    )


def test_every_view_transpiles_to_bigquery_snowflake_and_clickhouse():
    """Transpiled with sqlglot, not run: an error or a construct sqlglot cannot express fails."""
    failures = []
    transpiled = 0
    for model in load_models():
        if not model.sql:
            continue
        for dialect in TRANSPILED:
            try:
                assert transpile(model.sql, dialect).strip()
                transpiled += 1
            except (sqlglot.errors.SqlglotError, ValueError) as exc:
                failures.append(f"{model.where} -> {dialect}: {' '.join(str(exc).split())}")
    assert not failures, "\n".join(failures)
    print(f"\n{transpiled} transpilations ({len(TRANSPILED)} dialects: {', '.join(TRANSPILED)}), none failed")


def test_the_settings_and_stub_sql_transpile_too():
    staging = [m for m in load_models() if m.schema == "staging" and m.raw_refs]
    for dialect in TRANSPILED:
        transpile(settings_sql("UTC"), dialect)
        for model in staging:
            transpile(stub_sql(model), dialect)


def test_no_aggregate_is_named_after_a_column_it_reads():
    """ClickHouse resolves an alias before the column it shadows: `min(conversation_id) as
    conversation_id` would read its own result."""
    clashes = []
    for model in load_models():
        if not model.sql:
            continue
        for select in sqlglot.parse_one(model.sql, read="duckdb").find_all(exp.Select):
            for projection in select.expressions:
                if not isinstance(projection, exp.Alias):
                    continue
                for agg in projection.find_all(exp.AggFunc):
                    read = {c.name.lower() for c in agg.find_all(exp.Column)}
                    if projection.alias.lower() in read:
                        clashes.append(f"{model.where}: {projection.sql('duckdb')}")
    assert not clashes, clashes


def test_view_sql_is_the_file_on_both_engines_and_settings_and_stubs_by_name():
    for model in load_models():
        if (model.schema, model.name) == SETTINGS_VIEW:
            assert view_sql(model, "postgres", zone="UTC") == settings_sql("UTC", "postgres")
            with pytest.raises(ValueError):
                view_sql(model, "postgres")
            continue
        if model.sql_path is None:  # written from the vendor registry: staging.vendors, staging.committed_loads
            assert view_sql(model, "postgres") == view_sql(model, "duckdb")
            continue
        assert view_sql(model, "postgres") == view_sql(model, "duckdb") == model.sql.strip().rstrip(";")
        if model.raw_refs:
            assert view_sql(model, "postgres", tables=set()) == stub_sql(model, "postgres")
    with pytest.raises(ValueError, match="engine 'mysql'"):
        view_sql(load_models()[1], "mysql")
