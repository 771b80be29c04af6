"""Interpreters with another DuckDB release, for `python -m bench --duckdb-versions 2.0.0`.

Each is a venv under bench/.venvs/ (git-ignored), built once from requirements.lock with only the
`duckdb` pin changed, so callhouse runs the same code with the same dlt, pyarrow and Python against
that DuckDB. The lock's DuckDB CLI and extension wheels are left out: they are released per DuckDB
version (there are none for 2.0) and require their own DuckDB; the benchmarked paths use neither.
Building downloads from the package index (PyPI) once; the pipeline itself never downloads.
callhouse is not installed into these venvs: the benchmark runs it from the repository
(`python -m pipelines.cli` with the repository as the working folder and on PYTHONPATH).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib.metadata import version as installed_version
from pathlib import Path

from bench.harness import REPO

VENVS = Path(__file__).resolve().parent / ".venvs"
LOCK = REPO / "requirements.lock"
# Released per DuckDB version and requiring that version: not part of another version's venv.
PER_VERSION = re.compile(r"^duckdb-(cli|extension-[a-z0-9_-]+)==", re.I)


def pinned() -> str:
    """The DuckDB this interpreter (the project's venv) has: the baseline of the comparison."""
    return installed_version("duckdb")


def requirements(duckdb_version: str, lock: str | None = None) -> str:
    """requirements.lock with `duckdb` pinned to `duckdb_version` and the per-version DuckDB
    packages dropped; every other pin as locked."""
    lock = LOCK.read_text() if lock is None else lock
    lines, found = [], False
    for line in lock.splitlines():
        if line.startswith("duckdb=="):
            line, found = f"duckdb=={duckdb_version}", True
        elif PER_VERSION.match(line):
            continue
        lines.append(line)
    if not found:
        raise ValueError("requirements.lock pins no duckdb==")
    return "\n".join(lines) + "\n"


def interpreter(duckdb_version: str, log: Callable[[str], None]) -> Path:
    """The Python of the venv for `duckdb_version`, built on first use (or when the lock changed)."""
    venv = VENVS / f"duckdb-{duckdb_version}"
    python = venv / "bin" / "python"
    wanted = requirements(duckdb_version)
    marker = venv / "requirements.txt"  # written last: its presence means the install finished
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    log(f"bench: building {venv.relative_to(REPO)} (requirements.lock with duckdb=={duckdb_version}; once)")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    wanted_file = venv / "requirements.in"
    wanted_file.write_text(wanted)
    # This venv's pip installs into the new one (--python): the new venv needs no pip of its own.
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--disable-pip-version-check"]
        + ["-r", str(wanted_file)],
        capture_output=True,
        text=True,
    )
    if install.returncode != 0:
        raise RuntimeError(f"installing duckdb=={duckdb_version} into {venv} failed: {install.stderr.strip()[-1000:]}")
    got = subprocess.run([str(python), "-c", "import duckdb; print(duckdb.__version__)"], capture_output=True, text=True)
    if got.stdout.strip() != duckdb_version:
        raise RuntimeError(f"{python} has duckdb {got.stdout.strip() or got.stderr.strip()[-300:]}, not {duckdb_version}")
    marker.write_text(wanted)
    return python
