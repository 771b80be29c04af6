"""Dagster definitions of callhouse (`pip install -e '.[dagster]'`; `dagster dev -m
pipelines.orchestration.dagster_assets`).

- One asset per source (`cinnox`, `bandwidth`, `genesys`), partitioned by UTC day: materializing a
  partition is `callhouse backfill` of that day for that source.
- `views`, downstream of the three: the build of `sql/` (`callhouse views`).
- The data tests of `sql/*.yml` as asset checks (on the source asset for raw tables, on `views`
  for views), plus each source's freshness and coverage gaps: a failing test fails its check,
  whose description is the test's `FAIL ...` line.
- Job `callhouse_nightly` and its schedule (02:30 UTC): the nightly load, `callhouse run` (each
  source from its cursor up to now), then the views and the checks. Its runs carry the tag
  `callhouse/load=nightly`, which makes a source asset run the nightly load instead of a backfill
  of the run's partition (the day before the tick).

Settings are callhouse's own (`SOURCES__...`, `WAREHOUSE__...`, `.dlt/` in Dagster's working
folder); the resource `callhouse` only says which warehouse (default: as the command line).
"""

import io
import os
import re
from typing import Any

import dagster as dg
import pendulum
from dagster import AssetCheckExecutionContext, AssetExecutionContext

from pipelines.commands.alerted import performed
from pipelines.commands.loading import LoadOptions, load_range, nightly
from pipelines.commands.outcome import CommandResult
from pipelines.commands.views import views as build_views
from pipelines.models.data_tests import DataTest, declared_checks, evaluate_checks
from pipelines.sources.registry import NAMES
from pipelines.warehouse.choice import resolve_warehouse

NIGHTLY_TAG = "callhouse/load"
# The first day a partition exists for; later days are added as they end (UTC).
PARTITIONS_START = os.environ.get("CALLHOUSE_PARTITIONS_START", "2026-01-01")
DAILY = dg.DailyPartitionsDefinition(start_date=PARTITIONS_START, timezone="UTC")
VIEWS = dg.AssetKey("views")


class Callhouse(dg.ConfigurableResource):
    """Which warehouse: a DuckDB file path, or the working folder of a DuckLake or PostgreSQL one
    (None: $CALLHOUSE_WAREHOUSE or warehouse/calls.duckdb, as the command line)."""

    warehouse: str | None = None


def _load_asset(source: str) -> dg.AssetsDefinition:
    @dg.asset(
        name=source,
        partitions_def=DAILY,
        group_name="callhouse",
        kinds={"dlt", "duckdb"},
        description=f"{source}'s raw tables; a partition is one UTC day (a backfill of it).",
    )
    def load(context: AssetExecutionContext, callhouse: Callhouse) -> dg.MaterializeResult:
        if context.run.tags.get(NIGHTLY_TAG) == "nightly":
            options = LoadOptions(callhouse.warehouse, (source,), views=False)
            result = performed(f"run --source {source}", callhouse.warehouse, lambda r: nightly(options, r))
        else:
            window = context.partition_time_window
            start, end = pendulum.instance(window.start).isoformat(), pendulum.instance(window.end).isoformat()
            options = LoadOptions(callhouse.warehouse, (source,))
            command = f"backfill --start {start} --end {end} --source {source}"
            result = performed(command, callhouse.warehouse, lambda r: load_range(options, start, end, r))
        return _materialized(result)

    return load


def _materialized(result: CommandResult) -> dg.MaterializeResult:
    if not result.ok:
        raise dg.Failure(description="; ".join(result.failures), metadata={"failures": result.failures})
    [loaded] = result.sources
    return dg.MaterializeResult(
        metadata={
            "rows": loaded.total_rows,
            "rows_by_table": loaded.rows,
            "windows": loaded.windows,
            "quarantined": loaded.quarantined,
            "range": f"[{result.start.isoformat() if result.start else 'cursor - lookback'}, {result.end.isoformat() if result.end else 'now'})",
        }
    )


SOURCE_ASSETS = [_load_asset(name) for name in NAMES]


@dg.asset(
    key=VIEWS,
    deps=[dg.AssetKey(name) for name in NAMES],
    partitions_def=DAILY,
    group_name="callhouse",
    kinds={"sql"},
    description="The staging, intermediate and reporting views built from sql/ (every partition builds all of them).",
)
def views(callhouse: Callhouse) -> dg.MaterializeResult:
    out = io.StringIO()
    build_views(callhouse.warehouse, out)
    return dg.MaterializeResult(metadata={"build": out.getvalue().strip()})


# --- the data tests as asset checks --------------------------------------------------------------


def check_name(label: str) -> str:
    """A Dagster check name (letters, digits, `_`) from a test's name."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:200]


def _asset_of(test: DataTest) -> dg.AssetKey:
    schema = test.relation.split(".", 1)[0]
    return dg.AssetKey(schema) if schema in NAMES else VIEWS


def _check_specs() -> tuple[list[dg.AssetCheckSpec], list[tuple[str, dg.AssetKey]]]:
    """One spec per declared test (in `evaluate_checks`' order), then freshness and coverage per source."""
    declared = declared_checks()
    specs: list[dg.AssetCheckSpec] = []
    order: list[tuple[str, dg.AssetKey]] = []
    seen: set[str] = set()

    def add(name: str, asset: dg.AssetKey, description: str) -> None:
        base, n = name, 2
        while name in seen:  # two tests reading alike once reduced to a name
            name, n = f"{base}_{n}", n + 1
        seen.add(name)
        specs.append(dg.AssetCheckSpec(name, asset=asset, description=description))
        order.append((name, asset))

    for test in [*declared.raw_tests, *declared.view_tests]:
        add(check_name(test.name), _asset_of(test), test.name)
    for name in NAMES:
        add(f"{name}_freshness", dg.AssetKey(name), f"{name}: freshness (sql/sources.yml, CHECKS__FRESHNESS__...)")
    for name in NAMES:
        add(f"{name}_coverage_gaps", dg.AssetKey(name), f"{name}: no gap inside the loaded ranges")
    return specs, order


CHECK_SPECS, CHECK_ORDER = _check_specs()


@dg.multi_asset_check(specs=CHECK_SPECS, can_subset=True, name="callhouse_data_tests")
def data_tests(context: AssetCheckExecutionContext, callhouse: Callhouse) -> Any:
    """`callhouse check`, each test its own check result."""
    declared = declared_checks()
    con = resolve_warehouse(callhouse.warehouse).connect(read_only=True)
    try:
        results = evaluate_checks(con, declared)
    finally:
        con.close()
    tests = len(declared.raw_tests) + len(declared.view_tests)
    outcomes = results.outcomes[:tests] + [results.freshness[n] for n in NAMES]
    # evaluate_checks lists stale open calls (warnings, status lists them) before the coverage gaps.
    outcomes += results.outcomes[-len(NAMES) :]
    selected = context.selected_asset_check_keys
    for (name, asset), outcome in zip(CHECK_ORDER, outcomes):
        if dg.AssetCheckKey(asset, name) not in selected:
            continue
        yield dg.AssetCheckResult(
            asset_key=asset,
            check_name=name,
            passed=outcome.status in ("pass", "skip", "warn"),
            severity=dg.AssetCheckSeverity.WARN if outcome.status == "warn" else dg.AssetCheckSeverity.ERROR,
            description=outcome.line or None,
            metadata={"status": outcome.status, **({"detail": outcome.detail} if outcome.detail else {})},
        )


# --- the nightly job and its schedule --------------------------------------------------------------

nightly_job = dg.define_asset_job(
    "callhouse_nightly",
    selection=dg.AssetSelection.assets(*SOURCE_ASSETS, views),  # and their checks
    tags={NIGHTLY_TAG: "nightly"},
    description="The nightly load (`callhouse run --check`): every source from its cursor up to now, the views, the checks.",
)
nightly_schedule = dg.build_schedule_from_partitioned_job(nightly_job, hour_of_day=2, minute_of_hour=30)

defs = dg.Definitions(
    assets=[*SOURCE_ASSETS, views],
    asset_checks=[data_tests],
    jobs=[nightly_job],
    schedules=[nightly_schedule],
    resources={"callhouse": Callhouse()},
)
