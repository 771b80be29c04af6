"""What the sandbox's APIs serve right now, straight from its stores: the answer key for tests.

Malformed records (Faults.bad_record_rate) are LEFT OUT of the getters by default, so they give
what a correct pipeline keeps; `include_bad=True` gives exactly what the API serves, broken
records included. `bad_records(vendor)` lists the malformed ones with what is wrong.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pipelines import JSON

from .data import to_epoch_us
from .faults import BadRecord

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

    @property
    def _now_ms(self) -> int:
        return self._sb.runtime.clock.now_ms()

    def cinnox_calls(self, start: Instant, end: Instant, include_bad: bool = False) -> list[Record]:
        """Calls with start <= callDate < end, as served now, in (callDate, id) order."""
        return self._sb.cinnox_store.calls(
            to_epoch_us(start), to_epoch_us(end), self._now_ms, self._sb.faults.bad_record_rate, include_bad
        )

    def bandwidth_calls(self, start: Instant, end: Instant, include_bad: bool = False) -> list[Record]:
        """Calls with start <= startTime < end in their current state, in (startTime, id) order."""
        return self._sb.bandwidth_store.calls(
            to_epoch_us(start), to_epoch_us(end), self._now_ms, self._sb.faults.bad_record_rate, include_bad
        )

    def genesys_messages(self, start: Instant, end: Instant, include_bad: bool = False) -> list[Record]:
        """HomerRecords with start <= date < end within retention, in (date, id) order, uncapped."""
        return self._sb.genesys_store.messages(
            to_epoch_us(start),
            to_epoch_us(end),
            self._now_ms,
            self._sb.limits.genesys_retention_days,
            self._sb.faults.bad_record_rate,
            include_bad,
        )

    def genesys_headers(self, conversation_id: str) -> dict[str, list[str]] | None:
        """The `headers` map the headers endpoint serves, or None where it answers 404."""
        found = self._sb.genesys_store.conversation(conversation_id, self._now_ms, self._sb.limits.genesys_retention_days)
        return None if found is None else found[2]

    def bad_records(self, vendor: str, start: Instant | None = None, end: Instant | None = None) -> list[BadRecord]:
        """Malformed records served now (default: the whole visible history), each
        {vendor, id (the true id), defect, field, record (as served)}."""
        rate, now = self._sb.faults.bad_record_rate, self._now_ms
        if vendor == "cinnox":
            return self._sb.cinnox_store.bad_records(_us(start), _us(end), now, rate)
        if vendor == "bandwidth":
            return self._sb.bandwidth_store.bad_records(_us(start), _us(end), now, rate)
        if vendor == "genesys":
            return self._sb.genesys_store.bad_records(_us(start), _us(end), now, self._sb.limits.genesys_retention_days, rate)
        raise ValueError(f"unknown vendor {vendor!r}")
