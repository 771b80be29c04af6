"""`callhouse maintain` on the DuckDB file and on PostgreSQL: their own equivalent of a lake's
maintenance, one line each, the data unchanged (the DuckLake's is in tests/warehouse/test_object_storage.py)."""

from __future__ import annotations


def test_maintain_checkpoints_the_duckdb_file_and_changes_no_row(loaded):
    copy = loaded.copy("maintain_file")
    before = copy.query("select count(*), sum(talk_s) from reporting.calls")
    result = copy("maintain")
    assert result.returncode == 0, result.output
    assert result.stdout.startswith("maintain: checkpoint: calls.duckdb "), result.stdout
    assert copy.query("select count(*), sum(talk_s) from reporting.calls") == before


def test_maintain_vacuums_callhouse_tables_on_postgresql(loaded_postgres):
    result = loaded_postgres.cli("maintain")
    assert result.returncode == 0, result.output
    assert result.stdout.startswith("maintain: vacuum (analyze): "), result.stdout
    assert int(result.stdout.split(": ")[2].split()[0]) >= 6  # the raw tables of three sources and the run log


def test_a_retention_that_is_not_a_duration_is_one_line_and_exit_2(loaded):
    result = loaded.cli("maintain", env={"DUCKLAKE__SNAPSHOT_RETENTION": "a week"})
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "callhouse: DUCKLAKE__SNAPSHOT_RETENTION: 'a week' is not a duration (write e.g. 30m, 6h, 2d or PT6H)"
    )


def test_the_nightly_run_maintains_on_the_schedule_the_settings_choose(loaded):
    copy = loaded.copy("maintain_nightly")
    unset = copy("run", "--source", "cinnox")
    assert unset.returncode == 0 and "maintain:" not in unset.output, unset.output

    daily = {"DUCKLAKE__MAINTAIN_EVERY": "1d"}
    first = copy("run", "--source", "cinnox", env=daily)
    assert first.returncode == 0, first.output
    assert "maintain: checkpoint: calls.duckdb" in first.stderr, first.output
    second = copy("run", "--source", "cinnox", env=daily)  # maintained minutes ago: not due
    assert second.returncode == 0 and "maintain:" not in second.output, second.output
    assert copy.query("select count(*) from callhouse.maintenance")[0][0] == 1


def test_maintain_on_a_lake_keeps_the_staged_rows_of_a_load_not_yet_published(loaded_lake):
    # A load is published from `<source>_staging` in one transaction (warehouse/publish.py); after
    # a crash inside it the rows wait there for the rerun. Maintenance deletes only leftovers of
    # committed loads, never the rows a rerun must still publish.
    lake = loaded_lake.cli.lake
    con = lake.connect()
    try:
        columns = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'cinnox_staging' and table_name = 'call_detail' order by ordinal_position"
            ).fetchall()
        ]
        listed = ", ".join(f'"{c}"' for c in columns)
        chosen = ", ".join("'unpublished'" if c == "_dlt_load_id" else f'"{c}"' for c in columns)
        committed = ", ".join(f'"{c}"' for c in columns)
        con.execute(f"insert into cinnox_staging.call_detail ({listed}) select {chosen} from cinnox.call_detail limit 2")
        con.execute(f"insert into cinnox_staging.call_detail ({listed}) select {committed} from cinnox.call_detail limit 3")
    finally:
        con.close()

    result = loaded_lake.cli("maintain")
    assert result.returncode == 0, result.output
    assert "maintain: staging leftovers: 3 rows deleted" in result.stdout, result.stdout
    staged = loaded_lake.query("select _dlt_load_id, count(*) from cinnox_staging.call_detail group by all")
    assert staged == [("unpublished", 2)]

    con = lake.connect()
    try:
        con.execute("delete from cinnox_staging.call_detail")  # the shared fixture as it was
    finally:
        con.close()
