"""`callhouse.privacy`: which key and kinds made the warehouse's pseudonyms (never the key itself).

A load with a different key, or other kinds, would give every caller a second pseudonym: counts
of distinct callers double and repeat callers vanish. So it is refused unless the user says
`--rotate-privacy-key` (docs/privacy.md), and the row records the fingerprint, an HMAC of a fixed
label, from which the key cannot be recovered.
"""

from __future__ import annotations

import duckdb
import pendulum

from pipelines.errors import UsageError
from pipelines.privacy.pseudonyms import KEY_SETTING, PSEUDONYMIZE_SETTING, Pseudonyms
from pipelines.warehouse.conflicts import retry_on_conflict
from pipelines.warehouse.layout import OPS_SCHEMA

TABLE = f"{OPS_SCHEMA}.privacy"
DDL = f"""
create schema if not exists {OPS_SCHEMA};
create table if not exists {TABLE} (key_fingerprint text, pseudonymized text, recorded_at timestamptz);
"""
ROTATE_FLAG = "--rotate-privacy-key"


def stored_privacy(con: duckdb.DuckDBPyConnection) -> tuple[str, str] | None:
    """(key fingerprint, kinds as a sorted comma list) of the newest row, None before any."""
    con.execute(DDL)
    row = con.execute(f"select key_fingerprint, pseudonymized from {TABLE} order by recorded_at desc limit 1").fetchone()
    return (row[0] or "", row[1] or "") if row else None


def check_privacy_key(con: duckdb.DuckDBPyConnection, pseudonyms: Pseudonyms | None, rotate: bool = False) -> None:
    """Refuse (exit 2) a load whose pseudonyms would differ from the warehouse's, unless `rotate`;
    record the key's fingerprint and kinds when they are new."""
    wanted = (pseudonyms.fingerprint(), ",".join(sorted(pseudonyms.kinds))) if pseudonyms else ("", "")
    stored = retry_on_conflict(lambda: stored_privacy(con))
    if stored is None and pseudonyms is None or stored == wanted:
        return
    if stored is not None and not rotate:
        if stored[0] != wanted[0] and stored[0] and wanted[0]:
            what = f"{KEY_SETTING} is not the key this warehouse's pseudonyms were made with"
        else:
            what = f"{PSEUDONYMIZE_SETTING} ({wanted[1] or 'off'}) differs from what this warehouse holds ({stored[1] or 'off'})"
        raise UsageError(
            f"{what}: every caller would get a second pseudonym; restore it, or pass {ROTATE_FLAG} to start anew (docs/privacy.md)"
        )

    def write() -> None:
        con.execute(DDL)
        con.execute(f"delete from {TABLE}")
        con.execute(f"insert into {TABLE} values (?, ?, ?)", [wanted[0], wanted[1], pendulum.now("UTC")])

    retry_on_conflict(write)
