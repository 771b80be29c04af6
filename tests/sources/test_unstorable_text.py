"""No value blocks a source (issue 24): a NUL character loads without it on every warehouse kind,
and a record whose text is not valid Unicode goes to quarantine whole while its page loads.

The sandbox serves the records over real HTTP; the warehouses are a DuckDB file and the real
PostgreSQL server the tests start.
"""

from __future__ import annotations

import json

import orjson
import pytest

from tests.conftest import TEST_NOW

DAY = TEST_NOW.start_of("day").subtract(days=3)
AT = DAY.add(hours=10)
BACKFILL = ("backfill", "--source", "cinnox", "--source", "bandwidth", "--start", DAY.to_date_string())
BACKFILL += ("--end", DAY.add(days=1).to_date_string())
UNPACED = {"SOURCES__BANDWIDTH__REQUESTS_PER_SECOND": "0"}
MARK = "@@BAD@@"  # replaced in the served bytes by what no JSON encoder writes


def cinnox_call(call_id: str, minute: int, first_name: str) -> dict:
    start = AT.add(minutes=minute)
    return {
        "id": call_id,
        "callDate": start.isoformat(),
        "callEndTime": start.add(minutes=2).isoformat(),
        "caller": "+85230001234",
        "callee": "+85230005678",
        "callDirection": "Inbound",
        "callType": "offnet",
        "status": "Call Ended",
        "callerFirstName": first_name,
    }


def bandwidth_call(call_id: str, minute: int, to: str) -> dict:
    start = AT.add(minutes=minute)
    return {
        "id": call_id,
        "direction": "in",
        "from": "+19195550100",
        "to": to,
        "state": "completed",
        "startTime": start.isoformat(),
        "activeTime": start.add(seconds=5).isoformat(),
        "endTime": start.add(minutes=2).isoformat(),
    }


def served_with(record: dict, bad: bytes) -> bytes:
    return orjson.dumps(record).replace(MARK.encode(), bad)


@pytest.mark.parametrize("warehouse_kind", ["duckdb", "postgres"])
def test_nul_characters_are_removed_on_every_kind_and_counted(make_sandbox, cli, warehouse_kind):
    sandbox = make_sandbox(cinnox_calls_per_day=40, bandwidth_calls_per_day=40)
    sandbox.add_cinnox_call(cinnox_call("cinnox-nul", 1, "Mei\u0000Smith"))
    sandbox.add_bandwidth_call(bandwidth_call("c-nul", 1, "+1919\u00005550\u0000199"))
    run = cli(sandbox, **UNPACED)
    result = run(*BACKFILL)
    assert result.returncode == 0, result.output
    assert run.query("select caller_first_name from cinnox.call_detail where id = 'cinnox-nul'") == [("MeiSmith",)]
    assert run.query("select \"to\" from bandwidth.calls where id = 'c-nul'") == [("+19195550199",)]
    assert "cinnox: NUL characters removed from 1 text value(s) (PostgreSQL cannot store them)" in result.stderr
    assert "bandwidth: NUL characters removed from 1 text value(s) (PostgreSQL cannot store them)" in result.stderr
    notices = {
        source: json.loads(details)["notices"]
        for source, details in run.query("select source, cast(details as varchar) from callhouse.runs")
    }
    assert "NUL characters removed from 1 text value(s) (PostgreSQL cannot store them)" in notices["cinnox"]
    # Everything else loads as the vendor sent it: the rest of the day is the sandbox's truth.
    ids = {i for (i,) in run.query("select id from cinnox.call_detail")}
    assert ids == {r["id"] for r in sandbox.truth.cinnox_calls(DAY, DAY.add(days=1))}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"\\ud800", "text is not valid Unicode: a lone surrogate (\\ud800)"),
        (b"\xff", "text is not valid Unicode: a byte that is not UTF-8 (0xff)"),
    ],
    ids=["lone-surrogate", "invalid-utf8"],
)
def test_a_record_that_cannot_be_decoded_is_quarantined_whole_and_its_page_loads(make_sandbox, cli, bad, reason):
    sandbox = make_sandbox(cinnox_calls_per_day=400, bandwidth_calls_per_day=400)
    cinnox_bad = cinnox_call("cinnox-undecodable", 2, f"Mei{MARK}Smith")
    bandwidth_bad = bandwidth_call("c-undecodable", 2, f"+1919{MARK}5550199")
    sandbox.add_cinnox_call(cinnox_bad, served=served_with(cinnox_bad, bad))
    sandbox.add_bandwidth_call(bandwidth_bad, served=served_with(bandwidth_bad, bad))
    run = cli(sandbox, **UNPACED)
    result = run(*BACKFILL)
    assert result.returncode == 0, result.output
    assert "cinnox: ok" in result.stderr and "bandwidth: ok" in result.stderr
    assert "0 retried" in result.stderr and "retried" not in result.stderr.replace("0 retried", "")

    cinnox_truth = {r["id"] for r in sandbox.truth.cinnox_calls(DAY, DAY.add(days=1))} - {"cinnox-undecodable"}
    bandwidth_truth = {r["id"] for r in sandbox.truth.bandwidth_calls(DAY, DAY.add(days=1))} - {"c-undecodable"}
    assert len(cinnox_truth) > 300 and len(bandwidth_truth) > 300
    assert {i for (i,) in run.query("select id from cinnox.call_detail")} == cinnox_truth
    assert {i for (i,) in run.query("select id from bandwidth.calls")} == bandwidth_truth

    # Quarantined whole, with the character written as its escape, and the reason naming the field.
    escaped = "\\ud800" if bad == b"\\ud800" else "\\xff"
    assert run.query("select reason, raw_json from cinnox.quarantine") == [
        (f"callerFirstName: {reason}", _raw({**cinnox_bad, "callerFirstName": f"Mei{escaped}Smith"}))
    ]
    assert run.query("select reason, raw_json from bandwidth.quarantine") == [
        (f"to: {reason}", _raw({**bandwidth_bad, "to": f"+1919{escaped}5550199"}))
    ]
    assert "1 quarantined (see cinnox.quarantine)" in result.stderr
    assert "1 quarantined (see bandwidth.quarantine)" in result.stderr


def _raw(record: dict) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"))
