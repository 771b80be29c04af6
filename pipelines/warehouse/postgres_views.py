"""Replacing a view in PostgreSQL without losing what others built on it.

`create or replace view` keeps the view's grants and every view that reads it (a team's own
`team.missed`, a BI tool's saved query), but PostgreSQL allows it only when the columns stay the
same or new ones are added at the end. Anything else (a renamed column, a changed type) needs a
drop, and PostgreSQL drops nothing another view reads. callhouse's own views that read it are
first replaced in place by an empty stand-in with their current columns (so they read nothing and
keep their own readers and grants; the build replaces them again after it); a view of anyone
else's that reads it stops the build with one line naming it, because dropping it would lose it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.errors import CallhouseError, LockWaitTimeout, one_line
from pipelines.settings import setting_name

if TYPE_CHECKING:
    import psycopg2.extensions

INVALID_TABLE_DEFINITION = "42P16"  # PostgreSQL's code for "cannot change ... of view column"
_SAVEPOINT = "callhouse_view"

# The views (or materialized views) whose query reads the relation `%s`: a view's rewrite rule
# depends on every relation it reads.
_READERS = """
select distinct namespace.nspname, class.relname
from pg_depend depend
join pg_rewrite rewrite on rewrite.oid = depend.objid
join pg_class class on class.oid = rewrite.ev_class
join pg_namespace namespace on namespace.oid = class.relnamespace
where depend.classid = 'pg_rewrite'::regclass
    and depend.refclassid = 'pg_class'::regclass
    and depend.refobjid = %s::regclass
    and rewrite.ev_class <> depend.refobjid
order by namespace.nspname, class.relname
"""
_COLUMNS = """
select attname, format_type(atttypid, atttypmod)
from pg_attribute
where attrelid = %s::regclass and attnum > 0 and not attisdropped
order by attnum
"""


class ViewInUse(CallhouseError):
    """A view must be dropped, and a view that is not callhouse's reads it (exit 1)."""


# Who holds a lock on relation %s (other than the session %s that gave up): an analyst's open
# transaction shows as `idle in transaction`.
_HOLDERS = """
select distinct activity.pid, activity.usename, activity.state, activity.application_name
from pg_locks lock
join pg_stat_activity activity on activity.pid = lock.pid
where lock.relation = to_regclass(%s) and lock.granted and lock.pid <> %s
order by activity.pid
"""


def lock_holders(cursor: psycopg2.extensions.cursor, schema: str, name: str, waiter_pid: int) -> list[str]:
    """The sessions holding a lock on schema.name, one phrase each (pid, user, state, application)."""
    cursor.execute(_HOLDERS, [_quoted(schema, name), waiter_pid])
    return [
        f"pid {pid}, user {user}, {state or 'state unknown'}" + (f", {application}" if application else "")
        for pid, user, state, application in cursor.fetchall()
    ]


def lock_wait_timeout(schema: str, name: str, waited_s: float, holders: list[str]) -> LockWaitTimeout:
    """The one line for a build that gave up waiting on schema.name."""
    who = f" ({'; '.join(holders)})" if holders else ""
    return LockWaitTimeout(
        f"views: gave up after {waited_s:g} s waiting for a lock on {schema}.{name}: another session holds it{who}; "
        f"end that session's transaction and rerun (nothing was changed; {setting_name('warehouse', 'lock_timeout_s')} sets the wait)"
    )


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quoted(schema: str, name: str) -> str:
    return f"{_identifier(schema)}.{_identifier(name)}"


def views_reading(cursor: psycopg2.extensions.cursor, schema: str, name: str) -> list[tuple[str, str]]:
    """The views whose query reads schema.name directly."""
    cursor.execute(_READERS, [_quoted(schema, name)])
    return [(s, n) for s, n in cursor.fetchall()]


def replace_view(cursor: psycopg2.extensions.cursor, schema: str, name: str, body: str, ours: set[tuple[str, str]]) -> None:
    """The view replaced in place where PostgreSQL can; else dropped and created again (see the
    module's docstring), inside the caller's transaction."""
    import psycopg2

    statement = f"create or replace view {_quoted(schema, name)} as\n{body}"
    cursor.execute(f"savepoint {_SAVEPOINT}")
    try:
        cursor.execute(statement)
    except psycopg2.Error as exc:
        cursor.execute(f"rollback to savepoint {_SAVEPOINT}")
        if exc.pgcode != INVALID_TABLE_DEFINITION:
            raise
        reason = one_line((exc.pgerror or str(exc)).strip().splitlines()[0].removeprefix("ERROR:").strip(), 200)
        drop_view(cursor, schema, name, ours, f"cannot replace {schema}.{name} in place ({reason})")
        cursor.execute(statement)
    cursor.execute(f"release savepoint {_SAVEPOINT}")


def drop_view(cursor: psycopg2.extensions.cursor, schema: str, name: str, ours: set[tuple[str, str]], why: str) -> None:
    """Drops the view, never with CASCADE, once no view reads it: those of `ours` are detached by
    an empty stand-in; `why` opens the line that names any other."""
    import psycopg2.errors

    readers = views_reading(cursor, schema, name)
    others = [f"{s}.{n}" for s, n in readers if (s, n) not in ours]
    if others:
        them = ", ".join(others)
        raise ViewInUse(
            f"views: {why}, and {them} {'reads' if len(others) == 1 else 'read'} it: "
            f"save the definition of {them} (pg_get_viewdef), drop it, run `callhouse views`, then create it again"
        )
    try:
        for reader in readers:
            _stand_in(cursor, *reader)
        cursor.execute(f"drop view {_quoted(schema, name)}")
    except psycopg2.errors.LockNotAvailable:
        raise  # a lock wait, not a dependency: the session names who holds it
    except psycopg2.Error as exc:  # something other than a view depends on it (a function, a rule)
        raise ViewInUse(f"views: {why}, and it cannot be dropped: {one_line(exc.pgerror or exc, 300)}") from None


def _stand_in(cursor: psycopg2.extensions.cursor, schema: str, name: str) -> None:
    """The view replaced in place by one with the same columns and no rows, reading nothing."""
    cursor.execute(_COLUMNS, [_quoted(schema, name)])
    columns = ", ".join(f"cast(null as {kind}) as {_identifier(column)}" for column, kind in cursor.fetchall())
    cursor.execute(f"create or replace view {_quoted(schema, name)} as select {columns} where false")
