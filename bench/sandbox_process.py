"""A sandbox in its own process, so its memory and CPU are not counted against the measured paths.

Started by the benchmark with the sandbox settings on the command line; prints one JSON line
(`url`, `env`, `now`, `pid`) once it serves, then answers JSON-line commands on stdin:

  {"cmd": "truth", "start": ISO, "end": ISO, "window_s": 86400, "ndjson": path or null}
      per-window call counts, recording events and files of [start, end) as served now
      (generates the data on the way, so measured runs do not pay for generation);
      with `ndjson`, also writes those records there, one per line
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

from pipelines.sandbox import Sandbox, SandboxConfig

PAGE_LIMIT = 500  # CINNOX's maximum page size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--now", required=True, help="the sandbox clock, ISO-8601")
    parser.add_argument("--history-days", type=int, required=True)
    parser.add_argument("--calls-per-day", type=float, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--cinnox-rps", type=float, default=None)
    args = parser.parse_args()

    config = SandboxConfig(
        seed=args.seed,
        now=pendulum.parse(args.now),
        history_days=args.history_days,
        cinnox_calls_per_day=args.calls_per_day,
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
    start, end = pendulum.parse(command["start"]), pendulum.parse(command["end"])
    step = timedelta(seconds=command.get("window_s", 86400))
    ndjson = open(command["ndjson"], "wb") if command.get("ndjson") else None
    windows = []
    events = files = 0
    try:
        cursor = start
        while cursor < end:
            nxt = min(cursor + step, end)
            records = sandbox.truth.cinnox_calls(cursor, nxt)
            for record in records:
                for event in record.get("recordingEventList") or []:
                    events += 1
                    files += len(event.get("files") or [])
                if ndjson is not None:
                    ndjson.write(orjson.dumps(record) + b"\n")
            windows.append(len(records))
            cursor = nxt
    finally:
        if ndjson is not None:
            ndjson.close()
    return {
        "calls": sum(windows),
        "events": events,
        "files": files,
        "windows": windows,
        "min_requests": sum(math.ceil(n / PAGE_LIMIT) for n in windows),
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
