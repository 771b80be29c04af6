"""A Parquet file of the lake cut short (a full disk, a bad copy): `status`, `run` and `backfill`
name it with the recovery in one line, and the documented recovery without a backup (drop the
table, let dlt create it again, backfill the source's coverage) gives back the vendor's rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import TEST_NOW
from tests.sources.test_cinnox import truth_tables, warehouse_tables

START = TEST_NOW.start_of("day").subtract(days=3)
END = START.add(days=2)
BACKFILL = ("backfill", "--source", "cinnox", "--start", START.to_date_string(), "--end", END.to_date_string())


@pytest.fixture
def warehouse_kind() -> str:
    return "ducklake"


def test_a_damaged_lake_file_is_named_with_its_recovery_and_the_recovery_works(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=30)
    run = cli(sandbox)
    assert run(*BACKFILL).returncode == 0
    lake = Path(run.env["DESTINATION__DUCKLAKE__CREDENTIALS__STORAGE"])
    [damaged, *_] = sorted((lake / "cinnox" / "call_detail").rglob("*.parquet"))
    damaged.write_bytes(damaged.read_bytes()[:100])  # cut short

    for command in (("status",), BACKFILL):
        result = run(*command)
        assert result.returncode == 1, result.output
        lines = [line for line in result.stderr.splitlines() if " window " not in line]
        assert len(lines) == 1 and "Traceback" not in result.output, result.output
        assert lines[0].endswith(
            f"a lake data file is damaged or missing: {damaged}: restore it from a backup, "
            "or reload its table (docs/operations.md, a damaged lake file)"
        ), lines[0]

    # docs/operations.md, "A damaged lake file": without a backup, drop the table, let dlt create
    # it again, and backfill what the source had loaded.
    con = run.lake.connect()
    con.execute("drop table cinnox.call_detail")
    con.execute("delete from cinnox._dlt_version")
    con.close()
    assert run(*BACKFILL).returncode == 0
    assert warehouse_tables(run) == truth_tables(sandbox, START, END)
    assert run("status").returncode == 0
