"""The package graph: every import points down a layer, and no files import each other in a cycle.

Layers, top to bottom: the `recassist` command, ui, assistant, ranking, retrieval, foundation;
prompts sits at the side (only the foundation below it). Ranking may use retrieval's embedders
(item text vectors); retrieval never uses ranking. Imports inside functions and under
TYPE_CHECKING count: a lazy import is still an arrow.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"foundation": "foundation", "prompts": "prompts", "retrieval": "retrieval", "ranking": "ranking",
           "assistant": "assistant", "ui": "ui", "recassist": "recassist"}
# What each package may import (besides itself).
ALLOWED = {
    "foundation": set(),
    "prompts": {"foundation"},
    "retrieval": {"foundation"},
    "ranking": {"foundation", "retrieval"},
    "assistant": {"foundation", "prompts", "retrieval", "ranking"},
    "ui": {"foundation", "prompts", "retrieval", "ranking", "assistant"},
    "recassist": {"foundation", "prompts", "retrieval", "ranking", "assistant", "ui"},
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return "recassist" if parts == ["recassist"] else ".".join(
        ["recassist", *parts] if parts[0] != "recassist" else parts)


def _modules() -> dict[str, Path]:
    found = {}
    for folder in FOLDERS.values():
        for path in (ROOT / folder).rglob("*.py"):
            found[_module_name(path)] = path
    return found


def _imports(path: Path, name: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)  # `from pkg import module`
    return {m for m in out if m == "recassist" or m.startswith("recassist.")}


def _package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FOLDERS and parts[1] != "recassist" else "recassist"


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path, name):
            # `from pkg import name` may name a module or an attribute: keep what is a module.
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def test_every_import_points_down_a_layer():
    upward = []
    for module, targets in _graph().items():
        src = _package_of(module)
        for target in targets:
            dst = _package_of(target)
            if dst != src and dst not in ALLOWED[src]:
                upward.append(f"{module} -> {target}")
    assert not upward, "imports against the layers:\n" + "\n".join(sorted(upward))


def test_no_cycle_between_packages():
    graph: dict[str, set[str]] = {p: set() for p in FOLDERS}
    for module, targets in _graph().items():
        graph[_package_of(module)].update(_package_of(t) for t in targets)
    for p in graph:
        graph[p].discard(p)
    assert _find_cycle(graph) is None


def test_no_cycle_between_files():
    """Package `__init__` re-exports aside, no two files reach each other through imports."""
    graph = _graph()
    # An __init__ that re-exports its own submodules is how a package presents itself, not a cycle.
    for module in graph:
        graph[module] = {t for t in graph[module] if not module.startswith(t + ".")}
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if colour.get(nxt, BLACK) == GREY:
                return stack[stack.index(nxt):] + [nxt]
            if colour.get(nxt) == WHITE:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(graph):
        if colour[node] == WHITE:
            found = visit(node)
            if found:
                return found
    return None


def test_the_layer_test_sees_every_package():
    packages = {_package_of(m) for m in _graph()}
    assert packages == set(FOLDERS)
