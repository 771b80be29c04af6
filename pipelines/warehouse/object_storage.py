"""A DuckLake's data in an object store (S3 or an S3-compatible server): dlt's storage settings
become the one DuckDB secret that every session callhouse opens on the lake uses.

The settings are dlt's own, read where dlt reads them for its load
(`DESTINATION__DUCKLAKE__CREDENTIALS__STORAGE__CREDENTIALS__AWS_ACCESS_KEY_ID`, `__AWS_SECRET_ACCESS_KEY`,
`__ENDPOINT_URL`, `__REGION_NAME`, `__S3_URL_STYLE`), and the secret is the one dlt's DuckDB client
builds from them: callhouse's reads and dlt's writes reach the same endpoint with the same keys.
The keys are registered as secrets at once, so no error line a library prints can carry them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import duckdb

from pipelines.errors import UsageError, one_line, register_secret

STORAGE_SECTIONS = ("destination", "ducklake", "credentials", "storage")
SECRET_NAME = "callhouse_lake_storage"
# The fields of dlt's credentials that are secrets, on every store dlt knows.
_SECRET_FIELDS = (
    "aws_secret_access_key",
    "aws_session_token",
    "azure_storage_account_key",
    "azure_storage_sas_token",
    "private_key",
)


def is_remote(storage: str) -> bool:
    """A URL with a scheme (s3://, gs://, az://) rather than a local folder (kept as a path)."""
    return bool(urlsplit(storage).scheme) and urlsplit(storage).scheme != "file"


def storage_configuration(storage: str) -> Any:
    """dlt's FilesystemConfiguration of the lake's data path, its credentials resolved from the
    settings; the secret parts registered to be redacted."""
    from dlt.common.configuration import resolve_configuration
    from dlt.common.configuration.exceptions import ConfigurationException
    from dlt.common.storages.configuration import FilesystemConfigurationWithLocalFiles

    try:
        config = resolve_configuration(FilesystemConfigurationWithLocalFiles(bucket_url=storage), sections=STORAGE_SECTIONS)
    except ConfigurationException as exc:
        raise UsageError(f"DESTINATION__DUCKLAKE__CREDENTIALS__STORAGE ({storage}): {one_line(exc, 300)}") from None
    for field in _SECRET_FIELDS:
        value = getattr(config.credentials, field, None)
        if value:
            register_secret(str(value))
    return config


def secret_statements(storage: str) -> list[str]:
    """The CREATE SECRET (TYPE s3, KEY_ID, SECRET, REGION, ENDPOINT, URL_STYLE, USE_SSL) for the
    data path, scoped to it; [] for a local folder."""
    if not is_remote(storage):
        return []
    from dlt.destinations.impl.duckdb.sql_client import DuckDbSqlClient

    config = storage_configuration(storage)
    statements = DuckDbSqlClient._build_secret_statements(config.bucket_url, config.credentials, SECRET_NAME, "", False)
    if not statements:
        scheme = urlsplit(storage).scheme
        raise UsageError(
            f"DESTINATION__DUCKLAKE__CREDENTIALS__STORAGE: DuckDB cannot read {scheme}:// with the credentials given"
        )
    return statements


def use_storage(con: duckdb.DuckDBPyConnection, storage: str) -> None:
    """Gives the session the lake's storage credentials (in memory only, never persisted)."""
    for statement in secret_statements(storage):
        con.execute(statement)
