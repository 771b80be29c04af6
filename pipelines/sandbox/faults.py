"""Fault injection: per-request failures (latency, 5xx, 429, dropped connections, broken bodies)
and per-record defects (malformed records for quarantine tests).

The vendor modules say how their own 5xx and 429 look; this module only decides when.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Protocol, TypedDict

import orjson

from pipelines import JSON

from .config import Faults
from .data import derive_seed

DROP, ERROR_5XX, RATE_429, HTML_200, TRUNCATED, NON_JSON = ("drop", "5xx", "429", "html_200", "truncated", "non_json")
_ORDER = (
    (DROP, "drop_rate"),
    (ERROR_5XX, "error_5xx_rate"),
    (RATE_429, "rate_429_rate"),
    (HTML_200, "html_200_rate"),
    (TRUNCATED, "truncated_rate"),
    (NON_JSON, "non_json_rate"),
)


class FaultPlan:
    """Draws each request's fault from one seeded stream. Sequential clients get a repeatable
    sequence; concurrent ones get the same rates in whatever order their requests land."""

    def __init__(self, faults: Faults, seed: int):
        self.faults = faults
        self._rng = random.Random(derive_seed(seed, "faults"))
        self._lock = threading.Lock()

    def draw(self, vendor: str) -> tuple[str | None, float]:
        """(fault or None, a second uniform for choosing among variants, e.g. which 5xx)."""
        f = self.faults
        if vendor not in f.vendors or not any(getattr(f, name) for _, name in _ORDER):
            return None, 0.0
        with self._lock:
            u, v = self._rng.random(), self._rng.random()
        edge = 0.0
        for fault, name in _ORDER:
            edge += getattr(f, name)
            if u < edge:
                return fault, v
        return None, v


HTML_ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n"
)
NON_JSON_BODY = b"upstream connect error or disconnect/reset before headers. reset reason: connection termination"


def truncate(body: bytes, v: float) -> bytes:
    """Cut a JSON body somewhere in its middle: a complete HTTP message with unparseable JSON."""
    if len(body) < 2:
        return b"{"
    return body[: max(1, int(len(body) * (0.1 + 0.8 * v)))]


# --- malformed records ------------------------------------------------------------------------

MISSING_ID, BAD_TIMESTAMP, WRONG_TYPE, EXTRA_FIELD = "missing_id", "bad_timestamp", "wrong_type", "extra_field"
DEFECTS = (MISSING_ID, BAD_TIMESTAMP, WRONG_TYPE, EXTRA_FIELD)
UNPARSEABLE_TIMESTAMP = "2026-13-45T99:00"
EXTRA_FIELD_NAME = "unexpectedField"


@dataclass(frozen=True)
class DefectTargets:
    """Which of a vendor's fields each defect breaks."""

    id_field: str
    timestamp_field: str
    wrong_type_field: str
    wrong_type_value: JSON


def is_bad(badness: float, rate: float) -> bool:
    return rate > 0 and badness < rate


def broken_field(defect: str, targets: DefectTargets) -> str:
    return {MISSING_ID: targets.id_field, BAD_TIMESTAMP: targets.timestamp_field, WRONG_TYPE: targets.wrong_type_field}.get(
        defect, EXTRA_FIELD_NAME
    )


def malform(record: dict[str, JSON], defect: str, targets: DefectTargets) -> tuple[dict[str, JSON], str]:
    """A broken copy of `record` and the field that was broken."""
    broken, field = dict(record), broken_field(defect, targets)
    if defect == MISSING_ID:
        broken.pop(field, None)
    elif defect == BAD_TIMESTAMP:
        broken[field] = UNPARSEABLE_TIMESTAMP
    elif defect == WRONG_TYPE:
        broken[field] = targets.wrong_type_value
    else:
        broken[field] = {"note": "field not in the documented schema", "v": 2}
    return broken, field


class GeneratedDay(Protocol):
    """A vendor's generated day (cinnox/records.py, bandwidth/records.py, genesys/dialogs.py)."""

    @property
    def records(self) -> list[bytes]: ...
    @property
    def defect(self) -> bytearray: ...
    @property
    def malformed(self) -> dict[int, tuple[bytes, str, str]]: ...


def malformed_copy(day: GeneratedDay, i: int, targets: DefectTargets) -> tuple[bytes, str, str]:
    """Record i of a generated day as served broken (bytes, defect, field), cached on the day."""
    found = day.malformed.get(i)
    if found is None:
        defect = DEFECTS[day.defect[i]]
        broken, fld = malform(orjson.loads(day.records[i]), defect, targets)
        found = day.malformed[i] = (orjson.dumps(broken), defect, fld)
    return found


class BadRecord(TypedDict):
    vendor: str
    id: str  # the true id
    defect: str
    field: str
    record: dict[str, JSON]  # as served


def bad_record_entry(vendor: str, true_id: str, defect: str, field: str, served: dict[str, JSON]) -> BadRecord:
    return {"vendor": vendor, "id": true_id, "defect": defect, "field": field, "record": served}
