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
