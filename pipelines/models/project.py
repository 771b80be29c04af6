"""The SQL project under `sql/`: one view per `.sql` file, a YAML beside each, in build order.

Layers are folders and schemas: `sql/staging` (one view per raw table: rename, cast),
`sql/intermediate` (per-vendor shaping), `sql/reporting` (what analysts query). Each `.sql` file is
one SELECT, the view is named after the file, and the order comes from the `schema.view` names
each file references. The YAML documents the view and declares its data tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from pipelines.errors import CallhouseError
from pipelines.models.generated import GENERATED
from pipelines.warehouse.layout import OPS_SCHEMA, RAW_SCHEMAS, VIEW_LAYERS

# A mapping as yaml.safe_load gives it (sql/**/*.yml, dbt's layout): its shape is the file's.
YamlMapping = dict[str, Any]

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
LAYERS = VIEW_LAYERS
SETTINGS_VIEW = ("staging", "reporting_settings")
COMMITTED_LOADS_VIEW = ("staging", "committed_loads")
VENDORS_VIEW = ("staging", "vendors")
# Views callhouse writes itself (models/dialects.py), from settings and the vendor registry: a YAML
# documents each, and there is no .sql file.
GENERATED_VIEWS = frozenset({SETTINGS_VIEW, COMMITTED_LOADS_VIEW, VENDORS_VIEW})

_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_STRING = re.compile(r"'(?:[^']|'')*'")
# Tables staging views read: the vendors' raw tables and callhouse's own (callhouse.loaded_ranges).
SOURCE_SCHEMAS = RAW_SCHEMAS + (OPS_SCHEMA,)
_REF = re.compile(r"\b(" + "|".join(LAYERS + SOURCE_SCHEMAS) + r")\s*\.\s*([a-z_][a-z0-9_]*)\b", re.I)


class ViewBuildError(CallhouseError):
    """sql/ could not be read or a view did not build: names the file and the error (exit 1)."""


@dataclass
class Model:
    schema: str
    name: str
    sql_path: Path | None
    yaml_path: Path | None
    sql: str = ""
    spec: YamlMapping = field(default_factory=dict)

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
        return {r for r in self.refs if r[0] in SOURCE_SCHEMAS}

    @property
    def columns(self) -> list[YamlMapping]:
        return list(self.spec.get("columns") or [])


def read_yaml(path: Path) -> YamlMapping:
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ViewBuildError(f"views: {path}: not valid YAML: {' '.join(str(exc).split())}") from None
    return doc


def _model_spec(path: Path, name: str) -> YamlMapping:
    doc = read_yaml(path)
    specs: list[YamlMapping] = doc.get("models") or []
    for spec in specs:
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
            if model.sql_path is not None:
                model.sql = model.sql_path.read_text()
            elif (layer, name) in GENERATED:
                model.sql = GENERATED[(layer, name)]()  # rows from the vendor registry (generated.py)
            elif (layer, name) not in GENERATED_VIEWS:  # written at build time (models/dialects.py)
                raise ViewBuildError(f"views: {yaml_path}: no {name}.sql beside it")
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
