"""The import graph shows the real structure: data flows corpora → indexer → retrieval → api, no module
imports a leian module inside a function (where a dependency would hide), and there is no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"leian": 0, "corpora": 1, "indexer": 2, "retrieval": 3, "api": 4}  # folder -> level
PACKAGE_OF = {"leian": "leian", "corpora": "leian.corpora", "indexer": "leian.indexer"}
PACKAGE_OF |= {"retrieval": "leian.retrieval", "api": "leian.api"}


def _modules() -> dict[str, Path]:
    out = {}
    for folder, package in PACKAGE_OF.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([package, *parts])] = path
    return out


MODULES = _modules()


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1]] if len(parts) > 1 and parts[1] in LAYERS else 0


def _imports(path: Path, module: str) -> tuple[set[str], list[str]]:
    """(leian modules imported at module level, leian imports inside functions as 'line: name')."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top: set[str] = set()
    local: list[str] = []
    is_package = path.name == "__init__.py"

    def targets(node) -> list[str]:
        if isinstance(node, ast.Import):
            return [a.name for a in node.names]
        base = node.module or ""
        if node.level:
            pkg = module.split(".") if is_package else module.split(".")[:-1]
            pkg = pkg[: len(pkg) - node.level + 1]
            base = ".".join([*pkg, base] if base else pkg)
        names = [f"{base}.{a.name}" for a in node.names]
        return [n if n in MODULES else base for n in names]

    def visit(node, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for name in targets(child):
                    if name.startswith("leian"):
                        (local.append(f"{child.lineno}: {name}") if in_function else top.add(name))
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(tree, False)
    return {t for t in top if t in MODULES or any(m.startswith(t + ".") for m in MODULES)}, local


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


GRAPH = {m: _imports(p, m) for m, p in MODULES.items()}


def test_no_leian_import_inside_a_function():
    hidden = {m: local for m, (_, local) in GRAPH.items() if local}
    assert not hidden, hidden


def test_nothing_imports_upwards():
    upward = {(m, t) for m, (top, _) in GRAPH.items() for t in top if _layer(t) > _layer(m) and t in MODULES}
    assert not upward, sorted(upward)


def test_no_import_cycle():
    edges = {m: {t for t in top if t in MODULES and t != m} for m, (top, _) in GRAPH.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for t in sorted(edges[m]):
            if state.get(t) == 1:
                return stack[stack.index(t) :] + [t]
            if t not in state and (cycle := walk(t)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state and (cycle := walk(m)):
            pytest.fail("import cycle: " + " → ".join(cycle))
