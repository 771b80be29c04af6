"""Baseline: a plain dlt pipeline as a typical user writes it.

Dict pages from httpx (`response.json()`), one resource, merge on `id`, nested lists turned into
child tables by dlt's normalizer, every other setting left at its default. `--format parquet`
is the same with `loader_file_format="parquet"`. `--vendor` picks the API (CINNOX by default;
Bandwidth and Genesys paging: bench/vendor_pages.py); the dataset is named after the vendor.
The benchmark counts the rows afterwards.
"""

from __future__ import annotations

import sys
from pathlib import Path

import dlt

from bench import vendor_pages
from bench.cinnox_pages import client, pages, parse_window_args


def main() -> int:
    args = parse_window_args()

    if args.vendor == "cinnox":

        @dlt.resource(name="call_detail", write_disposition="merge", primary_key="id")
        def records():
            http, app_id = client()
            with http:
                yield from pages(http, app_id, args.start, args.end, args.window, lambda r: r.json())

    elif args.vendor == "bandwidth":

        @dlt.resource(name="calls", write_disposition="merge", primary_key="id")
        def records():
            yield from vendor_pages.bandwidth_pages(args.start, args.end)

    else:

        @dlt.resource(name="siptraces", write_disposition="merge", primary_key=("id", "date"))
        def records():
            yield from vendor_pages.genesys_pages(args.start, args.end)

    pipeline = dlt.pipeline(
        pipeline_name="bench_typical_user",
        destination=dlt.destinations.duckdb(args.warehouse),
        dataset_name=args.vendor,
        pipelines_dir=str(Path(args.warehouse).parent / "dlt_pipelines"),
    )
    if args.format == "default":
        pipeline.run(records())
    else:
        pipeline.run(records(), loader_file_format=args.format)
    return 0


if __name__ == "__main__":
    sys.exit(main())
