"""Baseline: DuckDB alone. `read_json` the records from NDJSON, then UNNEST the recording events
and their files into child tables, in a DuckDB file.

The floor for building the three CINNOX tables from the same records: no HTTP, no dlt, all
parsing and flattening in DuckDB's C++. Phone numbers (a JSON number or string, so DuckDB infers
JSON) become text, as the contract wants. The NDJSON is written beforehand (not timed).
"""

from __future__ import annotations

import argparse
import sys

import duckdb

BUILD = """
create table call_detail as
    select * exclude (caller, callee), caller ->> '$' as caller, callee ->> '$' as callee
    from read_json(?, format = 'newline_delimited');

create temp table events as
    select id as call_detail_id,
           generate_subscripts(recordingEventList, 1) - 1 as event_index,
           unnest(recordingEventList) as event
    from call_detail;

create table call_detail__recording_event_list as
    select call_detail_id, event_index, event.* exclude (files) from events;

create table call_detail__recording_event_list__files as
    select call_detail_id, event_index, file_index, file.*
    from (
        select call_detail_id, event_index,
               generate_subscripts(event.files, 1) - 1 as file_index,
               unnest(event.files) as file
        from events
    );

alter table call_detail drop column recordingEventList;
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ndjson", required=True)
    parser.add_argument("--warehouse", required=True)
    args = parser.parse_args()
    con = duckdb.connect(args.warehouse)
    statements = [s for s in BUILD.split(";") if s.strip()]
    con.execute(statements[0], [args.ndjson])
    for statement in statements[1:]:
        con.execute(statement)
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
