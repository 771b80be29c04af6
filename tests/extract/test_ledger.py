"""Where a source stands: plans walked window by window, the nightly cursor, coverage, resuming.

The ledger is a view over a plain dict (dlt source state); these tests drive it as the window walk
does: open a plan, take its pending windows, mark each done, finish.
"""

from __future__ import annotations

import pendulum

from pipelines.extract.ledger import LoadRequest, SourceLedger, coverage_gaps, plan_finished
from pipelines.fetch.windows import Window, parse_instant

DAY = pendulum.duration(days=1)


def at(day: int, hour: int = 0) -> pendulum.DateTime:
    return pendulum.datetime(2026, 11, day, hour, tz="UTC")


def z(day: int, hour: int = 0) -> str:
    return f"2026-11-{day:02d}T{hour:02d}:00:00.000Z"


def nightly(end: pendulum.DateTime, run_id: str = "r1") -> LoadRequest:
    return LoadRequest("nightly", end=end, run_id=run_id)


def backfill(start: pendulum.DateTime, end: pendulum.DateTime, run_id: str = "b1") -> LoadRequest:
    return LoadRequest("backfill", end=end, start=start, run_id=run_id)


def walk(ledger: SourceLedger, request: LoadRequest, nightly_start: pendulum.DateTime, windows: int | None = None) -> dict:
    """Open the plan and mark `windows` of its pending windows done (all, and finish, when None)."""
    plan = ledger.open_plan(request, nightly_start)
    pending = ledger.pending_windows(plan, DAY)
    for window in pending[:windows]:
        ledger.window_done(plan, window, request.kind == "nightly")
    if windows is None:
        ledger.finish(plan, request)
    return plan


# --- plans ---------------------------------------------------------------------------------------


def test_a_new_ledger_has_no_cursor_plans_or_coverage():
    state: dict = {}
    ledger = SourceLedger(state)
    assert ledger.cursor is None
    assert state == {"plans": {}, "coverage": []}


def test_a_nightly_plan_starts_at_the_given_nightly_start():
    ledger = SourceLedger({})
    plan = ledger.open_plan(nightly(at(5)), nightly_start=at(2))
    assert plan == {"start": z(2), "end": z(5), "done_until": z(2), "finished": False, "run_id": "r1"}
    assert ledger.state["plans"] == {"nightly": plan}


def test_a_backfill_plan_takes_start_and_end_from_the_request():
    ledger = SourceLedger({})
    request = backfill(at(1), at(3, 12))
    plan = ledger.open_plan(request, nightly_start=at(20))
    assert request.plan_key == "backfill:2026-11-01T00:00:00.000Z/2026-11-03T12:00:00.000Z"
    assert plan == {"start": z(1), "end": z(3, 12), "done_until": z(1), "finished": False, "run_id": "b1"}
    assert ledger.state["plans"] == {request.plan_key: plan}


def test_pending_windows_split_from_done_until_to_the_end():
    ledger = SourceLedger({})
    plan = ledger.open_plan(backfill(at(1), at(3, 12)), at(20))
    assert ledger.pending_windows(plan, DAY) == [Window(at(1), at(2)), Window(at(2), at(3)), Window(at(3), at(3, 12))]
    ledger.window_done(plan, Window(at(1), at(2)), is_nightly=False)
    assert ledger.pending_windows(plan, DAY) == [Window(at(2), at(3)), Window(at(3), at(3, 12))]


def test_a_finished_plan_has_no_pending_windows():
    ledger = SourceLedger({})
    plan = walk(ledger, backfill(at(1), at(3)), at(20))
    assert plan["finished"] is True
    assert ledger.pending_windows(plan, DAY) == []


def test_window_done_moves_done_until_and_merges_coverage():
    ledger = SourceLedger({"coverage": [[z(10), z(12)]]})
    plan = ledger.open_plan(backfill(at(1), at(4)), at(20))
    ledger.window_done(plan, Window(at(1), at(2)), is_nightly=False)
    ledger.window_done(plan, Window(at(2), at(3)), is_nightly=False)
    assert plan["done_until"] == z(3)
    assert ledger.state["coverage"] == [[z(1), z(3)], [z(10), z(12)]]


# --- the nightly cursor --------------------------------------------------------------------------


def test_nightly_windows_move_the_cursor_window_by_window():
    ledger = SourceLedger({})
    plan = ledger.open_plan(nightly(at(4)), at(1))
    first, second, _ = ledger.pending_windows(plan, DAY)
    ledger.window_done(plan, first, is_nightly=True)
    assert ledger.cursor == at(2)
    ledger.window_done(plan, second, is_nightly=True)
    assert ledger.cursor == at(3)
    assert ledger.state["cursor"] == z(3)


def test_backfill_does_not_move_nightly_cursor():
    ledger = SourceLedger({"cursor": z(5)})
    walk(ledger, backfill(at(5), at(9)), at(20))
    assert ledger.cursor == at(5)
    assert ledger.state["coverage"] == [[z(5), z(9)]]


def test_backfill_does_not_set_a_cursor_where_none_was():
    ledger = SourceLedger({})
    walk(ledger, backfill(at(1), at(3)), at(20))
    assert ledger.cursor is None
    assert "cursor" not in ledger.state


def test_the_cursor_never_moves_backwards():
    ledger = SourceLedger({"cursor": z(10)})
    plan = walk(ledger, nightly(at(11)), nightly_start=at(7))  # a lookback re-reads windows before the cursor
    assert plan["done_until"] == z(11)
    assert ledger.cursor == at(11)
    ledger = SourceLedger({"cursor": z(10)})
    plan = ledger.open_plan(nightly(at(11)), at(7))
    ledger.window_done(plan, Window(at(7), at(8)), is_nightly=True)
    assert ledger.cursor == at(10)


def test_an_empty_nightly_range_still_sets_the_cursor():
    ledger = SourceLedger({})
    plan = walk(ledger, nightly(at(5)), nightly_start=at(5))
    assert plan["start"] == plan["end"] == z(5)
    assert ledger.cursor == at(5)
    assert ledger.state["coverage"] == []


def test_a_nightly_start_after_the_end_gives_an_empty_plan_ending_at_the_start():
    ledger = SourceLedger({})
    plan = walk(ledger, nightly(at(5)), nightly_start=at(6))
    assert (plan["start"], plan["end"]) == (z(6), z(6))
    assert ledger.cursor == at(6)


def test_an_empty_nightly_range_leaves_an_existing_cursor():
    ledger = SourceLedger({"cursor": z(8)})
    walk(ledger, nightly(at(5)), nightly_start=at(5))
    assert ledger.cursor == at(8)


# --- resuming ------------------------------------------------------------------------------------


def test_an_unfinished_backfill_is_resumed_by_a_new_run_at_done_until():
    ledger = SourceLedger({})
    first = walk(ledger, backfill(at(1), at(5), run_id="b1"), at(20), windows=2)  # killed after two windows
    resumed = ledger.open_plan(backfill(at(1), at(5), run_id="b2"), at(20))
    assert resumed is first
    assert resumed == {"start": z(1), "end": z(5), "done_until": z(3), "finished": False, "run_id": "b2"}
    assert ledger.pending_windows(resumed, DAY) == [Window(at(3), at(4)), Window(at(4), at(5))]


def test_a_finished_backfill_asked_again_is_read_again_from_its_start():
    ledger = SourceLedger({})
    walk(ledger, backfill(at(1), at(5), run_id="b1"), at(20))
    again = ledger.open_plan(backfill(at(1), at(5), run_id="b2"), at(20))
    assert again == {"start": z(1), "end": z(5), "done_until": z(1), "finished": False, "run_id": "b2"}


def test_a_finished_backfill_reopened_by_its_own_run_stays_finished():
    ledger = SourceLedger({})
    plan = walk(ledger, backfill(at(1), at(5), run_id="b1"), at(20))
    assert ledger.open_plan(backfill(at(1), at(5), run_id="b1"), at(20)) is plan
    assert ledger.pending_windows(plan, DAY) == []


def test_a_nightly_run_resumes_its_own_plan_after_a_checkpoint():
    ledger = SourceLedger({})
    plan = walk(ledger, nightly(at(5), run_id="r1"), at(1), windows=2)
    # the next extract of the same run: the nightly start it computes no longer matters
    again = ledger.open_plan(nightly(at(5), run_id="r1"), nightly_start=at(2))
    assert again is plan
    assert again["done_until"] == z(3)


def test_a_new_nightly_run_opens_a_new_plan_from_its_nightly_start():
    ledger = SourceLedger({})
    walk(ledger, nightly(at(5), run_id="r1"), at(1), windows=2)  # killed after two windows
    plan = ledger.open_plan(nightly(at(6), run_id="r2"), nightly_start=at(2))
    assert plan == {"start": z(2), "end": z(6), "done_until": z(2), "finished": False, "run_id": "r2"}
    assert ledger.cursor == at(3)


# --- finishing -----------------------------------------------------------------------------------


def test_finish_sets_last_run_and_deletes_other_finished_plans():
    ledger = SourceLedger({})
    walk(ledger, backfill(at(1), at(2), run_id="b1"), at(20))
    unfinished = walk(ledger, backfill(at(3), at(5), run_id="b2"), at(20), windows=1)
    before = pendulum.now("UTC").subtract(seconds=1)
    request = nightly(at(12), run_id="r3")
    plan = walk(ledger, request, at(10))
    assert ledger.state["plans"] == {
        "nightly": plan,
        "backfill:2026-11-03T00:00:00.000Z/2026-11-05T00:00:00.000Z": unfinished,
    }
    last_run = ledger.state["last_run"]
    assert {k: last_run[k] for k in ("kind", "run_id")} == {"kind": "nightly", "run_id": "r3"}
    assert before <= parse_instant(last_run["at"]) <= pendulum.now("UTC")


def test_plan_finished_only_for_the_run_that_finished_it():
    ledger = SourceLedger({})
    request = backfill(at(1), at(3), run_id="b1")
    plan = walk(ledger, request, at(20), windows=1)
    assert plan_finished(ledger.state, request) is False
    ledger.finish(plan, request)
    assert plan_finished(ledger.state, request) is True
    assert plan_finished(ledger.state, backfill(at(1), at(3), run_id="b2")) is False
    assert plan_finished(ledger.state, nightly(at(3), run_id="b1")) is False
    assert plan_finished({}, request) is False


def test_truncated_windows_are_recorded_once():
    ledger = SourceLedger({})
    ledger.record_truncated(Window(at(1), at(1, 1)), 10_000)
    ledger.record_truncated(Window(at(1), at(1, 1)), 10_000)
    ledger.record_truncated(Window(at(2), at(2, 1)), 10_000)
    assert ledger.state["truncated"] == [[z(1), z(1, 1), 10_000], [z(2), z(2, 1), 10_000]]


# --- coverage ------------------------------------------------------------------------------------


def test_coverage_gaps_are_the_holes_between_loaded_intervals():
    assert coverage_gaps([[z(1), z(3)], [z(5), z(6)], [z(8), z(9)]]) == [[z(3), z(5)], [z(6), z(8)]]
    assert coverage_gaps([[z(1), z(3)]]) == []
    assert coverage_gaps([]) == []


def test_a_backfill_of_a_gap_closes_it():
    ledger = SourceLedger({})
    walk(ledger, nightly(at(3)), at(1))
    walk(ledger, backfill(at(5), at(7)), at(20))
    assert coverage_gaps(ledger.state["coverage"]) == [[z(3), z(5)]]
    walk(ledger, backfill(at(3), at(5)), at(20))
    assert ledger.state["coverage"] == [[z(1), z(7)]]
    assert coverage_gaps(ledger.state["coverage"]) == []
