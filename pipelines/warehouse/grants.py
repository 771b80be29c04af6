"""Read access for the roles of `REPORTING__READERS`, granted again at every view build.

PostgreSQL keeps a grant on a view for as long as the view lives; a build that had to drop one
would lose it, and a view new in sql/ would have none, so every build grants them all again
(granting twice is harmless). A DuckLake reads its catalog's tables for every query, including
the inlined-data tables later loads create: those are covered by default privileges of the role
that loads (the catalog URL's user), which is the role that creates them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pipelines.errors import CallhouseError, UsageError, one_line
from pipelines.settings import setting_name

if TYPE_CHECKING:
    import psycopg2.extensions

READERS_SETTING = setting_name("reporting", "readers")


def check_roles(cursor: psycopg2.extensions.cursor, roles: Iterable[str], where: str) -> None:
    """Every role exists on the server, else one line naming the first that does not (exit 2)."""
    roles = list(roles)
    cursor.execute("select rolname from pg_roles where rolname = any(%s)", [roles])
    found = {name for (name,) in cursor.fetchall()}
    for role in roles:
        if role not in found:
            raise UsageError(
                f"{READERS_SETTING}: role {role!r} does not exist in {where}: create it (create role {role} login) "
                "or take it out of the setting"
            )


def grant_views(cursor: psycopg2.extensions.cursor, roles: Iterable[str], schemas: Iterable[str], views: Iterable[str]) -> None:
    """USAGE on the schemas and SELECT on each view (`schema.name`), inside the caller's transaction."""
    from psycopg2 import sql

    grantees = sql.SQL(", ").join(sql.Identifier(role) for role in roles)
    cursor.execute(
        sql.SQL("grant usage on schema {} to {}").format(
            sql.SQL(", ").join(sql.Identifier(schema) for schema in schemas), grantees
        )
    )
    relations = sql.SQL(", ").join(sql.Identifier(*view.split(".", 1)) for view in views)
    cursor.execute(sql.SQL("grant select on {} to {}").format(relations, grantees))


def grant_catalog(catalog_url: str, schema: str, roles: Iterable[str], where: str) -> None:
    """A DuckLake's PostgreSQL catalog readable by the roles: USAGE on its metadata schema, SELECT
    on its tables now and on those the loading role creates later. One transaction."""
    import psycopg2
    from psycopg2 import sql

    roles = list(roles)
    try:
        session = psycopg2.connect(catalog_url, application_name="callhouse views")
    except psycopg2.Error as exc:
        raise CallhouseError(f"{where}: the catalog refused the connection: {one_line(exc, 300)}") from None
    try:
        with session, session.cursor() as cursor:
            check_roles(cursor, roles, where)
            grantees = sql.SQL(", ").join(sql.Identifier(role) for role in roles)
            metadata = sql.Identifier(schema)
            cursor.execute("select current_user")
            (loader,) = cursor.fetchall()[0]
            for statement in (
                "grant usage on schema {schema} to {roles}",
                "grant select on all tables in schema {schema} to {roles}",
                "alter default privileges for role {loader} in schema {schema} grant select on tables to {roles}",
            ):
                cursor.execute(sql.SQL(statement).format(schema=metadata, roles=grantees, loader=sql.Identifier(loader)))
    except psycopg2.Error as exc:
        raise CallhouseError(f"{READERS_SETTING}: cannot grant read access on {where}: {one_line(exc, 300)}") from None
    finally:
        session.close()
