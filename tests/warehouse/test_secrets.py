"""No password in any output or file, whatever the shape of the URL that holds it (issue 24.4):
a misspelt catalog or database URL is refused naming its setting, its password masked; and after
a load failed in a catalog outage, no file of dlt's working folder holds the password."""

from __future__ import annotations

import pickle
import time
from urllib.parse import urlsplit

import pytest

from pipelines import cli as cli_module
from pipelines.errors import one_line, redact_secrets
from pipelines.load.scrub import scrub_working_files
from pipelines.warehouse.database_url import keep_secret, shown
from pipelines.warehouse.ducklake import CATALOG_SETTING, STORAGE_SETTING
from pipelines.warehouse.postgres import CREDENTIALS_SETTING
from tests.conftest import TEST_NOW
from tests.reliability.crash import packages
from tests.sources.test_cinnox import truth_tables, warehouse_tables
from tests.support.secret_scan import files_holding

DAY = TEST_NOW.start_of("day").subtract(days=3)
BACKFILL = ("backfill", "--source", "cinnox", "--start", DAY.to_date_string(), "--end", DAY.add(days=1).to_date_string())
EXAMPLE = "write it as postgresql://user:password@host:5432/database"

# Typos users make in a URL, each with its own password (so none is masked by an earlier one).
MISSPELT = {
    "no colon after the scheme": "postgres//loader:{}@db.example:5432/lake",
    "one slash": "postgresql:/loader:{}@db.example:5432/lake",
    "no scheme": "//loader:{}@db.example/lake",
    "no scheme nor slashes": "loader:{}@db.example:5432/lake",
    "a stray [": "postgres://loader:{}@[db.example:5432/lake",
    "a port that is no number": "postgres://loader:{}@db.example:54x32/lake",
}


@pytest.mark.parametrize("typo", MISSPELT)
def test_a_misspelt_url_is_refused_naming_its_setting_and_never_prints_the_password(typo, tmp_path, monkeypatch, capsys):
    password = f"Pw-{abs(hash(typo)) % 10**8}-Xq"
    url = MISSPELT[typo].format(password)
    masked = MISSPELT[typo].format("***")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CALLHOUSE_WAREHOUSE", str(tmp_path / "warehouse" / "calls.duckdb"))
    for destination, setting, extra in (
        ("ducklake", CATALOG_SETTING, {STORAGE_SETTING: str(tmp_path / "lake")}),
        ("postgres", CREDENTIALS_SETTING, {}),
    ):
        with monkeypatch.context() as env:
            env.setenv("WAREHOUSE__DESTINATION", destination)
            env.setenv(setting, url)
            for name, value in extra.items():
                env.setenv(name, value)
            for args in (BACKFILL, ("status",)):
                code = cli_module.main(list(args))
                out, err = capsys.readouterr()
                assert password not in out + err
                assert code == 2, (destination, args, err)
                (line,) = err.splitlines()
                assert line.startswith(f"callhouse: {setting}: {masked!r} is not a "), line
                assert line.endswith(EXAMPLE), line
    assert not files_holding(tmp_path, password)


def test_every_shape_of_a_password_is_masked_in_messages_registered_or_not():
    # Never registered: found by its shape alone.
    assert redact_secrets('at "duckdb:////srv/postgres/loader:Sh4pe-1@db/lake" cannot be attached') == (
        'at "duckdb:////srv/postgres/loader:***@db/lake" cannot be attached'
    )
    assert redact_secrets("postgresql:/loader:Sh4pe-2@db/lake") == "postgresql:/loader:***@db/lake"
    assert redact_secrets("Unable to connect to Postgres at postgres://u:p@ss:w0rd@[db/x") == (
        "Unable to connect to Postgres at postgres://u:***@[db/x"
    )
    assert redact_secrets("host=db dbname=lake password=Sh4pe-3 user=loader") == "host=db dbname=lake password=*** user=loader"
    assert redact_secrets("{'user': 'loader', 'password': 'Sh4pe-4'}") == "{'user': 'loader', 'password': '***'}"
    # What is no credential stays as it was.
    for text in (
        "callhouse: DESTINATION__POSTGRES__CREDENTIALS: write it as postgresql://user:password@host:5432/database",
        "bandwidth: call to sip:+15551234567@sip.example.com at 10:00:00",
        'FATAL: password authentication failed for user "callhouse"',
    ):
        assert redact_secrets(text) == text
    # Registered from a URL urlsplit cannot read, then masked wherever a library prints it alone.
    keep_secret("postgres://loader:Sh4pe-5%2F@[db:5432/lake")
    assert one_line("auth failed with Sh4pe-5/ and Sh4pe-5%2F") == "auth failed with *** and ***"
    assert shown("duckdb:////srv/postgres/loader:Sh4pe-6@db/lake") == "duckdb:////srv/postgres/loader:***@db/lake"
    assert shown("postgres://loader:Sh4pe-7@db:6543/lake") == "postgres://db:6543/lake"


def test_the_scrub_deletes_loaded_packages_and_masks_what_dlt_kept_of_a_failed_load(tmp_path):
    keep_secret("postgres://loader:Scrub-Pw-1@db:5432/lake")
    said = 'IO Error: Unable to connect to Postgres at "postgres://loader:Scrub-Pw-1@db:5432/lake"'
    pipeline = tmp_path / "callhouse_cinnox"
    loaded = pipeline / "load" / "loaded" / "1.1"
    pending = pipeline / "load" / "normalized" / "2.2"
    aborted = pipeline / "load" / "loaded" / "3.3"
    for folder in (loaded / ".exceptions", pending / ".exceptions", pending / "new_jobs", pending / "failed_jobs", aborted):
        folder.mkdir(parents=True)
    (loaded / "package_completed.json").write_text("loaded")
    (loaded / ".exceptions" / "calls.abc.0.exception").write_text(f"retry: transient\n{said}")
    (aborted / "package_completed.json").write_text("aborted")
    (aborted / "schema.json").write_text('{"note": "postgres://someone:Old-Pw-2@db/x"}')
    (pending / ".exceptions" / "calls.abc.0.exception").write_text(f"retry: transient\n{said}\nagain: {said}")
    (pending / "failed_jobs" / "calls.abc.1.parquet.exception").write_text(said)
    job = pending / "new_jobs" / "calls.abc.2.parquet"
    job.write_bytes(b"PAR1 vendor data mailto:x:y@z PAR1")  # the vendor's records: never rewritten
    (pipeline / "trace.pickle").write_bytes(pickle.dumps({"step_exception": said}))
    (pipeline / "state.json").write_text('{"sources": {}}')

    scrub_working_files(pipeline)

    assert not loaded.exists()
    assert (aborted / "schema.json").read_text() == '{"note": "postgres://someone:***@db/x"}'
    masked = 'IO Error: Unable to connect to Postgres at "postgres://loader:***@db:5432/lake"'
    assert (pending / ".exceptions" / "calls.abc.0.exception").read_text() == f"retry: transient\n{masked}\nagain: {masked}"
    assert (pending / "failed_jobs" / "calls.abc.1.parquet.exception").read_text() == masked
    assert job.read_bytes() == b"PAR1 vendor data mailto:x:y@z PAR1"
    assert not (pipeline / "trace.pickle").exists()
    assert (pipeline / "state.json").read_text() == '{"sources": {}}'
    assert files_holding(tmp_path, "Scrub-Pw-1", "Old-Pw-2") == []


@pytest.mark.parametrize("warehouse_kind", ["ducklake", "postgres"])
def test_after_a_database_outage_mid_load_no_file_of_dlts_working_folder_holds_the_password(make_sandbox, cli, postgres_server):
    """The catalog (or warehouse) database stops taking connections while dlt loads a package (its
    sessions are cut): every try of every job fails, and dlt writes each error into the package;
    on DuckLake that is DuckDB's error, quoting the catalog URL with its password. Neither the
    failed run nor the rerun that loads the package leaves a file holding the password, and the
    rerun loads exactly the sandbox's rows."""
    sandbox = make_sandbox(cinnox_calls_per_day=600, latency_ms=20)  # two pages: two packages
    run = cli(sandbox, SOURCES__CINNOX__CHECKPOINT_ROWS="1")
    url = run.env.get(CATALOG_SETTING) or run.env[CREDENTIALS_SETTING]
    password, database = urlsplit(url).password, urlsplit(url).path.lstrip("/")
    assert password
    load = run.start(*BACKFILL, "--debug")  # tracebacks and dlt's log: what libraries said, unfiltered
    pipeline_dir = run.pipelines_dir / "callhouse_cinnox"
    cut = False
    try:
        deadline = time.monotonic() + 120
        while load.poll() is None and time.monotonic() < deadline:
            if any(view.stage == "normalized" and view.completed >= 1 for view in packages(pipeline_dir)):
                postgres_server.psql(f'alter database "{database}" allow_connections false')
                postgres_server.psql(f"select pg_terminate_backend(pid) from pg_stat_activity where datname = '{database}'")
                cut = True
                break
            time.sleep(0.002)
        failed_err = load.communicate(timeout=300)[1]
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
        postgres_server.psql(f'alter database "{database}" allow_connections true')
    assert cut, "the load ended before its first package was half loaded"
    assert load.returncode == 1, failed_err
    assert "Traceback" in failed_err and password not in failed_err
    folder = run.workdir  # the warehouse folder, dlt's working files and the lake's data
    assert files_holding(folder, password) == []
    assert list(pipeline_dir.rglob("*.exception")), "the outage left no exception file: the test proves nothing"

    rerun = run(*BACKFILL)
    assert rerun.returncode == 0, rerun.output
    assert password not in rerun.output
    assert files_holding(folder, password) == []
    assert not list(pipeline_dir.glob("load/loaded/*")), "a loaded package was kept"
    assert warehouse_tables(run) == truth_tables(sandbox, DAY, DAY.add(days=1))
