"""A sandbox in its own process, so its memory and CPU are not counted against the measured paths.

Started by the benchmark with the sandbox settings on the command line; prints one JSON line
(`url`, `env`, `now`, `pid`) once it serves, then answers JSON-line commands on stdin:

  {"cmd": "truth", "vendor": "cinnox", "start": ISO, "end": ISO, "window_s": 86400, "ndjson": path or null}
      per-window record counts of `vendor` (cinnox, bandwidth or genesys) in [start, end) as
      served now, and the rows of each warehouse table they make (bench/vendors.py); generates
      the data on the way, so measured runs do not pay for generation; with `ndjson`, also
      writes those records there, one per line
  {"cmd": "stats"}   the sandbox's own counters, and this process's CPU seconds
  {"cmd": "stop"}
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from datetime import datetime, timedelta
from typing import Any

import orjson
import pendulum

from bench.vendors import VENDORS
from pipelines.sandbox import Sandbox, SandboxConfig

PAGE_LIMIT = 500  # CINNOX's maximum page size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--now", required=True, help="the sandbox clock, ISO-8601")
    parser.add_argument("--history-days", type=int, required=True)
    parser.add_argument("--calls-per-day", type=float, required=True, help="CINNOX calls per day")
    parser.add_argument("--bandwidth-calls-per-day", type=float, default=0.0)
    parser.add_argument("--genesys-dialogs-per-day", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--cinnox-rps", type=float, default=None)
    args = parser.parse_args()

    config = SandboxConfig(
        seed=args.seed,
        now=pendulum.parse(args.now),
        history_days=args.history_days,
        cinnox_calls_per_day=args.calls_per_day,
        bandwidth_calls_per_day=args.bandwidth_calls_per_day,
        genesys_dialogs_per_day=args.genesys_dialogs_per_day,
        latency_ms=args.latency_ms,
        cinnox_rps=args.cinnox_rps,
        bandwidth_rps=None,
        genesys_rpm=None,
        port=0,
    )
    sandbox = Sandbox(config).start()
    try:
        reply({"url": sandbox.url, "env": sandbox.env(), "now": sandbox.now().isoformat(), "pid": os.getpid()})
        for line in sys.stdin:
            if not line.strip():
                continue
            command = orjson.loads(line)
            try:
                if command["cmd"] == "truth":
                    reply(truth(sandbox, command))
                elif command["cmd"] == "stats":
                    reply({"stats": jsonable(sandbox.stats()), "cpu_s": cpu_seconds()})
                elif command["cmd"] == "stop":
                    break
                else:
                    reply({"error": f"unknown command {command['cmd']!r}"})
            except Exception as exc:  # the benchmark shows it; the sandbox keeps serving
                reply({"error": f"{type(exc).__name__}: {exc}"})
    finally:
        sandbox.stop()
    return 0


def truth(sandbox: Sandbox, command: dict[str, Any]) -> dict[str, Any]:
    vendor = VENDORS[command.get("vendor") or "cinnox"]
    start, end = pendulum.parse(command["start"]), pendulum.parse(command["end"])
    step = timedelta(seconds=command.get("window_s", 86400))
    ndjson = open(command["ndjson"], "wb") if command.get("ndjson") else None
    windows = []
    children = [0] * (len(vendor.tables) - 1)
    try:
        cursor = start
        while cursor < end:
            nxt = min(cursor + step, end)
            records = sandbox.truth.records(vendor.name, cursor, nxt)
            for record in records:
                for i, rows in enumerate(vendor.child_rows(record)):
                    children[i] += rows
                if ndjson is not None:
                    ndjson.write(orjson.dumps(record) + b"\n")
            windows.append(len(records))
            cursor = nxt
    finally:
        if ndjson is not None:
            ndjson.close()
    calls = sum(windows)
    return {
        "calls": calls,
        "tables": dict(zip(vendor.tables, [calls, *children])),
        "events": children[0] if children else 0,
        "files": children[1] if len(children) > 1 else 0,
        "windows": windows,
        # CINNOX pages by offset within a window; the others' minimum depends on their paging.
        "min_requests": sum(math.ceil(n / PAGE_LIMIT) for n in windows) if vendor.name == "cinnox" else None,
        "cpu_s": cpu_seconds(),
    }


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "__dict__"):
        return jsonable(vars(value))
    return str(value)


def reply(payload: dict[str, Any]) -> None:
    sys.stdout.buffer.write(orjson.dumps(payload) + b"\n")
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    sys.exit(main())
