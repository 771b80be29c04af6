"""`callhouse report`: one self-contained HTML page of charts from the `reporting` views.

Reads the warehouse read-only: the views for the range, `callhouse status` per source and the
`callhouse check` data tests for the page's data health. Writes the file whole (a reader never
sees half a page) and says its path.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from pipelines.commands.status import source_status
from pipelines.errors import EXIT_OK, UsageError
from pipelines.fetch import windows
from pipelines.models.data_tests import declared_checks, evaluate_checks
from pipelines.models.views import check_timezone
from pipelines.report import formatting
from pipelines.report.page import PageInputs, render
from pipelines.report.queries import ReportRange, read_report, views_zone
from pipelines.sources.registry import NAMES
from pipelines.warehouse.choice import resolve_warehouse
from pipelines.warehouse.kind import Warehouse

REPORT_FILE = "report.html"


def default_path(warehouse: Warehouse) -> Path:
    """Beside the warehouse: warehouse/calls.duckdb -> warehouse/report.html (a DuckLake: in the
    folder of --warehouse, where this machine keeps its working files)."""
    return warehouse.folder / REPORT_FILE


def chosen_vendors(names: Sequence[str] | None) -> tuple[str, ...]:
    """The vendors named (each once, in the registry's order), else all of them."""
    unknown = sorted(set(names or ()) - set(NAMES))
    if unknown:
        raise UsageError(f"--vendor: unknown vendor {', '.join(map(repr, unknown))} (choose from {', '.join(NAMES)})")
    return tuple(n for n in NAMES if n in set(names or ())) or NAMES


def report(
    warehouse_arg: str | None,
    out_path: str | None = None,
    start: str | None = None,
    end: str | None = None,
    vendors: Sequence[str] | None = None,
    out: TextIO | None = None,
) -> Path:
    """Writes the page; returns its path."""
    out = out or sys.stdout
    warehouse = resolve_warehouse(warehouse_arg)
    chosen = chosen_vendors(vendors)
    if (start is None) != (end is None):
        raise UsageError("--start and --end go together (or leave both out for the last 7 full days)")
    target = Path(out_path).expanduser().absolute() if out_path else default_path(warehouse)
    if target.is_dir():
        raise UsageError(f"--out: {target} is a folder: name the file to write (e.g. {target / REPORT_FILE})")
    configured_zone = check_timezone()
    if start is not None and end is not None:
        ReportRange.parse(start, end, configured_zone)  # a bad range is told before the warehouse is opened
    declared = declared_checks()
    now = windows.now()
    con = warehouse.connect(read_only=True)
    try:
        zone = views_zone(con)
        period = (
            ReportRange.parse(start, end, zone)
            if start is not None and end is not None
            else ReportRange.last_full_days(now, zone)
        )
        data = read_report(con, period, chosen)
        sources = [source_status(con, name, now) for name in NAMES]
        checks = evaluate_checks(con, declared)
    finally:
        con.close()
    warnings = []
    if zone != configured_zone:
        warnings.append(
            f"The views were built for time zone {zone}, but REPORTING__TIMEZONE is now {configured_zone}: "
            f"this page shows {zone}; run `callhouse views` to rebuild them for {configured_zone}."
        )
    for warning in warnings:
        print(f"callhouse: report: {warning}", file=sys.stderr)
    page = render(PageInputs(data, warehouse.describe().removeprefix("warehouse "), now, sources, checks, warnings))
    _write(target, page)
    total = data.total
    out.write(
        f"report: {period.describe()}, {', '.join(chosen)}: {formatting.count(total.calls)} calls, "
        f"answer rate {formatting.percent(total.answer_rate)}; {checks.summary}\n"
    )
    out.write(f"report: wrote {target}\n")
    out.flush()
    return target


def run(
    warehouse_arg: str | None, out_path: str | None, start: str | None, end: str | None, vendors: Sequence[str] | None
) -> int:
    report(warehouse_arg, out_path, start, end, vendors)
    return EXIT_OK


def _write(target: Path, page: str) -> None:
    """All or nothing: a temporary file beside the target, renamed over it."""
    temp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(page)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except OSError as exc:
        if temp and os.path.exists(temp):
            os.unlink(temp)
        raise UsageError(f"--out: cannot write {target}: {exc.strerror or exc}") from None
