"""Pseudonymization, checked by looking at the bytes: after a load with PRIVACY__PSEUDONYMIZE, the
sandbox's phone numbers, names and IP addresses occur nowhere in the warehouse file nor in dlt's
working files, while a load of the same data without it holds them (so the scan can fail)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pendulum
import pytest

from pipelines.privacy.phone import normalized_number
from pipelines.privacy.pseudonyms import Pseudonyms
from pipelines.sandbox import Sandbox
from pipelines.sources.registry import VENDORS
from tests.conftest import Cli
from tests.privacy.privacy_sandbox import privacy_sandbox

KEY = "test-key-0123456789-abcdef"
OTHER_KEY = "another-key-9876543210-zyxw"
ALL_KINDS = "phone_numbers,names,ip_addresses"
DAY = pendulum.datetime(2026, 11, 18, tz="UTC")
# One caller at two vendors, written three ways (a JSON number, spaces and 00, a SIP URI).
SHARED_NUMBER = "+442079460958"


def _privacy(key: str = KEY) -> dict[str, str]:
    return {"PRIVACY__PSEUDONYMIZE": ALL_KINDS, "PRIVACY__KEY": key}


def _shared_caller_calls(sandbox: Sandbox, day: pendulum.DateTime, tag: str) -> None:
    start = day.add(hours=10)
    sandbox.add_cinnox_call(
        {
            "id": f"shared-cinnox-{tag}",
            "callDate": start.isoformat(),
            "callEndTime": start.add(minutes=3).isoformat(),
            "caller": int(SHARED_NUMBER[1:]),
            "callee": "+85230001234",
            "callDirection": "Inbound",
            "callType": "offnet",
            "status": "Ended",
            "fromDisplayName": "Grace Hopper",
        }
    )
    sandbox.add_bandwidth_call(
        {
            "id": f"c-shared-{tag}",
            "direction": "in",
            "from": "0044 20 7946 0958",
            "to": "+19195550100",
            "state": "completed",
            "startTime": start.isoformat(),
            "activeTime": start.add(seconds=5).isoformat(),
            "endTime": start.add(minutes=2).isoformat(),
        }
    )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sb = privacy_sandbox(seed=7)
    _shared_caller_calls(sb, DAY, "a")
    _shared_caller_calls(sb, DAY.add(days=1), "b")
    yield sb
    sb.stop()


def _cli(sandbox: Sandbox, folder: Path, **env: str) -> Cli:
    unpaced = {k: v for vendor in VENDORS for k, v in vendor.sandbox_settings().items()}
    return Cli(sandbox, folder, {**unpaced, **env})


def _backfill(cli: Cli, day: pendulum.DateTime, *flags: str, **env: str) -> None:
    result = cli("backfill", "--start", day.to_date_string(), "--end", day.add(days=1).to_date_string(), *flags, env=env)
    assert result.returncode == 0, result.output


@pytest.fixture(scope="module")
def clear(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    cli = _cli(sandbox, tmp_path_factory.mktemp("clear"))
    _backfill(cli, DAY)
    return cli


@pytest.fixture(scope="module")
def pseudonymized(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    cli = _cli(sandbox, tmp_path_factory.mktemp("pseudonymized"), **_privacy())
    _backfill(cli, DAY)
    assert cli("views").returncode == 0
    return cli


def _known_values(sandbox: Sandbox) -> dict[str, set[str]]:
    """Personal values the sandbox served for DAY, as text that would be stored."""
    end = DAY.add(days=1)
    cinnox = [r for r in sandbox.truth.records("cinnox", DAY, end) if isinstance(r.get("caller"), str)]
    bandwidth = sandbox.truth.records("bandwidth", DAY, end)
    genesys = sandbox.truth.records("genesys", DAY, end)
    named = [r for r in cinnox if r.get("callerFirstName")]
    sip_named = [r for r in genesys if 'From: "' in r.get("msg", "")]
    return {
        "phone numbers": {cinnox[0]["caller"], cinnox[1]["caller"], bandwidth[0]["from"], genesys[0]["fromUser"]},
        "names": {named[0]["fromDisplayName"], sip_named[0]["msg"].split('From: "')[1].split('"')[0]},
        "ip addresses": {cinnox[0]["fromIP"], genesys[0]["sourceIp"]},
    }


def _warehouse_bytes(cli: Cli) -> bytes:
    con = duckdb.connect(str(cli.warehouse))
    con.execute("checkpoint")
    con.close()
    return cli.warehouse.read_bytes()


def _working_files_bytes(cli: Cli) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(cli.pipelines_dir.rglob("*")) if p.is_file())


def test_a_load_without_pseudonyms_holds_the_known_values_in_its_bytes(sandbox: Sandbox, clear: Cli):
    """The control: the byte scan finds clear text where it is stored (DuckDB does not hide it)."""
    stored = _warehouse_bytes(clear)
    for kind, values in _known_values(sandbox).items():
        for value in values:
            assert value.encode() in stored, (kind, value)


def test_pseudonymized_load_leaves_no_known_value_in_the_warehouse_or_dlts_working_files(sandbox: Sandbox, pseudonymized: Cli):
    stored, working = _warehouse_bytes(pseudonymized), _working_files_bytes(pseudonymized)
    assert pseudonymized.query("select count(*) from cinnox.quarantine")[0][0] > 0  # quarantine rows are scanned too
    assert working  # dlt's state and schemas are there to scan
    for kind, values in _known_values(sandbox).items():
        for value in values:
            assert value.encode() not in stored, (kind, value)
            assert value.encode() not in working, (kind, value)
            digits = value.lstrip("+")
            if digits.isdigit():  # a number without its +, as a JSON number would be written
                assert digits.encode() not in stored, (kind, value)


def test_one_caller_has_one_pseudonym_at_every_vendor_and_on_every_run(sandbox: Sandbox, pseudonymized: Cli):
    expected = Pseudonyms(KEY, frozenset({"phone_number"})).value("phone_number", SHARED_NUMBER)
    cinnox = pseudonymized.query("select caller, from_display_name from cinnox.call_detail where id = 'shared-cinnox-a'")
    bandwidth = pseudonymized.query("""select "from" from bandwidth.calls where id = 'c-shared-a'""")
    assert cinnox[0][0] == bandwidth[0][0] == expected
    assert cinnox[0][1].startswith("name:ps_")
    # A second run (the next day, a nightly-style load into the same warehouse) gives the same.
    _backfill(pseudonymized, DAY.add(days=1))
    again = pseudonymized.query("""select "from" from bandwidth.calls where id = 'c-shared-b'""")
    assert again == [(expected,)]


def test_another_key_gives_other_pseudonyms_and_is_refused_without_the_flag(sandbox: Sandbox, pseudonymized: Cli, tmp_path: Path):
    other = _cli(sandbox, tmp_path, **_privacy(OTHER_KEY))
    _backfill(other, DAY)
    first = pseudonymized.query("""select "from" from bandwidth.calls where id = 'c-shared-a'""")[0][0]
    second = other.query("""select "from" from bandwidth.calls where id = 'c-shared-a'""")[0][0]
    assert first.startswith("tel:ps_") and second.startswith("tel:ps_") and first != second

    refused = pseudonymized("backfill", "--start", "2026-11-18", "--end", "2026-11-19", env=_privacy(OTHER_KEY))
    assert refused.returncode == 2
    assert "PRIVACY__KEY" in refused.stderr and "--rotate-privacy-key" in refused.stderr
    assert OTHER_KEY not in refused.output and KEY not in refused.output
    assert len(refused.stderr.strip().splitlines()) == 1
    stored = pseudonymized.query("select key_fingerprint from callhouse.privacy")
    assert stored == [(Pseudonyms(KEY, frozenset()).fingerprint(),)]  # unchanged by the refused load


def test_reporting_calls_counts_distinct_callers_as_the_truth_does(sandbox: Sandbox, pseudonymized: Cli, clear: Cli):
    assert clear("views").returncode == 0
    for vendor in ("cinnox", "bandwidth"):
        sql = "select count(*), count(distinct from_number) from reporting.calls where vendor = ? and started_at >= ? and started_at < ?"
        params = [vendor, DAY, DAY.add(days=1)]
        calls, callers = pseudonymized.query(sql, params)[0]
        clear_numbers = clear.query(
            "select from_number from reporting.calls where vendor = ? and started_at >= ? and started_at < ?", params
        )
        assert calls == len(clear_numbers)
        assert callers == len({normalized_number(n) for (n,) in clear_numbers if n is not None})
