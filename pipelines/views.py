"""Builds `sql/` into the warehouse as views; the data tests live in `pipelines/checks.py`.

Layers are folders and schemas: `sql/staging` (one view per raw table: rename, cast),
`sql/intermediate` (per-vendor shaping), `sql/reporting` (what analysts query). Each `.sql` file is
one SELECT, the view is named after the file, and the order comes from the `schema.view` names
each file references. A YAML beside each file documents the view and declares its tests.

Two things are not plain files:
- `staging.reporting_settings` (one row: `timezone`) is written from the dlt setting
  `reporting.timezone` (`REPORTING__TIMEZONE`, default UTC); day and hour buckets join to it.
- A staging view whose raw table is not loaded yet is built over no rows, typed from the
  `data_type` of the columns its YAML declares, so every later view builds for any set of sources.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TextIO

import yaml

from pipelines.errors import CallhouseError, UsageError
from pipelines.warehouse import Warehouse

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
LAYERS = ("staging", "intermediate", "reporting")
RAW_SCHEMAS = ("cinnox", "bandwidth", "genesys")
SETTINGS_VIEW = ("staging", "reporting_settings")

_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_STRING = re.compile(r"'(?:[^']|'')*'")
_REF = re.compile(r"\b(" + "|".join(LAYERS + RAW_SCHEMAS) + r")\s*\.\s*([a-z_][a-z0-9_]*)\b", re.I)


class ViewBuildError(CallhouseError):
    """A view did not build: names the file and the database's error (exit 1)."""


@dataclass
class Model:
    schema: str
    name: str
    sql_path: Path | None
    yaml_path: Path | None
    sql: str = ""
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def where(self) -> str:
        """The file to name in messages."""
        path = self.sql_path or self.yaml_path
        if path is None:
            return self.qualified
        # sql/<layer>/<file>, wherever the sql folder is
        return str(Path(path.parent.parent.name) / path.parent.name / path.name)

    @cached_property
    def refs(self) -> set[tuple[str, str]]:
        text = _STRING.sub("''", _COMMENT.sub(" ", self.sql))
        return {(s.lower(), n.lower()) for s, n in _REF.findall(text)}

    @property
    def model_refs(self) -> set[tuple[str, str]]:
        return {r for r in self.refs if r[0] in LAYERS}

    @property
    def raw_refs(self) -> set[tuple[str, str]]:
        return {r for r in self.refs if r[0] in RAW_SCHEMAS}

    @property
    def columns(self) -> list[dict[str, Any]]:
        return list(self.spec.get("columns") or [])


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ViewBuildError(f"views: {path}: not valid YAML: {' '.join(str(exc).split())}") from None
    return doc


def _model_spec(path: Path, name: str) -> dict[str, Any]:
    doc = _read_yaml(path)
    for spec in doc.get("models") or []:
        if spec.get("name") == name:
            return spec
    raise ViewBuildError(f"views: {path}: no entry `models: - name: {name}`")


def load_models(sql_dir: Path | None = None) -> list[Model]:
    """Every model under sql/, in build order (each after the views it references)."""
    sql_dir = sql_dir or SQL_DIR
    models: dict[tuple[str, str], Model] = {}
    for layer in LAYERS:
        folder = sql_dir / layer
        if not folder.is_dir():
            continue
        names = {p.stem for p in folder.glob("*.sql")} | {p.stem for p in folder.glob("*.yml")}
        for name in sorted(names):
            sql_path, yaml_path = folder / f"{name}.sql", folder / f"{name}.yml"
            model = Model(layer, name, sql_path if sql_path.exists() else None, yaml_path if yaml_path.exists() else None)
            if model.sql_path is None and (layer, name) != SETTINGS_VIEW:
                raise ViewBuildError(f"views: {yaml_path}: no {name}.sql beside it")
            if model.sql_path is not None:
                model.sql = model.sql_path.read_text()
            if layer != "staging" and model.raw_refs:
                raws = ", ".join(sorted(f"{s}.{n}" for s, n in model.raw_refs))
                raise ViewBuildError(f"views: {model.where}: only staging views read raw tables ({raws}); read staging.*")
            model.spec = _model_spec(yaml_path, name) if model.yaml_path else {}
            models[(layer, name)] = model
    return _in_dependency_order(models)


def _in_dependency_order(models: dict[tuple[str, str], Model]) -> list[Model]:
    ordered: list[Model] = []
    state: dict[tuple[str, str], str] = {}

    def visit(key: tuple[str, str], chain: list[str]) -> None:
        if state.get(key) == "done":
            return
        model = models[key]
        if state.get(key) == "visiting":
            raise ViewBuildError(f"views: {model.where}: circular reference {' -> '.join(chain + [model.qualified])}")
        state[key] = "visiting"
        for ref in sorted(model.model_refs):
            if ref == key:
                continue
            if ref not in models:
                raise ViewBuildError(f"views: {model.where}: references {ref[0]}.{ref[1]}, which no file in sql/ defines")
            visit(ref, chain + [model.qualified])
        state[key] = "done"
        ordered.append(model)

    # Settings first, then layer by layer so unrelated views keep a stable, readable order.
    for key in sorted(models, key=lambda k: (k != SETTINGS_VIEW, LAYERS.index(k[0]), k[1])):
        visit(key, [])
    return ordered


# --- settings ---------------------------------------------------------------------------------


def reporting_timezone() -> str:
    """`reporting.timezone` from dlt config (`REPORTING__TIMEZONE`), default UTC."""
    import dlt

    value = dlt.config.get("reporting.timezone")
    return str(value).strip() if value not in (None, "") else "UTC"


def _check_timezone(con: Any, zone: str) -> None:
    try:
        con.execute("select timezone(?, timestamptz '2000-01-01 00:00:00+00')", [zone]).fetchone()
    except Exception:
        raise UsageError(f"REPORTING__TIMEZONE: unknown time zone {zone!r} (use an IANA name such as UTC or America/New_York)") from None


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def settings_sql(zone: str) -> str:
    return f"select {_quote(zone)}::varchar as timezone"


# --- building ---------------------------------------------------------------------------------


def existing_tables(con: Any) -> set[tuple[str, str]]:
    rows = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
    return {(s.lower(), n.lower()) for s, n in rows}


def stub_sql(model: Model) -> str:
    """No rows, typed as the YAML declares: a staging view whose raw table is not loaded yet."""
    columns = model.columns
    untyped = [c.get("name") for c in columns if not c.get("data_type")]
    if not columns or untyped:
        raise ViewBuildError(f"views: {model.where}: raw table missing and the YAML does not declare data_type for "
                             f"{', '.join(map(str, untyped)) or 'any column'}")
    select = ", ".join(f"cast(null as {c['data_type']}) as {c['name']}" for c in columns)
    return f"select {select} where false"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())[:400]


def build_views(warehouse: Warehouse, out: TextIO, sql_dir: Path | None = None) -> list[str]:
    """(Re)create every view from sql/ in one transaction: all build, or none changes."""
    models = load_models(sql_dir)
    zone = reporting_timezone()
    built: list[str] = []
    stubbed: list[tuple[Model, list[str]]] = []
    with warehouse.writer_lock("views"):
        con = warehouse.connect()
        try:
            _check_timezone(con, zone)
            tables = existing_tables(con)
            con.execute("begin")
            try:
                for layer in LAYERS:
                    con.execute(f"create schema if not exists {layer}")
                wanted = {(m.schema, m.name) for m in models}
                for schema, name in con.execute(
                    "select schema_name, view_name from duckdb_views() "
                    "where not internal and database_name = current_database() and schema_name in (?, ?, ?)",
                    list(LAYERS),
                ).fetchall():
                    if (schema, name) not in wanted:
                        con.execute(f'drop view "{schema}"."{name}"')
                for model in models:
                    if (model.schema, model.name) == SETTINGS_VIEW:
                        body = settings_sql(zone)
                    else:
                        missing = sorted(f"{s}.{n}" for s, n in model.raw_refs if (s, n) not in tables)
                        if missing:
                            stubbed.append((model, missing))
                        body = stub_sql(model) if missing else model.sql.strip().rstrip(";")
                    try:
                        con.execute(f"create or replace view {model.schema}.{model.name} as\n{body}")
                    except Exception as exc:
                        raise ViewBuildError(f"views: {model.where}: {_one_line(exc)}") from None
                    built.append(model.qualified)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        finally:
            con.close()
    for model, missing in stubbed:
        out.write(f"views: {model.qualified} is empty: {', '.join(missing)} not loaded yet\n")
    out.write(f"views: built {len(built)} views (staging, intermediate, reporting); timezone {zone}\n")
    out.flush()
    return built


def run_checks(warehouse: Warehouse, out: TextIO, sql_dir: Path | None = None) -> int:
    from pipelines.checks import run_checks as _run

    return _run(warehouse, out, sql_dir)
