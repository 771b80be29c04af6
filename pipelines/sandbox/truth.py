"""What the sandbox's APIs serve right now, straight from its stores: the answer key for tests.

Malformed records (Faults.bad_record_rate) are LEFT OUT of the getters by default, so they give
what a correct pipeline keeps; `include_bad=True` gives exactly what the API serves, broken
records included. `bad_records(vendor)` lists the malformed ones with what is wrong.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from pipelines import JSON

from .data import to_epoch_us
from .faults import BadRecord
from .part import part, parts

if TYPE_CHECKING:
    from . import Sandbox

# An aware datetime (pendulum's too), a date, an ISO string or epoch seconds (data.to_epoch_us).
Instant = dt.date | str | int | float
Record = dict[str, JSON]


def _us(value: Instant | None) -> int | None:
    return None if value is None else to_epoch_us(value)


class Truth:
    def __init__(self, sandbox: Sandbox):
        self._sb = sandbox

    def records(self, vendor: str, start: Instant, end: Instant, include_bad: bool = False) -> list[Record]:
        """What `vendor`'s API serves now with start <= its time < end, in time order, each
        record in its current state (the part's `records`: its docstring says which time)."""
        return part(vendor).records(self._sb, to_epoch_us(start), to_epoch_us(end), include_bad)

    def bad_records(self, vendor: str, start: Instant | None = None, end: Instant | None = None) -> list[BadRecord]:
        """The malformed records `vendor` serves now (None: no bound), each as
        {vendor, id (the true id), defect, field, record (as served)}."""
        return part(vendor).bad_records(self._sb, _us(start), _us(end))

    def __getattr__(self, name: str) -> Any:
        """Each part's getters by name: `cinnox_calls(start, end)` is `records("cinnox", ...)`;
        a lookup `genesys_headers(key)` is the genesys part's `headers`."""
        for p in parts():
            if name == p.truth_name:
                return lambda start, end, include_bad=False, _v=p.name: self.records(_v, start, end, include_bad)
            for lookup, read in p.lookups.items():
                if name == f"{p.name}_{lookup}":
                    return lambda key, _read=read: _read(self._sb, key)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
