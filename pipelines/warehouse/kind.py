"""What a warehouse kind is: the one interface every command, load and view build uses.

The kinds are DuckDBFile (duckdb_file.py), DuckLake (ducklake.py) and PostgresWarehouse
(postgres.py); choice.py picks one by the setting. As dlt's JobClientBase and SqlClientBase do for
its destinations, this states what a kind must offer, and each kind keeps what its engine does
differently inside its class: `models/`, `load/` and `commands/` call these methods and never ask
which kind they hold. Code two kinds share is written once: duckdb_engine.py (the views built in
DuckDB: the file and DuckLake), attached.py (a store reached through a DuckDB session: DuckLake and
PostgreSQL). tests/warehouse/test_contract.py holds every kind to this interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import duckdb

if TYPE_CHECKING:
    from dlt.common.destination import TDestinationReferenceArg

T = TypeVar("T")


class ViewSession(ABC):
    """A session in the engine the views live in, inside the one transaction of a view build."""

    @property
    @abstractmethod
    def engine(self) -> str:
        """Whose SQL the views are written in: "duckdb" or "postgres" (models/dialects.py)."""

    @abstractmethod
    def record_loaded_ranges(self, now: datetime) -> None:
        """Rewrites `callhouse.loaded_ranges` from every source's committed ledger."""

    @abstractmethod
    def knows_timezone(self, zone: str) -> bool:
        """Whether the engine knows the IANA time zone `zone`."""

    @abstractmethod
    def tables(self) -> set[tuple[str, str]]:
        """(schema, name) of every table and view, lower case."""

    @abstractmethod
    def create_schema(self, schema: str) -> None:
        """The schema, unless it exists."""

    @abstractmethod
    def clear_views(self, schemas: Sequence[str], views: Sequence[tuple[str, str]]) -> None:
        """Drops what must go before `views` (schema, name; in build order) are created: every view
        in `schemas` not among them, and any of them the engine cannot replace in place."""

    @abstractmethod
    def create_view(self, schema: str, name: str, select: str) -> None:
        """Creates (or replaces) view `schema.name` as `select`."""

    def check_readers(self, roles: Sequence[str]) -> None:
        """Every role of REPORTING__READERS exists, else UsageError naming it (engines with roles)."""
        return None  # an engine without roles has none to miss

    def grant_readers(self, roles: Sequence[str], schemas: Sequence[str], views: Sequence[str]) -> bool:
        """USAGE on `schemas` and SELECT on `views` for `roles`; False where the engine has no roles."""
        return False


class Warehouse(ABC):
    """Where the data lands, as the commands use it."""

    # --- what users are told ------------------------------------------------------------------

    @abstractmethod
    def describe(self) -> str:
        """The warehouse in one phrase for messages, never with a password."""

    @abstractmethod
    def how_to_open(self) -> list[str]:
        """Lines telling an analyst how to read the warehouse with their own tools."""

    # --- where things are ---------------------------------------------------------------------

    @property
    @abstractmethod
    def folder(self) -> Path:
        """This machine's folder of the warehouse (dlt's working files, the report)."""

    @property
    @abstractmethod
    def pipelines_dir(self) -> Path:
        """dlt's working folders for this warehouse (pending packages, local state)."""

    # --- sessions -----------------------------------------------------------------------------

    @abstractmethod
    def connect(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """A DuckDB session on the warehouse where `schema.table` names its tables; a read-only one refuses writes."""

    @abstractmethod
    def loading_connection(self, wait_s: float = 0.0) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        """The session a load command keeps its bookkeeping in (and, for a DuckDB file, loads through), tuned for loading."""

    @abstractmethod
    def destination(self, connection: duckdb.DuckDBPyConnection) -> TDestinationReferenceArg:
        """dlt's destination that loads this warehouse (`connection`: the command's loading_connection)."""

    @abstractmethod
    def in_view_transaction(self, work: Callable[[ViewSession], T]) -> T:
        """Runs `work` on a session of the views' engine in one transaction: all of it commits, or none."""

    def grant_catalog_readers(self, roles: Sequence[str]) -> bool:
        """Read access for `roles` to what the views read besides the view schemas (a DuckLake's
        catalog, including tables later loads create); False where there is nothing to grant."""
        return False

    def see_new_tables(self, con: duckdb.DuckDBPyConnection) -> None:
        """Makes `con` see schemas and tables other sessions (dlt's) created since it opened."""
        return None  # DuckDB and a DuckLake read their catalog afresh in each transaction

    @property
    @abstractmethod
    def row_id(self) -> str:
        """The engine's physical row id column, what tells two copies of one row apart."""

    # --- who may write ------------------------------------------------------------------------

    @abstractmethod
    def writer_lock(self, command: str, wait_s: float = 0.0) -> AbstractContextManager[None]:
        """Held for a writing command's whole run; a second holder waits `wait_s`, then gets WarehouseBusy."""

    @abstractmethod
    def source_lock(self, source: str, command: str, wait_s: float = 0.0) -> AbstractContextManager[None]:
        """Held while one source loads; a second load of it waits `wait_s`, then gets WarehouseBusy."""
