"""`callhouse check`: the data tests declared in the YAML beside each view (and in sql/sources.yml
for the raw tables), plus per-source freshness.

Tests, dbt-style (a test is a name, or a one-key mapping of name -> arguments):
  column tests   not_null | unique | accepted_values: {values: [...]} |
                 relationships: {to: schema.table, field: column}
  model tests    unique_combination: [col, ...] | expression: "<SQL true for every good row>" |
                 relationships: {columns: [...], to: schema.table, fields: [...]}
Every test takes `where:` (test only the rows it selects) and `severity: warn` (report, do not
fail). A NULL in accepted_values, relationships or expression passes, as in dbt: add not_null.
Freshness: the newest committed dlt load of each source (`<source>._dlt_loads`, status 0) against
`warn_after` / `error_after` from sql/sources.yml, overridden by the dlt settings
`checks.freshness.[<source>.]warn_after|error_after` (CHECKS__FRESHNESS__CINNOX__ERROR_AFTER=3d).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, TextIO

import pendulum

from pipelines.errors import UsageError
from pipelines.views import LAYERS, SQL_DIR, ViewBuildError, _read_yaml, existing_tables, load_models
from pipelines.warehouse import Warehouse

SOURCES_YAML = "sources.yml"
DEFAULT_WARN_AFTER, DEFAULT_ERROR_AFTER = "26h", "50h"

EXIT_OK, EXIT_FAILED = 0, 1


@dataclass
class DataTest:
    relation: str  # schema.table
    kind: str
    label: str  # what the output line names
    sql: str  # counts failing rows
    severity: str = "error"
    detail: str = "failing rows"
    examples_sql: str = ""  # a few offending values, shown in the failure line

    @property
    def name(self) -> str:
        return f"{self.relation}: {self.label}"


@dataclass
class Outcome:
    test: DataTest | None
    status: str  # pass | fail | warn | skip
    line: str = ""


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _relation(qualified: str) -> str:
    schema, _, table = qualified.partition(".")
    return f"{_ident(schema)}.{_ident(table)}"


def _lit(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _parse(entry: Any, where: str) -> tuple[str, dict[str, Any]]:
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, dict) and len(entry) == 1:
        kind, args = next(iter(entry.items()))
        if isinstance(args, dict):
            return kind, dict(args)
        if kind == "expression":
            return kind, {"expression": args}
        if kind == "unique_combination":
            return kind, {"columns": args}
        if kind == "accepted_values":
            return kind, {"values": args}
    raise ViewBuildError(f"check: {where}: cannot read test {entry!r}")


def column_test(relation: str, column: str, entry: Any, where: str) -> DataTest:
    kind, args = _parse(entry, where)
    rel, col = _relation(relation), _ident(column)
    filt = f" and ({args['where']})" if args.get("where") else ""
    base = f"from {rel} where true{filt}"
    if kind == "not_null":
        sql, detail = f"select count(*) {base} and {col} is null", "NULL values"
    elif kind == "unique":
        dupes = f"select {col} as v, count(*) n {base} and {col} is not null group by {col} having n > 1"
        return DataTest(relation, kind, f"{column} unique", f"select coalesce(sum(n - 1), 0) from ({dupes})",
                        args.get("severity", "error"), "duplicate rows", f"select v from ({dupes}) order by 1 limit 3")
    elif kind == "accepted_values":
        values = list(args.get("values") or [])
        bad = f"{base} and {col} is not null and {col} not in ({', '.join(map(_lit, values))})"
        return DataTest(relation, kind, f"{column} accepted_values [{', '.join(map(str, values))}]",
                        f"select count(*) {bad}", args.get("severity", "error"), "rows with other values",
                        f"select distinct {col} {bad} order by 1 limit 5")
    elif kind == "expression":
        return model_test(relation, {kind: args}, where)
    elif kind == "relationships":
        return model_test(relation, {"relationships": {"columns": [column], "to": args["to"], "fields": [args.get("field", column)],
                                                       **{k: v for k, v in args.items() if k in ("where", "severity", "to_where")}}}, where)
    else:
        raise ViewBuildError(f"check: {where}: unknown column test {kind!r} on {column}")
    return DataTest(relation, kind, f"{column} {kind}", sql, args.get("severity", "error"), detail)


def model_test(relation: str, entry: Any, where: str) -> DataTest:
    kind, args = _parse(entry, where)
    rel = _relation(relation)
    filt = f" and ({args['where']})" if args.get("where") else ""
    severity = args.get("severity", "error")
    if kind == "unique_combination":
        cols = _as_list(args.get("columns"))
        keys = ", ".join(map(_ident, cols))
        sql = f"select coalesce(sum(n - 1), 0) from (select count(*) n from {rel} where true{filt} group by {keys} having n > 1)"
        return DataTest(relation, kind, f"unique ({', '.join(cols)})", sql, severity, "duplicate keys")
    if kind == "expression":
        expression = args["expression"]
        sql = f"select count(*) from {rel} where true{filt} and not coalesce(({expression}), true)"
        return DataTest(relation, kind, f"expression `{expression}`", sql, severity, "rows where it is false")
    if kind == "relationships":
        cols, fields = _as_list(args.get("columns")), _as_list(args.get("fields") or args.get("columns"))
        if len(cols) != len(fields) or not cols:
            raise ViewBuildError(f"check: {where}: relationships needs as many `fields` as `columns`")
        parent = _relation(args["to"])
        on = " and ".join(f"p.{_ident(f)} = c.{_ident(c)}" for c, f in zip(cols, fields))
        not_null = " and ".join(f"c.{_ident(c)} is not null" for c in cols)
        to_where = f" and ({args['to_where']})" if args.get("to_where") else ""
        sql = (f"select count(*) from {rel} c where {not_null}{filt} "
               f"and not exists (select 1 from {parent} p where {on}{to_where})")
        label = f"relationships ({', '.join(cols)}) -> {args['to']} ({', '.join(fields)})"
        return DataTest(relation, kind, label, sql, severity, "rows without a parent")
    raise ViewBuildError(f"check: {where}: unknown model test {kind!r}")


def tests_for(relation: str, spec: dict[str, Any], where: str) -> Iterator[DataTest]:
    for entry in spec.get("tests") or []:
        yield model_test(relation, entry, where)
    for column in spec.get("columns") or []:
        for entry in column.get("tests") or []:
            yield column_test(relation, column["name"], entry, where)


# --- collecting ---------------------------------------------------------------------------------


@dataclass
class Freshness:
    source: str
    warn_after: pendulum.Duration
    error_after: pendulum.Duration


def _duration(value: Any, setting: str) -> pendulum.Duration:
    from pipelines.windows import parse_duration

    return parse_duration(str(value), setting)


def _configured(key: str) -> Any:
    import dlt

    return dlt.config.get(key)


def freshness_rules(sources: list[dict[str, Any]]) -> list[Freshness]:
    rules = []
    for source in sources:
        name = source["name"]
        declared = source.get("freshness") or {}
        limits = {}
        for which, default in (("warn_after", DEFAULT_WARN_AFTER), ("error_after", DEFAULT_ERROR_AFTER)):
            value = _configured(f"checks.freshness.{name}.{which}") or _configured(f"checks.freshness.{which}") or declared.get(which) or default
            limits[which] = _duration(value, f"CHECKS__FRESHNESS__{name.upper()}__{which.upper()}")
        rules.append(Freshness(name, limits["warn_after"], limits["error_after"]))
    return rules


def collect(sql_dir: Path = SQL_DIR) -> tuple[list[DataTest], list[DataTest], list[dict[str, Any]]]:
    """(tests on raw tables, tests on views, the sources) declared under sql/."""
    raw_tests: list[DataTest] = []
    sources_path = sql_dir / SOURCES_YAML
    sources = list((_read_yaml(sources_path) if sources_path.exists() else {}).get("sources") or [])
    for source in sources:
        schema = source.get("schema", source["name"])
        for table in source.get("tables") or []:
            raw_tests.extend(tests_for(f"{schema}.{table['name']}", table, str(sources_path)))
    view_tests: list[DataTest] = []
    for model in load_models(sql_dir):
        view_tests.extend(tests_for(model.qualified, model.spec, model.where))
    return raw_tests, view_tests, sources


# --- running --------------------------------------------------------------------------------


def _run_test(con: Any, test: DataTest) -> Outcome:
    detail = test.detail
    try:
        failing = con.execute(test.sql).fetchone()[0] or 0
    except Exception as exc:
        return Outcome(test, "fail", f"FAIL {test.name}: could not run: {' '.join(str(exc).split())[:300]}")
    if not failing:
        return Outcome(test, "pass")
    if test.examples_sql:
        # The values themselves: what to add to a mapping, or which key to look at.
        detail += ": " + ", ".join(_lit(r[0]) for r in con.execute(test.examples_sql).fetchall())
    status = "warn" if test.severity == "warn" else "fail"
    return Outcome(test, status, f"{status.upper()} {test.name}: {failing:,} {detail}")


def _freshness(con: Any, rule: Freshness, tables: set[tuple[str, str]], now: pendulum.DateTime) -> Outcome:
    label = f"{rule.source}: freshness"
    fake = DataTest(rule.source, "freshness", "freshness", "")
    if (rule.source, "_dlt_loads") not in tables:
        return Outcome(fake, "skip", f"SKIP {label}: never loaded")
    row = con.execute(f"select max(inserted_at) from {_ident(rule.source)}._dlt_loads where status = 0").fetchone()
    if not row or row[0] is None:
        return Outcome(fake, "fail", f"FAIL {label}: no committed load")
    loaded = pendulum.instance(row[0] if row[0].tzinfo else row[0].replace(tzinfo=dt.timezone.utc))
    age = now - loaded
    shown = f"last committed load {loaded.in_tz('UTC'):%Y-%m-%d %H:%M} UTC, {_age(age.total_seconds())} ago"
    if age >= rule.error_after:
        return Outcome(fake, "fail", f"FAIL {label}: {shown} (error after {_age(rule.error_after.total_seconds())})")
    if age >= rule.warn_after:
        return Outcome(fake, "warn", f"WARN {label}: {shown} (warn after {_age(rule.warn_after.total_seconds())})")
    return Outcome(fake, "pass")


def _age(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f}d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{max(seconds, 0) / 60:.0f}m"


def run_checks(warehouse: Warehouse, out: TextIO, sql_dir: Path = SQL_DIR) -> int:
    raw_tests, view_tests, sources = collect(sql_dir)
    rules = freshness_rules(sources)
    con = warehouse.connect(read_only=True)
    outcomes: list[Outcome] = []
    try:
        tables = existing_tables(con)
        missing_views = [t for t in view_tests if tuple(t.relation.split(".", 1)) not in tables]
        if missing_views:
            names = sorted({t.relation for t in missing_views})
            raise UsageError(f"check: views not built ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''}): run `callhouse views`")
        for test in raw_tests:
            if tuple(test.relation.split(".", 1)) not in tables:
                outcomes.append(Outcome(test, "skip"))
                continue
            outcomes.append(_run_test(con, test))
        for test in view_tests:
            outcomes.append(_run_test(con, test))
        now = pendulum.now("UTC")
        for rule in rules:
            outcomes.append(_freshness(con, rule, tables, now))
    finally:
        con.close()
    for outcome in outcomes:
        if outcome.line and outcome.status != "skip":
            out.write(outcome.line + "\n")
    counts = {s: sum(1 for o in outcomes if o.status == s) for s in ("pass", "fail", "warn", "skip")}
    skipped = f", {counts['skip']} skipped (not loaded)" if counts["skip"] else ""
    out.write(f"check: {counts['pass']} passed, {counts['fail']} failed, {counts['warn']} warnings{skipped}\n")
    out.flush()
    return EXIT_FAILED if counts["fail"] else EXIT_OK


__all__ = ["run_checks", "collect", "DataTest", "LAYERS"]
