"""A throwaway PostgreSQL server for the tests: its own cluster in a temp dir, a superuser with a
password (scram-sha-256, so a client must really authenticate), listening on 127.0.0.1 only, on a
free port, tuned for speed rather than durability.

PostgreSQL refuses to run as root, and CI runs as root: then initdb, pg_ctl and the server run as
`nobody` (the temp dir is chowned to it). `nobody` exists on every Debian and needs no useradd, so
two xdist workers never race to create a user; each worker's server has its own dir, socket and
port. The binaries come from Debian's `postgresql` package, which `make test` installs on a fresh
machine (tools/system-packages.sh); without them a test that asks for a server fails, never skips.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

PG_LIB = Path(os.environ.get("CALLHOUSE_PG_LIB", "/usr/lib/postgresql"))
SERVER_TOOLS = ("initdb", "pg_ctl", "postgres")
SERVER_OS_USER = "nobody"  # who runs the server when the tests run as root
SUPERUSER = "callhouse"
START_TIMEOUT = 60  # seconds pg_ctl waits for the server to accept connections
# A crash loses the throwaway cluster and nothing else: skip every flush.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "50",
    "shared_buffers": "32MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class PostgresError(RuntimeError):
    """The server could not be found, started or stopped; the message says why."""


class PsqlError(RuntimeError):
    """psql exited non-zero: `stderr` holds the server's or libpq's message."""

    def __init__(self, returncode: int, stderr: str) -> None:
        super().__init__(f"psql exited {returncode}: {stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


def find_bin_dir() -> Path:
    """Where initdb, pg_ctl and postgres are. Debian keeps them off PATH, in
    /usr/lib/postgresql/<major>/bin (the newest complete one wins); other systems have them on PATH."""
    for bin_dir in sorted(PG_LIB.glob("*/bin"), key=_version, reverse=True):
        if all(os.access(bin_dir / tool, os.X_OK) for tool in SERVER_TOOLS):
            return bin_dir
    initdb = shutil.which("initdb")
    if initdb and all(os.access(Path(initdb).parent / tool, os.X_OK) for tool in SERVER_TOOLS):
        return Path(initdb).parent
    raise PostgresError(
        f"PostgreSQL server binaries ({', '.join(SERVER_TOOLS)}) not found in {PG_LIB}/*/bin or on PATH: "
        "`make test` installs them (tools/system-packages.sh), or as root: apt-get install postgresql"
    )


def _version(bin_dir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bin_dir.parent.name)) or (0,)


def free_port() -> int:
    """A port free on 127.0.0.1 now (the kernel's pick, so two workers rarely collide; start() retries if they do)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _server_os_user() -> pwd.struct_passwd | None:
    """The unprivileged user the server runs as when we are root; None: run as ourselves."""
    return pwd.getpwnam(SERVER_OS_USER) if os.geteuid() == 0 else None


def _reachable_by_others(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in (path, *path.parents))


class PostgresServer:
    """One cluster: start() runs initdb and the server, stop() kills it and removes every file.

    Each test should use its own database (create_database) so tests sharing a server stay independent.
    """

    def __init__(self, user: str = SUPERUSER, password: str | None = None) -> None:
        self.user = user
        self.password = password or secrets.token_urlsafe(18)  # URL-safe: no quoting in url()
        self.port: int | None = None
        self.dir: Path | None = None
        self._bin: Path | None = None
        self._os_user = _server_os_user()

    @property
    def data(self) -> Path:
        return self._dir / "data"

    @property
    def log(self) -> Path:
        return self._dir / "server.log"

    @property
    def _dir(self) -> Path:
        if self.dir is None:
            raise PostgresError("the server is not started")
        return self.dir

    def start(self) -> PostgresServer:
        self._bin = find_bin_dir()
        self.dir = Path(tempfile.mkdtemp(prefix="callhouse-pg-", dir=self._temp_parent()))
        try:
            if self._os_user is not None:
                os.chown(self.dir, self._os_user.pw_uid, self._os_user.pw_gid)
            self._initdb()
            self._launch()
        except BaseException:
            self._remove_dir()
            raise
        return self

    def stop(self) -> None:
        """Immediate shutdown (nothing to keep), then wait for the postmaster to be gone (port closed)."""
        if self.dir is None:
            return
        try:
            pid = self.pid()
            if pid is not None:
                result = self._run_server_tool("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")
                if result.returncode != 0:
                    raise PostgresError(f"pg_ctl stop failed: {result.stdout}{result.stderr}")
                _wait_exited(pid)
        finally:
            self._remove_dir()

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        if not DATABASE_NAME.fullmatch(name):
            raise ValueError(f"database name {name!r}: lower-case letters, digits and _, at most 63")
        self.psql(f'create database "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drops it even if a test left sessions open (they are terminated)."""
        self.psql(f'drop database if exists "{name}" with (force)')

    def psql(self, sql: str, database: str = "postgres", *, password: str | None = None) -> str:
        """Runs the SQL with the psql client over TCP (as a test's client would connect); the rows
        unaligned, `|` between columns, one per line. `password` overrides ours (to test refusal)."""
        url = self.url(database)
        if password is not None:
            url = url.replace(f":{self.password}@", f":{password}@", 1)
        command = [str(self._psql()), "-X", "-w", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql]
        env = {**_clean_env(), "PGCONNECT_TIMEOUT": "10"}
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise PsqlError(result.returncode, result.stderr)
        return result.stdout.rstrip("\n")

    def pid(self) -> int | None:
        """The postmaster's pid, from its pid file (None when it is not running)."""
        try:
            return int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def _psql(self) -> Path:
        """psql of the server's installation (Debian's postgresql-client puts it there), else PATH's."""
        assert self._bin is not None
        if os.access(self._bin / "psql", os.X_OK):
            return self._bin / "psql"
        found = shutil.which("psql")
        if found is None:
            raise PostgresError(f"psql not found in {self._bin} or on PATH: apt-get install postgresql-client")
        return Path(found)

    def _temp_parent(self) -> Path:
        """The server's user must reach its dir: a TMPDIR private to root will not do, /tmp will."""
        parent = Path(tempfile.gettempdir())
        if self._os_user is None or _reachable_by_others(parent):
            return parent
        return Path("/tmp")

    def _initdb(self) -> None:
        password_file = self._dir / "password"
        password_file.write_text(self.password + "\n")
        password_file.chmod(0o600)
        if self._os_user is not None:
            os.chown(password_file, self._os_user.pw_uid, self._os_user.pw_gid)
        result = self._run_server_tool(
            "initdb",
            *("-D", str(self.data), "-U", self.user, f"--pwfile={password_file}", "--auth=scram-sha-256"),
            *("--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions"),
        )
        password_file.unlink()
        if result.returncode != 0:
            raise PostgresError(f"initdb failed (exit {result.returncode}): {result.stdout}{result.stderr}")
        settings = {**SETTINGS, "unix_socket_directories": f"'{self._dir}'"}
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/support/postgres.py\n")
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def _launch(self) -> None:
        """pg_ctl -w returns when the server accepts connections. Another process can take the free
        port before the server binds it: then a new port, up to three tries."""
        for attempt in range(3):
            self.port = free_port()
            start = ("start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", str(START_TIMEOUT))
            result = self._run_server_tool("pg_ctl", *start, "-o", f"-p {self.port}")
            if result.returncode == 0:
                return
            log = self._log_tail()
            if "could not bind" not in log or attempt == 2:
                raise PostgresError(
                    f"PostgreSQL did not start on 127.0.0.1:{self.port} (pg_ctl exit {result.returncode}): "
                    f"{result.stdout}{result.stderr}\n--- the server log, last lines ---\n{log}"
                )
            self._run_server_tool("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-w")

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    def _run_server_tool(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        """initdb and pg_ctl (and so the server) as the unprivileged user when we are root, from the
        cluster's dir (they fail in a working directory that user cannot enter)."""
        assert self._bin is not None
        as_user: dict[str, object] = {}
        if self._os_user is not None:
            as_user = {"user": self._os_user.pw_uid, "group": self._os_user.pw_gid, "extra_groups": []}
        env = {**_clean_env(), "HOME": str(self._dir)}
        return subprocess.run(
            [str(self._bin / tool), *args], cwd=self._dir, env=env, capture_output=True, text=True, timeout=120, **as_user
        )

    def _remove_dir(self) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def _clean_env() -> dict[str, str]:
    """Our environment without libpq's and the server's PG* variables (a developer's PGDATA,
    PGHOST or PGPASSWORD must not redirect the tests), with messages in English for matching."""
    return {**{k: v for k, v in os.environ.items() if not k.startswith("PG")}, "LC_ALL": "C"}


def _wait_exited(pid: int, timeout: float = 10) -> None:
    """Until the process is gone (or a zombie: a container's init may never reap it; its ports are closed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return
        if state == "Z":
            return
        time.sleep(0.02)
    raise PostgresError(f"the PostgreSQL server (pid {pid}) is still running {timeout} s after pg_ctl stop")
