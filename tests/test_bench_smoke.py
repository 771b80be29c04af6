"""Smoke run of the benchmark harness (bench/): the quick size, callhouse and fetch-only paths.

Asserts that the harness completes and that what each path loaded or fetched equals the sandbox's
truth; nothing about speed (CI machines are shared and noisy).
"""

from __future__ import annotations

import pytest

from bench import harness, report


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
