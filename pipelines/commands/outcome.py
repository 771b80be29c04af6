"""What a command did, as data: the CLI prints it, the webhook posts it, `pipelines.api` returns it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pipelines.errors import EXIT_FAILED, EXIT_OK


@dataclass
class SourceResult:
    """One source of a load: `ok`, `failed` (with the reason) or `skipped` (not configured)."""

    source: str
    outcome: str
    rows: dict[str, int] = field(default_factory=dict)  # rows loaded per table, quarantine apart
    windows: int = 0  # windows finished by this command
    quarantined: int = 0
    message: str = ""

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@dataclass
class CommandResult:
    """One `run`, `backfill` or `check`: its sources, the requested range, its failed data tests."""

    command: str  # as typed after `callhouse`: "run --check", "backfill --start A --end B", "check"
    warehouse: str  # Warehouse.describe(): never a password
    started_at: datetime
    start: datetime | None = None  # the range loaded: a backfill's [start, end); a nightly run's end
    end: datetime | None = None
    sources: list[SourceResult] = field(default_factory=list)
    views_built: bool = False
    checks_run: bool = False
    failed_checks: list[str] = field(default_factory=list)  # one `FAIL ...` line per failed data test
    error: str = ""  # the one line of an error that stopped the whole command
    exit_code_on_error: int = EXIT_FAILED
    duration_s: float = 0.0

    @property
    def rows(self) -> dict[str, int]:
        """Rows loaded per source (quarantine apart)."""
        return {s.source: s.total_rows for s in self.sources if s.outcome != "skipped"}

    @property
    def failures(self) -> list[str]:
        """Each failed source or data test (or the error that stopped the command) in one line."""
        lines = [f"{s.source}: {s.message}" for s in self.sources if s.outcome == "failed"]
        lines.extend(self.failed_checks)
        if self.error:
            lines.append(self.error)
        return lines

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        if self.error:
            return self.exit_code_on_error
        return EXIT_OK if self.ok else EXIT_FAILED
