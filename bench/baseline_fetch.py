"""Baseline: fetch only. Download every page callhouse would read, parse the JSON, discard it.

The floor for any loader that reads CINNOX over HTTP one request at a time. Parses with orjson,
as callhouse does. Prints one JSON line: pages, records.
"""

from __future__ import annotations

import sys

import orjson

from bench.cinnox_pages import client, pages, parse_window_args


def main() -> int:
    args = parse_window_args()
    http, app_id = client()
    n_pages = n_records = 0
    with http:
        for records in pages(http, app_id, args.start, args.end, args.window, lambda r: orjson.loads(r.content)):
            n_pages += 1
            n_records += len(records)
    print(orjson.dumps({"pages": n_pages, "records": n_records}).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
