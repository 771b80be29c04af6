"""Each view's SQL for each engine, from the one set of files under `sql/`.

`sql/` is written once, in the SQL that DuckDB (the file and DuckLake) and PostgreSQL both run with
the same results (sql/README.md, "One SQL for every engine"). There is no second copy of a view and
no rewrite when the views are built: `view_sql(model, "postgres")` is the file exactly as DuckDB
runs it. `portability_problems` names the DuckDB-only constructs the files must not use (a test
runs it on every file, and builds every view on a real PostgreSQL and compares the rows).

What callhouse writes itself is spelled here for either engine: the one-row settings view
(`settings_sql`), the vendors of the registry (`vendors_sql`), the loads each vendor committed
(`committed_loads_sql`, which every staging view filters on) and the typed stand-in of a staging view whose raw table is not loaded yet
(`stub_sql`, its column types read from the YAML in DuckDB's names and written in the engine's).

BigQuery, Snowflake and ClickHouse are not run: a test transpiles every view to them with sqlglot
(`transpile`), which fails on a construct sqlglot cannot express there.
"""

from __future__ import annotations

import re
from typing import Literal, get_args

import sqlglot
from sqlglot import ErrorLevel, exp

from pipelines.models.project import COMMITTED_LOADS_VIEW, SETTINGS_VIEW, VENDORS_VIEW, Model, ViewBuildError
from pipelines.sources.registry import NAMES

Engine = Literal["duckdb", "postgres"]
ENGINES: tuple[str, ...] = get_args(Engine)
# sqlglot reads the files as DuckDB SQL (they are PostgreSQL SQL as well) to write other dialects.
SOURCE_DIALECT = "duckdb"
TRANSPILED = ("bigquery", "snowflake", "clickhouse")  # transpiled by a test, never run


def _checked(engine: str) -> Engine:
    if engine not in ENGINES:
        raise ValueError(f"engine {engine!r}: one of {', '.join(ENGINES)}")
    return engine  # type: ignore[return-value]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- the SQL of a view ------------------------------------------------------------------------


def settings_sql(zone: str, engine: str = "duckdb") -> str:
    """`staging.reporting_settings`: one row, the reporting time zone (the same on both engines)."""
    _checked(engine)
    return f"select cast({_quote(zone)} as varchar) as timezone"


def vendors_sql(engine: str = "duckdb") -> str:
    """`staging.vendors`: one row per vendor of the registry, so a YAML refers to the vendors
    (`relationships: {to: ref('vendors'), field: vendor}`) instead of listing them."""
    _checked(engine)
    return "\nunion all\n".join(f"select cast({_quote(name)} as varchar) as vendor" for name in NAMES)


def committed_loads_sql(engine: str = "duckdb", tables: set[tuple[str, str]] | None = None) -> str:
    """`staging.committed_loads`: the dlt loads each vendor committed (`_dlt_loads.status = 0`); a
    load killed half-way leaves rows that no staging view shows. Only vendors loaded so far (their
    `_dlt_loads` among `tables`; all of them when `tables` is None) are read."""
    _checked(engine)
    loaded = [name for name in NAMES if tables is None or (name, "_dlt_loads") in tables]
    if not loaded:
        return "select cast(null as varchar) as vendor, cast(null as varchar) as load_id where false"
    return "\nunion all\n".join(
        f"select cast({_quote(name)} as varchar) as vendor, load_id from {name}._dlt_loads where status = 0" for name in loaded
    )


# DuckDB type names PostgreSQL spells otherwise. The names the YAMLs use (varchar, bigint, boolean,
# timestamp with time zone, as dlt's postgres destination creates its columns) read alike on both.
POSTGRES_TYPE_NAMES = {"double": "double precision", "float": "real", "tinyint": "smallint", "hugeint": "numeric(38, 0)"}


def column_type(data_type: str, engine: str = "duckdb") -> str:
    """A YAML `data_type` (DuckDB's name) as the engine spells it."""
    if _checked(engine) == "duckdb":
        return data_type
    return POSTGRES_TYPE_NAMES.get(data_type.strip().lower(), data_type)


def stub_sql(model: Model, engine: str = "duckdb") -> str:
    """No rows, typed as the YAML declares: a staging view whose raw table is not loaded yet."""
    columns = model.columns
    untyped = [c.get("name") for c in columns if not c.get("data_type")]
    if not columns or untyped:
        raise ViewBuildError(
            f"views: {model.where}: raw table missing and the YAML does not declare data_type for "
            f"{', '.join(map(str, untyped)) or 'any column'}"
        )
    select = ", ".join(f"cast(null as {column_type(c['data_type'], engine)}) as {c['name']}" for c in columns)
    return f"select {select} where false"


def missing_sources(model: Model, tables: set[tuple[str, str]]) -> list[str]:
    """The raw tables (`schema.table`) the model reads that are not in `tables`."""
    return sorted(f"{s}.{n}" for s, n in model.raw_refs if (s, n) not in tables)


def view_sql(model: Model, engine: str = "duckdb", *, zone: str | None = None, tables: set[tuple[str, str]] | None = None) -> str:
    """The SELECT that defines `model` on `engine` ("duckdb" or "postgres").

    `zone` is the reporting time zone (needed for staging.reporting_settings); `tables` the
    `(schema, table)` pairs the warehouse holds: a staging view reading one not among them is its
    typed stand-in (`stub_sql`), and staging.committed_loads reads the vendors loaded. Every other
    view is its file as written, on either engine.
    """
    engine = _checked(engine)
    if (model.schema, model.name) == SETTINGS_VIEW:
        if zone is None:
            raise ValueError(f"{model.qualified}: the reporting time zone is needed")
        return settings_sql(zone, engine)
    if (model.schema, model.name) == VENDORS_VIEW:
        return vendors_sql(engine)
    if (model.schema, model.name) == COMMITTED_LOADS_VIEW:
        return committed_loads_sql(engine, tables)
    if tables is not None and missing_sources(model, tables):
        return stub_sql(model, engine)
    return model.sql.strip().rstrip(";")


# --- other engines: transpiled, not run -------------------------------------------------------


def transpile(sql: str, dialect: str) -> str:
    """A view's SQL in another engine's dialect, by sqlglot; raises (sqlglot's UnsupportedError or
    ParseError) on a construct it cannot express there. Not run: what it returns is unverified."""
    statements = sqlglot.transpile(sql, read=SOURCE_DIALECT, write=dialect, unsupported_level=ErrorLevel.RAISE, pretty=True)
    if len(statements) != 1:
        raise ValueError(f"one SELECT expected, found {len(statements)} statements")
    return statements[0]


# --- the common subset ------------------------------------------------------------------------

# Functions DuckDB has and PostgreSQL lacks (or has with another meaning), each with what the
# files write instead. A name here followed by `(` fails the portability check.
DUCKDB_ONLY_FUNCTIONS = {
    "arg_min": "the row by its position: min(position) then a join (intermediate.calls_genesys), or row_number()",
    "arg_max": "the row by its position: max(position) then a join (intermediate.calls_genesys), or row_number()",
    "min_by": "row_number() or a join on the row's position",
    "max_by": "row_number() or a join on the row's position",
    "epoch": "extract(epoch from ts) (seconds since the epoch)",
    "epoch_ms": "extract(epoch from ts) (seconds; subtract them, then cast to decimal(18, 3))",
    "epoch_us": "cast(extract(epoch from ts) * 1000000 as bigint)",
    "epoch_ns": "extract(epoch from ts)",
    "try_cast": "a cast guarded by a regular expression: case when x ~ '^[0-9]{1,9}$' then cast(x as integer) end",
    "unnest": "a set-returning function in FROM: cross join generate_series(...) as g (x)",
    "minute": "extract(minute from ts)",
    "hour": "extract(hour from ts)",
    "strftime": "extract(...) or cast(... as date)",
    "regexp_matches": "x ~ '^...$' (anchored: DuckDB's ~ matches the whole string, PostgreSQL's any part)",
    "regexp_full_match": "x ~ '^...$'",
}
_FUNCTION_CALL = re.compile(r"\b(" + "|".join(DUCKDB_ONLY_FUNCTIONS) + r")\s*\(", re.I)
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_STRING = re.compile(r"'(?:[^']|'')*'")
_INTEGER_TYPES = {exp.DataType.Type.INT, exp.DataType.Type.BIGINT, exp.DataType.Type.SMALLINT, exp.DataType.Type.TINYINT}


def portability_problems(sql: str) -> list[str]:
    """What in `sql` DuckDB runs but PostgreSQL does not, or runs with other numbers; [] when
    nothing. Static: the test that builds every view on PostgreSQL and compares rows is the proof."""
    problems = [
        f"{m.group(1).lower()}(): DuckDB only; write {DUCKDB_ONLY_FUNCTIONS[m.group(1).lower()]}"
        for m in _FUNCTION_CALL.finditer(_STRING.sub("''", _COMMENT.sub(" ", sql)))
    ]
    tree = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
    for node in tree.walk():
        if isinstance(node, exp.Group) and node.args.get("all"):
            problems.append("GROUP BY ALL: DuckDB only; list the grouped columns")
        elif isinstance(node, exp.Order) and any(
            isinstance(o.this, (exp.Var, exp.Column)) and o.this.name.lower() == "all" for o in node.expressions
        ):
            problems.append("ORDER BY ALL: DuckDB only; list the columns")
        elif isinstance(node, exp.SetOperation) and node.args.get("by_name"):
            problems.append("UNION ... BY NAME: DuckDB only; select the same columns, in the same order, on each side")
        elif isinstance(node, exp.IgnoreNulls):
            problems.append(
                "IGNORE NULLS: PostgreSQL has none; find the row by its position (max(position) over ..., then a join)"
            )
        elif isinstance(node, exp.Star) and any(node.args.get(k) for k in ("except", "except_", "replace", "rename")):
            problems.append("* EXCLUDE/REPLACE: DuckDB only; list the columns")
        elif isinstance(node, exp.Select) and node.args.get("qualify"):
            problems.append("QUALIFY: PostgreSQL has none; filter the window's result in the next CTE")
        elif isinstance(node, exp.Div) and not _fractional(node.this):
            problems.append(
                f"`{node.sql(SOURCE_DIALECT)}`: DuckDB divides integers into a double, PostgreSQL truncates; "
                "cast the numerator (cast(x as double precision) or decimal)"
            )
    return problems


def _fractional(numerator: exp.Expression) -> bool:
    """A numerator whose type is known not to be an integer: a cast to a non-integer type,
    extract(...) (seconds, fractional), or a decimal literal."""
    if isinstance(numerator, exp.Paren):
        return _fractional(numerator.this)
    if isinstance(numerator, exp.Cast):
        return numerator.to.this not in _INTEGER_TYPES
    if isinstance(numerator, exp.Extract):
        return True
    return isinstance(numerator, exp.Literal) and not numerator.is_string and "." in numerator.name
