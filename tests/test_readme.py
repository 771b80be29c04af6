"""The README's instructions for opening the warehouse, run as written.

The commands are read from the README's block marked for this test (edit the README and the test
follows it) and run from a folder holding a warehouse that the real `callhouse` wrote at the default
path. `.venv/bin/X` is X of the environment running the tests (`make test`: the project's .venv,
installed from requirements.lock). The DuckDB CLI must be there: a missing one fails, never skips.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import duckdb

from tests.conftest import REPO, TEST_NOW

README = REPO / "README.md"
MARKER = "<!-- tests/test_readme.py runs the commands of the next block as written -->"
VENV_BIN = Path(sys.executable).parent
# What the test types into the README's interactive shell.
SHELL_QUERY = "select vendor, count(*) as calls from reporting.calls group by all order by vendor;\n"
VENDORS = ("cinnox", "bandwidth", "genesys")


def marked_block(marker: str) -> str:
    """The text of the README's fenced block that follows `marker` (other tests run theirs too)."""
    text = README.read_text()
    assert marker in text, f"README.md lost the block marked {marker!r}"
    block = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M).search(text, text.index(marker))
    assert block, f"no fenced block after {marker!r} in README.md"
    return block.group(1)


def readme_commands() -> list[list[str]]:
    """Each line of the marked block as an argv (shell quoting and `#` comments as sh reads them)."""
    commands = [shlex.split(line, comments=True) for line in marked_block(MARKER).splitlines()]
    return [argv for argv in commands if argv]


def local(argv: list[str]) -> list[str]:
    program = argv[0]
    assert program.startswith(".venv/bin/"), f"README command does not run from the project's venv: {shlex.join(argv)}"
    return [str(VENV_BIN / program.removeprefix(".venv/bin/")), *argv[1:]]


def vendor_counts(output: str) -> dict[str, int]:
    """vendor -> count from a table printed by the CLI or by `.show()`: the first number after a
    vendor's name on its line."""
    counts = {}
    for line in output.splitlines():
        found = re.search(rf"\b({'|'.join(VENDORS)})\b\D*?(\d+)", line)
        if found:
            counts[found[1]] = int(found[2])
    return counts


def test_the_readme_commands_open_the_warehouse_read_only_and_read_what_python_reads(make_sandbox, cli):
    cli = cli(make_sandbox())
    day = TEST_NOW.start_of("day")
    default_path = {"CALLHOUSE_WAREHOUSE": ""}  # the default warehouse/calls.duckdb, from the work folder
    for args in (
        ("backfill", "--source", "cinnox", "--start", day.subtract(days=1).to_date_string(), "--end", day.to_date_string()),
        ("views",),
    ):
        result = cli(*args, env=default_path)
        assert result.returncode == 0, result.output
    assert cli.warehouse == cli.workdir / "warehouse" / "calls.duckdb" and cli.warehouse.exists()
    con = duckdb.connect(str(cli.warehouse), read_only=True)
    try:
        expected = dict(con.execute("select vendor, count(*) from reporting.calls group by all").fetchall())
    finally:
        con.close()
    assert expected.get("cinnox", 0) > 100

    shell = VENV_BIN / "duckdb"
    assert shell.is_file(), f"{shell} is missing: the DuckDB CLI (duckdb-cli in requirements.lock) is not installed"
    version = subprocess.run([str(shell), "-version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0, version.stderr
    assert version.stdout.split()[0] == f"v{duckdb.__version__}", version.stdout

    commands = readme_commands()
    programs = [Path(argv[0]).name for argv in commands]
    assert "duckdb" in programs and "python" in programs, commands
    for program, argv in zip(programs, commands):
        if program == "duckdb":
            assert "-readonly" in argv, f"the README opens the warehouse read-write: {shlex.join(argv)}"
        interactive = "-c" not in argv  # the shell: the test types a query into it
        run = subprocess.run(
            local(argv),
            cwd=cli.workdir,
            input=SHELL_QUERY if interactive else None,
            stdin=None if interactive else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, f"{shlex.join(argv)}\n{run.stdout}{run.stderr}"
        assert vendor_counts(run.stdout) == expected, f"{shlex.join(argv)}\n{run.stdout}"
