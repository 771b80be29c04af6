"""`callhouse views` and `callhouse check`."""

from __future__ import annotations

import sys
from typing import TextIO

from pipelines.errors import EXIT_OK
from pipelines.models.data_tests import run_checks
from pipelines.models.views import build_views
from pipelines.warehouse.choice import resolve_warehouse


def views(warehouse: str | None, out: TextIO | None = None) -> int:
    build_views(resolve_warehouse(warehouse), out=out or sys.stdout)
    return EXIT_OK


def rebuild_views(warehouse: str | None) -> None:
    """After a load: the same build, its lines on stderr beside the load's progress."""
    build_views(resolve_warehouse(warehouse), out=sys.stderr)


def check(warehouse: str | None, out: TextIO | None = None) -> int:
    return run_checks(resolve_warehouse(warehouse), out=out or sys.stdout)
