"""Request counters per vendor, for tests that assert how a client behaved (retries, 429s)."""

from __future__ import annotations

import copy
import threading

from .part import parts


def _empty() -> dict:
    return {"requests": 0, "2xx": 0, "4xx": 0, "401": 0, "429": 0, "5xx": 0, "dropped": 0, "records": 0, "endpoints": {}}


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_vendor: dict[str, dict] = {}
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
                if status in (401, 429):
                    s[str(status)] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return copy.deepcopy(self._by_vendor)
