"""One-way layers: every ``mmbench`` import (module level or inside a function; absolute or relative) points
down the pipeline vocabulary → scoring → hookspecs → plugins → components → data → train → robustness → store →
grid → leaderboard → testing → cli, and no two modules import each other, directly or through others."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "mmbench"

#: lowest first; a module may import its own layer or any layer below it
LAYERS = ("", "vocabulary", "scoring", "hookspecs", "plugins", "provenance", "components", "data", "train",
          "robustness", "store", "grid", "leaderboard", "testing", "cli", "__main__")


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _absolute(node: ast.ImportFrom, package: str) -> str:
    """The module a ``from ... import`` names, relative ones (``from .jobs import``, ``from .. import``)
    resolved against ``package``, the package of the importing module."""
    if node.level == 0:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - (node.level - 1)] if node.level - 1 < len(parts) else []
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path) -> set[str]:
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            name = _absolute(node, package)
            if name.split(".")[0] == "mmbench":
                out.add(name)
                out |= {f"{name}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "mmbench"}
    return out


def test_relative_imports_are_resolved() -> None:
    def named(code: str, package: str) -> str:
        node = ast.parse(code).body[0]
        assert isinstance(node, ast.ImportFrom)
        return _absolute(node, package)

    assert named("from .jobs import Job", "mmbench.grid.execution") == "mmbench.grid.execution.jobs"
    assert named("from ..leaderboard import build", "mmbench.grid.execution") == "mmbench.grid.leaderboard"
    assert named("from ... import leaderboard", "mmbench.grid.execution") == "mmbench"
    assert named("from mmbench.train import cell", "mmbench.grid") == "mmbench.train"


def graph() -> dict[str, set[str]]:
    modules = {_module(p): p for p in ROOT.rglob("*.py")}
    return {m: {i for i in _imports(p) if i in modules and i != m} for m, p in modules.items()}


def layer(module: str) -> int:
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else ""
    assert name in LAYERS, f"{module}: not in a known layer; add its folder to LAYERS in {__file__}"
    return LAYERS.index(name)


def test_imports_point_down() -> None:
    bad = [f"{a} (layer {LAYERS[layer(a)] or 'mmbench'}) imports {b} (layer {LAYERS[layer(b)]})"
           for a, targets in graph().items() for b in targets if layer(b) > layer(a)]
    assert not bad, "imports against the layer order:\n" + "\n".join(sorted(bad))


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_circles() -> None:
    edges = graph()
    # a package's __init__ re-exporting its own submodules is how packages work, not a circle
    pruned = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in edges.items()}
    assert not _cycles(pruned), f"import circles: {_cycles(pruned)}"


def test_cycle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("path", sorted(ROOT.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_files_stay_small(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= 420, f"{path.relative_to(ROOT)} has {lines} lines; split it by idea (limit ~400)"
