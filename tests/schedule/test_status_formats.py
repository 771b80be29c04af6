"""`callhouse status --json` and `--prometheus`, parsed, with exact values after known loads."""

from __future__ import annotations

import json

import pendulum
import pytest

from pipelines import cli as cli_module
from tests.schedule.conftest import DAY, FAST_ENV, SANDBOX
from tests.schedule.prometheus import parse

FIRST = (DAY.subtract(days=5), DAY.subtract(days=4))
SECOND = (DAY.subtract(days=3), DAY.subtract(days=2))
CINNOX_TABLES = ("call_detail", "call_detail__recording_event_list", "call_detail__recording_event_list__files")


def iso_ms(instant: pendulum.DateTime) -> str:
    return instant.in_tz("UTC").format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"


def test_status_json_and_prometheus_after_two_backfills_with_a_gap_then_views(make_sandbox, cli):
    sandbox = make_sandbox(**SANDBOX)
    run = cli(sandbox, **FAST_ENV)
    for start, end in (FIRST, SECOND):
        loaded = run("backfill", "--source", "cinnox", "--start", start.to_date_string(), "--end", end.to_date_string())
        assert loaded.returncode == 0, loaded.output

    status = run("status", "--json")
    assert status.returncode == 0, status.output
    document = json.loads(status.stdout)
    assert set(document) == {"schema", "generated_at", "warehouse", "views", "sources"}
    assert document["schema"] == 1
    assert document["generated_at"] == sandbox.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert document["warehouse"] == f"warehouse {run.warehouse}"
    assert list(document["sources"]) == ["cinnox", "bandwidth", "genesys"]

    cinnox = document["sources"]["cinnox"]
    calls = len(sandbox.truth.cinnox_calls(FIRST[0], FIRST[1])) + len(sandbox.truth.cinnox_calls(SECOND[0], SECOND[1]))
    rows = {t: run.query(f"select count(*) from cinnox.{t}")[0][0] for t in CINNOX_TABLES}
    assert rows["call_detail"] == calls
    assert cinnox["rows"] == rows
    assert cinnox["coverage"] == [[iso_ms(FIRST[0]), iso_ms(FIRST[1])], [iso_ms(SECOND[0]), iso_ms(SECOND[1])]]
    assert cinnox["gaps"] == [[iso_ms(FIRST[1]), iso_ms(SECOND[0])]]
    assert cinnox["cursor"] is None  # backfills never move the nightly cursor
    assert cinnox["unfinished_backfills"] == [] and cinnox["truncated_windows"] == 0 and cinnox["stale_open_calls"] == 0
    assert cinnox["quarantine"] == {"records": 0, "loaded_since": 0}
    [(finished, second_rows)] = run.query(
        "select finished_at, rows from callhouse.runs where command like 'backfill --start "
        f"{SECOND[0].to_date_string()}%' and source = 'cinnox'"
    )
    finished_iso = pendulum.instance(finished).in_tz("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
    assert cinnox["last_run"] == {
        "command": f"callhouse backfill --start {SECOND[0].to_date_string()} --end {SECOND[1].to_date_string()}",
        "started_at": cinnox["last_run"]["started_at"],
        "finished_at": finished_iso,
        "outcome": "ok",
        "rows": second_rows,
        "message": None,
    }
    assert cinnox["last_success_at"] == finished_iso
    assert cinnox["views_older_than_last_success"] is True  # a backfill does not build the views
    for other in ("bandwidth", "genesys"):
        assert document["sources"][other] == {
            "last_run": None,
            "last_success_at": None,
            "cursor": None,
            "coverage": [],
            "gaps": [],
            "unfinished_backfills": [],
            "truncated_windows": 0,
            "stale_open_calls": 0,
            "rows": {},
            "quarantine": {"records": 0, "loaded_since": 0},
            "views_older_than_last_success": False,
            "set_aside": [],
        }
    assert document["views"] == {"built_at": None, "last_load_at": finished_iso, "older_than_last_load": True}

    metrics = run("status", "--prometheus")
    assert metrics.returncode == 0, metrics.output
    samples, types = parse(metrics.stdout)
    assert all(name.startswith("callhouse_") for name in types) and set(types.values()) == {"gauge"}

    def value(name: str, **labels: str) -> float:
        return samples[(name, frozenset(labels.items()))]

    assert value("callhouse_last_success_timestamp_seconds", source="cinnox") == pendulum.parse(finished_iso).timestamp()
    assert value("callhouse_last_success_timestamp_seconds", source="bandwidth") == 0
    assert value("callhouse_last_success_timestamp_seconds", source="genesys") == 0
    assert {labels: v for (name, labels), v in samples.items() if name == "callhouse_rows"} == {
        frozenset({("source", "cinnox"), ("table", t)}): float(n) for t, n in rows.items()
    }
    assert value("callhouse_coverage_gaps", source="cinnox") == 1
    assert value("callhouse_last_run_ok", source="cinnox") == 1
    assert ("callhouse_last_run_ok", frozenset({("source", "bandwidth")})) not in samples  # never ran
    assert value("callhouse_cursor_timestamp_seconds", source="cinnox") == 0
    assert value("callhouse_quarantined_records", source="cinnox") == 0
    assert value("callhouse_views_older_than_last_load") == 1

    text = run("status").stdout.splitlines()
    assert text[-1] == f"views: no build recorded, OLDER than the last load ({finished_iso}): run `callhouse views`"

    assert run("views").returncode == 0
    after = json.loads(run("status", "--json").stdout)
    built = after["views"]["built_at"]
    assert built >= finished_iso and after["views"]["older_than_last_load"] is False
    assert after["sources"]["cinnox"]["views_older_than_last_success"] is False
    assert run("status").stdout.splitlines()[-1] == f"views: built {built.replace('T', ' ').rstrip('Z')} UTC"
    samples, _ = parse(run("status", "--prometheus").stdout)
    assert samples[("callhouse_views_older_than_last_load", frozenset())] == 0


def test_status_takes_one_format_at_a_time(capsys):
    assert cli_module.main(["status", "--json", "--prometheus"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize("warehouse_kind", ["ducklake", "postgres"])
def test_status_json_on_shared_warehouses_knows_the_views_build_and_the_last_success(make_sandbox, cli, warehouse_kind):
    sandbox = make_sandbox(**SANDBOX)
    run = cli(sandbox, **FAST_ENV)
    loaded = run("backfill", "--source", "cinnox", "--start", SECOND[0].to_date_string(), "--end", SECOND[1].to_date_string())
    assert loaded.returncode == 0, loaded.output
    before = json.loads(run("status", "--json").stdout)
    assert before["views"]["built_at"] is None and before["views"]["older_than_last_load"] is True
    assert run("views").returncode == 0
    status = run("status", "--json")
    assert status.returncode == 0, status.output
    document = json.loads(status.stdout)
    assert document["warehouse"].startswith("DuckLake " if warehouse_kind == "ducklake" else "PostgreSQL ")
    password = run.env.get("DESTINATION__POSTGRES__CREDENTIALS") or run.env["DESTINATION__DUCKLAKE__CREDENTIALS__CATALOG"]
    secret = password.split("//", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert secret and secret not in status.stdout
    cinnox = document["sources"]["cinnox"]
    assert cinnox["rows"]["call_detail"] == len(sandbox.truth.cinnox_calls(SECOND[0], SECOND[1]))
    assert cinnox["last_success_at"] == before["sources"]["cinnox"]["last_success_at"] is not None
    assert document["views"]["built_at"] >= cinnox["last_success_at"]
    assert document["views"]["older_than_last_load"] is False
