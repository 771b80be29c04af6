"""What a run tells the user about Genesys's quirks: truncated windows and expired ranges."""

from __future__ import annotations

import pendulum

from pipelines.extract.run_stats import RunStats
from pipelines.fetch.windows import Window, iso, now
from pipelines.settings import setting_name

from .settings import NAME, RETENTION

TRUNCATION_NOTICES = 5  # the rest are counted in the summary and listed by `callhouse status`


def note_truncated(stats: RunStats, truncated: list[tuple[Window, int]], cap: int) -> None:
    """Add `truncated` to stats (WindowWalk records them in state) and say so."""
    before = len(stats.truncated)
    stats.truncated.extend(truncated)
    for number, (window, rows) in enumerate(truncated, start=before + 1):
        if number <= TRUNCATION_NOTICES:
            stats.notices.append(
                f"TRUNCATED {window}: {rows} rows, the result cap of {cap}, in a window that cannot be split "
                f"further ({setting_name('sources', NAME, 'min_window_ms')}); rows past the cap were not loaded"
            )
        elif number == TRUNCATION_NOTICES + 1:
            stats.notices.append("more windows were TRUNCATED: `callhouse status` lists them all")


def retention_horizon() -> pendulum.DateTime:
    """Where Genesys's retention starts now. "Now" is CALLHOUSE_NOW when a replay or a test pins
    the run's clock (the vendor's clock then is the pinned one), else the wall clock."""
    return now() - RETENTION


class RetentionNotice(str):
    """The run's one notice about ranges past retention; it grows as more such windows come."""

    start: pendulum.DateTime
    end: pendulum.DateTime
    windows: int

    def __new__(cls, start: pendulum.DateTime, end: pendulum.DateTime, windows: int) -> RetentionNotice:
        notice = super().__new__(
            cls,
            (
                f"[{iso(start)}, {iso(end)}) is older than Genesys's {RETENTION.days}-day SIP trace retention "
                f"(traces kept since {retention_horizon().to_date_string()}): {windows} windows returned no rows"
            ),
        )
        notice.start, notice.end, notice.windows = start, end, windows
        return notice


def note_retention(stats: RunStats, window: Window, records: int) -> None:
    """Vendor quirk: traces older than 21 days are gone and the API answers such ranges with
    nothing, not an error. Say so, once per run."""
    if records or window.end > retention_horizon():
        return
    for index, notice in enumerate(stats.notices):
        if isinstance(notice, RetentionNotice):
            stats.notices[index] = RetentionNotice(notice.start, window.end, notice.windows + 1)
            return
    stats.notices.append(RetentionNotice(window.start, window.end, 1))
