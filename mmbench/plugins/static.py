"""A class attribute or a factory's parameters read from source, without importing the class's module (so
``mmbench list`` stays fast).

``mmbench list`` shows each weighting's ``need``, which the class declares, and each component's options
with their defaults. A ``lazy("module:Class")`` factory's module may import torch (seconds), so both are
read from the parsed source instead: the class body's ``need = ...`` or ``__init__`` or, failing that, its
bases' (in the same module or imported with an absolute ``from x import Name``, or a name :mod:`mmbench`
exports lazily), depth first. Only parent packages are imported (by ``find_spec``). Anything it cannot
follow (a computed value, a relative import, a C extension) gives ``None``.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import inspect
import sys
from typing import Any, Iterator

_MAX_DEPTH = 8


@functools.lru_cache(maxsize=256)
def _module_tree(module: str) -> ast.Module | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    try:
        with open(spec.origin, encoding="utf-8") as handle:
            return ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return None


def _find_class(module: str, cls: str, depth: int) -> tuple[str, ast.ClassDef] | None:
    """``(module, class node)`` where ``cls``, as ``module`` names it, is defined (following an absolute
    ``from x import Name`` or a name :mod:`mmbench` exports lazily)."""
    tree = _module_tree(module)
    if tree is None or depth > _MAX_DEPTH:
        return None
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    if cls in classes:
        return module, classes[cls]
    imported = {a.asname or a.name: (n.module, a.name) for n in tree.body
                if isinstance(n, ast.ImportFrom) and n.level == 0 and n.module for a in n.names}
    origin = imported.get(cls)
    if origin is None:  # a name the module exports lazily (``from mmbench import Weighting``): its table
        lazy_names = getattr(sys.modules.get(module), "_LAZY", None)
        origin = (lazy_names[cls], cls) if isinstance(lazy_names, dict) and cls in lazy_names else None
    return _find_class(origin[0], origin[1], depth + 1) if origin else None


def _class_chain(module: str, cls: str, depth: int = 0) -> Iterator[ast.ClassDef | None]:
    """The class and then its bases, depth first; ``None`` in place of a class or base it cannot follow
    (an attribute like ``nn.Module``, a relative import), so a caller knows the chain is incomplete."""
    found = _find_class(module, cls, depth)
    if found is None:
        yield None
        return
    where, node = found
    yield node
    for base in node.bases:
        if isinstance(base, ast.Name) and base.id != "object":
            yield from _class_chain(where, base.id, depth + 1)
        elif not isinstance(base, ast.Name):
            yield None


def class_attribute_source(module: str, cls: str, attr: str) -> str | None:
    """The source of the value ``attr`` is assigned in class ``cls`` of ``module`` (or a base), e.g.
    ``"Need.PARAM_JACOBIAN"``; ``None`` when it cannot be found without importing."""
    for node in _class_chain(module, cls):
        for stmt in node.body if node is not None else ():
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == attr for t in stmt.targets):
                return ast.unparse(stmt.value)
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == attr and stmt.value:
                return ast.unparse(stmt.value)
    return None


class Expression(str):
    """A default value that is not a literal (``math.inf``, ``nn.ReLU``): its source text."""


def _default(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return Expression(ast.unparse(node))


def _parameters(fn: ast.FunctionDef | ast.AsyncFunctionDef, method: bool) -> list[inspect.Parameter]:
    args = fn.args
    P = inspect.Parameter
    positional = [(a, P.POSITIONAL_ONLY) for a in args.posonlyargs] + [(a, P.POSITIONAL_OR_KEYWORD) for a in args.args]
    defaults = [P.empty] * (len(positional) - len(args.defaults)) + [_default(d) for d in args.defaults]
    out = [P(a.arg, kind, default=d) for (a, kind), d in zip(positional, defaults)][1 if method else 0:]
    if args.vararg:
        out.append(P(args.vararg.arg, P.VAR_POSITIONAL))
    out += [P(a.arg, P.KEYWORD_ONLY, default=P.empty if d is None else _default(d))
            for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    if args.kwarg:
        out.append(P(args.kwarg.arg, P.VAR_KEYWORD))
    return out


def signature_parameters(module: str, name: str) -> list[inspect.Parameter] | None:
    """The parameters ``module.name`` is called with, read from source: a function's, a class's ``__init__``
    (its own or the first base's that has one) without ``self``, or — for a module-level instance
    ``NAME = SomeClass(...)`` — its class's ``__call__``; no parameters when no class of
    its (fully followed) chain defines one. Literal defaults are values, others an :class:`Expression`;
    ``None`` when it cannot be told without importing."""
    tree = _module_tree(module)
    if tree is None:
        return None
    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if name in functions:
        return _parameters(functions[name], method=False)
    instances = {t.id: n.value.func.id for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
                 and isinstance(n.value.func, ast.Name) for t in n.targets if isinstance(t, ast.Name)}
    if name in instances:  # NAME = SomeClass(...): calling it runs SomeClass.__call__
        return _method_parameters(module, instances[name], "__call__")
    return _method_parameters(module, name, "__init__")


def _method_parameters(module: str, cls: str, method: str) -> list[inspect.Parameter] | None:
    complete = True
    for node in _class_chain(module, cls):
        if node is None:
            complete = False
            continue
        for stmt in node.body:
            if isinstance(stmt, ast.FunctionDef) and stmt.name == method:
                return _parameters(stmt, method=True) if complete else None
    if method != "__init__":
        return None
    return [] if complete else None  # no __init__ anywhere in a chain it could follow: object's, no parameters


__all__ = ["Expression", "class_attribute_source", "signature_parameters"]
