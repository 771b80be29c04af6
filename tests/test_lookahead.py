"""The lookahead that fetches windows while the previous checkpoint loads: order, reuse across
checkpoints, errors, its memory bound and stopping. A plain fetch function stands in for a
vendor (the end-to-end paths run in tests/sources and tests/reliability with real HTTP)."""

from __future__ import annotations

import tempfile
import threading
import time

import pendulum
import pyarrow as pa
import pytest

from pipelines.extract.lookahead import Lookahead
from pipelines.fetch.windows import split

WINDOWS = split(pendulum.datetime(2026, 11, 1), pendulum.datetime(2026, 11, 9), pendulum.duration(days=1))
ROWS_PER_PAGE, PAGES_PER_WINDOW = 10, 2


class Vendor:
    """Two pages of ten rows per window; records every fetch; can fail at one window."""

    def __init__(self, fail_at: int | None = None):
        self.fetched: list = []
        self.fail_at = fail_at
        self.closed = 0
        self.lock = threading.Lock()

    def fetch_window(self, window):
        with self.lock:
            self.fetched.append(window)
        for page in range(PAGES_PER_WINDOW):
            if self.fail_at is not None and window == WINDOWS[self.fail_at] and page == 1:
                raise RuntimeError(f"vendor failed at {window}")
            yield {"t": pa.table({"window": [str(window.start)] * ROWS_PER_PAGE, "page": [page] * ROWS_PER_PAGE})}

    def close(self):
        self.closed += 1


def _taken_rows(batches):
    return [(row["window"], row["page"]) for batch in batches for row in batch["t"].to_pylist()]


def test_windows_come_in_plan_order_with_every_page_and_a_later_checkpoint_reuses_the_fetch():
    vendor, ahead = Vendor(), Lookahead()
    try:
        ahead.follow(WINDOWS, vendor.fetch_window, vendor.close, max_rows=1000)
        first = [_taken_rows(ahead.take(w)) for w in WINDOWS[:3]]
        # the next checkpoint asks again with what is left of the same plan, with its own client
        second_client = Vendor()
        ahead.follow(WINDOWS[3:], second_client.fetch_window, second_client.close, max_rows=1000)
        rest = [_taken_rows(ahead.take(w)) for w in WINDOWS[3:]]
    finally:
        ahead.close()
    for window, rows in zip(WINDOWS, first + rest):
        assert rows == [(str(window.start), p) for p in range(PAGES_PER_WINDOW) for _ in range(ROWS_PER_PAGE)]
    assert vendor.fetched == WINDOWS, "each window fetched once, in order, by the first client"
    assert second_client.fetched == [] and second_client.closed == 1
    assert vendor.closed == 1, "the fetching client is closed when the lookahead closes"


def test_a_different_plan_drops_what_was_fetched_ahead_and_starts_over():
    vendor, ahead = Vendor(), Lookahead()
    try:
        ahead.follow(WINDOWS, vendor.fetch_window, vendor.close, max_rows=1000)
        list(ahead.take(WINDOWS[0]))
        other = WINDOWS[5:]
        ahead.follow(other, vendor.fetch_window, vendor.close, max_rows=1000)
        assert [w for w in other if _taken_rows(ahead.take(w))] == other
    finally:
        ahead.close()
    assert vendor.fetched[-len(other) :] == other


def test_a_fetch_error_is_raised_at_its_window_after_the_windows_before_it():
    vendor, ahead = Vendor(fail_at=2), Lookahead()
    try:
        ahead.follow(WINDOWS, vendor.fetch_window, vendor.close, max_rows=1000)
        assert _taken_rows(ahead.take(WINDOWS[0])) and _taken_rows(ahead.take(WINDOWS[1]))
        with pytest.raises(RuntimeError, match="vendor failed at"):
            list(ahead.take(WINDOWS[2]))
    finally:
        ahead.close()
    assert vendor.fetched == WINDOWS[:3], "nothing is fetched after a failed window"


def test_no_more_than_max_rows_wait_unless_nothing_does():
    # Pages are handed over one by one: the bound holds whatever the size of a window.
    vendor, ahead = Vendor(), Lookahead()
    window_rows = ROWS_PER_PAGE * PAGES_PER_WINDOW
    try:
        ahead.follow(WINDOWS, vendor.fetch_window, vendor.close, max_rows=2 * window_rows)
        time.sleep(0.5)
        assert len(vendor.fetched) == 3, "two windows wait, the third is fetched and blocks"
        list(ahead.take(WINDOWS[0]))
        time.sleep(0.5)
        assert len(vendor.fetched) == 4
        # a window larger than the bound goes through page by page: one page waits at a time
        one_page, small = Vendor(), Lookahead()
        try:
            small.follow(WINDOWS, one_page.fetch_window, one_page.close, max_rows=1)
            time.sleep(0.3)
            assert one_page.fetched == WINDOWS[:1]
            assert len(_taken_rows(small.take(WINDOWS[0]))) == ROWS_PER_PAGE * PAGES_PER_WINDOW
        finally:
            small.close()
    finally:
        ahead.close()


def test_close_stops_the_fetch_and_releases_the_client():
    vendor, ahead = Vendor(), Lookahead()
    ahead.follow(WINDOWS, vendor.fetch_window, vendor.close, max_rows=ROWS_PER_PAGE)
    time.sleep(0.2)
    started = time.monotonic()
    ahead.close()
    assert time.monotonic() - started < 2
    assert vendor.closed == 1
    assert len(vendor.fetched) < len(WINDOWS)
    assert not [t for t in threading.enumerate() if t.name == "lookahead"]


def _temporary_folder_in(folder, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)  # TMPDIR is read once per process


def _wait_for_every_window(vendor):
    deadline = time.monotonic() + 5
    while len(vendor.fetched) < len(WINDOWS) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)  # the last page handed over after its fetch


def test_rows_past_memory_rows_wait_on_disk_and_come_back_whole_and_in_order(tmp_path, monkeypatch):
    # A load takes as long as fetching a checkpoint: what waits meanwhile goes to Arrow files,
    # not memory, and the walk gets exactly the pages, in order; the files go once taken.
    _temporary_folder_in(tmp_path, monkeypatch)
    vendor, ahead = Vendor(), Lookahead(memory_rows=ROWS_PER_PAGE)
    try:
        ahead.follow(WINDOWS, vendor.fetch_window, vendor.close, max_rows=10_000)
        _wait_for_every_window(vendor)
        spilled = list(tmp_path.glob("callhouse-lookahead-*/*.arrow"))
        assert len(spilled) == len(WINDOWS) * PAGES_PER_WINDOW - 1, "one page in memory, the rest on disk"
        taken = [_taken_rows(ahead.take(window)) for window in WINDOWS[:4]]
        assert taken == [
            [(str(w.start), page) for page in range(PAGES_PER_WINDOW) for _ in range(ROWS_PER_PAGE)] for w in WINDOWS[:4]
        ]
        assert len(list(tmp_path.glob("callhouse-lookahead-*/*.arrow"))) == len(spilled) - (4 * PAGES_PER_WINDOW - 1)
    finally:
        ahead.close()
    assert not list(tmp_path.iterdir()), "closing removes what was still waiting on disk"


def test_without_memory_rows_nothing_waits_on_disk(tmp_path, monkeypatch):
    # Pseudonymization runs after the lookahead: with it on, pages holding personal data wait in memory.
    _temporary_folder_in(tmp_path, monkeypatch)
    vendor, ahead = Vendor(), Lookahead(memory_rows=None)
    try:
        ahead.follow(WINDOWS, vendor.fetch_window, vendor.close, max_rows=10_000)
        _wait_for_every_window(vendor)
        assert not list(tmp_path.iterdir())
        assert len(_taken_rows(ahead.take(WINDOWS[0]))) == ROWS_PER_PAGE * PAGES_PER_WINDOW
    finally:
        ahead.close()
