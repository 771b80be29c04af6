"""The dlt schemas kept in `schemas/`: what each source really creates, so type changes are reviewed.

`python -m pipelines.commands.schemas` loads one day of every source from a throwaway sandbox into a
throwaway warehouse and writes `schemas/<source>.schema.yaml` from dlt's own schemas (tables,
columns, types, keys, nullability; no version hashes or timestamps, so diffs show only real
changes). A test runs the same load and fails when the files and the code disagree.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from dlt.common.schema import Schema

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
COLUMN_KEYS = ("data_type", "nullable", "primary_key", "merge_key", "unique", "precision", "scale", "timezone")


def schema_summary(schema: Schema) -> dict[str, object]:
    """The reviewed part of a dlt schema: user tables with their columns' types and keys."""
    tables: dict[str, object] = {}
    for name, table in sorted(schema.tables.items()):
        if name.startswith("_dlt"):
            continue
        columns = {}
        for column_name, column in table.get("columns", {}).items():
            if "data_type" not in column:
                continue  # a hint for a column no row has filled yet
            hints: Mapping[str, object] = column
            columns[column_name] = {k: hints[k] for k in COLUMN_KEYS if hints.get(k) not in (None, False) or k == "nullable"}
        tables[name] = {"write_disposition": table.get("write_disposition"), "columns": columns}
    return {"name": schema.name, "tables": tables}


def load_reference_warehouse(workdir: Path) -> Path:
    """One day of every source from a fresh sandbox, through the real command line."""
    import subprocess

    import pendulum

    from pipelines.sandbox import Sandbox, SandboxConfig
    from pipelines.sandbox.config import rate_limit_fields, set_fields
    from pipelines.sources.registry import VENDORS

    now = pendulum.datetime(2026, 11, 20, 6, tz="UTC")
    # A fifth of each vendor's default volume, at least 40 a day: few records make a quick load,
    # and a sparse vendor (Genesys' dialogs) still shows its rarer fields.
    config = SandboxConfig(seed=11, now=now, history_days=5)
    volumes = {f.name: max(getattr(config, f.name) // 5, 40) for f in dataclasses.fields(config) if f.name.endswith("_per_day")}
    set_fields(config, {**volumes, **dict.fromkeys(rate_limit_fields())})
    sandbox = Sandbox(config).start()
    warehouse = workdir / "warehouse" / "calls.duckdb"
    env = {
        **os.environ,
        **sandbox.env(),
        "CALLHOUSE_WAREHOUSE": str(warehouse),
        "CALLHOUSE_NOW": now.isoformat(),
        **{k: v for vendor in VENDORS for k, v in vendor.sandbox_settings().items()},
    }
    try:
        day = now.start_of("day").subtract(days=1)
        result = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "backfill", "--start", day.to_date_string(), "--end", now.to_date_string()],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"reference load failed: {result.stderr.strip()}")
    finally:
        sandbox.stop()
    return warehouse


def live_summaries(warehouse: Path) -> dict[str, dict[str, object]]:
    import dlt

    from pipelines.sources.registry import VENDORS
    from pipelines.warehouse.duckdb_file import DuckDBFile

    pipelines_dir = DuckDBFile(warehouse).pipelines_dir
    return {
        v.name: schema_summary(dlt.attach(pipeline_name=v.pipeline_name, pipelines_dir=str(pipelines_dir)).default_schema)
        for v in VENDORS
    }


def render(summary: dict[str, object]) -> str:
    header = "# dlt schema of this source as loaded (types, keys). Regenerate with `make schemas`; review the diff.\n"
    return header + yaml.safe_dump(summary, sort_keys=False, allow_unicode=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on a difference")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        summaries = live_summaries(load_reference_warehouse(Path(tmp)))
    differ = []
    for name, summary in summaries.items():
        path = SCHEMA_DIR / f"{name}.schema.yaml"
        text = render(summary)
        if args.check:
            if not path.exists() or path.read_text() != text:
                differ.append(path.name)
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(SCHEMA_DIR.parent)}")
    if differ:
        print(f"schemas differ from the code: {', '.join(differ)} (run `make schemas` and review the diff)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
