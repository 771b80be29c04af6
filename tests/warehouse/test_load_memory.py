"""A load that needs more memory than WAREHOUSE__LOAD_MEMORY_LIMIT says so in one line, and the
rerun with more memory finishes it (the sandbox over HTTP into a real DuckDB file)."""

from __future__ import annotations

from tests.conftest import TEST_NOW

DAY = TEST_NOW.start_of("day").subtract(days=3)
BACKFILL = ("backfill", "--source", "cinnox", "--start", DAY.to_date_string(), "--end", DAY.add(days=1).to_date_string())


def test_duckdb_out_of_memory_while_loading_is_one_line_naming_the_setting_and_a_rerun_finishes(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=1500)
    calls = {call["id"] for call in sandbox.truth.cinnox_calls(DAY, DAY.add(days=1))}

    starved = cli(sandbox, WAREHOUSE__LOAD_MEMORY_LIMIT="4MB")(*BACKFILL)
    assert starved.returncode == 1, starved.output
    failed = [line for line in starved.output.splitlines() if "FAILED" in line]
    assert failed == [
        "cinnox: FAILED: DuckDB ran out of memory while loading: raise WAREHOUSE__LOAD_MEMORY_LIMIT "
        "(DuckDB syntax: 256MB, 1GB; 128MB by default) and rerun, which finishes the load"
    ]
    assert "Traceback" not in starved.output and "partially loaded" not in starved.output

    run = cli(sandbox)
    rerun = run(*BACKFILL)
    assert rerun.returncode == 0, rerun.output
    assert {row[0] for row in run.query("select id from cinnox.call_detail")} == calls
