"""The views and data tests on DuckLake-on-PostgreSQL and on PostgreSQL, each loaded through the
real CLI from the same sandbox as the DuckDB file: the same rows in every reporting view."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipelines.models.project import load_models
from tests.views.conftest import check

SHARED = ["loaded_lake", "loaded_postgres"]


def same_representation(rows: list[tuple]) -> list[tuple]:
    """Values as Python compares them: DuckDB reads a PostgreSQL view's numeric(18,3) column as a
    double, the file gives a Decimal; the value (declared to the millisecond) is the same."""
    return [tuple(float(v) if isinstance(v, Decimal) else v for v in row) for row in rows]


@pytest.mark.parametrize("shared", SHARED)
def test_every_reporting_view_has_the_rows_it_has_on_the_duckdb_file(loaded, shared, request):
    other = request.getfixturevalue(shared)
    compared = {}
    for model in load_models():
        if model.schema != "reporting":
            continue  # staging and intermediate carry dlt's load ids, which differ between the two loads
        sql = f"select * from {model.qualified} order by all"
        on_other, on_file = same_representation(other.query(sql)), same_representation(loaded.query(sql))
        differing = [
            f"row {i} col {j}: {x!r} != {y!r}"
            for i, (a, b) in enumerate(zip(on_other, on_file))
            for j, (x, y) in enumerate(zip(a, b))
            if x != y
        ][:5]
        assert on_other == on_file, f"{model.qualified}: {differing}"
        compared[model.qualified] = len(on_other)
    print(f"rows per view, equal on {shared} and the DuckDB file:", compared)
    assert compared["reporting.calls"] > 1000 and compared["reporting.hourly_concurrency"] > 24


@pytest.mark.parametrize("shared", SHARED)
def test_the_data_tests_pass_as_on_the_file(loaded, shared, request):
    other = request.getfixturevalue(shared)
    on_other = check(other.cli, {k: v for k, v in other.cli.env.items() if k != "REPORTING__TIMEZONE"})
    on_file = check(loaded.cli)
    assert on_other.returncode == on_file.returncode == 0, on_other.output
    assert on_other.stdout == on_file.stdout


def test_postgres_views_are_postgresql_views_that_any_client_reads(loaded, loaded_postgres, postgres_server):
    # What a BI tool sees: the view in PostgreSQL itself, read with psql (not through DuckDB).
    database = loaded_postgres.cli.env["DESTINATION__POSTGRES__CREDENTIALS"].rsplit("/", 1)[1]
    rows = postgres_server.psql(
        "select vendor, count(*), sum(answered) from reporting.daily_calls group by vendor order by vendor", database=database
    )
    expected = loaded.query("select vendor, count(*), sum(answered) from reporting.daily_calls group by vendor order by vendor")
    assert rows.splitlines() == ["|".join(str(v) for v in row) for row in expected]
