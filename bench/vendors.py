"""The vendors the benchmark loads: their warehouse tables, what one bench "call" is, and how a
record's child rows are counted for the truth (bench/sandbox_process.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


def _cinnox_children(record: dict[str, Any]) -> tuple[int, int]:
    events = record.get("recordingEventList") or []
    return len(events), sum(len(event.get("files") or []) for event in events)


def _bandwidth_children(record: dict[str, Any]) -> tuple[int]:
    headers = record.get("sipHeaders")
    return (len(headers) if isinstance(headers, dict) else 0,)


@dataclass(frozen=True)
class BenchVendor:
    name: str
    display: str
    record: str  # what one record is, in figures: "calls", "SIP trace rows"
    tables: tuple[str, ...]  # the record table first, then its child tables
    child_rows: Callable[[dict[str, Any]], tuple[int, ...]]
    # records asked for -> the sandbox's volume option (bench/sandbox_process.py), per day
    volume_option: str
    records_per_unit: float = 1.0  # Genesys: the sandbox's dialogs have ~8.4 SIP messages each

    def sandbox_volume(self, records_per_day: float) -> list[str]:
        return [self.volume_option, repr(records_per_day / self.records_per_unit)]


VENDORS = {
    v.name: v
    for v in (
        BenchVendor(
            "cinnox",
            "CINNOX",
            "calls",
            ("call_detail", "call_detail__recording_event_list", "call_detail__recording_event_list__files"),
            _cinnox_children,
            "--calls-per-day",
        ),
        BenchVendor(
            "bandwidth", "Bandwidth", "calls", ("calls", "calls__sip_headers"), _bandwidth_children, "--bandwidth-calls-per-day"
        ),
        BenchVendor("genesys", "Genesys", "SIP trace rows", ("siptraces",), lambda record: (), "--genesys-dialogs-per-day", 8.4),
    )
}
