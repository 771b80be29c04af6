"""The Python entry point: the README's lines run as written, and `run` returning what happened."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pendulum

from tests.conftest import TEST_NOW
from tests.schedule.conftest import DAY, FAST_ENV, SANDBOX
from tests.test_readme import marked_block

MARKER = "<!-- tests/schedule/test_python_api.py runs the next block as written -->"
CINNOX_TABLES = ("call_detail", "call_detail__recording_event_list", "call_detail__recording_event_list__files")


def python(cli, code: str, **env: str) -> subprocess.CompletedProcess:
    """`code` in a fresh interpreter in the Cli's folder, with its settings (sandbox, warehouse)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cli.workdir,
        env=cli.full_env({"DLT_DATA_DIR": str(cli.workdir / "dlt-data"), **env}),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_readme_python_lines_backfill_and_load_a_plain_dlt_source_with_exact_rows(make_sandbox, cli):
    sandbox = make_sandbox(**SANDBOX)
    run = cli(sandbox, **FAST_ENV)
    code = marked_block(MARKER)
    start, end = pendulum.parse("2026-11-17"), pendulum.parse("2026-11-18")
    assert f'"{start.to_date_string()}", "{end.to_date_string()}"' in code  # the range the test checks
    assert TEST_NOW.subtract(days=30) < start < end < TEST_NOW  # inside the sandbox's history

    ran = python(run, code)
    assert ran.returncode == 0, ran.stderr
    rows = sum(run.query(f"select count(*) from cinnox.{t}")[0][0] for t in CINNOX_TABLES)
    calls = len(sandbox.truth.cinnox_calls(start, end))
    assert run.query("select count(*) from cinnox.call_detail") == [(calls,)]
    assert ran.stdout.splitlines() == [f"True {{'cinnox': {rows}}} []", str(calls)]
    assert (run.workdir / "my_calls.duckdb").exists()  # the user's own pipeline, its own file


def test_run_returns_rows_windows_and_failures_per_source(make_sandbox, cli):
    sandbox = make_sandbox(**SANDBOX)
    run = cli(sandbox, **FAST_ENV, SOURCES__BANDWIDTH__API_SECRET="wrong-secret")
    code = textwrap.dedent(
        """
        import dataclasses, json
        from pipelines import run

        result = run(check=True)
        print(json.dumps({
            "ok": result.ok,
            "rows": result.rows,
            "failures": result.failures,
            "views_built": result.views_built,
            "checks_run": result.checks_run,
            "end": result.end.isoformat(),
            "sources": [dataclasses.asdict(s) for s in result.sources],
        }))
        """
    )
    ran = python(run, code)
    assert ran.returncode == 0, ran.stderr
    result = json.loads(ran.stdout.splitlines()[-1])
    assert result["ok"] is False and result["views_built"] is True and result["checks_run"] is True
    assert result["end"] == sandbox.now().isoformat()
    [failure] = result["failures"]
    assert failure.startswith("bandwidth: credentials rejected (HTTP 401"), failure
    by_source = {s["source"]: s for s in result["sources"]}
    cinnox = by_source["cinnox"]
    assert cinnox["outcome"] == "ok" and cinnox["windows"] >= 1 and cinnox["message"] == ""
    assert cinnox["rows"] == {t: run.query(f"select count(*) from cinnox.{t}")[0][0] for t in CINNOX_TABLES}
    assert cinnox["rows"]["call_detail"] == len(sandbox.truth.cinnox_calls(DAY, sandbox.now()))
    assert by_source["bandwidth"]["outcome"] == "failed" and by_source["bandwidth"]["rows"] == {}
    assert result["rows"] == {s: sum(by_source[s]["rows"].values()) for s in ("cinnox", "bandwidth", "genesys")}
