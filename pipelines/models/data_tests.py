"""`callhouse check`: the data tests declared in the YAML beside each view (and in sql/sources.yml
for the raw tables), plus per-source freshness.

Tests are declared as dbt declares them, under `data_tests:` (a test is a name, or a one-key
mapping of name -> arguments), with dbt's names:
  column tests   not_null | unique | accepted_values: {values: [...]} |
                 relationships: {to: ref('view') or source('source', 'table'), field: column} |
                 dbt_utils.expression_is_true: {expression: "<SQL after the column>"}
  model tests    dbt_utils.unique_combination_of_columns: {combination_of_columns: [col, ...]} |
                 dbt_utils.expression_is_true: {expression: "<SQL true for every good row>"} |
                 relationships: {columns: [...], to: ref(...), fields: [...]} (a key of several
                 columns: dbt has no test for it, so it is the relationships test widened)
Every test takes dbt's `config: {where: ..., severity: warn}` (test only the rows `where` selects;
report, do not fail) and `config: {meta: {show: [col, ...]}}` (print those columns of a few
failing rows; callhouse's own). A NULL passes accepted_values, relationships and expression
tests, as in dbt: add not_null where NULL is wrong.

Freshness: the newest committed dlt load of each source (`<source>._dlt_loads`, status 0) against
`warn_after` / `error_after` from sql/sources.yml, overridden by the dlt settings
`checks.freshness.<source>.warn_after|error_after` or `checks.freshness.warn_after|error_after`
(environment: CHECKS__FRESHNESS__CINNOX__ERROR_AFTER=3d).

Coverage: a hole between a source's loaded ranges fails (its hours would read as quiet ones);
open Bandwidth calls past their horizon warn.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import duckdb
import pendulum

from pipelines.errors import EXIT_FAILED, EXIT_OK, UsageError, one_line
from pipelines.extract.ledger import STALE_OPEN_CALLS, coverage_gaps, coverage_until
from pipelines.fetch.windows import now as current_time
from pipelines.fetch.windows import parse_duration
from pipelines.models.project import SQL_DIR, Model, ViewBuildError, YamlMapping, load_models, read_yaml
from pipelines.settings import DEFAULT_ERROR_AFTER, DEFAULT_WARN_AFTER, freshness_settings, setting_name
from pipelines.sources.registry import NAMES
from pipelines.warehouse.catalog import committed_ledger, existing_tables
from pipelines.warehouse.kind import Warehouse

SOURCES_YAML = "sources.yml"
EXAMPLES = 3


@dataclass
class DataTest:
    relation: str  # schema.table
    label: str  # what the output line names after the relation
    failing: str  # SELECT of the failing rows (or keys)
    severity: str = "error"
    unit: str = "failing rows"
    show: tuple[str, ...] = ()  # columns of `failing` printed for a few of them

    @property
    def name(self) -> str:
        return f"{self.relation}: {self.label}"

    @property
    def count_sql(self) -> str:
        """How many rows fail (SQL DuckDB and PostgreSQL both run: every subquery has an alias)."""
        return f"select count(*) from ({self.failing}) as failing"

    @property
    def examples_sql(self) -> str:
        """A few distinct values of the `show` columns of failing rows, in order."""
        columns = ", ".join(map(_ident, self.show))
        order = ", ".join(str(i) for i in range(1, len(self.show) + 1))
        return f"select distinct {columns} from ({self.failing}) as failing order by {order} limit {EXAMPLES}"


@dataclass
class Outcome:
    status: str  # pass | fail | warn | skip
    line: str = ""
    detail: str = field(default="", compare=False)  # what was found, whatever the status (freshness: the last load)


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _relation(qualified: str) -> str:
    schema, _, table = qualified.partition(".")
    return f"{_ident(schema)}.{_ident(table)}"


def _lit(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _as_list(value: str | Iterable[str] | None) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


EXPRESSION = "dbt_utils.expression_is_true"
UNIQUE_COMBINATION = "dbt_utils.unique_combination_of_columns"
# A test whose one argument may be written in its place: `accepted_values: [a, b]`.
_SHORT_FORM = {EXPRESSION: "expression", UNIQUE_COMBINATION: "combination_of_columns", "accepted_values": "values"}
_REF = re.compile(r"""^\s*ref\(\s*['"]([^'"]+)['"]\s*\)\s*$""")
_SOURCE = re.compile(r"""^\s*source\(\s*['"]([^'"]+)['"]\s*,\s*['"]([^'"]+)['"]\s*\)\s*$""")


def _parse(entry: object, where: str) -> tuple[str, YamlMapping]:
    """(test name, arguments), dbt's `config:` (where, severity, meta.show) merged into them."""
    if isinstance(entry, str):
        return entry, {}
    if isinstance(entry, dict) and len(entry) == 1:
        kind, args = next(iter(entry.items()))
        if isinstance(args, dict):
            args = dict(args)
            config = args.pop("config", None) or {}
            meta = config.get("meta") or {}
            args.update({k: v for k, v in config.items() if k != "meta"})
            if "show" in meta:
                args["show"] = meta["show"]
            return kind, args
        if kind in _SHORT_FORM:
            return kind, {_SHORT_FORM[kind]: args}
    raise ViewBuildError(f"check: {where}: cannot read test {entry!r}")


def _target(to: object, where: str, refs: Mapping[str, str]) -> str:
    """`schema.table` of a relationships test's `to`: ref('view'), source('source', 'table'), or
    schema.table as it is."""
    text = str(to)
    if match := _REF.match(text):
        name = match.group(1)
        if name not in refs:
            raise ViewBuildError(f"check: {where}: {text}: no view of that name in sql/ (or several)")
        return refs[name]
    if match := _SOURCE.match(text):
        source, table = match.groups()
        return f"{refs.get(f'source:{source}', source)}.{table}"
    return text


def make_test(
    relation: str, entry: object, where: str, column: str | None = None, refs: Mapping[str, str] | None = None
) -> DataTest:
    """One declared test as SQL selecting its failing rows. `refs`: what `ref('name')` (and
    `source:<name>`) mean, view name -> schema.view (source -> its schema)."""
    kind, args = _parse(entry, where)
    rel = _relation(relation)
    rows = f"select * from {rel} where true" + (f" and ({args['where']})" if args.get("where") else "")
    col = _ident(column) if column else None
    severity, show = args.get("severity", "error"), tuple(_as_list(args.get("show")))
    if column is None and kind in ("not_null", "unique", "accepted_values"):
        raise ViewBuildError(f"check: {where}: {kind} is a column test (put it under a column)")

    if kind == "not_null":
        return DataTest(relation, f"{column} not_null", f"{rows} and {col} is null", severity, "NULL values", show)
    if kind == "unique" or kind == UNIQUE_COMBINATION:
        columns: list[str] = [column] if kind == "unique" and column else _as_list(args.get("combination_of_columns"))
        keys = ", ".join(map(_ident, columns))
        present = " and ".join(f"{_ident(c)} is not null" for c in columns) if kind == "unique" else "true"
        # one row per surplus copy: a key present 3 times counts 2
        failing = (
            f"select * from (select *, row_number() over (partition by {keys}) as _copy from ({rows}) as tested "
            f"where {present}) as numbered where _copy > 1"
        )
        label = f"{column} unique" if kind == "unique" else f"unique ({', '.join(columns)})"
        return DataTest(relation, label, failing, severity, "duplicate rows", show or tuple(columns))
    if kind == "accepted_values":
        values = list(args.get("values") or [])
        failing = f"{rows} and {col} is not null and {col} not in ({', '.join(map(_lit, values))})"
        return DataTest(
            relation,
            f"{column} accepted_values [{', '.join(map(str, values))}]",
            failing,
            severity,
            "rows with other values",
            show or (str(column),),  # a column test: column is set (checked above)
        )
    if kind == EXPRESSION:
        # dbt_utils: under a column, the expression follows the column (`>= 0`)
        expression = f"{column} {args['expression']}" if column else args["expression"]
        return DataTest(
            relation,
            f"expression `{expression}`",
            f"{rows} and not coalesce(({expression}), true)",
            severity,
            "rows where it is false",
            show,
        )
    if kind == "relationships":
        columns = [column] if column else _as_list(args.get("columns"))
        fields = _as_list(args.get("field") or args.get("fields") or columns)
        if not columns or len(columns) != len(fields):
            raise ViewBuildError(f"check: {where}: relationships needs as many `fields` as `columns`")
        to = _target(args["to"], where, refs or {})
        on = " and ".join(f"parent.{_ident(f)} = child.{_ident(c)}" for c, f in zip(columns, fields))
        present = " and ".join(f"child.{_ident(c)} is not null" for c in columns)
        failing = f"select * from ({rows}) child where {present} and not exists (select 1 from {_relation(to)} parent where {on})"
        label = f"relationships ({', '.join(columns)}) -> {to} ({', '.join(fields)})"
        return DataTest(relation, label, failing, severity, "rows without a parent", show or tuple(columns))
    raise ViewBuildError(f"check: {where}: unknown test {kind!r}")


def tests_for(relation: str, spec: YamlMapping, where: str, refs: Mapping[str, str] | None = None) -> Iterator[DataTest]:
    """The model's `data_tests`, then each column's; dbt's older key `tests:` is refused (by name)
    rather than skipped, so no test goes unrun."""
    for part in [spec, *(spec.get("columns") or [])]:
        if "tests" in part:
            named = f"column {part['name']}" if part is not spec else relation
            raise ViewBuildError(f"check: {where}: {named}: write `data_tests:` (dbt's key) instead of `tests:`")
    for entry in spec.get("data_tests") or []:
        yield make_test(relation, entry, where, refs=refs)
    for column in spec.get("columns") or []:
        for entry in column.get("data_tests") or []:
            yield make_test(relation, entry, where, column["name"], refs)


# --- collecting ---------------------------------------------------------------------------------


@dataclass
class Freshness:
    source: str
    warn_after: pendulum.Duration
    error_after: pendulum.Duration


def freshness_rules(sources: list[YamlMapping]) -> list[Freshness]:
    """Per source: the settings (settings.FreshnessSettings), else sql/sources.yml, else the defaults
    (settings.DEFAULT_WARN_AFTER / DEFAULT_ERROR_AFTER)."""
    rules = []
    for source in sources:
        name, declared, limits = source["name"], source.get("freshness") or {}, {}
        configured = freshness_settings(name)
        for which, default in (("warn_after", DEFAULT_WARN_AFTER), ("error_after", DEFAULT_ERROR_AFTER)):
            value = getattr(configured, which) or declared.get(which) or default
            limits[which] = parse_duration(str(value), setting_name("checks", "freshness", name, which))
        rules.append(Freshness(name, limits["warn_after"], limits["error_after"]))
    return rules


def collect(sql_dir: Path | None = None) -> tuple[list[DataTest], list[DataTest], list[YamlMapping]]:
    """(tests on raw tables, tests on views, the sources) declared under sql/."""
    sql_dir = sql_dir or SQL_DIR
    sources_path = sql_dir / SOURCES_YAML
    sources = list((read_yaml(sources_path) if sources_path.exists() else {}).get("sources") or [])
    models = load_models(sql_dir)
    refs = _refs(models, sources)
    raw_tests: list[DataTest] = []
    for source in sources:
        schema = source.get("schema", source["name"])
        for table in source.get("tables") or []:
            raw_tests.extend(tests_for(f"{schema}.{table['name']}", table, f"sql/{SOURCES_YAML}", refs))
    view_tests: list[DataTest] = []
    for model in models:
        view_tests.extend(tests_for(model.qualified, model.spec, model.where, refs))
    return raw_tests, view_tests, sources


def _refs(models: list[Model], sources: list[YamlMapping]) -> dict[str, str]:
    """ref('name') -> schema.name for a name one layer defines (a name in two layers is left out,
    so ref() to it fails naming it); source:<name> -> the source's schema."""
    layers: dict[str, list[str]] = {}
    for model in models:
        layers.setdefault(model.name, []).append(model.qualified)
    refs = {name: qualified[0] for name, qualified in layers.items() if len(qualified) == 1}
    refs.update({f"source:{s['name']}": str(s.get("schema", s["name"])) for s in sources})
    return refs


# --- running ----------------------------------------------------------------------------------


def _run_test(con: duckdb.DuckDBPyConnection, test: DataTest) -> Outcome:
    try:
        failing = con.execute(test.count_sql).fetchall()[0][0]
    except Exception as exc:
        return Outcome("fail", f"FAIL {test.name}: could not run: {one_line(exc)}")
    if not failing:
        return Outcome("pass")
    status = "warn" if test.severity == "warn" else "fail"
    line = f"{status.upper()} {test.name}: {failing:,} {test.unit}"
    if test.show:
        examples = con.execute(test.examples_sql).fetchall()
        shown = [", ".join(f"{c}={_lit(v) if v is not None else 'NULL'}" for c, v in zip(test.show, row)) for row in examples]
        line += ", e.g. " + "; ".join(shown)
    return Outcome(status, line)


def _stale_open_calls(con: duckdb.DuckDBPyConnection, source: str) -> Outcome:
    """Calls open past the source's open-call horizon are no longer re-checked: a warning."""
    stale = committed_ledger(con, source).get(STALE_OPEN_CALLS) or {}
    if not stale:
        return Outcome("pass")
    examples = "; ".join(f"id={_lit(i)} since {s}" for i, s in sorted(stale.items(), key=lambda kv: kv[1])[:EXAMPLES])
    return Outcome(
        "warn",
        f"WARN {source}: open calls past the horizon: {len(stale):,} calls still open are no longer re-checked, "
        f"e.g. {examples} (`callhouse status` lists them)",
    )


def _coverage_gaps(con: duckdb.DuckDBPyConnection, source: str, now: pendulum.DateTime) -> Outcome:
    """A hole inside a source's loaded ranges: its days read as quiet ones in any sum over time."""
    gaps = coverage_gaps(coverage_until(committed_ledger(con, source).get("coverage", []), now))
    if not gaps:
        return Outcome("pass")
    start, end = gaps[0]
    return Outcome(
        "fail",
        f"FAIL {source}: coverage: {len(gaps):,} gap(s) in the loaded ranges, e.g. [{start}, {end}) was never loaded; "
        f"load it with `callhouse backfill --source {source} --start {start} --end {end}` (`callhouse status` lists them all)",
    )


def _freshness(con: duckdb.DuckDBPyConnection, rule: Freshness, tables: set[tuple[str, str]], now: pendulum.DateTime) -> Outcome:
    label = f"{rule.source}: freshness"
    if (rule.source, "_dlt_loads") not in tables:
        return Outcome("skip", f"SKIP {label}: never loaded", "never loaded")
    row = con.execute(f"select max(inserted_at) from {_ident(rule.source)}._dlt_loads where status = 0").fetchone()
    if not row or row[0] is None:
        return Outcome("fail", f"FAIL {label}: no committed load", "no committed load")
    loaded = pendulum.instance(row[0] if row[0].tzinfo else row[0].replace(tzinfo=dt.UTC))
    age = (now - loaded).total_seconds()
    shown = f"last committed load {loaded.in_tz('UTC'):%Y-%m-%d %H:%M} UTC, {_age(age)} ago"
    if age >= rule.error_after.total_seconds():
        return Outcome("fail", f"FAIL {label}: {shown} (error after {_age(rule.error_after.total_seconds())})", shown)
    if age >= rule.warn_after.total_seconds():
        return Outcome("warn", f"WARN {label}: {shown} (warn after {_age(rule.warn_after.total_seconds())})", shown)
    return Outcome("pass", detail=shown)


def _age(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f}d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{max(seconds, 0) / 60:.0f}m"


@dataclass
class CheckResults:
    """Every test's outcome in the order `callhouse check` prints them; freshness also per source."""

    outcomes: list[Outcome]
    freshness: dict[str, Outcome]

    @property
    def counts(self) -> dict[str, int]:
        return {s: sum(1 for o in self.outcomes if o.status == s) for s in ("pass", "fail", "warn", "skip")}

    @property
    def summary(self) -> str:
        counts = self.counts
        skipped = f", {counts['skip']} skipped (not loaded)" if counts["skip"] else ""
        return f"check: {counts['pass']} passed, {counts['fail']} failed, {counts['warn']} warnings{skipped}"


@dataclass
class DeclaredChecks:
    raw_tests: list[DataTest]
    view_tests: list[DataTest]
    freshness: list[Freshness]


def declared_checks(sql_dir: Path | None = None) -> DeclaredChecks:
    """The tests under sql/ and the freshness rules (settings errors surface here, before any connection)."""
    raw_tests, view_tests, sources = collect(sql_dir)
    return DeclaredChecks(raw_tests, view_tests, freshness_rules(sources))


def evaluate_checks(con: duckdb.DuckDBPyConnection, declared: DeclaredChecks) -> CheckResults:
    """Runs every test on an open (read-only) connection; views not built is a usage error."""
    raw_tests, view_tests, rules = declared.raw_tests, declared.view_tests, declared.freshness
    outcomes: list[Outcome] = []
    tables = existing_tables(con)
    unbuilt = sorted({t.relation for t in view_tests if tuple(t.relation.split(".", 1)) not in tables})
    if unbuilt:
        raise UsageError(
            f"check: views not built ({', '.join(unbuilt[:3])}{', ...' if len(unbuilt) > 3 else ''}): run `callhouse views`"
        )
    for test in raw_tests:
        loaded = tuple(test.relation.split(".", 1)) in tables
        outcomes.append(_run_test(con, test) if loaded else Outcome("skip"))
    outcomes.extend(_run_test(con, test) for test in view_tests)
    now = pendulum.now("UTC")
    freshness = {rule.source: _freshness(con, rule, tables, now) for rule in rules}
    outcomes.extend(freshness.values())
    outcomes.extend(_stale_open_calls(con, name) for name in NAMES)
    outcomes.extend(_coverage_gaps(con, name, current_time()) for name in NAMES)
    return CheckResults(outcomes, freshness)


def report_checks(warehouse: Warehouse, out: TextIO, sql_dir: Path | None = None) -> CheckResults:
    """Runs every test and writes one line per failing (or warning) test, then a summary."""
    declared = declared_checks(sql_dir)  # settings errors before any connection
    con = warehouse.connect(read_only=True)
    try:
        results = evaluate_checks(con, declared)
    finally:
        con.close()
    for outcome in results.outcomes:
        if outcome.status in ("fail", "warn"):
            out.write(outcome.line + "\n")
    out.write(results.summary + "\n")
    out.flush()
    return results


def run_checks(warehouse: Warehouse, out: TextIO, sql_dir: Path | None = None) -> int:
    """report_checks as an exit code: 1 on a failure."""
    return EXIT_FAILED if report_checks(warehouse, out, sql_dir).counts["fail"] else EXIT_OK
