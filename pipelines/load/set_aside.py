"""Load packages set aside: a package the warehouse refused for a reason a retry cannot fix.

dlt keeps a failed package pending, and every later run of the source would retry it first and
fail again (a value the warehouse rejects, a constraint a table gained), whatever window it was
asked for. Such a package is copied to `<pipelines_dir>/set_aside/<source>/<load_id>/` with a
`set_aside.json` (why, when, the command that loads its range again), then aborted through dlt
(`abort_packages`), which rewinds the source's local state to where the package began: its
windows count as not loaded, so the next run extracts anew and is not blocked. `callhouse status`
lists what is set aside (text and --json); deleting the folder drops it (docs/operations.md).

What counts as "a retry cannot fix": a job dlt failed terminally, one whose retries ran out on a
database's data or integrity error (a value or a constraint, not a connection), or the same error
refused the package's publish (warehouse/publish.py).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pendulum

from pipelines.errors import CallhouseError, one_line
from pipelines.extract.ledger import LoadRequest
from pipelines.fetch.windows import iso
from pipelines.load.scrub import scrub_working_files

if TYPE_CHECKING:
    import dlt

FOLDER = "set_aside"
RECORD = "set_aside.json"
# DB-API error classes (psycopg2, ADBC) and DuckDB's of a value or a constraint: the same rows
# fail the same way on every retry.
_RAISED = re.compile(r"^[\w.]+(?:Error|Exception): (.+)$")
_DATA_ERRORS = frozenset({"DataError", "IntegrityError", "ConstraintException", "ConversionException"})


@dataclass(frozen=True)
class SetAside:
    source: str
    load_id: str
    path: str
    reason: str
    at: str
    retry: str  # the command that loads the package's range again

    def line(self) -> str:
        return (
            f"load package {self.load_id} set aside ({self.reason}); kept in {self.path}: "
            f"fix the cause, then `{self.retry}` loads its range again; `rm -r {self.path}` drops it"
        )


class PackageSetAside(CallhouseError):
    """The run's package was set aside: the source failed this run (exit 1), the next is not blocked."""


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__ or getattr(current, "exception", None)


def unfixable_by_retry(error: BaseException) -> BaseException | None:
    """The job failure in `error`'s chain that a retry cannot fix, else None."""
    from dlt.destinations.exceptions import DatabaseTerminalException
    from dlt.load.exceptions import LoadClientJobFailed, LoadClientJobRetry, LoadClientJobTerminalRetry

    for current in _chain(error):
        if isinstance(current, LoadClientJobFailed | LoadClientJobTerminalRetry):
            return current
        if isinstance(current, DatabaseTerminalException):
            # The publish (warehouse/publish.py, dlt's complete_load) merging the package's rows:
            # a value or a constraint refused there fails every retry the same way.
            names = {cls.__name__ for cls in type(current.dbapi_exception).__mro__}
            return current if names & _DATA_ERRORS else None
        if isinstance(current, LoadClientJobRetry):
            names = {cls.__name__ for cause in _chain(current.client_exception) for cls in type(cause).__mro__}
            return current if names & _DATA_ERRORS else None
    return None


def retry_command(source: str, request: LoadRequest) -> str:
    """The command that loads again what a package of `request` held (its windows are unloaded)."""
    if request.kind == "backfill":
        return f"callhouse backfill --source {source} --start {iso(request.backfill_start)} --end {iso(request.end)}"
    return f"callhouse run --source {source}"


def folder(pipelines_dir: Path, source: str) -> Path:
    return pipelines_dir / FOLDER / source


def set_aside(pipeline: dlt.Pipeline, source: str, error: BaseException, request: LoadRequest) -> PackageSetAside | None:
    """Sets the failed package aside when a retry cannot fix it (see the module's docstring): the
    error to report instead of `error`, else None."""
    failure = unfixable_by_retry(error)
    if failure is None:
        return None
    # The job's failure names its package; a refused publish is named by dlt's step failure.
    load_id = next((found for e in _chain(error) if (found := getattr(e, "load_id", None))), None)
    storage = pipeline._get_load_storage().normalized_packages
    if not load_id or load_id not in storage.list_packages():
        return None
    kept = folder(Path(pipeline.pipelines_dir), source) / load_id
    if not kept.exists():
        shutil.copytree(storage.storage.make_full_path(storage.get_package_path(load_id)), kept)
        scrub_working_files(kept)  # a library's message may quote a secret: masked as in dlt's folders
    cause = getattr(failure, "client_exception", None)
    message = str(cause) if cause is not None else getattr(failure, "failed_message", None) or str(failure)
    record = SetAside(
        source, load_id, str(kept), _reason(message), pendulum.now("UTC").to_iso8601_string(), retry_command(source, request)
    )
    (kept / RECORD).write_text(json.dumps(asdict(record), indent=2) + "\n")
    pipeline.abort_packages()  # recorded as aborted; local state rewound to where it began
    return PackageSetAside(
        f"{source}: load package {load_id} set aside, a retry cannot load it ({record.reason}); "
        "the next run is not blocked: `callhouse status` says how to retry or drop it"
    )


def _reason(message: str) -> str:
    """The database's own words, in one line: the last `SomeError: words` of a traceback, else the
    first line (never PostgreSQL's DETAIL, which quotes the row)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    raised = [found.group(1) for line in lines if (found := _RAISED.match(line))]
    first = raised[-1] if raised else lines[0] if lines else "unknown"
    return one_line(first.removeprefix("ERROR:").strip(), 200)


def listed(pipelines_dir: Path, source: str) -> list[SetAside]:
    """The packages of `source` set aside and not yet dropped, oldest first."""
    found = []
    for record in sorted(folder(pipelines_dir, source).glob(f"*/{RECORD}")):
        try:
            found.append(SetAside(**json.loads(record.read_text())))
        except (OSError, ValueError, TypeError):
            continue  # a half-written record: the folder is still there to inspect
    return found
