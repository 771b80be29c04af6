"""DuckDB extensions from pinned wheels, never from the network.

The wheels `duckdb-extension-ducklake`, `-postgres`, `-httpfs` and `-sqlite-scanner` carry the extension files
of one DuckDB version. DuckDB looks for `<extension_directory>/v<version>/<platform>/<name>
.duckdb_extension`, and the PostgreSQL one must be named `postgres_scanner` there (its wheel names
it `postgres`), so callhouse builds that folder of links once and points every connection at it
with automatic installs off: a missing extension is an error naming the wheel, never a download.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from pathlib import Path
from typing import cast

import duckdb

from pipelines.errors import UsageError

# DuckDB's name for each extension -> the wheel's package that carries it.
# httpfs reads and writes a lake's data in an object store (s3://, and the S3 API of others);
# sqlite_scanner keeps a lake's catalog in a SQLite file (`sqlite:` catalogs).
WHEELS = {
    "ducklake": "duckdb_extension_ducklake",
    "postgres_scanner": "duckdb_extension_postgres",
    "httpfs": "duckdb_extension_httpfs",
    "sqlite_scanner": "duckdb_extension_sqlite_scanner",
}


def extension_directory() -> Path:
    """The folder DuckDB loads extensions from: inside this environment, beside its packages."""
    return Path(os.environ.get("CALLHOUSE_EXTENSION_DIR") or Path(sys.prefix) / "share" / "callhouse" / "duckdb_extensions")


def duckdb_config() -> dict[str, str | bool | int | float | list[str]]:
    """What every connection that may load an extension is opened with."""
    folder = _prepared(extension_directory())
    return {"extension_directory": str(folder), "autoinstall_known_extensions": False, "autoload_known_extensions": True}


@functools.cache
def _prepared(folder: Path) -> Path:
    """The folder with a link per extension, made on first use (idempotent); checked once per
    folder and process, since every session would otherwise open a DuckDB of its own for it."""
    version = duckdb.__version__
    con = duckdb.connect()
    try:
        platform = con.execute("pragma platform").fetchall()[0][0]
    finally:
        con.close()
    target = folder / f"v{version}" / platform
    for name, package in WHEELS.items():
        link = target / f"{name}.duckdb_extension"
        if link.exists():
            continue
        source = _wheel_file(package, version)
        target.mkdir(parents=True, exist_ok=True)
        temporary = link.with_name(f".{link.name}.{os.getpid()}")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(source)
        temporary.replace(link)  # atomic: two processes preparing at once both end with one link
    return folder


def _wheel_file(package: str, version: str) -> Path:
    wheel = f"{package.replace('_', '-')}=={version}"
    try:
        module = importlib.import_module(package)
    except ImportError:
        raise UsageError(
            f"DuckLake needs the DuckDB extension wheel {wheel}: install it (`make` installs it from requirements.lock)"
        ) from None
    files = sorted(Path(cast(str, module.__file__)).parent.glob(f"extensions/v{version}/*.duckdb_extension"))
    if not files:
        raise UsageError(
            f"the installed {package.replace('_', '-')} carries no extension for DuckDB {version}: install {wheel} (requirements.lock)"
        )
    return files[0]
