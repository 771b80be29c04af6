"""Smoke run of the benchmark harness (bench/): the quick size, callhouse and fetch-only paths;
Bandwidth and Genesys at a tiny size with their floor and dlt's parquet path.

Asserts that the harness completes and that what each path loaded or fetched equals the sandbox's
truth; nothing about speed (CI machines are shared and noisy).
"""

from __future__ import annotations

import sys

import pytest

from bench import duckdb_versions, harness, report
from bench.measure import Measured, run_measured


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


def test_duckdb_version_rows_are_compared_with_the_pinned_run_of_their_round():
    def path(name: str, wall_s: float, rss_mb: float) -> harness.PathResult:
        measured = Measured([], 0, wall_s, wall_s, rss_mb, 0.0, 0, 0, "", "")
        return harness.PathResult(name, measured, counts=dict(truth.counts))

    truth = harness.Truth(1000, 10, 10, [1000], 2, 0.0)
    paths = [
        path("callhouse", 10.0, 500),
        path("callhouse_duckdb_2.0.0", 8.0, 400),
        path("callhouse_duckdb_2.0.0_round2", 10.0, 500),
        path("callhouse_round2", 5.0, 250),
    ]
    run = harness.Throughput(1000, 1, harness.NOW, harness.NOW, truth, paths)
    markdown = "\n".join(report.throughput_section(run))

    assert "| callhouse backfill with duckdb 2.0.0 (same lock otherwise) | 8.00 |" in markdown
    assert "| 1.25x | 0.80x | yes |" in markdown  # round 1: against callhouse
    assert "| 0.50x | 2.00x | yes |" in markdown  # round 2: against callhouse_round2, not callhouse
    assert "median of 2 rounds: calls/s 0.88x (rounds 1.25x, 0.50x)" in markdown


@pytest.mark.timeout(240)
@pytest.mark.parametrize("vendor", ["bandwidth", "genesys"])
def test_bench_vendor_paths_load_exactly_the_sandbox_truth(tmp_path, vendor):
    paths = ("callhouse", "dlt_dicts_parquet", "duckdb_unnest", "fetch_only")
    run = harness.throughput(1_500, days=3, workdir=tmp_path, paths=paths, vendor=vendor)

    assert run.truth.calls > 1_000 and len(run.truth.windows) == 3
    if vendor == "bandwidth":
        assert set(run.truth.counts) == {"calls", "calls__sip_headers"} and run.truth.counts["calls__sip_headers"] > 0
    else:
        assert set(run.truth.counts) == {"siptraces"}
    for name in paths[:3]:
        path = run.path(name)
        assert path.ok, (name, path.error)
        assert path.counts == run.truth.counts, name
    assert run.path("fetch_only").skipped  # written for CINNOX's paging alone

    markdown = report.render([run], None, None, report.machine(), f"python -m bench --vendor {vendor}")
    assert f"callhouse vs the DuckDB floor >= 0.5x ({harness.VENDORS[vendor].display}," in markdown
    assert f"callhouse vs dlt's parquet path >= 9x ({harness.VENDORS[vendor].display}," in markdown


def test_a_measured_peak_is_the_childs_not_the_benchmarks(tmp_path):
    # Linux keeps the RSS high-water mark across exec, and a vfork child's memory until then is
    # the parent's: started straight from a 300 MB benchmark, `python -c pass` read 300+ MB.
    ballast = bytearray(300 * 2**20)
    ballast[::4096] = b"\1" * len(ballast[::4096])
    measured = run_measured([sys.executable, "-c", "pass"], env={}, cwd=tmp_path, log_dir=tmp_path / "logs", name="pass")

    assert measured.ok and 0 < measured.peak_rss_mb < 100
    failing = run_measured(
        [sys.executable, "-c", "import sys; sys.exit(3)"], env={}, cwd=tmp_path, log_dir=tmp_path / "logs", name="fail"
    )
    assert failing.returncode == 3 and not failing.ok
    del ballast


@pytest.mark.timeout(120)
def test_the_copy_baseline_puts_exactly_the_sandbox_truth_in_postgres(tmp_path):
    run = harness.throughput(1_500, days=3, workdir=tmp_path, paths=("postgres_copy",))

    copy = run.path("postgres_copy")
    assert copy.ok, copy.error
    assert copy.counts == run.truth.counts and run.truth.counts["call_detail__recording_event_list__files"] > 0
    assert copy.extra["build_s"] > 0 and copy.extra["copy_s"] > 0
    assert not (tmp_path / "records.ndjson").exists()  # the NDJSON is removed after the last path reading it


def test_postgres_is_compared_with_the_copy_of_the_same_run():
    def path(name: str, wall_s: float) -> harness.PathResult:
        measured = Measured([], 0, wall_s, wall_s, 100.0, 0.0, 0, 0, "", "")
        return harness.PathResult(name, measured, counts=dict(truth.counts))

    truth = harness.Truth(1000, 10, 10, [1000], 2, 0.0)
    paths = [
        path("callhouse", 10.0),
        path("callhouse_ducklake", 20.0),
        path("callhouse_postgres", 8.0),
        path("postgres_copy", 2.0),
    ]
    run = harness.Throughput(1000, 1, harness.NOW, harness.NOW, truth, paths)
    rows = {row[0]: row[1:] for row in report.issue27_rows([run])}

    assert rows["PostgreSQL: callhouse vs COPY of the same rows (CINNOX, 1,000 calls)"] == ["0.25x", "figure"]
    assert rows["DuckLake vs the file >= 0.8x (CINNOX, 1,000 calls)"] == ["0.50x", "**not met**"]
    without_copy = harness.Throughput(1000, 1, harness.NOW, harness.NOW, truth, paths[:3])
    assert not any(row[0].startswith("PostgreSQL:") for row in report.issue27_rows([without_copy]))
