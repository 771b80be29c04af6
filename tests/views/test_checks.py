"""`callhouse check`: the YAML's tests on raw tables and views, and freshness per source."""

from __future__ import annotations

import duckdb

from tests.views.conftest import check


def lines(result) -> list[str]:
    return result.stdout.strip().splitlines()


def test_check_passes_on_a_freshly_loaded_warehouse(loaded):
    result = loaded.cli("check")  # as users run it: a subprocess
    assert result.returncode == 0, result.output
    assert lines(result) and lines(result)[-1].startswith("check: ")
    assert lines(result)[-1].endswith(" 0 failed, 0 warnings"), result.output
    passed = int(lines(result)[-1].split()[1])
    assert passed > 100  # raw tables, every view, three freshness checks


def test_a_duplicated_row_fails_check_naming_the_tests(loaded):
    cli = loaded.copy("duplicate")
    con = duckdb.connect(str(cli.warehouse))
    call_id = con.execute("select id from cinnox.call_detail order by id limit 1").fetchone()[0]
    con.execute("insert into cinnox.call_detail select * from cinnox.call_detail where id = ?", [call_id])
    con.close()
    result = check(cli)
    assert result.returncode == 1, result.output
    out = lines(result)
    assert f"FAIL cinnox.call_detail: id unique: 1 duplicate rows, e.g. id='{call_id}'" in out
    assert f"FAIL staging.cinnox_call_detail: call_id unique: 1 duplicate rows, e.g. call_id='{call_id}'" in out
    assert f"FAIL reporting.calls: unique (vendor, call_id): 1 duplicate rows, e.g. vendor='cinnox', call_id='{call_id}'" in out
    # One line per failing test, then the summary; nothing else.
    assert all(line.startswith("FAIL ") for line in out[:-1]), out
    assert out[-1].startswith("check: ") and f" {len(out) - 1} failed" in out[-1]


def test_an_unknown_vendor_status_is_a_visible_unknown_and_fails_check(loaded):
    cli = loaded.copy("unknown_status")
    con = duckdb.connect(str(cli.warehouse))
    call_id = con.execute("select id from cinnox.call_detail where status = 'Not Answered' order by id limit 1").fetchone()[0]
    con.execute("update cinnox.call_detail set status = 'Voicemail Left' where id = ?", [call_id])
    con.close()
    assert cli.query("select outcome, status_raw from reporting.calls where call_id = ?", [call_id]) == [
        ("unknown", "Voicemail Left")
    ]
    assert cli.query("select sum(unknown) from reporting.daily_calls") == [(1,)]
    result = check(cli)
    assert result.returncode == 1
    assert lines(result)[:-1] == [
        "FAIL reporting.calls: outcome accepted_values [answered, missed, failed, active]: 1 rows with other values, "
        "e.g. vendor='cinnox', status_raw='Voicemail Left'"
    ]


def test_a_broken_expression_is_reported(loaded):
    cli = loaded.copy("ended_before_start")
    con = duckdb.connect(str(cli.warehouse))
    con.execute(
        "update bandwidth.calls set end_time = start_time - interval 1 minute "
        "where id = (select min(id) from bandwidth.calls where end_time is not null)"
    )
    con.close()
    result = check(cli)
    assert result.returncode == 1
    assert "FAIL reporting.calls: expression `ended_at >= started_at`: 1 rows where it is false" in lines(result)


def test_freshness_warns_then_fails_as_loads_age(loaded):
    cli = loaded.copy("stale")
    con = duckdb.connect(str(cli.warehouse))
    con.execute("update genesys._dlt_loads set inserted_at = inserted_at - interval 30 hours")
    con.close()
    warned = check(cli)
    assert warned.returncode == 0, warned.output
    [warning] = [line for line in lines(warned) if not line.startswith("check: ")]
    assert warning.startswith("WARN genesys: freshness: last committed load ") and warning.endswith("(warn after 26.0h)")
    assert lines(warned)[-1].endswith("0 failed, 1 warnings")

    failed = check(cli, {"CHECKS__FRESHNESS__GENESYS__ERROR_AFTER": "1d"})
    assert failed.returncode == 1
    assert [line for line in lines(failed) if line.startswith("FAIL")][0].endswith("(error after 24.0h)")
    # A looser limit for every source silences it.
    assert check(cli, {"CHECKS__FRESHNESS__WARN_AFTER": "2d"}).returncode == 0


def test_check_before_the_views_exist_says_what_to_run(tmp_path):
    from tests.conftest import Cli

    cli = Cli(None, tmp_path)
    cli.warehouse.parent.mkdir(parents=True)
    duckdb.connect(str(cli.warehouse)).close()
    result = check(cli)
    assert result.returncode == 2
    assert result.stderr.strip().endswith("run `callhouse views`")
