"""`callhouse demo`: the whole pipeline against the sandbox, then a short report and the HTML page.

Starts the vendor-API sandbox on a free loopback port, points every source at it (environment of
this process only), backfills the last 7 whole UTC days, runs the nightly load for today so far
(which rebuilds the views), runs the data checks and prints calls per vendor and outcome, answer
rates and the busiest hour; then writes `callhouse report`'s page beside the warehouse and ends
with its path. Each step is the same code path as its `callhouse` command.

The sandbox's rate limits and the sources' pacing (`Vendor.pacing`) are raised together for the
demo, 20 times each: the real limits would make the demo wait on the clock, not on the pipeline.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from pipelines.commands import loading
from pipelines.commands import report as html_report
from pipelines.commands.views import check
from pipelines.errors import EXIT_FAILED, CallhouseError
from pipelines.sandbox import Limits, Sandbox, SandboxConfig
from pipelines.sandbox.config import rate_limit_fields
from pipelines.sources.registry import VENDORS
from pipelines.sources.vendor import Vendor
from pipelines.warehouse.choice import resolve_warehouse
from pipelines.warehouse.kind import Warehouse

BACKFILL_DAYS = 7
DEMO_SPEEDUP = 20  # the vendors' rate limits, and the sources' pacing with them, times this


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run_demo(warehouse_arg: str | None, debug: bool = False, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    warehouse = resolve_warehouse(warehouse_arg)
    started = time.monotonic()
    limits = {name: limit * DEMO_SPEEDUP for name in rate_limit_fields() if (limit := getattr(Limits(), name))}
    sandbox = Sandbox(SandboxConfig(port=0, **limits)).start()
    now = sandbox.now()
    today = now.start_of("day")
    backfill_start = today.subtract(days=BACKFILL_DAYS)
    env = dict(sandbox.env())
    env.update(
        {
            **{k: v for vendor in VENDORS for k, v in vendor.sandbox_settings(_demo_pacing(vendor)).items()},
            # The first nightly run starts where the backfill ended (default: 30 days back).
            **{vendor.setting("start_date"): today.isoformat() for vendor in VENDORS},
        }
    )
    options = loading.LoadOptions(warehouse=warehouse_arg, debug=debug)
    _say(out, f"demo: sandbox on {sandbox.url} (clock {now:%Y-%m-%d %H:%M:%S} UTC); {warehouse.describe()}")
    try:
        with _environment(env):
            steps = [
                (
                    f"backfill {backfill_start:%Y-%m-%d} .. {today:%Y-%m-%d}",
                    "backfill",
                    lambda: loading.backfill(options, backfill_start.to_date_string(), today.to_date_string()),
                ),
                (f"nightly load (today up to {now:%H:%M} UTC), then the views", "run", lambda: loading.run(options)),
            ]
            for title, command, step in steps:
                _say(out, f"demo: {title}")
                code = _exit_code(step)
                if code:
                    _say(out, f"demo: `callhouse {command}` failed (exit {code}); stopping")
                    return code
            _say(out, "demo: data checks")
            check_code = _exit_code(lambda: check(warehouse_arg, out))
    finally:
        sandbox.stop()
    report(warehouse, out)
    _say(out, "demo: HTML report (`callhouse report`: the last 7 full days)")
    page = _write_page(warehouse_arg)
    _say(
        out, f"demo: done in {time.monotonic() - started:.0f}s" + ("" if check_code == 0 else "; data checks FAILED (see above)")
    )
    if page is None:
        return check_code or EXIT_FAILED
    _say(out, f"demo: open the report in a browser: {page}")
    return check_code


def _demo_pacing(vendor: Vendor) -> float | None:
    return vendor.pacing.limit * DEMO_SPEEDUP if vendor.pacing else None


def _write_page(warehouse_arg: str | None) -> Path | None:
    """`callhouse report` beside the warehouse; its path, or None after its error as one line."""
    try:
        return html_report.report(warehouse_arg, out=io.StringIO())
    except CallhouseError as exc:
        print(f"callhouse: {exc}", file=sys.stderr)
        return None


def _exit_code(step: Callable[[], int]) -> int:
    """A step's exit code; its error as one line, as the command line would print it."""
    try:
        return step()
    except CallhouseError as exc:
        print(f"callhouse: {exc}", file=sys.stderr)
        return exc.exit_code


def _say(out: TextIO, line: str) -> None:
    out.write(line + "\n")
    out.flush()


def report(warehouse: Warehouse, out: TextIO) -> None:
    con = warehouse.connect(read_only=True)
    try:
        zone = con.execute("select timezone from staging.reporting_settings").fetchall()[0][0]
        rows = con.execute("""
            select vendor, count(*) as calls,
                count(*) filter (where outcome = 'answered'), count(*) filter (where outcome = 'missed'),
                count(*) filter (where outcome = 'failed'), count(*) filter (where outcome = 'active'),
                count(*) filter (where outcome = 'unknown'),
                sum(talk_s)
            from reporting.calls group by vendor order by vendor
        """).fetchall()
        first, last = con.execute("select min(day), max(day) from reporting.daily_calls").fetchall()[0]
        busiest = con.execute("""
            select date_trunc('hour', timezone(s.timezone, c.started_at)) as hour, count(*) as calls
            from reporting.calls c cross join staging.reporting_settings s
            group by 1 order by calls desc, hour limit 1
        """).fetchone()
        peaks = con.execute("""
            select vendor, arg_max(hour, peak_concurrent_calls), max(peak_concurrent_calls)
            from reporting.hourly_concurrency group by vendor order by vendor
        """).fetchall()
    finally:
        con.close()

    lines = [
        "",
        f"Calls {first} .. {last} (days in {zone})",
        f"  {'vendor':<10} {'calls':>7} {'answered':>9} {'missed':>7} {'failed':>7} {'active':>7} {'unknown':>8} {'answer rate':>12} {'talk hours':>11}",
    ]
    totals = [0] * 6
    for vendor, calls, answered, missed, failed, active, unknown, talk in rows:
        lines.append(
            f"  {vendor:<10} {calls:>7,} {answered:>9,} {missed:>7,} {failed:>7,} {active:>7,} {unknown:>8,} "
            f"{_rate(answered, missed, failed):>12} {float(talk or 0) / 3600:>11,.1f}"
        )
        totals = [t + v for t, v in zip(totals, (calls, answered, missed, failed, active, unknown))]
    lines.append(
        f"  {'all':<10} {totals[0]:>7,} {totals[1]:>9,} {totals[2]:>7,} {totals[3]:>7,} {totals[4]:>7,} {totals[5]:>8,} "
        f"{_rate(*totals[1:4]):>12}"
    )
    lines.append("  (answer rate = answered / (answered + missed + failed))")
    if busiest:
        lines.append(f"Busiest hour: {busiest[0]:%Y-%m-%d %H:00} ({zone}), {busiest[1]:,} calls started")
    for vendor, hour, peak in peaks:
        lines.append(f"  peak concurrency {vendor:<10} {peak:>3} calls at once ({hour:%Y-%m-%d %H:00})")
    lines += ["", *warehouse.how_to_open(), ""]
    out.write("\n".join(lines) + "\n")
    out.flush()


def _rate(answered: int, missed: int, failed: int) -> str:
    ended = answered + missed + failed
    return f"{answered / ended:.1%}" if ended else "-"
