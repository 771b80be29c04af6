"""A small warehouse loaded as a team's is: a backfill, then nightly runs half a day apart, each
through the real CLI (every nightly `run` rebuilds the views)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Cli
from tests.views.conftest import FAST_ENV, NIGHTLY_START

# Few calls (every reporting view still has rows): a DuckLake load commits once per window, and
# on a busy machine each command of a lake takes a minute or more.
SMALL = dict(cinnox_calls_per_day=300, bandwidth_calls_per_day=80, genesys_dialogs_per_day=30)
BACKFILL = ("backfill", "--start", NIGHTLY_START.subtract(days=1).isoformat(), "--end", NIGHTLY_START.isoformat())


def small_cli(make_sandbox: Any, cli: Any, **env: str) -> Cli:
    return cli(make_sandbox(**SMALL), **FAST_ENV, **env)


def backfill(run: Cli, *sources: str) -> None:
    """The day before the nightly runs start (all sources, or these)."""
    result = run(*BACKFILL, *(f"--source={source}" for source in sources))
    assert result.returncode == 0, result.output


def nightly(run: Cli, hours: float, *sources: str) -> str:
    """The sandbox's clock moves on by `hours` (new calls to load), then `callhouse run` (all
    sources, or these)."""
    assert run.sandbox is not None
    run.sandbox.advance(hours=hours)
    result = run("run", *(f"--source={source}" for source in sources))
    assert result.returncode == 0, result.output
    assert "views: built" in result.output, result.output
    return result.output
