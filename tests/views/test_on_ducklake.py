"""The views and data tests on DuckLake-on-PostgreSQL: the same rows as on the DuckDB file."""

from __future__ import annotations

from pipelines.models.project import load_models
from tests.views.conftest import check


def test_every_view_on_the_lake_has_the_rows_it_has_on_the_duckdb_file(loaded, loaded_lake):
    compared = {}
    for model in load_models():
        if model.schema != "reporting":
            continue  # staging and intermediate carry dlt's load ids, which differ between the two loads
        sql = f"select * from {model.qualified} order by all"
        on_lake, on_file = loaded_lake.query(sql), loaded.query(sql)
        assert on_lake == on_file, model.qualified
        compared[model.qualified] = len(on_lake)
    print("rows per view, equal on both:", compared)
    assert compared["reporting.calls"] > 1000 and compared["reporting.hourly_concurrency"] > 24


def test_the_data_tests_pass_on_the_lake_as_on_the_file(loaded, loaded_lake):
    on_lake = check(loaded_lake.cli, {k: v for k, v in loaded_lake.cli.env.items() if k != "REPORTING__TIMEZONE"})
    on_file = check(loaded.cli)
    assert on_lake.returncode == on_file.returncode == 0, on_lake.output
    assert on_lake.stdout == on_file.stdout
