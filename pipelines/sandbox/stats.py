"""Request counters per vendor, for tests that assert how a client behaved (retries, 429s)."""

from __future__ import annotations

import copy
import threading
from typing import TypedDict

from .part import parts

# Counts of one vendor; `endpoints`: endpoint -> requests.
VendorCounts = TypedDict(
    "VendorCounts",
    {
        "requests": int,
        "2xx": int,
        "4xx": int,
        "401": int,
        "429": int,
        "5xx": int,
        "dropped": int,
        "records": int,
        "endpoints": dict[str, int],
    },
)


def _empty() -> VendorCounts:
    return {"requests": 0, "2xx": 0, "4xx": 0, "401": 0, "429": 0, "5xx": 0, "dropped": 0, "records": 0, "endpoints": {}}


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_vendor: dict[str, VendorCounts] = {}
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._by_vendor = {p.name: _empty() for p in parts()}

    def request(self, vendor: str, endpoint: str) -> None:
        with self._lock:
            s = self._by_vendor[vendor]
            s["requests"] += 1
            s["endpoints"][endpoint] = s["endpoints"].get(endpoint, 0) + 1

    def dropped(self, vendor: str) -> None:
        with self._lock:
            self._by_vendor[vendor]["dropped"] += 1

    def reply(self, vendor: str, status: int, records: int) -> None:
        with self._lock:
            s = self._by_vendor[vendor]
            s["records"] += records
            if 200 <= status < 300:
                s["2xx"] += 1
            elif status >= 500:
                s["5xx"] += 1
            else:
                s["4xx"] += 1
                if status == 401:
                    s["401"] += 1
                elif status == 429:
                    s["429"] += 1

    def snapshot(self) -> dict[str, VendorCounts]:
        with self._lock:
            return copy.deepcopy(self._by_vendor)
