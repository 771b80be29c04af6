"""A load package the warehouse refuses for a reason a retry cannot fix (here a CHECK constraint
an administrator added on PostgreSQL) is set aside: the run fails in one line, later runs are not
blocked, `status` names it with the commands that retry or drop it, and the retry loads it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import TEST_NOW
from tests.sources.test_cinnox import truth_tables, warehouse_tables

DAY1 = TEST_NOW.start_of("day").subtract(days=4)
DAY2, DAY3, DAY4 = DAY1.add(days=1), DAY1.add(days=2), DAY1.add(days=3)


def backfill(start, end) -> tuple[str, ...]:
    return ("backfill", "--source", "cinnox", "--start", start.to_date_string(), "--end", end.to_date_string())


@pytest.fixture
def warehouse_kind() -> str:
    return "postgres"


def test_a_package_postgresql_refuses_is_set_aside_and_blocks_no_later_run(make_sandbox, cli, postgres_server):
    sandbox = make_sandbox(cinnox_calls_per_day=40)
    run = cli(sandbox)
    assert run(*backfill(DAY1, DAY2)).returncode == 0
    database = run.postgres.url.rsplit("/", 1)[1]
    # Day 2's calls break a rule the table gained after the first load: every retry fails alike.
    postgres_server.psql(
        "alter table cinnox.call_detail add constraint not_day_two "
        f"check (call_date < '{DAY2.isoformat()}' or call_date >= '{DAY3.isoformat()}') not valid",
        database,
    )
    refused = run(*backfill(DAY2, DAY3))
    assert refused.returncode == 1, refused.output
    [line] = [line for line in refused.stderr.splitlines() if line.startswith("cinnox: FAILED")]
    assert line.startswith("cinnox: FAILED: load package "), line
    assert (
        'set aside, a retry cannot load it (new row for relation "call_detail" violates check constraint "not_day_two")' in line
    )
    assert line.endswith("the next run is not blocked: `callhouse status` says how to retry or drop it"), line

    # The next backfill loads its own window instead of retrying the refused package first.
    later = run(*backfill(DAY3, DAY4))
    assert later.returncode == 0, later.output

    [kept] = (run.pipelines_dir / "set_aside" / "cinnox").iterdir()
    retry = (
        f"callhouse backfill --source cinnox --start {DAY2.format('YYYY-MM-DDTHH:mm:ss.SSS')}Z "
        f"--end {DAY3.format('YYYY-MM-DDTHH:mm:ss.SSS')}Z"
    )
    status = run("status")
    assert status.returncode == 0
    assert (
        f'  SET ASIDE: load package {kept.name} set aside (new row for relation "call_detail" violates check constraint '
        f'"not_day_two"); kept in {kept}: fix the cause, then `{retry}` loads its range again; `rm -r {kept}` drops it'
    ) in status.stdout.splitlines(), status.stdout
    [listed] = json.loads(run("status", "--json").stdout)["sources"]["cinnox"]["set_aside"]
    assert (listed["load_id"], listed["path"], listed["retry"]) == (kept.name, str(kept), retry)
    assert any(Path(kept).rglob("*.parquet")), "the package's files are kept for inspection"

    # Fixed: the retry command loads day 2; dropping the folder drops the entry.
    postgres_server.psql("alter table cinnox.call_detail drop constraint not_day_two", database)
    again = run(*retry.split()[1:])
    assert again.returncode == 0, again.output
    assert warehouse_tables(run) == truth_tables(sandbox, DAY1, DAY4)
    shutil.rmtree(kept)
    assert "SET ASIDE" not in run("status").stdout
