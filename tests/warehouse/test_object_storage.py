"""A DuckLake whose data is in an S3 bucket (moto's S3 server on loopback) and whose catalog is the
test PostgreSQL server: every command works on it, and its keys are written nowhere."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.models.project import load_models
from tests.conftest import TEST_NOW, Cli, lake_env
from tests.reliability.crash import run_and_kill
from tests.sources.test_cinnox import counts, truth_tables, warehouse_tables
from tests.support.postgres import find_bin_dir
from tests.support.s3 import S3Server
from tests.warehouse.test_targets import pg_tables

DAY = TEST_NOW.start_of("day").subtract(days=2)
BACKFILL = ("backfill", "--start", DAY.to_date_string(), "--end", DAY.add(days=1).to_date_string())
SANDBOX = dict(cinnox_calls_per_day=400, bandwidth_calls_per_day=300, genesys_dialogs_per_day=80)
FAST_ENV = {
    "SOURCES__BANDWIDTH__REQUESTS_PER_SECOND": "100000",
    "SOURCES__GENESYS__REQUESTS_PER_MINUTE": "6000000",
    "REPORTING__TIMEZONE": "UTC",
}
_BUCKETS = itertools.count(1)
T0 = time.monotonic()


@pytest.fixture(scope="module")
def s3_server():
    with S3Server() as server:
        yield server


@pytest.fixture
def s3_lake(s3_server, postgres_db, tmp_path, monkeypatch):
    """`s3_lake(sandbox, workdir=None)`: a Cli on a DuckLake with its catalog in a fresh database and
    its data in a fresh bucket. The storage settings are set in this process too, where the test
    reads the lake (Cli.connect) as the commands do."""
    bucket = s3_server.create_bucket(f"lake-{next(_BUCKETS)}-{int(time.time() * 1000) % 100000}")
    storage_env = s3_server.env(f"{bucket}/callhouse")
    for key, value in storage_env.items():
        monkeypatch.setenv(key, value)
    env = {**FAST_ENV, **lake_env(postgres_db, tmp_path / "unused"), **storage_env}

    def make(sandbox, workdir: Path | None = None, **extra: str) -> Cli:
        return Cli(sandbox, workdir or tmp_path, {**env, **extra})

    make.bucket = bucket.removeprefix("s3://")
    make.catalog = postgres_db
    return make


def _ok(result) -> str:
    print(time.monotonic() - T0, result.output[-300:])
    assert result.returncode == 0, result.output
    return result.output


def test_every_command_works_on_a_lake_in_a_bucket_and_its_secret_key_is_written_nowhere(
    make_sandbox, s3_lake, s3_server, tmp_path
):
    sandbox = make_sandbox(**SANDBOX)
    lake = s3_lake(sandbox)
    outputs = [_ok(lake(*BACKFILL))]

    truth = truth_tables(sandbox, DAY, DAY.add(days=1))
    assert warehouse_tables(lake) == truth
    assert counts(lake) == tuple(len(t) for t in truth)
    truth_calls = {
        "bandwidth": len(sandbox.truth.bandwidth_calls(DAY, DAY.add(days=1))),
        "genesys": len({m["callid"] for m in sandbox.truth.genesys_messages(DAY, DAY.add(days=1))}),
    }
    objects = s3_server.objects(s3_lake.bucket, "callhouse/")
    assert objects and all(key.endswith(".parquet") for key in objects), sorted(objects)[:5]
    assert not list(tmp_path.rglob("*.parquet")), "the data belongs in the bucket, not in the working folder"

    outputs.append(_ok(lake("views")))
    assert (
        dict(lake.query("select vendor, count(*) from reporting.calls group by vendor"))["bandwidth"] == truth_calls["bandwidth"]
    )
    outputs.append(_ok(lake("check")))
    status = _ok(lake("status"))
    outputs += [status, _ok(lake("report", "--out", str(tmp_path / "report.html")))]
    assert "call_detail" in status and f"{len(truth[0])}" in status
    assert (tmp_path / "report.html").stat().st_size > 10_000

    # Its own failure shows no key either: a wrong secret is refused by the server (moto checks none,
    # so the endpoint is what goes wrong here).
    broken = lake("status", env={"DESTINATION__DUCKLAKE__CREDENTIALS__STORAGE__CREDENTIALS__ENDPOINT_URL": "http://127.0.0.1:9"})
    outputs.append(broken.output)

    secret = s3_server.secret_key
    assert not [text for text in outputs if secret in text]
    leaking = [path for path in tmp_path.rglob("*") if path.is_file() and secret.encode() in path.read_bytes()]
    assert not leaking, leaking
    dump = subprocess.run(
        [str(find_bin_dir() / "pg_dump"), "--data-only", s3_lake.catalog], capture_output=True, text=True, timeout=120
    )
    assert dump.returncode == 0, dump.stderr
    assert "ducklake_snapshot" in dump.stdout and s3_lake.bucket in dump.stdout  # the data path is there, the key is not
    assert secret not in dump.stdout


def _reporting_rows(lake: Cli) -> dict[str, list[tuple]]:
    return {
        model.qualified: lake.query(f"select * from {model.qualified} order by all")
        for model in load_models()
        if model.schema == "reporting"
    }


def test_maintain_keeps_a_lake_of_six_loads_as_small_as_one_and_every_view_unchanged(make_sandbox, s3_lake, s3_server):
    # Six loads of the same day (each a merge of the same rows, as nightly runs with a lookback are),
    # the views built once: maintenance must take the lake back to the size of one load's.
    sandbox = make_sandbox(cinnox_calls_per_day=100)
    lake = s3_lake(sandbox)
    load = ("backfill", "--source", "cinnox", "--start", DAY.to_date_string(), "--end", DAY.add(days=1).to_date_string())

    def stored() -> tuple[int, int]:
        objects = s3_server.objects(s3_lake.bucket, "callhouse/")
        return len(objects), sum(objects.values())

    _ok(lake(*load))
    _ok(lake("views"))
    first = _ok(lake("maintain", env={"DUCKLAKE__SNAPSHOT_RETENTION": "0s"}))
    assert "maintain: staging leftovers:" in first and "snapshots expired" in first and "files removed" in first, first
    one_load, views = stored(), _reporting_rows(lake)
    for _ in range(5):
        _ok(lake(*load))
    grown = stored()
    kept = _ok(lake("maintain"))  # the default retention, 7 days: every snapshot is younger
    assert "maintain: 0 snapshots expired" in kept, kept

    lean = _ok(lake("maintain", env={"DUCKLAKE__SNAPSHOT_RETENTION": "0s"}))
    after = stored()
    print(f"one load {one_load}, six loads {grown}, after maintain {after}\n{lean}")
    assert grown[0] > 3 * one_load[0]
    assert abs(after[0] - one_load[0]) <= 0.1 * one_load[0] and abs(after[1] - one_load[1]) <= 0.1 * one_load[1], lean
    assert _reporting_rows(lake) == views
    assert "snapshots expired" in lean and "0 snapshots expired" not in lean, lean


READER = """
import json, sys, time
from pathlib import Path
from pipelines.warehouse.ducklake import DuckLake
lake = DuckLake(sys.argv[1], sys.argv[2], Path(sys.argv[3]))
stop, reads, errors = Path(sys.argv[4]), [], []
while not stop.exists():
    try:
        con = lake.connect(read_only=True)
        try:
            reads.append(con.execute("select count(*), count(distinct id) from cinnox.call_detail").fetchone())
        finally:
            con.close()
    except Exception as exc:
        errors.append(str(exc)[:300])
print(json.dumps({"reads": reads, "errors": errors}))
"""


def test_a_reader_in_another_process_sees_whole_loads_while_a_load_writes_to_the_bucket(make_sandbox, s3_lake, tmp_path):
    sandbox = make_sandbox(cinnox_calls_per_day=600)
    lake = s3_lake(sandbox)
    earlier = ("backfill", "--source", "cinnox", "--start", DAY.subtract(days=1).to_date_string(), "--end", DAY.to_date_string())
    _ok(lake(*earlier))
    before = lake.query("select count(*) from cinnox.call_detail")[0][0]

    stop = tmp_path / "stop-reading"
    shared = lake.lake
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, shared.catalog, shared.storage, str(tmp_path / "reader"), str(stop)],
        env=lake.full_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        load = lake.start(
            "backfill", "--source", "cinnox", "--start", DAY.to_date_string(), "--end", DAY.add(days=1).to_date_string()
        )
        assert load.wait(timeout=600) == 0, load.stderr.read()
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    seen = json.loads(out.strip().splitlines()[-1])  # after any progress bar DuckDB drew
    after = lake.query("select count(*) from cinnox.call_detail")[0][0]
    assert seen["errors"] == [] and len(seen["reads"]) >= 3, seen
    totals = [total for total, _ in seen["reads"]]
    assert all(total == distinct for total, distinct in seen["reads"]), "a reader saw a call twice"
    assert totals == sorted(totals) and before <= totals[0] and totals[-1] <= after, totals
    assert after == before + len(sandbox.truth.cinnox_calls(DAY, DAY.add(days=1)))


def test_a_load_killed_while_writing_to_the_bucket_then_rerun_has_exactly_the_sandbox_rows(make_sandbox, s3_lake):
    sandbox = make_sandbox(cinnox_calls_per_day=1200, latency_ms=20)  # three pages: three loads of one day
    lake = s3_lake(sandbox, SOURCES__CINNOX__CHECKPOINT_ROWS="1")
    load = ["backfill", "--source", "cinnox", "--start", DAY.to_date_string(), "--end", DAY.add(days=1).to_date_string()]
    killed = run_and_kill(load, lake.full_env(), lake.workdir, lake.pipelines_dir / "callhouse_cinnox", "load-mid", 1, sandbox, 3)
    assert killed, "the load finished before its first package was half loaded"

    _ok(lake(*load))
    truth = truth_tables(sandbox, DAY, DAY.add(days=1))
    assert warehouse_tables(lake) == truth
    assert counts(lake) == tuple(len(t) for t in truth), "duplicate rows after the rerun"


def test_two_machines_share_one_catalog_and_one_bucket_without_losing_or_doubling_a_row(make_sandbox, s3_lake, tmp_path):
    sandbox = make_sandbox(**SANDBOX)
    first, second = (s3_lake(sandbox, tmp_path / name) for name in ("machine-a", "machine-b"))
    for machine in (first, second):
        machine.workdir.mkdir()
    day = ("--start", DAY.to_date_string(), "--end", DAY.add(days=1).to_date_string())

    # Different sources at once, then the same source from both (the second waits for the first's lock).
    loads = [first.start("backfill", "--source", "cinnox", *day), second.start("backfill", "--source", "bandwidth", *day)]
    assert [load.wait(timeout=600) for load in loads] == [0, 0], [load.stderr.read() for load in loads]
    loads = [machine.start("backfill", "--source", "genesys", "--wait", "600", *day) for machine in (first, second)]
    assert [load.wait(timeout=900) for load in loads] == [0, 0], [load.stderr.read() for load in loads]
    _ok(second("views"))

    truth = truth_tables(sandbox, DAY, DAY.add(days=1))
    assert warehouse_tables(first) == warehouse_tables(second) == truth
    assert counts(second) == tuple(len(t) for t in truth)
    bandwidth = {c["id"] for c in sandbox.truth.bandwidth_calls(DAY, DAY.add(days=1))}
    assert first.query("select count(*), count(distinct id) from bandwidth.calls")[0] == (len(bandwidth), len(bandwidth))
    messages = len(sandbox.truth.genesys_messages(DAY, DAY.add(days=1)))
    assert first.query("select count(*) from genesys.siptraces")[0][0] == messages

    checks = [machine("check") for machine in (first, second)]
    assert [c.returncode for c in checks] == [0, 0] and checks[0].stdout == checks[1].stdout, checks[0].output
    statuses = [_ok(machine("status")) for machine in (first, second)]
    assert statuses[0] == statuses[1]


def test_the_storage_secret_follows_dlts_settings_and_its_key_is_redacted(monkeypatch):
    from pipelines.errors import redact_secrets
    from pipelines.warehouse.object_storage import secret_statements

    prefix = "DESTINATION__DUCKLAKE__CREDENTIALS__STORAGE__CREDENTIALS__"
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIATEST",
        "AWS_SECRET_ACCESS_KEY": "not-to-be-shown-7",
        "ENDPOINT_URL": "http://127.0.0.1:9000",
        "REGION_NAME": "eu-west-1",
        "S3_URL_STYLE": "vhost",
    }.items():
        monkeypatch.setenv(prefix + name, value)
    (statement,) = secret_statements("s3://lake/callhouse")
    words = " ".join(statement.split())
    for part in (
        "TYPE S3",
        "KEY_ID 'AKIATEST'",
        "REGION 'eu-west-1'",
        "ENDPOINT '127.0.0.1:9000'",
        "URL_STYLE 'vhost'",
        "USE_SSL false",
    ):
        assert part in words, words
    assert "SCOPE 's3://lake/callhouse'" in words and "PERSISTENT" not in words
    assert redact_secrets(words).count("***") == 1 and "not-to-be-shown-7" not in redact_secrets(words)
    assert secret_statements("/srv/lake") == []


def test_a_first_bucket_that_cannot_be_written_does_not_stick(make_sandbox, s3_lake):
    # A typo'd bucket: refused before the lake's catalog is created (which would fix the data path
    # for good), so the corrected setting loads.
    lake = s3_lake(make_sandbox(cinnox_calls_per_day=100))
    load = ("backfill", "--source", "cinnox", "--start", DAY.to_date_string(), "--end", DAY.add(days=1).to_date_string())
    typo = "s3://no-such-bucket/callhouse"
    refused = lake(*load, env={"DESTINATION__DUCKLAKE__CREDENTIALS__STORAGE": typo})
    assert refused.returncode == 2, refused.output
    assert refused.stderr.splitlines() == [
        f"callhouse: DESTINATION__DUCKLAKE__CREDENTIALS__STORAGE: cannot write {typo}: HTTP Error: Unable to connect to URL "
        f"{typo}/_callhouse_write_check.parquet: Not Found (HTTP code 404) NoSuchBucket: The specified bucket does not exist"
    ]
    assert pg_tables(s3_lake.catalog) == []  # no catalog: the corrected bucket is the lake's first
    _ok(lake(*load))
    assert warehouse_tables(lake)[0] == truth_tables(lake.sandbox, DAY, DAY.add(days=1))[0]
