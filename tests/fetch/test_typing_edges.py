"""Edge cases of typing a page (issue 27), on CINNOX's flattener in process: a page with nothing
loadable, column types that do not depend on what one page holds, a huge page. The end-to-end
versions are tests/sources/test_page_edges.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pipelines.fetch.decoding import may_hold_rounded_integers
from pipelines.fetch.records import TableRows, column_name
from pipelines.fetch.windows import Window
from pipelines.sources.cinnox.helpers import CallDetailFlattener

START = datetime(2026, 11, 18, tzinfo=UTC)
WINDOW = Window(START, START + timedelta(days=1))
DECLARED = {
    "id": pa.string(),
    "call_date": pa.timestamp("us", tz="UTC"),
    "call_end_time": pa.timestamp("us", tz="UTC"),
    "caller": pa.string(),
    "callee": pa.string(),
    "seq": pa.int64(),
    "is_recording": pa.bool_(),
}


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def call(call_id: str, second: int = 0, **fields: object) -> dict:
    at = START + timedelta(seconds=second)
    record = {
        "id": call_id,
        "callDate": stamp(at),
        "callEndTime": stamp(at + timedelta(minutes=3)),
        "caller": "+85230001234",
        "callee": "+85230005678",
        "status": "Call Ended",
        "seq": 1,
        "isRecording": False,
    }
    record.update(fields)
    return record


def flatten(records: list) -> tuple[pa.Table, list[tuple[str, str]]]:
    """The page's call_detail table and its quarantine as (reason, raw_json) in page order."""
    batch = CallDetailFlattener().flatten(records, WINDOW, set())
    quarantine = batch["quarantine"]
    table = quarantine.to_arrow() if isinstance(quarantine, TableRows) else quarantine
    return batch["call_detail"], [(row["reason"], row["raw_json"]) for row in table.to_pylist()]


def assert_declared_types(table: pa.Table) -> None:
    assert {name: table.schema.field(name).type for name in DECLARED} == DECLARED


def test_a_page_of_records_that_are_not_objects_quarantines_each_and_loads_an_empty_typed_table():
    calls, quarantined = flatten(["not a call", 42, 1.5, None, True, [], [1, "two"]])
    assert calls.num_rows == 0
    assert_declared_types(calls)
    assert quarantined == [
        ("record is str, not an object", '"not a call"'),
        ("record is int, not an object", "42"),
        ("record is float, not an object", "1.5"),
        ("record is NoneType, not an object", "null"),
        ("record is bool, not an object", "true"),
        ("record is list, not an object", "[]"),
        ("record is list, not an object", '[1,"two"]'),
    ]


def test_a_page_where_every_record_has_an_unparseable_timestamp_quarantines_every_record():
    page = [call(f"c{i}", i, callDate=f"not a time {i}") for i in range(50)]
    calls, quarantined = flatten(page)
    assert calls.num_rows == 0
    assert_declared_types(calls)
    assert [reason for reason, _ in quarantined] == [f"call.callDate: unparseable timestamp 'not a time {i}'" for i in range(50)]


def test_a_field_whose_type_changes_between_pages_is_typed_the_same_on_each():
    numbers = [call(f"n{i}", i, caller=85230001000 + i, seq=str(12 + i), extraInfo=i) for i in range(5)]
    strings = [call(f"s{i}", i, caller=f"+852300{i}", seq=12 + i, extraInfo=f"note {i}") for i in range(5)]
    objects = [call(f"o{i}", i, caller=85230001000 + i, seq=str(12 + i), extraInfo={"k": i}) for i in range(5)]
    booleans = [call(f"b{i}", i, seq=i % 2 == 0) for i in range(5)]
    tables = [flatten(page) for page in (numbers, strings, objects)]
    for calls, quarantined in tables:
        assert quarantined == []
        assert_declared_types(calls)
        assert calls.schema.field("extra_info").type == pa.string()
    assert tables[0][0].select(["caller", "seq", "extra_info"]).to_pylist() == [
        {"caller": str(85230001000 + i), "seq": 12 + i, "extra_info": str(i)} for i in range(5)
    ]
    assert tables[1][0].select(["caller", "seq", "extra_info"]).to_pylist() == [
        {"caller": f"+852300{i}", "seq": 12 + i, "extra_info": f"note {i}"} for i in range(5)
    ]
    assert tables[2][0].column("extra_info").to_pylist() == [f'{{"k":{i}}}' for i in range(5)]
    calls, quarantined = flatten(booleans)
    assert calls.num_rows == 0
    assert [reason for reason, _ in quarantined] == ["call.seq: expected an integer, got a boolean"] * 5


def test_a_huge_page_is_typed_exactly_and_its_one_bad_record_is_set_aside():
    size, middle = 40_000, 20_000
    page = [call(f"c{i:05d}", i, caller=85230000000 + i if i % 2 else f"+852{i}") for i in range(size)]
    page[middle] = call(f"c{middle:05d}", middle, callEndTime="2026-11-18T25:00:00Z")
    calls, quarantined = flatten(page)
    assert [reason for reason, _ in quarantined] == ["call.callEndTime: unparseable timestamp '2026-11-18T25:00:00Z'"]
    kept = [i for i in range(size) if i != middle]
    assert calls.column("id").to_pylist() == [f"c{i:05d}" for i in kept]
    assert calls.column("caller").to_pylist() == [str(85230000000 + i) if i % 2 else f"+852{i}" for i in kept]
    assert calls.column("call_date").to_pylist() == [START + timedelta(seconds=i) for i in kept]
    assert_declared_types(calls)


# Values whose typing a column-wise reader may get from the column's other values: each is typed
# once on a page of its own (a clean column) and once beside a value of the same field that cannot
# be typed (a column that is coerced value by value); a record must come out the same either way.
SAME_ON_ANY_PAGE = [
    ("callEndTime", "2026-11-18T10:00:00.123+08:00"),
    ("callEndTime", "2026-11-18T10:00:00-0330"),
    ("callEndTime", "2026-11-18T10:00:00"),
    ("callEndTime", "2026-11-18 10:00Z"),
    ("callEndTime", "2026-11-18T10:00:00.123456Z"),
    ("callEndTime", "2026-11-18T10:00:00.123456789Z"),
    ("callEndTime", "2026-11-18"),
    ("callEndTime", "2026-11-18T23:59:60Z"),
    ("callEndTime", 1763424000),
    ("callEndTime", ""),
    ("seq", 12.0),
    ("seq", "12"),
    ("seq", " 12"),
    ("seq", "+12"),
    ("seq", "1e3"),
    ("seq", 2**63),
    ("isRecording", 1),
    ("isRecording", "true"),
    ("isRecording", "True"),
    ("isRecording", "1"),
    ("caller", 85230001234),
    ("caller", 85230001234.0),
    ("caller", True),
    ("caller", 2.5),
    ("extraInfo", 7),
    ("extraInfo", 1.0),
    ("extraInfo", False),
    ("extraInfo", [1, "a"]),
]
# A value of the same field that cannot be typed (any value of an undeclared field can: an object).
OTHER = {"callEndTime": "garbage", "seq": "abc", "isRecording": "maybe", "caller": {"n": 1}, "extraInfo": {"k": 1}}


@pytest.mark.parametrize(("field", "value"), SAME_ON_ANY_PAGE, ids=lambda v: repr(v)[:30])
def test_a_value_is_typed_the_same_whatever_else_is_on_its_page(field, value):
    def record_a(records: list) -> tuple[list, list]:
        calls, quarantined = flatten(records)
        row = calls.filter(pc.equal(calls["id"], "a")).column(column_name(field)).to_pylist()
        return row, [q for q in quarantined if '"id":"a"' in q[1]]

    alone = record_a([call("a", **{field: value})])
    beside = record_a([call("a", **{field: value}), call("b", 1, **{field: OTHER[field]})])
    assert alone == beside
    assert len(alone[0]) + len(alone[1]) == 1  # loaded or quarantined, never both, never neither


@pytest.mark.parametrize(("field", "value"), [("Caller", "+85230009999"), ("call_date", "2026-11-18")])
def test_an_undeclared_field_named_like_a_declared_column_leaves_the_other_records_alone(field, value):
    # dlt names `Caller` and `call_date` as the declared `caller` and `callDate` columns.
    calls, quarantined = flatten([call("a"), call("b", 1, **{field: value})])
    a = calls.filter(pc.equal(calls["id"], "a")).select(["caller", "call_date"]).to_pylist()
    assert a == [{"caller": "+85230001234", "call_date": START}]
    assert calls.num_rows + len(quarantined) == 2  # the other one loaded or quarantined, not lost


@pytest.mark.parametrize(
    ("body", "rounded"),
    [
        (b'{"id": 1234567890123456789}', True),  # 19 digits: may pass 2**63
        (b'{"id": -9223372036854775809}', True),  # below -2**63: orjson reads a float
        (b'{"id": 123456789012345678}', False),  # 18 digits: always an exact int
        (b'{"ids": [1,\n 12345678901234567890]}', True),  # after a comma, whitespace between
        (b'{"id": "1234567890123456789"}', False),  # an id of digits written as a string: text already
        (b'{"caller": "+85230009999", "seq": 12}', False),
        (b"", False),
    ],
)
def test_a_body_with_an_integer_orjson_may_round_is_told_from_one_without(body, rounded):
    assert may_hold_rounded_integers(body) is rounded
