"""The package layout the architecture promises, read from the imports of every module
(those inside functions too): no import circles, and the product never imports the tooling."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "services"
PRODUCT, TOOLING = "rdv", "rdv_tools"


def modules() -> dict[str, Path]:
    found = {}
    for path in SERVICES.rglob("*.py"):
        parts = path.relative_to(SERVICES).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The project modules `name` imports: `from a import b` counts as a.b when b is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                target = f"{base}.{alias.name}"
                if target in known:
                    yield target
                elif base in known:
                    yield base


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: set(imports(name, path, known)) - {name} for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_module_imports_itself_through_others() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_product_never_imports_the_tooling() -> None:
    offending = {
        (name, target)
        for name, targets in graph().items()
        if name.split(".")[0] == PRODUCT
        for target in targets
        if target.split(".")[0] == TOOLING
    }
    assert offending == set()


def test_both_halves_are_there() -> None:
    tops = {name.split(".")[0] for name in graph()}
    assert {PRODUCT, TOOLING} <= tops


def test_the_services_never_import_each_other() -> None:
    services = ("rdv.worker", "rdv.decoy", "rdv.rendezvous")

    def service_of(module: str) -> str | None:
        return next((s for s in services if module == s or module.startswith(s + ".")), None)

    crossing = {
        (name, target)
        for name, targets in graph().items()
        for target in targets
        if service_of(name) and service_of(target) and service_of(name) != service_of(target)
    }
    assert crossing == set()


def imported_names(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_in_the_product_only_the_trainer_imports_spark() -> None:
    spark_users = {
        name
        for name, path in modules().items()
        if name.split(".")[0] == PRODUCT
        and any(n.split(".")[0] == "pyspark" for n in imported_names(path))
    }
    assert spark_users and all(n.startswith("rdv.trainer.") for n in spark_users), spark_users
