"""Vendor: what the rest of the pipeline knows about one vendor (the registry's entry)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pipelines.fetch.records import TableSpec
from pipelines.settings import setting_name


@dataclass(frozen=True)
class ChildTable:
    """A child table replaced with its parent: rows of a re-delivered parent that the new
    delivery no longer has are removed after each load (load/repairs.py)."""

    table: str
    key: str  # the child's column holding the parent's key
    parent: str
    parent_key: str


@dataclass(frozen=True)
class Vendor:
    name: str  # also its dlt source name, dataset (warehouse schema) and settings section
    source: Callable[..., Any]  # the @dlt.source function: (run: RunContext, **settings) -> DltSource
    tables: tuple[TableSpec, ...]  # every table it loads, quarantine included
    child_tables: tuple[ChildTable, ...] = ()
    # Its fetch_window keeps no dlt state, so windows can be fetched while the previous
    # checkpoint loads (extract/lookahead.py).
    fetches_ahead: bool = False

    @property
    def pipeline_name(self) -> str:
        return f"callhouse_{self.name}"

    @property
    def specs(self) -> dict[str, TableSpec]:
        return {spec.name: spec for spec in self.tables}

    def setting(self, field: str) -> str:
        """A setting of this vendor as users write it: SOURCES__CINNOX__APP_TOKEN."""
        return setting_name("sources", self.name, field)
