"""`callhouse maintain`, and the nightly run's maintenance on the schedule DUCKLAKE__MAINTAIN_EVERY chooses."""

from __future__ import annotations

import sys
from typing import TextIO

import pendulum

from pipelines.errors import EXIT_OK
from pipelines.warehouse.choice import resolve_warehouse
from pipelines.warehouse.maintenance import last_maintained, maintain, maintenance_settings


def run(warehouse: str | None, wait_s: float = 0.0, out: TextIO | None = None) -> int:
    maintain(resolve_warehouse(warehouse), out or sys.stdout, wait_s)
    return EXIT_OK


def maintain_if_due(warehouse: str | None) -> None:
    """After a nightly load: maintain when the last maintenance is older than the schedule (never
    when DUCKLAKE__MAINTAIN_EVERY is unset); its lines on stderr beside the load's."""
    every = maintenance_settings().every()
    if every is None:
        return
    chosen = resolve_warehouse(warehouse)
    last = last_maintained(chosen)
    if last is None or pendulum.now("UTC") - last >= every:
        maintain(chosen, sys.stderr)
