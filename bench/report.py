"""The results as Markdown: the machine, the targets (met or not), and one table per mode."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import version
from statistics import median
from typing import Any

from bench.harness import REPO, ROUND, Latency, NightlyGrowth, PathResult, Throughput
from bench.vendors import VENDORS

TARGET_CALLS_PER_S = 40_000
TARGET_PEAK_RSS_MB = 300
TARGET_NIGHTLY_RATIO = 1.5
TARGET_AT_CALLS = 1_000_000
TARGET_NIGHTLY_HISTORY = 5_000_000

PATH_TITLES = {
    "callhouse": "callhouse backfill (end to end)",
    "callhouse_ducklake": "callhouse backfill into DuckLake (PostgreSQL catalog on loopback, local data path)",
    "callhouse_postgres": "callhouse backfill into PostgreSQL (on loopback)",
    "postgres_copy": "PostgreSQL COPY of the same rows (typed CREATE TABLE + COPY FROM STDIN, no merge; from NDJSON)",
    "imports_only": "callhouse start-up only (interpreter + imports)",
    "fetch_only": "fetch only (HTTP + orjson, discard)",
    "dlt_dicts_default": "plain dlt, dict pages, default loader",
    "dlt_dicts_parquet": "plain dlt, dict pages, parquet loader",
    "duckdb_unnest": "DuckDB read_json + UNNEST (from NDJSON)",
}


def path_title(name: str) -> str:
    r, name = _round(name), ROUND.sub(r"\1", name)
    if name.startswith("callhouse_duckdb_"):
        title = f"callhouse backfill with duckdb {name.removeprefix('callhouse_duckdb_')} (same lock otherwise)"
    else:
        title = PATH_TITLES.get(name, name)
    return title + (f", round {r}" if r > 1 else "")


def machine() -> dict[str, str]:
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(len(os.sched_getaffinity(0))),
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "load": load,
        "python": platform.python_version(),
        "dlt": version("dlt"),
        "duckdb": version("duckdb"),
        "pyarrow": version("pyarrow"),
        "commit": _commit(),
    }


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "pipelines", "sql", "schemas", ".dlt"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return head + (" + uncommitted changes in pipelines/" if dirty else "")
    except OSError:
        return "unknown"


# --- formatting helpers -----------------------------------------------------------------------


def n(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def ratio(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}x" if value < 10 else f"{value:.0f}x"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def met(ok: bool | None) -> str:
    return "—" if ok is None else ("**met**" if ok else "**not met**")


# --- figures ----------------------------------------------------------------------------------


def calls_per_s(t: Throughput, p: PathResult | None) -> float | None:
    if p is None or not p.ok or p.name == "imports_only":
        return None
    return t.truth.calls / p.measured.wall_s


def counts_check(t: Throughput, p: PathResult) -> str:
    if not p.ok:
        return "—"
    if p.name == "imports_only":
        return "n/a"
    if p.name == "fetch_only":
        got = p.counts.get("call_detail", 0)
        return "yes" if got == t.truth.calls else f"no: {got:,} records fetched, truth {t.truth.calls:,}"
    wrong = [
        f"{table} {p.counts.get(table, 0):,} vs {want:,}"
        for table, want in t.truth.counts.items()
        if p.counts.get(table, 0) != want
    ]
    return "yes" if not wrong else "no: " + "; ".join(wrong)


def _round(name: str) -> int:
    found = ROUND.fullmatch(name)
    return int(found[2]) if found else 1


def _is_baseline(name: str) -> bool:
    return name == "callhouse" or name.startswith("callhouse_round")


def _baseline(t: Throughput, name: str) -> tuple[float | None, float | None]:
    """calls/s and peak RSS of the pinned callhouse run a path is compared with: the same round's."""
    r = _round(name)
    ch = t.path("callhouse" if r == 1 else f"callhouse_round{r}")
    return calls_per_s(t, ch), (ch.measured.peak_rss_mb if ch and ch.ok else None)


def duckdb_versions_note(t: Throughput) -> list[str]:
    compared = sorted({(ROUND.sub(r"\1", p.name)).removeprefix("callhouse_duckdb_") for p in t.paths if "_duckdb_" in p.name})
    if not compared:
        return []
    rounds = max(_round(p.name) for p in t.paths)
    lines = [
        "",
        f"DuckDB versions: `callhouse backfill` ran with duckdb {version('duckdb')} (the pin), then the same code "
        f"with duckdb {', '.join(compared)} from a venv of requirements.lock with only the duckdb pin changed "
        "(the DuckDB CLI and extension wheels, built per DuckDB version, left out: bench/duckdb_versions.py), "
        "each into a warehouse of its own; ratios are against the pinned run"
        + (f" of the same round ({rounds} rounds, the order reversed every other round)." if rounds > 1 else "."),
    ]
    for v in compared if rounds > 1 else ():
        speed, cpu, rss = [], [], []
        for r in range(1, rounds + 1):
            suffix = "" if r == 1 else f"_round{r}"
            ch, other = t.path(f"callhouse{suffix}"), t.path(f"callhouse_duckdb_{v}{suffix}")
            if ch and other and ch.ok and other.ok:
                speed.append(ch.measured.wall_s / other.measured.wall_s)
                cpu.append(ch.measured.cpu_s / other.measured.cpu_s)
                rss.append(other.measured.peak_rss_mb / ch.measured.peak_rss_mb)
        if speed:
            lines += [
                "",
                f"duckdb {v} against {version('duckdb')}, median of {len(speed)} rounds: calls/s {ratio(median(speed))} "
                f"(rounds {', '.join(ratio(x) for x in speed)}), calls per CPU second {ratio(median(cpu))}, "
                f"peak RSS {ratio(median(rss))} (rounds {', '.join(ratio(x) for x in rss)}).",
            ]
    return lines


def throughput_section(t: Throughput) -> list[str]:
    truth = t.truth
    vendor = VENDORS[t.vendor]
    tables = ", ".join(f"{name} {rows:,}" for name, rows in truth.counts.items())
    lines = [
        f"## Throughput: {truth.calls:,} {vendor.display} {vendor.record} (asked for {t.requested_calls:,})",
        "",
        f"{truth.rows:,} rows in {len(truth.counts)} table{'s' if len(truth.counts) > 1 else ''} ({tables}); "
        f"backfill [{t.start:%Y-%m-%d}, {t.end:%Y-%m-%d}) = {len(truth.windows)} daily windows, "
        f"{min(truth.windows):,}-{max(truth.windows):,} {vendor.record} each. Sandbox latency 0, no rate limit. "
        f"Ratios are baseline / callhouse: speed above 1x is faster than callhouse, memory above 1x uses more. "
        f"Calls per CPU second is the steadier figure when the machine is busy (wall well above CPU).",
        "",
    ]
    ch = t.path("callhouse")
    rows = []
    for p in t.paths:
        title = path_title(p.name)
        if p.skipped:
            rows.append([title] + ["skipped"] + ["—"] * 9)
            continue
        m = p.measured
        speed = calls_per_s(t, p)
        ch_speed, ch_rss = _baseline(t, p.name)
        rows.append(
            [
                title,
                n(m.wall_s, 2),
                n(m.cpu_s, 2),
                n(p.sandbox_cpu_s, 1),
                n(speed),
                n(truth.calls / m.cpu_s if speed and m.cpu_s else None),
                n(truth.rows / m.wall_s if speed else None),
                n(m.peak_rss_mb),
                ratio(speed / ch_speed if speed and ch_speed and not _is_baseline(p.name) else None),
                ratio(m.peak_rss_mb / ch_rss if ch_rss and not _is_baseline(p.name) else None),
                counts_check(t, p) if p.ok else f"FAILED: {p.error[:200]}",
            ]
        )
    lines += table(
        [
            "path",
            "wall s",
            "CPU s",
            "sandbox CPU s",
            "calls/s",
            "calls per CPU s",
            "rows/s",
            "peak RSS MB",
            "speed vs callhouse",
            "RSS vs callhouse",
            "rows = truth",
        ],
        rows,
    )
    if ch and ch.ok and truth.min_requests is not None:
        used = ch.requests if ch.requests is not None else ch.extra.get("requests")
        lines += [
            "",
            f"CINNOX requests: callhouse used {n(used)} (sandbox count"
            f"{'' if ch.requests is not None else ' unavailable; callhouse’s own count'}), "
            f"minimum possible {truth.min_requests:,} (sum of ceil(calls per window / 500)); "
            f"fetch-only used {n(t.path('fetch_only').extra.get('pages') if t.path('fetch_only') else None)} pages.",
        ]
    on_server = [p for p in t.paths if p.ok and "server_cpu_s" in p.extra]
    if on_server:
        lines += [
            "",
            "PostgreSQL server CPU while each path ran (a process of its own, not in the path's CPU s): "
            + ", ".join(
                f"{p.name} {p.extra['server_cpu_s']:.2f} s "
                f"({truth.calls / (p.measured.cpu_s + p.extra['server_cpu_s']):,.0f} calls per CPU s, client and server)"
                for p in on_server
            )
            + ".",
        ]
    if ch and ch.ok and "phase_extract_s" in ch.extra:
        e = ch.extra
        loads = e.get("loads")
        which = "the only" if loads == 1 else f"the last of {loads}"
        lines += [
            "",
            f"callhouse phases of {which} `pipeline.run` (dlt trace): extract {e['phase_extract_s']:.2f} s, "
            f"normalize {e.get('phase_normalize_s', 0):.2f} s, load {e.get('phase_load_s', 0):.2f} s.",
        ]
    lines += duckdb_versions_note(t)
    for note in t.notes:
        lines += ["", f"Note: {note}."]
    return lines + [""]


def nightly_section(g: NightlyGrowth) -> list[str]:
    lines = [
        f"## Nightly growth: one day on an empty warehouse vs one holding {g.history_truth.calls:,} calls",
        "",
        f"History: {g.history_truth.calls:,} calls over {g.history_days} days, loaded first by backfill (asked for "
        f"{g.history_calls:,}; the target names {TARGET_NIGHTLY_HISTORY:,}). Nightly day: {g.day_truth.calls:,} calls, "
        f"`callhouse run --source cinnox` with SOURCES__CINNOX__START_DATE at the day's start and CALLHOUSE_NOW at its end.",
        "",
    ]
    rows = []
    history, day = g.history_truth.counts, g.day_truth.counts
    both = {t: history[t] + day[t] for t in history}
    for title, p, calls, want in (
        ("history backfill (setup)", g.history_load, g.history_truth.calls, history),
        ("nightly, empty warehouse", g.on_empty, g.day_truth.calls, day),
        ("nightly, full warehouse", g.on_full, g.day_truth.calls, both),
    ):
        m = p.measured
        wrong = [f"{t} {p.counts.get(t, 0):,} vs {w:,}" for t, w in want.items() if p.counts.get(t, 0) != w]
        check = "yes" if not wrong else "no: " + "; ".join(wrong)
        rows.append(
            [
                title,
                n(m.wall_s, 2),
                n(m.cpu_s, 2),
                n(calls / m.wall_s if p.ok else None),
                n(m.peak_rss_mb),
                check if p.ok else f"FAILED: {p.error[:200]}",
            ]
        )
    lines += table(["run", "wall s", "CPU s", "calls/s", "peak RSS MB", "warehouse rows = truth"], rows)
    lines += ["", "Both nightly runs also rebuild the views (`callhouse run` does)."]
    lines += ["", f"Full / empty wall time: {ratio(g.ratio)} (target <= {TARGET_NIGHTLY_RATIO}x)."]
    return lines + [""]


def latency_section(lat: Latency) -> list[str]:
    lines = [
        f"## Slow, rate-limited CINNOX: {lat.latency_ms:.0f} ms per request, {lat.rate:g} requests/s allowed",
        "",
        f"{lat.truth.calls:,} calls over {lat.days} daily windows; minimum requests {lat.truth.min_requests:,}. "
        "Requests/s = requests the sandbox received / callhouse wall time (start-up and load included); "
        "sustained = the same while requests flowed (the sandbox's count sampled every 0.25 s).",
        "",
    ]
    rows = []
    for p in lat.runs:
        m = p.measured
        requests = p.requests if p.requests is not None else p.extra.get("requests")
        throttled = p.throttled if p.throttled is not None else p.extra.get("throttled")
        ok_requests = requests - (throttled or 0) if requests is not None else None
        title = (
            "callhouse as configured (no client pacing)"
            if p.name.endswith("as_configured")
            else f"callhouse with SOURCES__CINNOX__REQUESTS_PER_SECOND={lat.rate:g}"
        )
        rows.append(
            [
                title,
                n(m.wall_s, 2),
                n(requests),
                n(throttled),
                n(requests / m.wall_s if requests is not None else None, 2),
                n(ok_requests / m.wall_s if ok_requests is not None else None, 2),
                n(p.extra.get("request_rate_while_fetching"), 2),
                n(lat.truth.calls / m.wall_s),
                "ok" if p.ok else f"FAILED: {p.error[:200]}",
            ]
        )
    lines += table(
        [
            "run",
            "wall s",
            "requests",
            "429s",
            "requests/s",
            "answered requests/s",
            "sustained requests/s (429s included)",
            "calls/s",
            "outcome",
        ],
        rows,
    )
    source = "sandbox" if all(p.requests is not None for p in lat.runs) else "callhouse's own summary"
    lines += ["", f"Request and 429 counts from the {source}."]
    return lines + [""]


def issue27_rows(throughputs: list[Throughput]) -> list[list[str]]:
    """Issue 27's ratios, each at the size of its run (a ratio holds for the size it was measured
    at): callhouse >= 9x dlt's parquet path (at 190k), >= 0.5x the DuckDB floor (at 1M), DuckLake
    >= 0.8x the file; peak RSS <= 300 MB at 1M and flat (3M within 10% of 100k). PostgreSQL is
    measured against a COPY of the same rows, with no target: a figure."""
    rows = []
    for t in throughputs:
        where = f"{VENDORS[t.vendor].display}, {t.truth.calls:,} {VENDORS[t.vendor].record}"
        pg, copy = t.path("callhouse_postgres"), t.path("postgres_copy")
        if pg is not None and pg.ok and copy is not None and copy.ok:
            value = calls_per_s(t, pg) / calls_per_s(t, copy)
            rows.append([f"PostgreSQL: callhouse vs COPY of the same rows ({where})", ratio(value), "figure"])
        ch = t.path("callhouse")
        if ch is None or not ch.ok:
            continue
        speed = calls_per_s(t, ch)
        for name, goal, want in (
            ("dlt_dicts_parquet", "callhouse vs dlt's parquet path", 9.0),
            ("duckdb_unnest", "callhouse vs the DuckDB floor", 0.5),
        ):
            other = t.path(name)
            if other is not None and other.ok and speed:
                value = speed / calls_per_s(t, other)
                rows.append([f"{goal} >= {want:g}x ({where})", ratio(value), met(value >= want)])
        lake = t.path("callhouse_ducklake")
        if lake is not None and lake.ok and speed:
            value = calls_per_s(t, lake) / speed
            rows.append([f"DuckLake vs the file >= 0.8x ({where})", ratio(value), met(value >= 0.8)])
        rss = ch.measured.peak_rss_mb
        rows.append([f"peak RSS <= {TARGET_PEAK_RSS_MB} MB ({where})", f"{rss:,.0f} MB", met(rss <= TARGET_PEAK_RSS_MB)])
    for vendor in VENDORS:
        runs = sorted(
            (t for t in throughputs if t.vendor == vendor and t.path("callhouse") and t.path("callhouse").ok),
            key=lambda t: t.truth.calls,
        )
        if len(runs) > 1:
            small, large = runs[0], runs[-1]
            value = large.path("callhouse").measured.peak_rss_mb / small.path("callhouse").measured.peak_rss_mb
            rows.append(
                [
                    f"peak RSS flat in the range: {large.truth.calls:,} within 10% of {small.truth.calls:,} ({VENDORS[vendor].display})",
                    ratio(value),
                    met(value <= 1.10),
                ]
            )
    return rows


def targets_section(throughputs: list[Throughput], growth: NightlyGrowth | None, lat: Latency | None) -> list[str]:
    rows = []
    every_vendor, throughputs = throughputs, [t for t in throughputs if t.vendor == "cinnox"]
    at_target = next((t for t in throughputs if t.requested_calls >= TARGET_AT_CALLS), None)
    largest = max(throughputs, key=lambda t: t.truth.calls, default=None)
    for label, goal in (
        ("end-to-end speed", f">= {TARGET_CALLS_PER_S:,} calls/s at 1M CINNOX calls"),
        ("peak RSS", f"<= {TARGET_PEAK_RSS_MB} MB at 1M CINNOX calls"),
    ):
        t = at_target or largest
        p = t.path("callhouse") if t else None
        if p is None or not p.ok:
            rows.append([goal, "not measured", "—"])
            continue
        where = f"at {t.truth.calls:,} calls" + ("" if at_target else " (1M not run: indicative only)")
        if label == "peak RSS":
            value = p.measured.peak_rss_mb
            rows.append([goal, f"{value:,.0f} MB {where}", met(value <= TARGET_PEAK_RSS_MB) if at_target else "—"])
        else:
            value = calls_per_s(t, p)
            rows.append([goal, f"{value:,.0f} calls/s {where}", met(value >= TARGET_CALLS_PER_S) if at_target else "—"])
    if growth is not None:
        value = growth.ratio
        full_size = growth.history_truth.calls >= TARGET_NIGHTLY_HISTORY * 0.95
        rows.append(
            [
                f"nightly of one day on a {TARGET_NIGHTLY_HISTORY / 1e6:g}M-call warehouse <= {TARGET_NIGHTLY_RATIO}x the same on an empty one",
                f"{ratio(value)} with {growth.history_truth.calls:,} calls of history"
                + ("" if full_size else " (smaller than the target's: indicative)"),
                met(value <= TARGET_NIGHTLY_RATIO)
                if value is not None and full_size
                else (f"{met(value <= TARGET_NIGHTLY_RATIO)} at this size" if value is not None else "—"),
            ]
        )
    else:
        rows.append(["nightly growth <= 1.5x", "not run (`--nightly-growth`)", "—"])
    for t in throughputs:
        p = t.path("callhouse")
        if p is not None and p.ok:
            used = p.requests if p.requests is not None else p.extra.get("requests")
            if used is not None:
                rows.append(
                    [
                        f"CINNOX requests vs minimum at {t.truth.calls:,} calls",
                        f"{used:,} used, {t.truth.min_requests:,} minimum ({(used / max(1, t.truth.min_requests) - 1) * 100:+.1f}%)",
                        "figure",
                    ]
                )
    rows += issue27_rows(every_vendor)
    if lat is not None:
        for p in lat.runs:
            requests = p.requests if p.requests is not None else p.extra.get("requests")
            throttled = p.throttled if p.throttled is not None else p.extra.get("throttled")
            mode = "no client pacing" if p.name.endswith("as_configured") else "client pacing"
            rows.append(
                [
                    f"{lat.latency_ms:.0f} ms latency, {lat.rate:g} req/s limit ({mode})",
                    f"{n(p.extra.get('request_rate_while_fetching'), 2)} requests/s sustained "
                    f"({n(requests / p.measured.wall_s if requests is not None else None, 2)} over the whole run), {n(throttled)} 429s",
                    "figure",
                ]
            )
    else:
        rows.append(["latency / rate limit", "not run (`--latency`)", "—"])
    return ["## Targets (tracker issue 8)", ""] + table(["target", "measured", "status"], rows) + [""]


def render(
    throughputs: list[Throughput], growth: NightlyGrowth | None, lat: Latency | None, info: dict[str, str], command: str
) -> str:
    lines = [
        f"# callhouse benchmark, {info['date']}",
        "",
        f"Machine: {info['nproc']} CPUs, {info['memory']} RAM, load average at start {info['load']}; "
        f"Python {info['python']}, dlt {info['dlt']}, duckdb {info['duckdb']}, pyarrow {info['pyarrow']}; "
        f"commit {info['commit']}.",
        "",
        f"Command: `{command}`. Each path ran once, as its own process, against the same sandbox data "
        "(the sandbox runs in a separate process; its CPU is shown apart and not counted in a path's CPU or RSS). "
        "Figures from a single run on a shared machine are noisy: compare wall with CPU time.",
        "",
    ]
    from bench.harness import CALLHOUSE_OVERRIDES

    if CALLHOUSE_OVERRIDES:
        settings = ", ".join(f"`{k}={v}`" for k, v in sorted(CALLHOUSE_OVERRIDES.items()))
        lines += [f"callhouse ran with these settings added: {settings}.", ""]
    lines += targets_section(throughputs, growth, lat)
    for t in throughputs:
        lines += throughput_section(t)
    if growth is not None:
        lines += nightly_section(growth)
    if lat is not None:
        lines += latency_section(lat)
    return "\n".join(lines).rstrip() + "\n"


def as_dict(obj: Any) -> Any:
    """For the JSON file written beside the Markdown."""
    import dataclasses
    from datetime import datetime

    if dataclasses.is_dataclass(obj):
        return {f.name: as_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.name not in ("stdout", "stderr")}
    if isinstance(obj, (list, tuple)):
        return [as_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): as_dict(v) for k, v in obj.items()}
    if isinstance(obj, datetime):
        return obj.isoformat()
    return obj
