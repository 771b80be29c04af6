"""A load killed with SIGKILL anywhere, then rerun, ends with exactly the rows of a clean run."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_NOW
from tests.reliability.crash import run_and_kill
from tests.sources.test_cinnox import cinnox_state, counts, truth_tables, warehouse_tables

START = TEST_NOW.start_of("day").subtract(days=6)
END = START.add(days=3)
BACKFILL = ["backfill", "--source", "cinnox", "--start", START.to_date_string(), "--end", END.to_date_string()]
CALLS_PER_DAY = 1200  # 3 pages of 500 per daily window
PAGES_PER_LOAD = 3

# (phase, which load of the run): package 1 is the very first load into an empty warehouse, a
# case dlt treats specially (no state in the destination yet).
KILL_POINTS = [
    ("extract", 1),
    ("extract", 2),
    ("extracted", 1),
    ("extracted", 2),
    ("normalize", 1),
    ("normalize", 3),
    ("load-start", 1),
    ("load-start", 2),
    ("load-mid", 1),
    ("load-mid", 2),
    ("load-late", 2),
    ("load-late", 3),
]


@pytest.fixture
def sandbox(make_sandbox):
    # A little latency spreads each phase over enough time to land a kill inside it.
    return make_sandbox(cinnox_calls_per_day=CALLS_PER_DAY, latency_ms=20)


# On DuckLake: a kill between extract and normalize of a later load, and inside a load.
LAKE_KILL_POINTS = [("extracted", 2), ("load-mid", 1)]
# On PostgreSQL: between normalize and load, and inside the load.
POSTGRES_KILL_POINTS = [("extracted", 2), ("load-mid", 1)]
CASES = (
    [("duckdb", p, n) for p, n in KILL_POINTS]
    + [("ducklake", p, n) for p, n in LAKE_KILL_POINTS]
    + [("postgres", p, n) for p, n in POSTGRES_KILL_POINTS]
)


def _env(sandbox, run) -> dict[str, str]:
    return {**run.full_env(), "SOURCES__CINNOX__CHECKPOINT_ROWS": "1"}


def _pipeline_dir(run):
    return run.pipelines_dir / "callhouse_cinnox"


@pytest.mark.parametrize("warehouse_kind, phase, package", CASES, ids=[f"{k}-{p}-load{n}" for k, p, n in CASES])
def test_backfill_killed_then_rerun_has_exactly_the_rows_of_a_clean_run(sandbox, cli, phase, package):
    run = cli(sandbox, SOURCES__CINNOX__CHECKPOINT_ROWS="1")
    killed = run_and_kill(BACKFILL, _env(sandbox, run), run.workdir, _pipeline_dir(run), phase, package, sandbox, PAGES_PER_LOAD)
    assert killed, f"the run finished before reaching {phase} of load {package}"

    rerun = run(*BACKFILL)
    assert rerun.returncode == 0, rerun.output
    truth = truth_tables(sandbox, START, END)
    assert warehouse_tables(run) == truth
    assert counts(run) == tuple(len(t) for t in truth), "duplicate rows after recovery"
    state = cinnox_state(run)
    assert state.get("cursor") is None, "a backfill must not move the nightly cursor"
    assert state["coverage"] == [[START.format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z", END.format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"]]


@pytest.mark.parametrize("phase", ["extract", "load-mid"])
def test_nightly_run_killed_then_rerun_sets_the_cursor_and_loses_nothing(make_sandbox, cli, phase):
    sandbox = make_sandbox(cinnox_calls_per_day=CALLS_PER_DAY, latency_ms=20)
    run = cli(sandbox, SOURCES__CINNOX__CHECKPOINT_ROWS="1", SOURCES__CINNOX__START_DATE=START.isoformat())
    env = {**_env(sandbox, run), "SOURCES__CINNOX__START_DATE": START.isoformat()}
    assert run_and_kill(["run", "--source", "cinnox"], env, run.workdir, _pipeline_dir(run), phase, 2, sandbox, PAGES_PER_LOAD)

    rerun = run("run", "--source", "cinnox")
    assert rerun.returncode == 0, rerun.output
    # Rows from START on are exactly the truth's; if the kill came after a load had moved the
    # cursor, the rerun also re-read its 2-day lookback from before START, which is right too.
    truth = truth_tables(sandbox, START, sandbox.now())
    lookback_truth = truth_tables(sandbox, START.subtract(days=2), sandbox.now())
    loaded = warehouse_tables(run)
    assert {r for r in loaded[0] if r[1] >= START} == truth[0]
    assert loaded[0] <= lookback_truth[0] and loaded[1] <= lookback_truth[1] and loaded[2] <= lookback_truth[2]
    assert counts(run) == tuple(len(t) for t in loaded), "duplicate rows after recovery"
    assert cinnox_state(run)["cursor"] == sandbox.now().format("YYYY-MM-DDTHH:mm:ss.SSS") + "Z"
