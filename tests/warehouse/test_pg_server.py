"""The throwaway PostgreSQL server the PostgreSQL tests run against (tests/support/postgres.py): a
real server on loopback that checks the password, never runs as root, and leaves nothing behind."""

from __future__ import annotations

import os
import pwd
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.postgres import SERVER_OS_USER, PostgresServer, PsqlError, port_open

SEEN_DATABASES: list[str] = []


def _uids(pid: int) -> list[int]:
    """Real, effective, saved and filesystem uid of a process."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return [int(uid) for uid in line.split()[1:]]
    raise AssertionError(f"no Uid line for pid {pid}")


def test_answers_over_tcp_on_loopback_with_the_password(postgres_server):
    assert postgres_server.psql("select 1") == "1"
    # inet_server_addr() is null over a unix socket: this session is TCP to 127.0.0.1.
    assert postgres_server.psql("select inet_server_addr(), current_user") == "127.0.0.1|callhouse"
    assert postgres_server.psql("show listen_addresses") == "127.0.0.1"
    assert postgres_server.url("x") == f"postgresql://callhouse:{postgres_server.password}@127.0.0.1:{postgres_server.port}/x"


def test_a_wrong_password_is_refused(postgres_server):
    with pytest.raises(PsqlError, match='password authentication failed for user "callhouse"'):
        postgres_server.psql("select 1", password="wrong")


@pytest.mark.parametrize("turn", [1, 2])
def test_each_test_gets_a_fresh_database_of_its_own(postgres_server, postgres_db, turn):
    name = urlsplit(postgres_db).path.lstrip("/")
    assert name not in SEEN_DATABASES and name != "postgres"
    tables = postgres_server.psql("select current_database(), count(*) from pg_tables where schemaname = 'public'", name)
    assert tables == f"{name}|0"
    postgres_server.psql(f"create table marker (turn int); insert into marker values ({turn})", name)
    SEEN_DATABASES.append(name)


def test_the_server_does_not_run_as_root(postgres_server):
    pid = postgres_server.pid()
    assert pid is not None
    uids = _uids(pid)
    assert 0 not in uids
    expected = pwd.getpwnam(SERVER_OS_USER).pw_uid if os.geteuid() == 0 else os.geteuid()
    assert set(uids) == {expected}


def test_stop_closes_the_port_and_removes_the_dir():
    server = PostgresServer().start()
    port, directory = server.port, server.dir
    assert port_open(port) and directory.is_dir()
    server.stop()
    assert not port_open(port)
    assert not directory.exists()
    server.stop()  # a second stop is harmless
