"""The report's charts as Plotly figures, and their HTML with Plotly's JavaScript inlined once.

Each function returns None when it has nothing to draw: the page shows a "no data" panel instead.
Text from the data (staff names) is escaped: Plotly reads a little HTML in labels.
"""

from __future__ import annotations

import datetime as dt
import html
from functools import cache

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from pipelines.report import formatting
from pipelines.report.queries import OUTCOMES, ReportData
from pipelines.sources.registry import VENDORS

OUTCOME_COLOURS = {
    "answered": "#2e7d32",
    "missed": "#f0a202",
    "failed": "#c62828",
    "active": "#1e88e5",
    "unknown": "#9e9e9e",
}
ALL = "all"  # the all-vendors line's key
VENDOR_COLOURS = {v.name: v.colour for v in VENDORS} | {ALL: "#424242"}
VENDOR_NAMES = {v.name: v.display_name for v in VENDORS} | {ALL: "all vendors"}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
STAFF_IN_CHART = 10
CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


@cache
def plotly_js() -> str:
    """Plotly's JavaScript bundle, to inline once in the page (no CDN: the file opens offline)."""
    return str(get_plotlyjs())  # plotly is untyped


def chart_html(figure: go.Figure, name: str) -> str:
    """The figure's <div> and the script that draws it (Plotly itself is inlined once, elsewhere)."""
    return str(  # plotly is untyped
        pio.to_html(figure, include_plotlyjs=False, full_html=False, div_id=f"chart-{name}", config=CONFIG, default_height="100%")
    )


def _layout(figure: go.Figure, height: int, **extra: object) -> go.Figure:
    layout = dict(
        template="plotly_white",
        height=height,
        margin=dict(l=60, r=20, t=30, b=50),
        font=dict(family=FONT, size=12, color="#222"),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
        separators=".,",  # decimal point, thousands comma
        hoverlabel=dict(font_family=FONT),
    )
    figure.update_layout(**{**layout, **extra})
    return figure


def calls_per_day(data: ReportData) -> go.Figure | None:
    """Stacked bars of calls by outcome, one panel per vendor with calls, every day of the range."""
    vendors = [v for v in data.vendors if v in data.figures]
    if not vendors:
        return None
    days = data.period.days
    labels = [_day_label(d) for d in days]
    hover_days = [f"{formatting.short_day(d)} ({data.period.zone})" for d in days]
    by_key = {(row.vendor, row.day): row.counts for row in data.daily}
    figure = make_subplots(rows=1, cols=len(vendors), subplot_titles=[VENDOR_NAMES[v] for v in vendors], horizontal_spacing=0.06)
    shown = [o for o in OUTCOMES if any(row.counts[o] for row in data.daily)]
    for column, vendor in enumerate(vendors, start=1):
        for outcome in shown:
            counts = [by_key.get((vendor, d), {}).get(outcome, 0) for d in days]
            figure.add_trace(
                go.Bar(
                    x=labels,
                    y=counts,
                    name=outcome,
                    legendgroup=outcome,
                    showlegend=column == 1,
                    marker_color=OUTCOME_COLOURS[outcome],
                    customdata=hover_days,
                    hovertemplate=f"{VENDOR_NAMES[vendor]}, %{{customdata}}<br>{outcome}: %{{y:,}}<extra></extra>",
                ),
                row=1,
                col=column,
            )
        figure.update_xaxes(title_text=f"day ({data.period.zone})", row=1, col=column)
    figure.update_yaxes(tickformat=",", rangemode="tozero")
    figure.update_yaxes(title_text="calls", row=1, col=1)
    return _layout(
        figure,
        400,
        barmode="stack",
        bargap=0.25,
        legend=dict(orientation="h", yanchor="bottom", y=1.1, xanchor="left", x=0),
        margin=dict(l=60, r=20, t=70, b=50),
    )


def _day_label(day: dt.date) -> str:
    """Two lines, so a week of days fits under a narrow panel: 'Sun<br>29 Nov'."""
    return f"{day:%a}<br>{day.day} {day:%b}"


def answer_rate_trend(data: ReportData) -> go.Figure | None:
    """Answer rate per day: one line per vendor and one for all of them together."""
    days = data.period.days
    labels = [_day_label(d) for d in days]
    hover_days = [f"{formatting.short_day(d)} ({data.period.zone})" for d in days]
    series: dict[str, dict[dt.date, dict[str, int]]] = {}
    for row in data.daily:
        for key in (row.vendor, "all"):
            counts = series.setdefault(key, {}).setdefault(row.day, dict.fromkeys(OUTCOMES, 0))
            for outcome in OUTCOMES:
                counts[outcome] += row.counts[outcome]
    rates = {
        key: [formatting.rate(*(per_day.get(d, {}).get(o, 0) for o in ("answered", "missed", "failed"))) for d in days]
        for key, per_day in series.items()
    }
    if not any(r is not None for values in rates.values() for r in values):
        return None
    figure = go.Figure()
    for key in [v for v in data.vendors if v in rates] + (["all"] if len(rates) > 2 else []):
        figure.add_trace(
            go.Scatter(
                x=labels,
                y=rates[key],
                name=VENDOR_NAMES[key],
                mode="lines+markers",
                line=dict(color=VENDOR_COLOURS[key], width=3 if key == "all" else 2, dash="dot" if key == "all" else "solid"),
                customdata=hover_days,
                hovertemplate=f"{VENDOR_NAMES[key]}, %{{customdata}}: %{{y:.1%}}<extra></extra>",
            )
        )
    figure.update_yaxes(title_text="answer rate", tickformat=".0%", rangemode="tozero")
    figure.update_xaxes(title_text=f"day ({data.period.zone})")
    return _layout(figure, 340)


def starts_heatmap(data: ReportData) -> go.Figure | None:
    """Call starts by local hour of day (columns) and day of week (rows), summed over the range."""
    if not any(data.starts.values()):
        return None
    hours = [f"{h:02d}:00" for h in range(24)]
    z = [[data.starts.get((weekday, hour), 0) for hour in range(24)] for weekday in range(1, 8)]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=hours,
            y=list(WEEKDAYS),
            colorscale="Blues",
            xgap=1,
            ygap=1,
            colorbar=dict(title=dict(text="calls"), tickformat=","),
            hovertemplate="%{y} %{x} (" + data.period.zone + "): %{z:,} calls started<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed", title_text=f"day of week ({data.period.zone})")
    figure.update_xaxes(title_text=f"hour of day ({data.period.zone})", tickangle=0, dtick=2)
    return _layout(figure, 320)


def peak_concurrency(data: ReportData) -> go.Figure | None:
    """Peak calls in progress at once per local hour: one small panel per vendor, the same hours."""
    vendors = [v for v in data.vendors if any(row[1] == v for row in data.concurrency)]
    if not vendors:
        return None
    figure = make_subplots(
        rows=len(vendors), cols=1, shared_xaxes=True, vertical_spacing=0.08, subplot_titles=[VENDOR_NAMES[v] for v in vendors]
    )
    for row, vendor in enumerate(vendors, start=1):
        points = [(hour, peak) for hour, v, peak in data.concurrency if v == vendor]
        figure.add_trace(
            go.Scatter(
                x=[hour for hour, _ in points],
                y=[peak for _, peak in points],
                name=VENDOR_NAMES[vendor],
                mode="lines",
                fill="tozeroy",
                line=dict(color=VENDOR_COLOURS[vendor], width=1.2, shape="hv"),
                hovertemplate=f"{VENDOR_NAMES[vendor]}, %{{x|%a %d %b %H:00}} ({data.period.zone}): %{{y:,}} at once<extra></extra>",
            ),
            row=row,
            col=1,
        )
        figure.update_yaxes(title_text="calls", tickformat=",", rangemode="tozero", row=row, col=1)
    # the whole range, also the hours not loaded (yet)
    figure.update_xaxes(
        tickformat="%a %d %b", dtick=86400000, ticklabelmode="period", range=[data.period.local_start, data.period.local_end]
    )
    figure.update_xaxes(title_text=f"hour ({data.period.zone})", row=len(vendors), col=1)
    return _layout(figure, 70 + 130 * len(vendors), showlegend=False, margin=dict(l=60, r=20, t=30, b=50))


def staff_leaderboard(data: ReportData) -> go.Figure | None:
    """The staff with most calls: answered and not answered, stacked."""
    top = data.staff[:STAFF_IN_CHART]
    if not top:
        return None
    names = [html.escape(row.display_name or row.staff_id) for row in top]
    figure = go.Figure()
    for name, values, colour in (
        ("answered", [row.answered for row in top], OUTCOME_COLOURS["answered"]),
        ("not answered", [row.calls - row.answered for row in top], "#bdbdbd"),
    ):
        figure.add_trace(
            go.Bar(
                y=names,
                x=values,
                name=name,
                orientation="h",
                marker_color=colour,
                hovertemplate=f"%{{y}}: %{{x:,}} {name}<extra></extra>",
            )
        )
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(title_text="calls", tickformat=",")
    return _layout(figure, 60 + 28 * len(top) + 60, barmode="stack", margin=dict(l=140, r=20, t=30, b=50))


def sip_final_codes(data: ReportData) -> go.Figure | None:
    """Genesys dialogs by the final SIP reply to their INVITE."""
    if not data.sip_codes:
        return None
    labels = [html.escape(f"{c.code} {c.reason}" if c.reason else c.code) for c in data.sip_codes]
    colours = [OUTCOME_COLOURS.get(c.outcome, OUTCOME_COLOURS["unknown"]) for c in data.sip_codes]
    figure = go.Figure(
        go.Bar(
            x=labels,
            y=[c.dialogs for c in data.sip_codes],
            marker_color=colours,
            text=[formatting.count(c.dialogs) for c in data.sip_codes],
            textposition="outside",
            cliponaxis=False,
            customdata=[c.outcome for c in data.sip_codes],
            hovertemplate="%{x}: %{y:,} dialogs (%{customdata})<extra></extra>",
        )
    )
    figure.update_yaxes(title_text="Genesys dialogs", tickformat=",", rangemode="tozero")
    figure.update_xaxes(title_text="final SIP reply to the INVITE")
    return _layout(figure, 340, showlegend=False)
