"""A database URL as callhouse shows it: host, port and database, never the password (which is
registered so that no error line a library prints can carry it either), whatever the URL's shape.

A URL with a typo (`postgres//user:pw@host/db`, `postgresql:/...`, a stray `[`, a port that is no
number) is refused as a setting error before anything reads it: taken as a file path, it would be
printed back whole in the next error.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from pipelines.errors import UsageError, passwords_in, redact_credentials, register_secret

POSTGRES_SCHEMES = ("postgres", "postgresql")
EXAMPLE = "postgresql://user:password@host:5432/database"
_LOOKS_POSTGRES = re.compile(r"(?i)^\s*postgres(?:ql)?[:/]")


def keep_secret(url: str) -> None:
    """Registers every password the text holds, parsable as a URL or not."""
    for password in _passwords(url):
        register_secret(password)


def _passwords(text: str) -> set[str]:
    found = passwords_in(text)
    try:
        password = urlsplit(text).password
    except ValueError:  # a stray `[`: the shapes above still found it
        password = None
    if password:
        found.add(password)
    return found


def shown(url: str) -> str:
    """`postgres://host:5432/db` for a PostgreSQL URL; any other URL or path without any
    credentials it may hold (a typo can put `user:password@` in a file path)."""
    parts = _split(url)
    if parts is None or not parts.scheme.startswith("postgres") or not parts.hostname:
        return redact_credentials(url)
    return f"postgres://{parts.hostname}:{parts.port or 5432}{parts.path}"


def _split(url: str) -> SplitResult | None:
    """The URL's parts, or None when it does not parse (a stray `[`, a port that is no number)."""
    try:
        return _parsed(url)
    except ValueError:
        return None


def _parsed(url: str) -> SplitResult:
    parts = urlsplit(url)
    parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    return parts


def checked_postgres_url(value: str, setting: str) -> str:
    """A PostgreSQL URL as written, or a one-line usage error naming `setting`, its password masked."""
    value = value.strip()
    try:
        parts = _parsed(value)
    except ValueError as exc:  # "Invalid IPv6 URL", "Port could not be cast to integer value as 'x'"
        raise UsageError(f"{setting}: {redact_credentials(value)!r} is not a valid URL ({exc}): write it as {EXAMPLE}") from None
    # No host is libpq's socket form (`postgresql://user@/db?host=/run/postgresql`), with `//`.
    if parts.scheme.lower() not in POSTGRES_SCHEMES or not (parts.hostname or value.partition(":")[2].startswith("//")):
        raise UsageError(f"{setting}: {redact_credentials(value)!r} is not a PostgreSQL URL: write it as {EXAMPLE}")
    return value


def looks_like_postgres(value: str) -> bool:
    """A value meant as a PostgreSQL URL (its scheme, even misspelt, or credentials in it), which
    must parse as one rather than be taken as a file path."""
    return bool(_LOOKS_POSTGRES.match(value)) or redact_credentials(value) != value
