"""Component options checked against the factory's signature, with defaults filled in.

A grid names a component and some options; :func:`resolve_choice` turns that into the component's
*canonical* identity — the registered name (a qualified ``plugin:name`` only when a clash shadows it)
and every option the factory takes, given or defaulted — so the cell id covers what actually runs.
Unknown options get "did you mean"; every error names the component, its plugin and distribution.

What the harness passes itself is not an option (per kind, the leading positional parameters:
encoders ``info``; aligners and fusers ``in_dims``; architectures ``in_dim, tasks, width``; weightings
``n_tasks`` and the keyword ``seed``, and ``task_types`` — the cell's task types in task order — when the
factory has that parameter). A factory with ``**kwargs`` accepts any other option; those
cannot be checked or defaulted (documented in ``docs/plugins.md``).
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import json
import re
import sys
from typing import Any, Callable

from mmbench.plugins.choice import ComponentChoice
from mmbench.plugins.registry import SINGULAR, ComponentError, Entry, Registry

#: leading positional parameters the harness fills, per kind
HARNESS_POSITIONAL = {"encoders": 1, "aligners": 1, "fusers": 1, "architectures": 3, "weightings": 1,
                      "datasets": 0, "perturbations": 0}
#: keyword parameters the harness fills, per kind (``task_types`` only when the factory takes it)
HARNESS_KEYWORDS = {"weightings": ("seed", "task_types")}


class ComponentOptionError(ComponentError):
    """A component that cannot be built as the grid asks (unknown option, bad factory, broken lazy target)."""


def describe(entry: Entry) -> str:
    """``fuser 'max' (plugin 'example', distribution 'mmbench-example 0.1.0')``."""
    from mmbench.plugins.manager import plugin_description

    return f"{SINGULAR.get(entry.kind, entry.kind)} {entry.name!r} ({plugin_description(entry.plugin)})"


def target(entry: Entry) -> Callable[..., Any]:
    """The callable whose signature defines the options: a ``lazy()`` target imported, or the factory."""
    spec = getattr(entry.factory, "__mmbench_target__", None)
    if spec is None:
        return entry.factory
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - any import failure is the plugin's
        raise ComponentOptionError(f"{describe(entry)}: its lazy() target {spec!r} cannot be imported: "
                                   f"{type(exc).__name__}: {exc}. Fix the module path in the plugin's register() call.") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        close = difflib.get_close_matches(attr, [n for n in dir(module) if not n.startswith("_")], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ComponentOptionError(f"{describe(entry)}: its lazy() target {spec!r} names {attr!r}, which module "
                                   f"{module_name!r} does not define{hint}") from None


def declared_need(entry: Entry) -> str | None:
    """A weighting's ``need`` as its class declares it, nothing built: read from the class, or — for a
    ``lazy()`` target whose module is not imported yet — from its source (:mod:`mmbench.plugins.static`), so
    listing imports no torch. The registration's ``need=`` when neither says (a factory function)."""
    from mmbench.plugins.static import class_attribute_source  # only `mmbench list` needs it

    spec = getattr(entry.factory, "__mmbench_target__", None)
    module_name, _, attr = (spec or "").partition(":")
    if spec is None or module_name in sys.modules:
        value = getattr(getattr(target(entry), "need", None), "value", None)
    else:
        source = class_attribute_source(module_name, attr, "need") or ""
        member = re.fullmatch(r"Need\.(\w+)", source)
        value = member.group(1).lower() if member else None
    return value if isinstance(value, str) else entry.metadata.get("need")


def options_signature(entry: Entry) -> tuple[dict[str, inspect.Parameter], bool]:
    """The factory's option parameters (harness parameters removed) and whether it takes ``**kwargs``."""
    fn = target(entry)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return {}, True  # a builtin or C callable: nothing to check
    params = list(sig.parameters.values())
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    need = HARNESS_POSITIONAL.get(entry.kind, 0)
    has_varargs = any(p.kind is p.VAR_POSITIONAL for p in params)
    if len(positional) < need and not has_varargs:
        raise ComponentOptionError(
            f"{describe(entry)}: its factory {getattr(fn, '__qualname__', fn)!r} takes {len(positional)} positional "
            f"parameter(s), but a {SINGULAR[entry.kind]} factory is called with {need} "
            f"({_harness_call(entry.kind)}). Fix its signature (docs/plugins.md).")
    if entry.kind in HARNESS_KEYWORDS and not any(p.name == "seed" or p.kind is p.VAR_KEYWORD for p in params):
        raise ComponentOptionError(f"{describe(entry)}: a weighting factory is called as factory(n_tasks, seed=..., "
                                   "**options); add a `seed: int = 0` parameter")
    return _options(entry.kind, params)


def _options(kind: str, params: list[inspect.Parameter]) -> tuple[dict[str, inspect.Parameter], bool]:
    """The option parameters among a factory's ``params`` (what the harness passes left out), and whether it
    takes ``**kwargs``."""
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    harness = {p.name for p in positional[:HARNESS_POSITIONAL.get(kind, 0)]} | set(HARNESS_KEYWORDS.get(kind, ()))
    options = {p.name: p for p in params if p.name not in harness and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return options, any(p.kind is p.VAR_KEYWORD for p in params)


def listed_options(entry: Entry) -> tuple[dict[str, dict[str, Any]], bool] | None:
    """What ``mmbench list`` shows of a component's options: ``{option: {"default": value} | {"required": True},
    plus "search_space" when the registration declares one}`` and whether the factory also takes
    ``**kwargs``; ``None`` when its signature cannot be read. The signature is the one grids are checked
    against (:func:`options_signature`); a ``lazy()`` target whose module is not imported yet is read from
    its source (:func:`mmbench.plugins.static.signature_parameters`: no torch import), a non-literal default
    shown as ``{"default_expression": "<source>"}``."""
    from mmbench.plugins.static import Expression, signature_parameters

    spec = getattr(entry.factory, "__mmbench_target__", None)
    module_name, _, attr = (spec or "").partition(":")
    if spec is not None and module_name not in sys.modules:
        params = signature_parameters(module_name, attr)
    else:
        try:
            params = list(inspect.signature(target(entry)).parameters.values())
        except (TypeError, ValueError, ComponentOptionError):
            params = None
    if params is None:
        return None
    options, var_kw = _options(entry.kind, params)
    space = entry.metadata.get("search_space") or {}
    out: dict[str, dict[str, Any]] = {}
    for name, p in options.items():
        if p.default is inspect.Parameter.empty:
            out[name] = {"required": True}
        elif isinstance(p.default, Expression):
            out[name] = {"default_expression": str(p.default)}
        else:
            out[name] = {"default": _jsonable(p.default)}
        if isinstance(space, dict) and name in space:
            out[name]["search_space"] = space[name]
    return out, var_kw


def accepts(entry: Entry, name: str) -> bool:
    """Whether the factory takes a parameter called ``name`` (harness keywords it may opt into)."""
    try:
        params = inspect.signature(target(entry)).parameters
    except (TypeError, ValueError):
        return False
    return name in params


def _harness_call(kind: str) -> str:
    return {"encoders": "info", "aligners": "in_dims", "fusers": "in_dims", "architectures": "in_dim, tasks, width",
            "weightings": "n_tasks, seed=..."}.get(kind, "no arguments")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def check_options(entry: Entry, given: dict[str, Any]) -> dict[str, inspect.Parameter]:
    """The factory's option parameters, after checking ``given`` against them: every unknown option (each with
    "did you mean") and every missing required one is named in one :class:`ComponentOptionError`."""
    params, var_kw = options_signature(entry)
    problems = []
    for k in [] if var_kw else [k for k in given if k not in params]:
        close = difflib.get_close_matches(k, list(params), n=1, cutoff=0.5)
        problems.append(f"unknown option {k!r}" + (f"; did you mean {close[0]!r}?" if close else "."))
    where = (f"dataset: {{name: {entry.name}, options: {{{{option}}: ...}}}}" if entry.kind == "datasets"
             else f"{{{{name: {entry.name}, {{option}}: ...}}}}")
    problems += [f"option {n!r} is required (it has no default); give it in the grid config as {where.format(option=n)}."
                 for n, p in params.items() if p.default is inspect.Parameter.empty and n not in given]
    if problems:
        takes = ", ".join(params) or "no options"
        raise ComponentOptionError(f"{describe(entry)}: " + " ".join(problems) + f" It takes: {takes}.")
    return params


def resolve_options(entry: Entry, given: dict[str, Any]) -> dict[str, Any]:
    """``given`` checked against the factory's signature (:func:`check_options`), every defaulted option filled
    in (JSON values)."""
    params = check_options(entry, given)
    resolved = {n: p.default for n, p in params.items() if p.default is not inspect.Parameter.empty}
    resolved.update(given)
    return {k: _jsonable(v) for k, v in sorted(resolved.items())}


def canonical_name(registry: Registry, entry: Entry) -> str:
    """The plain name when it reaches this entry, else the qualified ``plugin:name``."""
    return entry.name if registry.get(entry.name) is entry else entry.qualified_name


def resolve_choice(kind: str, choice: ComponentChoice) -> tuple[ComponentChoice, Entry]:
    """The canonical choice (name and every option resolved) and its registry entry."""
    from mmbench.plugins.manager import get_registry

    registry = get_registry(kind)
    entry = registry.get(choice.name)
    options = resolve_options(entry, dict(choice.options))
    given = choice.given if choice.given is not None else tuple(k for k, _ in choice.options)
    return ComponentChoice(canonical_name(registry, entry), tuple(options.items()), tuple(sorted(given))), entry
