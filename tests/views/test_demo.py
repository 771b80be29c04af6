"""`callhouse demo` end to end, as `make demo` runs it (ending with the report's path): then
`callhouse check` on its warehouse."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import Cli
from tests.views.conftest import check as run_check


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    cli = Cli(None, tmp_path_factory.mktemp("demo"), {"REPORTING__TIMEZONE": "UTC"})
    started = time.monotonic()
    result = cli("demo", timeout=300)
    return cli, result, time.monotonic() - started


def test_demo_loads_three_vendors_and_reports_in_under_two_minutes(demo):
    cli, result, seconds = demo
    assert result.returncode == 0, result.output
    assert seconds < 120
    out = result.stdout
    for vendor in ("cinnox", "bandwidth", "genesys"):
        assert re.search(rf"^  {vendor} +[\d,]+ +[\d,]+ ", out, re.M), out
    assert "Busiest hour: " in out
    assert _hint(out) == f"{Path(sys.executable).parent / 'duckdb'} -readonly warehouse/calls.duckdb"
    assert "check: " in out and " 0 failed" in out
    page = cli.warehouse.parent / "report.html"
    assert out.splitlines()[-1] == f"demo: open the report in a browser: {page}"  # `make demo` ends with it
    assert page.read_text().count("data-chart=") == 6
    days = cli.query("select count(distinct day) from reporting.daily_calls")[0][0]
    assert days == 8  # the 7 backfilled days and today
    assert {v for (v,) in cli.query("select distinct vendor from reporting.sip_headers")} == {"bandwidth", "genesys"}


def test_check_passes_on_the_demo_warehouse_and_fails_on_a_duplicate(demo, tmp_path):
    cli, result, _ = demo
    assert result.returncode == 0, result.output
    check = run_check(cli)
    assert check.returncode == 0, check.output

    con = duckdb.connect(str(cli.warehouse))
    con.execute("insert into bandwidth.calls select * from bandwidth.calls order by id limit 1")
    con.close()
    check = run_check(cli)
    assert check.returncode == 1
    assert any(line.startswith("FAIL bandwidth.calls: id unique: 1 duplicate rows") for line in check.stdout.splitlines())
    assert any(line.startswith("FAIL reporting.calls: unique (vendor, call_id)") for line in check.stdout.splitlines())


def _hint(out: str) -> str:
    return next(line.strip() for line in out.splitlines() if " -readonly " in line)


def test_the_printed_duckdb_command_opens_the_demo_warehouse(demo):
    cli, result, _ = demo
    assert result.returncode == 0, result.output
    shell = subprocess.run(
        shlex.split(_hint(result.stdout)),
        cwd=cli.workdir,
        input="select count(*) as calls from reporting.calls;\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shell.returncode == 0, shell.stdout + shell.stderr
    assert f" {cli.query('select count(*) from reporting.calls')[0][0]} " in shell.stdout
