"""A full disk and a read-only folder: one line naming the cause and the path, no traceback.

The warehouse folder is a small tmpfs mounted in a private mount namespace of the command alone
(`unshare --user --map-root-user --mount`: no root needed, nothing changes for the rest of the
machine), so the disk really fills and the folder really refuses writes.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import Cli

START, MIDDLE, END = "2026-11-10", "2026-11-11", "2026-11-14"


def in_small_folder(cli: Cli, size: str, script: str, read_only: bool = False) -> subprocess.CompletedProcess:
    """Runs a shell `script` (with $PY the interpreter) with the warehouse folder on a tmpfs of
    `size`; `remount_ro` in the script makes the folder read-only."""
    folder = cli.warehouse.parent
    folder.mkdir(parents=True, exist_ok=True)
    mount = f"mount -t tmpfs -o size={size}{',ro' if read_only else ''} tmpfs {folder}"
    env = cli.full_env({"PY": __import__("sys").executable, "DIR": str(folder)})
    return subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", f"{mount} && {script}"],
        cwd=cli.workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def failure_lines(stderr: str) -> list[str]:
    """Everything but the per-window progress lines."""
    return [line for line in stderr.splitlines() if line and " window " not in line]


@pytest.fixture
def sandbox(make_sandbox):
    return make_sandbox(cinnox_calls_per_day=3000)


@pytest.mark.parametrize("size", ["2m", "6m"])  # full while extracting to dlt's files / while DuckDB commits
def test_a_full_disk_is_one_line_naming_it_and_status_still_answers(sandbox, cli, size):
    run = cli(sandbox)
    backfill = f"$PY -m pipelines.cli backfill --source cinnox --start {START} --end {END}"
    result = in_small_folder(run, size, f'{backfill}; echo "exit $?"; $PY -m pipelines.cli status; echo "status exit $?"')
    assert "Traceback" not in result.stderr and "[ERROR]" not in result.stderr, result.stderr[-3000:]
    lines = failure_lines(result.stderr)
    assert len(lines) == 1, lines
    assert lines[0].startswith("cinnox: FAILED: disk full (no space left on device): "), lines
    assert str(run.warehouse.parent) in lines[0]
    assert "exit 1" in result.stdout
    assert "status exit 0" in result.stdout
    assert "failed" in result.stdout and "(disk full (no space left on device)" in result.stdout, result.stdout


def test_a_read_only_folder_is_one_line_naming_it(sandbox, cli):
    run = cli(sandbox)
    result = in_small_folder(
        run, "4m", f'$PY -m pipelines.cli backfill --source cinnox --start {START} --end {MIDDLE}; echo "exit $?"', read_only=True
    )
    assert result.stderr.splitlines() == [f"callhouse: read-only file system: {run.warehouse}.lock"], result.stderr
    assert result.stdout.strip() == "exit 1"


def test_a_warehouse_on_a_folder_made_read_only_is_read_but_not_loaded(sandbox, cli):
    run = cli(sandbox)
    script = (
        f"$PY -m pipelines.cli backfill --source cinnox --start {START} --end {MIDDLE} 2>/dev/null && $PY -m pipelines.cli views >/dev/null"
        ' && mount -o remount,ro "$DIR"'
        ' && $PY -m pipelines.cli status >/dev/null && echo "status ok"'
        ' && $PY -m pipelines.cli check >/dev/null; echo "check exit $?"'
        f'; $PY -m pipelines.cli backfill --source cinnox --start {MIDDLE} --end {END}; echo "backfill exit $?"'
    )
    result = in_small_folder(run, "200m", script)
    assert result.stdout.splitlines() == ["status ok", "check exit 0", "backfill exit 1"], (result.stdout, result.stderr)
    assert result.stderr.splitlines() == [f"callhouse: read-only file system: {run.warehouse}.lock"], result.stderr
