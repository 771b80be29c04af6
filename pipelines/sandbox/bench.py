"""How fast the sandbox serves CINNOX call-detail: `python -m pipelines.sandbox.bench`.

Generates the history (default 20 days x 50,000 calls/day, about a million calls), then pages
through all of it with one sequential httpx client (limit=500, keep-alive, orjson decoding of
every page) and prints generation time, the sandbox's peak memory and records/s served.

By default the sandbox runs in its own process, as the project's benchmark runs it; with
--in-process it shares this process (and the GIL) with the client, as in the tests.
--no-decode counts records without decoding the JSON, which isolates the sandbox and transport.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson
import pendulum

from . import Sandbox, SandboxConfig

NOW = pendulum.datetime(2024, 5, 1)


def page_through(client: httpx.Client, url: str, app_id: str, token: str, start: str, end: str, limit: int, decode: bool) -> int:
    """Offset paging to the first short page; returns the records served."""
    path = f"{url}/v1/api/apps/{app_id}/data/call-detail"
    served, offset = 0, 0
    while True:
        r = client.get(
            path,
            params={"startAt": start, "endAt": end, "offset": offset, "limit": limit},
            headers={"Authorization": f"Bearer {token}"},
        )
        r.raise_for_status()
        # Without decoding, count each record's one `"hid":` key.
        n = len(orjson.loads(r.content)["result"]) if decode else r.content.count(b'"hid":')
        served += n
        offset += n
        if n < limit:
            return served


def _peak_rss_mb(pid: int | None = None) -> float:
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _measure(url: str, app_id: str, token: str, args: argparse.Namespace) -> tuple[int, float]:
    start = NOW.subtract(days=args.days + 1).to_iso8601_string()
    with httpx.Client(timeout=120) as client:
        t0 = time.perf_counter()
        served = page_through(client, url, app_id, token, start, NOW.to_iso8601_string(), args.limit, decode=not args.no_decode)
        return served, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.sandbox.bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--per-day", type=int, default=50_000)
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--no-decode", action="store_true", help="count records without decoding the JSON")
    parser.add_argument("--in-process", action="store_true", help="run the sandbox in this process")
    args = parser.parse_args(argv)

    sandbox_cpu = None
    if args.in_process:
        cfg = SandboxConfig(seed=1, now=NOW, history_days=args.days, cinnox_calls_per_day=args.per_day)
        with Sandbox(cfg) as sb:
            t0 = time.perf_counter()
            total = sb.warm()["cinnox"]
            print(
                f"generated {total:,} CINNOX calls (and the other vendors' days) in {time.perf_counter() - t0:.1f} s", flush=True
            )
            creds = sb.credentials["cinnox"]
            served, took = _measure(sb.url, creds["app_id"], creds["app_token"], args)
        rss, where = _peak_rss_mb(), "this process, sandbox and client"
    else:
        argv = [
            sys.executable,
            "-m",
            "pipelines.sandbox",
            "--port",
            "0",
            "--seed",
            "1",
            "--now",
            NOW.isoformat(),
            "--history-days",
            str(args.days),
            "--cinnox-calls-per-day",
            str(args.per_day),
            "--warm",
        ]
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None  # stdout=PIPE
            lines = [proc.stdout.readline() for _ in range(12)]
            print(f"sandbox process generated its history and started in {time.perf_counter() - t0:.1f} s", flush=True)
            env = dict(line.split(" ", 1)[1].strip().split("=", 1) for line in lines[1:])
            cpu_before = _cpu_s(proc.pid)
            served, took = _measure(
                env["SOURCES__CINNOX__BASE_URL"], env["SOURCES__CINNOX__APP_ID"], env["SOURCES__CINNOX__APP_TOKEN"], args
            )
            sandbox_cpu = _cpu_s(proc.pid) - cpu_before
            rss, where = _peak_rss_mb(proc.pid), "sandbox process"
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
    decoding = "no decoding" if args.no_decode else "orjson decoding"
    placement = "in-process" if args.in_process else "separate"
    print(
        f"served {served:,} records in {took:.1f} s = {served / took:,.0f} records/s (limit={args.limit}, "
        f"one sequential httpx client, {decoding}, {placement} sandbox); peak RSS {rss:,.0f} MB ({where})"
    )
    if sandbox_cpu:
        # Independent of what else runs on the machine: what one core of sandbox could serve.
        print(
            f"sandbox CPU while serving: {sandbox_cpu:.2f} s = {sandbox_cpu / served * 1e6:.2f} us/record, "
            f"capacity {served / sandbox_cpu:,.0f} records per CPU-second"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
