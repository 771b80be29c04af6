"""Vendor records -> typed Arrow columns: what each coercion accepts, how a page is typed column by
column, what a bad record becomes, and the dlt hints and quarantine rows a table spec gives."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal

import pendulum
import pyarrow as pa
import pytest

from pipelines.fetch.decoding import Undecodable
from pipelines.fetch.records import (
    QUARANTINE,
    BadRecord,
    TableRows,
    TableSpec,
    as_bool,
    as_int,
    as_text,
    as_timestamp,
    column_name,
    not_an_object,
    quarantine_row,
    typed_columns,
    without_nul,
)
from pipelines.fetch.windows import Window

CALLS = TableSpec(
    name="calls",
    fields={"callId": "text", "startTime": "timestamp", "durationSec": "bigint", "answered": "bool", "from": "text"},
    added={"_page": "bigint"},
    primary_key=("call_id",),
    nested=("legs",),
)


# --- coercions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (14155550100, "14155550100"),  # a phone number sent as a JSON number keeps its digits
        (1.0, "1"),  # an integral float is written without ".0"
        (2.5, "2.5"),
        (True, "true"),
        (False, "false"),
        ("+1 415", "+1 415"),
        (None, None),
    ],
)
def test_as_text_keeps_digits_and_spells_booleans(value, text):
    assert as_text(value, "calls.from") == text


def test_as_text_rejects_a_nested_value_naming_the_field():
    with pytest.raises(BadRecord) as raised:
        as_text({"a": 1}, "calls.from")
    assert str(raised.value) == "calls.from: expected text, got dict"


@pytest.mark.parametrize(
    "value, instant",
    [
        ("2026-11-01T10:00:00Z", datetime(2026, 11, 1, 10, tzinfo=UTC)),
        ("2026-11-01T10:00:00+02:00", datetime(2026, 11, 1, 8, tzinfo=UTC)),
        ("2026-11-01T10:00:00", datetime(2026, 11, 1, 10, tzinfo=UTC)),  # no offset: read as UTC
        ("2026-11-01T10:00:00.250-05:00", datetime(2026, 11, 1, 15, 0, 0, 250000, tzinfo=UTC)),
        ("", None),
        (None, None),
    ],
)
def test_as_timestamp_returns_aware_utc(value, instant):
    parsed = as_timestamp(value, "calls.startTime")
    assert parsed == instant
    if parsed is not None:
        assert parsed.utcoffset().total_seconds() == 0


def test_as_timestamp_names_an_unparseable_value():
    with pytest.raises(BadRecord) as raised:
        as_timestamp("last tuesday", "calls.startTime")
    assert str(raised.value) == "calls.startTime: unparseable timestamp 'last tuesday'"


def test_as_timestamp_rejects_a_number():
    with pytest.raises(BadRecord) as raised:
        as_timestamp(1762000000, "calls.startTime")
    assert str(raised.value) == "calls.startTime: expected an ISO-8601 timestamp, got int"


@pytest.mark.parametrize("value, number", [(42, 42), ("42", 42), (" 7 ", 7), (3.0, 3), ("", None), (None, None)])
def test_as_int_accepts_integers_and_integer_text(value, number):
    assert as_int(value, "calls.durationSec") == number


@pytest.mark.parametrize(
    "value, reason",
    [
        (True, "calls.durationSec: expected an integer, got a boolean"),
        (1.5, "calls.durationSec: expected an integer, got '1.5'"),
        ("forty", "calls.durationSec: expected an integer, got 'forty'"),
    ],
)
def test_as_int_rejects_booleans_fractions_and_words(value, reason):
    with pytest.raises(BadRecord) as raised:
        as_int(value, "calls.durationSec")
    assert str(raised.value) == reason


@pytest.mark.parametrize("value, flag", [(True, True), (False, False), ("true", True), ("FALSE", False), (None, None)])
def test_as_bool_accepts_booleans_and_their_spelling(value, flag):
    assert as_bool(value, "calls.answered") is flag


@pytest.mark.parametrize("value", [1, "yes", 0])
def test_as_bool_rejects_numbers_and_other_words(value):
    with pytest.raises(BadRecord) as raised:
        as_bool(value, "calls.answered")
    assert str(raised.value) == f"calls.answered: expected true/false, got {str(value)!r}"


def test_column_names_follow_dlt_snake_case():
    assert [column_name(f) for f in ("callId", "newField", "from", "X-Trace ID")] == [
        "call_id",
        "new_field",
        "from",
        "x_trace_id",
    ]


# --- typed_columns: a page typed column by column -----------------------------------------------


def record(call_id: str, start: object = "2026-11-01T10:00:00Z", **extra: object) -> dict:
    return {"callId": call_id, "startTime": start, "durationSec": 60, "answered": True, "from": 14155550100, **extra}


def to_table(arrays: dict[str, pa.Array]) -> pa.Table:
    return pa.table(arrays)


def test_a_clean_page_becomes_typed_columns_in_spec_order():
    bad: dict[int, str] = {}
    arrays = typed_columns(CALLS, [record("a"), record("b", "2026-11-01T12:30:00+02:00")], bad, "calls page 1")
    assert bad == {}
    assert list(arrays) == ["_page", "call_id", "start_time", "duration_sec", "answered", "from"]
    table = to_table(arrays)
    assert table.schema.field("start_time").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("duration_sec").type == pa.int64()
    assert table.schema.field("answered").type == pa.bool_()
    assert table.schema.field("from").type == pa.string()
    assert table.to_pydict() == {
        "_page": [None, None],  # added columns are filled in by the caller
        "call_id": ["a", "b"],
        "start_time": [datetime(2026, 11, 1, 10, tzinfo=UTC), datetime(2026, 11, 1, 10, 30, tzinfo=UTC)],
        "duration_sec": [60, 60],
        "answered": [True, True],
        "from": ["14155550100", "14155550100"],
    }


def test_a_bad_timestamp_marks_only_its_record_with_the_reason():
    bad: dict[int, str] = {}
    records = [record("a"), record("b", "not a time"), record("c", "2026-11-01T11:00:00")]
    arrays = typed_columns(CALLS, records, bad, "calls page 3")
    assert bad == {1: "calls page 3.startTime: unparseable timestamp 'not a time'"}
    assert arrays["start_time"].to_pylist() == [
        datetime(2026, 11, 1, 10, tzinfo=UTC),
        None,
        datetime(2026, 11, 1, 11, tzinfo=UTC),
    ]
    assert arrays["call_id"].to_pylist() == ["a", "b", "c"]


def test_a_declared_field_missing_from_the_page_is_a_typed_null_column():
    bad: dict[int, str] = {}
    arrays = typed_columns(CALLS, [{"callId": "a"}, {"callId": "b"}], bad, "p")
    assert arrays["start_time"].type == pa.timestamp("us", tz="UTC")
    assert arrays["start_time"].to_pylist() == [None, None]
    assert arrays["duration_sec"].type == pa.int64()


def test_records_missing_some_fields_get_nulls_there():
    bad: dict[int, str] = {}
    arrays = typed_columns(CALLS, [{"callId": "a", "durationSec": 5}, {"callId": "b", "answered": "false"}], bad, "p")
    assert bad == {}
    assert arrays["duration_sec"].to_pylist() == [5, None]
    assert arrays["answered"].to_pylist() == [None, False]


def test_an_undeclared_field_is_kept_as_a_snake_case_text_column():
    bad: dict[int, str] = {}
    arrays = typed_columns(CALLS, [record("a", newField=7), record("b", newField="x")], bad, "p")
    assert bad == {}
    assert list(arrays)[-1] == "new_field"
    assert arrays["new_field"].type == pa.string()
    assert arrays["new_field"].to_pylist() == ["7", "x"]


def test_nested_extras_are_kept_as_json_text_and_declared_nested_fields_are_left_out():
    bad: dict[int, str] = {}
    records = [record("a", tags=["vip", "eu"], meta={"queue": "sales", "n": 1}, legs=[{"id": 1}])]
    arrays = typed_columns(CALLS, records, bad, "p")
    assert arrays["tags"].to_pylist() == ['["vip","eu"]']
    assert arrays["meta"].to_pylist() == ['{"queue":"sales","n":1}']
    assert "legs" not in arrays


def test_undeclared_columns_come_sorted_by_vendor_field():
    bad: dict[int, str] = {}
    arrays = typed_columns(CALLS, [record("a", zeta="z", alphaBeta="a")], bad, "p")
    assert list(arrays)[-2:] == ["alpha_beta", "zeta"]


def test_a_boolean_in_a_bigint_column_marks_its_record_bad():
    bad: dict[int, str] = {}
    records = [record("a"), {**record("b"), "durationSec": True}, {**record("c"), "durationSec": "90"}]
    arrays = typed_columns(CALLS, records, bad, "p")
    assert bad == {1: "p.durationSec: expected an integer, got a boolean"}
    assert arrays["duration_sec"].to_pylist() == [60, None, 90]


def test_a_record_keeps_the_reason_of_its_first_bad_column():
    bad: dict[int, str] = {}
    records = [{**record("a", "never"), "durationSec": "n/a"}]
    typed_columns(CALLS, records, bad, "p")
    assert bad == {0: "p.startTime: unparseable timestamp 'never'"}


def test_an_empty_page_gives_empty_typed_columns():
    bad: dict[int, str] = {}
    arrays = typed_columns(CALLS, [], bad, "p")
    assert list(arrays) == ["_page", "call_id", "start_time", "duration_sec", "answered", "from"]
    assert [len(a) for a in arrays.values()] == [0] * 6


def test_a_fractional_number_in_a_bigint_column_marks_the_record_bad():
    bad: dict[int, str] = {}
    arrays = typed_columns(CALLS, [record("a"), {**record("b"), "durationSec": 1.5}], bad, "p")
    assert bad == {1: "p.durationSec: expected an integer, got '1.5'"}
    assert arrays["duration_sec"].to_pylist() == [60, None]


def test_an_integer_beyond_bigint_range_marks_only_its_record_bad():
    bad: dict[int, str] = {}
    arrays = typed_columns(CALLS, [record("a"), {**record("b"), "durationSec": 2**70}], bad, "p")
    assert list(bad) == [1]
    assert arrays["duration_sec"].to_pylist() == [60, None]


# --- TableSpec hints ----------------------------------------------------------------------------


def test_hints_make_the_primary_key_not_nullable_and_mark_the_data_deduplicated():
    spec = TableSpec(
        "legs",
        {"legId": "text", "endedAt": "timestamp"},
        added={"call_id": "text"},
        primary_key=("call_id", "leg_id"),
        merge_key=("call_id",),
    )
    assert spec.hints() == {
        "table_name": "legs",
        "write_disposition": "merge",
        "primary_key": ["call_id", "leg_id"],
        "merge_key": ["call_id"],
        "columns": {
            "call_id": {"data_type": "text", "nullable": False},
            "leg_id": {"data_type": "text", "nullable": False},
            "ended_at": {"data_type": "timestamp", "nullable": True},
        },
        "additional_table_hints": {"x-stage-data-deduplicated": True},
    }


def test_hints_without_keys_have_no_merge_key_and_no_deduplicated_mark():
    hints = TableSpec("events", {"at": "timestamp"}).hints()
    assert hints["primary_key"] == []
    assert hints["merge_key"] is None
    assert hints["additional_table_hints"] is None
    assert hints["columns"] == {"at": {"data_type": "timestamp", "nullable": True}}


# --- quarantine -----------------------------------------------------------------------------------

WINDOW = Window(pendulum.datetime(2026, 11, 1, tz="UTC"), pendulum.datetime(2026, 11, 2, tz="UTC"))


def test_the_same_record_gets_the_same_record_hash_whatever_its_key_order():
    first = quarantine_row("calls", {"b": 2, "a": 1}, "bad", WINDOW)
    again = quarantine_row("calls", {"a": 1, "b": 2}, "other reason", None)
    assert first["raw_json"] == '{"a":1,"b":2}'
    assert first["record_hash"] == again["record_hash"] == hashlib.sha256(b'calls\0{"a":1,"b":2}').hexdigest()


def test_the_same_record_of_another_resource_hashes_differently():
    assert (
        quarantine_row("calls", {"a": 1}, "r", WINDOW)["record_hash"]
        != quarantine_row("legs", {"a": 1}, "r", WINDOW)["record_hash"]
    )


def test_a_quarantine_row_has_the_quarantine_columns_and_the_window():
    before = datetime.now(UTC)
    row = quarantine_row("calls", {"a": 1}, "calls.startTime: unparseable timestamp 'x'", WINDOW)
    assert set(row) == set(QUARANTINE.columns())
    assert row["resource"] == "calls"
    assert row["reason"] == "calls.startTime: unparseable timestamp 'x'"
    assert (row["window_start"], row["window_end"]) == (WINDOW.start, WINDOW.end)
    assert before <= row["quarantined_at"] <= datetime.now(UTC)
    assert QUARANTINE.primary_key == ("record_hash",)


def test_signed_url_parameters_never_reach_raw_json():
    url = (
        "https://bucket.s3.amazonaws.com/rec/1.wav?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIA%2F20261101&X-Amz-Signature=abc123&X-Amz-Expires=300"
    )
    row = quarantine_row("recordings", {"url": url}, "r", WINDOW)
    assert row["raw_json"] == (
        '{"url":"https://bucket.s3.amazonaws.com/rec/1.wav?X-Amz-Algorithm=AWS4-HMAC-SHA256'
        '&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Expires=300"}'
    )


def test_the_redact_hook_is_applied_before_storing():
    row = quarantine_row(
        "calls", {"note": "key sk-live-123 leaked"}, "r", WINDOW, redact=lambda text: text.replace("sk-live-123", "***")
    )
    assert row["raw_json"] == '{"note":"key *** leaked"}'
    assert row["record_hash"] == hashlib.sha256(b'calls\0{"note":"key *** leaked"}').hexdigest()


def test_a_value_json_cannot_encode_is_stored_as_its_text():
    row = quarantine_row("calls", {"at": pendulum.Date(2026, 11, 1), "amount": Decimal("1.50")}, "r", None)
    assert row["raw_json"] == '{"amount":"1.50","at":"2026-11-01"}'
    assert (row["window_start"], row["window_end"]) == (None, None)


# --- TableRows ----------------------------------------------------------------------------------


def test_table_rows_become_declared_columns_then_extras_as_text():
    rows = TableRows(TableSpec("legs", {"legId": "text", "seconds": "bigint"}, added={"call_id": "text"}))
    rows.add({"call_id": "c1", "leg_id": "l1", "seconds": 5})
    rows.extend([{"call_id": "c1", "leg_id": "l2", "seconds": None, "codec": "opus"}])
    assert len(rows) == 2
    table = rows.to_arrow()
    assert table.schema == pa.schema(
        [("call_id", pa.string()), ("leg_id", pa.string()), ("seconds", pa.int64()), ("codec", pa.string())]
    )
    assert table.to_pydict() == {"call_id": ["c1", "c1"], "leg_id": ["l1", "l2"], "seconds": [5, None], "codec": [None, "opus"]}


# --- NUL characters and undecodable records -----------------------------------------------------


def test_nul_characters_are_removed_from_every_text_column_and_counted():
    table = pa.table(
        {
            "name": pa.array(["Mei\x00Smith", "Ann", None, "\x00\x00"]),
            "n": pa.array([1, 2, 3, 4], pa.int64()),
            "note": pa.array(["a\x00b\x00c", "plain", "x", "y"], pa.large_string()),
        }
    )
    cleaned, removed = without_nul(table)
    assert removed == 3
    assert cleaned.to_pydict() == {"name": ["MeiSmith", "Ann", None, ""], "n": [1, 2, 3, 4], "note": ["abc", "plain", "x", "y"]}
    assert cleaned.schema == table.schema


def test_a_table_without_nul_characters_is_returned_as_it_is():
    table = pa.table({"name": ["Mei", "Ann"]})
    assert without_nul(table) == (table, 0)


def test_a_nul_outside_a_slice_is_not_counted():
    # A sliced column shares its parent's character data, NUL included.
    table = pa.table({"name": ["a\x00", "b", "c"]}).slice(1)
    cleaned, removed = without_nul(table)
    assert removed == 0 and cleaned.to_pydict() == {"name": ["b", "c"]}


def test_an_undecodable_record_is_quarantined_with_its_reason_and_escaped_text():
    record = Undecodable({"id": "c1", "name": "Mei\\ud800Smith"}, "name: text is not valid Unicode: a lone surrogate (\\ud800)")
    row = quarantine_row("calls", record, not_an_object(record), None)
    assert row["reason"] == "name: text is not valid Unicode: a lone surrogate (\\ud800)"
    assert row["raw_json"] == '{"id":"c1","name":"Mei\\\\ud800Smith"}'
    assert not_an_object(["a list"]) == "record is list, not an object"
