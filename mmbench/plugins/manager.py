"""The pluggy plugin manager: built-ins first, then third-party entry points, each failure isolated.

- Built-in components are ordinary plugins (modules listed in :data:`BUILTIN_PLUGINS`).
- Third-party plugins come from the entry-point group ``mmbench``.
- ``MMBENCH_LOAD_PLUGINS`` (comma-separated entry-point names) is an allowlist; set but empty loads
  no third-party plugin at all (for tests and debugging).
- A plugin that fails to import, or whose hook raises, is reported on stderr with its entry point and
  distribution and skipped; everything else still loads.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from mmbench import __version__, hookspecs
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


@dataclass
class PluginInfo:
    """What ``mmbench plugins`` reports about one loaded plugin."""

    name: str
    version: str
    distribution: str | None
    builtin: bool
    hooks: list[str] = field(default_factory=list)


@dataclass
class PluginState:
    pm: pluggy.PluginManager
    infos: dict[str, PluginInfo]
    problems: list[str] = field(default_factory=list)
    registries: dict[str, Registry] | None = None


_STATE: PluginState | None = None


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
    return f"plugin {info.name!r} (entry point in group {ENTRY_POINT_GROUP!r}, distribution {info.distribution!r})"


def _load_state() -> PluginState:
    pm = pluggy.PluginManager("mmbench")
    pm.add_hookspecs(hookspecs)
    state = PluginState(pm=pm, infos={})
    for module_name in BUILTIN_PLUGINS:
        module = importlib.import_module(module_name)
        pm.register(module, name=module_name)
        state.infos[module_name] = PluginInfo(module_name, __version__, "mmbench", True)
    allow = _allowlist()
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if allow is not None and ep.name not in allow:
            continue
        dist = getattr(ep, "dist", None)
        info = PluginInfo(ep.name, dist.version if dist else "unknown", dist.metadata["Name"] if dist else None, False)
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:  # noqa: BLE001 - any plugin failure must not stop mmbench
            message = f"{_describe(info)} failed to load: {type(exc).__name__}: {exc}; skipped. "
            message += f"Fix or uninstall {info.distribution or ep.value}, or leave it out of MMBENCH_LOAD_PLUGINS."
            state.problems.append(message)
            warn(message)
            continue
        state.infos[ep.name] = info
    for name, info in state.infos.items():
        plugin = pm.get_plugin(name)
        info.hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or [])
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


def reset() -> None:
    """Forget loaded plugins and registries (tests use this after changing the environment)."""
    global _STATE
    _STATE = None


def call_hook_per_plugin(hook_name: str, **kwargs: Any) -> None:
    """Call ``hook_name`` on every plugin separately, so that one raising is reported and skipped."""
    state = _state()
    for impl in getattr(state.pm.hook, hook_name).get_hookimpls():  # registration order
        try:
            impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
        except Exception as exc:  # noqa: BLE001
            info = state.infos.get(impl.plugin_name)
            who = _describe(info) if info else f"plugin {impl.plugin_name!r}"
            message = f"{who} raised in {hook_name}: {type(exc).__name__}: {exc}; its part of that hook is skipped."
            state.problems.append(message)
            warn(message)


def _collect(kind: str) -> Registry:
    registry = Registry(kind)
    state = _state()
    for impl in getattr(state.pm.hook, f"mmbench_register_{kind}").get_hookimpls():  # registration order
        staged: list[Entry] = []

        def register(name: str, factory: Any, *, description: str = "", _p: str = impl.plugin_name, **meta: Any) -> None:
            staged.append(Entry(kind, name, factory, _p, description or (factory.__doc__ or "").strip().split("\n")[0], meta))

        info = state.infos.get(impl.plugin_name)
        who = _describe(info) if info else f"plugin {impl.plugin_name!r}"
        try:
            impl.function(register=register)
        except Exception as exc:  # noqa: BLE001
            message = f"{who} raised in mmbench_register_{kind}: {type(exc).__name__}: {exc}; its {kind} are skipped."
            state.problems.append(message)
            warn(message)
            continue
        for entry in staged:
            try:
                registry.add(entry)
            except DuplicateComponentError as exc:
                registry.add_shadowed(entry)
                state.problems.append(str(exc))
                warn(str(exc))
            except ComponentError as exc:
                state.problems.append(str(exc))
                warn(f"{exc} ({who}); skipped")
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
