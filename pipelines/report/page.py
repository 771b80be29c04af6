"""The report page: one HTML file with its styles and Plotly's JavaScript inline (opens offline).

Every panel has a one-line caption saying what it measures, and a "no data" panel where there is
nothing to draw. Headline figures carry their exact values in `data-value` attributes (the
browser test compares them with the views). Every text that comes from the data is escaped.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pendulum

from pipelines.fetch.windows import parse_instant
from pipelines.models.data_tests import CheckResults
from pipelines.report import charts, formatting
from pipelines.report.queries import Figures, ReportData

STAFF_IN_TABLE = 15
CHECK_LINES_SHOWN = 20


@dataclass
class PageInputs:
    data: ReportData
    warehouse: str  # what the page names as its source
    made_at: dt.datetime  # UTC
    sources: list[dict[str, Any]]  # `callhouse status` per source (commands/status.source_status)
    checks: CheckResults  # `callhouse check`
    warnings: list[str] = field(default_factory=list)  # shown at the top (e.g. a zone mismatch)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


# --- building blocks --------------------------------------------------------------------------


def no_data(name: str, reason: str) -> str:
    return f'<div class="nodata" data-nodata="{_e(name)}"><strong>No data</strong><span>{_e(reason)}</span></div>'


def panel(name: str, title: str, caption: str, body: str) -> str:
    return (
        f'<section class="panel" id="{_e(name)}" data-panel="{_e(name)}">'
        f'<h2>{_e(title)}</h2><p class="caption">{_e(caption)}</p>{body}</section>'
    )


def chart_or_no_data(name: str, figure: Any, reason: str) -> str:
    if figure is None:
        return no_data(name, reason)
    return f'<div class="chart" data-chart="{_e(name)}">{charts.chart_html(figure, name)}</div>'


def _figure(name: str, label: str, value: object, shown: str) -> str:
    return f'<div class="figure"><dt>{_e(label)}</dt><dd data-figure="{_e(name)}" data-value="{_e(value)}">{_e(shown)}</dd></div>'


def headline_card(figures: Figures, title: str) -> str:
    rate = figures.answer_rate
    items = [
        _figure("calls", "calls", figures.calls, formatting.count(figures.calls)),
        _figure("answered", "answered", figures.answered, formatting.count(figures.answered)),
        _figure("missed", "missed", figures.missed, formatting.count(figures.missed)),
        _figure("failed", "failed", figures.failed, formatting.count(figures.failed)),
        _figure("answer_rate", "answer rate", "" if rate is None else repr(rate), formatting.percent(rate)),
        _figure("talk_s", "talk time (h:mm)", figures.talk_s, formatting.hours_minutes(figures.talk_s)),
    ]
    notes = []
    if figures.active:
        notes.append(f"{formatting.count(figures.active)} still in progress or ringing")
    if figures.unknown:
        notes.append(f"{formatting.count(figures.unknown)} with a status not yet mapped (see data health)")
    note = f'<p class="note">{_e("; ".join(notes))}</p>' if notes else ""
    return f'<div class="card" data-vendor="{_e(figures.vendor)}"><h3>{_e(title)}</h3><dl>{"".join(items)}</dl>{note}</div>'


# --- panels -----------------------------------------------------------------------------------


def headline_panel(data: ReportData) -> str:
    cards = []
    for vendor in data.vendors:
        if vendor in data.figures:
            cards.append(headline_card(data.figures[vendor], vendor))
        else:
            cards.append(
                f'<div class="card empty" data-vendor="{_e(vendor)}">{"<h3>" + _e(vendor) + "</h3>"}'
                + no_data(f"headline-{vendor}", f"no {vendor} calls in this range (not loaded? see Data health)")
                + "</div>"
            )
    if len(data.vendors) > 1 and data.figures:
        cards.append(headline_card(data.total, "all vendors"))
    caption = (
        "Calls that started in the range, by outcome (reporting.daily_calls); answer rate = answered / "
        "(answered + missed + failed); talk time = time from answer to hang-up of answered calls."
    )
    return panel("headline", "Headline figures per vendor", caption, f'<div class="cards">{"".join(cards)}</div>')


def _range_reason(data: ReportData) -> str:
    return f"no calls started in {data.period.describe()} for {', '.join(data.vendors)}"


def calls_per_day_panel(data: ReportData) -> str:
    missing = [v for v in data.vendors if v not in data.figures]
    caption = f"Calls started per day ({data.period.zone}) and vendor, stacked by outcome."
    if missing and data.figures:
        caption += f" No calls from {', '.join(missing)} in this range."
    return panel(
        "calls-per-day",
        "Calls per day",
        caption,
        chart_or_no_data("calls-per-day", charts.calls_per_day(data), _range_reason(data)),
    )


def answer_rate_panel(data: ReportData) -> str:
    caption = f"Answered share of the calls that ended, per day ({data.period.zone}); the dotted line is all vendors together."
    figure = charts.answer_rate_trend(data)
    return panel(
        "answer-rate",
        "Answer-rate trend",
        caption,
        chart_or_no_data("answer-rate", figure, "no call in the range has ended yet" if data.figures else _range_reason(data)),
    )


def heatmap_panel(data: ReportData) -> str:
    caption = f"Call starts by hour of day and day of week in {data.period.zone}, summed over the range; darker = busier."
    busiest = max(data.starts.items(), key=lambda kv: (kv[1], -kv[0][0], -kv[0][1]), default=None)
    extra = ""
    if busiest and busiest[1]:
        (weekday, hour), calls = busiest
        extra = (
            f'<p class="note">Busiest: {charts.WEEKDAYS[weekday - 1]} {hour:02d}:00–{hour + 1:02d}:00 '
            f"({_e(data.period.zone)}), {formatting.count(calls)} calls started.</p>"
        )
    return panel(
        "heatmap",
        "When calls start",
        caption,
        chart_or_no_data("heatmap", charts.starts_heatmap(data), _range_reason(data)) + extra,
    )


def concurrency_panel(data: ReportData) -> str:
    caption = f"The most calls in progress at the same moment in each hour ({data.period.zone}), per vendor (reporting.hourly_concurrency)."
    peaks = []
    for vendor in data.vendors:
        points = [(peak, hour) for hour, v, peak in data.concurrency if v == vendor]
        if points:
            peak, hour = max(points, key=lambda p: (p[0], -p[1].timestamp()))
            peaks.append(f"{_e(vendor)} {formatting.count(peak)} at {formatting.short_day(hour.date())} {hour:%H}:00")
    extra = f'<p class="note">Highest: {"; ".join(peaks)} ({_e(data.period.zone)}).</p>' if peaks else ""
    return panel(
        "concurrency",
        "Peak concurrent calls per hour",
        caption,
        chart_or_no_data("concurrency", charts.peak_concurrency(data), _range_reason(data)) + extra,
    )


def staff_panel(data: ReportData) -> str:
    caption = (
        "CINNOX staff with the most calls in the range (reporting.agent_daily: the member who last handled "
        "each call): calls, answered, and talk time."
    )
    if "cinnox" not in data.vendors:
        return panel(
            "staff", "Staff leaderboard", caption, no_data("staff", "the leaderboard is CINNOX's staff: cinnox is not selected")
        )
    if not data.staff:
        return panel(
            "staff", "Staff leaderboard", caption, no_data("staff", "no CINNOX call in the range was handled by a staff member")
        )
    rows = []
    for rank, row in enumerate(data.staff[:STAFF_IN_TABLE], start=1):
        rows.append(
            f"<tr><td class='num'>{rank}</td><td>{_e(row.display_name or row.staff_id)}</td><td>{_e(row.department or '')}</td>"
            f"<td class='num'>{formatting.count(row.calls)}</td><td class='num'>{formatting.count(row.answered)}</td>"
            f"<td class='num'>{formatting.percent(row.answered / row.calls if row.calls else None)}</td>"
            f"<td class='num'>{formatting.hours_minutes(row.talk_s)}</td></tr>"
        )
    table = (
        '<table class="staff"><thead><tr><th>#</th><th>staff member</th><th>department</th><th class="num">calls</th>'
        '<th class="num">answered</th><th class="num">% answered</th><th class="num">talk h:mm</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
    shown = f"Top {min(STAFF_IN_TABLE, len(data.staff))} of {formatting.count(len(data.staff))} staff members with calls."
    body = (
        f'<div class="split"><div>{chart_or_no_data("staff", charts.staff_leaderboard(data), "")}</div>'
        f'<div>{table}<p class="note">{shown}</p></div></div>'
    )
    return panel("staff", "Staff leaderboard", caption, body)


def sip_panel(data: ReportData) -> str:
    caption = (
        "Genesys dialogs by the final SIP reply to their INVITE (reporting.calls status_raw, coloured by outcome), "
        "and how many never got an answer (no 2xx)."
    )
    if "genesys" not in data.vendors:
        return panel("sip", "Genesys SIP final replies", caption, no_data("sip", "genesys is not selected"))
    if not data.sip_codes:
        return panel("sip", "Genesys SIP final replies", caption, no_data("sip", "no Genesys dialog started in this range"))
    dialogs, unanswered, pending = data.genesys_dialogs, data.genesys_unanswered, data.genesys_pending
    summary = (
        f'<p class="note"><span data-figure="genesys_unanswered" data-value="{unanswered}">{formatting.count(unanswered)}</span> '
        f'of <span data-figure="genesys_dialogs" data-value="{dialogs}">{formatting.count(dialogs)}</span> Genesys dialogs '
        f"({formatting.percent(unanswered / dialogs)}) never got an answer"
        + (f"; {formatting.count(pending)} of them have no final reply yet" if pending else "")
        + ".</p>"
    )
    return panel("sip", "Genesys SIP final replies", caption, chart_or_no_data("sip", charts.sip_final_codes(data), "") + summary)


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


def _spans(intervals: Sequence[Sequence[Any]], limit: int = 3) -> str:
    parts = [
        _utc_span(parse_instant(a) if isinstance(a, str) else a, parse_instant(b) if isinstance(b, str) else b)
        for a, b in intervals
    ]
    shown = "<br>".join(_e(p) for p in parts[:limit])
    return shown + (f"<br>and {len(parts) - limit} more" if len(parts) > limit else "")


def _badge(status: str, text: str) -> str:
    return f'<span class="badge {_e(status)}">{_e(text)}</span>'


def _last_run(run: dict[str, Any] | None) -> tuple[str, str]:
    """(status, html) of a source's last run."""
    if not run:
        return "skip", "never"
    if run["finished_at"] is None:
        started = f"{run['started_at']:%Y-%m-%d %H:%M} UTC"
        return (
            "warn",
            f"{_badge('warn', 'no end recorded')} <code>callhouse {_e(run['command'])}</code> started {started}: still running, or killed",
        )
    outcome = str(run["outcome"])
    status = "pass" if outcome == "ok" else "fail"
    when = f"{run['finished_at']:%Y-%m-%d %H:%M} UTC"
    message = f" ({_e(run['message'])})" if run.get("message") else ""
    return (
        status,
        f"{_badge(status, outcome)} {when}, <code>callhouse {_e(run['command'])}</code>, {formatting.count(run['rows'])} rows{message}",
    )


@dataclass
class Health:
    rows: str  # the table body
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
            in_range = _badge("skip", "the range has not begun")
        elif not status["coverage"]:
            in_range = _badge("skip" if not selected else "fail", "nothing loaded")
        elif missing:
            in_range = _badge("warn", "partly loaded") + "<br>not loaded: " + _spans(missing)
        else:
            in_range = _badge("pass", "whole range loaded")
        coverage = _spans(status["coverage"]) if status["coverage"] else "—"
        gaps = (_badge("warn", f"{len(status['gaps'])} gaps") + "<br>" + _spans(status["gaps"])) if status["gaps"] else "none"
        fresh = inputs.checks.freshness.get(name)
        if fresh is None:
            freshness = "—"
        else:
            labels = {"pass": "fresh", "warn": "stale", "fail": "too old", "skip": "never loaded"}
            freshness = _badge(fresh.status, labels[fresh.status]) + (f"<br>{_e(fresh.detail)}" if fresh.detail else "")
        run_status, last_run = _last_run(status["last_run"])
        rows.append(
            f'<tr data-source="{_e(name)}"><th>{_e(name)}{"" if selected else "<br><small>(not selected)</small>"}</th>'
            f"<td>{in_range}</td><td>{coverage}</td><td>{gaps}</td><td>{freshness}</td><td>{last_run}</td></tr>"
        )
        if selected:
            if not status["coverage"]:
                problems.append(f"{name}: nothing loaded")
            elif missing:
                problems.append(f"{name}: part of the range not loaded")
            if fresh and fresh.status in ("warn", "fail"):
                problems.append(f"{name}: last load {fresh.detail.split(', ')[-1] if fresh.detail else 'too old'}")
            if run_status in ("fail", "warn"):
                problems.append(f"{name}: last run {'not finished' if run_status == 'warn' else status['last_run']['outcome']}")
    counts = inputs.checks.counts
    if counts["fail"]:
        problems.append(f"{counts['fail']} data test{'s' if counts['fail'] != 1 else ''} failing")
    return Health("".join(rows), problems)


def health_panel(inputs: PageInputs, found: Health) -> str:
    checks = inputs.checks
    counts = checks.counts
    lines = [o.line for o in checks.outcomes if o.status in ("fail", "warn")]
    listed = "".join(
        f"<li class='{'fail' if line.startswith('FAIL') else 'warn'}'>{_e(line)}</li>" for line in lines[:CHECK_LINES_SHOWN]
    )
    if len(lines) > CHECK_LINES_SHOWN:
        listed += f"<li>and {len(lines) - CHECK_LINES_SHOWN} more: run <code>callhouse check</code></li>"
    check_status = "fail" if counts["fail"] else "warn" if counts["warn"] else "pass"
    summary = (
        f'<p class="checks">{_badge(check_status, "data tests")} '
        f'<span data-figure="checks_passed" data-value="{counts["pass"]}">{formatting.count(counts["pass"])} passed</span>, '
        f'<span data-figure="checks_failed" data-value="{counts["fail"]}">{formatting.count(counts["fail"])} failed</span>, '
        f"{formatting.count(counts['warn'])} warnings"
        + (f", {formatting.count(counts['skip'])} skipped (not loaded)" if counts["skip"] else "")
        + " (<code>callhouse check</code>, on the whole warehouse)</p>"
        + (f'<ul class="check-lines">{listed}</ul>' if listed else "")
    )
    table = (
        '<table class="health"><thead><tr><th>source</th><th>this page\'s range</th><th>loaded coverage</th><th>gaps</th>'
        f"<th>freshness</th><th>last run</th></tr></thead><tbody>{found.rows}</tbody></table>"
    )
    caption = "Whether to trust the page: per source what is loaded (callhouse status), how fresh it is, and the data tests."
    return panel("data-health", "Data health", caption, table + summary)


# --- the page ---------------------------------------------------------------------------------

PANELS: tuple[Callable[[ReportData], str], ...] = (
    headline_panel,
    calls_per_day_panel,
    answer_rate_panel,
    heatmap_panel,
    concurrency_panel,
    staff_panel,
    sip_panel,
)


def render(inputs: PageInputs) -> str:
    data = inputs.data
    period = data.period
    made = pendulum.instance(inputs.made_at)
    found = health(inputs)
    verdict = (
        f'<div class="verdict warn" data-verdict="warn"><strong>Read with care:</strong> {_e("; ".join(found.problems))} '
        '(see <a href="#data-health">Data health</a>).</div>'
        if found.problems
        else '<div class="verdict pass" data-verdict="pass"><strong>Data health: good.</strong> Every selected source loaded '
        "the whole range and the data tests pass.</div>"
    )
    warnings = "".join(f'<div class="verdict warn">{_e(w)}</div>' for w in inputs.warnings)
    widened = " (--start/--end widened to whole days)" if period.widened else ""
    vendors = ", ".join(data.vendors)
    title = f"Calls {formatting.short_day(period.first_day)} – {formatting.day(period.last_day)}"
    meta = (
        f"<dl class='meta'>"
        f"<div><dt>Range</dt><dd>{_e(period.describe())}{_e(widened)}: [{_e(_utc_span(period.start, period.end))})</dd></div>"
        f"<div><dt>Time zone</dt><dd>{_e(period.zone)} (REPORTING__TIMEZONE): every day and hour below</dd></div>"
        f"<div><dt>Vendors</dt><dd>{_e(vendors)}</dd></div>"
        f"<div><dt>Warehouse</dt><dd><code>{_e(inputs.warehouse)}</code></dd></div>"
        f"<div><dt>Made</dt><dd>{_e(formatting.instant(made.in_timezone(period.zone), period.zone))}"
        + ("" if period.zone == "UTC" else f" ({_e(formatting.instant(made.in_timezone('UTC'), 'UTC'))})")
        + " by <code>callhouse report</code></dd></div></dl>"
    )
    body = "".join(render_panel(data) for render_panel in PANELS) + health_panel(inputs, found)
    return (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{STYLE}</style>"
        f'<script type="text/javascript">{charts.plotly_js()}</script></head>'
        f"<body><header><h1>{_e(title)}</h1>{meta}{verdict}{warnings}</header><main>{body}</main>"
        f"<footer>callhouse report · from the reporting views of {_e(inputs.warehouse)}</footer></body></html>\n"
    )


STYLE = """
:root { --ink: #1f2328; --muted: #5f6b76; --line: #e3e6ea; --bg: #f6f7f9; --ok: #2e7d32; --warn: #b26a00; --bad: #c62828; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header, main, footer { max-width: 1280px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 20px; }
h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 0 0 2px; }
h3 { font-size: 15px; margin: 0 0 8px; text-transform: capitalize; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #eef0f3; padding: 1px 4px; border-radius: 3px; }
dl.meta { display: flex; flex-wrap: wrap; gap: 4px 24px; margin: 0 0 12px; color: var(--muted); }
dl.meta div { display: flex; gap: 6px; } dl.meta dt { font-weight: 600; color: var(--ink); } dl.meta dd { margin: 0; }
.verdict { border-radius: 6px; padding: 8px 12px; margin: 6px 0; border: 1px solid; }
.verdict.pass { background: #edf7ee; border-color: #b7dfba; } .verdict.warn { background: #fff6e5; border-color: #f3d19c; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px; margin: 16px 0; }
.caption { color: var(--muted); margin: 0 0 12px; }
.note { color: var(--muted); margin: 8px 0 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(270px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; background: #fcfcfd; }
.card[data-vendor="all"] { background: #f3f5f8; }
.card dl { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px 12px; margin: 0; }
.card dt { color: var(--muted); font-size: 12px; } .card dd { margin: 0; font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.nodata { display: flex; flex-direction: column; gap: 2px; align-items: center; justify-content: center; min-height: 96px;
  border: 2px dashed #cfd4da; border-radius: 8px; color: var(--muted); background: #fafbfc; text-align: center; padding: 12px; }
.nodata strong { font-size: 16px; color: #6b7580; }
.card.empty .nodata { min-height: 150px; }
.chart { width: 100%; }
.split { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; align-items: start; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-size: 12px; color: var(--muted); font-weight: 600; }
.num { text-align: right; }
table.health td, table.health th { font-size: 13px; }
.badge { display: inline-block; white-space: nowrap; border-radius: 10px; padding: 0 8px; font-size: 12px; font-weight: 600; color: #fff; }
.badge.pass { background: var(--ok); } .badge.warn { background: var(--warn); } .badge.fail { background: var(--bad); }
.badge.skip { background: #8a939c; }
.checks { margin: 12px 0 4px; }
.check-lines { margin: 4px 0 0; padding-left: 20px; font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.check-lines li.fail { color: var(--bad); } .check-lines li.warn { color: var(--warn); }
footer { color: var(--muted); font-size: 12px; padding-bottom: 24px; }
@media (max-width: 900px) { .split { grid-template-columns: 1fr; } }
"""
