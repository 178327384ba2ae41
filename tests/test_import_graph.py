"""No import circle inside seqarena: every import counts, a lazy one in a function body too (it is still a
dependency a reader has to hold in mind, and it hides a layering mistake), except those under ``TYPE_CHECKING``.
``from package import submodule`` is an edge to the submodule, not to the package's ``__init__``."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import seqarena

ROOT = Path(seqarena.__file__).parent


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    typing_only = {id(n) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for stmt in node.body for n in ast.walk(stmt)}
    out: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            subs = {f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in modules}
            out |= subs if len(subs) == len(node.names) else subs | {base}
    return {m for m in out if m in modules and m != name}


def import_cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    modules = _modules()
    graph = {name: _imports(path, name, modules) for name, path in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return cycles


def test_no_module_of_seqarena_imports_itself_back_through_others():
    assert import_cycles() == []


def test_the_walk_sees_lazy_imports_and_would_find_a_circle(tmp_path, monkeypatch):
    """The detector is not vacuous: two modules importing each other, one of them lazily, are a circle."""
    pkg = tmp_path / "seqarena"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from seqarena.b import g\n")
    (pkg / "b.py").write_text("def g():\n    from seqarena import a\n    return a\n")
    (pkg / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from seqarena import a\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", pkg)
    assert import_cycles() == [["seqarena.a", "seqarena.b"]]
