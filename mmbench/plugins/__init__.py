"""Plugin loading (pluggy) and the per-kind component registries."""

from mmbench.plugins.registry import (
    KINDS,
    ComponentError,
    DuplicateComponentError,
    Entry,
    Registry,
    UnknownComponentError,
    lazy,
)
from mmbench.plugins.choice import ComponentChoice
from mmbench.plugins.manager import add_local_plugins, get_plugin_manager, get_registries, get_registry, reset
from mmbench.plugins.options import ComponentOptionError, resolve_choice

__all__ = [
    "KINDS",
    "ComponentChoice",
    "ComponentError",
    "ComponentOptionError",
    "DuplicateComponentError",
    "Entry",
    "Registry",
    "UnknownComponentError",
    "add_local_plugins",
    "get_plugin_manager",
    "get_registries",
    "get_registry",
    "lazy",
    "reset",
    "resolve_choice",
]
