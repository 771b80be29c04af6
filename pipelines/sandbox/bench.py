"""How fast the sandbox serves CINNOX call-detail: `python -m pipelines.sandbox.bench`.

Generates the history (default 20 days x 50,000 calls/day, about a million calls), then pages
through all of it with one sequential httpx client (limit=500, keep-alive, orjson parsing) and
prints generation time, peak memory and records/s served. The client runs in this process, as
a pipeline under test would, so the figure includes sharing the GIL with it.
"""

from __future__ import annotations

import argparse
import resource
import time

import httpx
import orjson
import pendulum

from . import Sandbox, SandboxConfig


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def page_through(client: httpx.Client, path: str, token: str, start: str, end: str, limit: int = 500,
                 parse: bool = True) -> int:
    """Offset paging to the first short page; without parse, records are counted by their
    one `"hid":` key, so the figure is the sandbox's and the transport's, not the JSON decoder's."""
    served, offset = 0, 0
    while True:
        r = client.get(path, params={"startAt": start, "endAt": end, "offset": offset, "limit": limit},
                       headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        n = len(orjson.loads(r.content)["result"]) if parse else r.content.count(b'"hid":')
        served += n
        offset += n
        if n < limit:
            return served


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pipelines.sandbox.bench", description=__doc__)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--per-day", type=int, default=50_000)
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--no-parse", action="store_true", help="count records without decoding the JSON")
    args = parser.parse_args(argv)

    now = pendulum.datetime(2024, 5, 1)
    cfg = SandboxConfig(seed=1, now=now, history_days=args.days, cinnox_calls_per_day=args.per_day, cinnox_rps=None)
    with Sandbox(cfg) as sb:
        t0 = time.perf_counter()
        total = sb.cinnox_store.generate_until(sb.runtime.clock.now_ms())
        gen_s = time.perf_counter() - t0
        print(f"generated {total:,} CINNOX calls in {gen_s:.1f} s; peak RSS {_rss_mb():,.0f} MB", flush=True)

        creds = sb.credentials["cinnox"]
        path = f"/v1/api/apps/{creds['app_id']}/data/call-detail"
        start = now.subtract(days=args.days + 1).to_iso8601_string()
        with httpx.Client(base_url=sb.url, timeout=60) as client:
            t0 = time.perf_counter()
            served = page_through(client, path, creds["app_token"], start, now.to_iso8601_string(), args.limit,
                                  parse=not args.no_parse)
            took = time.perf_counter() - t0
        print(f"served {served:,} records in {took:.1f} s = {served / took:,.0f} records/s "
              f"(limit={args.limit}, one sequential httpx client, {'no JSON decoding' if args.no_parse else 'orjson decoding every page'}); peak RSS {_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
