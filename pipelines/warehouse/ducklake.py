"""A DuckLake as the warehouse: the catalog in PostgreSQL (or a SQLite file on one machine),
the data as Parquet files in a folder or an object store, read and written through DuckDB.

Unlike the DuckDB file, many processes on many machines read and write it at once: readers see
the last committed snapshot, and two sources load side by side. Two loads of the same source are
serialized by a lock held in the catalog (a PostgreSQL advisory lock, named after the lake and
the source), so it works across machines; file catalogs use a lock file beside the catalog.

Settings are dlt's own (`DESTINATION__DUCKLAKE__CREDENTIALS__CATALOG`, `__STORAGE`); the catalog
URL carries a password, which is kept out of every message.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import duckdb

from pipelines.errors import CallhouseError, UsageError, missing_database, one_line
from pipelines.warehouse.advisory_lock import advisory_lock
from pipelines.warehouse.attached import AttachedWarehouse
from pipelines.warehouse.database_url import checked_postgres_url, keep_secret, looks_like_postgres, shown
from pipelines.warehouse.duckdb_engine import DuckDBEngine
from pipelines.warehouse.extensions import duckdb_config
from pipelines.warehouse.grants import grant_catalog
from pipelines.warehouse.object_storage import is_remote, storage_configuration, use_storage
from pipelines.warehouse.targets import check_lake_catalog, check_new_storage, make_catalog_folder
from pipelines.warehouse.writer_lock import writer_lock

if TYPE_CHECKING:
    from dlt.common.destination import TDestinationReferenceArg

CATALOG_SETTING = "DESTINATION__DUCKLAKE__CREDENTIALS__CATALOG"
STORAGE_SETTING = "DESTINATION__DUCKLAKE__CREDENTIALS__STORAGE"
_POSTGRES_REFUSED = re.compile(r'Unable to connect to Postgres at "[^"]*": (?:connection to server at [^:]+ failed: )?(.*)')
LAKE_NAME = "ducklake"
INIT_TRIES = 5  # DuckDB's name for the attached lake, and its metadata schema in PostgreSQL


@dataclass(frozen=True)
class DuckLake(DuckDBEngine, AttachedWarehouse):
    catalog: str  # postgres://user:pass@host:port/db or sqlite:////abs/path (targets.py refuses duckdb: files)
    storage: str  # a local folder or an object-store URL
    work_dir: Path  # this machine's folder for dlt's working files (and file-catalog locks)

    @classmethod
    def from_settings(cls, work_dir: Path) -> DuckLake:
        import dlt

        catalog: object = dlt.secrets.get("destination.ducklake.credentials.catalog")
        storage: object = dlt.config.get("destination.ducklake.credentials.storage")
        missing = [name for name, value in ((CATALOG_SETTING, catalog), (STORAGE_SETTING, storage)) if not value]
        if missing:
            raise UsageError(f"WAREHOUSE__DESTINATION=ducklake: set {', '.join(missing)} (.dlt/secrets.toml or environment)")
        if not isinstance(catalog, str) or not isinstance(storage, str):
            raise UsageError(f"{CATALOG_SETTING} and {STORAGE_SETTING}: write each as one URL or path")
        return cls(normalize_catalog(catalog), normalize_storage(storage), work_dir)

    def __post_init__(self) -> None:
        keep_secret(self.catalog)

    # --- what users are told ------------------------------------------------------------------

    def describe(self) -> str:
        """The lake without its password: `DuckLake postgres://host:5432/db (data /srv/lake)`."""
        return f"DuckLake {shown(self.catalog)} (data {self.storage})"

    @property
    def folder(self) -> Path:
        return self.work_dir

    @property
    def pipelines_dir(self) -> Path:
        return self.work_dir / ".dlt_pipelines" / "ducklake"

    @property
    def is_postgres(self) -> bool:
        return urlsplit(self.catalog).scheme.startswith("postgres")

    # --- connections --------------------------------------------------------------------------

    def attach_statement(self, read_only: bool = False) -> str:
        """dlt's own ATTACH for this lake (the same catalog, metadata schema and data path)."""
        from dlt.common.configuration.specs.connection_string_credentials import ConnectionStringCredentials
        from dlt.destinations.impl.ducklake.sql_client import DuckLakeSqlClient

        statement = DuckLakeSqlClient.build_attach_statement(
            ducklake_name=LAKE_NAME, catalog=ConnectionStringCredentials(self.catalog), storage_url=self.storage
        )
        return statement.replace(" (DATA_PATH", " (READ_ONLY, DATA_PATH", 1) if read_only else statement

    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A DuckDB session with the lake attached and in use: `schema.table` names the lake's."""
        con = duckdb.connect(config=duckdb_config())
        try:
            self._attach(con, read_only)
        except duckdb.Error as exc:
            con.close()
            reason = one_line(str(exc).removeprefix("IO Error: "), 1000)
            unreachable = _POSTGRES_REFUSED.search(reason)
            if unreachable:  # DuckDB repeats the catalog URL twice before libpq's reason
                reason = f"the catalog refused the connection: {unreachable.group(1)}"
            missing = missing_database(reason, CATALOG_SETTING)
            if missing is not None:
                raise missing from None
            if read_only and "read-only" in reason.lower() or "does not exist" in reason.lower():
                raise UsageError(
                    f"no warehouse yet in {self.describe()}: run `callhouse run` or `callhouse backfill` first"
                ) from None
            raise CallhouseError(f"{self.describe()} cannot be attached: {reason}") from None
        return con

    def _attach(self, con: duckdb.DuckDBPyConnection, read_only: bool) -> None:
        use_storage(con, self.storage)  # an object store's credentials, before the lake reads it
        # Before the ATTACH that would create catalog tables: refuse a catalog that is not a lake,
        # and a new lake's data path that cannot be written (its first ATTACH fixes it for good).
        if check_lake_catalog(con, self.catalog, LAKE_NAME, CATALOG_SETTING):
            if read_only:
                raise UsageError(f"no warehouse yet in {self.describe()}: run `callhouse run` or `callhouse backfill` first")
            check_new_storage(con, self.storage, STORAGE_SETTING)
            make_catalog_folder(self.catalog, CATALOG_SETTING)
        for attempt in range(INIT_TRIES):
            try:
                con.execute(self.attach_statement(read_only))
                break
            except duckdb.Error as exc:
                # Two commands attaching a new lake at once both create its catalog tables; the
                # slower one fails on the other's and finds them in place when it tries again.
                if "Failed to initialize DuckLake" not in str(exc) or attempt == INIT_TRIES - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
        con.execute(f"use {LAKE_NAME}")

    def destination(self, connection: duckdb.DuckDBPyConnection) -> TDestinationReferenceArg:
        """dlt's ducklake destination for this lake, loading the extensions from the wheels, each
        load published in one snapshot (publish.py)."""
        from dlt.destinations.impl.ducklake.configuration import DuckLakeCredentials

        # The data path as object_storage resolved it: dlt writes with the credentials callhouse reads with.
        storage = storage_configuration(self.storage) if is_remote(self.storage) else self.storage
        credentials = DuckLakeCredentials(ducklake_name=LAKE_NAME, catalog=self.catalog, storage=storage)
        credentials.global_config = duckdb_config()
        from pipelines.warehouse.publish import ducklake_published

        return ducklake_published(credentials=credentials)

    # --- who may write ------------------------------------------------------------------------

    def grant_catalog_readers(self, roles: Sequence[str]) -> bool:
        """A catalog in PostgreSQL: its metadata schema readable by `roles`, now and for the
        tables later loads create; a file catalog has no roles (its file's permissions decide)."""
        if not self.is_postgres:
            return False
        grant_catalog(self.catalog, LAKE_NAME, roles, self.describe())
        return True

    def source_lock(self, source: str, command: str, wait_s: float = 0.0) -> AbstractContextManager[None]:
        """One load of `source` at a time, on every machine that uses this lake."""
        if self.is_postgres:
            return advisory_lock(self.catalog, f"{LAKE_NAME}:{source}", source, command, wait_s, self.describe())
        catalog_file = Path(urlsplit(self.catalog).path)
        return writer_lock(catalog_file.with_name(f"{catalog_file.name}.{source}"), command, wait_s)


def normalize_catalog(value: str) -> str:
    """A URL DuckLake and dlt both read; a bare path is a SQLite or DuckDB catalog file."""
    value = value.strip()
    if looks_like_postgres(value):  # a misspelt URL is refused, never taken as a path that prints its password
        return checked_postgres_url(value, CATALOG_SETTING)
    scheme = urlsplit(value).scheme
    if scheme in ("sqlite", "duckdb"):
        path = value.split(":///", 1)[1] if ":///" in value else value.split("://", 1)[1]
        return f"{scheme}:///{Path(path).expanduser().absolute()}"
    if scheme:
        raise UsageError(f"{CATALOG_SETTING}: {scheme}:// is not a catalog callhouse knows (postgres://, sqlite:///, duckdb:///)")
    file = Path(value).expanduser().absolute()
    kind = "sqlite" if file.suffix in (".sqlite", ".db", ".sqlite3") else "duckdb"
    return f"{kind}:///{file}"


def normalize_storage(value: str) -> str:
    value = value.strip()
    scheme = urlsplit(value).scheme
    if scheme == "file":
        return str(Path(urlsplit(value).path).absolute())
    if scheme:
        return value  # an object store (s3://, gs://, az://): dlt's storage credentials apply
    return str(Path(value).expanduser().absolute())
