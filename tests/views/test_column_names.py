"""Every column of a view is a name analysts can type: no reserved word of DuckDB or PostgreSQL.

Reserved here means what neither engine takes as a bare column name: DuckDB's `reserved` and
`type_function` keywords (`at` is one: `select at from ...` is a syntax error), PostgreSQL's
`R` (reserved) and `T` (reserved, can be a function or type name, like `left`). Words of the
column-name category (`time`, `values`) and unreserved ones (`day`, `name`) are left alone: both
engines take them as column names without quotes.
"""

from __future__ import annotations

import duckdb

from pipelines.models.project import LAYERS, load_models

DUCKDB_RESERVED = ("reserved", "type_function")
POSTGRES_RESERVED = ("R", "T")


def view_columns(cli) -> dict[str, set[str]]:
    """Each column, with the views that have it: as built (on an empty warehouse every view is
    built, those over sources not loaded yet from their YAML) and as each YAML declares them."""
    result = cli(None)("views")
    assert result.returncode == 0, result.output
    con = duckdb.connect(str(cli(None).warehouse), read_only=True)
    try:
        rows = con.execute(
            "select table_schema || '.' || table_name, column_name from information_schema.columns "
            "where table_schema in (select unnest(?))",
            [list(LAYERS)],
        ).fetchall()
    finally:
        con.close()
    for model in load_models():
        rows += [(model.qualified, column["name"]) for column in model.spec.get("columns") or []]
    columns: dict[str, set[str]] = {}
    for view, column in rows:
        columns.setdefault(column.lower(), set()).add(view)
    return columns


def test_no_view_column_is_a_reserved_word_of_duckdb_or_postgresql(cli, postgres_server):
    columns = view_columns(cli)
    assert "sent_at" in columns and len(columns) > 80
    duckdb_reserved = {
        word
        for (word,) in duckdb.sql(
            f"select keyword_name from duckdb_keywords() where keyword_category in {DUCKDB_RESERVED}"
        ).fetchall()
    }
    postgres_reserved = set(
        postgres_server.psql(f"select word from pg_get_keywords() where catcode in {POSTGRES_RESERVED}").splitlines()
    )
    assert {"at", "select", "left"} <= duckdb_reserved and {"user", "select", "left"} <= postgres_reserved
    clashes = {
        f"{column} ({', '.join(sorted(views))})": engines
        for column, views in columns.items()
        if (engines := [e for e, words in (("duckdb", duckdb_reserved), ("postgresql", postgres_reserved)) if column in words])
    }
    assert clashes == {}
