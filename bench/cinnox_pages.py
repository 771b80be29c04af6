"""CINNOX paging as a typical user writes it, shared by the baselines: daily windows, offset/limit
500 until a short page. Reads the same SOURCES__CINNOX__* settings callhouse reads."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

PAGE_LIMIT = 500


def settings() -> tuple[str, str, str]:
    env = os.environ
    return env["SOURCES__CINNOX__BASE_URL"], env["SOURCES__CINNOX__APP_ID"], env["SOURCES__CINNOX__APP_TOKEN"]


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def windows(start: datetime, end: datetime, size: timedelta) -> Iterator[tuple[datetime, datetime]]:
    cursor = start
    while cursor < end:
        nxt = min(cursor + size, end)
        yield cursor, nxt
        cursor = nxt


def pages(
    client: httpx.Client, app_id: str, start: datetime, end: datetime, size: timedelta, parse: Callable[[httpx.Response], Any]
) -> Iterator[list[Any]]:
    """Every page of every window, each parsed by `parse` (the caller picks json or orjson)."""
    path = f"/v1/api/apps/{app_id}/data/call-detail"
    for w_start, w_end in windows(start, end, size):
        offset = 0
        while True:
            response = client.get(
                path, params={"startAt": rfc3339(w_start), "endAt": rfc3339(w_end), "offset": offset, "limit": PAGE_LIMIT}
            )
            response.raise_for_status()
            records = parse(response)["result"]
            yield records
            if len(records) < PAGE_LIMIT:
                break
            offset += PAGE_LIMIT


def client() -> tuple[httpx.Client, str]:
    base_url, app_id, token = settings()
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60.0), app_id


def parse_window_args(argv: list[str] | None = None) -> Any:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--start", required=True, help="ISO-8601, UTC")
    parser.add_argument("--end", required=True)
    parser.add_argument("--window-s", type=int, default=86400)
    parser.add_argument("--warehouse", help="DuckDB file (baselines that load)")
    parser.add_argument("--format", default="default", help="dlt loader_file_format, or default")
    parser.add_argument("--vendor", default="cinnox", choices=("cinnox", "bandwidth", "genesys"))
    args = parser.parse_args(argv)
    args.start = datetime.fromisoformat(args.start).astimezone(UTC)
    args.end = datetime.fromisoformat(args.end).astimezone(UTC)
    args.window = timedelta(seconds=args.window_s)
    return args
