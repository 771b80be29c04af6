"""One load of a source at a time across machines: a PostgreSQL advisory lock, held by a session
of our own for the source's load (PostgreSQL releases it when the session ends, also when the
process is killed). Used by a DuckLake with a PostgreSQL catalog and by a PostgreSQL warehouse."""

from __future__ import annotations

import hashlib
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from pipelines.errors import CallhouseError, WarehouseBusy, one_line


def _key(url: str, name: str) -> tuple[int, int]:
    """The two-key lock of `name` in the database of `url`, the same on every machine (31-bit
    keys: pg_locks shows them as unsigned oids, so they read back as written)."""

    def key(text: str) -> int:
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF

    return key(f"callhouse:{urlsplit(url).path}"), key(name)


@contextmanager
def advisory_lock(url: str, name: str, source: str, command: str, wait_s: float, where: str) -> Iterator[None]:
    """Holds lock `name` for the load of `source`; a second holder waits `wait_s`, then is told who
    has it (the session's application_name: the command, its pid and host). `where` names the
    warehouse in messages, without its password."""
    import psycopg2

    # PostgreSQL keeps 63 bytes of it: the command's name, its pid and the host.
    holder = f"`callhouse {command.split()[0]}` (pid {os.getpid()} on {socket.gethostname()})"[:63]
    key = _key(url, name)
    try:
        session = psycopg2.connect(url.replace("postgres://", "postgresql://", 1), application_name=holder)
    except psycopg2.Error as exc:
        raise CallhouseError(f"{where}: cannot reach the database to lock {source}: {one_line(exc)}") from None
    session.autocommit = True
    deadline = time.monotonic() + wait_s
    try:
        with session.cursor() as cursor:
            while True:
                cursor.execute("select pg_try_advisory_lock(%s, %s)", list(key))
                if cursor.fetchall()[0][0]:
                    break
                if time.monotonic() >= deadline:
                    cursor.execute(
                        "select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid "
                        "where l.locktype = 'advisory' and l.granted and l.objsubid = 2 "
                        "and l.classid::bigint = %s and l.objid::bigint = %s",
                        list(key),
                    )
                    row = cursor.fetchone()
                    who = row[0] if row and row[0] else "another callhouse command"
                    raise WarehouseBusy(f"{source} is being loaded by {who}; retry later or pass --wait SECONDS ({where})")
                time.sleep(0.5)
        yield
    finally:
        session.close()  # ends the session: PostgreSQL releases its advisory locks
