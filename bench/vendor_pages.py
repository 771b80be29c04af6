"""Bandwidth and Genesys paging as a typical user writes it, for the plain-dlt baseline
(bench/baseline_dlt.py). Reads the same SOURCES__<VENDOR>__* settings callhouse reads.

- Bandwidth: GET /v1/users/{user}/calls by page of 1,000, oldest first (the API has no date
  filter), keeping the calls that started in [start, end), until a short page or a page that
  starts at or after `end`.
- Genesys: an OAuth client-credentials token, then GET /api/v2/telephony/siptraces per hourly
  window; a query that comes back at the result cap (Homer's limit, 100 rows) is asked again as
  two halves, down to a millisecond.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx

from bench.cinnox_pages import rfc3339, windows

BANDWIDTH_PAGE_SIZE = 1000
GENESYS_RESULT_CAP = 100
GENESYS_WINDOW = timedelta(hours=1)


def bandwidth_pages(start: datetime, end: datetime) -> Iterator[list[dict[str, Any]]]:
    env = os.environ
    auth = (env["SOURCES__BANDWIDTH__API_TOKEN"], env["SOURCES__BANDWIDTH__API_SECRET"])
    path = f"/v1/users/{env['SOURCES__BANDWIDTH__USER_ID']}/calls"
    low, high = rfc3339(start), rfc3339(end)
    with httpx.Client(base_url=env["SOURCES__BANDWIDTH__BASE_URL"], auth=auth, timeout=60.0) as client:
        page = 0
        while True:
            response = client.get(path, params={"page": page, "size": BANDWIDTH_PAGE_SIZE, "sortOrder": "asc"})
            response.raise_for_status()
            calls = response.json()
            # startTime is RFC 3339 in UTC: as text it sorts like the instant (milliseconds aside).
            kept = [c for c in calls if low[:19] <= str(c.get("startTime"))[:19] < high[:19]]
            for call in kept:  # a map would become one column per header name: rows, as dlt-notes.md says
                headers = call.pop("sipHeaders", None)
                if isinstance(headers, dict):
                    call["sipHeaders"] = [{"name": k, "value": v} for k, v in headers.items()]
            if kept:
                yield kept
            if len(calls) < BANDWIDTH_PAGE_SIZE or str(calls[-1].get("startTime"))[:19] >= high[:19]:
                return
            page += 1


def genesys_pages(start: datetime, end: datetime) -> Iterator[list[dict[str, Any]]]:
    env = os.environ
    login = env.get("SOURCES__GENESYS__LOGIN_URL") or env["SOURCES__GENESYS__BASE_URL"]
    token = httpx.post(
        f"{login}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(env["SOURCES__GENESYS__CLIENT_ID"], env["SOURCES__GENESYS__CLIENT_SECRET"]),
        timeout=60.0,
    )
    token.raise_for_status()
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    with httpx.Client(base_url=env["SOURCES__GENESYS__BASE_URL"], headers=headers, timeout=60.0) as client:
        for w_start, w_end in windows(start, end, GENESYS_WINDOW):
            yield from _genesys_window(client, w_start, w_end)


def _genesys_window(client: httpx.Client, start: datetime, end: datetime) -> Iterator[list[dict[str, Any]]]:
    response = client.get("/api/v2/telephony/siptraces", params={"dateStart": rfc3339(start), "dateEnd": rfc3339(end)})
    response.raise_for_status()
    rows = response.json()["data"]
    middle = start + (end - start) / 2
    middle -= timedelta(microseconds=middle.microsecond % 1000)  # the API speaks milliseconds
    if len(rows) >= GENESYS_RESULT_CAP and start < middle < end:
        yield from _genesys_window(client, start, middle)
        yield from _genesys_window(client, middle, end)
        return
    # dateEnd may be inclusive: the next window starts there (merge on id drops repeats anyway)
    low, high = rfc3339(start), rfc3339(end)
    kept = [r for r in rows if low <= r["date"] < high]
    if kept:
        yield kept
