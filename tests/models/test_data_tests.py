"""`callhouse check`: each declared test kind as SQL selecting the failing rows, run on a small
in-memory DuckDB table with known rows; the line a failing test prints; per-source freshness."""

from __future__ import annotations

import duckdb
import pendulum
import pytest

from pipelines.fetch.windows import parse_duration
from pipelines.models.data_tests import DataTest, Freshness, Outcome, _freshness, _run_test, make_test
from pipelines.models.data_tests import tests_for as declared_tests  # pytest would collect a name starting with "test"
from pipelines.models.project import ViewBuildError
from pipelines.warehouse.catalog import existing_tables

YML = "sql/staging/stg_t.yml"


@pytest.fixture(scope="module")
def con():
    """s.t: calls with a key seen three times, a NULL key, an unknown status, a negative amount,
    a parent that does not exist; s.p: the parents, keyed by id and by (region, code)."""
    con = duckdb.connect()
    con.execute("""
        create schema s;
        create table s.p (id varchar, region varchar, code integer);
        insert into s.p values ('p1', 'eu', 1), ('p2', 'eu', 2);
        create table s.t (id varchar, status varchar, amount integer, parent_id varchar, region varchar, code integer);
        insert into s.t values
            ('a',  'answered', 10,   'p1', 'eu', 1),
            ('a',  'missed',   -5,   'p2', 'eu', 2),
            ('a',  'answered', 3,    'p9', 'us', 1),
            ('b',  null,       null, null, 'eu', null),
            (null, 'bogus',    7,    'p1', 'eu', 9);
    """)
    yield con
    con.close()


def failing(con, test: DataTest) -> int:
    return con.execute(f"select count(*) from ({test.failing})").fetchone()[0]


# --- each test kind counts exactly its failing rows ------------------------------------------------


def test_not_null_counts_null_values(con):
    test = make_test("s.t", "not_null", YML, "id")
    assert (test.name, test.unit, test.severity) == ("s.t: id not_null", "NULL values", "error")
    assert failing(con, test) == 1


def test_unique_counts_each_surplus_copy_and_ignores_nulls(con):
    test = make_test("s.t", "unique", YML, "id")
    assert test.label == "id unique"
    assert failing(con, test) == 2  # 'a' three times: two surplus copies; the NULL id is not a key
    assert test.show == ("id",)


def test_unique_combination_counts_repeated_combinations(con):
    test = make_test("s.t", {"dbt_utils.unique_combination_of_columns": ["id", "status"]}, YML)
    assert test.label == "unique (id, status)"
    assert failing(con, test) == 1  # ('a', 'answered') twice
    long_form = {"dbt_utils.unique_combination_of_columns": {"combination_of_columns": ["id", "amount"]}}
    assert make_test("s.t", long_form, YML).label == "unique (id, amount)"


def test_accepted_values_count_other_values_and_let_null_pass(con):
    test = make_test("s.t", {"accepted_values": {"values": ["answered", "missed"]}}, YML, "status")
    assert test.label == "status accepted_values [answered, missed]"
    assert failing(con, test) == 1  # 'bogus'; the NULL status passes


def test_accepted_values_take_the_short_form_and_numbers(con):
    test = make_test("s.t", {"accepted_values": [1, 2]}, YML, "code")
    assert test.label == "code accepted_values [1, 2]"
    assert failing(con, test) == 1  # 9; the NULL code passes


def test_an_expression_counts_rows_where_it_is_false_and_null_passes(con):
    test = make_test("s.t", {"dbt_utils.expression_is_true": {"expression": "amount >= 0"}}, YML)
    assert test.label == "expression `amount >= 0`"
    assert failing(con, test) == 1  # -5; the NULL amount passes


def test_an_expression_under_a_column_follows_the_column_as_in_dbt_utils(con):
    test = make_test("s.t", {"dbt_utils.expression_is_true": {"expression": ">= 0"}}, YML, "amount")
    assert test.label == "expression `amount >= 0`"
    assert failing(con, test) == 1


def test_relationships_count_rows_without_a_parent_and_null_passes(con):
    test = make_test("s.t", {"relationships": {"to": "s.p", "field": "id"}}, YML, "parent_id")
    assert test.label == "relationships (parent_id) -> s.p (id)"
    assert failing(con, test) == 1  # 'p9'; the NULL parent_id passes


def test_relationships_to_a_ref_or_a_source_name_the_relation_it_resolves_to(con):
    refs = {"p": "s.p", "source:src": "s"}
    by_ref = make_test("s.t", {"relationships": {"to": "ref('p')", "field": "id"}}, YML, "parent_id", refs)
    by_source = make_test("s.t", {"relationships": {"to": "source('src', 'p')", "field": "id"}}, YML, "parent_id", refs)
    assert by_ref.label == by_source.label == "relationships (parent_id) -> s.p (id)"
    assert failing(con, by_ref) == failing(con, by_source) == 1


def test_a_ref_to_no_view_names_the_file():
    with pytest.raises(ViewBuildError) as raised:
        make_test("s.t", {"relationships": {"to": "ref('nope')", "field": "id"}}, YML, "parent_id", {"p": "s.p"})
    assert str(raised.value) == "check: sql/staging/stg_t.yml: ref('nope'): no view of that name in sql/ (or several)"


def test_relationships_on_several_columns_match_them_together(con):
    test = make_test("s.t", {"relationships": {"columns": ["region", "code"], "to": "s.p", "fields": ["region", "code"]}}, YML)
    assert test.label == "relationships (region, code) -> s.p (region, code)"
    assert failing(con, test) == 2  # ('us', 1) and ('eu', 9); ('eu', NULL) passes


def test_relationships_fields_default_to_the_columns(con):
    test = make_test("s.t", {"relationships": {"columns": ["region", "code"], "to": "s.p"}}, YML)
    assert test.label == "relationships (region, code) -> s.p (region, code)"
    assert failing(con, test) == 2


def test_where_narrows_the_rows_tested(con):
    test = make_test("s.t", {"unique": {"config": {"where": "status = 'answered'"}}}, YML, "id")
    assert failing(con, test) == 1
    assert failing(con, make_test("s.t", {"not_null": {"config": {"where": "amount > 5"}}}, YML, "id")) == 1
    assert failing(con, make_test("s.t", {"not_null": {"config": {"where": "amount < 5"}}}, YML, "id")) == 0


def test_severity_warn_and_show_are_carried(con):
    config = {"severity": "warn", "meta": {"show": ["status", "amount"]}}
    test = make_test("s.t", {"not_null": {"config": config}}, YML, "id")
    assert (test.severity, test.show) == ("warn", ("status", "amount"))
    assert make_test("s.t", {"not_null": {"config": {"meta": {"show": "status"}}}}, YML, "id").show == ("status",)


def test_tests_for_yields_model_tests_then_column_tests():
    spec = {
        "data_tests": [{"dbt_utils.expression_is_true": {"expression": "amount >= 0"}}],
        "columns": [{"name": "id", "data_tests": ["not_null", "unique"]}, {"name": "status"}],
    }
    assert [t.name for t in declared_tests("s.t", spec, YML)] == [
        "s.t: expression `amount >= 0`",
        "s.t: id not_null",
        "s.t: id unique",
    ]


@pytest.mark.parametrize(
    "spec, named",
    [({"tests": ["not_null"]}, "s.t"), ({"columns": [{"name": "id", "tests": ["not_null"]}]}, "column id")],
)
def test_the_old_tests_key_is_refused_by_name_not_skipped(spec, named):
    with pytest.raises(ViewBuildError) as raised:
        list(declared_tests("s.t", spec, YML))
    assert str(raised.value) == f"check: sql/staging/stg_t.yml: {named}: write `data_tests:` (dbt's key) instead of `tests:`"


# --- declaration errors name the file ---------------------------------------------------------------


def test_an_unknown_test_kind_names_the_file():
    with pytest.raises(ViewBuildError) as raised:
        make_test("s.t", "positive", YML, "amount")
    assert str(raised.value) == "check: sql/staging/stg_t.yml: unknown test 'positive'"


@pytest.mark.parametrize("kind", ["not_null", "unique", {"accepted_values": ["x"]}])
def test_a_column_test_at_model_level_names_the_file(kind):
    name = kind if isinstance(kind, str) else next(iter(kind))
    with pytest.raises(ViewBuildError) as raised:
        make_test("s.t", kind, YML)
    assert str(raised.value) == f"check: sql/staging/stg_t.yml: {name} is a column test (put it under a column)"


def test_an_unreadable_test_entry_names_the_file():
    with pytest.raises(ViewBuildError) as raised:
        make_test("s.t", {"not_null": None, "unique": None}, YML, "id")
    assert str(raised.value) == "check: sql/staging/stg_t.yml: cannot read test {'not_null': None, 'unique': None}"


def test_relationships_need_as_many_fields_as_columns():
    with pytest.raises(ViewBuildError) as raised:
        make_test("s.t", {"relationships": {"columns": ["region", "code"], "to": "s.p", "fields": ["region"]}}, YML)
    assert str(raised.value) == "check: sql/staging/stg_t.yml: relationships needs as many `fields` as `columns`"


# --- the line a test prints -------------------------------------------------------------------------


def test_a_passing_test_prints_nothing(con):
    assert _run_test(con, make_test("s.t", "not_null", YML, "region")) == Outcome("pass")


def test_a_failing_unique_test_shows_the_duplicated_key(con):
    outcome = _run_test(con, make_test("s.t", "unique", YML, "id"))
    assert outcome == Outcome("fail", "FAIL s.t: id unique: 2 duplicate rows, e.g. id='a'")


def test_a_failing_test_shows_the_asked_columns_of_a_few_rows_null_included(con):
    outcome = _run_test(
        con,
        make_test(
            "s.t", {"accepted_values": {"values": ["answered"], "config": {"meta": {"show": ["id", "status"]}}}}, YML, "status"
        ),
    )
    assert outcome == Outcome(
        "fail",
        "FAIL s.t: status accepted_values [answered]: 2 rows with other values, "
        "e.g. id='a', status='missed'; id=NULL, status='bogus'",
    )


def test_numbers_are_shown_unquoted(con):
    expression = {"expression": "amount >= 0", "config": {"meta": {"show": ["id", "amount"]}}}
    outcome = _run_test(con, make_test("s.t", {"dbt_utils.expression_is_true": expression}, YML))
    assert outcome == Outcome("fail", "FAIL s.t: expression `amount >= 0`: 1 rows where it is false, e.g. id='a', amount=-5")


def test_a_failing_test_without_show_prints_only_the_count(con):
    outcome = _run_test(con, make_test("s.t", {"dbt_utils.expression_is_true": "amount >= 0"}, YML))
    assert outcome == Outcome("fail", "FAIL s.t: expression `amount >= 0`: 1 rows where it is false")


def test_a_warn_test_prints_a_warning(con):
    outcome = _run_test(
        con, make_test("s.t", {"relationships": {"to": "s.p", "field": "id", "config": {"severity": "warn"}}}, YML, "parent_id")
    )
    assert outcome == Outcome(
        "warn", "WARN s.t: relationships (parent_id) -> s.p (id): 1 rows without a parent, e.g. parent_id='p9'"
    )


def test_examples_are_at_most_three_and_counts_are_grouped():
    con = duckdb.connect()
    con.execute("create schema s; create table s.big as select (i % 5)::varchar as k, null::integer as v from range(1500) r(i)")
    outcome = _run_test(con, make_test("s.big", {"not_null": {"config": {"meta": {"show": ["k"]}}}}, YML, "v"))
    assert outcome == Outcome("fail", "FAIL s.big: v not_null: 1,500 NULL values, e.g. k='0'; k='1'; k='2'")


def test_a_test_that_cannot_run_fails_with_the_database_error(con):
    outcome = _run_test(con, make_test("s.t", "not_null", YML, "no_such_column"))
    assert outcome.status == "fail"
    assert outcome.line.startswith("FAIL s.t: no_such_column not_null: could not run: Binder Error: ")
    assert "\n" not in outcome.line


# --- freshness ------------------------------------------------------------------------------------

NOW = pendulum.datetime(2026, 11, 20, 6, 0, tz="UTC")
RULE = Freshness("cinnox", warn_after=parse_duration("26h"), error_after=parse_duration("50h"))


def loads(*rows: tuple[int, str], column_type: str = "timestamptz", timezone: str = "UTC") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"set TimeZone = '{timezone}'")
    con.execute(
        f"create schema cinnox; create table cinnox._dlt_loads "
        f"(load_id varchar, schema_name varchar, status bigint, inserted_at {column_type})"
    )
    for index, (status, inserted_at) in enumerate(rows):
        con.execute("insert into cinnox._dlt_loads values (?, 'cinnox', ?, ?)", [str(index), status, inserted_at])
    return con


def freshness(con) -> Outcome:
    return _freshness(con, RULE, existing_tables(con), NOW)


def test_a_recent_committed_load_is_fresh():
    assert freshness(loads((0, "2026-11-18 00:00:00+00"), (0, "2026-11-20 05:00:00+00"))) == Outcome("pass")


def test_a_load_older_than_warn_after_warns():
    assert freshness(loads((0, "2026-11-19 00:00:00+00"))) == Outcome(
        "warn", "WARN cinnox: freshness: last committed load 2026-11-19 00:00 UTC, 30.0h ago (warn after 26.0h)"
    )


def test_a_load_older_than_error_after_fails():
    assert freshness(loads((0, "2026-11-17 06:00:00+00"))) == Outcome(
        "fail", "FAIL cinnox: freshness: last committed load 2026-11-17 06:00 UTC, 3.0d ago (error after 2.1d)"
    )


def test_the_limits_are_inclusive():
    assert freshness(loads((0, "2026-11-19 04:00:00+00"))).status == "warn"  # exactly 26h
    assert freshness(loads((0, "2026-11-18 04:00:00+00"))).status == "fail"  # exactly 50h


def test_loads_that_did_not_commit_do_not_count():
    assert freshness(loads((0, "2026-11-17 06:00:00+00"), (1, "2026-11-20 05:00:00+00"))).status == "fail"
    assert freshness(loads((1, "2026-11-20 05:00:00+00"))) == Outcome("fail", "FAIL cinnox: freshness: no committed load")


def test_a_source_never_loaded_is_skipped():
    con = duckdb.connect()
    assert freshness(con) == Outcome("skip", "SKIP cinnox: freshness: never loaded")


def test_a_timestamp_without_zone_is_read_as_utc():
    assert freshness(loads((0, "2026-11-19 00:00:00"), column_type="timestamp")) == Outcome(
        "warn", "WARN cinnox: freshness: last committed load 2026-11-19 00:00 UTC, 30.0h ago (warn after 26.0h)"
    )


def test_the_session_time_zone_does_not_change_the_age_or_the_shown_time():
    con = loads((0, "2026-11-19 00:00:00+00"), timezone="America/New_York")
    assert freshness(con) == Outcome(
        "warn", "WARN cinnox: freshness: last committed load 2026-11-19 00:00 UTC, 30.0h ago (warn after 26.0h)"
    )
