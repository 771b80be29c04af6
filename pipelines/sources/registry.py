"""The vendors callhouse loads: every list of sources, schemas and reserved names derives from here.

A new vendor is one line below (and its own folders: docs/adding-a-vendor.md). The order is the
order shared code lists them in (help texts, the report's legend, `callhouse status`)."""

from __future__ import annotations

from pipelines.errors import UsageError
from pipelines.sources.bandwidth import VENDOR as BANDWIDTH
from pipelines.sources.cinnox import VENDOR as CINNOX
from pipelines.sources.genesys import VENDOR as GENESYS
from pipelines.sources.vendor import Vendor

VENDORS: tuple[Vendor, ...] = (CINNOX, BANDWIDTH, GENESYS)
NAMES: tuple[str, ...] = tuple(v.name for v in VENDORS)
_BY_NAME = {v.name: v for v in VENDORS}


def vendor(name: str) -> Vendor:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UsageError(f"unknown source {name!r} (choose from {', '.join(NAMES)})") from None
