"""The command line's contract: skipped sources, exit codes, one-line errors."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_NOW, Cli


def test_run_skips_unconfigured_sources_with_one_line_each_and_loads_the_rest(make_sandbox, tmp_path):
    sandbox = make_sandbox(cinnox_calls_per_day=200)
    cinnox_only = {k: v for k, v in sandbox.env().items() if k.startswith("SOURCES__CINNOX__")}
    run = Cli(
        None,
        tmp_path,
        {
            **cinnox_only,
            "CALLHOUSE_NOW": sandbox.now().isoformat(),
            "SOURCES__CINNOX__START_DATE": TEST_NOW.subtract(days=1).isoformat(),
        },
    )
    result = run("run")
    assert result.returncode == 0, result.output
    skipped = [line for line in result.stderr.splitlines() if "skipped" in line]
    assert [line.split(":")[0] for line in skipped] == ["bandwidth", "genesys"]
    assert all("no credentials configured" in line for line in skipped)
    # Our lines only: dlt's own log (schema-merge warnings, job tracebacks) stays out of it.
    assert {line.split(":")[0] for line in result.stderr.splitlines()} <= {"cinnox", "bandwidth", "genesys", "views"}, (
        result.stderr
    )
    assert run.query("select count(*) from cinnox.call_detail")[0][0] == len(
        sandbox.truth.cinnox_calls(TEST_NOW.subtract(days=1), TEST_NOW)
    )


@pytest.mark.parametrize(
    "args, words",
    [
        (("run",), "no source is configured"),
        (("backfill", "--start", "2026-11-10", "--end", "2026-11-09", "--source", "cinnox"), "must be after"),
        (("backfill", "--start", "2026-11-10"), "--end"),
        (("run", "--source", "avaya"), "unknown source"),
        (("frobnicate",), "invalid choice"),
        (("status",), "no warehouse"),
        (("run", "--warehouse", "x/cinnox.duckdb", "--source", "cinnox"), "clashes with a schema name"),
    ],
)
def test_usage_and_configuration_errors_exit_2_with_one_line(cli, args, words):
    result = cli(None)(*args)
    assert result.returncode == 2, result.output
    assert result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "setting, value, words",
    [
        ("WAREHOUSE__LOAD_MEMORY_LIMIT", "lots", "WAREHOUSE__LOAD_MEMORY_LIMIT: 'lots' is not a memory size"),
        ("WAREHOUSE__LOAD_THREADS", "many", "WAREHOUSE__LOAD_THREADS: 'many' is not a positive whole number"),
    ],
)
def test_a_bad_warehouse_setting_exits_2_with_one_line_naming_it(make_sandbox, cli, setting, value, words):
    sandbox = make_sandbox(cinnox_calls_per_day=50)
    result = cli(sandbox, **{setting: value})("run", "--source", "cinnox")
    assert result.returncode == 2, result.output
    assert words in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "setting, value, words",
    [
        ("SOURCES__CINNOX__PAGE_LIMIT", "0", "SOURCES__CINNOX__PAGE_LIMIT: 0 is not a whole number between 1 and 500"),
        ("SOURCES__CINNOX__PAGE_LIMIT", "501", "SOURCES__CINNOX__PAGE_LIMIT: 501 is not a whole number between 1 and 500"),
        ("SOURCES__CINNOX__CONCURRENCY", "0", "SOURCES__CINNOX__CONCURRENCY: 0 is not a whole number at least 1"),
        ("SOURCES__CINNOX__WINDOW", "0s", "SOURCES__CINNOX__WINDOW: '0s' is not a positive duration"),
        ("SOURCES__CINNOX__CHECKPOINT_ROWS", "lots", "SOURCES__CINNOX__CHECKPOINT_ROWS: 'lots' is not a positive whole number"),
        ("SOURCES__CINNOX__CHECKPOINT_ROWS", "0", "SOURCES__CINNOX__CHECKPOINT_ROWS: 0 is not a whole number at least 1"),
        ("SOURCES__CINNOX__REQUESTS_PER_SECOND", "-5", "SOURCES__CINNOX__REQUESTS_PER_SECOND: -5.0 is not a rate"),
        (
            "SOURCES__CINNOX__BASE_URL",
            "api.cinnox.example",
            "SOURCES__CINNOX__BASE_URL: 'api.cinnox.example' is not an http(s) URL",
        ),
        ("SOURCES__CINNOX__APP_TOKEN", "", "SOURCES__CINNOX__APP_TOKEN: is empty"),
        ("SOURCES__CINNOX__APP_TOKEN", "Tok42\r", "SOURCES__CINNOX__APP_TOKEN: contains a control character"),
        ("REPORTING__TIMEZONE", "Mars/Base", "REPORTING__TIMEZONE: unknown time zone 'Mars/Base'"),
    ],
)
def test_a_bad_source_setting_exits_2_naming_it_before_any_request(make_sandbox, cli, setting, value, words):
    sandbox = make_sandbox(cinnox_calls_per_day=50)
    sandbox.reset_stats()
    result = cli(sandbox, **{setting: value})("run", "--source", "cinnox")
    assert result.returncode == 2, result.output
    assert result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
    assert "Traceback" not in result.output and "Tok42" not in result.output
    assert sandbox.stats()["cinnox"]["requests"] == 0


@pytest.mark.parametrize(
    "setting, value, words",
    [
        ("SOURCES__BANDWIDTH__PAGE_SIZE", "0", "SOURCES__BANDWIDTH__PAGE_SIZE: 0 is not a whole number between 1 and 1000"),
        ("SOURCES__BANDWIDTH__API_SECRET", "s3cr3t\n", "SOURCES__BANDWIDTH__API_SECRET: contains a control character"),
        ("SOURCES__GENESYS__CLIENT_SECRET", " ", "SOURCES__GENESYS__CLIENT_SECRET: is empty"),
        ("SOURCES__GENESYS__RESULT_CAP", "0", "SOURCES__GENESYS__RESULT_CAP: 0 is not a whole number at least 1"),
    ],
)
def test_bad_bandwidth_and_genesys_settings_exit_2_before_any_request(make_sandbox, cli, setting, value, words):
    sandbox = make_sandbox(bandwidth_calls_per_day=50, genesys_dialogs_per_day=10)
    source = setting.split("__")[1].lower()
    sandbox.reset_stats()
    result = cli(sandbox, **{setting: value})("run", "--source", source)
    assert result.returncode == 2, result.output
    assert result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
    assert "s3cr3t" not in result.output
    assert sandbox.stats()[source]["requests"] == 0


def test_a_plan_of_too_many_windows_is_refused_with_a_line_suggesting_a_larger_window(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=50)
    sandbox.reset_stats()
    run = cli(sandbox, SOURCES__CINNOX__WINDOW="1m")
    result = run("backfill", "--source", "cinnox", "--start", "2016-01-01", "--end", "2026-01-01", timeout=60)
    assert result.returncode == 2, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert "is 5,260,320 windows of 1 minute, more than 100,000: set a larger SOURCES__CINNOX__WINDOW" in result.stderr
    assert sandbox.stats()["cinnox"]["requests"] == 0


def test_status_piped_into_a_reader_that_stops_early_is_quiet(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=50)
    run = cli(sandbox, SOURCES__CINNOX__START_DATE=TEST_NOW.subtract(days=1).isoformat())
    assert run("run", "--source", "cinnox").returncode == 0
    import subprocess
    import sys

    proc = subprocess.run(
        f"{sys.executable} -m pipelines.cli status | head -1",
        shell=True,
        cwd=run.workdir,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "CALLHOUSE_WAREHOUSE": str(run.warehouse)},
    )
    assert proc.stdout == "cinnox\n"
    assert proc.stderr == "", proc.stderr


def test_run_builds_the_views_of_the_sources_that_loaded_when_another_fails(make_sandbox, cli):
    sandbox = make_sandbox(cinnox_calls_per_day=100, bandwidth_calls_per_day=50, genesys_dialogs_per_day=10)
    start = TEST_NOW.subtract(days=1)
    run = cli(
        sandbox,
        SOURCES__BANDWIDTH__API_SECRET="wrong",
        **{f"SOURCES__{s}__START_DATE": start.isoformat() for s in ("CINNOX", "BANDWIDTH", "GENESYS")},
    )
    result = run("run")
    assert result.returncode == 1, result.output
    assert [line.split(":")[0] for line in result.stderr.splitlines() if "FAILED" in line] == ["bandwidth"]
    assert "views: built" in result.stderr
    calls = dict(run.query("select vendor, count(*) from reporting.calls group by vendor"))
    assert calls["cinnox"] == len(sandbox.truth.cinnox_calls(start, TEST_NOW)) and "bandwidth" not in calls


@pytest.mark.parametrize(
    "make, cause",
    [
        (lambda p: p.mkdir(parents=True), "Is a directory"),
        (lambda p: (p.parent.mkdir(parents=True), p.write_bytes(b""))[-1], "is not a valid DuckDB database file"),
        (
            lambda p: (p.parent.mkdir(parents=True), p.write_bytes(b"\x00garbage" * 900))[-1],
            "is not a valid DuckDB database file",
        ),
    ],
)
@pytest.mark.parametrize("command", ["status", "views", "check"])
def test_a_warehouse_that_is_not_a_database_is_one_line_naming_it_and_the_cause(cli, make, cause, command):
    run = cli(None)
    make(run.warehouse)
    result = run(command)
    assert result.returncode == 1, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith(f"callhouse: warehouse {run.warehouse} cannot be opened: ")
    assert cause in result.stderr and "another process" not in result.stderr


def test_a_load_command_runs_without_importing_pandas(make_sandbox, cli):
    # No command uses pandas; DuckDB's client would import it (~35 MB) on its first query with a
    # parameter, and the run log's is one.
    sandbox = make_sandbox(cinnox_calls_per_day=200)
    script = (
        "import atexit, sys; "
        "atexit.register(lambda: print('pandas loaded:', sys.modules.get('pandas') is not None, file=sys.stderr)); "
        "from pipelines.cli import main; sys.exit(main())"
    )
    start = TEST_NOW.subtract(days=1).to_date_string()
    result = cli(sandbox)(
        "backfill", "--source", "cinnox", "--start", start, "--end", TEST_NOW.to_date_string(), entry=("-c", script)
    )

    assert result.returncode == 0, result.output
    assert result.stderr.splitlines()[-1] == "pandas loaded: False"
