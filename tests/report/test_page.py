"""The page without a browser: an empty warehouse (the real views, no rows) gives "no data"
panels and no exception; figures are formatted and text from the data is escaped."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pendulum
import pytest

from pipelines.commands.report import report
from pipelines.models.data_tests import CheckResults, Outcome
from pipelines.models.views import build_views
from pipelines.report.page import PageInputs, render, uncovered
from pipelines.report.queries import DayOutcomes, Figures, ReportData, ReportRange, SipCode, StaffRow
from pipelines.warehouse.duckdb_file import DuckDBFile

PANELS_WITH_CHARTS = {"calls-per-day", "answer-rate", "heatmap", "concurrency", "staff", "sip"}


@pytest.fixture
def empty_warehouse(tmp_path, monkeypatch):
    """A DuckDB file with every view built over no raw tables (the staging views are typed stubs)."""
    monkeypatch.setenv("REPORTING__TIMEZONE", "America/New_York")
    monkeypatch.delenv("CALLHOUSE_NOW", raising=False)
    warehouse = DuckDBFile.resolve(str(tmp_path / "warehouse" / "calls.duckdb"))
    build_views(warehouse, out=io.StringIO())
    return warehouse


def no_data(page: str) -> set[str]:
    return set(re.findall(r'data-nodata="([^"]+)"', page))


def test_an_empty_warehouse_renders_no_data_panels_and_no_chart(empty_warehouse):
    out = io.StringIO()
    path = report(str(empty_warehouse.path), out=out)
    assert path == empty_warehouse.path.parent / "report.html"
    assert out.getvalue().splitlines()[-1] == f"report: wrote {path}"
    page = path.read_text()
    assert no_data(page) == PANELS_WITH_CHARTS | {"headline-cinnox", "headline-bandwidth", "headline-genesys"}
    assert "data-chart=" not in page
    assert "(7 days, America/New_York)" in page
    assert "Read with care:" in page and "cinnox: nothing loaded" in page


def test_a_range_with_no_calls_and_one_vendor_says_so(empty_warehouse, tmp_path):
    target = tmp_path / "out" / "genesys.html"
    report(
        str(empty_warehouse.path),
        out_path=str(target),
        start="2026-11-17",
        end="2026-11-18",
        vendors=["genesys"],
        out=io.StringIO(),
    )
    page = target.read_text()
    assert no_data(page) == PANELS_WITH_CHARTS | {"headline-genesys"}
    assert "Tue 17 Nov 2026 (1 day, America/New_York)" in page
    assert "cinnox is not selected" in page  # the staff leaderboard is CINNOX's


def period() -> ReportRange:
    return ReportRange(dt.date(2026, 11, 16), dt.date(2026, 11, 17), "Europe/Berlin")


def sample(**changes) -> ReportData:
    counts = {"answered": 9000, "missed": 1234, "failed": 66, "active": 2, "unknown": 0}
    data = ReportData(
        period=period(),
        vendors=("cinnox", "bandwidth", "genesys"),
        figures={"cinnox": Figures("cinnox", 10302, 9000, 1234, 66, 2, 0, Decimal("3725.5"))},
        daily=[DayOutcomes(dt.date(2026, 11, 16), "cinnox", counts)],
        starts={(1, 9): 10302},
        concurrency=[(dt.datetime(2026, 11, 16, 9), "cinnox", 12)],
        staff=[StaffRow("s1", "<script>alert('x')</script>", "Sales & Support", 1500, 1000, Decimal(7200))],
        sip_codes=[SipCode("200", "OK", "answered", 7, 7), SipCode("487", "Request Terminated", "missed", 3, 0)],
    )
    for key, value in changes.items():
        setattr(data, key, value)
    return data


def page_of(data: ReportData) -> str:
    checks = CheckResults([Outcome("pass"), Outcome("fail", "FAIL reporting.calls: <b>bad</b>")], {})
    status = {
        "source": "cinnox",
        "coverage": [["2026-11-15T00:00:00.000Z", "2026-11-18T00:00:00.000Z"]],
        "gaps": [],
        "last_run": None,
    }
    return render(PageInputs(data, "/w/calls.duckdb", pendulum.datetime(2026, 11, 20, 6, tz="UTC"), [status], checks))


def test_figures_are_formatted_for_people_with_exact_values_beside_them():
    page = page_of(sample())
    card = page.split('data-vendor="cinnox"')[1].split("</div></dl>")[0]
    assert 'data-figure="calls" data-value="10302">10,302<' in card
    assert 'data-figure="answer_rate" data-value="0.8734" ' not in card  # the exact value, not a rounded one
    assert f'data-figure="answer_rate" data-value="{9000 / 10300!r}">87.4%<' in card
    assert 'data-figure="talk_s" data-value="3725.5">1:02<' in card
    assert "2 still in progress or ringing" in page
    assert no_data(page) == {"headline-bandwidth", "headline-genesys"}
    assert "3 of 10 Genesys dialogs (30.0%) never got an answer" in re.sub(r"<[^>]+>", "", page)


def test_text_from_the_data_is_escaped():
    page = page_of(sample())
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "Sales &amp; Support" in page
    assert "FAIL reporting.calls: &lt;b&gt;bad&lt;/b&gt;" in page
    assert "1 data test failing" in page


def test_the_zone_is_named_wherever_a_day_or_hour_appears():
    page = page_of(sample())
    for said in (
        "per day (Europe/Berlin)",
        "day of week in Europe/Berlin",
        "in each hour (Europe/Berlin)",
        "(2 days, Europe/Berlin)",
    ):
        assert said in page
    figures = page.replace("\\u002f", "/")  # Plotly's JSON escapes "/" (no "</script>" inside a script)
    for title in ("day (Europe/Berlin)", "hour of day (Europe/Berlin)", "day of week (Europe/Berlin)", "hour (Europe/Berlin)"):
        assert f'"title":{{"text":"{title}"}}' in figures


def test_uncovered_parts_of_the_range():
    start, end = pendulum.datetime(2026, 11, 10, tz="UTC"), pendulum.datetime(2026, 11, 20, tz="UTC")
    coverage = [
        ["2026-11-12T00:00:00.000Z", "2026-11-14T00:00:00.000Z"],
        ["2026-11-15T00:00:00.000Z", "2026-11-25T00:00:00.000Z"],
    ]
    assert uncovered(start, end, coverage) == [
        (start, pendulum.datetime(2026, 11, 12, tz="UTC")),
        (pendulum.datetime(2026, 11, 14, tz="UTC"), pendulum.datetime(2026, 11, 15, tz="UTC")),
    ]
    assert uncovered(start, end, [["2026-11-01T00:00:00.000Z", "2026-11-30T00:00:00.000Z"]]) == []
    assert uncovered(start, end, []) == [(start, end)]
