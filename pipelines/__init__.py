"""callhouse: call records from CINNOX, Bandwidth and Genesys into one warehouse.

From Python: `from pipelines import run, backfill, check, dlt_source` (pipelines/api.py), loaded
on first use so that importing the command line or the sandbox stays light.
"""

from __future__ import annotations

from typing import Any

API = ("run", "backfill", "check", "dlt_source", "CommandResult", "SourceResult")


def __getattr__(name: str) -> Any:
    if name in API:
        from pipelines import api

        return getattr(api, name)
    raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
