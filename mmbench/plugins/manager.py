"""The pluggy plugin manager: built-ins first, then third-party entry points, then local plugins.

- Built-in components are ordinary plugins (modules listed in :data:`BUILTIN_PLUGINS`).
- Third-party plugins come from the entry-point group ``mmbench``.
- Local plugins — a ``.py`` file or an importable module, no packaging needed — come from
  ``MMBENCH_PLUGINS`` (comma-separated; ``mmbench run --plugin`` and a grid's ``plugins:`` key set it, so
  worker processes load them too). A file's version is a hash of its code (comments and docstrings
  aside), so editing it makes results that came from it stale (``docs/grids.md``).
- ``MMBENCH_LOAD_PLUGINS`` (comma-separated entry-point names) is an allowlist; set but empty loads
  no third-party entry point at all (for tests and debugging).
- A plugin that fails to import, whose hook raises, that implements a hook mmbench does not define, or
  that defines a ``mmbench_*`` function without ``@hookimpl`` is reported (:func:`problems`) with its
  name and distribution; everything else still loads. ``mmbench run`` refuses to start while any such
  problem stands (``--allow-plugin-problems`` overrides); name clashes are warnings only.
"""

from __future__ import annotations

import ast
import difflib
import functools
import hashlib
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import pluggy

from mmbench import __version__, hookspecs
from mmbench.plugins.metadata import check_metadata
from mmbench.plugins.registry import KINDS, ComponentError, DuplicateComponentError, Entry, Registry

#: Modules that register mmbench's own components through the same hooks as third-party code.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "mmbench.components.encoders",
    "mmbench.components.aligners",
    "mmbench.components.fusers",
    "mmbench.components.architectures",
    "mmbench.components.weightings",
    "mmbench.data.builtin",
    "mmbench.robustness.builtin",
    "mmbench.cli.commands",
)

ENTRY_POINT_GROUP = "mmbench"
LOCAL_PLUGINS_ENV = "MMBENCH_PLUGINS"
HOOK_NAMES = tuple(n for n in vars(hookspecs) if n.startswith("mmbench_"))


@dataclass
class PluginInfo:
    """What ``mmbench plugins`` reports about one loaded plugin."""

    name: str
    version: str
    distribution: str | None
    builtin: bool
    hooks: list[str] = field(default_factory=list)
    #: ``built-in``, ``entry point``, ``file <path>`` or ``module <name>``
    source: str = "entry point"
    #: what stops ``mmbench run`` (``errors``); ``warnings``: what does not (a name another plugin took first)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class PluginState:
    pm: pluggy.PluginManager
    infos: dict[str, PluginInfo]
    problems: list[str] = field(default_factory=list)
    #: problems that stop ``mmbench run`` (load failures, raising hooks, unknown or unmarked hooks, bad metadata)
    errors: list[str] = field(default_factory=list)
    registries: dict[str, Registry] | None = None


_STATE: PluginState | None = None
_GENERATION = 0  # bumped at every (re)load, so that the CLI knows to collect plugin commands again


def warn(message: str) -> None:
    """Report a plugin problem on stderr without stopping the command."""
    print(f"mmbench: warning: {message}", file=sys.stderr)


def _allowlist() -> set[str] | None:
    raw = os.environ.get("MMBENCH_LOAD_PLUGINS")
    if raw is None:
        return None
    return {name.strip() for name in raw.split(",") if name.strip()}


def _describe(info: PluginInfo) -> str:
    if info.builtin:
        return f"built-in plugin {info.name!r}"
    if info.source.startswith(("file ", "module ")):
        return f"local plugin {info.name!r} ({info.source})"
    return f"plugin {info.name!r} (entry point in group {ENTRY_POINT_GROUP!r}, distribution {info.distribution!r})"


def plugin_description(name: str) -> str:
    """``plugin 'example', distribution 'mmbench-example 0.1.0'`` (for error messages naming a component)."""
    info = _state().infos.get(name)
    if info is None:
        return f"plugin {name!r}"
    if info.builtin:
        return f"built-in plugin {name!r}, distribution 'mmbench {info.version}'"
    if info.distribution is None:
        return f"local plugin {name!r}, {info.source}, version {info.version}"
    return f"plugin {name!r}, distribution '{info.distribution} {info.version}'"


def _problem(state: PluginState, message: str, info: PluginInfo | None = None, error: bool = True) -> None:
    state.problems.append(message)
    if error:
        state.errors.append(message)
    if info is not None:
        (info.problems if error else info.warnings).append(message)
    warn(message)


def _check_hooks(state: PluginState, module: Any, info: PluginInfo) -> None:
    """Unknown ``mmbench_*`` hooks (a typo pluggy accepts silently) and hook-like functions without ``@hookimpl``."""
    for caller in state.pm.get_hookcallers(module) or []:
        if not caller.has_spec():
            close = difflib.get_close_matches(caller.name, HOOK_NAMES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; the hooks are: {', '.join(HOOK_NAMES)}"
            _problem(state, f"{_describe(info)} implements {caller.name!r}, which is not an mmbench hook{hint} "
                            "(nothing it registers is used)", info)
    for attr, value in sorted(vars(module).items()):
        if attr.startswith("mmbench_") and callable(value) and not hasattr(value, "mmbench_impl"):
            _problem(state, f"{_describe(info)} defines {attr}() without @mmbench.hookimpl, so pluggy never calls it; "
                            "add the decorator (from mmbench import hookimpl)", info)


def _register(state: PluginState, module: Any, info: PluginInfo) -> None:
    state.pm.register(module, name=info.name)
    state.infos[info.name] = info
    _check_hooks(state, module, info)


def file_version(path: Path) -> str:
    """``sha256:<12 hex>`` of a Python file's code: its syntax tree without docstrings, so editing a
    comment or a docstring does not make the results it produced stale; any other edit does. A file
    that does not parse is hashed as bytes. (The tree's form can change with the Python version.)"""
    stat = path.stat()
    return _code_digest(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=512)
def _code_digest(path: str, mtime_ns: int, size: int) -> str:  # the stat keys a changed file anew
    source = Path(path).read_bytes()
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return "sha256:" + hashlib.sha256(source).hexdigest()[:12]
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return "sha256:" + hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:12]


def _import_local(spec: str) -> tuple[Any, PluginInfo]:
    """A local plugin: a ``.py`` file (imported under a private module name) or an importable module."""
    if spec.endswith(".py") or os.sep in spec or "/" in spec:
        path = Path(spec).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(f"no plugin file {str(path)!r}")
        name = path.stem
        mod_spec = importlib.util.spec_from_file_location(f"mmbench_local_{name}", path)
        assert mod_spec is not None and mod_spec.loader is not None
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[mod_spec.name] = module
        mod_spec.loader.exec_module(module)
        return module, PluginInfo(name, file_version(path), None, False, source=f"file {path}")
    module = importlib.import_module(spec)
    top = spec.split(".")[0]
    dists = metadata.packages_distributions().get(top) or []
    if dists:
        dist = dists[0]
        return module, PluginInfo(spec, metadata.version(dist), dist, False, source=f"module {spec}")
    file = getattr(module, "__file__", None)
    version = file_version(Path(file)) if file else "unknown"
    return module, PluginInfo(spec, version, None, False, source=f"module {spec}")


def local_plugin_specs() -> list[str]:
    return [s.strip() for s in os.environ.get(LOCAL_PLUGINS_ENV, "").split(",") if s.strip()]


def add_local_plugins(specs: list[str]) -> None:
    """Load these local plugins (files or modules) in this process and in every worker it starts."""
    current = local_plugin_specs()
    new = [s for s in specs if s not in current]
    if new:
        os.environ[LOCAL_PLUGINS_ENV] = ",".join(current + new)
        reset()


def generation() -> int:
    """How many times plugins were (re)loaded in this process (loads them if they are not)."""
    _state()
    return _GENERATION


def _load_state() -> PluginState:
    global _GENERATION
    _GENERATION += 1
    pm = pluggy.PluginManager("mmbench")
    pm.add_hookspecs(hookspecs)
    state = PluginState(pm=pm, infos={})
    for module_name in BUILTIN_PLUGINS:
        module = importlib.import_module(module_name)
        _register(state, module, PluginInfo(module_name, __version__, "mmbench", True, source="built-in"))
    allow = _allowlist()
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if allow is not None and ep.name not in allow:
            continue
        dist = getattr(ep, "dist", None)
        info = PluginInfo(ep.name, dist.version if dist else "unknown", dist.metadata["Name"] if dist else None, False)
        try:
            module = ep.load()
        except Exception as exc:  # noqa: BLE001 - any plugin failure must not stop mmbench
            _problem(state, f"{_describe(info)} failed to load: {type(exc).__name__}: {exc}; skipped. "
                            f"Fix or uninstall {info.distribution or ep.value}, or leave it out of MMBENCH_LOAD_PLUGINS.")
            continue
        _register(state, module, info)
    for spec in local_plugin_specs():
        try:
            module, info = _import_local(spec)
        except Exception as exc:  # noqa: BLE001
            _problem(state, f"local plugin {spec!r} failed to load: {type(exc).__name__}: {exc}; skipped. "
                            "Fix the file (or the module path) given to --plugin / the grid's `plugins:` key.")
            continue
        if info.name in state.infos:
            _problem(state, f"local plugin {spec!r} has the name {info.name!r} of an already loaded plugin; rename the file")
            continue
        _register(state, module, info)
    for name, info in state.infos.items():
        plugin = pm.get_plugin(name)
        info.hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [] if h.has_spec())
    return state


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager (loaded on first use)."""
    return _state().pm


def _state() -> PluginState:
    global _STATE
    if _STATE is None:
        _STATE = _load_state()
    return _STATE


def plugin_infos() -> list[PluginInfo]:
    return list(_state().infos.values())


def plugin_info(name: str) -> PluginInfo | None:
    return _state().infos.get(name)


def reset() -> None:
    """Forget loaded plugins and registries (tests use this after changing the environment)."""
    global _STATE
    _STATE = None


def plugin_callers(hook_name: str) -> list[tuple[str, Callable[..., Any]]]:
    """``(plugin name, call)`` for every plugin implementing ``hook_name``, in load order: ``call(**kwargs)``
    runs that plugin's implementation through pluggy (a subset hook caller), so hookwrappers see the call,
    while the caller still knows which plugin registered what and can skip one that raises."""
    state = _state()
    impls = [i for i in getattr(state.pm.hook, hook_name).get_hookimpls() if not (i.hookwrapper or i.wrapper)]
    out = []
    for impl in impls:
        others = {i.plugin_name for i in impls} - {impl.plugin_name}  # wrapper-only plugins stay in
        out.append((impl.plugin_name, state.pm.subset_hook_caller(hook_name, [state.pm.get_plugin(n) for n in others])))
    return out


def plugin_command_hooks() -> list[tuple[str, bool, Callable[[Any], Any]]]:
    """``(plugin name, built-in?, register(cli))`` for every ``mmbench_register_commands``, in load order."""
    state = _state()
    out = []
    for name, call in plugin_callers("mmbench_register_commands"):
        info = state.infos.get(name)
        out.append((name, bool(info and info.builtin), lambda cli, call=call: call(cli=cli)))
    return out


def report_problem(plugin: str, message: str, error: bool = True) -> None:
    """Record and print a problem of ``plugin`` (named with its distribution)."""
    state = _state()
    info = state.infos.get(plugin)
    who = _describe(info) if info else f"plugin {plugin!r}"
    _problem(state, f"{who} {message}", info, error)


def _collect(kind: str) -> Registry:
    registry = Registry(kind)
    state = _state()
    for plugin, call in plugin_callers(f"mmbench_register_{kind}"):
        staged: list[Entry] = []

        def register(name: str, factory: Any, *, description: str = "", _p: str = plugin, **meta: Any) -> None:
            staged.append(Entry(kind, name, factory, _p, description or (factory.__doc__ or "").strip().split("\n")[0], meta))

        info = state.infos.get(plugin)
        who = _describe(info) if info else f"plugin {plugin!r}"
        try:
            call(register=register)
        except Exception as exc:  # noqa: BLE001
            _problem(state, f"{who} raised in mmbench_register_{kind}: {type(exc).__name__}: {exc}; its {kind} are skipped.", info)
            continue
        for entry in staged:
            bad = check_metadata(kind, entry.metadata)
            if bad:
                _problem(state, f"{who}: {kind[:-1]} {entry.name!r}: {bad}; skipped", info)
                continue
            try:
                registry.add(entry)
            except DuplicateComponentError as exc:
                registry.add_shadowed(entry)
                _problem(state, str(exc), info, error=False)
            except ComponentError as exc:
                _problem(state, f"{exc} ({who}); skipped", info)
    return registry


def get_registries() -> dict[str, Registry]:
    """Every kind's registry, built once per process from all loaded plugins."""
    state = _state()
    if state.registries is None:
        state.registries = {kind: _collect(kind) for kind in KINDS}
    return state.registries


def get_registry(kind: str) -> Registry:
    """The registry of one kind (``"encoders"``, ``"fusers"``, ...)."""
    if kind not in KINDS:
        raise ValueError(f"unknown component kind {kind!r}; kinds: {', '.join(KINDS)}")
    return get_registries()[kind]


def problems() -> list[str]:
    """Plugin problems reported so far (also printed on stderr)."""
    return list(_state().problems)


def errors() -> list[str]:
    """The problems that stop ``mmbench run`` (everything but name clashes), after running every registration hook."""
    get_registries()
    return list(_state().errors)
