"""The Dagster definitions in-process against the sandbox: a partition is a backfill of that day,
the nightly job is the nightly load, a failing data test is a failed asset check naming it."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
import duckdb
import pytest

from pipelines.load.runner import DLT_DEFAULTS
from pipelines.orchestration import dagster_assets as assets
from tests.conftest import REPO
from tests.schedule.conftest import DAY, FAST_ENV, SANDBOX

CINNOX_TABLES = ("call_detail", "call_detail__recording_event_list", "call_detail__recording_event_list__files")
UNKNOWN_STATUS = (
    "FAIL reporting.calls: outcome accepted_values [answered, missed, failed, active]: 1 rows with other values, "
    "e.g. vendor='cinnox', status_raw='Voicemail Left'"
)


@pytest.fixture
def loading(make_sandbox, monkeypatch, tmp_path):
    """The sandbox's settings in this process (restored after), and the resource of a temp warehouse."""
    sandbox = make_sandbox(**SANDBOX)
    for key in DLT_DEFAULTS:  # callhouse sets these as defaults in the environment: undo after
        monkeypatch.setenv(key, DLT_DEFAULTS[key])
    for key, value in {**sandbox.env(), **FAST_ENV, "CALLHOUSE_NOW": sandbox.now().isoformat()}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CALLHOUSE_WAREHOUSE", raising=False)
    monkeypatch.chdir(tmp_path)
    warehouse = tmp_path / "warehouse" / "calls.duckdb"
    return sandbox, warehouse, {"callhouse": assets.Callhouse(warehouse=str(warehouse))}


def count(warehouse, sql: str) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def test_materializing_a_partition_is_the_backfill_of_that_day(loading):
    sandbox, warehouse, resources = loading
    day = DAY.subtract(days=3)
    cinnox = next(a for a in assets.SOURCE_ASSETS if a.key == dg.AssetKey("cinnox"))
    result = dg.materialize([cinnox], partition_key=day.to_date_string(), resources=resources)
    assert result.success
    calls = len(sandbox.truth.cinnox_calls(day, day.add(days=1)))
    assert count(warehouse, "select count(*) from cinnox.call_detail") == calls
    rows = {t: count(warehouse, f"select count(*) from cinnox.{t}") for t in CINNOX_TABLES}
    [materialization] = result.asset_materializations_for_node("cinnox")
    assert materialization.partition == day.to_date_string()
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert metadata["rows"] == sum(rows.values()) and metadata["rows_by_table"] == rows
    assert metadata["range"] == f"[{day.isoformat()}, {day.add(days=1).isoformat()})"
    assert count(warehouse, "select count(*) from callhouse.runs where command like 'backfill %' and outcome = 'ok'") == 1


def test_the_nightly_job_loads_every_source_builds_the_views_and_a_failing_test_fails_its_check(loading):
    sandbox, warehouse, resources = loading
    schedule = assets.defs.get_schedule_def("callhouse_nightly_schedule")
    assert schedule.cron_schedule == "30 2 * * *"
    assert assets.defs.resolve_job_def("callhouse_nightly").tags[assets.NIGHTLY_TAG] == "nightly"
    yesterday = DAY.subtract(days=1).to_date_string()
    everything = [*assets.SOURCE_ASSETS, assets.views, assets.data_tests]
    result = dg.materialize(everything, partition_key=yesterday, resources=resources, tags={assets.NIGHTLY_TAG: "nightly"})
    assert result.success
    # The nightly load: each source from its START_DATE (today 00:00) up to the sandbox's now.
    now = sandbox.now()
    assert count(warehouse, "select count(*) from cinnox.call_detail") == len(sandbox.truth.cinnox_calls(DAY, now))
    assert count(warehouse, "select count(*) from bandwidth.calls") == len(sandbox.truth.bandwidth_calls(DAY, now))
    assert count(warehouse, "select count(*) from genesys.siptraces") == len(sandbox.truth.genesys_messages(DAY, now))
    assert count(warehouse, "select count(*) from reporting.calls where vendor = 'cinnox'") == len(
        sandbox.truth.cinnox_calls(DAY, now)
    )
    assert {
        r
        for r in duckdb.connect(str(warehouse), read_only=True).execute("select distinct command from callhouse.runs").fetchall()
    } == {
        ("run --source cinnox",),
        ("run --source bandwidth",),
        ("run --source genesys",),
    }
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) == len(assets.CHECK_SPECS)
    assert [e.check_name for e in evaluations if not e.passed] == []

    con = duckdb.connect(str(warehouse))
    call_id = con.execute("select min(id) from cinnox.call_detail where status = 'Not Answered'").fetchone()[0]
    con.execute("update cinnox.call_detail set status = 'Voicemail Left' where id = ?", [call_id])
    con.close()
    checks = dg.materialize(
        everything,
        partition_key=yesterday,
        resources=resources,
        selection=dg.AssetSelection.assets(assets.VIEWS) | dg.AssetSelection.checks_for_assets(*everything[:4]),
        raise_on_error=False,
    )
    failed = [e for e in checks.get_asset_check_evaluations() if not e.passed]
    assert [(e.asset_key, e.check_name, e.description) for e in failed] == [
        (assets.VIEWS, "reporting_calls_outcome_accepted_values_answered_missed_failed_active", UNKNOWN_STATUS)
    ]
    assert failed[0].severity == dg.AssetCheckSeverity.ERROR


def test_the_definitions_load_as_dagster_dev_loads_them():
    validate = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m", "pipelines.orchestration.dagster_assets"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
