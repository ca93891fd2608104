"""No import cycles among tapwell's own packages (issue 12, item 3).

The import graph is read from the source with `ast`, so the check needs no install and no server.
Every `import`/`from ... import` counts, at module level or inside a function (a function-level
import that closes a loop is still a cycle: it only hides it until the function runs); imports
under `if TYPE_CHECKING:` do not count (they never run). An edge goes to the module named; for
`from pkg import name` it goes to `pkg.name` when that is a module of ours, else to `pkg`.
The test fails naming each cycle as `a -> b -> a`.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The folders our packages install from, and the package each is (pyproject's package-dir).
SOURCE_ROOTS = {
    "runner": "",
    "taps": "tapwell.taps",
    "targets": "tapwell.targets",
    "mappers": "tapwell.mappers",
}


def _modules() -> dict[str, Path]:
    """Map every module name of ours (``tapwell.singer.wire``, ``tapwell.taps.mysql``) to its file."""
    found: dict[str, Path] = {}
    for root, package in SOURCE_ROOTS.items():
        base = ROOT / root
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            parts = [*package.split("."), *parts] if package else parts
            if parts and all(part.isidentifier() for part in parts):
                found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    """True for `if TYPE_CHECKING:` and `if typing.TYPE_CHECKING:`."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement that can run, skipping the bodies of `if TYPE_CHECKING:`."""
    out: list[ast.Import | ast.ImportFrom] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
            continue
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return out


def _resolve_base(name: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a `from X import ...` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    if node.level > 1:
        package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of ours it imports."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _imports(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = _resolve_base(name, path, node)
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a closed path) through each strongly connected component of 2+ modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, component) for component in sorted(components)]


def _cycle_in(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest closed path from the component's first module back to itself."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & members):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    return component  # unreachable for a strongly connected component


def test_checker_finds_a_cycle() -> None:
    """The checker itself sees a two-module loop (so a green run means something)."""
    graph = {"a": {"b"}, "b": {"a", "c"}, "c": set()}
    assert find_cycles(graph) == [["a", "b", "a"]]


def test_checker_skips_type_checking_imports() -> None:
    """`if TYPE_CHECKING:` imports never run; a function's import does, so it counts."""
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import x\ndef f():\n    import y\n"
    found = [
        a.name for n in _imports(ast.parse(source)) if isinstance(n, ast.Import) for a in n.names
    ]
    assert found == ["y"]


def test_no_import_cycles() -> None:
    graph = import_graph()
    assert "tapwell.singer.wire" in graph and "tapwell.taps.mysql.sync" in graph, (
        "source roots not found"
    )
    cycles = [" -> ".join(cycle) for cycle in find_cycles(graph)]
    assert not cycles, "import cycles among our packages:\n  " + "\n  ".join(cycles)
