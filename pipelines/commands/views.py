"""`callhouse views` and `callhouse check`."""

from __future__ import annotations

import sys
from typing import TextIO

import pendulum

from pipelines.errors import EXIT_OK
from pipelines.models.data_tests import run_checks
from pipelines.models.views import build_views
from pipelines.warehouse.choice import resolve_warehouse
from pipelines.warehouse.view_builds import record_view_build


def views(warehouse: str | None, out: TextIO | None = None) -> int:
    _build(warehouse, out or sys.stdout)
    return EXIT_OK


def rebuild_views(warehouse: str | None) -> None:
    """After a load: the same build, its lines on stderr beside the load's progress."""
    _build(warehouse, sys.stderr)


def _build(warehouse_arg: str | None, out: TextIO) -> None:
    """The build, then its time (`status` compares it with the last load)."""
    warehouse = resolve_warehouse(warehouse_arg)
    built = build_views(warehouse, out=out)
    record_view_build(warehouse, pendulum.now("UTC"), len(built))


def check(warehouse: str | None, out: TextIO | None = None) -> int:
    return run_checks(resolve_warehouse(warehouse), out=out or sys.stdout)
