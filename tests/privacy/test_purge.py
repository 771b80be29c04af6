"""`callhouse purge` deletes for real: after it the purged calls' numbers, names and addresses are
in none of the warehouse file's bytes, the kept calls are exactly as before, and the purged range
shows as purged (not a gap, not loaded) and is not backfilled again unless forced."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pendulum
import pytest

from pipelines.sandbox import Sandbox
from pipelines.sources.registry import VENDORS
from tests.conftest import TEST_NOW, Cli
from tests.privacy.privacy_sandbox import privacy_sandbox
from tests.privacy.test_pseudonymize import _warehouse_bytes, _working_files_bytes

FIRST, CUT, END = (pendulum.datetime(2026, 11, d, tz="UTC") for d in (17, 18, 19))
# Each table's rows after the cut, ordered, to compare before and after the purge.
KEPT_ROWS = {
    "cinnox.call_detail": "select * exclude (_dlt_load_id) from cinnox.call_detail where call_date >= ? order by id",
    "cinnox.call_detail__recording_event_list__files": (
        "select f.* exclude (_dlt_load_id) from cinnox.call_detail__recording_event_list__files f "
        "join cinnox.call_detail c on c.id = f.call_detail_id where c.call_date >= ? order by all"
    ),
    "bandwidth.calls": "select * exclude (_dlt_load_id) from bandwidth.calls where start_time >= ? order by id",
    "bandwidth.calls__sip_headers": (
        "select h.* exclude (_dlt_load_id) from bandwidth.calls__sip_headers h "
        "join bandwidth.calls c on c.id = h.call_id where c.start_time >= ? order by all"
    ),
    "genesys.siptraces": "select * exclude (_dlt_load_id) from genesys.siptraces where date >= ? order by id, date",
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sb = privacy_sandbox(seed=11)
    yield sb
    sb.stop()


def _only_before_the_cut(sandbox: Sandbox) -> dict[str, set[str]]:
    """Personal values of calls before the cut that no kept record carries (those must stay)."""
    cinnox = sandbox.truth.records("cinnox", FIRST, CUT)
    bandwidth = sandbox.truth.records("bandwidth", FIRST, CUT)
    genesys = sandbox.truth.records("genesys", FIRST, CUT)
    purged = {
        "phone numbers": {r["caller"] for r in cinnox if isinstance(r.get("caller"), str) and r["caller"].startswith("+")}
        | {r["from"] for r in bandwidth if r["from"].startswith("+")}
        | {r["fromUser"] for r in genesys if r["fromUser"].startswith("+")},
        "names": {r["fromDisplayName"] for r in cinnox if r.get("callerFirstName")},
        "ip addresses": {r["fromIP"] for r in cinnox},
    }
    kept = b"".join(orjson.dumps(sandbox.truth.records(vendor.name, CUT, END, include_bad=True)) for vendor in VENDORS).decode()
    return {kind: set(sorted(v for v in values if v not in kept)[:20]) for kind, values in purged.items()}


def test_purge_removes_the_purged_calls_from_the_file_and_keeps_the_rest_exact(sandbox: Sandbox, tmp_path):
    unpaced = {k: v for vendor in VENDORS for k, v in vendor.sandbox_settings().items()}
    cli = Cli(sandbox, tmp_path, unpaced)
    loaded = cli("backfill", "--start", FIRST.to_date_string(), "--end", END.to_date_string())
    assert loaded.returncode == 0, loaded.output
    assert cli("views").returncode == 0
    gone = _only_before_the_cut(sandbox)
    assert all(gone.values()), gone
    before = _warehouse_bytes(cli)
    for kind, values in gone.items():
        assert all(v.encode() in before for v in values), kind  # the control: the scan sees them
    kept = {table: cli.query(sql, [CUT]) for table, sql in KEPT_ROWS.items()}
    size_before = cli.warehouse.stat().st_size

    purged = cli("purge", "--before", CUT.to_date_string())
    assert purged.returncode == 0, purged.output
    assert "cinnox: purged" in purged.stdout

    after, working = _warehouse_bytes(cli), _working_files_bytes(cli)
    for kind, values in gone.items():
        for value in values:
            assert value.encode() not in after, (kind, value)
            assert value.encode() not in working, (kind, value)
    assert {table: cli.query(sql, [CUT]) for table, sql in KEPT_ROWS.items()} == kept
    assert cli.query("select count(*) from cinnox.call_detail where call_date < ?", [CUT]) == [(0,)]
    assert cli.query("select count(*) from cinnox.quarantine where window_start < ?", [CUT]) == [(0,)]
    orphans = "select count(*) from bandwidth.calls__sip_headers where call_id not in (select id from bandwidth.calls)"
    assert cli.query(orphans) == [(0,)]
    print(f"warehouse file: {size_before:,} bytes before the purge, {cli.warehouse.stat().st_size:,} after")

    # Purged is neither loaded nor a gap: the views' loaded ranges start at the cut, status says so.
    ranges = cli.query("select source, min(loaded_from) from callhouse.loaded_ranges group by source order by source")
    assert [(source, start) for source, start in ranges] == [(s, CUT) for s in ("bandwidth", "cinnox", "genesys")]
    status = cli("status")
    assert status.returncode == 0 and "gaps" not in status.stdout
    assert status.stdout.count("purged:    calls before 2026-11-18T00:00:00.000Z") == 3
    assert cli("views").returncode == 0
    days = cli.query("select distinct day from reporting.daily_calls where vendor = 'cinnox' order by day")
    assert [str(d) for (d,) in days] == ["2026-11-18"]

    refused = cli("backfill", "--start", FIRST.to_date_string(), "--end", CUT.to_date_string(), "--source", "cinnox")
    assert refused.returncode == 2 and "--force" in refused.stderr and "purged" in refused.stderr
    forced = cli("backfill", "--start", FIRST.to_date_string(), "--end", CUT.to_date_string(), "--source", "cinnox", "--force")
    assert forced.returncode == 0, forced.output
    assert cli.query("select count(*) from cinnox.call_detail where call_date < ?", [CUT])[0][0] > 0


def test_the_nightly_run_purges_what_is_older_than_each_sources_retention(sandbox: Sandbox, tmp_path):
    unpaced = {k: v for vendor in VENDORS for k, v in vendor.sandbox_settings().items()}
    starts = {f"SOURCES__{v.name.upper()}__START_DATE": "2026-11-19" for v in VENDORS}
    cli = Cli(sandbox, tmp_path, {**unpaced, **starts})
    loaded = cli("backfill", "--start", CUT.to_date_string(), "--end", END.to_date_string())
    assert loaded.returncode == 0, loaded.output

    nightly = cli("run", env={"RETENTION__DAYS": "1", "SOURCES__GENESYS__RETENTION_DAYS": "2"})
    assert nightly.returncode == 0, nightly.output
    one_day, two_days = TEST_NOW.subtract(days=1), TEST_NOW.subtract(days=2)
    assert "cinnox: purged" in nightly.output and "genesys: purged" in nightly.output
    assert cli.query("select count(*) from cinnox.call_detail where call_date < ?", [one_day]) == [(0,)]
    assert cli.query("select count(*) from bandwidth.calls where start_time < ?", [one_day]) == [(0,)]
    assert cli.query("select count(*) from cinnox.call_detail where call_date >= ?", [one_day])[0][0] > 0
    genesys = cli.query("select min(date) >= ?, count(*) filter (where date < ?) > 0 from genesys.siptraces", [two_days, one_day])
    assert genesys == [(True, True)]  # its own retention: two days
    cuts = cli.query("select source, max(purged_before) from callhouse.purged group by source order by source")
    assert cuts == [("bandwidth", one_day), ("cinnox", one_day), ("genesys", two_days)]
