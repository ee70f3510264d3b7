"""The package's import graph, read from the source: no cycles, shared vocabulary imported downward, no plugin
imports another plugin. Function-local imports count: a cycle hidden in a function is still a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pipeline

ROOT = Path(pipeline.__file__).resolve().parent

# Folders whose modules are plugins listed in an explicit registry; the helpers beside them are not plugins.
PLUGIN_FOLDERS = {
    "pipeline.operators": {"base", "registry", "columnar", "ip_address", "ip_special"},
    "pipeline.privacy": {"base", "registry"},
    "pipeline.hierarchies": {"base", "registry"},
    "pipeline.text_pii.recognizers": {"registry", "checksum", "direct"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py")}


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules `path` imports anywhere in its body (top level, functions, TYPE_CHECKING blocks)."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative import
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def package_of(module: str) -> str:
    return module.rpartition(".")[0]


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_cycle_finder_sees_a_cycle_through_a_function_local_import():
    # the finder itself must be able to fail: two modules importing each other, one of them inside a function
    edges = {"pipeline.a": {"pipeline.b"}, "pipeline.b": {"pipeline.a"}, "pipeline.c": {"pipeline.a"}}
    assert cycles(edges) == [["pipeline.a", "pipeline.b"]]
    assert "pipeline.resilience.startup" in graph()["pipeline.broker"]


def test_shared_vocabulary_imports_nothing_above_it():
    edges = graph()
    for module, targets in edges.items():
        if module.startswith("pipeline.common"):
            assert {t for t in targets if not t.startswith("pipeline.common")} == set(), module


@pytest.mark.parametrize("folder", sorted(PLUGIN_FOLDERS))
def test_no_plugin_imports_another_plugin(folder):
    edges = graph()
    helpers = {f"{folder}.{h}" for h in PLUGIN_FOLDERS[folder]} | {folder}
    plugins = {m for m in edges if package_of(m) == folder and m not in helpers}
    assert plugins, f"no plugins found in {folder}"
    for plugin in plugins:
        assert edges[plugin] & plugins == set(), f"{plugin} imports {edges[plugin] & plugins}"
