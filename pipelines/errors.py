"""The errors the command line turns into one line and an exit code (contract: 1 failed, 2 usage)."""

from __future__ import annotations

import errno
import re
from typing import Any, TextIO
from urllib.parse import unquote

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CallhouseError(Exception):
    exit_code = EXIT_FAILED


class UsageError(CallhouseError):
    """Bad arguments or configuration: the user must change a command or a setting."""

    exit_code = EXIT_USAGE


class ConfigMissing(UsageError):
    def __init__(self, source: str, settings: list[str]):
        self.source = source
        self.settings = settings
        names = ", ".join(settings)
        super().__init__(f"{source}: not configured: set {names} (.dlt/secrets.toml or environment)")


class VendorError(CallhouseError):
    """The vendor answered with an error we cannot retry past, or retries ran out."""

    def __init__(self, vendor: str, message: str, status: int | None = None):
        self.vendor = vendor
        self.status = status  # the HTTP status when the vendor answered with an error
        super().__init__(f"{vendor}: {message}")


class VendorAuthError(VendorError):
    """The vendor rejected the credentials (exit 1: the setting exists but is wrong)."""


class WarehouseBusy(CallhouseError):
    pass


class LockWaitTimeout(CallhouseError):
    """Another session held a lock longer than WAREHOUSE__LOCK_TIMEOUT_S (PostgreSQL's
    lock_timeout): the statement was cancelled and its transaction rolled back (exit 1)."""


LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's code for "canceling statement due to lock timeout"
_LOCK_TIMEOUT_WORDS = "canceling statement due to lock timeout"


def lock_wait_timeout(error: BaseException) -> LockWaitTimeout | None:
    """A load's statement that gave up waiting on a lock, as one line (dlt keeps only the text of
    a job's error, so the words count as well as PostgreSQL's code)."""
    if getattr(error, "pgcode", None) == LOCK_NOT_AVAILABLE or _LOCK_TIMEOUT_WORDS in str(error):
        return LockWaitTimeout(
            "gave up waiting for a lock another session holds in the warehouse (an open transaction, a LOCK TABLE): "
            "end that session's transaction and rerun (WAREHOUSE__LOCK_TIMEOUT_S sets the wait; pg_stat_activity shows who)"
        )
    return None


class LoadOutOfMemory(CallhouseError):
    """DuckDB needed more than its memory limit while loading (exit 1; the package is kept and
    finishes on the next run)."""


# DuckDB's words for it: its OutOfMemoryException ("Out of Memory Error: could not allocate block
# of size ...") and a commit that cannot pin a block under the limit ("failed to pin block").
_OUT_OF_MEMORY_WORDS = ("Out of Memory Error", "failed to pin")


def load_out_of_memory(error: BaseException) -> LoadOutOfMemory | None:
    """DuckDB out of memory while loading, as one line (dlt retries such a job five times and then
    reports the package "partially loaded", which says nothing of the cause)."""
    if any(words in str(error) for words in _OUT_OF_MEMORY_WORDS):
        return LoadOutOfMemory(
            "DuckDB ran out of memory while loading: raise WAREHOUSE__LOAD_MEMORY_LIMIT (DuckDB syntax: 256MB, 1GB; "
            "128MB by default) and rerun, which finishes the load"
        )
    return None


class MachineFailure(CallhouseError):
    """The machine refused a write: disk full, read-only folder, no permission. Nothing to retry;
    the user frees space or points --warehouse elsewhere. `path` is None when the library did not
    say which file (the caller then names the warehouse folder)."""

    def __init__(self, reason: str, path: str | None):
        self.reason = reason
        self.path = path
        super().__init__(f"{reason}: {path}" if path else reason)

    def at(self, folder: object) -> MachineFailure:
        return self if self.path else MachineFailure(self.reason, f"writing in {folder}")


# What each refusal means for the user, by errno and by the words DuckDB uses for it.
_MACHINE_REASONS = {
    errno.ENOSPC: "disk full (no space left on device)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}
_DUCKDB_REASONS = {
    "no space left on device": errno.ENOSPC,
    "disk quota exceeded": errno.EDQUOT,
    "read-only file system": errno.EROFS,
    "permission denied": errno.EACCES,
}
_QUOTED_PATH = re.compile(r'"(/[^"]+)"')


class DatabasePermission(CallhouseError):
    """The warehouse's database refused its user a right (a SELECT-only role): not the machine."""


# PostgreSQL's words for a missing privilege: "permission denied for schema cinnox", "... to create role".
_DATABASE_PERMISSION = re.compile(r"permission denied (?:for|to) [^\n\"]+", re.IGNORECASE)
INSUFFICIENT_PRIVILEGE = "42501"


def database_permission(error: BaseException) -> DatabasePermission | None:
    """A privilege the database refused, as one line naming it and where the user is set."""
    text = str(error)
    found = _DATABASE_PERMISSION.search(text)
    if found is None and getattr(error, "pgcode", None) != INSUFFICIENT_PRIVILEGE:
        return None
    words = found.group(0).strip() if found else one_line(text, 200)
    return DatabasePermission(
        f"the warehouse's database user lacks a privilege ({words}): grant it, or set a user that has it in "
        "DESTINATION__POSTGRES__CREDENTIALS (PostgreSQL) or DESTINATION__DUCKLAKE__CREDENTIALS__CATALOG (a DuckLake's catalog)"
    )


class DamagedDataFile(CallhouseError):
    """A Parquet file a lake's catalog lists is cut short, corrupt or gone (exit 1)."""


# DuckDB's words for a Parquet file it cannot read: cut short or corrupt, or missing.
_DAMAGED_PARQUET = re.compile(
    r"""(?:No magic bytes found at end of file|Cannot open file|not a parquet file|Invalid Input Error:.*?)"""
    r"""\s*['"]?([^'"\s]+\.parquet)['"]?""",
    re.IGNORECASE,
)


def damaged_data_file(error: BaseException) -> DamagedDataFile | None:
    """A lake's data file DuckDB could not read, named with the recovery (docs/operations.md)."""
    if not type(error).__module__.startswith(("duckdb", "_duckdb")):
        return None
    found = _DAMAGED_PARQUET.search(str(error))
    if found is None:
        return None
    return DamagedDataFile(
        f"a lake data file is damaged or missing: {found.group(1)}: restore it from a backup, "
        "or reload its table (docs/operations.md, a damaged lake file)"
    )


# urllib's and dlt's words for a database URL they cannot parse (a port out of range or not a
# number, a stray `[` read as an IPv6 host).
_UNPARSABLE_URL = re.compile(r"Port out of range|Port could not be cast|Invalid IPv6 URL|Invalid connection string", re.I)


def unparsable_url(error: BaseException) -> UsageError | None:
    """A database URL of the settings that does not parse: a setting to fix (exit 2), not a crash.
    The library does not say which setting: the line names the settings that hold such URLs."""
    if not (isinstance(error, ValueError) or type(error).__name__ == "InvalidConnectionString"):
        return None
    found = _UNPARSABLE_URL.search(str(error))
    if found is None:
        return None
    return UsageError(
        f"a database URL in the settings cannot be read ({one_line(error, 120)}): check DESTINATION__POSTGRES__CREDENTIALS "
        "or DESTINATION__DUCKLAKE__CREDENTIALS__CATALOG (postgresql://user:password@host:5432/database)"
    )


_MISSING_DATABASE = re.compile(r'database "([^"]+)" does not exist')


def missing_database(reason: str, setting: str) -> UsageError | None:
    """The server answered that the URL's database does not exist: the setting names a wrong one
    (exit 2), whichever command asked."""
    found = _MISSING_DATABASE.search(reason)
    if found is None:
        return None
    name = found.group(1)
    return UsageError(
        f'{setting}: the database "{name}" does not exist on that server: create it (createdb {name}) or fix the setting'
    )


def machine_failure(error: BaseException) -> MachineFailure | None:
    """A refused write as one MachineFailure, from an OSError or DuckDB's IO error text."""
    if isinstance(error, OSError) and error.errno in _MACHINE_REASONS:
        return MachineFailure(_MACHINE_REASONS[error.errno], error.filename)
    text = str(error)
    lowered = text.lower()
    for words, code in _DUCKDB_REASONS.items():
        if words in lowered and type(error).__module__.startswith(("duckdb", "_duckdb")):
            path = _QUOTED_PATH.search(text)
            return MachineFailure(_MACHINE_REASONS[code], path.group(1) if path else None)
    return None


# Secrets a library may echo in an error (a catalog URL's password): never printed or stored.
_SECRETS: set[str] = set()

# Credentials by their shape, for a password no one registered (a URL too malformed to parse, a
# library quoting a connection string): `//user:PASSWORD@` (the password up to the run's last `@`),
# `user:PASSWORD@` after a boundary (no `/` in it: `duckdb:///path/user:PASSWORD@host` is a typo
# taken as a path; a SIP URI's `sip:number@host` is no credential), and libpq's `password=PASSWORD`
# or a dict's `'password': 'PASSWORD'`. Group 2 is the password.
_CREDENTIALS = (
    re.compile(r"(//[^\s:/@'\"]*:)([^\s'\"]+)(@)"),
    re.compile(r"(?<![^\s/'\"(=,;<\[])(?!(?:sips?|tel|mailto):)([^\s:/@'\"]*:)([^\s'\"/@]+)(@)"),
    re.compile(r"(?i)(\b(?:password|passwd|pwd)['\"]?\s*[:=]\s*['\"]?)([^\s'\",;&)}]+)()"),
)


def register_secret(value: str) -> None:
    if value:
        _SECRETS.add(value)
        _SECRETS.add(unquote(value))  # a URL's password percent-encoded, as a library may print it decoded


def passwords_in(text: str) -> set[str]:
    """The passwords the text holds by their shape (see _CREDENTIALS)."""
    return {match.group(2) for pattern in _CREDENTIALS for match in pattern.finditer(text)} - {"***"}


def redact_credentials(text: str) -> str:
    """Every password the text holds by its shape (a URL's userinfo, `password=`) as `***`."""
    for pattern in _CREDENTIALS:
        text = pattern.sub(_masked, text)
    return text


def _masked(match: re.Match[str]) -> str:
    # The placeholder of an example (`postgresql://user:password@host`) is no secret: keep it readable.
    if match.group(2).lower() == "password":
        return match.group(0)
    return f"{match.group(1)}***{match.group(3)}"


def redact_secrets(text: str) -> str:
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, "***")
    return redact_credentials(text)


class RedactedStream:
    """A text stream (stderr under --debug) that masks every secret written to it: tracebacks and
    dlt's log quote what libraries said, a connection string with its password included."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(redact_secrets(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, fileno, isatty, encoding: the stream's own
        return getattr(self.stream, name)


def one_line(error: BaseException | str, limit: int = 300) -> str:
    """An error as one line of at most `limit` characters, for output and the run log."""
    return redact_secrets(" ".join(readable(str(error)).split()))[:limit]


# A traceback's last line, the error raised: `module.SomeError: words`.
_RAISED = re.compile(r"^[\w.]+(?:Error|Exception|Exit|Interrupt)?: (.+)$", re.MULTILINE)
_TRACEBACK = "Traceback (most recent call last):"
# The statement a driver quotes before the database's reason (DuckDB's postgres extension:
# `Failed to execute query "BEGIN ...; CREATE ...": ERROR: ...`): the reason is what to fix.
_QUOTED_QUERY = re.compile(r'Failed to execute query ".*?"(?=: )', re.DOTALL)


def readable(text: str) -> str:
    """The words of an error that say what went wrong: of a traceback (dlt keeps a failed job's as
    its message) the error it ended in, and a statement a driver quotes cut out, so the cause is
    what a one-line message shows."""
    if _TRACEBACK in text:
        head, _, tail = text.partition(_TRACEBACK)
        raised = _RAISED.findall(tail)
        text = raised[-1] if raised else head
    return _QUOTED_QUERY.sub("a statement failed", text)


def root_error(exc: BaseException) -> BaseException:
    """The error that explains a failure: dlt wraps ours in PipelineStepFailed and friends."""
    import duckdb
    from dlt.common.exceptions import SignalReceivedException

    seen = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, CallhouseError | KeyboardInterrupt | SignalReceivedException):
            return current
        if isinstance(current, duckdb.IOException) and "lock" in str(current).lower():
            return WarehouseBusy(
                f"the warehouse is open in another process: close that session and retry ({str(current).splitlines()[0][:160]})"
            )
        refused = (
            database_permission(current)  # before machine_failure: the same words, the database's
            or machine_failure(current)  # before damaged_data_file: a refused write names a Parquet file too
            or damaged_data_file(current)
            or lock_wait_timeout(current)
            or load_out_of_memory(current)
            or unparsable_url(current)
        )
        if refused is not None:
            return refused
        seen.add(id(current))
        # dlt keeps a failed load job's own error as `client_exception`, a step's as `exception`.
        current = (
            current.__cause__
            or current.__context__
            or getattr(current, "client_exception", None)
            or getattr(current, "exception", None)
        )
    return exc
