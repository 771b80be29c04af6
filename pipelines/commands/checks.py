"""`callhouse check` and the checks of `run --check`: the data tests, their lines, the alert."""

from __future__ import annotations

import sys
from typing import TextIO

from pipelines.commands.alerted import alerted
from pipelines.commands.outcome import CommandResult
from pipelines.models.data_tests import report_checks
from pipelines.warehouse.choice import resolve_warehouse
from pipelines.warehouse.kind import Warehouse


def check(warehouse_arg: str | None) -> int:
    """The command: the data tests, posted to the webhook when one fails (exit 1)."""
    return alerted("check", warehouse_arg, lambda result: run_data_tests(resolve_warehouse(warehouse_arg), result))


def run_data_tests(warehouse: Warehouse, result: CommandResult, out: TextIO | None = None) -> None:
    """Every data test: one line per failing (or warning) test, then the summary, as `check` prints."""
    checks = report_checks(warehouse, out or sys.stdout)
    result.checks_run = True
    result.failed_checks = [o.line for o in checks.outcomes if o.status == "fail"]
