"""DuckLake on a real PostgreSQL catalog: readers during a load, loads side by side, one load of a
source at a time across processes, its secrets kept out of output, and no extension downloads."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from urllib.parse import urlsplit

import duckdb
import pytest

from tests.conftest import TEST_NOW, Cli
from tests.sources.test_cinnox import truth_tables, warehouse_tables
from tests.support.secret_scan import files_holding

DAY = TEST_NOW.start_of("day").subtract(days=8)


def backfill(source: str, days: int, first: int = 0) -> tuple[str, ...]:
    start, end = DAY.add(days=first), DAY.add(days=first + days)
    return ("backfill", "--source", source, "--start", start.to_date_string(), "--end", end.to_date_string())


@pytest.fixture
def lake(make_sandbox, cli) -> Cli:
    sandbox = make_sandbox(cinnox_calls_per_day=600, bandwidth_calls_per_day=300, latency_ms=15, bandwidth_rps=None)
    run = cli(sandbox, SOURCES__BANDWIDTH__REQUESTS_PER_SECOND="100000")
    assert run.lake is not None
    return run


@pytest.fixture
def warehouse_kind() -> str:
    return "ducklake"


def test_a_reader_sees_only_committed_snapshots_while_a_load_runs(lake):
    first = lake(*backfill("cinnox", 1))
    assert first.returncode == 0, first.output
    assert lake("views").returncode == 0
    # Each daily window commits on its own (CHECKPOINT_ROWS=1): a reader may see 1, 2, 3 or 4 whole days.
    truth = lake.sandbox.truth
    committed = {len(truth.cinnox_calls(DAY, DAY.add(days=n))) for n in range(1, 5)}
    seen: list[int] = []
    errors: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                con = lake.connect()
                try:
                    seen.append(con.execute("select count(*) from reporting.calls where vendor = 'cinnox'").fetchone()[0])
                finally:
                    con.close()
            except Exception as exc:  # noqa: BLE001 - every error is a failure of the test
                errors.append(f"{type(exc).__name__}: {exc}")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        load = lake(*backfill("cinnox", 3, first=1), env={"SOURCES__CINNOX__CHECKPOINT_ROWS": "1"})
    finally:
        stop.set()
        reader.join()
    assert load.returncode == 0, load.output
    print(f"reads served during the load: {len(seen)}, distinct snapshots: {sorted(set(seen))}, errors: {len(errors)}")
    assert errors == []
    assert len(seen) >= 4
    assert set(seen) <= committed, sorted(set(seen) - committed)
    assert seen == sorted(seen), "a reader saw the warehouse go back"
    assert seen[-1] == max(committed)


def test_two_sources_load_side_by_side_from_two_processes(lake):
    cinnox = lake.start(*backfill("cinnox", 3))
    bandwidth = lake.start(*backfill("bandwidth", 3))
    cinnox_err, bandwidth_err = cinnox.communicate(timeout=300)[1], bandwidth.communicate(timeout=300)[1]
    assert cinnox.returncode == 0, cinnox_err
    assert bandwidth.returncode == 0, bandwidth_err
    assert warehouse_tables(lake) == truth_tables(lake.sandbox, DAY, DAY.add(days=3))
    truth = {c["id"] for c in lake.sandbox.truth.bandwidth_calls(DAY, DAY.add(days=3))}
    assert {r[0] for r in lake.query("select id from bandwidth.calls")} == truth
    assert sorted(lake.query("select source, outcome from callhouse.runs")) == [("bandwidth", "ok"), ("cinnox", "ok")]


def test_a_second_load_of_the_same_source_is_refused_or_waits(lake):
    first = lake.start(*backfill("cinnox", 3), env={"SOURCES__CINNOX__CHECKPOINT_ROWS": "1"})
    try:
        for line in first.stderr:
            if "cinnox: window 1/" in line:
                break
        refused = lake(*backfill("cinnox", 1))
        waited = lake.start(*backfill("cinnox", 1), "--wait", "300")
        assert first.wait(timeout=300) == 0
    finally:
        first.kill()
    assert refused.returncode == 1
    lines = [line for line in refused.stderr.splitlines() if " window " not in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"cinnox: FAILED: cinnox is being loaded by `callhouse backfill` (pid {first.pid} on {socket.gethostname()}); "
        "retry later or pass --wait SECONDS (DuckLake postgres://127.0.0.1:"
    ), lines
    assert waited.wait(timeout=300) == 0, waited.stderr.read()
    assert warehouse_tables(lake) == truth_tables(lake.sandbox, DAY, DAY.add(days=3))


def test_the_catalog_password_never_reaches_output_or_tables(lake):
    password = urlsplit(lake.lake.catalog).password
    assert lake(*backfill("cinnox", 1)).returncode == 0
    wrong = lake.env["DESTINATION__DUCKLAKE__CREDENTIALS__CATALOG"].replace(password, password + "-wrong")
    outputs = [lake(*backfill("cinnox", 1), env={"DESTINATION__DUCKLAKE__CREDENTIALS__CATALOG": wrong})]
    outputs += [lake(command) for command in ("status", "check", "views")]
    for result in outputs:
        assert password not in result.output, result.output
    bad = outputs[0]
    assert bad.returncode == 1
    assert bad.stderr.splitlines()[-1].startswith("callhouse: DuckLake postgres://127.0.0.1:"), bad.stderr
    assert bad.stderr.rstrip().endswith(
        'the catalog refused the connection: FATAL: password authentication failed for user "callhouse"'
    )
    stored = lake.query("select string_agg(coalesce(message, '') || details::varchar, ' ') from callhouse.runs")[0][0]
    assert password not in stored
    assert files_holding(lake.workdir, password) == []  # dlt's working files, the lake's data


def test_a_missing_extension_wheel_is_one_line_naming_it_and_nothing_is_downloaded(lake, tmp_path):
    # The wheel is gone (a module that fails to import) and the extension folder is empty.
    script = "import sys; sys.modules['duckdb_extension_ducklake'] = None; from pipelines.cli import main; sys.exit(main())"
    result = lake(*backfill("cinnox", 1), entry=("-c", script), env={"CALLHOUSE_EXTENSION_DIR": str(tmp_path / "empty")})
    assert result.returncode == 2, result.output
    assert result.stderr.splitlines() == [
        "callhouse: DuckLake needs the DuckDB extension wheel duckdb-extension-ducklake==1.5.5: "
        "install it (`make` installs it from requirements.lock)"
    ]


def test_the_extensions_load_from_the_wheels_with_installs_off():
    from pipelines.warehouse.extensions import duckdb_config

    con = duckdb.connect(config=duckdb_config())
    con.execute("load ducklake")
    con.execute("load postgres_scanner")
    loaded = {name for (name,) in con.execute("select extension_name from duckdb_extensions() where loaded").fetchall()}
    assert {"ducklake", "postgres_scanner"} <= loaded
    assert con.execute("select current_setting('autoinstall_known_extensions')").fetchone()[0] is False


def test_an_analyst_attaches_the_lake_read_only_from_python(lake):
    assert lake(*backfill("cinnox", 1)).returncode == 0
    assert lake("views").returncode == 0
    # What docs/shared-warehouse.md tells an analyst to run, with this lake's settings.
    code = (
        "import duckdb, sys\n"
        "from pipelines.warehouse.extensions import duckdb_config\n"
        "con = duckdb.connect(config=duckdb_config())\n"
        f"con.execute({lake.lake.attach_statement(read_only=True)!r})\n"
        "con.execute('use ducklake')\n"
        "print(con.execute(\"select count(*) from reporting.calls where vendor = 'cinnox'\").fetchone()[0])\n"
        "try:\n    con.execute('create table x (a int)')\nexcept duckdb.Error as exc:\n    print('read-only:', 'read-only' in str(exc))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=lake.full_env(), timeout=120)
    assert result.returncode == 0, result.stderr
    expected = len(lake.sandbox.truth.cinnox_calls(DAY, DAY.add(days=1)))
    assert result.stdout.split() == [str(expected), "read-only:", "True"]


def test_a_lake_registers_its_catalog_password_so_no_error_line_carries_it(tmp_path):
    from pipelines.errors import one_line, redact_secrets
    from pipelines.warehouse.ducklake import DuckLake

    DuckLake("postgres://loader:s3cr%t-Pw@db.example:5432/lake", str(tmp_path), tmp_path)
    echoed = 'IO Error: Unable to connect to Postgres at "postgres://loader:s3cr%t-Pw@db.example:5432/lake": timeout'
    assert "s3cr%t-Pw" not in one_line(echoed) and "loader:***@db.example" in one_line(echoed)
    assert redact_secrets(echoed) == echoed.replace("s3cr%t-Pw", "***")


def test_commands_attaching_a_new_lake_at_once_all_succeed(postgres_db, tmp_path):
    # The first attach creates the catalog tables; several at once race on them.
    from concurrent.futures import ThreadPoolExecutor

    from pipelines.warehouse.ducklake import DuckLake, normalize_catalog

    lake = DuckLake(normalize_catalog(postgres_db), str(tmp_path / "data"), tmp_path)

    def attach(_: int) -> int:
        con = lake.connect()
        try:
            return con.execute("select 1").fetchone()[0]
        finally:
            con.close()

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(attach, range(4))) == [1, 1, 1, 1]
