"""The report page: one HTML file with its styles and Plotly's JavaScript inline (opens offline).

The page is the Jinja2 template `templates/page.html.j2` (styles: `templates/page.css`); this
module gathers what each panel shows. Every panel has a one-line caption saying what it measures,
and a "no data" panel where there is nothing to draw. Headline figures carry their exact values in
`data-value` attributes (the browser test compares them with the views). The template escapes
every value (autoescape); only Plotly's own HTML and JavaScript are marked safe.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict

import jinja2
import pendulum
import plotly.graph_objects as go
from markupsafe import Markup

from pipelines.fetch.windows import parse_instant
from pipelines.models.data_tests import CheckResults
from pipelines.report import charts, formatting
from pipelines.report.queries import Figures, ReportData
from pipelines.warehouse.run_log import LastRun

STAFF_IN_TABLE = 15
CHECK_LINES_SHOWN = 20


class SourceHealth(TypedDict):
    """What the data health panel reads of a source's status (commands/status.SourceStatus)."""

    source: str
    coverage: list[list[str]]
    gaps: list[list[str]]
    last_run: LastRun | None


@dataclass
class PageInputs:
    data: ReportData
    warehouse: str  # what the page names as its source
    made_at: dt.datetime  # UTC
    sources: Sequence[SourceHealth]  # `callhouse status` per source (commands/status.source_status)
    checks: CheckResults  # `callhouse check`
    warnings: list[str] = field(default_factory=list)  # shown at the top (e.g. a zone mismatch)


def _escaped(value: object) -> object:
    """Every value the template prints, escaped as the standard library escapes HTML (`'` as
    `&#x27;`); a value marked safe (Markup: Plotly's HTML) passes as it is. Autoescape would
    escape it too, with markupsafe's entities: this keeps one spelling of the page's escapes."""
    if hasattr(value, "__html__"):
        return value
    return Markup(html.escape(str(value), quote=True))


TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("pipelines.report", "templates"),
    autoescape=True,
    finalize=_escaped,
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,  # a misspelt name fails the render instead of printing nothing
    keep_trailing_newline=True,
)


# --- building blocks --------------------------------------------------------------------------


@dataclass
class Chart:
    """A panel's chart, or the reason there is none."""

    name: str
    html: Markup | None
    reason: str = ""


def chart(name: str, figure: go.Figure | None, reason: str) -> Chart:
    return Chart(name, None if figure is None else Markup(charts.chart_html(figure, name)), reason)


@dataclass
class Spans:
    """UTC intervals as text, the first few of them."""

    shown: list[str]
    more: int
    count: int


def headline_card(figures: Figures, title: str) -> dict[str, object]:
    rate = figures.answer_rate
    items = [
        ("calls", "calls", figures.calls, formatting.count(figures.calls)),
        ("answered", "answered", figures.answered, formatting.count(figures.answered)),
        ("missed", "missed", figures.missed, formatting.count(figures.missed)),
        ("failed", "failed", figures.failed, formatting.count(figures.failed)),
        ("answer_rate", "answer rate", "" if rate is None else repr(rate), formatting.percent(rate)),
        ("talk_s", "talk time (h:mm)", figures.talk_s, formatting.hours_minutes(figures.talk_s)),
    ]
    notes = []
    if figures.active:
        notes.append(f"{formatting.count(figures.active)} still in progress or ringing")
    if figures.unknown:
        notes.append(f"{formatting.count(figures.unknown)} with a status not yet mapped (see data health)")
    return {
        "vendor": figures.vendor,
        "title": title,
        "figures": [{"name": n, "label": label, "value": v, "shown": shown} for n, label, v, shown in items],
        "note": "; ".join(notes),
    }


# --- panels -----------------------------------------------------------------------------------


def headline_panel(data: ReportData) -> dict[str, object]:
    cards = []
    for vendor in data.vendors:
        if vendor in data.figures:
            cards.append(headline_card(data.figures[vendor], vendor))
        else:
            reason = f"no {vendor} calls in this range (not loaded? see Data health)"
            cards.append({"vendor": vendor, "title": vendor, "figures": [], "reason": reason})
    if len(data.vendors) > 1 and data.figures:
        cards.append(headline_card(data.total, "all vendors"))
    caption = (
        "Calls that started in the range, by outcome (reporting.daily_calls); answer rate = answered / "
        "(answered + missed + failed); talk time = time from answer to hang-up of answered calls."
    )
    return {"caption": caption, "cards": cards}


def _range_reason(data: ReportData) -> str:
    return f"no calls started in {data.period.describe()} for {', '.join(data.vendors)}"


def calls_per_day_panel(data: ReportData) -> dict[str, object]:
    missing = [v for v in data.vendors if v not in data.figures]
    caption = f"Calls started per day ({data.period.zone}) and vendor, stacked by outcome."
    if missing and data.figures:
        caption += f" No calls from {', '.join(missing)} in this range."
    return {"caption": caption, "chart": chart("calls-per-day", charts.calls_per_day(data), _range_reason(data))}


def answer_rate_panel(data: ReportData) -> dict[str, object]:
    caption = f"Answered share of the calls that ended, per day ({data.period.zone}); the dotted line is all vendors together."
    reason = "no call in the range has ended yet" if data.figures else _range_reason(data)
    return {"caption": caption, "chart": chart("answer-rate", charts.answer_rate_trend(data), reason)}


def heatmap_panel(data: ReportData) -> dict[str, object]:
    caption = f"Call starts by hour of day and day of week in {data.period.zone}, summed over the range; darker = busier."
    busiest = max(data.starts.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]), default=None)
    panel: dict[str, object] = {
        "caption": caption,
        "chart": chart("heatmap", charts.starts_heatmap(data), _range_reason(data)),
        "busiest": None,
    }
    if busiest and busiest[1]:
        (weekday, hour), calls = busiest
        panel["busiest"] = f"{charts.WEEKDAYS[weekday - 1]} {hour:02d}:00–{hour + 1:02d}:00"
        panel["busiest_calls"] = formatting.count(calls)
    return panel


def concurrency_panel(data: ReportData) -> dict[str, object]:
    caption = f"The most calls in progress at the same moment in each hour ({data.period.zone}), per vendor (reporting.hourly_concurrency)."
    peaks = []
    for vendor in data.vendors:
        points = [(peak, hour) for hour, v, peak in data.concurrency if v == vendor]
        if points:
            peak, hour = max(points, key=lambda p: (p[0], -p[1].timestamp()))
            peaks.append(f"{vendor} {formatting.count(peak)} at {formatting.short_day(hour.date())} {hour:%H}:00")
    return {"caption": caption, "chart": chart("concurrency", charts.peak_concurrency(data), _range_reason(data)), "peaks": peaks}


def staff_panel(data: ReportData) -> dict[str, object]:
    caption = (
        "CINNOX staff with the most calls in the range (reporting.agent_daily: the member who last handled "
        "each call): calls, answered, and talk time."
    )
    if "cinnox" not in data.vendors:
        return {"caption": caption, "reason": "the leaderboard is CINNOX's staff: cinnox is not selected"}
    if not data.staff:
        return {"caption": caption, "reason": "no CINNOX call in the range was handled by a staff member"}
    rows = [
        {
            "rank": rank,
            "name": row.display_name or row.staff_id,
            "department": row.department or "",
            "calls": formatting.count(row.calls),
            "answered": formatting.count(row.answered),
            "answered_share": formatting.percent(row.answered / row.calls if row.calls else None),
            "talk": formatting.hours_minutes(row.talk_s),
        }
        for rank, row in enumerate(data.staff[:STAFF_IN_TABLE], start=1)
    ]
    shown = f"Top {min(STAFF_IN_TABLE, len(data.staff))} of {formatting.count(len(data.staff))} staff members with calls."
    return {
        "caption": caption,
        "reason": "",
        "chart": chart("staff", charts.staff_leaderboard(data), ""),
        "rows": rows,
        "shown": shown,
    }


def sip_panel(data: ReportData) -> dict[str, object]:
    caption = (
        "Genesys dialogs by the final SIP reply to their INVITE (reporting.calls status_raw, coloured by outcome), "
        "and how many never got an answer (no 2xx)."
    )
    if "genesys" not in data.vendors:
        return {"caption": caption, "reason": "genesys is not selected"}
    if not data.sip_codes:
        return {"caption": caption, "reason": "no Genesys dialog started in this range"}
    dialogs, unanswered, pending = data.genesys_dialogs, data.genesys_unanswered, data.genesys_pending
    return {
        "caption": caption,
        "reason": "",
        "chart": chart("sip", charts.sip_final_codes(data), ""),
        "dialogs": dialogs,
        "dialogs_shown": formatting.count(dialogs),
        "unanswered": unanswered,
        "unanswered_shown": formatting.count(unanswered),
        "unanswered_share": formatting.percent(unanswered / dialogs),
        "pending": formatting.count(pending) if pending else "",
    }


# --- data health ------------------------------------------------------------------------------


def uncovered(start: dt.datetime, end: dt.datetime, coverage: Sequence[Sequence[str]]) -> list[tuple[dt.datetime, dt.datetime]]:
    """The parts of [start, end) that no loaded coverage interval holds."""
    missing: list[tuple[dt.datetime, dt.datetime]] = []
    cursor = start
    for a, b in sorted((parse_instant(a), parse_instant(b)) for a, b in coverage):
        if b <= cursor:
            continue
        if a >= end:
            break
        if a > cursor:
            missing.append((cursor, a))
        cursor = max(cursor, b)
        if cursor >= end:
            break
    if cursor < end:
        missing.append((cursor, end))
    return missing


def _utc_span(a: dt.datetime, b: dt.datetime) -> str:
    return (
        f"{pendulum.instance(a).in_timezone('UTC'):%Y-%m-%d %H:%M} – {pendulum.instance(b).in_timezone('UTC'):%Y-%m-%d %H:%M} UTC"
    )


def _spans(intervals: Sequence[Sequence[str | dt.datetime]], limit: int = 3) -> Spans:
    parts = [
        _utc_span(parse_instant(a) if isinstance(a, str) else a, parse_instant(b) if isinstance(b, str) else b)
        for a, b in intervals
    ]
    return Spans(parts[:limit], max(0, len(parts) - limit), len(parts))


def _last_run(run: LastRun | None) -> tuple[str, dict[str, object] | None]:
    """(status, what the page says) of a source's last run."""
    if not run:
        return "skip", None
    if run["finished_at"] is None:
        return "warn", {"running": True, "command": run["command"], "started": f"{run['started_at']:%Y-%m-%d %H:%M} UTC"}
    outcome = str(run["outcome"])
    status = "pass" if outcome == "ok" else "fail"
    return status, {
        "running": False,
        "status": status,
        "outcome": outcome,
        "finished": f"{run['finished_at']:%Y-%m-%d %H:%M} UTC",
        "command": run["command"],
        "rows": formatting.count(run["rows"]),
        "message": run.get("message") or "",
    }


FRESHNESS_LABELS = {"pass": "fresh", "warn": "stale", "fail": "too old", "skip": "never loaded"}


@dataclass
class Health:
    rows: list[dict[str, object]]  # one per source, for the template
    problems: list[str]  # what a reader should know before trusting the page


def health(inputs: PageInputs) -> Health:
    period, chosen = inputs.data.period, inputs.data.vendors
    until = min(period.end, pendulum.instance(inputs.made_at))
    rows, problems = [], []
    if period.start >= until:
        problems.append("the range has not begun: nothing in it can be loaded yet")
    for status in inputs.sources:
        name = status["source"]
        selected = name in chosen
        missing = uncovered(period.start, until, status["coverage"]) if period.start < until else []
        if period.start >= until:
            in_range = ("skip", "the range has not begun")
        elif not status["coverage"]:
            in_range = ("skip" if not selected else "fail", "nothing loaded")
        elif missing:
            in_range = ("warn", "partly loaded")
        else:
            in_range = ("pass", "whole range loaded")
        fresh = inputs.checks.freshness.get(name)
        run_status, last_run = _last_run(status["last_run"])
        rows.append(
            {
                "name": name,
                "selected": selected,
                "in_range": in_range,
                "missing": _spans(missing) if in_range[1] == "partly loaded" else None,
                "coverage": _spans(status["coverage"]) if status["coverage"] else None,
                "gaps": _spans(status["gaps"]) if status["gaps"] else None,
                "freshness": None if fresh is None else (fresh.status, FRESHNESS_LABELS[fresh.status]),
                "freshness_detail": fresh.detail if fresh is not None else "",
                "run": last_run,
            }
        )
        if selected:
            if not status["coverage"]:
                problems.append(f"{name}: nothing loaded")
            elif missing:
                problems.append(f"{name}: part of the range not loaded")
            if fresh and fresh.status in ("warn", "fail"):
                problems.append(f"{name}: last load {fresh.detail.split(', ')[-1] if fresh.detail else 'too old'}")
            if run_status in ("fail", "warn"):
                outcome = "not finished" if run_status == "warn" or status["last_run"] is None else status["last_run"]["outcome"]
                problems.append(f"{name}: last run {outcome}")
    counts = inputs.checks.counts
    if counts["fail"]:
        problems.append(f"{counts['fail']} data test{'s' if counts['fail'] != 1 else ''} failing")
    return Health(rows, problems)


def checks_summary(checks: CheckResults) -> dict[str, object]:
    counts = checks.counts
    lines = [o.line for o in checks.outcomes if o.status in ("fail", "warn")]
    return {
        "status": "fail" if counts["fail"] else "warn" if counts["warn"] else "pass",
        "passed": counts["pass"],
        "passed_shown": formatting.count(counts["pass"]),
        "failed": counts["fail"],
        "failed_shown": formatting.count(counts["fail"]),
        "warnings_shown": formatting.count(counts["warn"]),
        "skipped": counts["skip"],
        "skipped_shown": formatting.count(counts["skip"]),
        "lines": lines[:CHECK_LINES_SHOWN],
        "more": max(0, len(lines) - CHECK_LINES_SHOWN),
    }


# --- the page ---------------------------------------------------------------------------------


def render(inputs: PageInputs) -> str:
    data = inputs.data
    period = data.period
    made = pendulum.instance(inputs.made_at)
    found = health(inputs)
    meta = {
        "range": period.describe(),
        "widened": " (--start/--end widened to whole days)" if period.widened else "",
        "span": _utc_span(period.start, period.end),
        "zone": period.zone,
        "vendors": ", ".join(data.vendors),
        "made": formatting.instant(made.in_timezone(period.zone), period.zone),
        "made_utc": "" if period.zone == "UTC" else formatting.instant(made.in_timezone("UTC"), "UTC"),
    }
    return TEMPLATES.get_template("page.html.j2").render(
        title=f"Calls {formatting.short_day(period.first_day)} – {formatting.day(period.last_day)}",
        zone=period.zone,
        warehouse=inputs.warehouse,
        meta=meta,
        problems=found.problems,
        warnings=inputs.warnings,
        plotly_js=Markup(charts.plotly_js()),
        headline=headline_panel(data),
        calls_per_day=calls_per_day_panel(data),
        answer_rate=answer_rate_panel(data),
        heatmap=heatmap_panel(data),
        concurrency=concurrency_panel(data),
        staff=staff_panel(data),
        sip=sip_panel(data),
        health=found,
        checks=checks_summary(inputs.checks),
    )
