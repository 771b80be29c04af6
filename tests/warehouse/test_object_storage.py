"""A DuckLake whose data is in an S3 bucket (moto's S3 server on loopback) and whose catalog is the
test PostgreSQL server: every command works on it, and its keys are written nowhere."""

from __future__ import annotations

import itertools
import subprocess
import time
from pathlib import Path

import pytest

from pipelines.models.project import load_models
from tests.conftest import TEST_NOW, Cli, lake_env
from tests.sources.test_cinnox import counts, truth_tables, warehouse_tables
from tests.support.postgres import find_bin_dir
from tests.support.s3 import S3Server

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

    def make(sandbox, workdir: Path | None = None) -> Cli:
        return Cli(sandbox, workdir or tmp_path, dict(env))

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


def test_maintain_keeps_a_lake_of_ten_loads_as_small_as_one_and_every_view_unchanged(make_sandbox, s3_lake, s3_server):
    # Ten loads of the same day (each a merge of the same rows, as nightly runs with a lookback are),
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
    for _ in range(9):
        _ok(lake(*load))
    grown = stored()
    kept = _ok(lake("maintain"))  # the default retention, 7 days: every snapshot is younger
    assert "maintain: 0 snapshots expired" in kept, kept

    lean = _ok(lake("maintain", env={"DUCKLAKE__SNAPSHOT_RETENTION": "0s"}))
    after = stored()
    print(f"one load {one_load}, ten loads {grown}, after maintain {after}\n{lean}")
    assert grown[0] > 3 * one_load[0]
    assert abs(after[0] - one_load[0]) <= 0.1 * one_load[0] and abs(after[1] - one_load[1]) <= 0.1 * one_load[1], lean
    assert _reporting_rows(lake) == views
    assert "snapshots expired" in lean and "0 snapshots expired" not in lean, lean
