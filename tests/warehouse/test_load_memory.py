"""A load that needs more memory than WAREHOUSE__LOAD_MEMORY_LIMIT says so in one line, and the
rerun with more memory finishes it (the sandbox over HTTP into a real DuckDB file)."""

from __future__ import annotations

from tests.conftest import TEST_NOW

DAY = TEST_NOW.start_of("day").subtract(days=3)
BACKFILL = ("backfill", "--source", "cinnox", "--start", DAY.to_date_string(), "--end", DAY.add(days=1).to_date_string())


def test_duckdb_out_of_memory_while_loading_is_one_line_naming_the_setting_and_a_rerun_finishes(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=1500)
    calls = {call["id"] for call in sandbox.truth.cinnox_calls(DAY, DAY.add(days=1))}

    # One try of the job instead of dlt's five: the same failure, sooner.
    starved = cli(sandbox, WAREHOUSE__LOAD_MEMORY_LIMIT="4MB", LOAD__RAISE_ON_MAX_RETRIES="1")(*BACKFILL)
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


WAL_AFTER_EACH_LOAD = """
import importlib, sys
from pipelines import cli
Pipeline = importlib.import_module("dlt.pipeline.pipeline").Pipeline
load = Pipeline.load

def load_and_say_the_wal(self, *args, **kwargs):
    info = load(self, *args, **kwargs)
    with self.sql_client() as client:
        size = client.execute_sql("select wal_size from pragma_database_size() where database_name = current_database()")
    print("WAL after a load:", size[0][0], file=sys.stderr)
    return info

Pipeline.load = load_and_say_the_wal
sys.exit(cli.main(sys.argv[1:]))
"""


def test_each_load_is_written_into_the_duckdb_file_when_it_is_published(make_sandbox, cli):
    # DuckDB checkpoints by itself only while no other transaction is open, and a load command
    # always has one: a backfill's loads piled up in memory and WAL (3M calls ran out of memory).
    sandbox = make_sandbox(cinnox_calls_per_day=300)
    run = cli(sandbox, SOURCES__CINNOX__CHECKPOINT_ROWS="100")
    result = run(
        "backfill",
        "--source",
        "cinnox",
        "--start",
        DAY.subtract(days=2).to_date_string(),
        "--end",
        DAY.to_date_string(),
        entry=("-c", WAL_AFTER_EACH_LOAD),
    )
    assert result.returncode == 0, result.output
    said = [line for line in result.stderr.splitlines() if line.startswith("WAL after a load:")]
    assert len(said) == 2 and set(said) == {"WAL after a load: 0 bytes"}, result.stderr
