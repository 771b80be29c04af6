"""Views whose rows callhouse writes from Python declarations rather than from a file in `sql/`.

`staging.outcome_map` is every vendor's `Vendor.outcomes` (pipelines/sources/<vendor>/outcomes.py)
as one VALUES list, so a vendor's statuses live with the vendor. Its YAML stays in sql/staging/
(columns, data tests); the SQL is plain VALUES every engine reads, so `view_sql` serves it as it
serves a file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pipelines.sources.registry import VENDORS
from pipelines.sources.vendor import Vendor

OUTCOME_MAP = ("staging", "outcome_map")
_OUTCOME_COLUMNS = ("vendor", "status", "when_answered", "when_ended", "outcome", "meaning")


def _literal(value: str | bool | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + value.replace("'", "''") + "'"


def outcome_map_sql(vendors: Iterable[Vendor] = VENDORS) -> str:
    """`staging.outcome_map`: (vendor, status, when_answered, when_ended, outcome, meaning) rows.

    The first row casts the qualifiers to boolean: a column of NULLs alone would be typed text."""
    rows = [(v.name, o.status, o.when_answered, o.when_ended, o.outcome, o.meaning) for v in vendors for o in v.outcomes]
    if not rows:
        raise ValueError("staging.outcome_map: no vendor declares outcomes")
    lines = []
    for i, row in enumerate(rows):
        cells = [_literal(c) for c in row]
        if i == 0:
            cells[2], cells[3] = f"cast({cells[2]} as boolean)", f"cast({cells[3]} as boolean)"
        lines.append(f"    ({', '.join(cells)})")
    columns = ", ".join(_OUTCOME_COLUMNS)
    return (
        f"select {', '.join(f'outcome_map.{c}' for c in _OUTCOME_COLUMNS)}\n"
        f"from (values\n" + ",\n".join(lines) + f"\n) as outcome_map ({columns})"
    )


# (schema, view) -> its SQL, written here instead of in a sql/ file.
GENERATED: dict[tuple[str, str], Callable[[], str]] = {OUTCOME_MAP: outcome_map_sql}
