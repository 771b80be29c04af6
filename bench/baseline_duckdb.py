"""Baseline: DuckDB alone. `read_json` a vendor's records from NDJSON, then UNNEST their nested
lists or maps into child tables, in a DuckDB file.

The floor for building the vendor's tables from the same records: no HTTP, no dlt, all parsing,
typing and flattening in DuckDB's C++. The NDJSON is written beforehand (not timed).

- CINNOX: the recording events and their files as two child tables. Phone numbers (a JSON
  number or string, so DuckDB infers JSON) become text, as the contract wants.
- Bandwidth: the `sipHeaders` map as one (call_id, name, value) row per header.
- Genesys: one table of SIP trace rows, its millisecond and microsecond stamps (strings on the
  wire) as numbers, as callhouse types them.
"""

from __future__ import annotations

import argparse
import sys

import duckdb

CINNOX = """
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

BANDWIDTH = """
create temp table raw as select * from read_json(?, format = 'newline_delimited');

create table calls as select * exclude (sipHeaders) from raw;

-- read_json makes the maps one struct of every header name seen, absent ones null: rows only
-- for the headers a call has.
create table calls__sip_headers as
    select call_id, header.key as name, header.value
    from (
        select id as call_id, unnest(map_entries(to_json(sipHeaders)::map(varchar, varchar))) as header
        from raw where sipHeaders is not null
    )
    where header.value is not null;
"""

GENESYS = """
create table siptraces as
    select * replace (try_cast(milliTs as bigint) as milliTs, try_cast(microTs as bigint) as microTs)
    from read_json(?, format = 'newline_delimited');
"""

BUILD = {"cinnox": CINNOX, "bandwidth": BANDWIDTH, "genesys": GENESYS}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ndjson", required=True)
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--vendor", default="cinnox", choices=sorted(BUILD))
    args = parser.parse_args()
    con = duckdb.connect(args.warehouse)
    statements = [s for s in BUILD[args.vendor].split(";") if s.strip()]
    con.execute(statements[0], [args.ndjson])
    for statement in statements[1:]:
        con.execute(statement)
    con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
