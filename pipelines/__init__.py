"""callhouse: call-detail records from vendor APIs into a warehouse, and the views built on them.

From Python: `from pipelines import run, backfill, check, dlt_source` (pipelines/api.py), loaded
on first use so that importing the command line or the sandbox stays light.
"""

from typing import TypeAlias

# A value as a vendor's JSON body parses: the type for data whose shape the vendor decides (and
# the sandbox serves). Here, at the package's root, because every layer and the sandbox (which
# imports nothing else of the pipeline) use it.
JSON: TypeAlias = dict[str, "JSON"] | list["JSON"] | str | int | float | bool | None

API = ("run", "backfill", "check", "dlt_source", "CommandResult", "SourceResult")


def __getattr__(name: str) -> object:
    if name in API:
        from pipelines import api

        return getattr(api, name)
    raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
