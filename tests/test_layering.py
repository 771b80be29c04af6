"""The package layers: data flows one way, so no module imports a layer above its own, and no
two modules import each other (directly or round a loop).

    errors, settings        foundation: any layer may use them
    fetch                   HTTP and records (no dlt state)
    privacy                 pseudonyms of personal values (before anything is written)
    extract                 the window walk every source runs, its ledger in dlt state
    sources                 one package per vendor, and the registry
    warehouse               the DuckDB file, its layout, lock and run log
    load                    runner
    models                  sql/ into views, the data tests
    report                  the HTML report page: queries of the reporting views, charts, layout
    notify                  the alert webhook (what a command did, posted as JSON)
    commands                what `callhouse` and the demo run
    api                     the same commands for Python callers, and each source as a plain dlt source
    orchestration           schedulers' views of the pipeline (Dagster assets), built on api
    cli                     argument parsing
    sandbox                 apart: imports nothing of the pipeline, and the pipeline only starts it
                            from commands (demo, schemas) and tests
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pipelines"
LAYERS = [
    "errors",
    "settings",
    "fetch",
    "privacy",
    "extract",
    "sources",
    "warehouse",
    "load",
    "models",
    "report",
    "notify",
    "commands",
    "api",
    "orchestration",
    "cli",
]
FOUNDATION = {"errors": 0, "settings": 0}  # one level: errors and settings may import each other's kind
# Modules of the fetch layer stay free of dlt's state and pipelines; dlt's naming convention
# (the warehouse's column names) is the one piece of dlt they use.
NO_DLT_EXCEPT = {"fetch": ("dlt.common.normalizers.naming",)}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module this file imports, at any depth (imports inside functions count too)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
IMPORTS = {name: {i for i in _imports(path)} for name, path in MODULES.items()}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "pipelines" else None


def _rank(layer: str) -> int:
    return FOUNDATION.get(layer, LAYERS.index(layer))


def _internal(imported: str) -> str | None:
    """The pipelines module an import names (a `from x import name` may name a module or a name)."""
    while imported:
        if imported in MODULES:
            return imported
        imported = imported.rpartition(".")[0]
    return None


def test_every_package_module_belongs_to_a_known_layer():
    layers = {_layer(m) for m in MODULES if m != "pipelines"}
    assert layers <= set(LAYERS) | {"sandbox"}, layers - set(LAYERS)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) in LAYERS))
def test_no_module_imports_a_layer_above_its_own(module):
    own = _rank(_layer(module))
    upward = sorted(
        target
        for target in {_internal(i) for i in IMPORTS[module]} - {None, module, "pipelines"}
        if _layer(target) in LAYERS and _rank(_layer(target)) > own
    )
    assert not upward, f"{module} ({_layer(module)}) imports from a higher layer: {upward}"


def test_the_sandbox_imports_nothing_of_the_pipeline():
    offending = {
        m: sorted(t for t in {_internal(i) for i in IMPORTS[m]} if t and _layer(t) != "sandbox" and t != "pipelines")
        for m in MODULES
        if _layer(m) == "sandbox"
    }
    assert not {m: t for m, t in offending.items() if t}


def test_only_commands_start_the_sandbox():
    users = sorted(
        m
        for m in MODULES
        if _layer(m) not in ("sandbox", "commands", "cli") and any(_layer(_internal(i) or "") == "sandbox" for i in IMPORTS[m])
    )
    assert not users


def test_fetch_modules_do_not_use_dlt_state_or_pipelines():
    for module in (m for m in MODULES if _layer(m) == "fetch"):
        dlt_imports = sorted(i for i in IMPORTS[module] if i == "dlt" or i.startswith("dlt."))
        allowed = NO_DLT_EXCEPT["fetch"]
        assert all(i.startswith(allowed) for i in dlt_imports), f"{module} imports {dlt_imports}"


def test_no_import_cycles():
    graph = {m: {t for t in (_internal(i) for i in IMPORTS[m]) if t and t != m and t != "pipelines"} for m in MODULES}
    # A package's __init__ importing its own modules is how packages work, not a cycle of logic.
    for module in graph:
        graph[module] = {t for t in graph[module] if not module.startswith(t + ".")}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
