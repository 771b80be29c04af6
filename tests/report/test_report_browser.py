"""`callhouse report` end to end: the sandbox over HTTP, `callhouse backfill`, `callhouse views`,
`callhouse report`, then the page in headless Chromium: no console error, no request beyond the
file, every chart drew its marks, and the headline figures equal the views' own."""

from __future__ import annotations

from decimal import Decimal

import pendulum
import pytest

from tests.conftest import TEST_NOW
from tests.report import browser
from tests.report.browser import opened

ZONE = "Europe/Berlin"
# Three local days in Berlin: [16 Nov 23:00 UTC, 19 Nov 23:00 UTC), inside the loaded range.
FIRST_DAY, END_DAY = "2026-11-17", "2026-11-20"
LOADED = (pendulum.datetime(2026, 11, 16, 20, tz="UTC"), pendulum.datetime(2026, 11, 20, tz="UTC"))
VOLUMES = dict(cinnox_calls_per_day=400, bandwidth_calls_per_day=300, genesys_dialogs_per_day=80)
FAST = {
    "SOURCES__BANDWIDTH__REQUESTS_PER_SECOND": "100000",
    "SOURCES__GENESYS__REQUESTS_PER_MINUTE": "6000000",
    "REPORTING__TIMEZONE": ZONE,
}
CHARTS = {"calls-per-day", "answer-rate", "heatmap", "concurrency", "staff", "sip"}


def load(run, *sources: str) -> None:
    named = [arg for source in sources for arg in ("--source", source)]
    start, end = (instant.isoformat() for instant in LOADED)
    backfill = run("backfill", "--start", start, "--end", end, *named)
    assert backfill.returncode == 0, backfill.output
    views = run("views")
    assert views.returncode == 0, views.output


def views_figures(run, vendors: tuple[str, ...]) -> dict[str, dict[str, object]]:
    """The headline figures straight from reporting.daily_calls, as the page should show them."""
    rows = run.query(
        "select vendor, sum(calls), sum(answered), sum(missed), sum(failed), sum(talk_s_total) from reporting.daily_calls "
        "where day >= cast(? as date) and day < cast(? as date) group by vendor",
        [FIRST_DAY, END_DAY],
    )
    figures = {}
    for vendor, calls, answered, missed, failed, talk_s in rows:
        figures[vendor] = dict(calls=calls, answered=answered, missed=missed, failed=failed, talk_s=talk_s)
    total = {key: sum(f[key] for f in figures.values()) for key in ("calls", "answered", "missed", "failed", "talk_s")}
    figures["all"] = total
    for f in figures.values():
        f["answer_rate"] = f["answered"] / (f["answered"] + f["missed"] + f["failed"])
    return {v: figures[v] for v in (*vendors, "all")}


def page_figures(page) -> dict[str, dict[str, object]]:
    parsed = {}
    for vendor, figures in page.figures().items():
        if not figures:  # a "no data" card
            continue
        values = {name: f["value"] for name, f in figures.items()}
        parsed[vendor] = {
            **{key: int(values[key]) for key in ("calls", "answered", "missed", "failed")},
            "talk_s": Decimal(values["talk_s"]),
            "answer_rate": float(values["answer_rate"]),
        }
    return parsed


def test_the_report_renders_in_chromium_with_every_chart_and_the_views_figures(make_sandbox, cli, tmp_path, capsys):
    run = cli(make_sandbox(**VOLUMES), **FAST)
    load(run)
    target = tmp_path / "report.html"
    result = run("report", "--out", str(target), "--start", FIRST_DAY, "--end", END_DAY)
    assert result.returncode == 0, result.output
    assert result.stdout.splitlines()[-1] == f"report: wrote {target}"
    assert f"Tue 17 Nov 2026 – Thu 19 Nov 2026 (3 days, {ZONE})" in result.stdout

    with opened(target) as page:
        screenshot = tmp_path / "report.png"  # first, so that a failure below has it too
        page.page.screenshot(path=str(screenshot), full_page=True)
        print(f"report screenshot: {screenshot}")
        with capsys.disabled():
            print(f"\nreport screenshot: {screenshot}")
        assert page.console_errors == []
        assert [url for url in page.requests if url != target.as_uri()] == []  # self-contained: nothing fetched
        marks = page.marks()
        assert set(marks) == CHARTS and all(count > 0 for count in marks.values()), marks
        assert page.no_data_panels() == set()
        assert page_figures(page) == views_figures(run, ("cinnox", "bandwidth", "genesys"))
        shown = page.figures()["all"]
        expected = views_figures(run, ())["all"]
        assert shown["calls"]["shown"] == f"{expected['calls']:,}"
        assert shown["answer_rate"]["shown"] == f"{expected['answer_rate'] * 100:.1f}%"
        assert page.page.locator("[data-verdict]").get_attribute("data-verdict") == "pass"
    assert screenshot.stat().st_size > 10_000


def test_a_vendor_not_loaded_shows_its_no_data_panels_and_exits_0(make_sandbox, cli, tmp_path):
    run = cli(make_sandbox(**VOLUMES), **FAST)
    load(run, "cinnox")

    everyone = tmp_path / "everyone.html"
    result = run("report", "--out", str(everyone), "--start", FIRST_DAY, "--end", END_DAY)
    assert result.returncode == 0, result.output
    with opened(everyone) as page:
        assert page.console_errors == []
        assert page.no_data_panels() == {"headline-bandwidth", "headline-genesys", "sip"}
        marks = page.marks()
        assert set(marks) == CHARTS - {"sip"} and all(count > 0 for count in marks.values()), marks
        assert page_figures(page) == views_figures(run, ("cinnox",))
        assert page.page.locator("[data-verdict]").get_attribute("data-verdict") == "warn"
        assert "bandwidth: nothing loaded" in page.page.locator("[data-verdict]").inner_text()

    genesys = tmp_path / "genesys.html"
    result = run("report", "--out", str(genesys), "--vendor", "genesys")  # the default range: the 7 days before now
    assert result.returncode == 0, result.output
    page = genesys.read_text()
    for panel in ("headline-genesys", *CHARTS):
        assert f'data-nodata="{panel}"' in page
    assert "data-chart=" not in page
    last_days = f"Fri 13 Nov 2026 – Thu 19 Nov 2026 (7 days, {ZONE})"
    assert TEST_NOW.isoformat().startswith("2026-11-20T06:00") and last_days in page


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("--start", "yesterday", "--end", END_DAY), "callhouse: --start: 'yesterday' is not a date or ISO-8601 datetime"),
        (("--start", FIRST_DAY), "callhouse: --start and --end go together (or leave both out for the last 7 full days)"),
        (("--vendor", "twilio"), "callhouse: --vendor: unknown vendor 'twilio' (choose from cinnox, bandwidth, genesys)"),
    ],
)
def test_a_bad_range_or_vendor_exits_2_with_one_line(cli, args, error):
    result = cli(None)("report", *args)
    assert (result.returncode, result.stderr, result.stdout) == (2, error + "\n", "")


def test_without_chromium_the_browser_tests_fail_naming_the_package(monkeypatch, tmp_path):
    monkeypatch.setattr(browser, "CHROMIUM", tmp_path / "no-chromium")
    with pytest.raises(pytest.fail.Exception) as failure:
        browser.require_chromium()
    assert "apt-get install -y chromium" in str(failure.value)
