"""What the report shows, read from the `reporting` views for a range of whole local days.

Plain SQL with bind parameters (no DuckDB-only syntax): it runs on any warehouse whose views the
contract names. The range is whole days in the zone the views were built for, so the day-grained
views (`daily_calls`, `agent_daily`) and the call-grained ones (`calls`, filtered on the instants
of those days' midnights) cover exactly the same calls.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import duckdb
import pendulum

from pipelines.errors import UsageError
from pipelines.fetch.windows import parse_instant
from pipelines.report import formatting

DEFAULT_DAYS = 7
OUTCOMES = ("answered", "missed", "failed", "active", "unknown")
_DATE_ONLY = re.compile(r"^\s*\d{4}-\d{2}-\d{2}\s*$")


# --- the range --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRange:
    """Local days [first_day, last_day] in `zone`; `widened` when --start/--end fell inside a day."""

    first_day: dt.date
    last_day: dt.date
    zone: str
    widened: bool = False

    @classmethod
    def last_full_days(cls, now: dt.datetime, zone: str, days: int = DEFAULT_DAYS) -> ReportRange:
        """The `days` whole local days before the one `now` falls in."""
        today = pendulum.instance(now).in_timezone(zone).date()
        return cls(today - dt.timedelta(days=days), today - dt.timedelta(days=1), zone)

    @classmethod
    def parse(cls, start: str, end: str, zone: str) -> ReportRange:
        """--start/--end as `callhouse backfill` reads them (ISO-8601; a datetime without offset is
        UTC), except that a bare date is that day in the reporting zone. Whole days that contain
        [start, end) are shown."""
        first, last = _instant(start, "--start", zone), _instant(end, "--end", zone)
        if last <= first:
            raise UsageError(f"--end ({end.strip()}) must be after --start ({start.strip()})")
        first_local, last_local = first.in_timezone(zone), last.subtract(microseconds=1).in_timezone(zone)
        period = cls(first_local.date(), last_local.date(), zone)
        widened = period.start != first or period.end != last
        return cls(period.first_day, period.last_day, zone, widened)

    @property
    def days(self) -> list[dt.date]:
        count = (self.last_day - self.first_day).days + 1
        return [self.first_day + dt.timedelta(days=i) for i in range(count)]

    @property
    def start(self) -> pendulum.DateTime:
        """The instant the first day begins (UTC)."""
        return _midnight(self.first_day, self.zone)

    @property
    def end(self) -> pendulum.DateTime:
        """The instant after the last day ends (UTC), exclusive."""
        return _midnight(self.last_day + dt.timedelta(days=1), self.zone)

    @property
    def local_start(self) -> dt.datetime:
        """Local wall time of the start, as the views' hour buckets hold it (no zone)."""
        return dt.datetime.combine(self.first_day, dt.time())

    @property
    def local_end(self) -> dt.datetime:
        return dt.datetime.combine(self.last_day + dt.timedelta(days=1), dt.time())

    def describe(self) -> str:
        """'Fri 13 Nov 2026 – Thu 19 Nov 2026 (7 days, UTC)'."""
        count = len(self.days)
        span = formatting.day(self.first_day)
        if count > 1:
            span += f" – {formatting.day(self.last_day)}"
        return f"{span} ({count} day{'s' if count != 1 else ''}, {self.zone})"


def _instant(text: str, setting: str, zone: str) -> pendulum.DateTime:
    if _DATE_ONLY.match(text):
        day = parse_instant(text, setting)  # the same checks and message as every other command
        return _midnight(day.date(), zone)
    return parse_instant(text, setting)


def _midnight(day: dt.date, zone: str) -> pendulum.DateTime:
    return pendulum.datetime(day.year, day.month, day.day, tz=zone).in_timezone("UTC")


def _utc(value: dt.datetime) -> dt.datetime:
    """A plain datetime in UTC for the driver (not a pendulum subclass)."""
    value = value.astimezone(dt.UTC)
    return dt.datetime(value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond, dt.UTC)


# --- what is shown ----------------------------------------------------------------------------


@dataclass
class Figures:
    """Headline figures of one vendor (or all), summed from reporting.daily_calls."""

    vendor: str
    calls: int = 0
    answered: int = 0
    missed: int = 0
    failed: int = 0
    active: int = 0
    unknown: int = 0
    talk_s: Decimal = Decimal(0)

    @property
    def answer_rate(self) -> float | None:
        return formatting.rate(self.answered, self.missed, self.failed)

    def add(self, other: Figures) -> None:
        for name in ("calls", *OUTCOMES, "talk_s"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class DayOutcomes:
    day: dt.date
    vendor: str
    counts: dict[str, int]  # outcome -> calls

    @property
    def answer_rate(self) -> float | None:
        return formatting.rate(self.counts["answered"], self.counts["missed"], self.counts["failed"])


@dataclass(frozen=True)
class StaffRow:
    staff_id: str
    display_name: str | None
    department: str | None
    calls: int
    answered: int
    talk_s: Decimal


@dataclass(frozen=True)
class SipCode:
    code: str  # the dialog's final reply code ('487'), else its last provisional one, else 'INVITE'
    reason: str | None  # the reason phrase the replies carried ('Request Terminated')
    outcome: str  # what reporting.calls makes of it (staging.outcome_map)
    dialogs: int
    answered: int  # dialogs with a 2xx answer


@dataclass
class ReportData:
    period: ReportRange
    vendors: tuple[str, ...]  # the vendors asked for, in the registry's order
    figures: dict[str, Figures]  # vendor -> figures, only vendors with calls in the range
    daily: list[DayOutcomes]
    starts: dict[tuple[int, int], int]  # (ISO weekday 1=Mon..7=Sun, local hour) -> call starts
    concurrency: list[tuple[dt.datetime, str, int]]  # (local hour, vendor, peak concurrent calls)
    staff: list[StaffRow]  # every staff member with calls, most calls first
    sip_codes: list[SipCode] = field(default_factory=list)

    @property
    def total(self) -> Figures:
        total = Figures("all")
        for figures in self.figures.values():
            total.add(figures)
        return total

    @property
    def genesys_dialogs(self) -> int:
        return sum(c.dialogs for c in self.sip_codes)

    @property
    def genesys_unanswered(self) -> int:
        """Dialogs that never got a 2xx answer (ended, or still ringing)."""
        return sum(c.dialogs - c.answered for c in self.sip_codes)

    @property
    def genesys_pending(self) -> int:
        """Of those, dialogs with no final reply yet (still ringing, or the reply not loaded)."""
        return sum(c.dialogs - c.answered for c in self.sip_codes if not c.code[:1].isdigit() or c.code.startswith("1"))


def views_zone(con: duckdb.DuckDBPyConnection) -> str:
    """The zone the views' day and hour buckets were built for (staging.reporting_settings)."""
    try:
        row = con.execute("select timezone from staging.reporting_settings").fetchone()
    except Exception:
        row = None
    if not row:
        raise UsageError("report: views not built: run `callhouse views`")
    return str(row[0])


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join("?" for _ in values) + ")"


def read_report(con: duckdb.DuckDBPyConnection, period: ReportRange, vendors: Sequence[str]) -> ReportData:
    vendors = tuple(vendors)
    days = [period.first_day, period.last_day]
    instants = [_utc(period.start), _utc(period.end)]
    vendor_in = _in(vendors)

    figures: dict[str, Figures] = {}
    for vendor, calls, answered, missed, failed, active, unknown, talk_s in con.execute(
        f"""
        select vendor, sum(calls), sum(answered), sum(missed), sum(failed), sum(active), sum(unknown), sum(talk_s_total)
        from reporting.daily_calls
        where day >= ? and day <= ? and vendor in {vendor_in}
        group by vendor
        """,
        [*days, *vendors],
    ).fetchall():
        if calls:
            figures[vendor] = Figures(
                vendor,
                int(calls),
                answered=int(answered or 0),
                missed=int(missed or 0),
                failed=int(failed or 0),
                active=int(active or 0),
                unknown=int(unknown or 0),
                talk_s=Decimal(talk_s or 0),
            )
    figures = {v: figures[v] for v in vendors if v in figures}

    daily = [
        DayOutcomes(_date(day), vendor, dict(zip(OUTCOMES, (int(c or 0) for c in counts))))
        for day, vendor, *counts in con.execute(
            f"""
            select day, vendor, sum(answered), sum(missed), sum(failed), sum(active), sum(unknown)
            from reporting.daily_calls
            where day >= ? and day <= ? and vendor in {vendor_in}
            group by day, vendor
            order by day, vendor
            """,
            [*days, *vendors],
        ).fetchall()
    ]

    starts: dict[tuple[int, int], int] = {}
    for weekday, hour, calls in con.execute(
        f"""
        select extract(dow from local_start), extract(hour from local_start), count(*)
        from (
            select started_at at time zone ? as local_start
            from reporting.calls
            where started_at >= ? and started_at < ? and vendor in {vendor_in}
        ) as call_starts
        group by extract(dow from local_start), extract(hour from local_start)
        """,
        [period.zone, *instants, *vendors],
    ).fetchall():
        starts[(int(weekday) or 7, int(hour))] = int(calls)  # dow: 0 = Sunday

    concurrency = [
        (hour, vendor, int(peak))
        for hour, vendor, peak in con.execute(
            f"""
            select hour, vendor, peak_concurrent_calls
            from reporting.hourly_concurrency
            where hour >= ? and hour < ? and vendor in {vendor_in}
            order by hour, vendor
            """,
            [period.local_start, period.local_end, *vendors],
        ).fetchall()
    ]

    staff: list[StaffRow] = []
    if "cinnox" in vendors:  # reporting.agent_daily is CINNOX's staff
        staff = [
            StaffRow(str(staff_id), name, department, int(calls), int(answered or 0), Decimal(talk_s or 0))
            for staff_id, name, department, calls, answered, talk_s in con.execute(
                """
                select staff_id, max(display_name), max(department), sum(calls), sum(answered), sum(talk_s_total)
                from reporting.agent_daily
                where day >= ? and day <= ?
                group by staff_id
                order by sum(calls) desc, sum(answered) desc, staff_id
                """,
                days,
            ).fetchall()
        ]

    sip_codes: list[SipCode] = []
    if "genesys" in vendors:
        reasons = dict(
            con.execute(
                """
                select cast(status_code as varchar), min(reply_reason)
                from reporting.sip_messages
                where status_code is not null and sent_at >= ? and sent_at < ?
                group by status_code
                """,
                instants,
            ).fetchall()
        )
        sip_codes = [
            SipCode(str(code), reasons.get(str(code)), str(outcome), int(dialogs), int(answered or 0))
            for code, outcome, dialogs, answered in con.execute(
                """
                select status_raw, outcome, count(*), sum(case when answered_at is not null then 1 else 0 end)
                from reporting.calls
                where vendor = 'genesys' and started_at >= ? and started_at < ?
                group by status_raw, outcome
                order by count(*) desc, status_raw, outcome
                """,
                instants,
            ).fetchall()
        ]

    return ReportData(period, vendors, figures, daily, starts, concurrency, staff, sip_codes)


def _date(value: dt.date) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
