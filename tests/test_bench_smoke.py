"""Smoke run of the benchmark harness (bench/): the quick size, callhouse and fetch-only paths.

Asserts that the harness completes and that what each path loaded or fetched equals the sandbox's
truth; nothing about speed (CI machines are shared and noisy).
"""

from __future__ import annotations

import pytest

from bench import duckdb_versions, harness, report


@pytest.mark.timeout(180)
def test_bench_quick_loads_and_fetches_exactly_the_sandbox_truth(tmp_path):
    run = harness.throughput(5_000, days=7, workdir=tmp_path, paths=("callhouse", "fetch_only"))

    assert run.truth.calls > 4_000 and len(run.truth.windows) == 7
    callhouse, fetch_only = run.path("callhouse"), run.path("fetch_only")
    assert callhouse.ok, callhouse.error
    assert callhouse.counts == run.truth.counts
    assert fetch_only.ok, fetch_only.error
    assert fetch_only.counts == {"call_detail": run.truth.calls}
    assert fetch_only.extra["pages"] >= run.truth.min_requests
    for path in (callhouse, fetch_only):
        assert path.measured.wall_s > 0 and path.measured.peak_rss_mb > 0

    markdown = report.render([run], None, None, report.machine(), "python -m bench --quick")
    assert "callhouse backfill (end to end)" in markdown and "rows = truth" in markdown


def test_the_duckdb_comparison_venv_is_the_lock_with_only_duckdb_changed():
    lock = (harness.REPO / "requirements.lock").read_text().splitlines()
    wanted = duckdb_versions.requirements("2.0.0").splitlines()

    assert "duckdb==2.0.0" in wanted and f"duckdb=={duckdb_versions.pinned()}" in lock
    # The CLI and the extension wheels exist per DuckDB version and require it: left out.
    assert any(line.startswith("duckdb-") for line in lock) and not any(line.startswith("duckdb-") for line in wanted)
    assert [line for line in lock if not line.startswith("duckdb")] == [line for line in wanted if not line.startswith("duckdb")]
