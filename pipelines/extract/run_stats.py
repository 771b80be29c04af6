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


# How the run's notice about NUL characters starts (docs/loading.md).
NUL_NOTICE = "NUL characters removed from "


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
    nul_removed: int = 0  # text values that had NUL characters removed (fetch/records.without_nul)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    def count_nul_removed(self, values: int) -> None:
        """Add to the values that had NUL characters removed; the run's one notice says how many."""
        if not values:
            return
        self.notices[:] = [n for n in self.notices if not n.startswith(NUL_NOTICE)]
        self.nul_removed += values
        self.notices.append(f"{NUL_NOTICE}{self.nul_removed} text value(s) (PostgreSQL cannot store them)")

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
