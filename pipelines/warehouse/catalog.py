"""Reading the warehouse back: a source's committed progress (its ledger in dlt state), schemas, tables."""

from __future__ import annotations

from typing import Any

import duckdb
from dlt.common.versioned_state import decompress_state

from pipelines.extract.ledger import STATE_KEY
from pipelines.sources.registry import vendor


def committed_ledger(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, Any]:
    """The newest committed ledger state of a source (read-only is enough); {} before any load.
    Looked up rather than tried: a failed query would abort the caller's transaction."""
    tables = set(table_names(con, name))
    if not {"_dlt_pipeline_state", "_dlt_loads"} <= tables:
        return {}
    row = con.execute(committed_state_sql(name), [vendor(name).pipeline_name]).fetchone()
    return ledger_in(row[0], name) if row else {}


def committed_state_sql(name: str, placeholder: str = "?") -> str:
    """The newest state row of source `name`'s pipeline in a committed load; one parameter, the
    pipeline name (`placeholder`: the SQL client's, `?` for DuckDB, `%s` for dlt's clients)."""
    return (
        f'select state from "{name}"._dlt_pipeline_state where pipeline_name = {placeholder} '
        f'and _dlt_load_id in (select load_id from "{name}"._dlt_loads where status = 0) '
        "order by version desc limit 1"
    )


def ledger_in(state: str, name: str) -> dict[str, Any]:
    """Source `name`'s ledger in a stored (compressed) dlt state; {} when it has none."""
    ledger: dict[str, Any] = decompress_state(state).get("sources", {}).get(name, {}).get(STATE_KEY, {})  # JSON
    return ledger


def committed_rows(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> int:
    """Rows of committed loads only: a load killed half-way can leave rows behind."""
    try:
        return count(
            con,
            f'select count(*) from "{schema}"."{table}" '
            f'where _dlt_load_id in (select load_id from "{schema}"._dlt_loads where status = 0)',
        )
    except duckdb.BinderException:  # a table without _dlt_load_id
        return count(con, f'select count(*) from "{schema}"."{table}"')


def count(con: duckdb.DuckDBPyConnection, sql: str, parameters: list[object] | None = None) -> int:
    """The number a `select count(*) ...` returns (always one row)."""
    row = con.execute(sql, parameters).fetchone()
    assert row is not None, sql
    return int(row[0])


def schema_exists(con: duckdb.DuckDBPyConnection, schema: str) -> bool:
    return bool(count(con, "select count(*) from information_schema.schemata where schema_name = ?", [schema]))


def table_names(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ? and table_type = 'BASE TABLE' order by table_name",
        [schema],
    ).fetchall()
    return [r[0] for r in rows]


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    """(schema, name) of every table and view, lower case."""
    rows = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
    return {(s.lower(), n.lower()) for s, n in rows}
