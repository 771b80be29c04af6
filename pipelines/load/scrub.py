"""No secret in dlt's working folder of a source, whatever its load went through.

dlt keeps what a load went through on disk: the exception of every failed try of a job
(`load/<stage>/<id>/.exceptions/*.exception`, `failed_jobs/*.exception`) and the last run's trace
(`trace.pickle`). After a catalog or database outage those hold DuckDB's error, which quotes the
catalog URL with its password; and loaded packages stay on disk, exceptions included
(LOAD__DELETE_COMPLETED_JOBS removes only their job files). So at the end of each source run
(under its source lock: no other process works in this pipeline's folder meanwhile):

- a package that loaded is deleted whole: its rows are in the warehouse, and nothing reads it again;
- any other file of dlt's bookkeeping holding a secret (a registered one, or a password by its
  shape) is rewritten with the secret masked, or deleted when it is not text (the pickled trace,
  which dlt writes anew after its next step and callhouse never reads).

The data files of pending jobs are left as they are: they hold the vendor's records (never the
warehouse's password), which a masking by shape could alter.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from dlt.common.storages.load_package import JOB_EXCEPTION_EXTENSION, PackageStorage
from dlt.common.storages.load_storage import LoadStorage

from pipelines.errors import redact_secrets

_JOB_FOLDERS = frozenset(
    {
        PackageStorage.NEW_JOBS_FOLDER,
        PackageStorage.STARTED_JOBS_FOLDER,
        PackageStorage.FAILED_JOBS_FOLDER,
        PackageStorage.COMPLETED_JOBS_FOLDER,
    }
)


def scrub_working_files(pipeline_dir: Path) -> None:
    """Deletes the loaded packages of one pipeline's folder and masks every secret left in it."""
    if not pipeline_dir.is_dir():
        return
    _delete_loaded_packages(pipeline_dir / "load" / LoadStorage.LOADED_FOLDER)
    for path in pipeline_dir.rglob("*"):
        if path.is_file() and not path.is_symlink() and not _is_job_data(path):
            _scrub_file(path)


def _delete_loaded_packages(loaded: Path) -> None:
    """Packages whose load completed (`package_completed.json` says `loaded`); an aborted one is
    kept for inspection (and scrubbed like any other file)."""
    if not loaded.is_dir():
        return
    for package in loaded.iterdir():
        try:
            status = (package / PackageStorage.PACKAGE_COMPLETED_FILE_NAME).read_text().strip()
        except OSError:
            continue
        if status == "loaded":
            shutil.rmtree(package, ignore_errors=True)


def _is_job_data(path: Path) -> bool:
    return path.parent.name in _JOB_FOLDERS and not path.name.endswith(JOB_EXCEPTION_EXTENSION)


def _scrub_file(path: Path) -> None:
    try:
        data = path.read_bytes()
    except OSError:
        return
    try:
        text = None if path.suffix == ".pickle" else data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None:
        # Not text (the pickled trace): its bytes as characters find a secret; masking would break it.
        as_characters = data.decode("latin-1")
        if redact_secrets(as_characters) != as_characters:
            path.unlink(missing_ok=True)
        return
    scrubbed = redact_secrets(text)
    if scrubbed == text:
        return
    temporary = path.with_name(f".{path.name}.scrubbed")
    try:
        temporary.write_text(scrubbed, encoding="utf-8")
        os.replace(temporary, path)  # never a half-written file in dlt's folders
    except OSError:  # a full disk: the file goes rather than keep the secret
        temporary.unlink(missing_ok=True)
        path.unlink(missing_ok=True)
