"""`callhouse run --check`: the nightly load, the views and the data tests in one command; exit 0
only when all three are fine."""

from __future__ import annotations

import duckdb

from tests.schedule.conftest import DAY, FAST_ENV, SANDBOX

UNKNOWN_STATUS = (
    "FAIL reporting.calls: outcome accepted_values [answered, missed, failed, active]: 1 rows with other values, "
    "e.g. vendor='cinnox', status_raw='Voicemail Left'"
)


def test_run_check_loads_builds_the_views_and_passes_the_data_tests(make_sandbox, cli):
    sandbox = make_sandbox(**SANDBOX)
    run = cli(sandbox, **FAST_ENV)
    result = run("run", "--check")
    assert result.returncode == 0, result.output
    for source in ("cinnox", "bandwidth", "genesys"):
        assert f"{source}: ok, " in result.stderr
    assert "views: built " in result.stderr
    assert [line for line in result.stderr.splitlines() if "|dlt|" in line] == []  # dlt's own log stays out
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("check: ") and " 0 failed, 0 warnings" in last, result.output
    assert run.query("select count(*) from reporting.calls where vendor = 'cinnox'") == [
        (len(sandbox.truth.cinnox_calls(DAY, sandbox.now())),)
    ]
    assert {r[0] for r in run.query("select command from callhouse.runs")} == {"run --check"}


def test_run_check_exits_1_when_a_data_test_fails_and_names_it(make_sandbox, cli, receiver):
    sandbox = make_sandbox(**SANDBOX)
    hook = receiver(200)
    start = DAY.subtract(days=2)
    # The backfilled day and the first nightly run meet: no coverage gap between them.
    env = {**FAST_ENV, "SOURCES__CINNOX__START_DATE": start.add(days=1).isoformat(), "ALERTS__WEBHOOK_URL": hook.url}
    run = cli(sandbox, **env)
    loaded = run("backfill", "--source", "cinnox", "--start", start.to_date_string(), "--end", start.add(days=1).to_date_string())
    assert loaded.returncode == 0, loaded.output
    con = duckdb.connect(str(run.warehouse))
    call_id = con.execute("select min(id) from cinnox.call_detail where status = 'Not Answered'").fetchone()[0]
    # A status the mapping does not know, outside the nightly run's lookback: it stays.
    con.execute("update cinnox.call_detail set status = 'Voicemail Left' where id = ?", [call_id])
    con.close()

    result = run("run", "--check", "--source", "cinnox")
    assert result.returncode == 1, result.output
    assert "cinnox: ok, " in result.stderr and "views: built " in result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    assert failed == [UNKNOWN_STATUS], result.stdout
    [message] = hook.bodies
    assert message["command"] == "callhouse run --check" and message["exit_code"] == 1
    assert message["failures"] == [UNKNOWN_STATUS]

    without = run("run", "--source", "cinnox")  # without --check the same night exits 0
    assert without.returncode == 0, without.output
