"""Vendor: what the rest of the pipeline knows about one vendor (the registry's entry).

Everything shared code needs about a vendor is declared here by the vendor's own package, so
adding one is its folders plus one registry line (docs/adding-a-vendor.md): the CLI help, the
report's colours and names, `staging.outcome_map`, the sandbox part the tests run against and
the conformance suite (tests/sources/test_conformance.py) all read these fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from dlt.common.configuration.specs.base_configuration import is_secret_hint

from pipelines.fetch.records import TableSpec
from pipelines.privacy.pseudonyms import PersonalKind
from pipelines.settings import setting_name
from pipelines.sources.windowed import WindowedSourceSettings

if TYPE_CHECKING:
    from dlt.extract import DltSource

OutcomeName = Literal["answered", "missed", "failed", "active"]


@dataclass(frozen=True)
class ChildTable:
    """A child table replaced with its parent: rows of a re-delivered parent that the new
    delivery no longer has are removed when each load is published (warehouse/repairs.py)."""

    table: str
    key: str  # the child's column holding the parent's key
    parent: str
    parent_key: str


@dataclass(frozen=True)
class Outcome:
    """One row of `staging.outcome_map`: a raw status (reporting.calls `status_raw`) and the call
    outcome it means. For SIP codes a row may name a class (`4xx`), used when no row names the
    exact code. `when_answered` / `when_ended` narrow the row to answered / ended calls (None:
    either)."""

    status: str
    outcome: OutcomeName
    meaning: str  # for reviewers: what the vendor means by the status
    when_answered: bool | None = None
    when_ended: bool | None = None


@dataclass(frozen=True)
class Pacing:
    """A source's client-side pacing: the setting (`requests_per_second`) and the vendor's own
    limit it defaults to. The demo raises it with the sandbox's limit; tests and `make schemas`
    turn it off (`Vendor.sandbox_settings`)."""

    setting: str
    limit: float


@dataclass(frozen=True)
class Vendor:
    name: str  # also its dlt source name, dataset (warehouse schema) and settings section
    source: Callable[..., DltSource]  # the @dlt.source function: (run: RunContext) -> DltSource, settings by dlt
    tables: tuple[TableSpec, ...]  # every table it loads, quarantine included
    # Its settings class (a WindowedSourceSettings configspec, the source's `spec`): every
    # SOURCES__<VENDOR>__* setting, the secrets among them.
    settings: type[WindowedSourceSettings] | None = None
    display_name: str = ""  # as people write it (the report, help texts): "CINNOX"
    colour: str = "#424242"  # its line in the report's charts (CSS colour)
    # Raw status -> outcome: the vendor's rows of staging.outcome_map (models/generated.py). A
    # status with no row becomes outcome `unknown` and `callhouse check` fails on it.
    outcomes: tuple[Outcome, ...] = ()
    # The sandbox package that serves this vendor's API (pipelines/sandbox/<name>/, exporting
    # PART); the conformance tests run the vendor against it.
    sandbox_part: str = ""
    # Columns holding personal data, per table: vendor field (or added column) -> what it holds,
    # a phone number, a name, an IP address or SIP text that may carry any of them. With
    # PRIVACY__PSEUDONYMIZE they become pseudonyms before anything is written (privacy/); a field
    # flattened into a child table (`nested`) is declared for the raw records quarantine keeps.
    # Each must exist in the table's spec (tests/sources/test_conformance.py); docs/privacy.md.
    personal_data: Mapping[str, Mapping[str, PersonalKind]] = field(default_factory=dict)
    pacing: Pacing | None = None  # None: the source does not pace itself
    # Retention (`callhouse purge`): each parent table's column saying when its call started;
    # rows before the cut go, then the rows of child tables (child_tables, and `purged_with`)
    # whose parent is gone.
    call_started: Mapping[str, str] = field(default_factory=dict)
    purged_with: tuple[ChildTable, ...] = ()
    # Settings that switch on its optional tables for runs against the sandbox (the demo,
    # `make schemas`, the tests), so those load every table: field -> value as text.
    sandbox_options: Mapping[str, str] = field(default_factory=dict)
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

    @property
    def accepted_statuses(self) -> tuple[str, ...]:
        """The raw statuses (or SIP code classes) the outcome map knows, in declared order."""
        return tuple(dict.fromkeys(o.status for o in self.outcomes))

    def sandbox_settings(self, pacing: float | None = 0) -> dict[str, str]:
        """Its settings for a run against the sandbox: optional tables on, and the pacing at
        `pacing` (0: off, as for a sandbox without rate limits)."""
        paced = {self.setting(self.pacing.setting): f"{pacing:g}"} if self.pacing and pacing is not None else {}
        return {self.setting(k): v for k, v in self.sandbox_options.items()} | paced

    @property
    def secrets(self) -> tuple[str, ...]:
        """Its settings read as secrets (from `.dlt/secrets.toml` or the environment)."""
        fields = self.settings.get_resolvable_fields() if self.settings else {}
        return tuple(name for name, hint in fields.items() if is_secret_hint(hint))

    def setting(self, field: str) -> str:
        """A setting of this vendor as users write it: SOURCES__CINNOX__APP_TOKEN."""
        return setting_name("sources", self.name, field)
