"""The modules of ``plugins/modelwatch`` form a layered graph: no import cycles.

The graph is built statically from the source (``ast``): every ``import`` and ``from ... import``
anywhere in a file counts — at the top, inside a function (a lazy import), under
``if TYPE_CHECKING:`` — with relative imports resolved. A lower module never imports a higher one,
not even for a type, so any strongly connected component of more than one module is a failure.
A name imported from a package resolves to its submodule when there is one
(``from modelwatch.registry import warehouse``), else to the package's ``__init__``. The implicit
import of a parent package that ``import a.b.c`` performs is not an edge: a package's
``__init__`` re-exporting its submodules is not a layering violation.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "plugins" / "modelwatch"

# Known cycles, each a frozenset of module names with the reason it is still there. Keep it empty:
# a cycle is fixed by moving what both sides need into a lower module, never by an entry here.
ALLOWED_CYCLES: dict[frozenset[str], str] = {}


def module_files(package: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``package``."""
    files = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = path
    return files


def _base(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    """The absolute module a ``from`` import reads from (relative levels resolved)."""
    if node.level == 0:
        return node.module or ""
    parts = module.split(".")
    if not is_package:
        parts.pop()  # level 1 is the module's own package
    parts = parts[:len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports, anywhere in its file."""
    files = module_files(package)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name in files}
            elif isinstance(node, ast.ImportFrom):
                base = _base(module, node, path.name == "__init__.py")
                for alias in node.names:
                    if f"{base}.{alias.name}" in files:
                        targets.add(f"{base}.{alias.name}")
                    elif base in files:
                        targets.add(base)
        targets.discard(module)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return sorted(found)


def _describe(component: list[str], graph: dict[str, set[str]]) -> str:
    members = set(component)
    edges = "; ".join(f"{m} -> {', '.join(sorted(graph[m] & members))}" for m in component)
    return f"{component}: {edges}"


def test_plugins_modelwatch_has_no_import_cycles() -> None:
    graph = import_graph(PACKAGE)
    assert "modelwatch.runner" in graph and "modelwatch.airflow.dag_factory" in graph  # sanity
    found = [c for c in cycles(graph) if frozenset(c) not in ALLOWED_CYCLES]
    assert not found, "import cycles (move what both sides need into a lower module):\n" + \
        "\n".join(_describe(c, graph) for c in found)


def test_allowed_cycles_are_still_cycles() -> None:
    """An entry whose cycle was fixed must go, so the allow-list only shrinks."""
    current = {frozenset(c) for c in cycles(import_graph(PACKAGE))}
    stale = [sorted(c) for c in ALLOWED_CYCLES if c not in current]
    assert not stale, f"fixed cycles still allow-listed: {stale}"


def test_graph_sees_lazy_type_checking_and_relative_imports(tmp_path: Path) -> None:
    """The builder finds the imports a cycle hides in; a 3-cycle through all three is reported."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import c  # noqa\n")
    (pkg / "a.py").write_text("def f():\n    from pkg.sub.b import g\n    return g\n")
    (pkg / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..sub import c\n")
    (pkg / "sub" / "c.py").write_text("import pkg.a\nfrom pkg import sub\n")
    (pkg / "d.py").write_text("import os\nfrom pkg.sub.b import nothing_here\n")
    graph = import_graph(pkg)
    assert graph["pkg.a"] == {"pkg.sub.b"}
    assert graph["pkg.sub.b"] == {"pkg.sub.c"}
    assert graph["pkg.sub.c"] == {"pkg.a", "pkg.sub"}
    assert graph["pkg.sub"] == {"pkg.sub.c"}
    assert graph["pkg.d"] == {"pkg.sub.b"}
    assert cycles(graph) == [["pkg.a", "pkg.sub", "pkg.sub.b", "pkg.sub.c"]]
    (pkg / "a.py").write_text("")
    assert cycles(import_graph(pkg)) == [["pkg.sub", "pkg.sub.c"]]
