"""Baseline: PostgreSQL's own bulk load of the same rows. The vendor's tables are built from the
records' NDJSON exactly as the DuckDB floor builds them (bench/baseline_duckdb.py: `read_json` +
`UNNEST`, in an in-memory DuckDB), then each is created in PostgreSQL with typed columns and every
row sent with `COPY ... FROM STDIN (FORMAT BINARY)`.

DuckDB's postgres extension (from its pinned wheel, nothing downloaded) does the last step: for a
`CREATE TABLE` in the attached database it issues PostgreSQL's `CREATE TABLE` with the columns'
types mapped (VARCHAR, BIGINT, TIMESTAMP, UUID, BOOLEAN), and an `INSERT` into it is one binary
`COPY FROM STDIN` per table (seen in the server's statement log). No merge, no keys, no indexes:
the least work that puts these rows in PostgreSQL. The URL comes from the environment
(`BENCH_POSTGRES_URL`), not the command line: it holds the server's password, and the bench
records each path's argv in latest.json.

Prints one JSON line: seconds building the tables in DuckDB and seconds copying them.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import duckdb
import orjson

from bench.baseline_duckdb import BUILD
from bench.vendors import VENDORS
from pipelines.warehouse.extensions import duckdb_config

URL_VARIABLE = "BENCH_POSTGRES_URL"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ndjson", required=True)
    parser.add_argument("--vendor", default="cinnox", choices=sorted(BUILD))
    args = parser.parse_args()
    url = os.environ[URL_VARIABLE]
    started = time.monotonic()
    con = duckdb.connect(config=duckdb_config())
    statements = [s for s in BUILD[args.vendor].split(";") if s.strip()]
    con.execute(statements[0], [args.ndjson])
    for statement in statements[1:]:
        con.execute(statement)
    built = time.monotonic()
    try:
        con.execute(f"ATTACH '{url}' AS pg (TYPE postgres)")
    except duckdb.Error as exc:  # one line, without the URL's password
        print(f"postgres_copy: cannot attach the database: {' '.join(str(exc).replace(url, '<url>').split())}", file=sys.stderr)
        return 1
    con.execute(f'CREATE SCHEMA pg."{args.vendor}"')
    for table in VENDORS[args.vendor].tables:
        target = f'pg."{args.vendor}"."{table}"'
        con.execute(f'CREATE TABLE {target} AS FROM main."{table}" LIMIT 0')  # typed columns, no rows
        con.execute(f'INSERT INTO {target} FROM main."{table}"')  # one COPY FROM STDIN (FORMAT BINARY)
    con.close()
    print(orjson.dumps({"build_s": built - started, "copy_s": time.monotonic() - built}).decode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
