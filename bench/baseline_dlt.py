"""Baseline: a plain dlt pipeline as a typical user writes it.

Dict pages from httpx (`response.json()`), one resource, merge on `id`, nested lists turned into
child tables by dlt's normalizer, every other setting left at its default. `--format parquet`
is the same with `loader_file_format="parquet"`. The benchmark counts the rows afterwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

import dlt

from bench.cinnox_pages import client, pages, parse_window_args


def main() -> int:
    args = parse_window_args()
    http, app_id = client()

    @dlt.resource(name="call_detail", write_disposition="merge", primary_key="id")
    def call_detail():
        with http:
            yield from pages(http, app_id, args.start, args.end, args.window, lambda r: r.json())

    pipeline = dlt.pipeline(
        pipeline_name="bench_typical_user",
        destination=dlt.destinations.duckdb(args.warehouse),
        dataset_name="cinnox",
        pipelines_dir=str(Path(args.warehouse).parent / "dlt_pipelines"),
    )
    if args.format == "default":
        pipeline.run(call_detail())
    else:
        pipeline.run(call_detail(), loader_file_format=args.format)
    return 0


if __name__ == "__main__":
    sys.exit(main())
