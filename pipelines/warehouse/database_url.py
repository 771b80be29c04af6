"""A database URL as callhouse shows it: host, port and database, never the password (which is
registered so that no error line a library prints can carry it either)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pipelines.errors import register_secret


def keep_secret(url: str) -> None:
    password = urlsplit(url).password
    if password:
        register_secret(password)


def shown(url: str) -> str:
    """`postgres://host:5432/db` for a PostgreSQL URL; any other URL as it is (it holds no password)."""
    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return url
    return f"postgres://{parts.hostname}:{parts.port or 5432}{parts.path}"
