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
    return redact_secrets(" ".join(str(error).split()))[:limit]


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
        refused = machine_failure(current)
        if refused is not None:
            return refused
        seen.add(id(current))
        current = current.__cause__ or current.__context__ or getattr(current, "exception", None)
    return exc
