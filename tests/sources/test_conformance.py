"""Every registered vendor holds to the same contract, end to end: the real CLI against its sandbox
part over HTTP, a real DuckDB file (docs/adding-a-vendor.md).

One warehouse per vendor (module-scoped) is loaded with a day up to the sandbox's now, with some
records served malformed, and every check reads it: exact rows against the sandbox's truth, the
same backfill again leaves the same rows, the malformed records are quarantined, no credential
shows in output or warehouse, `callhouse views` and `check` pass with the vendor in
reporting.calls, and `callhouse report` names it. A new vendor runs here by its registry line.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import orjson
import pendulum
import pytest

from pipelines.fetch.records import QUARANTINE, column_name
from pipelines.fetch.redaction import strip_signatures_in_text
from pipelines.sandbox import Sandbox, SandboxConfig, VendorPart, parts
from pipelines.sandbox.config import rate_limit_fields
from pipelines.sources.registry import NAMES, VENDORS
from pipelines.sources.vendor import Vendor
from tests.conftest import TEST_NOW, Cli, Result

END = TEST_NOW
START = END.subtract(days=1)
BAD_RECORD_RATE = 0.02
# A third of each vendor's default volume: enough records for every shape, a quick load.
VOLUMES = {f.name: f.default // 3 for f in dataclasses.fields(SandboxConfig) if f.name.endswith("_per_day")}


@dataclass
class Loaded:
    vendor: Vendor
    sandbox: Sandbox
    cli: Cli
    first: Result  # the backfill
    again: Result  # the same backfill once more
    views: Result  # then `callhouse views`
    rows_after_first: dict[str, int]  # rows per table after the first backfill


def secrets_of(vendor: Vendor, sandbox: Sandbox) -> list[str]:
    """The sandbox credentials the source takes as secrets (`dlt.secrets.value` parameters)."""
    assert vendor.secrets, vendor.name
    return [sandbox.credentials[vendor.name][f] for f in vendor.secrets]


def row_counts(cli: Cli, vendor: Vendor) -> dict[str, int]:
    return {spec.name: cli.query(f'select count(*) from {vendor.name}."{spec.name}"')[0][0] for spec in vendor.tables}


@pytest.fixture(scope="module", params=VENDORS, ids=NAMES)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    vendor: Vendor = request.param
    config = SandboxConfig(
        seed=7, now=TEST_NOW, history_days=3, bad_record_rate=BAD_RECORD_RATE, **VOLUMES, **dict.fromkeys(rate_limit_fields())
    )
    sandbox = Sandbox(config).start()
    try:
        cli = Cli(sandbox, tmp_path_factory.mktemp(f"conformance_{vendor.name}"), vendor.sandbox_settings())
        backfill = ("backfill", "--source", vendor.name, "--start", START.isoformat(), "--end", END.isoformat())
        first = cli(*backfill)
        assert first.returncode == 0, first.output
        rows = row_counts(cli, vendor)
        again = cli(*backfill)
        assert again.returncode == 0, again.output
        yield Loaded(vendor, sandbox, cli, first, again, views=cli("views"), rows_after_first=rows)
    finally:
        sandbox.stop()


# --- the declaration ------------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS, ids=NAMES)
def test_the_declaration_is_complete_and_consistent(vendor: Vendor):
    assert vendor.display_name and re.fullmatch(r"#[0-9a-f]{6}", vendor.colour), vendor.name
    assert vendor.tables[-1] is QUARANTINE, "every vendor loads a quarantine table, last"
    assert {o.outcome for o in vendor.outcomes} <= {"answered", "missed", "failed", "active"}
    assert vendor.accepted_statuses and len(set(vendor.outcomes)) == len(vendor.outcomes)
    for table, fields in vendor.personal_data.items():
        spec = vendor.specs[table]  # a table it loads
        declared = set(spec.fields) | set(spec.added) | set(spec.nested)
        assert set(fields) <= declared, (table, set(fields) - declared)
        assert set(fields.values()) <= {"phone_number", "name", "ip_address", "sip_text"}, table
    part = importlib.import_module(vendor.sandbox_part).PART
    assert isinstance(part, VendorPart) and part.name == vendor.name
    settings = vendor.settings.get_resolvable_fields()
    assert {"base_url", "start_date", "lookback", "window", "max_retries"} <= settings.keys()
    if vendor.pacing:
        assert vendor.pacing.setting in settings
    assert set(vendor.sandbox_options) <= settings.keys()


def test_the_registry_and_the_sandbox_serve_the_same_vendors_in_the_same_order():
    assert tuple(p.name for p in parts()) == NAMES
    assert len(set(v.colour for v in VENDORS)) == len(VENDORS)


# --- one loaded warehouse per vendor --------------------------------------------------------------


def test_exact_rows_from_its_sandbox_part(loaded: Loaded):
    """The first table's rows are what the API served in the range, malformed records aside (an
    undeclared extra field is no defect: it loads as a new column)."""
    vendor, sandbox = loaded.vendor, loaded.sandbox
    main = vendor.tables[0]
    text_fields = [f for f, kind in main.fields.items() if kind == "text"]
    served = sandbox.truth.records(vendor.name, START, END)
    served += [b["record"] for b in sandbox.truth.bad_records(vendor.name, START, END) if b["defect"] == "extra_field"]
    assert served, "the sandbox serves records in the range"
    expected = sorted(tuple(_text(r.get(f)) for f in text_fields) for r in served)
    columns = ", ".join(f'"{column_name(f)}"' for f in text_fields)
    assert sorted(loaded.cli.query(f'select {columns} from {vendor.name}."{main.name}"')) == expected


def test_the_same_backfill_again_leaves_the_same_rows(loaded: Loaded):
    assert row_counts(loaded.cli, loaded.vendor) == loaded.rows_after_first
    main = loaded.vendor.tables[0]
    keys = ", ".join(f'"{column_name(k)}"' for k in main.primary_key)
    duplicates = (
        f'select count(*) from (select {keys} from {loaded.vendor.name}."{main.name}" group by {keys} having count(*) > 1)'
    )
    assert loaded.cli.query(duplicates) == [(0,)]


def test_malformed_records_are_quarantined_and_counted(loaded: Loaded):
    vendor = loaded.vendor
    bad = loaded.sandbox.truth.bad_records(vendor.name, START, END)
    rejected = {_canonical(b["record"]) for b in bad if b["defect"] != "extra_field"}
    assert rejected, "the sandbox served malformed records"
    quarantined = {raw for (raw,) in loaded.cli.query(f"select raw_json from {vendor.name}.quarantine")}
    assert rejected <= quarantined
    assert f"{len(quarantined)} quarantined" in loaded.first.stderr


def test_no_credential_in_output_or_warehouse(loaded: Loaded, tmp_path: Path):
    vendor, sandbox = loaded.vendor, loaded.sandbox
    secrets = secrets_of(vendor, sandbox)
    # A refused credential is named by its setting, never by its value.
    wrong = {vendor.setting(f): s + "x" for f, s in zip(vendor.secrets, secrets)}
    refused = Cli(sandbox, tmp_path, {**vendor.sandbox_settings(), **wrong})(
        "backfill", "--source", vendor.name, "--start", START.isoformat(), "--end", END.isoformat()
    )
    assert refused.returncode == 1, refused.output
    assert any(name in refused.output for name in wrong), refused.output
    for secret in secrets + list(wrong.values()):
        for result in (loaded.first, loaded.again, loaded.views, refused):
            assert secret not in result.output
        for table, column in _text_columns(loaded.cli, vendor.name):
            found = loaded.cli.query(f'select count(*) from {vendor.name}."{table}" where strpos("{column}", ?) > 0', [secret])
            assert found == [(0,)], (table, column)


def test_views_and_checks_pick_it_up(loaded: Loaded):
    cli, name = loaded.cli, loaded.vendor.name
    assert loaded.views.returncode == 0, loaded.views.output
    check = cli("check")
    assert check.returncode == 0, check.output
    assert re.search(r" 0 failed, \d+ warnings", check.stdout.strip().splitlines()[-1]), check.output
    outcomes = dict(cli.query("select outcome, count(*) from reporting.calls where vendor = ? group by outcome", [name]))
    assert outcomes and "unknown" not in outcomes, outcomes
    statuses = {s for (s,) in cli.query("select distinct status_raw from reporting.calls where vendor = ?", [name])}
    # Every status is one the vendor declares, or a SIP code of a class it declares (`4xx`).
    accepted = set(loaded.vendor.accepted_statuses)
    assert {s for s in statuses if s not in accepted and f"{s[:1]}xx" not in accepted} == set()
    assert dict(cli.query("select vendor, count(*) from reporting.daily_calls group by vendor")).keys() == {name}


def test_the_report_shows_it(loaded: Loaded):
    cli, vendor = loaded.cli, loaded.vendor
    assert loaded.views.returncode == 0, loaded.views.output
    page = cli.workdir / "report.html"
    start, end = START.to_date_string(), pendulum.instance(END).add(days=1).to_date_string()
    result = cli("report", "--out", str(page), "--vendor", vendor.name, "--start", start, "--end", end)
    assert result.returncode == 0, result.output
    html = page.read_text()
    assert f'data-vendor="{vendor.name}"' in html
    assert json.dumps(vendor.display_name) in html  # the charts' traces are named by it
    assert vendor.colour in html


# --- helpers --------------------------------------------------------------------------------------


def _text(value: object) -> str | None:
    """A served value as its text column holds it (numbers sent for text fields become text)."""
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _canonical(record: dict) -> str:
    """A served record as the quarantine keeps it: sorted keys, signed URLs without signatures."""
    return strip_signatures_in_text(orjson.dumps(record, option=orjson.OPT_SORT_KEYS, default=str).decode())


def _text_columns(cli: Cli, schema: str) -> list[tuple[str, str]]:
    return cli.query(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = ? and data_type = 'VARCHAR' order by all",
        [schema],
    )
