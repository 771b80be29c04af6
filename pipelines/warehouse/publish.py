"""A load package becomes visible whole: one transaction publishes all of it.

dlt copies a package's files into the `<source>_staging` tables of merge tables, then merges each
table in a transaction of its own (on a DuckLake: each statement), writes `_dlt_loads` later, and
callhouse repaired and wrote the loaded ranges after that. A reader between two of those commits
saw a day's calls deleted and not yet inserted, children before their parents, rows not yet in
a committed load, or no loaded range for the source (issue 24).

Here dlt's job clients keep the copy jobs and run none of the merges: `complete_load`, the step
dlt runs once every job of the package is done, merges every merge table whose staging rows wait
(dlt's own merge SQL), repairs duplicate keys and orphaned children (repairs.py), clears those
staging rows, writes the `_dlt_loads` row and the source's `callhouse.loaded_ranges` from the
ledger this package commits, and commits that once.

Crash safety: dlt truncates the staging tables once per package, when it starts loading it
(`begin_schema_update`), and re-runs only the jobs that were not finished. A crash before the
commit leaves the staging rows in place for the rerun, which publishes them; a crash after it
(before dlt marks the package loaded) finds the staging tables cleared and the load id in
`_dlt_loads`, and only rewrites the same loaded ranges.

Append tables (`quarantine`, dlt's `_dlt_pipeline_state`) are still copied before the commit:
their rows carry the package's `_dlt_load_id`, and every reader of them (the views, the
committed ledger, the quarantine count) reads committed loads only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from dlt.common.schema.utils import get_nested_tables, has_table_seen_data
from dlt.destinations import duckdb as duckdb_factory
from dlt.destinations import ducklake as ducklake_factory
from dlt.destinations import postgres as postgres_factory
from dlt.destinations.impl.duckdb.duck import DuckDbClient
from dlt.destinations.impl.ducklake.ducklake import DuckLakeClient, DuckLakeMergeFollowupJob
from dlt.destinations.impl.postgres.postgres import PostgresClient
from dlt.destinations.job_client_impl import SqlJobClientBase
from dlt.destinations.sql_jobs import SqlMergeFollowupJob

from pipelines.fetch.windows import now
from pipelines.sources.registry import VENDORS
from pipelines.warehouse.catalog import committed_state_sql, ledger_in
from pipelines.warehouse.conflicts import CONFLICT_TRIES, retry_on_conflict
from pipelines.warehouse.layout import OPS_SCHEMA
from pipelines.warehouse.loaded_ranges import DDL, TABLE, loaded_coverage
from pipelines.warehouse.purged_ranges import cut_in, cut_sql
from pipelines.warehouse.repairs import SqlClient, repair_loads

log = logging.getLogger(__name__)


class PublishWhole(SqlJobClientBase):
    """What each kind's dlt job client adds: merges run in `complete_load`, all in one commit."""

    merge_job: ClassVar[type[SqlMergeFollowupJob]] = SqlMergeFollowupJob
    row_id: ClassVar[str] = "rowid"
    # How often a publish is tried: a DuckLake refuses the later of two commits deleting from one
    # table (two sources' loaded ranges), and the publish is then tried again (conflicts.py).
    tries: ClassVar[int] = 1

    def _create_merge_followup_jobs(self, table_chain: Sequence[Any]) -> list[Any]:
        return []  # the merge waits in staging for complete_load

    def complete_load(self, load_id: str) -> None:
        if any(v.name == self.sql_client.dataset_name for v in VENDORS):
            _create_ranges_table(self.sql_client)

        def publish() -> None:
            with self.sql_client.begin_transaction():
                self._publish(load_id)

        retry_on_conflict(publish, self.tries)  # rolled back whole: the staging rows still wait

    def _publish(self, load_id: str) -> None:
        client = self.sql_client
        staged = _tables(client, client.staging_dataset_name)
        merged = [chain for chain in self._merge_chains() if self._staged_rows(chain, staged)]
        for chain in merged:
            for statement in _statements(self.merge_job.generate_sql(chain, client)):
                client.execute_sql(statement)
        source = next((v for v in VENDORS if v.name == client.dataset_name), None)
        if source is not None and merged:
            repair_loads(client, client.dataset_name, source, [load_id], self.row_id)
        with client.with_staging_dataset():
            for chain in merged:
                for table in chain:
                    client.execute_sql(f"delete from {client.make_qualified_table_name(table['name'])}")
        if not client.execute_sql(
            f"select load_id from {client.make_qualified_table_name(self.schema.loads_table_name)} where load_id = %s",
            load_id,
        ):
            super().complete_load(load_id)  # dlt's `_dlt_loads` row (not again after a crash past the commit)
        if source is not None:
            _write_loaded_ranges(client, source.name, source.pipeline_name)

    def _merge_chains(self) -> list[list[Any]]:
        """Each merge root table with its nested tables, prepared as dlt's merge job takes them."""
        chains = []
        for table in self.schema.data_tables():
            root = str(table["name"])
            if table.get("parent") or table.get("write_disposition") != "merge" or not has_table_seen_data(table):
                continue
            names = [str(t["name"]) for t in get_nested_tables(self.schema.tables, root) if has_table_seen_data(t)]
            chains.append([self.prepare_load_table(name) for name in names])
        return chains

    def _staged_rows(self, chain: list[Any], present: set[str]) -> bool:
        """Whether any table of the chain (of the staging tables `present`) has rows waiting."""
        client = self.sql_client
        with client.with_staging_dataset():
            return any(
                client.execute_sql(f"select 1 from {client.make_qualified_table_name(t['name'])} limit 1")
                for t in chain
                if t["name"] in present
            )


def _tables(client: SqlClient, schema: str) -> set[str]:
    rows = client.execute_sql("select table_name from information_schema.tables where table_schema = %s", schema)
    return {row[0] for row in rows or ()}


def _statements(sql: Sequence[str]) -> list[str]:
    """dlt's merge SQL split into statements, as its SQL job splits them."""
    return [part.strip() for stmt in sql for part in " ".join(stmt.splitlines()).split(";") if part.strip()]


def _create_ranges_table(client: SqlClient) -> None:
    """`callhouse.loaded_ranges`, before and outside the publish transaction: two sources' first
    loads creating it in theirs would make the later one fail (PostgreSQL) or conflict (DuckLake)."""
    if "loaded_ranges" in _tables(client, OPS_SCHEMA):
        return
    try:
        for statement in _statements([DDL]):
            client.execute_sql(statement)
    except Exception:
        if "loaded_ranges" not in _tables(client, OPS_SCHEMA):
            raise  # not another process that created it first


def _write_loaded_ranges(client: SqlClient, source: str, pipeline_name: str) -> None:
    """The source's `callhouse.loaded_ranges` from its newest committed ledger, this package's
    `_dlt_loads` row included: the same rows loaded_ranges.record_loaded_ranges writes."""
    dataset = client.dataset_name
    ledger: dict[str, Any] = {}
    if "_dlt_pipeline_state" in _tables(client, dataset):  # looked up: a failed query aborts the transaction
        row = client.execute_sql(committed_state_sql(dataset, "%s"), pipeline_name)
        ledger = ledger_in(row[0][0], source) if row else {}
    cut = None
    if "purged" in _tables(client, OPS_SCHEMA):
        found = client.execute_sql(cut_sql("%s"), source)
        cut = cut_in(found[0] if found else None)
    coverage = loaded_coverage(ledger, cut, now())
    client.execute_sql(f"delete from {TABLE} where source = %s", source)
    for start, end in coverage:
        client.execute_sql(
            f"insert into {TABLE} values (%s, cast(%s as timestamptz), cast(%s as timestamptz))", source, start, end
        )


class DuckDbPublished(PublishWhole, DuckDbClient):
    def complete_load(self, load_id: str) -> None:
        super().complete_load(load_id)
        checkpoint(self.sql_client)


def checkpoint(client: SqlClient) -> None:
    """Write the load into the database file now (DuckDB's CHECKPOINT).

    DuckDB checkpoints by itself when a commit leaves more than 16 MB of WAL, but not while another
    transaction is open on the database, and a load command always has one (dlt's cursors share
    the command's connection). A backfill's loads then piled up as committed rows DuckDB keeps in
    memory and spills to its temporary folder, and as WAL: 445 MB of WAL and 311 MB spilled after
    1M calls, and at 3M calls a publish ran out of WAREHOUSE__LOAD_MEMORY_LIMIT (bench/README.md).
    A checkpoint costs what closing the file cost before (it wrote the whole WAL then)."""
    try:
        client.execute_sql("checkpoint")
    except Exception as exc:  # a reader's open transaction: DuckDB checkpoints at a later commit
        log.debug("no checkpoint after the load: %s", exc)


class DuckLakePublished(PublishWhole, DuckLakeClient):
    merge_job = DuckLakeMergeFollowupJob
    tries = CONFLICT_TRIES


class PostgresPublished(PublishWhole, PostgresClient):
    row_id = "ctid"


class duckdb_published(duckdb_factory):  # noqa: N801 (dlt's factories are named in lower case)
    """dlt's duckdb destination, its loads published whole."""

    @property
    def client_class(self) -> type[DuckDbClient]:
        return DuckDbPublished

    @property
    def destination_type(self) -> str:
        return "dlt.destinations.duckdb"  # what dlt's state and config sections know it by


class ducklake_published(ducklake_factory):  # noqa: N801
    """dlt's ducklake destination, its loads published whole."""

    @property
    def client_class(self) -> type:
        return DuckLakePublished

    @property
    def destination_type(self) -> str:
        return "dlt.destinations.ducklake"


class postgres_published(postgres_factory):  # noqa: N801
    """dlt's postgres destination, its loads published whole."""

    @property
    def client_class(self) -> type[PostgresClient]:
        return PostgresPublished

    @property
    def destination_type(self) -> str:
        return "dlt.destinations.postgres"
