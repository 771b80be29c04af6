"""What one source run counted: shown live, in the summary line and in the run log."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from pipelines.fetch.windows import Window


class RequestCounts(Protocol):
    requests: int
    throttled: int
    retries: int


class CountsRequests(Protocol):
    """A vendor client, or anything else that sends requests and counts them (fetch/http.py)."""

    @property
    def stats(self) -> RequestCounts: ...


@dataclass
class RunStats:
    """What one source did in one command: shown live, in the summary and in the run log."""

    source: str
    windows_total: int = 0
    windows_done: int = 0
    pages: int = 0
    rows: Counter[str] = field(default_factory=Counter)  # warehouse table -> rows extracted
    quarantined: int = 0
    truncated: list[tuple[Window, int]] = field(default_factory=list)
    requests: int = 0
    throttled: int = 0
    retries: int = 0
    notices: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def request_counter(self, *clients: CountsRequests) -> Callable[[], None]:
        """A function that sets the request counts to what earlier loads of this run counted
        plus what these clients (their `.stats`) have counted since: the runner builds a source,
        and so new clients, for every checkpoint of one run."""
        base = (self.requests, self.throttled, self.retries)

        def update() -> None:
            self.requests = base[0] + sum(c.stats.requests for c in clients)
            self.throttled = base[1] + sum(c.stats.throttled for c in clients)
            self.retries = base[2] + sum(c.stats.retries for c in clients)

        return update
