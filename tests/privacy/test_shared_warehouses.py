"""The byte scans on the shared warehouses: a DuckLake (its Parquet files and a pg_dump of its
PostgreSQL catalog) and PostgreSQL (a pg_dump, and the database's own files on the server)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator

import pyarrow.parquet as pq
import pytest

from pipelines.sandbox import Sandbox
from pipelines.sources.registry import VENDORS
from tests.conftest import Cli
from tests.privacy.privacy_sandbox import privacy_sandbox
from tests.privacy.test_pseudonymize import DAY, _known_values, _privacy
from tests.privacy.test_purge import CUT, END, FIRST, _only_before_the_cut
from tests.support.postgres import PostgresServer, find_bin_dir

shared_warehouses = pytest.mark.parametrize("warehouse_kind", ["ducklake", "postgres"])


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    sb = privacy_sandbox(seed=11)
    yield sb
    sb.stop()


def _stored_bytes(cli: Cli, server: PostgresServer, url: str) -> dict[str, bytes]:
    """Everything the warehouse keeps: a pg_dump of its database, that database's files on the
    server (after a checkpoint) and, for a DuckLake, every file of its data path."""
    dump = subprocess.run([str(find_bin_dir() / "pg_dump"), "--dbname", url], capture_output=True, check=True).stdout
    server_files = b""
    if cli.postgres is not None:
        import psycopg2

        with psycopg2.connect(url) as native, native.cursor() as cursor:
            cursor.execute("select oid from pg_database where datname = current_database()")
            oid = cursor.fetchone()[0]
        native.close()
        admin = psycopg2.connect(server.url())
        admin.autocommit = True
        admin.cursor().execute("checkpoint")
        admin.close()
        server_files = b"".join(p.read_bytes() for p in sorted((server.data / "base" / str(oid)).rglob("*")) if p.is_file())
    lake_files: dict[str, bytes] = {}
    if cli.lake is not None:
        # Parquet pages are compressed: each file's values are read back as text, beside its bytes.
        for path in sorted((cli.workdir / "lake").rglob("*")):
            if path.is_file():
                lake_files[str(path)] = path.read_bytes()
                if path.suffix == ".parquet":
                    lake_files[str(path)] += repr(pq.read_table(path).to_pylist()).encode()
    working = b"".join(p.read_bytes() for p in sorted(cli.pipelines_dir.rglob("*")) if p.is_file())
    return {"pg_dump": dump, "server files": server_files, "dlt working files": working, **lake_files}


def _holding(stored: dict[str, bytes], value: str) -> list[str]:
    """Which of the stored parts hold the value."""
    return [part for part, content in stored.items() if value.encode() in content]


def _backfill(cli: Cli, start, end, **env: str) -> None:
    result = cli("backfill", "--start", start.to_date_string(), "--end", end.to_date_string(), env=env)
    assert result.returncode == 0, result.output


@shared_warehouses
def test_pseudonymized_load_leaves_no_known_value_in_a_shared_warehouse(
    sandbox: Sandbox, cli: Callable[..., Cli], postgres_server: PostgresServer, postgres_db: str, warehouse_kind: str
):
    unpaced = {k: v for vendor in VENDORS for k, v in vendor.sandbox_settings().items()}
    loader = cli(sandbox, **unpaced, **_privacy())
    _backfill(loader, DAY, DAY.add(days=1))
    stored = _stored_bytes(loader, postgres_server, postgres_db)
    everything = b"".join(stored.values())
    assert b"tel:ps_" in everything and b"ip:ps_" in everything and b"name:ps_" in everything
    for kind, values in _known_values(sandbox).items():
        for value in values:
            assert not _holding(stored, value), (kind, value)


@shared_warehouses
def test_purge_removes_the_purged_calls_from_a_shared_warehouse(
    sandbox: Sandbox, cli: Callable[..., Cli], postgres_server: PostgresServer, postgres_db: str, warehouse_kind: str
):
    unpaced = {k: v for vendor in VENDORS for k, v in vendor.sandbox_settings().items()}
    loader = cli(sandbox, **unpaced)
    _backfill(loader, FIRST, END)
    gone = _only_before_the_cut(sandbox)
    before = _stored_bytes(loader, postgres_server, postgres_db)
    for kind, values in gone.items():
        assert all(_holding(before, v) for v in values), kind  # the control: the scan sees them
    kept_sql = "select count(*), count(distinct caller) from cinnox.call_detail where call_date >= ?"
    kept = loader.query(kept_sql, [CUT])

    purged = loader("purge", "--before", CUT.to_date_string())
    assert purged.returncode == 0, purged.output

    after = _stored_bytes(loader, postgres_server, postgres_db)
    for kind, values in gone.items():
        for value in values:
            assert not _holding(after, value), (kind, value)
    assert loader.query(kept_sql, [CUT]) == kept
    assert loader.query("select count(*) from cinnox.call_detail where call_date < ?", [CUT]) == [(0,)]
    # The purged tables (replaced on a DuckLake, vacuumed on PostgreSQL) load again as before.
    _backfill(loader, CUT, END)
    assert loader.query(kept_sql, [CUT]) == kept
