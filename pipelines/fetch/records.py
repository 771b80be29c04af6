"""Vendor records -> typed Arrow tables, one per warehouse table, plus quarantine rows.

Sources hand dlt pre-built Arrow tables (dlt's Python normalizer is the slow path, see
dlt-notes.md), so types are decided here: timestamps become aware UTC datetimes, phone numbers and
ids text, and a record that cannot be typed goes to quarantine whole, with the reason.
Fields nobody declared are kept as text columns named in dlt's snake_case: the schema evolves.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Literal, TypedDict

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.normalizers.naming.snake_case import NamingConvention

from pipelines import JSON
from pipelines.fetch.decoding import Undecodable
from pipelines.fetch.redaction import strip_signatures_in_text
from pipelines.fetch.windows import Window

_naming = NamingConvention()


@functools.lru_cache(maxsize=8192)  # called per field per record: dlt's normalizer is regex-based
def column_name(vendor_field: str) -> str:
    """The warehouse column for a vendor field, exactly as dlt would name it."""
    return _naming.normalize_identifier(vendor_field)


class BadRecord(ValueError):
    """A record that cannot be loaded as it is; the message is the quarantine reason."""


# --- coercions: value as the vendor sent it -> value as the warehouse stores it --------------
# Each takes any value (vendors send what they send) and checks its type itself.

# A value as the warehouse stores it.
Cell = str | datetime | int | bool | None
ColumnType = Literal["text", "timestamp", "bigint", "bool"]


def as_text(value: object, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        # Phone numbers sent as JSON numbers: keep the digits, never a float rendering.
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    raise BadRecord(f"{where}: expected text, got {type(value).__name__}")


def as_timestamp(value: object, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRecord(f"{where}: expected an ISO-8601 timestamp, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRecord(f"{where}: unparseable timestamp {value[:40]!r}") from None
    # Vendors here send UTC; a value without an offset is read as UTC rather than local time.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def as_int(value: object, where: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadRecord(f"{where}: expected an integer, got a boolean")
    number: int | None = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            pass
    if number is None:
        raise BadRecord(f"{where}: expected an integer, got {str(value)[:40]!r}")
    if not _BIGINT_MIN <= number <= _BIGINT_MAX:
        raise BadRecord(f"{where}: integer {str(value)[:40]} is out of the bigint range")
    return number


_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1


def as_bool(value: object, where: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadRecord(f"{where}: expected true/false, got {str(value)[:40]!r}")


COERCE: dict[str, Callable[[object, str], Cell]] = {
    "text": as_text,
    "timestamp": as_timestamp,
    "bigint": as_int,
    "bool": as_bool,
}
ARROW_TYPE = {
    "text": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "bigint": pa.int64(),
    "bool": pa.bool_(),
}


class ColumnHint(TypedDict):
    data_type: ColumnType
    nullable: bool


class TableHints(TypedDict):
    """The arguments of dlt's `make_hints` that a table spec sets."""

    table_name: str
    write_disposition: Literal["merge"]
    primary_key: list[str]
    merge_key: list[str] | None
    columns: dict[str, ColumnHint]
    additional_table_hints: dict[str, object] | None


@dataclass(frozen=True)
class TableSpec:
    """A warehouse table: its typed vendor fields, the columns we add, and its keys."""

    name: str
    fields: dict[str, ColumnType]  # vendor field -> type; the column is column_name(field)
    added: dict[str, ColumnType] = field(default_factory=dict)  # our own columns (parent keys, positions)
    primary_key: tuple[str, ...] = ()
    merge_key: tuple[str, ...] = ()
    nested: tuple[str, ...] = ()  # vendor fields flattened into child tables, not columns

    def columns(self) -> dict[str, ColumnType]:
        cols = dict(self.added)
        cols.update({column_name(f): t for f, t in self.fields.items()})
        return cols

    def hints(self) -> TableHints:
        """dlt table hints for this table (used by resources and the committed schema)."""
        columns: dict[str, ColumnHint] = {
            name: {"data_type": kind, "nullable": name not in self.primary_key} for name, kind in self.columns().items()
        }
        return {
            "table_name": self.name,
            "write_disposition": "merge",
            "primary_key": list(self.primary_key),
            "merge_key": list(self.merge_key) or None,
            "columns": columns,
            # One row per key in each load package: dlt's merge then skips its ROW_NUMBER pass.
            # The rare exceptions are repaired after the load (after_load.remove_duplicate_keys).
            "additional_table_hints": {"x-stage-data-deduplicated": True} if self.primary_key else None,
        }


# One warehouse row: column -> value.
Row = dict[str, Cell]


class TableRows:
    """Rows collected for one table from one page, turned into one Arrow table."""

    def __init__(self, spec: TableSpec):
        self.spec = spec
        self.rows: list[Row] = []

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def extend(self, rows: Iterable[Row]) -> None:
        self.rows.extend(rows)

    def __len__(self) -> int:
        return len(self.rows)

    def to_arrow(self) -> pa.Table:
        declared = self.spec.columns()
        names = list(declared)
        seen = set(names)
        for row in self.rows:
            for name in row:
                if name not in seen:
                    seen.add(name)
                    names.append(name)
        arrays = []
        for name in names:
            values = [row.get(name) for row in self.rows]
            arrays.append(pa.array(values, type=ARROW_TYPE[declared.get(name, "text")]))
        return pa.Table.from_arrays(arrays, names=names)


class TablePieces:
    """Arrow tables typed page by page for one table, handed on as one."""

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self.pieces: list[pa.Table] = []
        self._rows = 0

    def add(self, table: pa.Table) -> None:
        self.pieces.append(table)
        self._rows += table.num_rows

    def __len__(self) -> int:
        return self._rows

    def to_arrow(self) -> pa.Table:
        if not self.pieces:
            return TableRows(self.spec).to_arrow()  # no rows, the declared columns
        # Pages may differ in their undeclared (extra) columns: missing ones become nulls.
        return self.pieces[0] if len(self.pieces) == 1 else pa.concat_tables(self.pieces, promote_options="default")


# warehouse table -> rows from one vendor page (or more), as collected rows or Arrow tables
Batch = dict[str, TableRows | TablePieces | pa.Table]


# --- column-wise typing: the fast path for whole pages -----------------------------------


def _as_extra(value: object, where: str) -> str | None:
    """Undeclared fields: nested values as JSON text, scalars as text."""
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return as_text(value, where)


def typed_columns(
    spec: TableSpec,
    records: Sequence[Mapping[str, JSON]],
    bad: dict[int, str],
    where: str,
    values: Mapping[str, Sequence[JSON]] | None = None,
) -> dict[str, pa.Array]:
    """One Arrow array per column for a page of records, typed column by column.

    Arrow converts a clean column in one C call; only a column that Arrow rejects (a phone number
    sent as a JSON number, a timestamp without offset, a malformed value) is coerced value by
    value, and a value that cannot be coerced marks its record bad: `bad[index] = reason`.
    `values` is `page_columns(records, spec)` when the caller already has it.
    """
    count = len(records)
    if values is None:
        values = page_columns(records, spec)
    extras = sorted(values.keys() - spec.fields.keys() - set(spec.nested))
    extras = _without_clashes(spec, extras, records, bad, where)
    arrays: dict[str, pa.Array] = {}
    for name, kind in spec.added.items():
        arrays[name] = pa.nulls(count, ARROW_TYPE[kind])  # filled in by the caller
    for vendor_field, kind in spec.fields.items():
        arrays[column_name(vendor_field)] = (
            _typed_array(values[vendor_field], kind, vendor_field, bad, where)
            if vendor_field in values
            else pa.nulls(count, ARROW_TYPE[kind])
        )
    for extra in extras:
        arrays[column_name(extra)] = _typed_array(values[extra], "extra", extra, bad, where)
    return arrays


def _without_clashes(
    spec: TableSpec, extras: list[str], records: Sequence[Mapping[str, JSON]], bad: dict[int, str], where: str
) -> list[str]:
    """`extras` without the undeclared fields whose column another field already fills (dlt names
    `Caller` and `caller` alike): a record holding one goes to quarantine with the reason, and the
    field makes no column, so it overwrites no other record's value."""
    owners = {column_name(f): f for f in spec.fields} | {name: name for name in spec.added}
    kept = []
    for extra in extras:
        column = column_name(extra)
        owner = owners.setdefault(column, extra)
        if owner == extra:
            kept.append(extra)
            continue
        reason = f"{where}.{extra}: names the same column ({column}) as the field {owner}"
        for index, record in enumerate(records):
            if extra in record:
                bad.setdefault(index, reason)
    return kept


def page_columns(records: Sequence[Mapping[str, JSON]], spec: TableSpec) -> dict[str, Sequence[JSON]]:
    """Each field that any record carries -> its values across records (None where a record lacks
    it). Nested fields are included only when every record has the same fields."""
    if not records:
        return {}
    fields = list(records[0])
    if len(fields) > 1 and len(set(map(len, records))) == 1:
        try:
            # Records that all carry the same fields (the usual page): a record holding every field
            # of the first and no more has exactly its fields, so one C-level pass and a transpose
            # do it all, about twice as fast as a lookup per field per record.
            return dict(zip(fields, zip(*map(itemgetter(*fields), records))))
        except KeyError:
            pass
    present: set[str] = set().union(*records)
    fields = [f for f in spec.fields if f in present] + sorted(present - spec.fields.keys() - set(spec.nested))
    if len(fields) > 1:
        try:
            return dict(zip(fields, zip(*map(itemgetter(*fields), records))))
        except KeyError:
            pass
    return {f: [r.get(f) for r in records] for f in fields}


def _typed_array(
    values: Sequence[JSON], kind: ColumnType | Literal["extra"], vendor_field: str, bad: dict[int, str], where: str
) -> pa.Array:
    arrow_type = ARROW_TYPE.get(kind, pa.string())
    try:
        if kind == "timestamp":
            return pa.array(values, pa.string()).cast(arrow_type)
        if kind == "bigint":
            # Typed as int64, Arrow would quietly cut 1.5 to 1: let it infer instead, which gives
            # int64 only for integers (and None), refuses booleans and gives double for any float.
            inferred = pa.array(values)
            if inferred.type == arrow_type:
                return inferred
            if inferred.type != pa.null():
                raise TypeError("not all integers")
        return pa.array(values, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        coerce = COERCE.get(kind, _as_extra)
        where_field = f"{where}.{vendor_field}"
        if kind in ("text", "extra"):
            try:
                # The usual reason here: phone numbers sent as JSON numbers among text. Text stays
                # as it is; only the rest is coerced (a bad value redoes the column below).
                return pa.array([v if v.__class__ is str else coerce(v, where_field) for v in values], arrow_type)
            except BadRecord:
                pass
        typed = []
        for index, value in enumerate(values):
            try:
                typed.append(coerce(value, where_field))
            except BadRecord as exc:
                bad.setdefault(index, str(exc))
                typed.append(None)
        return pa.array(typed, arrow_type)


# --- text every warehouse can store ----------------------------------------------------------

NUL = "\x00"


def without_nul(table: pa.Table) -> tuple[pa.Table, int]:
    """`table` with NUL characters removed from its text values, and how many values had one.

    PostgreSQL's text cannot hold U+0000 (a load fails for good: "invalid byte sequence for
    encoding UTF8: 0x00") while DuckDB stores it; removing it on every kind keeps the warehouses
    identical. Vendors send it by mistake (padding of fixed-width fields), never as meaning.
    """
    removed = 0
    for index, column in enumerate(table.columns):
        if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
            continue
        if not _may_hold_nul(column):
            continue
        with_nul = pc.sum(pc.match_substring(column, NUL)).as_py()
        if with_nul:
            removed += with_nul
            table = table.set_column(index, table.field(index), pc.replace_substring(column, NUL, ""))
    return table, removed


def _may_hold_nul(column: pa.ChunkedArray) -> bool:
    """A zero byte anywhere in the column's character data: one memchr per chunk, far cheaper
    than searching value by value (the data may extend past a slice: a false yes only costs the
    exact search)."""
    for chunk in column.chunks:
        data = chunk.buffers()[2]
        # Copying the bytes and searching them with memchr costs a few microseconds per chunk of
        # a page, a tenth of a numpy reduction (gathered tables hold one chunk per vendor page).
        if data is not None and data.size and b"\x00" in data.to_pybytes():
            return True
    return False


# --- quarantine: records that could not be loaded, kept with their reason -------------------

QUARANTINE = TableSpec(
    name="quarantine",
    fields={},
    added={
        "record_hash": "text",
        "resource": "text",
        "reason": "text",
        "raw_json": "text",
        "window_start": "timestamp",
        "window_end": "timestamp",
        "quarantined_at": "timestamp",
    },
    primary_key=("record_hash",),
)


def not_an_object(record: object) -> str:
    """The quarantine reason of a listed record that is not a JSON object (or could not be decoded)."""
    if isinstance(record, Undecodable):
        return record.reason
    return f"record is {type(record).__name__}, not an object"


def quarantine_row(
    resource: str, record: object, reason: str, window: Window | None, redact: Callable[[str], str] = lambda s: s
) -> Row:
    if isinstance(record, Undecodable):
        record = record.record  # its undecodable characters written as escapes: storable text
    # Signed URLs (recording downloads) are credentials: never kept, whatever the source's redact.
    raw = strip_signatures_in_text(redact(orjson.dumps(record, option=orjson.OPT_SORT_KEYS, default=str).decode()))
    return {
        # Keyed by content so reloading the same window does not quarantine the same record twice.
        "record_hash": hashlib.sha256(f"{resource}\0{raw}".encode()).hexdigest(),
        "resource": resource,
        "reason": reason,
        "raw_json": raw,
        "window_start": window.start if window else None,
        "window_end": window.end if window else None,
        "quarantined_at": datetime.now(UTC),
    }
