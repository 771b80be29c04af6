"""callhouse from Python: the commands as functions, and each vendor as a plain dlt source.

    from pipelines import run, backfill, check, dlt_source

`run`, `backfill` and `check` do what the commands of the same name do (the same settings, the
same warehouse, the same progress lines on stderr and the same webhook message) and return a
CommandResult instead of an exit code: rows per source, the range loaded, each failure in one
line. A setting to fix raises pipelines.errors.UsageError (the command's exit 2).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from pipelines.commands.alerted import performed
from pipelines.commands.checks import run_data_tests
from pipelines.commands.loading import LoadOptions, load_range, nightly
from pipelines.commands.outcome import CommandResult, SourceResult
from pipelines.extract.context import RunContext
from pipelines.extract.ledger import LoadRequest
from pipelines.extract.progress import Progress
from pipelines.extract.run_stats import RunStats
from pipelines.extract.walk import Checkpoint
from pipelines.fetch.windows import now, parse_instant
from pipelines.load.runner import build_source, new_run_id
from pipelines.privacy.pseudonyms import batch_pseudonymizer, configured_pseudonyms
from pipelines.sources.registry import vendor
from pipelines.warehouse.choice import resolve_warehouse

if TYPE_CHECKING:
    from dlt.extract import DltSource

__all__ = ["CommandResult", "SourceResult", "backfill", "check", "dlt_source", "run"]


def run(sources: Iterable[str] = (), *, check: bool = False, warehouse: str | None = None, wait_s: float = 0.0) -> CommandResult:
    """`callhouse run [--source S ...] [--check]`: the nightly load up to now, the views, the data tests."""
    options = LoadOptions(warehouse, tuple(sources), wait_s, check=check)
    return performed("run --check" if check else "run", warehouse, lambda result: nightly(options, result))


def backfill(
    start: str | datetime, end: str | datetime, sources: Iterable[str] = (), *, warehouse: str | None = None, wait_s: float = 0.0
) -> CommandResult:
    """`callhouse backfill --start START --end END [--source S ...]`: [start, end), a date or an
    ISO-8601 datetime (UTC without an offset); never moves the nightly cursor."""
    first, last = _text(start), _text(end)
    options = LoadOptions(warehouse, tuple(sources), wait_s)
    command = f"backfill --start {first} --end {last}"
    return performed(command, warehouse, lambda result: load_range(options, first, last, result))


def check(*, warehouse: str | None = None) -> CommandResult:
    """`callhouse check`: the data tests; `failed_checks` holds one `FAIL ...` line per failure."""
    return performed("check", warehouse, lambda result: run_data_tests(resolve_warehouse(warehouse), result))


def dlt_source(name: str, start: str | datetime | None = None, end: str | datetime | None = None) -> DltSource:
    """The vendor's dlt source (`cinnox`, `bandwidth`, `genesys`) for a dlt pipeline of your own,
    with its settings from dlt's config (`SOURCES__<S>__...`, `.dlt/`), as callhouse reads them.

    With `start` (and `end`, default now): the range [start, end). Without: the nightly load, from
    the cursor kept in your pipeline's state (the first time from START_DATE) up to now. One
    `pipeline.run` loads all of it (callhouse's own loads commit in checkpoints instead).
    """
    chosen = vendor(name)
    last = parse_instant(_text(end), "end") if end is not None else now()
    if start is None:
        request = LoadRequest("nightly", end=last, run_id=new_run_id())
    else:
        request = LoadRequest("backfill", start=parse_instant(_text(start), "start"), end=last, run_id=new_run_id())
    # PRIVACY__PSEUDONYMIZE holds for your pipeline too: nothing lands in clear text (privacy/).
    pseudonyms = configured_pseudonyms()
    pseudonymize = batch_pseudonymizer(pseudonyms, chosen.personal_data) if pseudonyms else None
    whole_range = Checkpoint(rows=2**62, seconds=float(2**31))
    context = RunContext(request, RunStats(name), Progress(quiet=True), checkpoint=whole_range, pseudonymize=pseudonymize)
    return build_source(chosen, context)


def _text(value: str | datetime) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
