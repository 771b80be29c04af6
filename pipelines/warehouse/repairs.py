"""What dlt's merge leaves to repair in a load: duplicate keys and orphaned child rows.

Both run inside the transaction that publishes a load (publish.py), after dlt's merge and before
the commit, so no reader ever sees them; `repair_latest_load` only covers a warehouse whose last
load was committed by an earlier version of callhouse, which repaired after the commit.

Duplicate keys. Every table is declared to dlt as deduplicated in staging (fetch/records.TableSpec.hints),
which drops the ROW_NUMBER pass from dlt's merge: on 1M calls it was about 40% of the load time.
The walk hands dlt each key once per load (a window's repeats are dropped; windows split calls
by start time), with two exceptions this module repairs: a staging copy that DuckDB committed just
before a crash is copied again when the package is finished, and a vendor could move a call to
another window between two requests of one run. Either leaves two rows with one key and one
`_dlt_load_id`; `remove_duplicate_keys` keeps one. It costs one aggregate over the load's rows
when there is nothing to repair.

Orphans. Merge replaces child rows by the parent key only where the new delivery has rows; a
call re-delivered with no recordings left would otherwise keep its old ones.
"""

from __future__ import annotations

from typing import Any

import dlt
from dlt.destinations.sql_client import SqlClientBase

from pipelines.sources.vendor import Vendor

# The destination's SQL client, whatever its native connection (DuckDB or PostgreSQL).
SqlClient = SqlClientBase[Any]


def repair_latest_load(pipeline: dlt.Pipeline, vendor: Vendor, row_id: str) -> None:
    """Both repairs for the newest completed load, in case an earlier version committed it and
    was killed before its repair (this version repairs before the commit)."""
    dataset = pipeline.dataset_name
    with pipeline.sql_client() as client:
        try:
            rows = client.execute_sql(f'select max(load_id) from "{dataset}"._dlt_loads where status = 0')
        except Exception:
            return  # nothing loaded yet: no _dlt_loads table
        if rows and rows[0][0]:
            repair_loads(client, dataset, vendor, [rows[0][0]], row_id)


def repair_loads(client: SqlClient, dataset: str, vendor: Vendor, load_ids: list[str], row_id: str) -> None:
    """Both repairs for rows of these loads, on the caller's session (and in its transaction).
    `row_id`: the warehouse's physical row id (Warehouse.row_id), what tells two copies of one key apart."""
    tables = client.execute_sql("select table_name from information_schema.tables where table_schema = %s", dataset)
    existing = {r[0] for r in tables or ()}
    remove_duplicate_keys(client, dataset, existing, vendor, load_ids, row_id)
    remove_orphans(client, dataset, existing, vendor, load_ids)


def remove_duplicate_keys(
    client: SqlClient, dataset: str, existing: set[str], vendor: Vendor, load_ids: list[str], row_id: str
) -> None:
    placeholders = ", ".join(["%s"] * len(load_ids))
    for spec in vendor.tables:
        if spec.name not in existing or not spec.primary_key:
            continue
        table = f'"{dataset}"."{spec.name}"'
        key = ", ".join(f'"{column}"' for column in spec.primary_key)
        in_loads = f"_dlt_load_id in ({placeholders})"
        extra = client.execute_sql(f"select count(*) - count(distinct ({key})) from {table} where {in_loads}", *load_ids)
        if extra and extra[0][0]:
            client.execute_sql(
                f"delete from {table} where {row_id} in (select {row_id} from (select {row_id}, row_number() over "
                f"(partition by {key} order by {row_id}) as copy from {table} where {in_loads}) as copies where copy > 1)",
                *load_ids,
            )


def remove_orphans(client: SqlClient, dataset: str, existing: set[str], vendor: Vendor, load_ids: list[str]) -> None:
    placeholders = ", ".join(["%s"] * len(load_ids))
    for child in vendor.child_tables:
        if child.table not in existing or child.parent not in existing:
            continue
        client.execute_sql(
            f'delete from "{dataset}"."{child.table}" c where exists (select 1 from "{dataset}"."{child.parent}" p '
            f"where p.{child.parent_key} = c.{child.key} and p._dlt_load_id in ({placeholders}) "
            f"and c._dlt_load_id <> p._dlt_load_id)",
            *load_ids,
        )
